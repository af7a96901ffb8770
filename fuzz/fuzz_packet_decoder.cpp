// Decodes a byte stream packet by packet, as a connection's read loop does, and touches every view.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/frame_info.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace couchkv::protocol;
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data), size);
  while (!rest.empty()) {
    auto r = decode_packet(rest, {.max_body_len = 1u << 20});
    if (r.state != decode_state::complete) break;
    const auto& p = r.packet;
    if (p.size() != r.consumed || p.framing_extras.size() + p.extras.size() + p.key.size() + p.value.size() !=
                                      p.hdr.body_len) {
      std::abort();
    }
    unsigned sum = 0;
    for (auto part : {p.framing_extras, p.extras, p.key, p.value}) {
      for (auto b : part) sum += std::to_integer<unsigned>(b);
    }
    frame_info_reader frames(p.framing_extras);
    while (auto f = frames.next()) sum += f->id;
    if (sum == 0xffffffffu) std::abort(); // keep the reads observable
    rest = rest.subspan(r.consumed);
  }
  return 0;
}
