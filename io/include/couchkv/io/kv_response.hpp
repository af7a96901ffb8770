// A response that owns its bytes (the connection's read buffer is reused for the next packet).
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/packet.hpp>

#include <cstring>
#include <string_view>

namespace couchkv::io {

class kv_response {
public:
  kv_response() = default;
  explicit kv_response(const protocol::packet_view& p)
      : hdr_(p.hdr), body_(p.framing_extras.data(), p.framing_extras.data() + p.hdr.body_len)
  {
  }

  [[nodiscard]] const protocol::header& header() const noexcept { return hdr_; }
  [[nodiscard]] protocol::status status() const noexcept { return static_cast<protocol::status>(hdr_.specific); }
  [[nodiscard]] protocol::opcode opcode() const noexcept { return static_cast<protocol::opcode>(hdr_.opcode); }
  [[nodiscard]] std::uint64_t cas() const noexcept { return hdr_.cas; }
  [[nodiscard]] std::uint8_t datatype() const noexcept { return hdr_.datatype; }
  [[nodiscard]] protocol::bytes_view framing_extras() const noexcept { return part(0, hdr_.framing_extras_len); }
  [[nodiscard]] protocol::bytes_view extras() const noexcept { return part(hdr_.framing_extras_len, hdr_.extras_len); }
  [[nodiscard]] protocol::bytes_view key() const noexcept
  {
    return part(std::size_t{hdr_.framing_extras_len} + hdr_.extras_len, hdr_.key_len);
  }
  [[nodiscard]] protocol::bytes_view value() const noexcept
  {
    auto off = std::size_t{hdr_.framing_extras_len} + hdr_.extras_len + hdr_.key_len;
    return part(off, body_.size() - off);
  }
  [[nodiscard]] std::string_view value_string() const noexcept { return protocol::as_string_view(value()); }
  [[nodiscard]] std::string_view key_string() const noexcept { return protocol::as_string_view(key()); }

private:
  [[nodiscard]] protocol::bytes_view part(std::size_t off, std::size_t len) const noexcept
  {
    return {body_.data() + off, len};
  }
  protocol::header hdr_{};
  protocol::byte_buffer body_;
};

} // namespace couchkv::io
