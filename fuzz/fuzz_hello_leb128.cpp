#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/leb128.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace couchkv::protocol;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  std::error_code ec;
  (void)parse_hello_features(in, ec);
  if (auto d = decode_leb128(in, ec)) {
    std::byte buf[max_leb128_u32_size];
    // Only canonical encodings decode, so re-encoding gives the same bytes.
    if (encode_leb128(d->value, buf) != d->size || std::memcmp(buf, in.data(), d->size) != 0) std::abort();
  }
  return 0;
}
