# Programs against the mock cluster (tests/mock_cluster): the soak run of issue 9.
if(TARGET couchkv_mock)
  add_executable(couchkv-soak soak.cpp)
  target_link_libraries(couchkv-soak PRIVATE couchkv_client couchkv_mock)
  couchkv_warnings(couchkv-soak)
endif()

# Endure latency against the mock's replication / persistence delays (issue 7).
if(TARGET couchkv_mock)
  add_executable(bench_endure bench_endure.cpp)
  target_link_libraries(bench_endure PRIVATE couchkv_client couchkv_mock)
  couchkv_warnings(bench_endure)
endif()

# The completion token's cost: future vs callback vs coroutine through the facade (issue 9).
if(TARGET couchkv_mock)
  add_executable(bench_tokens bench_tokens.cpp)
  target_link_libraries(bench_tokens PRIVATE couchkv_client couchkv_mock)
  couchkv_warnings(bench_tokens)
endif()

# GET through the facade against the mock, next to a raw socket on the mock's KV port (issue 9).
if(TARGET couchkv_mock)
  add_executable(bench_mock_get bench_mock_get.cpp)
  target_link_libraries(bench_mock_get PRIVATE couchkv_client couchkv_mock)
  couchkv_warnings(bench_mock_get)
endif()

# A burst of operations on a bucket whose connections are still coming up (issue 9).
if(TARGET couchkv_mock)
  add_executable(bench_cold_start bench_cold_start.cpp)
  target_link_libraries(bench_cold_start PRIVATE couchkv_client couchkv_mock)
  couchkv_warnings(bench_cold_start)
endif()
