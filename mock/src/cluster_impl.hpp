// Internal: the mock's runtime, cluster::impl: nodes, buckets, listeners, replication and the
// fault controls. One KV connection is a session (kv_session.hpp); HTTP ones are in http.hpp.
#pragma once
#include "state.hpp"
#include <couchkv/io/stream.hpp>

#include <charconv>
#include <cstring>
#include <functional>
#include <map>

#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/frame_info.hpp>
#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/leb128.hpp>
#include <couchkv/protocol/mutation_token.hpp>
#include <couchkv/protocol/observe.hpp>
#include <couchkv/protocol/response.hpp>
#include <couchkv/protocol/sasl.hpp>
#include <couchkv/protocol/scram.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <nlohmann/json.hpp>

#include <future>
#include <random>
#include <set>
#include <thread>

namespace couchkv::mock {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using protocol::byte_buffer;
using protocol::bytes_view;
using protocol::opcode;
using protocol::status;
using sys_error = boost::system::error_code;

namespace detail {
constexpr std::int64_t thirty_days = 30 * 24 * 3600;
constexpr std::uint8_t datatype_json = 0x01;

inline std::uint16_t vbucket_of(std::string_view key, std::size_t n)
{
  // The mock's own CRC32 (not topology's): it must not agree with the client by construction.
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : key) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  c ^= 0xffffffffu;
  return static_cast<std::uint16_t>(((c >> 16) & 0x7fff) % n);
}
} // namespace detail
using namespace detail;

struct session;
struct http_session;

// A node's two HTTP services (docs/protocol.md 7.4 and 8), served by http_session.
enum class http_service { mgmt, views };

struct node_runtime {
  std::uint16_t port{0};       // KV
  std::uint16_t mgmt_port{0};  // management REST ("mgmt"; 8091 on a real node)
  std::uint16_t views_port{0}; // views ("capi"; 8092 on a real node)
  std::uint16_t tls_port{0};       // with TLS: KV ("kvSSL"; 11207)
  std::uint16_t mgmt_tls_port{0};  // "mgmtSSL"; 18091
  std::uint16_t views_tls_port{0}; // "capiSSL"; 18092
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<tcp::acceptor> mgmt_acceptor;
  std::unique_ptr<tcp::acceptor> views_acceptor;
  std::unique_ptr<tcp::acceptor> tls_acceptor;
  std::unique_ptr<tcp::acceptor> mgmt_tls_acceptor;
  std::unique_ptr<tcp::acceptor> views_tls_acceptor;
  std::vector<std::unique_ptr<tcp::socket>> held_ports; // bound, never listening: see hold_port
  bool up{false};
  bool failed_over{false};
  bool reject_kv_auth{false}; // cluster::reject_kv_auth
  std::vector<std::weak_ptr<session>> sessions;
  std::vector<std::weak_ptr<http_session>> http_sessions;
};

struct cluster::impl {
  explicit impl(cluster_options o) : opts(std::move(o)), rng(std::random_device{}()) {}

  cluster_options opts;
  asio::io_context io;
  std::optional<asio::ssl::context> tls; // the server context, with opts.tls
  std::thread thread;
  std::vector<node_runtime> nodes;
  std::map<std::string, bucket_state> buckets;
  std::int64_t rev{1};
  std::int64_t epoch{1};
  std::uint64_t next_cas{0x1000};
  std::mt19937_64 rng;
  std::chrono::steady_clock::time_point started{std::chrono::steady_clock::now()};
  std::int64_t clock_offset{0};
  cluster_stats stats;
  std::uint32_t fail_count{0};
  std::uint16_t fail_status{0};
  std::uint32_t drop_count{0};
  bool garbage_next{false};

  std::int64_t now() const
  {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count() +
           clock_offset + 1'700'000'000; // mock seconds look like Unix time
  }
  std::uint64_t new_cas() { return (next_cas += 0x100) | (static_cast<std::uint64_t>(now()) << 32); }

  // Runs f on the mock's thread and waits (fault controls from test threads); an exception f
  // throws is rethrown here rather than ending the mock's thread.
  template <class F>
  void run_sync(F f)
  {
    if (!thread.joinable() || std::this_thread::get_id() == thread.get_id()) {
      f();
      return;
    }
    std::promise<void> done;
    asio::post(io, [&] {
      try {
        f();
        done.set_value();
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    done.get_future().get();
  }

  void build_buckets();
  void assign_map(bucket_state& b);
  nlohmann::json config_object(const bucket_state& b) const;
  // Every change of nodes or maps makes a new revision, so (epoch, rev) names the text.
  const std::string& config_json(const bucket_state& b) const
  {
    if (b.config_epoch != epoch || b.config_rev != rev) {
      b.config_text = config_object(b).dump();
      b.config_epoch = epoch;
      b.config_rev = rev;
    }
    return b.config_text;
  }
  void push_configs(); // to KV sessions that asked for pushes and to HTTP config streams
  void start_node(std::size_t i);
  void stop_node(std::size_t i);
  void close_connections(std::size_t i); // KV and HTTP
  void accept(std::size_t i, bool use_tls);
  void accept_http(std::size_t i, http_service service, bool use_tls);
  io::stream make_stream(tcp::socket sock, bool use_tls);

  // Fault controls, on the mock's thread (the public API and the HTTP control endpoint call them).
  void failover(std::size_t node);
  void rebalance();
  void node_down(std::size_t node); // stop_node and a new config revision
  void node_up(std::size_t node);
  void schedule(std::chrono::milliseconds delay, std::function<void()> f);
  void replicate(bucket_state& b, std::uint16_t vb, const std::string& key);
  std::int64_t absolute_expiry(std::uint32_t wire) const
  {
    if (wire == 0) return 0;
    if (wire <= thirty_days) return now() + wire;
    // Absolute Unix time: translate to mock time.
    auto real_now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return now() + (static_cast<std::int64_t>(wire) - real_now);
  }
};

// Starts a KV or HTTP session: on a TLS port the handshake comes first, and a client that refuses
// the certificate (or speaks plain text to it) is dropped and counted.
template <class Session>
void start_session(const std::shared_ptr<Session>& self)
{
  if (!self->sock.is_tls()) {
    self->read();
    return;
  }
  self->sock.async_handshake(boost::asio::ssl::stream_base::server, [self](boost::system::error_code ec) {
    if (self->closed) return;
    if (ec) {
      ++self->cl.stats.tls_handshakes_failed;
      self->close();
      return;
    }
    self->read();
  });
}

} // namespace couchkv::mock
