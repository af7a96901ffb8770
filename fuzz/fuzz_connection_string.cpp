#include <couchkv/topology/connection_string.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace couchkv::topology;
  config_error err;
  auto cs = parse_connection_string(std::string_view(reinterpret_cast<const char*>(data), size), err);
  if (cs) {
    if (cs->endpoints.empty()) std::abort();
    for (const auto& ep : cs->endpoints) {
      if (ep.port == 0 || ep.host.empty()) std::abort();
    }
  } else if (!err.ec) {
    std::abort(); // a rejection always says why
  }
  return 0;
}
