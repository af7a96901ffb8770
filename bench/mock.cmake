# Programs against the mock cluster (tests/mock_cluster), built when the mock is.
if(NOT TARGET couchkv_mock)
  return()
endif()

function(couchkv_mock_program name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE couchkv_client couchkv_mock)
  couchkv_warnings(${name})
endfunction()

couchkv_mock_program(couchkv-soak soak.cpp)                  # the soak run (issue 9)
couchkv_mock_program(bench_endure bench_endure.cpp)          # endure latency against the mock's delays (issue 7)
couchkv_mock_program(bench_tokens bench_tokens.cpp)          # future vs callback vs coroutine per op (issue 9)
couchkv_mock_program(bench_mock_get bench_mock_get.cpp)      # facade GET next to a raw socket on the mock (issue 9)
couchkv_mock_program(bench_cold_start bench_cold_start.cpp)  # a burst on a bucket still connecting (issue 9)
