#include "packet_writer.hpp"

#include <couchkv/protocol/response.hpp>

namespace couchkv::protocol {

void append_response(byte_buffer& out, const raw_response& r)
{
  detail::append_packet(out, {.magic_byte = r.framing_extras.empty() ? magic::client_response : magic::alt_client_response,
                              .opcode = r.op,
                              .specific = static_cast<std::uint16_t>(r.status),
                              .opaque = r.opaque,
                              .cas = r.cas,
                              .datatype = r.datatype,
                              .framing_extras = r.framing_extras,
                              .extras = r.extras,
                              .key = r.key,
                              .value = r.value});
}

void append_server_request(byte_buffer& out, const raw_server_request& r)
{
  detail::append_packet(out, {.magic_byte = magic::server_request,
                              .opcode = static_cast<std::uint8_t>(r.op),
                              .opaque = r.opaque,
                              .datatype = r.datatype,
                              .extras = r.extras,
                              .key = r.key,
                              .value = r.value});
}

} // namespace couchkv::protocol
