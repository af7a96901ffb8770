// Live benchmark against a memcached server already running on 127.0.0.1:PORT (run_memcached.sh
// starts it pinned and prints the placement). Three clients in the same run, same workload,
// 100-byte values:
//   raw      : hand-built GET packets over a blocking socket (the floor any client pays)
//   couchkv  : io::kv_connection on one io_context thread (async_execute per GET; and its multi-get
//              entry, execute_batch)
//   libmemcached : memcached_get / memcached_mget (binary protocol)
// Prints sequential GET latency (p50/p99) and pipelined/multi-get throughput in interleaved rounds,
// with ratios.
// usage: bench_memcached PORT [seq_ops] [pipe_ops] [rounds]
// The facade (couchkv::cluster / async_bucket) is measured by bench_matrix.
#include "lmc_peer.hpp"

#include <couchkv/io/kv_connection.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <functional>

using namespace couchkv;
using namespace couchkv::bench;

namespace {

// ---- raw socket -------------------------------------------------------------------------------
void raw_sequential(int port, int ops, latency& lat)
{
  int fd = raw_connect(port);
  raw_sequential_get(fd, ops, lat);
  ::close(fd);
}

double raw_pipelined(int port, int ops, int batch)
{
  int fd = raw_connect(port);
  double r = raw_batched_get(fd, ops, batch);
  ::close(fd);
  return r;
}

// One SET at a time (the value is the preload's).
void raw_sequential_set(int port, int ops)
{
  int fd = raw_connect(port);
  std::vector<std::byte> buf(64 * 1024);
  protocol::byte_buffer req;
  std::string value(value_size, 'v');
  for (int i = 0; i < ops; ++i) {
    req.clear();
    protocol::append_store(req, protocol::opcode::set, static_cast<std::uint32_t>(i), {.key = key_of(i)},
                           {.value = protocol::as_bytes(value)});
    raw_send(fd, req);
    raw_read_responses(fd, buf, 1);
  }
  ::close(fd);
}

// ---- Asio's floor ------------------------------------------------------------------------------
// What a client on Asio's event loop pays per GET one at a time with nothing of couchkv above the
// codec: a socket on an io_context declared single-threaded (as couchkv's row below), the request
// built by append_get in one reused buffer and written with a non-blocking write_some (as
// kv_connection does), the answer read with async_read_some and its length taken from its
// header. No opaque table, deadline, cancellation or type-erased handler: a lower bound for any
// asynchronous client on Asio, not a usable one (for callgrind_memcached.sh, row asio-seq).
void asio_sequential(int port, int ops)
{
  namespace asio = boost::asio;
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)});
  socket.set_option(asio::ip::tcp::no_delay(true));
  socket.non_blocking(true);
  struct loop {
    asio::ip::tcp::socket& s;
    int ops;
    int i{0};
    protocol::byte_buffer req{};
    std::vector<std::byte> buf = std::vector<std::byte>(64 * 1024);
    std::size_t have{0};
    void send()
    {
      req.clear();
      protocol::append_get(req, 0, {.key = key_of(i)});
      for (std::size_t sent = 0; sent < req.size();) { // a GET fits in the send buffer: one call
        boost::system::error_code ec;
        sent += s.write_some(asio::buffer(req) + sent, ec);
        if (ec && ec != asio::error::would_block) fail("asio floor: write: " + ec.message());
      }
      read();
    }
    void read()
    {
      s.async_read_some(asio::buffer(buf.data() + have, buf.size() - have), [this](boost::system::error_code ec, std::size_t n) {
        if (ec) fail("asio floor: read: " + ec.message());
        have += n;
        auto r = protocol::decode_packet({buf.data(), have});
        if (r.state == protocol::decode_state::error) fail("asio floor: undecodable answer");
        if (r.state == protocol::decode_state::need_more) return read();
        if (r.packet.status() != protocol::status::success) fail("asio floor: a GET failed");
        have = 0; // one answer per request, nothing behind it
        if (++i < ops) send();
      });
    }
  } l{socket, ops};
  l.send();
  io.run();
}

// ---- couchkv ----------------------------------------------------------------------------------
struct couchkv_client {
  // One thread runs it and nothing is posted to it from elsewhere (like libmemcached, a
  // single-threaded client): tell Asio, so it takes no locks (BOOST_ASIO_CONCURRENCY_HINT_1 would
  // still lock). The connection is made to an address, which needs no resolver thread.
  boost::asio::io_context io{std::getenv("HINT1") ? 1 : BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  // Runs the loop as an application would (run(), not run_one() per event) until a handler stops it.
  void run_until_stopped()
  {
    io.restart();
    io.run();
  }
  std::shared_ptr<io::kv_connection> conn;
  std::string value = std::string(value_size, 'v');
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
    if (ec) fail("couchkv connect: " + ec.message());
  }
  io::kv_request get(int i)
  {
    auto b = io::request_buffer(); // recycled by the connection: no allocation per request
    protocol::append_get(b, 0, {.key = key_of(i)});
    return {std::move(b), io::clock::time_point::max()};
  }
  io::kv_request set(int i)
  {
    auto b = io::request_buffer(); // recycled by the connection: no allocation per request
    protocol::append_store(b, protocol::opcode::set, 0, {.key = key_of(i)}, {.value = protocol::as_bytes(value)});
    return {std::move(b), io::clock::time_point::max()};
  }
};

void couchkv_sequential(couchkv_client& c, int ops, latency& lat, bool set = false)
{
  int i = 0;
  clk::time_point t0;
  std::function<void()> next = [&] {
    if (i == ops) return;
    t0 = clk::now();
    c.conn->async_execute(set ? c.set(i) : c.get(i), [&](std::error_code ec, io::kv_response) {
      if (ec) fail("couchkv: " + ec.message());
      lat.add(t0);
      if (++i == ops) return c.io.stop();
      next();
    });
  };
  next();
  c.run_until_stopped();
}

double couchkv_pipelined(couchkv_client& c, int ops, int window)
{
  int issued = 0, completed = 0;
  std::function<void()> issue = [&] {
    c.conn->async_execute(c.get(issued++), [&](std::error_code ec, io::kv_response) {
      if (ec) fail("couchkv: " + ec.message());
      if (++completed == ops) return c.io.stop();
      if (issued < ops) issue();
    });
  };
  auto t0 = clk::now();
  for (int j = 0; j < window && issued < ops; ++j) issue();
  c.run_until_stopped();
  return completed / std::chrono::duration<double>(clk::now() - t0).count();
}

// The peers' pattern: batches of `batch` GETs, the next issued when the last answer of this one
// has arrived (from that answer's handler, inside the connection's read loop, so the whole batch
// leaves in one write). The sliding window above refills as answers trickle in instead, which on
// one CPU splits the 100 into several smaller writes and reads (more system calls per GET on both
// sides); this row separates that effect from the client's own cost.
double couchkv_batched(couchkv_client& c, int ops, int batch)
{
  int issued = 0, completed = 0, left = 0;
  std::function<void()> issue_batch = [&] {
    left = std::min(batch, ops - issued);
    for (int j = 0, n = left; j < n; ++j) {
      c.conn->async_execute(c.get(issued++), [&](std::error_code ec, io::kv_response) {
        if (ec) fail("couchkv: " + ec.message());
        if (++completed == ops) return c.io.stop();
        if (--left == 0) issue_batch();
      });
    }
  };
  auto t0 = clk::now();
  issue_batch();
  c.run_until_stopped();
  return completed / std::chrono::duration<double>(clk::now() - t0).count();
}

// The io layer's multi-get entry, kv_connection::execute_batch (what async_bucket::get_multi runs
// on): each batch of `batch` GETs built in one buffer, its answers told to one sink, no handler,
// executor or allocation per GET; the next batch is issued from the sink's last answer.
double couchkv_multi_get(couchkv_client& c, int ops, int batch)
{
  struct sink final : io::batch_sink {
    couchkv_client* client{};
    int ops{0}, batch{0}, issued{0}, completed{0}, left{0};
    std::size_t value_bytes{0};
    protocol::byte_buffer b;
    void issue()
    {
      const int n = std::min(batch, ops - issued);
      b.clear(); // the connection copied the last batch: this buffer is ours again
      for (int j = 0; j < n; ++j) protocol::append_plain_get(b, key_of(issued + j), 0);
      issued += n;
      left = n;
      if (auto ec = client->conn->execute_batch(b, static_cast<std::size_t>(n), io::clock::time_point::max(), *this)) {
        fail("couchkv execute_batch: " + ec.message());
      }
    }
    void on_response(std::size_t, const protocol::packet_view& p) override
    {
      if (p.status() != protocol::status::success) fail("couchkv execute_batch: a GET failed");
      value_bytes += p.value.size();
      ++completed;
      if (--left > 0) return;
      if (completed == ops) client->io.stop();
      else issue();
    }
    void on_error(std::size_t, std::error_code ec) override { fail("couchkv execute_batch: " + ec.message()); }
  } s;
  s.client = &c;
  s.ops = ops;
  s.batch = batch;
  auto t0 = clk::now();
  boost::asio::post(c.io, [&s] { s.issue(); }); // execute_batch runs on the connection's executor
  c.run_until_stopped();
  const double rate = s.completed / std::chrono::duration<double>(clk::now() - t0).count();
  if (s.value_bytes != static_cast<std::size_t>(ops) * value_size) fail("couchkv execute_batch: value sizes");
  return rate;
}

// ---- libmemcached -------------------------------------------------------------------------------
void lmc_sequential(int port, int ops, latency& lat)
{
  auto* m = lmc_connect(port);
  for (int i = 0; i < ops; ++i) {
    const auto& k = key_of(i);
    std::size_t len = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc;
    auto t0 = clk::now();
    char* v = memcached_get(m, k.data(), k.size(), &len, &flags, &rc);
    lat.add(t0);
    lmc_check(m, rc, "get");
    std::free(v);
  }
  memcached_free(m);
}

double lmc_mget(int port, int ops, int batch)
{
  auto* m = lmc_connect(port);
  lmc_keys keys;
  auto t0 = clk::now();
  int got = 0;
  for (int done = 0; done < ops; done += batch) {
    lmc_mget_send(m, done, batch, keys);
    got += lmc_mget_fetch(m);
  }
  double s = std::chrono::duration<double>(clk::now() - t0).count();
  memcached_free(m);
  if (got != ops) fail("libmemcached mget: " + std::to_string(got) + " of " + std::to_string(ops) + " keys came back");
  return got / s;
}

} // namespace

// `bench_memcached PORT --only <client> OPS`: one client, one workload, nothing else — for
// valgrind --tool=callgrind (bench/callgrind_memcached.sh derives instructions per operation from
// two op counts, so set-up cost cancels out). Clients: raw-seq, asio-seq (Asio's floor), couchkv-seq,
// lmc-seq, raw-pipe,
// couchkv-pipe (window of 100), couchkv-batch (batches of 100), couchkv-mget (execute_batch of 100),
// lmc-mget (GET); raw-set,
// couchkv-set, lmc-set (SET, one at a time).
int only(int port, const std::string& which, int ops)
{
  latency l;
  if (which == "preload") preload(port);
  else if (which == "raw-seq") raw_sequential(port, ops, l);
  else if (which == "asio-seq") asio_sequential(port, ops);
  else if (which == "lmc-seq") lmc_sequential(port, ops, l);
  else if (which == "raw-pipe") raw_pipelined(port, ops, 100);
  else if (which == "lmc-mget") lmc_mget(port, ops, 100);
  else if (which == "raw-set") raw_sequential_set(port, ops);
  else if (which == "lmc-set") lmc_sequential_set(port, ops);
  else if (which == "couchkv-seq" || which == "couchkv-pipe" || which == "couchkv-batch" || which == "couchkv-mget" ||
           which == "couchkv-set") {
    couchkv_client ck(port);
    if (which == "couchkv-seq") couchkv_sequential(ck, ops, l);
    else if (which == "couchkv-set") couchkv_sequential(ck, ops, l, true);
    else if (which == "couchkv-batch") couchkv_batched(ck, ops, 100);
    else if (which == "couchkv-mget") couchkv_multi_get(ck, ops, 100);
    else couchkv_pipelined(ck, ops, 100);
  } else {
    std::fprintf(stderr, "unknown client %s\n", which.c_str());
    return 2;
  }
  return 0;
}

int main(int argc, char** argv)
{
  watchdog guard(std::chrono::seconds(600), "bench_memcached");
  if (argc == 5 && std::string(argv[2]) == "--only") return only(std::atoi(argv[1]), argv[3], std::atoi(argv[4]));
  int port = argc > 1 ? std::atoi(argv[1]) : 11211;
  int seq_ops = argc > 2 ? std::atoi(argv[2]) : 20000;
  int pipe_ops = argc > 3 ? std::atoi(argv[3]) : 400000;
  int rounds = std::max(argc > 4 ? std::atoi(argv[4]) : 5, 1);
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

  // Throughput in interleaved rounds: every client runs once per round (the order reversed every
  // other round), and each ratio is taken within its round. Drift in the machine's speed (other
  // tenants of the host, frequency) then moves numerator and denominator together; the figures
  // are medians over the rounds, with the range of the ratios.
  struct row {
    std::vector<double> rate, to_raw, to_lmc;
    std::uint64_t writes{0};
  };
  row raw_r, ck_r, ckb_r, ckm_r, lmc_r;
  const int per_round = std::max(pipe_ops / rounds, 100);
  auto flushes = [&] { return ck.conn->stats().flushes; };
  for (int r = 0; r < rounds; ++r) {
    double raw_t = 0, ck_t = 0, ckb_t = 0, ckm_t = 0, lmc_t = 0;
    auto run_raw = [&] { raw_t = raw_pipelined(port, per_round, 100); };
    // Socket writes per 100 GETs: how the window and the batches leave (kv_connection's counter).
    auto run_ck = [&] {
      auto f = flushes();
      ck_t = couchkv_pipelined(ck, per_round, 100);
      ck_r.writes += flushes() - f;
    };
    auto run_ckb = [&] {
      auto f = flushes();
      ckb_t = couchkv_batched(ck, per_round, 100);
      ckb_r.writes += flushes() - f;
    };
    auto run_ckm = [&] {
      auto f = flushes();
      ckm_t = couchkv_multi_get(ck, per_round, 100);
      ckm_r.writes += flushes() - f;
    };
    auto run_lmc = [&] { lmc_t = lmc_mget(port, per_round, 100); };
    if (r % 2 == 0) { run_raw(); run_ck(); run_ckb(); run_ckm(); run_lmc(); }
    else { run_lmc(); run_ckm(); run_ckb(); run_ck(); run_raw(); }
    raw_r.rate.push_back(raw_t);
    for (auto [rw, t] : {std::pair{&ck_r, ck_t}, std::pair{&ckb_r, ckb_t}, std::pair{&ckm_r, ckm_t},
                          std::pair{&lmc_r, lmc_t}}) {
      rw->rate.push_back(t);
      rw->to_raw.push_back(t / raw_t);
      rw->to_lmc.push_back(t / lmc_t);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  auto range = [](const std::vector<double>& v) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    char b[32];
    std::snprintf(b, sizeof b, "%.2f-%.2f", *lo, *hi);
    return std::string(b);
  };
  auto per_100 = [&](std::uint64_t writes) { return 100.0 * static_cast<double>(writes) / (per_round * rounds); };
  std::printf("pipelined GET throughput, %d rounds of %d ops, 100 in flight / multi-get of 100 (ops/s, ratios "
              "per round: median [range])\n",
              rounds, per_round);
  std::printf("  %-17s %10.0f   batches of 100\n", "raw socket", median(raw_r.rate));
  std::printf("  %-17s %10.0f   ratio to raw %.2f [%s], to libmemcached %.2f   window of 100, %.1f writes per 100\n",
              "couchkv", median(ck_r.rate), median(ck_r.to_raw), range(ck_r.to_raw).c_str(), median(ck_r.to_lmc),
              per_100(ck_r.writes));
  std::printf("  %-17s %10.0f   ratio to raw %.2f [%s], to libmemcached %.2f   batches of 100, %.1f writes per 100\n",
              "couchkv batched", median(ckb_r.rate), median(ckb_r.to_raw), range(ckb_r.to_raw).c_str(),
              median(ckb_r.to_lmc), per_100(ckb_r.writes));
  std::printf("  %-17s %10.0f   ratio to raw %.2f [%s], to libmemcached %.2f   execute_batch of 100, %.1f writes per 100\n",
              "couchkv multi-get", median(ckm_r.rate), median(ckm_r.to_raw), range(ckm_r.to_raw).c_str(),
              median(ckm_r.to_lmc), per_100(ckm_r.writes));
  std::printf("  %-17s %10.0f   ratio to raw %.2f [%s]   multi-get of 100\n", "libmemcached", median(lmc_r.rate),
              median(lmc_r.to_raw), range(lmc_r.to_raw).c_str());
  return 0;
}
