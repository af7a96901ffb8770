// OBSERVE and OBSERVE_SEQNO bodies (first byte picks which), and the OBSERVE request body.
#include <couchkv/protocol/observe.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace couchkv::protocol;
  if (size == 0) return 0;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  std::error_code ec;
  switch (data[0] % 3) {
    case 0:
      if (auto entries = parse_observe_response(in, ec)) {
        byte_buffer out;
        for (const auto& e : *entries) append_observe_entry(out, e);
        if (out.size() != in.size()) std::abort(); // a successful parse consumed everything
      }
      break;
    case 1:
      if (auto r = parse_observe_seqno_response(in, ec)) {
        byte_buffer out;
        append_observe_seqno_body(out, *r);
        if (out.size() != in.size()) std::abort();
      }
      break;
    default:
      (void)parse_observe_request(in, ec);
      break;
  }
  return 0;
}
