// The mock's SASL: LIST_MECHS, PLAIN and SCRAM-SHA1/256/512 (protocol::scram::server), then
// the bucket named by the user, as Couchbase Server selects it.
#include "kv_session.hpp"

namespace couchkv::mock {

void session::handle_sasl(const protocol::packet_view& p)
{
  auto mech = protocol::as_string_view(p.key);
  auto data = protocol::as_string_view(p.value);
  const bool refuse_all = cl.nodes[node].reject_kv_auth;
  auto check = [&](const std::string& u, const std::string& pw) {
    if (refuse_all) return false;
    if (u == cl.opts.admin_user) return pw == cl.opts.admin_password;
    auto it = cl.buckets.find(u);
    return it != cl.buckets.end() && it->second.opts.password == pw;
  };
  if (mech == "PLAIN" && p.op() == opcode::sasl_auth) {
    // "\0user\0password" (an authzid before the first NUL is ignored)
    auto first = data.find('\0');
    auto second = first == std::string_view::npos ? first : data.find('\0', first + 1);
    if (second == std::string_view::npos) {
      reply(p, status::auth_error);
      return;
    }
    std::string u(data.substr(first + 1, second - first - 1));
    std::string pw(data.substr(second + 1));
    if (!check(u, pw)) {
      reply(p, status::auth_error, {}, {}, protocol::as_bytes("Auth failure"));
      return;
    }
    authed = true;
    user = u;
    if (cl.buckets.count(u)) bucket = &cl.buckets.at(u); // like Couchbase: user = bucket selects it
    reply(p, status::success);
    return;
  }
  std::optional<protocol::scram::hash> h;
  if (mech == "SCRAM-SHA1") h = protocol::scram::hash::sha1;
  if (mech == "SCRAM-SHA256") h = protocol::scram::hash::sha256;
  if (mech == "SCRAM-SHA512") h = protocol::scram::hash::sha512;
  if (!h) {
    reply(p, status::auth_error, {}, {}, protocol::as_bytes("Unknown mechanism"));
    return;
  }
  std::error_code ec;
  if (p.op() == opcode::sasl_auth) {
    scram.emplace(*h);
    auto u = scram->parse_client_first(data, ec);
    if (!u) {
      reply(p, status::einval);
      return;
    }
    const protocol::scram::credentials* creds = nullptr;
    protocol::scram::credentials admin;
    if (*u == cl.opts.admin_user) {
      admin = protocol::scram::make_credentials(*h, cl.opts.admin_password, "admin-salt", 4096);
      creds = &admin;
    } else if (auto it = cl.buckets.find(*u); it != cl.buckets.end()) {
      creds = &it->second.scram.at(*h);
    }
    if (!creds || refuse_all) {
      // Unknown user (or a node refusing everyone): run the exchange with throwaway credentials
      // so the failure looks the same.
      admin = protocol::scram::make_credentials(*h, std::to_string(cl.rng()), "x", 4096);
      creds = &admin;
    }
    user = *u;
    std::string nonce = std::to_string(cl.rng());
    auto first = scram->server_first_message(*creds, nonce);
    reply(p, status::auth_continue, {}, {}, protocol::as_bytes(first));
    return;
  }
  if (!scram) {
    reply(p, status::einval);
    return;
  }
  auto final_msg = scram->verify_client_final(data, ec);
  scram.reset();
  if (!final_msg) {
    reply(p, status::auth_error, {}, {}, protocol::as_bytes("Auth failure"));
    return;
  }
  authed = true;
  if (cl.buckets.count(user)) bucket = &cl.buckets.at(user);
  reply(p, status::success, {}, {}, protocol::as_bytes(*final_msg));
}

} // namespace couchkv::mock
