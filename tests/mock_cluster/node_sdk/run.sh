#!/usr/bin/env bash
# Installs the pinned official SDK into a scratch dir (not the repository), starts couchkv-mock,
# runs check.js against it, stops the mock. usage: run.sh <couchkv-mock binary> <work dir>
set -euo pipefail
mock=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cp "$here/package.json" "$here/check.js" "$work/"
if [ ! -d "$work/node_modules/couchbase" ]; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
out=$(mktemp)
"$mock" --nodes 3 --replicas 1 >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
connstr=$(head -1 "$out")
timeout 120 node "$work/check.js" "$connstr"
