// A response that owns its bytes (the connection's read buffer is reused for the next packet).
#pragma once
#include <couchkv/io/handler_allocator.hpp>
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/packet.hpp>

#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace couchkv::io {

// The body lives in one block from the thread's handler_allocator cache (no malloc once warm),
// so moving a response - which every type-erased completion layer does two or three times - moves
// a pointer, not the body.
class kv_response {
public:
  kv_response() = default;
  explicit kv_response(const protocol::packet_view& p) : hdr_(p.hdr)
  {
    assign(p.framing_extras.data(), p.hdr.body_len);
  }
  // A multi-packet answer (STAT): the terminator's header, and as the value the gathered packets,
  // each complete (24-byte header and body), in the order they arrived.
  kv_response(const protocol::header& terminator, protocol::bytes_view packets) : hdr_(terminator)
  {
    hdr_.framing_extras_len = 0;
    hdr_.extras_len = 0;
    hdr_.key_len = 0;
    hdr_.body_len = static_cast<std::uint32_t>(packets.size());
    assign(packets.data(), packets.size());
  }
  kv_response(const kv_response& o) : hdr_(o.hdr_) { assign(o.data_, o.size_); }
  // The moved-from response is an empty one (no header either: its lengths would not fit a body).
  kv_response(kv_response&& o) noexcept : hdr_(o.hdr_), size_(o.size_), data_(o.data_)
  {
    o.hdr_ = {};
    o.size_ = 0;
    o.data_ = nullptr;
  }
  kv_response& operator=(kv_response o) noexcept
  {
    swap(o);
    return *this;
  }
  ~kv_response() { release(); }

  void swap(kv_response& o) noexcept
  {
    std::swap(hdr_, o.hdr_);
    std::swap(size_, o.size_);
    std::swap(data_, o.data_);
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
    return part(off, size_ - off);
  }
  [[nodiscard]] std::string_view value_string() const noexcept { return protocol::as_string_view(value()); }
  [[nodiscard]] std::string_view key_string() const noexcept { return protocol::as_string_view(key()); }

private:
  void assign(const std::byte* src, std::size_t n)
  {
    if (n == 0) return;
    data_ = static_cast<std::byte*>(detail::pooled_allocate(n));
    size_ = n;
    std::memcpy(data_, src, n);
  }
  void release() noexcept
  {
    if (data_ != nullptr) detail::pooled_deallocate(data_, size_);
  }
  [[nodiscard]] protocol::bytes_view part(std::size_t off, std::size_t len) const noexcept
  {
    return {data_ + off, len};
  }
  protocol::header hdr_{};
  std::size_t size_{0};
  std::byte* data_{nullptr};
};

} // namespace couchkv::io
