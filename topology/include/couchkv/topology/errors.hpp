// Topology errors: their own category (Boost.MySQL style), with a human detail string on the side
// that names the offending field or part.
#pragma once
#include <string>
#include <system_error>

namespace couchkv::topology {

enum class config_errc {
  invalid_json = 1,
  missing_field,
  invalid_field,
  bad_vbucket_map,
  no_servers,
  too_large,
  not_newer,
  invalid_connection_string,
  unknown_scheme,
  invalid_host,
  invalid_port,
  unknown_option,
  invalid_option_value,
};

const std::error_category& config_category() noexcept;
std::error_code make_error_code(config_errc e) noexcept;

// An error plus what exactly was wrong ("vBucketMap[17][2] = 9 points past serverList (3 entries)").
struct config_error {
  std::error_code ec{};
  std::string detail{};
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(ec); }
  [[nodiscard]] std::string message() const { return detail.empty() ? ec.message() : ec.message() + ": " + detail; }
};

} // namespace couchkv::topology

template <> struct std::is_error_code_enum<couchkv::topology::config_errc> : std::true_type {};
