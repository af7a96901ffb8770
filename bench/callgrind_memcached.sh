#!/usr/bin/env bash
# Client-side instructions per GET (valgrind --tool=callgrind, user space of the client process
# only) for couchkv, libmemcached and the raw-socket floor, against a memcached it starts.
# Each client runs twice (N1 and N2 operations); per-op = (I(N2) - I(N1)) / (N2 - N1), so the
# start-up and connection set-up cancel out.
# usage: bench/callgrind_memcached.sh <build-dir> [n1] [n2]
set -euo pipefail
build=${1:?build dir}
n1=${2:-2000}
n2=${3:-12000}
bin="$build/bench/bench_memcached"
source "$(dirname "$0")/free_port.sh"
user=(); [ "$(id -u)" = 0 ] && user=(-u root)
memcached -l 127.0.0.1 -p "$port" -U 0 -t 1 "${user[@]}" &
server=$!
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 0.3
"$bin" "$port" --only preload 0 # the keys every client reads
instr() { # client ops -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$bin" "$port" --only "$1" "$2" >/dev/null 2>"$tmp/err" || {
    cat "$tmp/err" >&2
    exit 1
  }
  grep -E '^(summary|totals):' "$tmp/cg.out" | head -1 | awk '{print $2}'
}
echo "# $(date -u +%F) client-side instructions per GET (callgrind), N1=$n1 N2=$n2, memcached $(memcached -V | awk '{print $2}')"
declare -A per
for c in raw-seq couchkv-seq lmc-seq raw-pipe couchkv-pipe lmc-mget; do
  a=$(instr "$c" "$n1")
  b=$(instr "$c" "$n2")
  per[$c]=$(( (b - a) / (n2 - n1) ))
  printf '  %-13s %8d instructions/op\n' "$c" "${per[$c]}"
done
awk -v a="${per[couchkv-seq]}" -v b="${per[lmc-seq]}" -v c="${per[couchkv-pipe]}" -v d="${per[lmc-mget]}" \
  'BEGIN { printf "ratios: sequential couchkv/libmemcached %.2f, pipelined couchkv/libmemcached-mget %.2f\n", a / b, c / d }'
