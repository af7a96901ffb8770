#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/scram.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <vector>

namespace couchkv::protocol::scram {
namespace {

const EVP_MD* md(hash h) noexcept
{
  switch (h) {
    case hash::sha1: return EVP_sha1();
    case hash::sha256: return EVP_sha256();
    case hash::sha512: return EVP_sha512();
  }
  return EVP_sha512();
}

const unsigned char* ubytes(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string xor_bytes(std::string_view a, std::string_view b)
{
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

std::error_code bad_message() { return client_errc::sasl_invalid_server_message; }

// Splits "k=v,k=v" into attributes; values may contain '=' but not ','.
struct attribute {
  char name;
  std::string_view value;
};
std::optional<std::vector<attribute>> split_attributes(std::string_view msg)
{
  std::vector<attribute> out;
  while (true) {
    auto comma = msg.find(',');
    auto field = msg.substr(0, comma);
    if (field.size() < 2 || field[1] != '=') return std::nullopt;
    out.push_back({field[0], field.substr(2)});
    if (comma == std::string_view::npos) break;
    msg.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace

std::size_t digest_size(hash h) noexcept { return static_cast<std::size_t>(EVP_MD_get_size(md(h))); }

std::string_view mechanism_name(hash h) noexcept
{
  switch (h) {
    case hash::sha1: return "SCRAM-SHA1";
    case hash::sha256: return "SCRAM-SHA256";
    case hash::sha512: return "SCRAM-SHA512";
  }
  return "SCRAM-SHA512";
}

std::string base64_encode(std::string_view bytes)
{
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), ubytes(bytes), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
  if (text.size() % 4 != 0) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              (c == '=' && i >= text.size() - 2);
    if (!ok) return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), ubytes(text), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as output bytes.
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string hmac(hash h, std::string_view key, std::string_view data)
{
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md(h), key.data(), static_cast<int>(key.size()), ubytes(data), data.size(), buf, &len);
  return {reinterpret_cast<char*>(buf), len};
}

std::string digest(hash h, std::string_view data)
{
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), buf, &len, md(h), nullptr);
  return {reinterpret_cast<char*>(buf), len};
}

std::string salted_password(hash h, std::string_view password, std::string_view salt, std::uint32_t iterations)
{
  std::string out(digest_size(h), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), ubytes(salt), static_cast<int>(salt.size()),
                    static_cast<int>(iterations), md(h), static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string client_proof(hash h, std::string_view salted, std::string_view auth_message)
{
  auto client_key = hmac(h, salted, "Client Key");
  auto stored_key = digest(h, client_key);
  return xor_bytes(client_key, hmac(h, stored_key, auth_message));
}

std::string server_signature(hash h, std::string_view salted, std::string_view auth_message)
{
  return hmac(h, hmac(h, salted, "Server Key"), auth_message);
}

std::string escape_username(std::string_view user)
{
  std::string out;
  for (char c : user) {
    if (c == ',') out += "=2C";
    else if (c == '=') out += "=3D";
    else out += c;
  }
  return out;
}

std::optional<std::string> unescape_username(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') return std::nullopt;
    if (text[i] != '=') {
      out += text[i];
      continue;
    }
    auto code = text.substr(i + 1, 2);
    if (code == "2C") out += ',';
    else if (code == "3D") out += '=';
    else return std::nullopt;
    i += 2;
  }
  return out;
}

std::optional<server_first> parse_server_first(std::string_view msg, std::error_code& ec)
{
  ec = bad_message();
  auto attrs = split_attributes(msg);
  if (!attrs || attrs->size() != 3) return std::nullopt;
  const auto& a = *attrs;
  if (a[0].name != 'r' || a[1].name != 's' || a[2].name != 'i') return std::nullopt;
  if (a[0].value.empty() || a[1].value.empty() || a[2].value.empty()) return std::nullopt;
  server_first sf;
  sf.nonce = std::string(a[0].value);
  auto salt = base64_decode(a[1].value);
  if (!salt) return std::nullopt;
  sf.salt = std::move(*salt);
  std::uint64_t iter = 0;
  auto [p, err] = std::from_chars(a[2].value.data(), a[2].value.data() + a[2].value.size(), iter);
  if (err != std::errc{} || p != a[2].value.data() + a[2].value.size() || iter == 0) return std::nullopt;
  if (iter > max_iterations) {
    ec = client_errc::sasl_too_many_iterations;
    return std::nullopt;
  }
  sf.iterations = static_cast<std::uint32_t>(iter);
  ec.clear();
  return sf;
}

client::client(hash h, std::string username, std::string password, std::string client_nonce)
    : hash_(h), username_(std::move(username)), password_(std::move(password)), client_nonce_(std::move(client_nonce))
{
}

std::string client::first_message() const { return "n,,n=" + escape_username(username_) + ",r=" + client_nonce_; }

std::optional<std::string> client::final_message(std::string_view server_first_msg, std::error_code& ec)
{
  auto sf = parse_server_first(server_first_msg, ec);
  if (!sf) return std::nullopt;
  if (sf->nonce.size() <= client_nonce_.size() || sf->nonce.compare(0, client_nonce_.size(), client_nonce_) != 0) {
    ec = client_errc::sasl_server_nonce_mismatch;
    return std::nullopt;
  }
  salted_ = salted_password(hash_, password_, sf->salt, sf->iterations);
  std::string without_proof = "c=biws,r=" + sf->nonce;
  auth_message_ = "n=" + escape_username(username_) + ",r=" + client_nonce_ + "," + std::string(server_first_msg) +
                  "," + without_proof;
  ec.clear();
  return without_proof + ",p=" + base64_encode(client_proof(hash_, salted_, auth_message_));
}

std::error_code client::verify_server_final(std::string_view msg) const
{
  if (msg.starts_with("e=")) return client_errc::sasl_server_signature_mismatch;
  if (!msg.starts_with("v=") || salted_.empty()) return bad_message();
  auto sig = base64_decode(msg.substr(2));
  if (!sig) return bad_message();
  auto expected = server_signature(hash_, salted_, auth_message_);
  if (sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0) {
    return client_errc::sasl_server_signature_mismatch;
  }
  return {};
}

credentials make_credentials(hash h, std::string_view password, std::string salt, std::uint32_t iterations)
{
  credentials c;
  auto salted = salted_password(h, password, salt, iterations);
  c.salt = std::move(salt);
  c.iterations = iterations;
  c.stored_key = digest(h, hmac(h, salted, "Client Key"));
  c.server_key = hmac(h, salted, "Server Key");
  return c;
}

std::optional<std::string> server::parse_client_first(std::string_view msg, std::error_code& ec)
{
  ec = bad_message();
  if (!msg.starts_with("n,,")) return std::nullopt; // no channel binding, no authzid
  client_first_bare_ = std::string(msg.substr(3));
  auto attrs = split_attributes(client_first_bare_);
  if (!attrs || attrs->size() != 2 || (*attrs)[0].name != 'n' || (*attrs)[1].name != 'r') return std::nullopt;
  auto user = unescape_username((*attrs)[0].value);
  if (!user || user->empty() || (*attrs)[1].value.empty()) return std::nullopt;
  client_nonce_ = std::string((*attrs)[1].value);
  ec.clear();
  return user;
}

std::string server::server_first_message(const credentials& creds, std::string server_nonce_suffix)
{
  creds_ = creds;
  nonce_ = client_nonce_ + server_nonce_suffix;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(creds.salt) + ",i=" + std::to_string(creds.iterations);
  return server_first_;
}

std::optional<std::string> server::verify_client_final(std::string_view msg, std::error_code& ec)
{
  ec = client_errc::sasl_invalid_server_message;
  auto attrs = split_attributes(msg);
  if (!attrs || attrs->size() != 3 || (*attrs)[0].name != 'c' || (*attrs)[1].name != 'r' || (*attrs)[2].name != 'p') {
    return std::nullopt;
  }
  if ((*attrs)[0].value != "biws" || (*attrs)[1].value != nonce_) return std::nullopt;
  auto proof = base64_decode((*attrs)[2].value);
  if (!proof) return std::nullopt;
  auto without_proof = msg.substr(0, msg.rfind(",p="));
  auto auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  auto client_signature = hmac(hash_, creds_.stored_key, auth_message);
  auto client_key = xor_bytes(*proof, client_signature);
  auto check = digest(hash_, client_key);
  if (proof->size() != client_signature.size() || check.size() != creds_.stored_key.size() ||
      CRYPTO_memcmp(check.data(), creds_.stored_key.data(), check.size()) != 0) {
    ec = status::auth_error;
    return std::nullopt;
  }
  ec.clear();
  return "v=" + base64_encode(hmac(hash_, creds_.server_key, auth_message));
}

} // namespace couchkv::protocol::scram
