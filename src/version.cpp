#include <couchkv/version.hpp>

namespace couchkv {
std::string_view version() noexcept { return "0.1.0"; }
} // namespace couchkv
