// The couchkv side of the live facade benchmarks (bench_matrix against memcached, bench_mock_get
// against the mock cluster): a bucket opened through couchkv::cluster, loaded from T threads.
//
// The io_context has no thread of its own: open/close run it on the calling thread, and a load
// runs it on its T threads. Each of those threads first issues its own operations into the
// bucket (from outside the library, as an application thread does), then runs the io_context; the
// completions, which re-issue, run on the bucket's executor on whichever of the T threads is free.
#pragma once
#include "live_common.hpp"

#include <couchkv/cluster.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace couchkv::bench {

class facade_client {
public:
  // single_threaded (cluster_options): only with threads == 1, the bucket runs without a strand.
  facade_client(const std::string& connection_string, credentials creds, int threads, bool single_threaded = false)
      : io_(threads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
        cluster_(io_.get_executor(), connection_string, std::move(creds),
                 cluster_options{.single_threaded = single_threaded && threads == 1})
  {
    bucket_ = wait(cluster_.open_bucket(), "couchkv open_bucket(" + connection_string + ")");
  }
  ~facade_client()
  {
    // Closing cancels every read; the io_context then runs out of work and returns.
    bucket_.close();
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
    if (!io_.stopped()) std::fprintf(stderr, "warning: the io_context still had work 5 s after bucket.close()\n");
  }
  facade_client(const facade_client&) = delete;
  facade_client& operator=(const facade_client&) = delete;

  async_bucket& bucket() { return bucket_; }

  // Runs the io_context on this thread until `f` is ready (10 s at most).
  template <class T>
  T wait(std::future<T> f, const std::string& what)
  {
    auto deadline = clk::now() + std::chrono::seconds(10);
    io_.restart();
    while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (clk::now() > deadline) fail(what + ": no answer within 10 s");
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    try {
      return f.get();
    } catch (const std::system_error& e) {
      fail(what + ": " + e.what() + (cluster_.last_error_detail().empty() ? "" : " (" + cluster_.last_error_detail() + ")"));
    }
  }

  // Runs the io_context on a thread of its own while `f` runs here (a future-waiting caller).
  template <class F>
  void run_beside(F f)
  {
    io_.restart();
    auto guard = asio::make_work_guard(io_);
    std::thread t([this] { io_.run(); });
    f();
    guard.reset();
    io_.stop();
    t.join();
  }

  // Runs start(t, done) then the io_context on each of `threads` threads, until every load has
  // called done(); returns the wall time in seconds.
  template <class Start>
  double run_threads(int threads, Start start)
  {
    watchdog dog(std::chrono::seconds(300), "couchkv facade load");
    io_.restart();
    std::atomic<int> finished{0};
    auto done = [&] {
      if (finished.fetch_add(1) + 1 == threads) io_.stop();
    };
    std::vector<std::thread> ts;
    auto t0 = clk::now();
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] {
      start(t, done);
      io_.run();
    });
    for (auto& t : ts) t.join();
    return std::chrono::duration<double>(clk::now() - t0).count();
  }

private:
  boost::asio::io_context io_;
  cluster cluster_;
  async_bucket bucket_;
};

enum class facade_op { get, upsert };

// A sliding window: `in_flight` operations outstanding, each completion issues the next, until
// `quota` have completed; then on_done(). With `lat`, every operation is timed (on the bucket's
// executor, so one window's completions never run concurrently).
struct facade_window : std::enable_shared_from_this<facade_window> {
  async_bucket* bucket{};
  facade_op op{facade_op::get};
  int quota{0};
  int first_key{0};
  latency* lat{};
  std::function<void()> on_done;
  document_value value{binary(std::string(value_size, 'v'))};
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};

  void start(int in_flight)
  {
    for (int j = 0; j < in_flight; ++j) issue();
  }
  void issue()
  {
    int i = issued.fetch_add(1);
    if (i >= quota) return;
    auto t0 = lat ? clk::now() : clk::time_point{};
    auto cb = [self = shared_from_this(), t0](std::error_code ec, auto&&) {
      if (ec) fail(std::string("couchkv ") + (self->op == facade_op::get ? "get" : "upsert") + ": " + ec.message());
      if (self->lat) self->lat->add(t0);
      if (self->completed.fetch_add(1) + 1 == self->quota) self->on_done();
      else self->issue();
    };
    if (op == facade_op::get) bucket->get(key_of(first_key + i), {}, std::move(cb));
    else bucket->upsert(key_of(first_key + i), value, {}, std::move(cb));
  }
};

// Multi-gets of `batch` consecutive keys, one batch at a time, `batches` of them, each timed.
struct facade_multi_get : std::enable_shared_from_this<facade_multi_get> {
  async_bucket* bucket{};
  int batch{100};
  int batches{0};
  int first_key{0};
  latency lat;
  std::function<void()> on_done;
  int sent{0};

  void issue()
  {
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(batch));
    for (int j = 0; j < batch; ++j) keys.push_back(key_of(first_key + sent * batch + j));
    ++sent;
    auto t0 = clk::now();
    bucket->get_multi(std::move(keys), {}, [self = shared_from_this(), t0](std::error_code ec, multi_result<get_result> r) {
      if (ec) fail("couchkv get_multi: " + ec.message());
      for (auto& [k, o] : r)
        if (!o) fail("couchkv get_multi: " + k + ": " + o.ec.message());
      if (static_cast<int>(r.size()) != self->batch) fail("couchkv get_multi: keys missing from the result");
      self->lat.add(t0);
      if (self->sent == self->batches) self->on_done();
      else self->issue();
    });
  }
};

// The same batches through get_multi_each: each key's answer as views, nothing kept per key.
struct facade_multi_get_each : std::enable_shared_from_this<facade_multi_get_each> {
  async_bucket* bucket{};
  int batch{100};
  int batches{0};
  int first_key{0};
  bool borrowed{false}; // the borrowed_keys form: views of key_of's table, nothing copied
  std::function<void()> on_done;
  int sent{0};
  std::size_t value_bytes{0}; // read from every view, so the values are really looked at
  std::vector<std::string_view> views; // the batch in flight's keys (borrowed form)

  void issue()
  {
    auto on_each = [self = shared_from_this()](std::error_code ec, const get_view& v) {
      if (ec) fail("couchkv get_multi_each: " + std::string(v.key) + ": " + ec.message());
      self->value_bytes += v.value.size();
    };
    auto on_batch = [self = shared_from_this()](std::error_code ec, std::size_t found) {
      if (ec) fail("couchkv get_multi_each: " + ec.message());
      if (static_cast<int>(found) != self->batch) fail("couchkv get_multi_each: keys missing");
      if (self->sent == self->batches) self->on_done();
      else self->issue();
    };
    const int first = first_key + sent * batch;
    ++sent;
    if (borrowed) {
      views.clear(); // the previous batch has completed: its views are free
      for (int j = 0; j < batch; ++j) views.push_back(key_of(first + j));
      bucket->get_multi_each(borrowed_keys(views), std::move(on_each), {}, std::move(on_batch));
      return;
    }
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(batch));
    for (int j = 0; j < batch; ++j) keys.push_back(key_of(first + j));
    bucket->get_multi_each(std::move(keys), std::move(on_each), {}, std::move(on_batch));
  }
};

inline void facade_multi_gets_each(facade_client& c, int batch, int keys, bool borrowed = false)
{
  auto m = std::make_shared<facade_multi_get_each>();
  m->bucket = &c.bucket();
  m->batch = batch;
  m->batches = keys / batch;
  m->borrowed = borrowed;
  c.run_threads(1, [&](int, auto done) {
    m->on_done = done;
    m->issue();
  });
  if (m->value_bytes != static_cast<std::size_t>(m->batches * batch) * value_size) fail("couchkv get_multi_each: value sizes");
  m->on_done = nullptr;
}

// `threads` windows of `in_flight` each, `ops` operations in all; returns operations/s.
inline double facade_windows(facade_client& c, int threads, int in_flight, int ops, facade_op op, latency* lat = nullptr)
{
  std::vector<std::shared_ptr<facade_window>> ws;
  std::vector<latency> lats(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    auto w = std::make_shared<facade_window>();
    w->bucket = &c.bucket();
    w->op = op;
    w->quota = ops / threads;
    w->first_key = t * (num_keys / 2);
    w->lat = lat ? &lats[static_cast<std::size_t>(t)] : nullptr;
    ws.push_back(std::move(w));
  }
  double s = c.run_threads(threads, [&](int t, auto done) {
    ws[static_cast<std::size_t>(t)]->on_done = done;
    ws[static_cast<std::size_t>(t)]->start(in_flight);
  });
  if (lat)
    for (auto& l : lats) lat->merge(l);
  for (auto& w : ws) w->on_done = nullptr; // it captured this frame
  return (ops / threads) * threads / s;
}

// `threads` chains of multi-gets of `batch` keys, `keys` keys in all; returns keys/s and fills
// `per_batch` with every batch's latency.
inline double facade_multi_gets(facade_client& c, int threads, int batch, int keys, latency& per_batch)
{
  std::vector<std::shared_ptr<facade_multi_get>> ms;
  for (int t = 0; t < threads; ++t) {
    auto m = std::make_shared<facade_multi_get>();
    m->bucket = &c.bucket();
    m->batch = batch;
    m->batches = keys / threads / batch;
    m->first_key = t * (num_keys / 2);
    ms.push_back(std::move(m));
  }
  double s = c.run_threads(threads, [&](int t, auto done) {
    ms[static_cast<std::size_t>(t)]->on_done = done;
    ms[static_cast<std::size_t>(t)]->issue();
  });
  int total = 0;
  for (auto& m : ms) {
    per_batch.merge(m->lat);
    total += m->batches * batch;
    m->on_done = nullptr;
  }
  return total / s;
}

} // namespace couchkv::bench
