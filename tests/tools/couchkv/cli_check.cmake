# Runs the couchkv tool's main commands against its embedded mock (cmake -P) and checks the exit
# status and what it printed. One MODE per ctest test:
#   -DCOUCHKV=<path to couchkv> -DMODE=<mode>
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/check_support.cmake)

if(MODE STREQUAL "cli_numbers")
  # Issue 20: every number is range-checked; a bad one is a usage error (exit status 2) that says
  # which and why, never an uncaught exception, a wrapped value or a truncated one.
  foreach(case "--timeout;abc;version|--timeout: expected a whole number from 1 to 3600000, got \"abc\""
               "--timeout;1e20;version|--timeout: expected a whole number from 1 to 3600000, got \"1e20\""
               "--timeout;-5;version|--timeout: expected a whole number"
               "--timeout;99999999999999999999999;version|--timeout: expected a whole number"
               "--mock;counter;k;1;--initial;-1|--initial: expected a whole number from 0 to 18446744073709551615"
               "--mock;counter;k;5abc|counter: DELTA: expected a whole number"
               "--mock;counter;k;-9223372036854775809|counter: DELTA: expected a whole number"
               "--mock;lock;k;99999999999|lock: SECONDS: expected a whole number from 0 to 4294967295"
               "--mock;lock;k;-1|lock: SECONDS: expected a whole number"
               "--mock;touch;k;-1|touch: EXPIRY_S: expected a whole number"
               "--mock;upsert;k;1;--expiry;4294967296|--expiry: expected a whole number from 0 to 4294967295"
               "--mock;remove;k;--cas;18446744073709551616|--cas: expected a whole number"
               "--mock;unlock;k; 5|unlock: CAS: expected a whole number"
               "--mock;failover;4294967296|failover: NODE: expected a whole number"
               "--mock;pillowfight;--seed; -1|--seed: expected a whole number")
    string(REPLACE "|" ";" parts "${case}")
    list(POP_BACK parts message)
    run_couchkv(${parts})
    expect(rc "^2$")
    expect(err "${message}")
  endforeach()
  # The extremes that are valid still work (hexadecimal for the CAS the CLI prints), and the
  # facade refuses what the wire cannot carry: unlock with CAS 0, an expiry past 2106.
  set(script "${CMAKE_CURRENT_BINARY_DIR}/cli_numbers.couchkv")
  file(WRITE "${script}" "counter big 1 --initial 18446744073709551615\n"
                         "counter neg -9223372036854775808 --initial 5\n"
                         "counter neg -9223372036854775808\n"
                         "upsert k 1\n"
                         "lock k 4294967295\n"
                         "!unlock k 0\n"
                         "!unlock k 0x0\n"
                         "!upsert far 1 --expiry 4294967295\n")
  run_couchkv(--mock --timeout 3600000 INPUT "${script}")
  expect(rc "^0$")
  expect(out "big  counter=18446744073709551615")
  expect(out "neg  counter=0")
  expect(out "unlock k: error: invalid argument")
  expect(out "upsert far: error: invalid argument")
elseif(MODE STREQUAL "cli_escape")
  # Issue 20: server-provided text (values, error messages, statistics) and echoed input never
  # reach the terminal raw: ESC, BEL, DEL, the C1 controls (U+009B is CSI) are shown escaped.
  string(ASCII 27 esc)
  string(ASCII 7 bel)
  string(ASCII 127 del)
  string(ASCII 194 155 c1csi)  # U+009B in UTF-8
  set(script "${CMAKE_CURRENT_BINARY_DIR}/cli_escape.couchkv")
  string(ASCII 195 169 e_acute) # U+00E9 in UTF-8: text, not a control; passes as it is
  file(WRITE "${script}" "upsert k \"caf${e_acute} \\u00e9\"\n"
                         "get k\n"
                         "append k ${esc}[2J${esc}[31m${bel}${del}${c1csi}31m\n"
                         "get k\n"
                         "!get ${esc}]0;title${bel}\n")
  run_couchkv(--mock INPUT "${script}")
  expect(rc "^0$")
  foreach(raw esc bel del c1csi)
    string(FIND "${out}${err}" "${${raw}}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "a raw control character (${raw}) reached the output:\n${out}")
    endif()
  endforeach()
  expect(out "k  \"caf${e_acute} \\\\u00e9\"  flags=[^\n]*\\(json\\)\n")  # JSON printed as it is, no note
  # Escaped: the backslash doubled too, so that every escape reads one way.
  expect(out "k  \"caf${e_acute} \\\\\\\\u00e9\"\\\\x1b\\[2J\\\\x1b\\[31m\\\\x07\\\\x7f\\\\u009b31m  flags=[^\n]* \\(escaped\\)\n")
  expect(out "get \\\\x1b\\]0;title\\\\x07: error: document not found")
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
