#include <couchkv/protocol/bootstrap.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/request.hpp>

namespace couchkv::protocol {
namespace {
using protocol::opcode;
using protocol::status;

// A server without HELLO (plain memcached, or memcached -S before authentication) answers with
// one of these; libcouchbase treats them the same way.
bool means_no_hello(status s) noexcept
{
  return s == status::unknown_command || s == status::not_supported || s == status::eaccess ||
         s == status::einval || s == status::auth_error;
}

std::string describe(const protocol::packet_view& p)
{
  std::string text(protocol::to_string(p.status()));
  if (!p.value.empty() && p.value.size() < 512) text += ": " + std::string(protocol::as_string_view(p.value));
  return text;
}

constexpr std::uint32_t opaque_base = 0xb0070000;
} // namespace

bootstrap_fsm::bootstrap_fsm(bootstrap_settings settings)
    : settings_(std::move(settings)),
      sasl_(settings_.creds ? settings_.creds->username : std::string{},
            settings_.creds ? settings_.creds->password : std::string{},
            {.allow_plain = settings_.tls_verified || settings_.allow_plain,
             .allowed = settings_.mechanisms,
             .client_nonce = settings_.client_nonce})
{
}

bootstrap_fsm::action bootstrap_fsm::fail(std::error_code ec, std::string detail)
{
  phase_ = phase::failed;
  ec_ = ec;
  detail_ = std::move(detail);
  return action::failed;
}

bootstrap_fsm::action bootstrap_fsm::start(protocol::byte_buffer& out)
{
  outstanding_ = 0;
  if (settings_.hello) {
    protocol::append_hello(out, opaque_base + 1, settings_.agent, settings_.features);
    ++outstanding_;
    if (settings_.fetch_error_map) {
      protocol::append_get_error_map(out, opaque_base + 2, 2);
      ++outstanding_;
    }
  }
  if (settings_.creds) {
    protocol::append_sasl_list_mechs(out, opaque_base + 3);
    ++outstanding_;
  }
  phase_ = phase::hello;
  if (outstanding_ == 0) return after_hello_batch(out);
  return action::write;
}

bootstrap_fsm::action bootstrap_fsm::on_response(const protocol::packet_view& p, protocol::byte_buffer& out)
{
  if (!p.is_response()) return action::wait; // a server push during the handshake: not ours
  switch (phase_) {
    case phase::hello:
      switch (p.op()) {
        case opcode::hello:
          if (p.status() == status::success) {
            std::error_code ec;
            auto fs = protocol::parse_hello_features(p.value, ec);
            if (!fs) return fail(ec, "HELLO response has an odd length");
            result_.hello_supported = true;
            for (auto f : *fs) result_.features.insert(static_cast<protocol::hello_feature>(f));
          } else if (!means_no_hello(p.status())) {
            return fail(protocol::client_errc::handshake_failed, "HELLO: " + describe(p));
          }
          break;
        case opcode::get_error_map:
          if (p.status() == status::success) {
            std::error_code ec;
            result_.error_map = protocol::parse_error_map(protocol::as_string_view(p.value), ec);
            // A malformed map is not worth failing the connection for: we just lack the hints.
          }
          break;
        case opcode::sasl_list_mechs:
          if (p.status() == status::success) {
            server_mechs_ = protocol::parse_sasl_mechanisms(protocol::as_string_view(p.value));
          } else {
            list_mechs_failed_ = true;
          }
          break;
        default:
          return fail(protocol::client_errc::unexpected_response,
                      "unexpected " + std::string(protocol::to_string(p.op())) + " during HELLO");
      }
      if (--outstanding_ > 0) return action::wait;
      return after_hello_batch(out);

    case phase::auth:
      if (p.op() != opcode::sasl_auth && p.op() != opcode::sasl_step) {
        return fail(protocol::client_errc::unexpected_response, "unexpected response during SASL");
      }
      if (p.status() == status::auth_continue) {
        std::error_code ec;
        auto next = sasl_.step(protocol::as_string_view(p.value), ec);
        if (!next) return fail(ec, "SASL step");
        protocol::append_sasl_step(out, opaque_base + 5, protocol::to_string(sasl_.mechanism()), *next);
        return action::write;
      }
      if (p.status() == status::success) {
        if (auto ec = sasl_.finish(protocol::as_string_view(p.value))) return fail(ec, "SCRAM server signature");
        return after_auth(out);
      }
      return fail(protocol::make_kv_error(p.op(), p.status()),
                  std::string(protocol::to_string(sasl_.mechanism())) + " authentication: " + describe(p));

    case phase::select_bucket:
      if (p.op() != opcode::select_bucket) {
        return fail(protocol::client_errc::unexpected_response, "unexpected response to SELECT_BUCKET");
      }
      if (p.status() == status::success) {
        result_.bucket_selected = true;
        return after_select(out);
      }
      if (p.status() == status::eaccess || p.status() == status::key_enoent || p.status() == status::no_bucket) {
        return fail(protocol::client_errc::bucket_not_found, "SELECT_BUCKET \"" + settings_.bucket + "\": " + describe(p));
      }
      return fail(protocol::make_kv_error(p.op(), p.status()), "SELECT_BUCKET: " + describe(p));

    case phase::config:
      if (p.op() != opcode::get_cluster_config) {
        return fail(protocol::client_errc::unexpected_response, "unexpected response to GET_CLUSTER_CONFIG");
      }
      if (p.status() == status::success && !p.value.empty()) {
        result_.config_json = std::string(protocol::as_string_view(p.value));
      }
      // Not supported (memcached) or no config: the caller falls back to HTTP or static routing.
      phase_ = phase::done;
      return action::done;

    case phase::done:
    case phase::failed:
      return action::wait;
  }
  return action::wait;
}

bootstrap_fsm::action bootstrap_fsm::after_hello_batch(protocol::byte_buffer& out)
{
  if (!settings_.creds) return after_auth(out);
  return send_auth(out);
}

bootstrap_fsm::action bootstrap_fsm::send_auth(protocol::byte_buffer& out)
{
  std::error_code ec;
  if (server_mechs_) {
    if (!sasl_.choose(*server_mechs_, ec)) {
      std::string offered;
      for (auto m : *server_mechs_) offered += std::string(offered.empty() ? "" : " ") + std::string(protocol::to_string(m));
      return fail(ec, "server offers [" + offered + "]" +
                          (settings_.tls_verified || settings_.allow_plain ? "" : "; PLAIN needs verified TLS or allow_plain_auth"));
    }
  } else {
    // No mechanism list (old servers): PLAIN, if that is allowed.
    if (!(settings_.tls_verified || settings_.allow_plain)) {
      return fail(protocol::client_errc::sasl_no_common_mechanism,
                  "SASL_LIST_MECHS failed and PLAIN is not allowed on a plain connection");
    }
    sasl_.use(protocol::sasl_mechanism::plain);
  }
  result_.mechanism = sasl_.mechanism();
  protocol::append_sasl_auth(out, opaque_base + 4, protocol::to_string(sasl_.mechanism()), sasl_.start());
  phase_ = phase::auth;
  return action::write;
}

bootstrap_fsm::action bootstrap_fsm::after_auth(protocol::byte_buffer& out)
{
  if (!settings_.bucket.empty() && result_.features.contains(protocol::hello_feature::select_bucket)) {
    protocol::append_select_bucket(out, opaque_base + 6, settings_.bucket);
    phase_ = phase::select_bucket;
    return action::write;
  }
  return after_select(out);
}

bootstrap_fsm::action bootstrap_fsm::after_select(protocol::byte_buffer& out)
{
  if (settings_.fetch_config && result_.hello_supported) {
    protocol::append_get_cluster_config(out, opaque_base + 7);
    phase_ = phase::config;
    return action::write;
  }
  phase_ = phase::done;
  return action::done;
}

} // namespace couchkv::protocol
