# Sourced by the bench scripts: sets $port to a free loopback port, with bash alone (no python3 on a
# fresh Debian): /dev/tcp fails to connect where nobody listens.
port=0
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ "$port" != 0 ] || { echo "no free port found" >&2; exit 1; }
