# Sourced by the bench scripts after free_port.sh: starts Debian's memcached on 127.0.0.1:$port
# (one worker thread, pinned to CPUs $server_cpus, default 1), waits until it accepts connections
# (5 s at most) and defines stop_memcached; the trap stops it on exit unless the caller sets its own.
server_cpus=${server_cpus:-1}
user=(); [ "$(id -u)" = 0 ] && user=(-u root)
taskset -c "$server_cpus" memcached -l 127.0.0.1 -p "$port" -U 0 -t 1 "${user[@]}" &
server=$!
stop_memcached() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
trap stop_memcached EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "memcached did not start on port $port" >&2; exit 1; }
memcached_version=$(memcached -V | awk '{print $2}')
