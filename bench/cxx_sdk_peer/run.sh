#!/usr/bin/env bash
# The official Couchbase C++ SDK as a peer (issue 18, item 6). Optional, not part of CI.
#
# Fetches the npm package couchbase@4.7.1 (its deps/ hold the couchbase-cxx-client sources and a
# CPM source cache of their dependencies), builds the SDK's static library and peer_cxx_sdk against
# it offline, builds couchkv's bench_peer_couchkv and couchkv-mock, then runs the same workload
# through both clients against one couchkv-mock:
#   GET and upsert one at a time (future and callback API), and 100 GETs in flight;
#   client instructions per operation (callgrind, user space of the client process, all its
#   threads): each client runs at N1 and at N2 operations, per-op = (I(N2) - I(N1)) / (N2 - N1), so
#   connecting and warming up cancel (bench/callgrind_memcached.sh's method); median of ROUNDS;
#   wall-clock ops/s in interleaved rounds (couchkv, SDK, couchkv, SDK, ...), median and range.
# The mock runs on CPU $server_cpus, each client on CPU $client_cpus (taskset); every figure is
# printed with that placement. The last lines are the table for bench/RESULTS.md.
#
# usage: bench/cxx_sdk_peer/run.sh [couchkv build dir, default build/release] [scratch dir]
#   The scratch dir (default <build dir>/cxx_sdk_peer) receives the npm package and the SDK's build.
#   environment: N1 N2 ROUNDS (callgrind, default 2000 10000 3), WALL_N WALL_ROUNDS (default 50000
#   5; ROUNDS=0 or WALL_ROUNDS=0 skips that phase), client_cpus server_cpus (default 0 and 1),
#   JOBS (SDK build, default 2), COUCHBASE_NPM_DIR (a dir whose node_modules/couchbase is 4.7.1:
#   used instead of npm install), ONLY_BUILD=1 (stop after building).
# The SDK build takes 15-25 minutes on 2 cores the first time (nice'd); later runs reuse it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build/release}" && pwd)
scratch=${2:-$build/cxx_sdk_peer}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
sdk_npm_version=4.7.1
n1=${N1:-2000}
n2=${N2:-10000}
rounds=${ROUNDS:-3}
wall_n=${WALL_N:-50000}
wall_rounds=${WALL_ROUNDS:-5}
client_cpus=${client_cpus:-0}
server_cpus=${server_cpus:-1}
jobs=${JOBS:-2}
log() { echo "[cxx_sdk_peer] $*" >&2; }

# 1. The npm package (sources only: --ignore-scripts skips the Node.js addon's install step).
npm_dir=${COUCHBASE_NPM_DIR:-$scratch/npm}
pkg=$npm_dir/node_modules/couchbase
if [ "$(node -p "try { require('$pkg/package.json').version } catch (e) { '' }" 2>/dev/null)" != "$sdk_npm_version" ]; then
  [ -z "${COUCHBASE_NPM_DIR:-}" ] || { echo "COUCHBASE_NPM_DIR has no couchbase@$sdk_npm_version" >&2; exit 1; }
  log "npm install couchbase@$sdk_npm_version into $npm_dir"
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --no-audit --no-fund --ignore-scripts --omit=optional --loglevel=error \
    "couchbase@$sdk_npm_version" >/dev/null)
fi
sdk_src=$pkg/deps/couchbase-cxx-client
cpm_cache=$pkg/deps/couchbase-cxx-cache
if [ ! -f "$sdk_src/CMakeLists.txt" ] || [ ! -f "$cpm_cache/mozilla-ca-bundle.crt" ]; then
  echo "$pkg lacks deps/couchbase-cxx-client or deps/couchbase-cxx-cache" >&2
  exit 1
fi
sdk_version=$(sed -n 's/^ *VERSION "\([0-9.]*\)".*/\1/p' "$sdk_src/CMakeLists.txt" | head -1)

# 2. The SDK and the peer program, offline. CPM finds every dependency in the package's cache
# (CPM_SOURCE_CACHE), laid out by name as the package's own build wrote it
# (CPM_USE_NAMED_CACHE_DIRECTORIES: <name>/<hash>/<name>; without it CPM looks for <name>/<hash>,
# with another hash, and finds nothing). The Mozilla CA bundle, which the SDK embeds and would
# otherwise download at configure time, is in the same cache
# (COUCHBASE_CXX_CLIENT_EMBED_MOZILLA_CA_BUNDLE_ROOT). FETCHCONTENT_FULLY_DISCONNECTED makes a
# dependency missing from the cache an error, not a download. TLS comes from the system's OpenSSL
# (the cache's BoringSSL would only lengthen the build; the workload is plain couchbase://). CPM
# warns that each cached dependency is "dirty" when the scratch dir sits inside a git checkout
# (it asks git about the surrounding repository): harmless.
sdk_build=$scratch/build
if [ ! -f "$sdk_build/build.ninja" ]; then
  log "configuring couchbase-cxx-client $sdk_version in $sdk_build"
  cmake -S "$here" -B "$sdk_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCOUCHBASE_CXX_SOURCE_DIR="$sdk_src" \
    -DCPM_SOURCE_CACHE="$cpm_cache" -DCPM_USE_NAMED_CACHE_DIRECTORIES=ON -DCPM_DOWNLOAD_ALL=OFF \
    -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
    -DCOUCHBASE_CXX_CLIENT_EMBED_MOZILLA_CA_BUNDLE_ROOT="$cpm_cache" \
    -DCOUCHBASE_CXX_CLIENT_STATIC_BORINGSSL=OFF \
    >"$scratch/configure.log" 2>&1 || {
    tail -40 "$scratch/configure.log" >&2
    exit 1
  }
fi
log "building peer_cxx_sdk (log: $scratch/build.log)"
nice cmake --build "$sdk_build" --target peer_cxx_sdk -j"$jobs" >"$scratch/build.log" 2>&1 || {
  grep -B2 -A10 -m3 'error' "$scratch/build.log" >&2 || tail -40 "$scratch/build.log" >&2
  exit 1
}
sdk_bin=$sdk_build/peer_cxx_sdk

# 3. couchkv's side: the mock and the counterpart program, in couchkv's own build.
log "building couchkv-mock and bench_peer_couchkv in $build"
cmake --build "$build" --target couchkv-mock bench_peer_couchkv >/dev/null
mock=$build/mock/couchkv-mock
ckv_bin=$build/bench/bench_peer_couchkv
[ -z "${ONLY_BUILD:-}" ] || exit 0

# 4. One mock for every run.
tmp=$(mktemp -d)
taskset -c "$server_cpus" "$mock" --nodes 1 >"$tmp/mock.out" 2>&1 &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null; wait $mock_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/mock.out" ] && break; sleep 0.1; done
connstr=$(head -1 "$tmp/mock.out")
[ -n "$connstr" ] || { echo "couchkv-mock did not start:" >&2; cat "$tmp/mock.out" >&2; exit 1; }

modes=(get-future get-callback upsert-future upsert-callback get-100-in-flight)
declare -A label=([get-future]="GET, future" [get-callback]="GET, callback" [upsert-future]="upsert, future"
  [upsert-callback]="upsert, callback" [get-100-in-flight]="100 GETs in flight")
bin() { [ "$1" = couchkv ] && echo "$ckv_bin" || echo "$sdk_bin"; }

instr() { # client mode n -> the client's total instructions
  taskset -c "$client_cpus" timeout 900 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
    "$(bin "$1")" "$connstr" "$2" "$3" >/dev/null 2>"$tmp/err" || {
    cat "$tmp/err" >&2
    exit 1
  }
  grep -E '^(summary|totals):' "$tmp/cg.out" | head -1 | awk '{print $2}'
}
rate() { # client mode n -> ops/s
  local out
  out=$(taskset -c "$client_cpus" timeout 300 "$(bin "$1")" "$connstr" "$2" "$3") || exit 1
  out=$(sed -n 's/.*ops_per_s=\([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$out" ] || exit 1
  echo "$out"
}
med() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
lo() { printf '%s\n' "$@" | sort -n | head -1; }
hi() { printf '%s\n' "$@" | sort -n | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
placement="client on CPU $client_cpus, couchkv-mock on CPU $server_cpus (taskset)"

echo "# $(date -u +%F) couchkv $(git -C "$repo" rev-parse --short HEAD) vs couchbase-cxx-client $sdk_version (npm couchbase@$sdk_npm_version), couchkv-mock --nodes 1"
echo "# $placement; $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
declare -A ins ops
busy() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg) (anything above ~1 here means something else competes for the CPUs)"; }
if ((rounds > 0)); then
  echo "# instructions per op: callgrind, client process, N1=$n1 N2=$n2, median of $rounds [range]; $(busy)"
  for m in "${modes[@]}"; do
    for c in couchkv sdk; do
      vals=()
      for ((r = 0; r < rounds; ++r)); do
        a=$(instr "$c" "$m" "$n1")
        b=$(instr "$c" "$m" "$n2")
        vals+=($(((b - a) / (n2 - n1))))
      done
      ins[$c,$m]=$(med "${vals[@]}")
      printf '  %-20s %-8s %8d instructions/op  [%d..%d]  %s\n' "${label[$m]}" "$c" "${ins[$c,$m]}" \
        "$(lo "${vals[@]}")" "$(hi "${vals[@]}")" "$placement"
    done
  done
fi

if ((wall_rounds > 0)); then
  echo "# ops/s: N=$wall_n per run, $wall_rounds interleaved rounds (couchkv, SDK, couchkv, ...), median [range]; $(busy)"
  for m in "${modes[@]}"; do
    cv=() sv=()
    for ((r = 0; r < wall_rounds; ++r)); do
      v=$(rate couchkv "$m" "$wall_n") # a plain assignment, so that set -e sees a failed run
      cv+=("$v")
      v=$(rate sdk "$m" "$wall_n")
      sv+=("$v")
    done
    ops[couchkv,$m]=$(med "${cv[@]}")
    ops[sdk,$m]=$(med "${sv[@]}")
    printf '  %-20s couchkv %8.0f ops/s [%.0f..%.0f]   SDK %8.0f ops/s [%.0f..%.0f]  %s\n' "${label[$m]}" \
      "${ops[couchkv,$m]}" "$(lo "${cv[@]}")" "$(hi "${cv[@]}")" "${ops[sdk,$m]}" "$(lo "${sv[@]}")" "$(hi "${sv[@]}")" \
      "$placement"
  done
fi

echo
echo "| client CPU $client_cpus, mock CPU $server_cpus | couchkv instr/op | C++ SDK instr/op | ratio | couchkv ops/s | SDK ops/s | ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
cell() { # printf-format value; "-" when that phase was skipped
  if [ -n "$2" ]; then
    # shellcheck disable=SC2059
    printf "$1" "$2"
  else printf -; fi
}
rcell() { if [ -n "$1" ] && [ -n "$2" ]; then ratio "$1" "$2"; else printf -; fi; }
for m in "${modes[@]}"; do
  echo "| ${label[$m]} | $(cell %d "${ins[couchkv,$m]:-}") | $(cell %d "${ins[sdk,$m]:-}") |" \
    "$(rcell "${ins[couchkv,$m]:-}" "${ins[sdk,$m]:-}") | $(cell %.0f "${ops[couchkv,$m]:-}") |" \
    "$(cell %.0f "${ops[sdk,$m]:-}") | $(rcell "${ops[couchkv,$m]:-}" "${ops[sdk,$m]:-}") |"
done
