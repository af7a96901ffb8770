# Runs `couchkv pillowfight` and checks what it printed (cmake -P; see tests-pillowfight.cmake).
#   -DCOUCHKV=<path to couchkv> -DMODE=text|json|bad
# and the same for the main commands (tests-cli.cmake): -DMODE=cli_numbers|cli_escape
cmake_minimum_required(VERSION 3.25)

function(run_pillowfight)
  execute_process(COMMAND ${COUCHKV} pillowfight ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 90)
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

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

function(expect what regex)
  if(NOT "${${what}}" MATCHES "${regex}")
    message(FATAL_ERROR "expected ${what} to match \"${regex}\"\n--- exit status: ${rc}\n--- stdout:\n${out}\n--- stderr:\n${err}")
  endif()
endfunction()

if(MODE STREQUAL "text")
  run_pillowfight(--mock --num-ops 20000 --threads 2 --batch-size 32 --num-items 500 --value-size 200 --set-pct 40)
  expect(rc "^0$")
  expect(out "pillowfight summary\n")
  expect(out "operations   20000 \\(([0-9]+) get, ([0-9]+) set\\)")
  string(REGEX MATCH "operations   20000 \\(([0-9]+) get, ([0-9]+) set\\)" _ "${out}")
  math(EXPR total "${CMAKE_MATCH_1} + ${CMAKE_MATCH_2}")
  if(NOT total EQUAL 20000 OR CMAKE_MATCH_2 LESS 6000 OR CMAKE_MATCH_2 GREATER 10000)
    message(FATAL_ERROR "gets + sets must be 20000 with about 40% sets:\n${out}")
  endif()
  expect(out "errors       0\n")
  expect(out "throughput   [1-9][0-9]* ops/s")
  expect(out "latency us   min [0-9.]+  mean [0-9.]+  p50 [0-9.]+  p90 [0-9.]+  p99 [0-9.]+  p99\\.9 [0-9.]+  max [0-9.]+")
  expect(err "populated 500 items in [0-9.]+ s \\(0 errors\\)")
elseif(MODE STREQUAL "json")
  run_pillowfight(--mock --json --no-progress --num-ops 5000 --set-pct 100 --num-items 100 --min-size 10 --max-size 20
                  --key-prefix pf-json-)
  expect(rc "^0$")
  foreach(check "population;operations;100" "population;errors;0" "workload;operations;5000"
                "workload;sets;5000" "workload;gets;0" "workload;errors;0")
    list(GET check 0 phase)
    list(GET check 1 field)
    list(GET check 2 want)
    string(JSON got ERROR_VARIABLE jerr GET "${out}" ${phase} ${field})
    if(jerr OR NOT got EQUAL want)
      message(FATAL_ERROR "${phase}.${field}: expected ${want}, got '${got}' ${jerr}\n${out}")
    endif()
  endforeach()
  foreach(p min p50 p90 p99 p99.9 max)
    string(JSON v GET "${out}" workload latency_ns ${p})
    list(APPEND lat ${v})
  endforeach()
  set(prev 0)
  foreach(v IN LISTS lat)
    if(v LESS prev)
      message(FATAL_ERROR "latencies must not decrease from min to max: ${lat}")
    endif()
    set(prev ${v})
  endforeach()
  if(prev EQUAL 0)
    message(FATAL_ERROR "max latency is 0:\n${out}")
  endif()
  # --duration with --no-population: only the workload, and it stops on time.
  run_pillowfight(--mock --json --no-progress --duration 500ms --no-population --set-pct 100 --threads 2)
  expect(rc "^0$")
  string(JSON seconds GET "${out}" workload seconds)
  string(JSON ops GET "${out}" workload operations)
  string(JSON errors GET "${out}" workload errors)
  string(JSON has_population ERROR_VARIABLE none GET "${out}" population)
  if(seconds LESS 0.5 OR seconds GREATER 5 OR ops LESS 1 OR NOT errors EQUAL 0 OR NOT none)
    message(FATAL_ERROR "--duration 500ms --no-population:\n${out}")
  endif()
  # --populate-only: every key once, no workload.
  run_pillowfight(--mock --json --no-progress --populate-only --num-items 321 --threads 3)
  expect(rc "^0$")
  string(JSON ops GET "${out}" population operations)
  string(JSON sets GET "${out}" population sets)
  string(JSON has_workload ERROR_VARIABLE none GET "${out}" workload)
  if(NOT ops EQUAL 321 OR NOT sets EQUAL 321 OR NOT none)
    message(FATAL_ERROR "--populate-only --num-items 321:\n${out}")
  endif()
elseif(MODE STREQUAL "bad")
  # Each bad invocation: exit status 2 and a message naming what is wrong.
  foreach(case "--set-pct;150|--set-pct: expected a whole number from 0 to 100"
               "--threads;0|--threads: expected a whole number"
               "--min-size;100;--max-size;50|--min-size \\(100\\) is above --max-size \\(50\\)"
               "--duration;5x|--duration: expected a duration"
               "--num-ops;lots|--num-ops: expected a whole number"
               "--batch-size|--batch-size needs a value"
               "--frobnicate|unknown option \"--frobnicate\""
               "--populate-only;--no-population|exclude each other"
               "--num-ops;10|give --connstr or --mock")
    string(REPLACE "|" ";" parts "${case}")
    list(POP_BACK parts message)
    if(NOT message MATCHES "connstr or")
      list(PREPEND parts --mock)
    endif()
    run_pillowfight(${parts})
    expect(rc "^2$")
    expect(err "${message}")
  endforeach()
  run_pillowfight(--help)
  expect(rc "^0$")
  expect(out "--batch-size N")
  # Nobody listening: exit status 1 and why.
  run_pillowfight(--connstr couchbase://127.0.0.1:1/default --num-ops 10)
  expect(rc "^1$")
  expect(err "cannot open the bucket")
elseif(MODE STREQUAL "cli_numbers")
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
  message(FATAL_ERROR "MODE must be text, json, bad, cli_numbers or cli_escape")
endif()
