// Links the combined couchkv::couchkv archive.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/version.hpp>

#include <cstdio>
#include <string>

int main()
{
  namespace p = couchkv::protocol;
  p::byte_buffer buf;
  p::append_noop(buf, 42);
  auto r = p::decode_packet(buf);
  std::error_code ec = p::make_kv_error(p::opcode::add, p::status::key_eexists);
  bool ok = r.state == p::decode_state::complete && r.packet.opaque() == 42 &&
            ec == couchkv::errc::document_exists && !couchkv::version().empty();
  std::printf("couchkv %s consumer: %s\n", std::string(couchkv::version()).c_str(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
