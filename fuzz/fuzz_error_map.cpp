#include <couchkv/protocol/error_map.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::error_code ec;
  auto map = couchkv::protocol::parse_error_map(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (map) {
    for (const auto& [code, info] : map->errors) (void)info.retryable();
  }
  return 0;
}
