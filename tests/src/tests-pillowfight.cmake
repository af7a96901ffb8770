# `couchkv pillowfight` and the soak program (issue 9).
couchkv_add_test(test_histogram SOURCES src/test_histogram.cpp)
target_include_directories(test_histogram PRIVATE ${PROJECT_SOURCE_DIR}/src)

if(TARGET couchkv-cli AND TARGET couchkv_mock)
  # A short run against the embedded mock; the script checks the exit status and the summary.
  add_test(NAME cli.pillowfight.mock
           COMMAND ${CMAKE_COMMAND} -DCOUCHKV=$<TARGET_FILE:couchkv-cli> -DMODE=text
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/src/pillowfight_check.cmake)
  add_test(NAME cli.pillowfight.json
           COMMAND ${CMAKE_COMMAND} -DCOUCHKV=$<TARGET_FILE:couchkv-cli> -DMODE=json
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/src/pillowfight_check.cmake)
  add_test(NAME cli.pillowfight.bad_options
           COMMAND ${CMAKE_COMMAND} -DCOUCHKV=$<TARGET_FILE:couchkv-cli> -DMODE=bad
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/src/pillowfight_check.cmake)
  set_tests_properties(cli.pillowfight.mock cli.pillowfight.json cli.pillowfight.bad_options
                       PROPERTIES LABELS integration TIMEOUT 120)
endif()

# The soak program is built with the benchmarks (bench/mock.cmake, when the mock is built).
if(COUCHKV_BUILD_BENCH AND TARGET couchkv_mock)
  add_test(NAME soak.short COMMAND $<TARGET_FILE:couchkv-soak> --ops 50000 --faults 12 --seed 1)
  set_tests_properties(soak.short PROPERTIES LABELS integration TIMEOUT 120)
endif()
