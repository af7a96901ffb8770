// Response packets from their parts: what a server (our mock cluster) sends, and what the client
// sends back for a server-initiated request (magic 0x83). Same codec, other direction.
#pragma once
#include <couchkv/protocol/bytes.hpp>
#include <couchkv/protocol/header.hpp>
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/status.hpp>

#include <cstdint>

namespace couchkv::protocol {

struct raw_response {
  std::uint8_t op{0}; // opcode echoed from the request
  protocol::status status{status::success};
  std::uint32_t opaque{0};
  std::uint64_t cas{0};
  std::uint8_t datatype{0};
  bytes_view framing_extras{}; // non-empty => magic 0x18
  bytes_view extras{};
  bytes_view key{};
  bytes_view value{};
};
void append_response(byte_buffer& out, const raw_response& r);

// A server-initiated request (magic 0x82), e.g. clustermap change notification.
struct raw_server_request {
  server_opcode op{server_opcode::clustermap_change_notification};
  std::uint32_t opaque{0};
  std::uint8_t datatype{0};
  bytes_view extras{};
  bytes_view key{};
  bytes_view value{};
};
void append_server_request(byte_buffer& out, const raw_server_request& r);

} // namespace couchkv::protocol
