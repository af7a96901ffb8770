// The mock's KV requests other than documents and SASL: HELLO, error map, bucket selection,
// configs, observe, stats, and the dispatch of every opcode.
#include "kv_session.hpp"

namespace couchkv::mock {

void session::handle(const protocol::packet_view& p)
{
  ++cl.stats.requests;
  if (p.magic_byte() == protocol::magic::alt_client_request &&
      !features.contains(protocol::hello_feature::alt_request_support)) {
    close(); // flexible framing that HELLO did not grant: kv_engine drops the connection
    return;
  }
  switch (p.op()) {
    case opcode::hello: {
      std::error_code ec;
      auto wanted = protocol::parse_hello_features(p.value, ec);
      if (!wanted) {
        reply(p, status::einval);
        return;
      }
      static const std::set<std::uint16_t> supported = {
          0x03 /*tcp_nodelay*/, 0x04 /*mutation_seqno*/, 0x06 /*xattr*/, 0x07 /*xerror*/, 0x08 /*select_bucket*/,
          0x0b /*json*/, 0x0c /*duplex*/, 0x0d /*ccn*/, 0x10 /*alt request*/, 0x11 /*sync replication*/,
          0x14 /*preserve ttl*/, 0x1f /*ccn brief*/};
      features = {};
      std::vector<std::uint16_t> accepted;
      bool brief = std::find(wanted->begin(), wanted->end(), 0x1f) != wanted->end();
      const auto& withheld = cl.opts.withheld_features;
      for (auto f : *wanted) {
        if (!supported.count(f) || std::find(accepted.begin(), accepted.end(), f) != accepted.end()) continue;
        if (std::find(withheld.begin(), withheld.end(), f) != withheld.end()) continue;
        if (f == 0x0d && brief) continue; // both requested: only Brief
        accepted.push_back(f);
        features.insert(static_cast<protocol::hello_feature>(f));
      }
      byte_buffer value;
      protocol::append_hello_features(value, accepted);
      reply(p, status::success, {}, {}, value);
      return;
    }
    case opcode::sasl_list_mechs:
      reply(p, status::success, {}, {}, protocol::as_bytes("SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN"));
      return;
    case opcode::sasl_auth:
    case opcode::sasl_step:
      handle_sasl(p);
      return;
    case opcode::noop:
      reply(p, status::success);
      return;
    case opcode::version:
      reply(p, status::success, {}, {}, protocol::as_bytes("7.2.0-mock"));
      return;
    case opcode::get_error_map: {
      static const std::string map = R"({"version":2,"revision":1,"errors":{)"
                                     R"("86":{"name":"ETMPFAIL","desc":"Temporary failure","attrs":["temp","retry-later"]},)"
                                     R"("85":{"name":"EBUSY","desc":"Server busy","attrs":["temp","retry-later"]},)"
                                     R"("7":{"name":"NOT_MY_VBUCKET","desc":"Wrong vBucket","attrs":["fetch-config","retry-now"]},)"
                                     R"("9":{"name":"LOCKED","desc":"Resource locked","attrs":["item-locked","item-only","retry-later"]},)"
                                     R"("1":{"name":"KEY_ENOENT","desc":"Not Found","attrs":["item-only"]},)"
                                     R"("2":{"name":"KEY_EEXISTS","desc":"Key exists","attrs":["item-only"]},)"
                                     // The range 0xff00-0xffff is reserved for tests (sdk-rfcs 0013):
                                     // statuses with a retry schedule of the server's, for fail_next.
                                     R"("fff0":{"name":"DUMMY_ERROR_RETRY_CONSTANT","desc":"Dummy retry error for constant backoff",)"
                                     R"("attrs":["auto-retry","temp"],)"
                                     R"("retry":{"strategy":"constant","interval":25,"after":10,"max-duration":1500}},)"
                                     R"("fff1":{"name":"DUMMY_ERROR_RETRY_LINEAR","desc":"Dummy retry error for linear backoff",)"
                                     R"("attrs":["auto-retry","temp"],)"
                                     R"("retry":{"strategy":"linear","interval":10,"after":10,"max-duration":300,"ceil":50}}}})";
      reply(p, status::success, {}, {}, protocol::as_bytes(map), 0, datatype_json);
      return;
    }
    default:
      break;
  }
  if (!authed) {
    // kv_engine drops unauthenticated connections that ask for data.
    close();
    return;
  }
  switch (p.op()) {
    case opcode::select_bucket: {
      auto name = std::string(protocol::as_string_view(p.key));
      auto it = cl.buckets.find(name);
      if (it == cl.buckets.end() || (user != name && user != cl.opts.admin_user)) {
        reply(p, status::eaccess);
        return;
      }
      bucket = &it->second;
      reply(p, status::success);
      return;
    }
    case opcode::get_cluster_config:
      if (!bucket) {
        reply(p, status::no_bucket);
        return;
      }
      {
        auto cfg = cl.config_json(*bucket);
        reply(p, status::success, {}, {}, protocol::as_bytes(cfg), 0, datatype_json);
      }
      return;
    case opcode::stat: {
      for (auto [k, v] : {std::pair<std::string, std::string>{"pid", std::to_string(::getpid())},
                          {"version", "7.2.0-mock"},
                          {"curr_connections", std::to_string(cl.nodes[node].sessions.size())},
                          {"cmd_total", std::to_string(cl.stats.requests)}}) {
        reply(p, status::success, {}, protocol::as_bytes(k), protocol::as_bytes(v));
      }
      reply(p, status::success);
      return;
    }
    default:
      break;
  }
  if (!bucket) {
    reply(p, status::no_bucket);
    return;
  }
  handle_document(p);
}

} // namespace couchkv::mock
