#include <couchkv/protocol/frame_info.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace couchkv::protocol;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  frame_info_reader rd(in);
  byte_buffer reencoded;
  while (auto f = rd.next()) {
    if (f->id == static_cast<std::uint16_t>(request_frame_id::durability_requirement)) {
      std::error_code ec;
      (void)parse_durability_frame(f->payload, ec);
    }
    append_frame_info(reencoded, f->id, f->payload);
  }
  // Whatever decoded cleanly re-encodes to frames that decode to the same ids and payloads.
  if (!rd.ec()) {
    frame_info_reader again(reencoded);
    frame_info_reader first(in);
    while (auto a = first.next()) {
      auto b = again.next();
      if (!b || a->id != b->id || a->payload.size() != b->payload.size()) std::abort();
    }
  }
  return 0;
}
