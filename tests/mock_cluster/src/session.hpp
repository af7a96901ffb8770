// Internal: the mock's runtime (cluster::impl) and one client connection (session).
#pragma once
#include "state.hpp"
#include "stream.hpp"

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

// A node's two HTTP services (protocol-facts 7.4 and 8), served by http_session.
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
  server_stream make_stream(tcp::socket sock, bool use_tls);

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

// ---- one client connection ----------------------------------------------------------------------

struct session : std::enable_shared_from_this<session> {
  session(cluster::impl& c, std::size_t n, server_stream s) : cl(c), node(n), sock(std::move(s)) {}

  cluster::impl& cl;
  std::size_t node;
  server_stream sock;
  byte_buffer rbuf = byte_buffer(64 * 1024);
  std::size_t rstart{0}, rend{0};
  byte_buffer out, writing;
  bool write_busy{false};
  bool closed{false};
  protocol::feature_set features;
  bool authed{false};
  std::string user;
  bucket_state* bucket{nullptr};
  std::optional<protocol::scram::server> scram;

  void start() { start_session(shared_from_this()); } // TLS handshake first on a TLS port

  void close()
  {
    if (closed) return;
    closed = true;
    sys_error ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
  }

  void read()
  {
    if (closed) return;
    if (rend == rbuf.size()) {
      std::memmove(rbuf.data(), rbuf.data() + rstart, rend - rstart);
      rend -= rstart;
      rstart = 0;
      if (rend == rbuf.size()) rbuf.resize(rbuf.size() * 2);
    }
    sock.async_read_some(asio::buffer(rbuf.data() + rend, rbuf.size() - rend),
                         [self = shared_from_this()](sys_error ec, std::size_t n) {
                           if (ec) {
                             self->close();
                             return;
                           }
                           self->rend += n;
                           self->process();
                           self->read();
                         });
  }

  void process()
  {
    while (!closed) {
      auto r = protocol::decode_packet({rbuf.data() + rstart, rend - rstart});
      if (r.state == protocol::decode_state::error) {
        close(); // like kv_engine: a corrupt stream ends the connection
        return;
      }
      if (r.state == protocol::decode_state::need_more) {
        if (r.needed > rbuf.size() - rstart) {
          std::memmove(rbuf.data(), rbuf.data() + rstart, rend - rstart);
          rend -= rstart;
          rstart = 0;
          if (r.needed > rbuf.size()) rbuf.resize(r.needed);
        }
        break;
      }
      if (r.packet.magic_byte() == protocol::magic::client_request ||
          r.packet.magic_byte() == protocol::magic::alt_client_request) {
        handle(r.packet);
      }
      rstart += r.consumed;
    }
    if (rstart == rend) rstart = rend = 0;
    flush();
  }

  void flush()
  {
    if (write_busy || out.empty() || closed) return;
    std::swap(out, writing);
    out.clear();
    write_busy = true;
    asio::async_write(sock, asio::buffer(writing), [self = shared_from_this()](sys_error ec, std::size_t) {
      self->write_busy = false;
      self->writing.clear();
      if (ec) {
        self->close();
        return;
      }
      self->flush();
    });
  }

  void push(const std::string& bucket_name, const std::string& config)
  {
    if (closed || !features.contains(protocol::hello_feature::duplex) ||
        !(features.contains(protocol::hello_feature::clustermap_change_notification) ||
          features.contains(protocol::hello_feature::clustermap_change_notification_brief))) {
      return;
    }
    if (!bucket || bucket->opts.name != bucket_name) return;
    std::byte extras[16];
    protocol::store_be64(extras, static_cast<std::uint64_t>(cl.epoch));
    protocol::store_be64(extras + 8, static_cast<std::uint64_t>(cl.rev));
    bool brief = features.contains(protocol::hello_feature::clustermap_change_notification_brief);
    protocol::append_server_request(out, {.op = protocol::server_opcode::clustermap_change_notification,
                                          .datatype = static_cast<std::uint8_t>(brief ? 0 : datatype_json),
                                          .extras = extras,
                                          .key = protocol::as_bytes(bucket_name),
                                          .value = brief ? bytes_view{} : protocol::as_bytes(config)});
    flush();
  }

  // --- replies ---
  void reply(const protocol::packet_view& req, status s, bytes_view extras = {}, bytes_view key = {},
             bytes_view value = {}, std::uint64_t cas = 0, std::uint8_t datatype = 0)
  {
    if (protocol::is_quiet(req.op()) && s == status::success && !is_quiet_get(req.op())) return;
    if (is_quiet_get(req.op()) && s == status::key_enoent) return;
    protocol::append_response(out, {.op = req.hdr.opcode, .status = s, .opaque = req.opaque(), .cas = cas,
                                    .datatype = datatype, .extras = extras, .key = key, .value = value});
  }
  void error(const protocol::packet_view& req, status s, std::string_view context = {})
  {
    if (features.contains(protocol::hello_feature::xerror) && !context.empty()) {
      auto body = nlohmann::json{{"error", {{"context", context}}}}.dump();
      reply(req, s, {}, {}, protocol::as_bytes(body), 0, datatype_json);
    } else {
      reply(req, s);
    }
  }
  static bool is_quiet_get(opcode op) { return op == opcode::getq || op == opcode::getkq || op == opcode::gatq; }

  void handle(const protocol::packet_view& p);
  void handle_sasl(const protocol::packet_view& p);
  void handle_document(const protocol::packet_view& p);
  void handle_durable(const protocol::packet_view& p, const protocol::durability_requirement& req);
  void not_my_vbucket(const protocol::packet_view& p)
  {
    ++cl.stats.not_my_vbucket;
    auto cfg = cl.config_json(*bucket);
    reply(p, status::not_my_vbucket, {}, {}, protocol::as_bytes(cfg), 0, datatype_json);
  }
  void mutation_reply(const protocol::packet_view& p, std::uint16_t vb, const document& d, std::uint64_t uuid,
                      bytes_view value = {})
  {
    std::byte token[16];
    bool with_token = features.contains(protocol::hello_feature::mutation_seqno) && bucket->opts.type == bucket_type::couchbase;
    if (with_token) protocol::write_mutation_token_extras(token, uuid, d.seqno);
    reply(p, status::success, with_token ? bytes_view{token, 16} : bytes_view{}, {}, value, d.cas);
    (void)vb;
  }
};

} // namespace couchkv::mock
