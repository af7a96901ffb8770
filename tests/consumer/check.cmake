# ctest driver: install the library (its install component alone) into a scratch prefix, check that
# nothing of the mock or the tool came with it, then configure, build and run the consumer project
# against it with find_package(couchkv).
# -D BUILD_DIR=... -D SOURCE_DIR=... -D WORK_DIR=... [-D CXX=...]
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                        --component couchkv_library
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
file(GLOB_RECURSE installed RELATIVE ${WORK_DIR}/prefix ${WORK_DIR}/prefix/*)
foreach(f IN LISTS installed)
  if(f MATCHES "mock|duktape|bin/")
    message(FATAL_ERROR "the library's install holds ${f}: the mock and the tool are not part of it")
  endif()
  if(f MATCHES "\\.cmake$")
    file(READ ${WORK_DIR}/prefix/${f} text)
    if(text MATCHES "duktape|couchkv_mock")
      message(FATAL_ERROR "${f} exports a mock dependency")
    endif()
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build -G Ninja
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_COMPILER=${CXX}
                        -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
foreach(exe consumer consumer_protocol_only consumer_asio consumer_compiled_asio)
  execute_process(COMMAND ${WORK_DIR}/build/${exe} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "${exe} failed: ${rc}")
  endif()
endforeach()
