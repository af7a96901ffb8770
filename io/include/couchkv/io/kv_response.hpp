// A response that owns its bytes (the connection's read buffer is reused for the next packet).
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/packet.hpp>

#include <array>
#include <cstring>
#include <memory>
#include <string_view>

namespace couchkv::io {

// Bodies up to inline_capacity bytes (a typical GET of a small document) live inside the object;
// larger ones on the heap. Either way a response costs no allocation per packet on the hot path.
class kv_response {
public:
  static constexpr std::size_t inline_capacity = 224;

  kv_response() = default;
  explicit kv_response(const protocol::packet_view& p) : hdr_(p.hdr), size_(p.hdr.body_len)
  {
    if (size_ > inline_capacity) heap_.reset(new std::byte[size_]);
    if (size_ > 0) std::memcpy(data(), p.framing_extras.data(), size_);
  }
  // A multi-packet answer (STAT): the terminator's header, and as the value the gathered packets,
  // each complete (24-byte header and body), in the order they arrived.
  kv_response(const protocol::header& terminator, protocol::bytes_view packets)
      : hdr_(terminator), size_(packets.size())
  {
    hdr_.framing_extras_len = 0;
    hdr_.extras_len = 0;
    hdr_.key_len = 0;
    hdr_.body_len = static_cast<std::uint32_t>(size_);
    if (size_ > inline_capacity) heap_.reset(new std::byte[size_]);
    if (size_ > 0) std::memcpy(data(), packets.data(), size_);
  }
  kv_response(const kv_response& o) : hdr_(o.hdr_), size_(o.size_)
  {
    if (size_ > inline_capacity) heap_.reset(new std::byte[size_]);
    if (size_ > 0) std::memcpy(data(), o.data(), size_);
  }
  kv_response(kv_response&& o) noexcept : hdr_(o.hdr_), size_(o.size_), heap_(std::move(o.heap_))
  {
    if (!heap_ && size_ > 0) std::memcpy(inline_.data(), o.inline_.data(), size_);
  }
  kv_response& operator=(kv_response o) noexcept
  {
    hdr_ = o.hdr_;
    size_ = o.size_;
    heap_ = std::move(o.heap_);
    if (!heap_ && size_ > 0) std::memcpy(inline_.data(), o.inline_.data(), size_);
    return *this;
  }
  ~kv_response() = default;

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
    return part(off, size_ - off);
  }
  [[nodiscard]] std::string_view value_string() const noexcept { return protocol::as_string_view(value()); }
  [[nodiscard]] std::string_view key_string() const noexcept { return protocol::as_string_view(key()); }

private:
  [[nodiscard]] const std::byte* data() const noexcept { return heap_ ? heap_.get() : inline_.data(); }
  [[nodiscard]] std::byte* data() noexcept { return heap_ ? heap_.get() : inline_.data(); }
  [[nodiscard]] protocol::bytes_view part(std::size_t off, std::size_t len) const noexcept
  {
    return {data() + off, len};
  }
  protocol::header hdr_{};
  std::size_t size_{0};
  std::unique_ptr<std::byte[]> heap_;
  std::array<std::byte, inline_capacity> inline_;
};

} // namespace couchkv::io
