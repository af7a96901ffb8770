// GET through the couchkv facade against the in-process mock cluster (1 node, 64 vBuckets, bucket
// "default"), side by side with a raw socket on the mock's KV port, in one run (issue 9):
//   couchkv  async_bucket::get with a callback: one at a time (each timed), then 100 in flight
//   raw      SASL PLAIN as default/password and SELECT_BUCKET once, then hand-built GETs carrying
//            the key's vBucket (crc32 routing, as the mock checks it): one at a time, then batches
//            of 100
// The mock serves from its own thread in this process; the placement is the process's CPU set
// (run it under taskset). 100-byte values.
//
//   bench_mock_get [seq_ops] [pipe_ops]
#include "facade_load.hpp"

#include <couchkv/protocol/sasl.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

using namespace couchkv;
using namespace couchkv::bench;

namespace {

constexpr std::uint32_t vbuckets = 64;

std::uint16_t mock_vbucket(std::string_view key) { return topology::vbucket_of(key, vbuckets); }

// What a raw client must send before the mock answers a GET: authenticate (PLAIN is the one
// round trip; the mock, like Couchbase, drops unauthenticated data requests) and select the bucket.
int raw_mock_connect(std::uint16_t port)
{
  int fd = raw_connect(port);
  std::vector<std::byte> buf(4096);
  protocol::byte_buffer req;
  protocol::append_sasl_auth(req, 1, "PLAIN", std::string_view("\0default\0password", 17));
  raw_send(fd, req);
  raw_read_responses(fd, buf, 1);
  req.clear();
  protocol::append_select_bucket(req, 2, "default");
  raw_send(fd, req);
  raw_read_responses(fd, buf, 1);
  return fd;
}

} // namespace

int main(int argc, char** argv)
{
  const int seq_ops = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int pipe_ops = argc > 2 ? std::atoi(argv[2]) : 200000;
  watchdog dog(std::chrono::seconds(600), "bench_mock_get");
  mock::cluster_options o;
  o.nodes = 1;
  o.vbuckets = vbuckets;
  mock::cluster m(o);
  m.start();

  latency ck_seq, raw_seq;
  double ck_pipe = 0, raw_pipe = 0;
  {
    facade_client c(m.connection_string(), credentials{"default", "password"}, 1);
    std::vector<std::pair<std::string, document_value>> items;
    for (int i = 0; i < num_keys; ++i) items.emplace_back(key_of(i), binary(std::string(value_size, 'v')));
    for (auto& [k, r] : c.wait(c.bucket().upsert_multi(items), "couchkv preload"))
      if (!r) fail("couchkv preload " + k + ": " + r.ec.message());
    facade_windows(c, 1, 1, 1000, facade_op::get); // warm-up
    facade_windows(c, 1, 1, seq_ops, facade_op::get, &ck_seq);
    ck_pipe = facade_windows(c, 1, 100, pipe_ops, facade_op::get);
  }
  {
    int fd = raw_mock_connect(m.kv_ports().at(0));
    latency warm;
    raw_sequential_get(fd, 1000, warm, mock_vbucket);
    raw_sequential_get(fd, seq_ops, raw_seq, mock_vbucket);
    raw_pipe = raw_batched_get(fd, pipe_ops, 100, mock_vbucket);
    ::close(fd);
  }
  m.stop();

  std::printf("GET against the in-process mock (1 node, 64 vBuckets), 100-byte values; process CPUs %s\n",
              cpu_list().c_str());
  std::printf("sequential, %d ops (microseconds)\n", seq_ops);
  std::printf("  %-30s p50 %7.2f  p99 %7.2f\n", "raw socket", raw_seq.pct(0.5), raw_seq.pct(0.99));
  std::printf("  %-30s p50 %7.2f  p99 %7.2f   p50 ratio to raw %.2f\n", "couchkv facade get()", ck_seq.pct(0.5),
              ck_seq.pct(0.99), ck_seq.pct(0.5) / raw_seq.pct(0.5));
  std::printf("pipelined, %d ops (ops/s)\n", pipe_ops);
  std::printf("  %-30s %10.0f\n", "raw socket, batches of 100", raw_pipe);
  std::printf("  %-30s %10.0f   ratio to raw %.2f\n", "couchkv facade, 100 in flight", ck_pipe, ck_pipe / raw_pipe);
  return 0;
}
