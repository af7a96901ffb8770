// Frame infos inside the framing extras of flexible-framing packets (docs/protocol.md 1.3).
#pragma once
#include <couchkv/protocol/bytes.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>

namespace couchkv::protocol {

enum class request_frame_id : std::uint16_t {
  barrier = 0,
  durability_requirement = 1,
  dcp_stream_id = 2,
  impersonate_user = 4,
  preserve_ttl = 5,
  impersonate_extra_privilege = 6,
  impersonate_token_auth_id = 7,
};

enum class response_frame_id : std::uint16_t {
  server_duration = 0,
  read_units = 1,
  write_units = 2,
  throttle_duration = 3,
};

enum class durability_level : std::uint8_t {
  none = 0,
  majority = 1,
  majority_and_persist_to_active = 2,
  persist_to_majority = 3,
};

struct durability_requirement {
  durability_level level{durability_level::majority};
  // Server-side timeout; absent = server default. 0 and 0xffff are reserved on the wire.
  std::optional<std::uint16_t> timeout_ms{};
};

// One frame info: id, and its payload as a view into the framing extras.
struct frame_info {
  std::uint16_t id{0};
  bytes_view payload{};
};

// Appends one encoded frame info (with the id/length escapes when >= 15).
void append_frame_info(byte_buffer& out, std::uint16_t id, bytes_view payload);
void append_durability_frame(byte_buffer& out, const durability_requirement& req);
void append_preserve_ttl_frame(byte_buffer& out);

// Iterates over encoded frame infos. next() returns nullopt at the end or on error (check ec()).
class frame_info_reader {
public:
  explicit frame_info_reader(bytes_view framing_extras) noexcept : rest_(framing_extras) {}
  [[nodiscard]] std::optional<frame_info> next() noexcept;
  [[nodiscard]] std::error_code ec() const noexcept { return ec_; }

private:
  bytes_view rest_;
  std::error_code ec_{};
};

// Server recv->send duration encoding (response frame id 0 and 3).
[[nodiscard]] std::uint16_t encode_server_duration(std::chrono::microseconds us) noexcept;
[[nodiscard]] std::chrono::microseconds decode_server_duration(std::uint16_t encoded) noexcept;

// Parses a durability frame payload (1 or 3 bytes); einval-style errors for reserved values.
[[nodiscard]] std::optional<durability_requirement> parse_durability_frame(bytes_view payload,
                                                                           std::error_code& ec) noexcept;

} // namespace couchkv::protocol
