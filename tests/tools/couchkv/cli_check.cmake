# Runs the couchkv tool's main commands against its embedded mock (cmake -P) and checks the exit
# status and what it printed. One MODE per ctest test:
#   -DCOUCHKV=<path to couchkv> -DMODE=<mode> [-DREADME=<path to README.md>]
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
elseif(MODE STREQUAL "unknown_options")
  # Issue 19 item 7: every command declares its options; anything else is a usage error (exit
  # status 2) naming the option and the command, and nothing is sent.
  foreach(case "get;k;--bogus|get: unknown option \"--bogus\""
               "upsert;k;{};--bogus;1|upsert: unknown option \"--bogus\""
               "get;k;--expiry;5|get: unknown option \"--expiry\""
               "insert;k;{};--cas;5|insert: unknown option \"--cas\""
               "view;d;v;--format;json|view: unknown option \"--format\""
               "design;list;--limit;1|design list: unknown option \"--limit\""
               "hash;k;--replicate-to;1|hash: unknown option \"--replicate-to\""
               "get;k;--timeout;5|get: \"--timeout\" is a global option: give it before the command"
               "remove;k;--cas;1;--cas;2|remove: \"--cas\" given twice"
               "upsert;k;{};--durability;sometimes|--durability: expected one of none, majority, majority-persist-active, persist-majority"
               "upsert;k;{};--durability;majority;--persist-to;1|exclude each other"
               "upsert;k|upsert: expected KEY VALUE, got 1 argument"
               "design;frob|design: expected one of list, get, upsert, remove, publish"
               "frobnicate|unknown command \"frobnicate\""
               "endure;k|endure: give --persist-to N or --replicate-to N")
    string(REPLACE "|" ";" parts "${case}")
    list(POP_BACK parts message)
    run_couchkv(--mock ${parts})
    expect(rc "^2$")
    expect(err "${message}")
  endforeach()
  run_couchkv(--bogus --mock version)
  expect(rc "^2$")
  expect(err "unknown option \"--bogus\"")
  # Read from standard input: the line fails, the others still run, and the status says so.
  run_script(unknown_options "upsert k 1" "get k --bogus" "get k")
  expect(rc "^2$")
  expect(out "> get k --bogus\n  usage error: get: unknown option \"--bogus\"[^\n]*\n  \\^ unexpected failure\n> get k\nk  1  ")
elseif(MODE STREQUAL "durability")
  # --replicate-to 4 with one replica: refused (durability impossible), nothing stored, exit 1.
  run_couchkv(--mock upsert k {} --replicate-to 4)
  expect(rc "^1$")
  expect(out "upsert k: error: durability requirement impossible[^\n]*replicate_to=4 but the bucket has 1 replica")
  run_script(durability
    "!upsert k {} --replicate-to 4"
    "!get k"
    "!remove k --persist-to 3"
    "upsert k {} --persist-to 2 --replicate-to 1"
    "upsert all {} --persist-to -1 --replicate-to -1"
    "insert new {} --replicate-to 1"
    "replace k [1] --persist-to 1"
    "append k ' ' --replicate-to 1"
    "counter ctr 1 --initial 7 --expiry 60 --persist-to 2"
    "upsert sync {} --durability majority"
    "upsert sync {} --durability persist-majority"
    "remove sync --durability majority-persist-active"
    "remove k --replicate-to 1")
  expect(rc "^0$")
  expect(out "k  upsert ok  cas=0x[0-9a-f]+ vb=[0-9]+ seqno=[0-9]+  durable: persisted on 2/2 node\\(s\\)[^\n]*replicated to 1/1 replica")
  expect(out "all  upsert ok[^\n]*durable: persisted on 2/2 node\\(s\\)[^\n]*replicated to 1/1 replica")
  expect(out "ctr  counter=7 cas=0x[0-9a-f]+  durable: persisted on 2/2")
  expect(out "k  remove ok[^\n]*durable: ")
  expect(out "remove k: error: durability requirement impossible[^\n]*persist_to=3")
elseif(MODE STREQUAL "multi_get")
  # Every key prints its value or its own error, in order; the status says whether all were read.
  run_script(multi_get "upsert a 1" "upsert c 3" "!get a missing c" "get c a")
  expect(rc "^0$")
  expect(out "> get a missing c   \\(expected to fail\\)\na  1  flags=0x2000000 [^\n]*\nget missing: error: document not found[^\n]*\nc  3  flags=0x2000000 [^\n]*\n> get c a\nc  3  [^\n]*\na  1  ")
  expect_not(out "get a: error")
  run_couchkv(--mock get nothing1 nothing2)
  expect(rc "^1$")
  expect(out "get nothing1: error: document not found[^\n]*\nget nothing2: error: document not found")
elseif(MODE STREQUAL "format")
  # --format json|string|binary: the common flags say which, and each comes back as stored.
  string(ASCII 255 254 not_utf8)
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/format.couchkv"
       "upsert j {\"a\": 1}\n" "get j\n"
       "upsert s 'hello world' --format string\n" "get s\n"
       "upsert t \"quoted\" --format string\n" "get t\n"
       "upsert b abc${not_utf8} --format binary\n" "get b\n"
       "!upsert bad hello\n" "!upsert bad abc${not_utf8} --format string\n" "!get bad\n")
  run_couchkv(--mock INPUT "${CMAKE_CURRENT_BINARY_DIR}/format.couchkv")
  expect(rc "^0$")
  expect(out "j  {\"a\": 1}  flags=0x2000000 [^\n]* \\(json\\)\n")
  expect(out "s  hello world  flags=0x4000004 [^\n]* \\(utf8\\)\n")
  expect(out "t  \"quoted\"  flags=0x4000004 [^\n]* \\(utf8\\)\n")
  expect(out "b  abc\\\\xff\\\\xfe  flags=0x3000002 [^\n]* \\(binary\\) \\(escaped\\)\n")
  expect(out "usage error: upsert: the value is not JSON; use --format string to store text")
  expect(out "usage error: upsert: the value is not UTF-8 text; use --format binary to store bytes")
  run_couchkv(--mock upsert k hello)
  expect(rc "^2$")
  expect(err "upsert: the value is not JSON; use --format string to store text")
  run_couchkv(--mock upsert k hello --format xml)
  expect(rc "^2$")
  expect(err "--format: expected one of json, string, binary, got \"xml\"")
elseif(MODE STREQUAL "endure")
  run_script(endure
    "upsert k {}"
    "endure k --persist-to 2 --replicate-to 1"
    "endure k --persist-to -1 --cas 0"
    "!endure k --replicate-to 2"
    "!endure missing --persist-to 1"
    "remove k"
    "endure k --removed --persist-to 1 --replicate-to 1")
  expect(rc "^0$")
  expect(out "> endure k --persist-to 2 --replicate-to 1\nk  durable  persisted on 2/2 node\\(s\\)[^\n]*replicated to 1/1 replica")
  expect(out "endure k: error: durability requirement impossible[^\n]*replicate_to=2 but the bucket has 1 replica")
  expect_not(out "endure k: error: [^\n]*the mutation itself")
  expect(out "endure missing: error: ")
  expect(out "k  durable \\(removed\\)  ")
elseif(MODE STREQUAL "views")
  # Views and design documents against the mock's views port.
  run_script(views
    [=[upsert beer::1 {"type": "beer", "name": "alpha", "abv": 5}]=]
    [=[upsert beer::2 {"type": "beer", "name": "beta", "abv": 7}]=]
    [=[upsert beer::3 {"type": "beer", "name": "gamma", "abv": 9}]=]
    [=[upsert other {"type": "brewery"}]=]
    [=[design upsert dev_beers {"views": {"by_name": {"map": "function (doc, meta) { if (doc.type == 'beer') emit(doc.name, doc.abv) }", "reduce": "_sum"}}}]=]
    [=[design list]=]
    [=[design get dev_beers]=]
    [=[view dev_beers by_name --reduce false --stale false]=]
    [=[view dev_beers by_name]=]
    [=[view dev_beers by_name --reduce false --limit 1 --skip 1 --descending --include-docs]=]
    [=[view dev_beers by_name --reduce false --key "beta"]=]
    [=[view dev_beers by_name --reduce false --keys ["gamma", "alpha"]]=]
    [=[view dev_beers by_name --reduce false --startkey "b" --endkey "c"]=]
    [=[view dev_beers by_name --group --stale ok]=]
    [=[view dev_beers by_name --group-level 0]=]
    [=[!view dev_beers nope]=]
    [=[!view nothing v]=]
    [=[design publish beers]=]
    [=[!design get dev_beers]=]
    [=[view beers by_name --reduce false]=]
    [=[design remove beers]=]
    [=[!design get beers]=]
    [=[!design remove beers]=])
  expect(rc "^0$")
  expect(out "> design upsert [^\n]*\n_design/dev_beers  stored\n")
  expect(out "> design list\n_design/dev_beers  views: by_name\n1 design document\\(s\\)\n")
  expect(out "> design get dev_beers\n_design/dev_beers  {\"views\":{\"by_name\":{\"map\":\"function [^\n]*\",\"reduce\":\"_sum\"}}}\n")
  expect(out "--stale false\n{\"id\":\"beer::1\",\"key\":\"alpha\",\"value\":5}\n{\"id\":\"beer::2\",\"key\":\"beta\",\"value\":7}\n{\"id\":\"beer::3\",\"key\":\"gamma\",\"value\":9}\n3 row\\(s\\), total_rows=3\n")
  expect(out "> view dev_beers by_name\n{\"key\":null,\"value\":21}\n1 row\\(s\\)\n")
  expect(out "--include-docs\n{\"id\":\"beer::2\",\"key\":\"beta\",\"value\":7,\"doc\":{\"type\": \"beer\", \"name\": \"beta\", \"abv\": 7}}\n1 row\\(s\\), total_rows=3\n")
  expect(out "--key \"beta\"\n{\"id\":\"beer::2\",\"key\":\"beta\",\"value\":7}\n1 row\\(s\\)")
  expect(out "--keys \\[\"gamma\", \"alpha\"\\]\n{\"id\":\"beer::3\"[^\n]*\n{\"id\":\"beer::1\"[^\n]*\n2 row\\(s\\)")
  expect(out "--endkey \"c\"\n{\"id\":\"beer::2\"[^\n]*\n1 row\\(s\\)")
  expect(out "--group --stale ok\n{\"key\":\"alpha\",\"value\":5}\n{\"key\":\"beta\",\"value\":7}\n{\"key\":\"gamma\",\"value\":9}\n3 row\\(s\\)\n")
  expect(out "--group-level 0\n{\"key\":null,\"value\":21}\n")
  expect(out "view dev_beers/nope: error: view not found \\(HTTP 404[^\n]*missing_named_view\\)")
  expect(out "view nothing/v: error: design document not found")
  expect(out "> design publish beers\n_design/beers  published \\(dev_beers removed\\)\n")
  expect(out "design get dev_beers: error: design document not found")
  expect(out "> view beers by_name --reduce false\n[^\n]*\n[^\n]*\n[^\n]*\n3 row\\(s\\), total_rows=3\n")
  expect(out "> design remove beers\n_design/beers  removed\n")
  expect(out "design remove beers: error: design document not found")
  # What the view engine cannot take is said before anything is sent.
  run_couchkv(--mock view d v --key beta)
  expect(rc "^2$")
  expect(err "--key: expected a JSON value \\(a string with its quotes")
  run_couchkv(--mock design upsert d [=[{"views": 5}]=])
  expect(rc "^2$")
  expect(err "design upsert: DOCUMENT: ")
elseif(MODE STREQUAL "hash")
  # "hello" is in vBucket 528 of 1024: ((crc32("hello") >> 16) & 0x7fff) % 1024, libcouchbase's
  # hash (crc32 as zlib computes it). Master and replica are the nodes OBSERVE reaches.
  run_script(hash "upsert hello 1" "hash hello user::1" "observe hello")
  expect(rc "^0$")
  expect(out "> hash hello user::1\nhello  vbucket=528  master (127\\.0\\.0\\.1:[0-9]+) \\(node [0-2]\\)\n  replica 1  (127\\.0\\.0\\.1:[0-9]+) \\(node [0-2]\\)\nuser::1  vbucket=997  master ")
  string(REGEX MATCH "hello  vbucket=528  master (127\\.0\\.0\\.1:[0-9]+)[^\n]*\n  replica 1  (127\\.0\\.0\\.1:[0-9]+)" _ "${out}")
  set(master "${CMAKE_MATCH_1}")
  set(replica "${CMAKE_MATCH_2}")
  if(master STREQUAL replica)
    message(FATAL_ERROR "master and replica are one node:\n${out}")
  endif()
  expect(out "observed on 2 node\\(s\\)\n  master   ${master}  [^\n]*\n  replica  ${replica}  ")
elseif(MODE STREQUAL "help")
  # help COMMAND (and COMMAND --help) shows its synopsis and every option; --help lists every
  # command, and so does the README.
  run_couchkv(help upsert)
  expect(rc "^0$")
  expect(out "^usage: couchkv upsert KEY VALUE \\[OPTIONS\\]\n")
  foreach(option "--format json\\|string\\|binary" "--expiry S" "--cas N" "--persist-to N" "--replicate-to N"
                 "--durability LEVEL")
    expect(out "\n  ${option} ")
  endforeach()
  run_couchkv(view --help)
  expect(rc "^0$")
  foreach(option --limit --skip --key --keys --startkey --endkey --descending --reduce --group --group-level
                 --stale --include-docs)
    expect(out "\n  ${option} ")
  endforeach()
  run_couchkv(help design)
  expect(out "usage: couchkv design list\n[^$]*design get NAME[^$]*design upsert NAME DOCUMENT[^$]*design remove NAME[^$]*design publish NAME")
  run_couchkv(help endure)
  expect(out "usage: couchkv endure KEY \\[OPTIONS\\][^$]*--cas N[^$]*--persist-to N[^$]*--replicate-to N[^$]*--removed")
  run_couchkv(help pillowfight)
  expect(rc "^0$")
  expect(out "--batch-size N")
  run_couchkv(help nothing)
  expect(rc "^2$")
  expect(err "help: no command \"nothing\"")
  run_couchkv(--help)
  expect(rc "^0$")
  expect(out "Exit status: 0 [^$]*; 1 an operation failed[^$]*; 2 a usage\nerror")
  file(READ "${README}" readme)
  string(REGEX MATCH "\n## The command-line tool\n.*" readme "${readme}")
  string(REGEX MATCHALL "\n  [a-z][^\n]*" lines "${out}")
  set(commands_seen 0)
  foreach(line IN LISTS lines)
    # "  get KEY...                    print ..." -> "get KEY..."
    if(line MATCHES "^\n  ([a-z][^ ]*( [A-Z\\[][^ ]*| [a-z]+)*)  ")
      set(command "${CMAKE_MATCH_1}")
      math(EXPR commands_seen "${commands_seen} + 1")
      string(FIND "${readme}" "`${command}`" at)
      if(at EQUAL -1)
        message(FATAL_ERROR "the README's command-line section does not show `${command}`")
      endif()
    endif()
  endforeach()
  if(commands_seen LESS 25)
    message(FATAL_ERROR "expected every command in --help, found ${commands_seen}:\n${out}")
  endif()
elseif(MODE STREQUAL "exit_status")
  run_couchkv(version)
  expect(rc "^0$")
  expect(out "^couchkv [0-9]")
  run_couchkv(--mock get nothing)
  expect(rc "^1$")
  run_couchkv(--mock get k --bogus)
  expect(rc "^2$")
  run_couchkv(get k)
  expect(rc "^2$")
  expect(err "give --connstr or --mock")
  run_couchkv(--connstr "couchbase://h1/b?nope=1" get k)
  expect(rc "^2$")
  expect(err "^couchkv: option \"nope\": unknown connection string option\n$")
  run_couchkv(--connstr couchbase://127.0.0.1:1/default --timeout 2000 get k)
  expect(rc "^1$")
  expect(err "cannot open the bucket")
  # Standard input: an unexpected success or failure is 1; a usage error where success was
  # expected is 2 (the worst wins), and every line still runs.
  run_script(exit_unexpected "upsert k 1" "!get k" "get k")
  expect(rc "^1$")
  expect(out "> get k   \\(expected to fail\\)\nk  1  [^\n]*\n  \\^ unexpected success\n> get k\nk  1  ")
  run_script(exit_usage "get k --bogus" "!get nothing" "upsert k 1")
  expect(rc "^2$")
  expect(out "k  upsert ok")
  run_script(exit_ok "!get k --bogus" "!get nothing" "upsert k 1" "# a comment" "" "   get k")
  expect(rc "^0$")
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
