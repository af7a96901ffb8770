# The facade against memcached, next to libmemcached and a raw socket (issue 9's live matrix).
find_library(LIBMEMCACHED memcached)
if(LIBMEMCACHED AND TARGET couchkv_client)
  add_executable(bench_matrix bench_matrix.cpp)
  target_link_libraries(bench_matrix PRIVATE couchkv_client ${LIBMEMCACHED})
  couchkv_warnings(bench_matrix)
endif()
