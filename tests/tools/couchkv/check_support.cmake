# What the cmake -P checks of the couchkv tool share (pillowfight_check.cmake, cli_check.cmake).
# -DCOUCHKV=<path to couchkv>.

# run_couchkv(ARGS... [INPUT file]): runs the tool; sets rc, out and err in the caller's scope.
function(run_couchkv)
  cmake_parse_arguments(arg "" "INPUT" "" ${ARGN})
  set(input)
  if(arg_INPUT)
    set(input INPUT_FILE ${arg_INPUT})
  endif()
  execute_process(COMMAND ${COUCHKV} ${arg_UNPARSED_ARGUMENTS} ${input}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 90)
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

# expect(rc|out|err REGEX): fails the check, showing everything the tool said, unless it matches.
function(expect what regex)
  if(NOT "${${what}}" MATCHES "${regex}")
    message(FATAL_ERROR "expected ${what} to match \"${regex}\"\n--- exit status: ${rc}\n--- stdout:\n${out}\n--- stderr:\n${err}")
  endif()
endfunction()

# expect_not(rc|out|err REGEX): the opposite.
function(expect_not what regex)
  if("${${what}}" MATCHES "${regex}")
    message(FATAL_ERROR "expected ${what} not to match \"${regex}\"\n--- exit status: ${rc}\n--- stdout:\n${out}\n--- stderr:\n${err}")
  endif()
endfunction()

# run_script(NAME LINES...): writes the lines to NAME.couchkv (in the directory ctest runs the
# check in) and runs `couchkv --mock` on it as standard input. A line holding ';' would be split:
# write such a script with file(WRITE) instead.
function(run_script name)
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${name}.couchkv")
  list(JOIN ARGN "\n" text)
  file(WRITE "${script}" "${text}\n")
  run_couchkv(--mock INPUT "${script}")
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()
