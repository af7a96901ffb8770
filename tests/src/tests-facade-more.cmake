couchkv_add_test(test_facade_more SOURCES src/test_facade_more.cpp LIBS couchkv_client couchkv_mock
                 LABELS integration TIMEOUT 600)
# Every public header in a user's translation unit: the build fails if one leaks Asio's or
# Beast's compiled implementation (see the file).
add_library(couchkv_public_headers_check OBJECT src/public_headers.cpp)
target_link_libraries(couchkv_public_headers_check PRIVATE couchkv_client)
couchkv_warnings(couchkv_public_headers_check)
add_dependencies(test_facade_more couchkv_public_headers_check)
