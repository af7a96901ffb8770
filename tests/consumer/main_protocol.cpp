// Links only couchkv::protocol: the codec is usable without Asio.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/request.hpp>

#include <cstdio>

int main()
{
  couchkv::protocol::byte_buffer buf;
  couchkv::protocol::append_get(buf, 7, {.key = "hello", .vbucket = 3});
  auto r = couchkv::protocol::decode_packet(buf);
  if (r.state != couchkv::protocol::decode_state::complete || r.packet.opaque() != 7 ||
      couchkv::protocol::as_string_view(r.packet.key) != "hello") {
    std::puts("protocol consumer: FAILED");
    return 1;
  }
  std::puts("protocol consumer: ok");
  return 0;
}
