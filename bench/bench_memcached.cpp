// Live benchmark against a memcached server already running on 127.0.0.1:PORT (run_memcached.sh
// starts it pinned and prints the placement). Three clients in the same run, same workload,
// 100-byte values:
//   raw      : hand-built GET packets over a blocking socket (the floor any client pays)
//   couchkv  : io::kv_connection on one io_context thread
//   libmemcached : memcached_get / memcached_mget (binary protocol)
// Prints sequential GET latency (p50/p99) and pipelined/multi-get throughput, with ratios.
#include <couchkv/io/kv_connection.hpp>
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/request.hpp>

#include <boost/asio/io_context.hpp>

#include <libmemcached/memcached.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace couchkv;
using clk = std::chrono::steady_clock;

namespace {

constexpr int num_keys = 1000;
std::string key_of(int i) { return "bench::" + std::to_string(i); }

struct latency {
  std::vector<double> us;
  double pct(double p)
  {
    std::sort(us.begin(), us.end());
    return us[static_cast<std::size_t>(p * static_cast<double>(us.size() - 1))];
  }
};

// ---- raw socket -------------------------------------------------------------------------------
int raw_connect(int port)
{
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads until `count` complete responses have arrived; returns false on error.
bool raw_read_responses(int fd, std::vector<std::byte>& buf, int count)
{
  std::size_t have = 0;
  int done = 0;
  std::size_t start = 0;
  while (done < count) {
    auto r = protocol::decode_packet({buf.data() + start, have - start});
    if (r.state == protocol::decode_state::complete) {
      ++done;
      start += r.consumed;
      continue;
    }
    if (r.state == protocol::decode_state::error) return false;
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, have - start);
      have -= start;
      start = 0;
    }
    if (have == buf.size()) buf.resize(buf.size() * 2);
    auto n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n <= 0) return false;
    have += static_cast<std::size_t>(n);
  }
  return true;
}

void raw_sequential(int port, int ops, latency& lat)
{
  int fd = raw_connect(port);
  std::vector<std::byte> buf(64 * 1024);
  protocol::byte_buffer req;
  for (int i = 0; i < ops; ++i) {
    req.clear();
    protocol::append_get(req, static_cast<std::uint32_t>(i), {.key = key_of(i % num_keys)});
    auto t0 = clk::now();
    ::send(fd, req.data(), req.size(), 0);
    raw_read_responses(fd, buf, 1);
    lat.us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
  }
  ::close(fd);
}

double raw_pipelined(int port, int ops, int batch)
{
  int fd = raw_connect(port);
  std::vector<std::byte> buf(256 * 1024);
  protocol::byte_buffer req;
  auto t0 = clk::now();
  for (int done = 0; done < ops; done += batch) {
    req.clear();
    for (int j = 0; j < batch; ++j) protocol::append_get(req, static_cast<std::uint32_t>(j), {.key = key_of((done + j) % num_keys)});
    ::send(fd, req.data(), req.size(), 0);
    raw_read_responses(fd, buf, batch);
  }
  double s = std::chrono::duration<double>(clk::now() - t0).count();
  ::close(fd);
  return ops / s;
}

// ---- couchkv ----------------------------------------------------------------------------------
struct couchkv_client {
  // One thread runs it (like libmemcached, a single-threaded client): tell Asio, so it skips
  // the wake-ups a multi-threaded pool needs.
  boost::asio::io_context io{1};
  std::shared_ptr<io::kv_connection> conn;
  explicit couchkv_client(int port)
  {
    io::connection_settings s;
    s.port = static_cast<std::uint16_t>(port);
    s.bootstrap.hello = false;
    conn = io::kv_connection::create(io.get_executor(), s);
    std::error_code ec;
    bool connected = false;
    conn->async_connect([&](std::error_code e) {
      ec = e;
      connected = true;
    });
    // The connection always has a read pending, so io.run() would never return: run until done.
    while (!connected) io.run_one();
    if (ec) {
      std::fprintf(stderr, "couchkv connect: %s\n", ec.message().c_str());
      std::exit(1);
    }
  }
  io::kv_request get(int i)
  {
    protocol::byte_buffer b;
    protocol::append_get(b, 0, {.key = key_of(i % num_keys)});
    return {std::move(b), io::clock::time_point::max()};
  }
};

void couchkv_sequential(couchkv_client& c, int ops, latency& lat)
{
  int i = 0;
  clk::time_point t0;
  std::function<void()> next = [&] {
    if (i == ops) return;
    t0 = clk::now();
    c.conn->async_execute(c.get(i), [&](std::error_code ec, io::kv_response) {
      if (ec) std::exit(3);
      lat.us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
      ++i;
      next();
    });
  };
  next();
  while (i < ops) c.io.run_one();
}

double couchkv_pipelined(couchkv_client& c, int ops, int window)
{
  int issued = 0, completed = 0;
  std::function<void()> issue = [&] {
    c.conn->async_execute(c.get(issued++), [&](std::error_code ec, io::kv_response) {
      if (ec) std::exit(3);
      ++completed;
      if (issued < ops) issue();
    });
  };
  auto t0 = clk::now();
  for (int j = 0; j < window && issued < ops; ++j) issue();
  while (completed < ops) c.io.run_one();
  return completed / std::chrono::duration<double>(clk::now() - t0).count();
}

// ---- libmemcached -------------------------------------------------------------------------------
memcached_st* lmc_connect(int port)
{
  memcached_st* m = memcached_create(nullptr);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_server_add(m, "127.0.0.1", static_cast<in_port_t>(port));
  return m;
}

void lmc_sequential(int port, int ops, latency& lat)
{
  auto* m = lmc_connect(port);
  for (int i = 0; i < ops; ++i) {
    auto k = key_of(i % num_keys);
    std::size_t len = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc;
    auto t0 = clk::now();
    char* v = memcached_get(m, k.data(), k.size(), &len, &flags, &rc);
    lat.us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    if (rc != MEMCACHED_SUCCESS) std::exit(4);
    std::free(v);
  }
  memcached_free(m);
}

double lmc_mget(int port, int ops, int batch)
{
  auto* m = lmc_connect(port);
  std::vector<std::string> keys;
  auto t0 = clk::now();
  int got = 0;
  for (int done = 0; done < ops; done += batch) {
    std::vector<const char*> kp;
    std::vector<std::size_t> kl;
    keys.clear();
    for (int j = 0; j < batch; ++j) keys.push_back(key_of((done + j) % num_keys));
    for (auto& k : keys) {
      kp.push_back(k.data());
      kl.push_back(k.size());
    }
    memcached_mget(m, kp.data(), kl.data(), kp.size());
    memcached_return_t rc;
    while (memcached_result_st* r = memcached_fetch_result(m, nullptr, &rc)) {
      ++got;
      memcached_result_free(r);
    }
  }
  double s = std::chrono::duration<double>(clk::now() - t0).count();
  memcached_free(m);
  return got / s;
}

void preload(int port)
{
  auto* m = lmc_connect(port);
  std::string value(100, 'v');
  for (int i = 0; i < num_keys; ++i) {
    auto k = key_of(i);
    memcached_set(m, k.data(), k.size(), value.data(), value.size(), 0, 0);
  }
  memcached_free(m);
}

} // namespace

// `bench_memcached PORT --only <client> OPS`: one client, one workload, nothing else — for
// valgrind --tool=callgrind (bench/callgrind_memcached.sh derives instructions per operation from
// two op counts, so set-up cost cancels out). Clients: raw-seq, couchkv-seq, lmc-seq, raw-pipe,
// couchkv-pipe, lmc-mget.
int only(int port, const std::string& which, int ops)
{
  latency l;
  if (which == "preload") preload(port);
  else if (which == "raw-seq") raw_sequential(port, ops, l);
  else if (which == "lmc-seq") lmc_sequential(port, ops, l);
  else if (which == "raw-pipe") raw_pipelined(port, ops, 100);
  else if (which == "lmc-mget") lmc_mget(port, ops, 100);
  else if (which == "couchkv-seq" || which == "couchkv-pipe") {
    couchkv_client ck(port);
    if (which == "couchkv-seq") couchkv_sequential(ck, ops, l);
    else couchkv_pipelined(ck, ops, 100);
  } else {
    std::fprintf(stderr, "unknown client %s\n", which.c_str());
    return 2;
  }
  return 0;
}

int main(int argc, char** argv)
{
  if (argc == 5 && std::string(argv[2]) == "--only") return only(std::atoi(argv[1]), argv[3], std::atoi(argv[4]));
  int port = argc > 1 ? std::atoi(argv[1]) : 11211;
  int seq_ops = argc > 2 ? std::atoi(argv[2]) : 20000;
  int pipe_ops = argc > 3 ? std::atoi(argv[3]) : 400000;
  preload(port);
  couchkv_client ck(port);
  // Warm up every path once.
  { latency l; raw_sequential(port, 500, l); couchkv_sequential(ck, 500, l); lmc_sequential(port, 500, l); }

  latency raw_l, ck_l, lmc_l;
  raw_sequential(port, seq_ops, raw_l);
  couchkv_sequential(ck, seq_ops, ck_l);
  lmc_sequential(port, seq_ops, lmc_l);
  std::printf("sequential GET latency, %d ops, 100-byte values (microseconds)\n", seq_ops);
  std::printf("  %-13s p50 %7.2f  p99 %7.2f\n", "raw socket", raw_l.pct(0.5), raw_l.pct(0.99));
  std::printf("  %-13s p50 %7.2f  p99 %7.2f   p50 ratio to raw %.2f\n", "couchkv", ck_l.pct(0.5), ck_l.pct(0.99),
              ck_l.pct(0.5) / raw_l.pct(0.5));
  std::printf("  %-13s p50 %7.2f  p99 %7.2f   p50 ratio to raw %.2f\n", "libmemcached", lmc_l.pct(0.5), lmc_l.pct(0.99),
              lmc_l.pct(0.5) / raw_l.pct(0.5));

  double raw_t = raw_pipelined(port, pipe_ops, 100);
  double ck_t = couchkv_pipelined(ck, pipe_ops, 100);
  double lmc_t = lmc_mget(port, pipe_ops, 100);
  std::printf("pipelined GET throughput, %d ops, 100 in flight / multi-get of 100 (ops/s)\n", pipe_ops);
  std::printf("  %-13s %10.0f\n", "raw socket", raw_t);
  std::printf("  %-13s %10.0f   ratio to raw %.2f, to libmemcached %.2f\n", "couchkv", ck_t, ck_t / raw_t, ck_t / lmc_t);
  std::printf("  %-13s %10.0f   ratio to raw %.2f\n", "libmemcached", lmc_t, lmc_t / raw_t);
  return 0;
}
