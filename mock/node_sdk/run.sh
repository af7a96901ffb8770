#!/usr/bin/env bash
# Installs the pinned official SDK into a scratch dir (not the repository), starts couchkv-mock,
# runs check.js against it, stops the mock. usage: run.sh <couchkv-mock binary> <work dir> [tls]
# With "tls" the mock gets a generated certificate and the SDK connects with couchbases:// to its
# kvSSL ports, trusting that certificate.
set -euo pipefail
mock=$1
work=$2
mode=${3:-plain}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cp "$here/package.json" "$here/check.js" "$work/"
if [ ! -d "$work/node_modules/couchbase" ]; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
out=$(mktemp)
certs=$(mktemp -d)
args=(--nodes 3 --replicas 1)
ca=
if [ "$mode" = tls ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=couchkv-test \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$certs/key.pem" -out "$certs/cert.pem" >/dev/null 2>&1
  args+=(--tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem")
  ca=$certs/cert.pem
fi
"$mock" "${args[@]}" >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$out" "$certs"' EXIT
if [ "$mode" = tls ]; then
  for _ in $(seq 50); do grep -q '^tls connection string: ' "$out" && break; sleep 0.1; done
  connstr=$(sed -n 's/^tls connection string: //p' "$out")
else
  for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
  connstr=$(head -1 "$out")
fi
[ -n "$connstr" ] || { echo "couchkv-mock did not start:"; cat "$out"; exit 1; }
for _ in $(seq 50); do grep -q '^mgmt ports: ' "$out" && break; sleep 0.1; done
mgmt=$(sed -n 's/^mgmt ports: \([0-9]*\).*/\1/p' "$out")
MOCK_MGMT_PORT=$mgmt timeout 120 node "$work/check.js" "$connstr" $ca
