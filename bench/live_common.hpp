// Shared by the live benchmarks (bench_memcached, bench_matrix, bench_mock_get): the key set,
// latency percentiles, a watchdog that turns a hang into a non-zero exit, and the raw-socket
// baseline (hand-built packets over a blocking socket: the floor any client pays).
#pragma once
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/request.hpp>

#include <arpa/inet.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace couchkv::bench {

using clk = std::chrono::steady_clock;

constexpr int num_keys = 1000;
constexpr std::size_t value_size = 100;
// The benchmark's keys, "bench::0" .. "bench::999", built once: every client reads them from here,
// so no client's figures (instructions above all) carry the harness's number formatting. A client
// whose API takes its keys as owned strings copies them, which is charged to it.
inline const std::string& key_of(int i)
{
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (int j = 0; j < num_keys; ++j) k.push_back("bench::" + std::to_string(j));
    return k;
  }();
  return keys[static_cast<std::size_t>(i % num_keys)];
}

// The CPUs this process may run on ("0,1"), printed as its placement.
inline std::string cpu_list()
{
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "?";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    if (!out.empty()) out += ',';
    out += std::to_string(c);
  }
  return out;
}

// Any thread may fail: flush what was printed and leave at once (no destructors racing the others).
[[noreturn]] inline void fail(const std::string& what)
{
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", what.c_str());
  std::_Exit(1);
}

struct latency {
  std::vector<double> us;
  void add(clk::time_point t0) { us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count()); }
  void merge(const latency& o) { us.insert(us.end(), o.us.begin(), o.us.end()); }
  double pct(double p)
  {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[static_cast<std::size_t>(p * static_cast<double>(us.size() - 1))];
  }
};

// Exits with status 3 and says what hung when not disarmed (destroyed) within `limit`.
class watchdog {
public:
  watchdog(std::chrono::seconds limit, std::string what)
      : thread_([this, limit, what = std::move(what)] {
          std::unique_lock lock(m_);
          if (!cv_.wait_for(lock, limit, [this] { return disarmed_; })) {
            std::fprintf(stderr, "%s: not done within %lld s, giving up\n", what.c_str(),
                         static_cast<long long>(limit.count()));
            std::_Exit(3);
          }
        })
  {
  }
  ~watchdog()
  {
    {
      std::lock_guard lock(m_);
      disarmed_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

private:
  std::mutex m_;
  std::condition_variable cv_;
  bool disarmed_{false};
  std::thread thread_; // last: it reads the members above
};

// ---- raw socket ---------------------------------------------------------------------------------

// A blocking loopback socket with TCP_NODELAY; a peer that stops answering fails recv after 10 s.
inline int raw_connect(int port)
{
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    fail("raw socket: cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

inline void raw_send(int fd, const protocol::byte_buffer& b)
{
  for (std::size_t sent = 0; sent < b.size();) {
    auto n = ::send(fd, b.data() + sent, b.size() - sent, 0);
    if (n <= 0) fail(std::string("raw socket: send failed: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
}

// Reads until `count` complete responses have arrived; each must have status `expect`.
inline void raw_read_responses(int fd, std::vector<std::byte>& buf, int count, std::uint16_t expect = 0)
{
  std::size_t have = 0;
  int done = 0;
  std::size_t start = 0;
  while (done < count) {
    auto r = protocol::decode_packet({buf.data() + start, have - start});
    if (r.state == protocol::decode_state::complete) {
      if (static_cast<std::uint16_t>(r.packet.status()) != expect)
        fail("raw socket: response status 0x" + std::to_string(static_cast<unsigned>(r.packet.status())));
      ++done;
      start += r.consumed;
      continue;
    }
    if (r.state == protocol::decode_state::error) fail("raw socket: undecodable response");
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, have - start);
      have -= start;
      start = 0;
    }
    if (have == buf.size()) buf.resize(buf.size() * 2);
    auto n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n <= 0) fail(n == 0 ? "raw socket: peer closed the connection" : std::string("raw socket: recv: ") + std::strerror(errno));
    have += static_cast<std::size_t>(n);
  }
  if (start != have) fail("raw socket: more bytes than the responses asked for");
}

// The routing a raw GET needs: memcached ignores the vBucket, the mock checks it.
using vbucket_fn = std::uint16_t (*)(std::string_view key);
inline std::uint16_t no_vbucket(std::string_view) { return 0; }

// One GET at a time, each timed.
inline void raw_sequential_get(int fd, int ops, latency& lat, vbucket_fn vb = no_vbucket)
{
  std::vector<std::byte> buf(64 * 1024);
  protocol::byte_buffer req;
  for (int i = 0; i < ops; ++i) {
    req.clear();
    const auto& key = key_of(i);
    protocol::append_get(req, static_cast<std::uint32_t>(i), {.key = key, .vbucket = vb(key)});
    auto t0 = clk::now();
    raw_send(fd, req);
    raw_read_responses(fd, buf, 1);
    lat.add(t0);
  }
}

// Batches of `batch` GETs (one send, then every response read); returns keys/s.
inline double raw_batched_get(int fd, int ops, int batch, vbucket_fn vb = no_vbucket, latency* per_batch = nullptr)
{
  std::vector<std::byte> buf(256 * 1024);
  protocol::byte_buffer req;
  auto t0 = clk::now();
  for (int done = 0; done < ops; done += batch) {
    auto b0 = clk::now();
    req.clear();
    for (int j = 0; j < batch; ++j) {
      const auto& key = key_of(done + j);
      protocol::append_get(req, static_cast<std::uint32_t>(j), {.key = key, .vbucket = vb(key)});
    }
    raw_send(fd, req);
    raw_read_responses(fd, buf, batch);
    if (per_batch) per_batch->add(b0);
  }
  return ops / std::chrono::duration<double>(clk::now() - t0).count();
}

} // namespace couchkv::bench
