#include <couchkv/topology/errors.hpp>

namespace couchkv::topology {
namespace {
class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "couchkv.topology"; }
  std::string message(int v) const override
  {
    switch (static_cast<config_errc>(v)) {
      case config_errc::invalid_json: return "cluster config is not valid JSON";
      case config_errc::missing_field: return "cluster config lacks a required field";
      case config_errc::invalid_field: return "cluster config has a field of the wrong type or value";
      case config_errc::bad_vbucket_map: return "cluster config has an inconsistent vBucket map";
      case config_errc::no_servers: return "cluster config names no data servers";
      case config_errc::too_large: return "cluster config is implausibly large";
      case config_errc::not_newer: return "cluster config is not newer than the current one";
      case config_errc::invalid_connection_string: return "malformed connection string";
      case config_errc::unknown_scheme: return "unknown connection string scheme";
      case config_errc::invalid_host: return "invalid host in connection string";
      case config_errc::invalid_port: return "invalid port";
      case config_errc::unknown_option: return "unknown connection string option";
      case config_errc::invalid_option_value: return "invalid connection string option value";
    }
    return "unknown topology error";
  }
};
} // namespace

const std::error_category& config_category() noexcept
{
  static const category instance;
  return instance;
}

std::error_code make_error_code(config_errc e) noexcept { return {static_cast<int>(e), config_category()}; }

} // namespace couchkv::topology
