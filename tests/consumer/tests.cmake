# find_package(couchkv) from an install tree (not built under sanitizers: the consumer is plain).
if(NOT COUCHKV_SANITIZE)
  add_test(NAME consumer.find_package
           COMMAND ${CMAKE_COMMAND} -D BUILD_DIR=${PROJECT_BINARY_DIR} -D SOURCE_DIR=${PROJECT_SOURCE_DIR}
                   -D WORK_DIR=${PROJECT_BINARY_DIR}/consumer-check -D CXX=${CMAKE_CXX_COMPILER}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/check.cmake)
  set_tests_properties(consumer.find_package PROPERTIES LABELS "packaging" TIMEOUT 600)
endif()
