couchkv_add_test(test_views SOURCES src/test_views.cpp LIBS couchkv_views)
target_include_directories(test_views PRIVATE ${PROJECT_SOURCE_DIR}/src)
