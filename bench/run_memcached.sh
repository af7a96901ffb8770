#!/usr/bin/env bash
# Runs bench_memcached against a memcached it starts, in two placements, printing each:
#   same CPU (client and server on CPU 1), and split (server on CPU 1, client on CPU 0).
# usage: bench/run_memcached.sh <build-dir> [seq_ops] [pipe_ops]
set -euo pipefail
build=${1:?build dir}
seq=${2:-20000}
pipe=${3:-400000}
source "$(dirname "$0")/free_port.sh"
source "$(dirname "$0")/start_memcached.sh"
echo "# $(date -u +%F) $(nproc) vCPUs, $(uname -r), memcached $memcached_version"
for placement in "1:same CPU (client 1, server 1)" "0:split (client 0, server 1)"; do
  cpu=${placement%%:*}
  echo "## placement: ${placement#*:}"
  taskset -c "$cpu" "$build/bench/bench_memcached" "$port" "$seq" "$pipe"
done
