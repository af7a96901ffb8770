#!/usr/bin/env bash
# Client-side instructions per operation (valgrind --tool=callgrind, user space of the client
# process only) for couchkv, libmemcached and the raw-socket floor, against a memcached it starts:
# GET one at a time and pipelined, multi-get of 100 keys (per key), SET one at a time.
# couchkv appears twice: io::kv_connection (bench_memcached) and the facade, async_bucket on a
# memcached:// connection string (bench_matrix).
# Each client runs twice (N1 and N2 operations); per-op = (I(N2) - I(N1)) / (N2 - N1), so the
# start-up and connection set-up cancel out.
# A client's count depends a little on how the answers arrive: an event-loop client pays per
# wake-up (couchkv), a polling one per poll (libmemcached), and how many answers one read brings
# varies from run to run (GETs of 100 keys: +-5%). So each row is measured ROUNDS times (default 3)
# and its median printed, with the range; the client runs on CPU $client_cpus, memcached on
# $server_cpus (default 0 and 1).
# usage: bench/callgrind_memcached.sh <build-dir> [n1] [n2]
set -euo pipefail
build=${1:?build dir}
n1=${2:-2000}
n2=${3:-12000}
rounds=${ROUNDS:-3}
client_cpus=${client_cpus:-0}
source "$(dirname "$0")/free_port.sh"
source "$(dirname "$0")/start_memcached.sh"
tmp=$(mktemp -d)
trap 'stop_memcached; rm -rf "$tmp"' EXIT
"$build/bench/bench_memcached" "$port" --only preload 0 # the keys every client reads
instr() { # client ops -> total instructions
  local bin=bench_memcached
  [[ $1 == facade-* ]] && bin=bench_matrix
  taskset -c "$client_cpus" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$build/bench/$bin" "$port" --only "$1" "$2" >/dev/null 2>"$tmp/err" || {
    cat "$tmp/err" >&2
    exit 1
  }
  grep -E '^(summary|totals):' "$tmp/cg.out" | head -1 | awk '{print $2}'
}
declare -A per
row() { # client description
  local a b r vals=()
  for ((r = 0; r < rounds; ++r)); do
    a=$(instr "$1" "$n1")
    b=$(instr "$1" "$n2")
    vals+=($(( (b - a) / (n2 - n1) )))
  done
  local sorted=($(printf '%s\n' "${vals[@]}" | sort -n))
  per[$1]=${sorted[$(( rounds / 2 ))]}
  printf '  %-20s %6d instructions/op  [%d..%d]  %s\n' "$1" "${per[$1]}" "${sorted[0]}" "${sorted[-1]}" "$2"
}
echo "# $(date -u +%F) client-side instructions per operation (callgrind), N1=$n1 N2=$n2, memcached $memcached_version"
echo "# median of $rounds runs [range]; client on CPU $client_cpus, memcached on CPU $server_cpus"
echo "GET, one at a time"
row raw-seq "raw socket"
row asio-seq "Asio's floor: a bare socket on an io_context, no couchkv above the codec"
row couchkv-seq "couchkv io::kv_connection"
row facade-get "couchkv async_bucket::get"
row facade-get-future "couchkv async_bucket::get, the default future (io on another thread)"
row facade-get-st "couchkv async_bucket::get, single_threaded"
row lmc-seq "libmemcached memcached_get"
echo "GET, 100 in flight / multi-get of 100 (per key)"
row raw-pipe "raw socket, batches of 100"
row couchkv-pipe "couchkv io::kv_connection, 100 in flight"
row couchkv-batch "couchkv io::kv_connection, batches of 100"
row couchkv-mget "couchkv io::kv_connection::execute_batch of 100"
row facade-pipe "couchkv async_bucket::get, 100 in flight"
row facade-pipe-st "couchkv async_bucket::get, 100 in flight, single_threaded"
row facade-mget "couchkv async_bucket::get_multi of 100"
row facade-mget-st "couchkv async_bucket::get_multi of 100, single_threaded"
row facade-each "couchkv async_bucket::get_multi_each of 100 (views, no map)"
row facade-each-borrowed "couchkv async_bucket::get_multi_each of 100, borrowed_keys"
row lmc-mget "libmemcached memcached_mget of 100"
echo "SET, one at a time (100-byte values)"
row raw-set "raw socket"
row couchkv-set "couchkv io::kv_connection"
row facade-set "couchkv async_bucket::upsert (binary)"
row facade-set-st "couchkv async_bucket::upsert (binary), single_threaded"
row lmc-set "libmemcached memcached_set"
ratio() { awk -v a="${per[$1]}" -v b="${per[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
echo "couchkv / libmemcached (issue 9's goal: at most 0.50)"
st() { echo "single_threaded $(ratio "$1" "$2")"; }
echo "  GET one at a time     Asio's floor $(ratio asio-seq lmc-seq), kv_connection $(ratio couchkv-seq lmc-seq), facade $(ratio facade-get lmc-seq), $(st facade-get-st lmc-seq)"
echo "  GET pipelined / mget  kv_connection $(ratio couchkv-pipe lmc-mget), execute_batch $(ratio couchkv-mget lmc-mget), facade $(ratio facade-pipe lmc-mget), $(st facade-pipe-st lmc-mget)"
echo "  multi-get of 100      facade get_multi $(ratio facade-mget lmc-mget), $(st facade-mget-st lmc-mget), get_multi_each $(ratio facade-each lmc-mget), borrowed_keys $(ratio facade-each-borrowed lmc-mget)"
echo "  SET one at a time     kv_connection $(ratio couchkv-set lmc-set), facade $(ratio facade-set lmc-set), $(st facade-set-st lmc-set)"
