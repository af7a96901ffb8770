// Internal: one KV client connection of the mock (session): reads packets, answers them
// (kv_session.cpp: HELLO, config, observe...; sasl.cpp: SASL; documents.cpp: documents), pushes
// configs to clients that asked for them.
#pragma once
#include "cluster_impl.hpp"

namespace couchkv::mock {

// ---- one client connection ----------------------------------------------------------------------

struct session : std::enable_shared_from_this<session> {
  session(cluster::impl& c, std::size_t n, io::stream s) : cl(c), node(n), sock(std::move(s)) {}

  cluster::impl& cl;
  std::size_t node;
  io::stream sock;
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
      sock.close();
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
  // A locked document: LOCKED (0x09) as Couchbase Server 7.0 and later answer, or TMPFAIL as the
  // servers before it did (cluster_options::tmpfail_on_locked).
  void locked_error(const protocol::packet_view& req, std::string_view context)
  {
    error(req, cl.opts.tmpfail_on_locked ? status::etmpfail : status::locked, context);
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
