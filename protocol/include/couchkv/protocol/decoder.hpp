// Incremental packet decoder. Given any byte slice it returns a complete packet view and the
// number of bytes it used, or "need more", or a precise error. It never owns, copies or erases the
// caller's buffer; the caller consumes `consumed` bytes after it is done with the view.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/packet.hpp>

#include <cstddef>
#include <system_error>

namespace couchkv::protocol {

struct decoder_limits {
  // Largest accepted total body (a Couchbase document is at most 20 MiB; leave headroom for
  // extras, key, xattrs).
  std::uint32_t max_body_len = 30u * 1024u * 1024u;
};

enum class decode_state { complete, need_more, error };

struct decode_result {
  decode_state state{decode_state::need_more};
  std::size_t consumed{0}; // bytes of the complete packet (0 unless complete)
  std::size_t needed{0};   // when need_more and the header is known: total bytes the packet needs
  packet_view packet{};    // when complete
  // When error (client_errc); otherwise 0 in the same category: a default error_code would call
  // out of line (std::system_category()) once per packet decoded.
  std::error_code ec{0, client_category()};
};

// Decodes the first packet in `input`. Accepts every magic; checks every length relation
// (framing extras + extras + key <= body; body <= limit). Does not validate per-opcode layouts.
[[nodiscard]] decode_result decode_packet(bytes_view input, const decoder_limits& limits = {}) noexcept;

// True when `input` begins as an HTTP response does ("HTTP/"): the answer of an HTTP server on a
// port the client took for a KV port. (No KV packet starts so: 'H' is no magic byte.)
[[nodiscard]] bool looks_like_http(bytes_view input) noexcept;

} // namespace couchkv::protocol
