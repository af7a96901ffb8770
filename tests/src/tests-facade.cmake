couchkv_add_test(test_transcoder SOURCES src/test_transcoder.cpp LIBS couchkv_client)
couchkv_add_test(test_retry SOURCES src/test_retry.cpp LIBS couchkv_client)
target_include_directories(test_retry PRIVATE ${PROJECT_SOURCE_DIR}/src)
