couchkv_add_test(test_node_pool SOURCES io/test_node_pool.cpp LIBS couchkv_io
                 LABELS io TIMEOUT 300)
