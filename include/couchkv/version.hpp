#pragma once
#include <string_view>

namespace couchkv {
// The library version, "major.minor.patch".
[[nodiscard]] std::string_view version() noexcept;
} // namespace couchkv
