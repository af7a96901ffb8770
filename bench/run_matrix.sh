#!/usr/bin/env bash
# Runs bench_matrix (the couchkv facade next to libmemcached and a raw socket: 1 and 2 client
# threads, 1 and 4 connections) against a memcached it starts on CPU 1, in two placements:
#   same CPU (client and server on CPU 1), and split (server on CPU 1, client on CPU 0).
# usage: bench/run_matrix.sh <build-dir> [keys per row]
set -euo pipefail
build=${1:?build dir}
keys=${2:-200000}
source "$(dirname "$0")/free_port.sh"
source "$(dirname "$0")/start_memcached.sh"
echo "# $(date -u +%F) $(nproc) vCPUs, $(uname -r), memcached $memcached_version (-t 1)"
for cpu in 1 0; do
  BENCH_SERVER_CPUS=$server_cpus taskset -c "$cpu" "$build/bench/bench_matrix" "$port" "$keys"
done
