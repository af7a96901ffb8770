couchkv_add_test(test_transcoder SOURCES src/test_transcoder.cpp LIBS couchkv_client)
couchkv_add_test(test_retry SOURCES src/test_retry.cpp LIBS couchkv_client)
target_include_directories(test_retry PRIVATE ${PROJECT_SOURCE_DIR}/src)
couchkv_add_test(test_async_bucket SOURCES src/test_async_bucket.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
couchkv_add_test(test_durability SOURCES src/test_durability.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
couchkv_add_test(test_views_facade SOURCES src/test_views_facade.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
couchkv_add_test(test_views_stream SOURCES src/test_views_stream.cpp LIBS couchkv_client
                 LABELS integration TIMEOUT 300)
target_compile_definitions(test_views_stream PRIVATE COUCHKV_MOCK_EXE="$<TARGET_FILE:couchkv-mock>")
add_dependencies(test_views_stream couchkv-mock)
couchkv_add_test(test_http_bootstrap SOURCES src/test_http_bootstrap.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
# couchbases:// end to end against the mock's TLS ports: KV, HTTP bootstrap, views, bad CA.
couchkv_add_test(test_tls_facade SOURCES src/test_tls_facade.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
