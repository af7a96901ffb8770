# The README's main job, as a test: the tour must do exactly what it says.
if(TARGET couchkv-cli AND TARGET couchkv_mock)
  add_test(NAME cli.tour COMMAND sh -c "$<TARGET_FILE:couchkv-cli> --mock < ${PROJECT_SOURCE_DIR}/examples/tour.couchkv")
  set_tests_properties(cli.tour PROPERTIES LABELS integration TIMEOUT 120)
  add_test(NAME cli.bad_connection_string COMMAND $<TARGET_FILE:couchkv-cli> --connstr "couchbase://h1/b?nope=1" version)
  set_tests_properties(cli.bad_connection_string PROPERTIES LABELS integration WILL_FAIL TRUE TIMEOUT 60)
  # Issue 20: range-checked numbers (exit status 2), and server text escaped for the terminal.
  foreach(mode cli_numbers cli_escape)
    add_test(NAME cli.${mode}
             COMMAND ${CMAKE_COMMAND} -DCOUCHKV=$<TARGET_FILE:couchkv-cli> -DMODE=${mode}
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/src/pillowfight_check.cmake)
    set_tests_properties(cli.${mode} PROPERTIES LABELS integration TIMEOUT 180)
  endforeach()
endif()
