#include "packet_writer.hpp"

#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/sasl.hpp>

#include <openssl/rand.h>

#include <algorithm>

namespace couchkv::protocol {
namespace {

std::string random_nonce()
{
  unsigned char raw[8];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    // RAND_bytes only fails without an entropy source; a nonce must still differ per exchange.
    static unsigned counter = 0;
    for (auto& b : raw) b = static_cast<unsigned char>(++counter * 131u);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

scram::hash hash_of(sasl_mechanism m) noexcept
{
  switch (m) {
    case sasl_mechanism::scram_sha1: return scram::hash::sha1;
    case sasl_mechanism::scram_sha256: return scram::hash::sha256;
    default: return scram::hash::sha512;
  }
}

void append_sasl(byte_buffer& out, opcode op, std::uint32_t opaque, std::string_view mech, std::string_view data)
{
  detail::append_packet(out, {.magic_byte = magic::client_request,
                              .opcode = static_cast<std::uint8_t>(op),
                              .opaque = opaque,
                              .key = as_bytes(mech),
                              .value = as_bytes(data)});
}

} // namespace

std::string_view to_string(sasl_mechanism m) noexcept
{
  switch (m) {
    case sasl_mechanism::scram_sha512: return "SCRAM-SHA512";
    case sasl_mechanism::scram_sha256: return "SCRAM-SHA256";
    case sasl_mechanism::scram_sha1: return "SCRAM-SHA1";
    case sasl_mechanism::plain: return "PLAIN";
  }
  return "PLAIN";
}

std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view name) noexcept
{
  for (auto m : {sasl_mechanism::scram_sha512, sasl_mechanism::scram_sha256, sasl_mechanism::scram_sha1,
                 sasl_mechanism::plain}) {
    if (name == to_string(m)) return m;
  }
  return std::nullopt;
}

std::vector<sasl_mechanism> parse_sasl_mechanisms(std::string_view list)
{
  std::vector<sasl_mechanism> out;
  while (!list.empty()) {
    auto sp = list.find(' ');
    auto name = list.substr(0, sp);
    if (auto m = parse_sasl_mechanism(name); m && std::find(out.begin(), out.end(), *m) == out.end()) out.push_back(*m);
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
  return out;
}

void append_sasl_list_mechs(byte_buffer& out, std::uint32_t opaque)
{
  append_sasl(out, opcode::sasl_list_mechs, opaque, {}, {});
}

void append_sasl_auth(byte_buffer& out, std::uint32_t opaque, std::string_view mechanism, std::string_view data)
{
  append_sasl(out, opcode::sasl_auth, opaque, mechanism, data);
}

void append_sasl_step(byte_buffer& out, std::uint32_t opaque, std::string_view mechanism, std::string_view data)
{
  append_sasl(out, opcode::sasl_step, opaque, mechanism, data);
}

sasl_client::sasl_client(std::string username, std::string password, options opts)
    : username_(std::move(username)), password_(std::move(password)), opts_(std::move(opts))
{
}

std::optional<sasl_mechanism> sasl_client::choose(const std::vector<sasl_mechanism>& server_mechs, std::error_code& ec)
{
  for (auto m : {sasl_mechanism::scram_sha512, sasl_mechanism::scram_sha256, sasl_mechanism::scram_sha1,
                 sasl_mechanism::plain}) {
    if (m == sasl_mechanism::plain && !opts_.allow_plain) continue;
    if (std::find(opts_.allowed.begin(), opts_.allowed.end(), m) == opts_.allowed.end()) continue;
    if (std::find(server_mechs.begin(), server_mechs.end(), m) == server_mechs.end()) continue;
    use(m);
    ec.clear();
    return m;
  }
  ec = client_errc::sasl_no_common_mechanism;
  return std::nullopt;
}

void sasl_client::use(sasl_mechanism m)
{
  mech_ = m;
  scram_.reset();
  if (m != sasl_mechanism::plain) {
    scram_.emplace(hash_of(m), username_, password_,
                   opts_.client_nonce.empty() ? random_nonce() : opts_.client_nonce);
  }
}

std::string sasl_client::start()
{
  if (!scram_) {
    std::string msg;
    msg.reserve(username_.size() + password_.size() + 2);
    msg += '\0';
    msg += username_;
    msg += '\0';
    msg += password_;
    return msg;
  }
  return scram_->first_message();
}

std::optional<std::string> sasl_client::step(std::string_view server_data, std::error_code& ec)
{
  if (!scram_) { // PLAIN has no second step
    ec = client_errc::unexpected_response;
    return std::nullopt;
  }
  return scram_->final_message(server_data, ec);
}

std::error_code sasl_client::finish(std::string_view server_data) const
{
  if (!scram_) return {};
  return scram_->verify_server_final(server_data);
}

} // namespace couchkv::protocol
