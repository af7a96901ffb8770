couchkv_add_test(test_io_bootstrap SOURCES io/test_bootstrap.cpp LIBS couchkv_io)
couchkv_add_test(test_io_memcached SOURCES io/test_kv_connection.cpp LIBS couchkv_io
                 LABELS io TIMEOUT 300)
couchkv_add_test(test_io_http_client SOURCES io/test_http_client.cpp LIBS couchkv_io
                 LABELS io TIMEOUT 120)
couchkv_add_test(test_io_handler_allocator SOURCES io/test_handler_allocator.cpp LIBS couchkv_io LABELS io)
