// The client side of SCRAM fed hostile server messages: server-first (split at the first NUL)
// and server-final. Also the server side fed hostile client messages.
#include <couchkv/protocol/scram.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  namespace s = couchkv::protocol::scram;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto split = in.find('\0');
  auto first = in.substr(0, split);
  auto final_msg = split == std::string_view::npos ? std::string_view{} : in.substr(split + 1);
  std::error_code ec;
  // Cap the work PBKDF2 does so the fuzzer explores parsing, not hashing.
  if (auto sf = s::parse_server_first(first, ec); sf && sf->iterations <= 64) {
    s::client c(s::hash::sha256, "user", "pencil", "fuzznonce");
    if (c.final_message(first, ec)) (void)c.verify_server_final(final_msg);
  }
  s::server srv(s::hash::sha1);
  if (srv.parse_client_first(first, ec)) {
    (void)srv.server_first_message(s::make_credentials(s::hash::sha1, "pencil", "salt", 2), "srv");
    (void)srv.verify_client_final(final_msg, ec);
  }
  (void)s::base64_decode(first);
  (void)s::unescape_username(first);
  return 0;
}
