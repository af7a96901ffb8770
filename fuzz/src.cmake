# View pieces (src/views) are pure, so they are fuzzed like the codec. The fuzz build does not
# add src/ (it needs Asio), so the views layer is added here on its own.
if(NOT TARGET couchkv_views)
  add_subdirectory(${PROJECT_SOURCE_DIR}/src/views ${PROJECT_BINARY_DIR}/src/views)
endif()
couchkv_add_fuzzer(view_rows SOURCES fuzz_view_rows.cpp LIBS couchkv_views nlohmann_json::nlohmann_json)
target_include_directories(fuzz_view_rows PRIVATE ${PROJECT_SOURCE_DIR}/src)
