couchkv_add_test(test_transcoder SOURCES src/test_transcoder.cpp LIBS couchkv_client)
couchkv_add_test(test_retry SOURCES src/test_retry.cpp LIBS couchkv_client)
target_include_directories(test_retry PRIVATE ${PROJECT_SOURCE_DIR}/src)
couchkv_add_test(test_async_bucket SOURCES src/test_async_bucket.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
couchkv_add_test(test_durability SOURCES src/test_durability.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 300)
