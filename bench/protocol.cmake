add_executable(bench_codec bench_codec.cpp)
target_link_libraries(bench_codec PRIVATE couchkv_protocol benchmark::benchmark)
