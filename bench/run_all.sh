#!/usr/bin/env bash
# Runs every benchmark and rewrites the figures in bench/RESULTS.md: each fenced block that follows
# a marker line `<!-- figures: NAME -->` is replaced by the output of NAME's command below; the
# prose around the blocks stays (re-read it against the new figures). Run on a quiet machine.
# usage: bench/run_all.sh [build-dir]   (a Release build with -DCOUCHKV_BUILD_BENCH=ON; built here)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-rel}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOUCHKV_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target bench_memcached bench_matrix bench_mock_get bench_cold_start bench_endure bench_tokens bench_codec bench_topology couchkv-soak couchkv-cli

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash bench/run_memcached.sh "$build" 20000 400000 >"$out/memcached"
bash bench/run_matrix.sh "$build" 200000 >"$out/matrix"
bash bench/callgrind_memcached.sh "$build" 2000 12000 >"$out/callgrind"
for cpu in 1 0,1; do taskset -c "$cpu" "$build/bench/bench_mock_get" 20000 200000; done >"$out/mockget"
for nodes in 1 3; do taskset -c 1 "$build/bench/bench_cold_start" 20000 "$nodes" 5; done >"$out/coldstart"
taskset -c 1 "$build/bench/bench_endure" 30 >"$out/endure"
taskset -c 1 "$build/bench/bench_tokens" 20000 >"$out/tokens"
{ taskset -c 1 "$build/bench/bench_codec" --benchmark_min_time=0.3 2>/dev/null | grep -E '^(encode|decode)'
  taskset -c 1 "$build/bench/bench_topology" --benchmark_min_time=0.3 2>/dev/null | grep -E '^(route|parse|offer)'; } >"$out/micro"
"$build/bench/couchkv-soak" | sed -n '/^faults injected/,/^result:/p' >"$out/soak"
for t in 1 2; do
  echo "threads $t"
  "$build/tools/couchkv/couchkv" pillowfight --mock --threads "$t" --batch-size 64 --duration 5s --no-progress |
    grep -E 'operations|throughput|latency'
done >"$out/pillowfight"

# Replace the block after each marker with the new figures.
awk -v dir="$out" '
  /^<!-- figures: [a-z]+ -->$/ { name = $3; print; skipping = 0; pending = 1; next }
  pending && /^```/ { print; while ((getline line < (dir "/" name)) > 0) print line; close(dir "/" name);
                      pending = 0; skipping = 1; next }
  skipping && /^```/ { print; skipping = 0; next }
  skipping { next }
  { print }
' bench/RESULTS.md >"$out/RESULTS.md"
mv "$out/RESULTS.md" bench/RESULTS.md
sed -i "s/^Last run: .*/Last run: $(date -u +%F), $(nproc) vCPUs, $(uname -r), by bench\/run_all.sh./" bench/RESULTS.md
echo "bench/RESULTS.md rewritten; read its prose against the new figures."
