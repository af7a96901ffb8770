// How a KV connection hands a request its end: every request, single or one of a batch, is
// answered through a response_sink under the index its sender gave it. The response is a view
// into the connection's read buffer (valid during the call only): nothing is copied, no handler
// is stored, no executor is asked. async_execute (a completion token) is a thin adaptor over one.
#pragma once
#include <couchkv/protocol/packet.hpp>

#include <cstddef>
#include <system_error>

namespace couchkv::io {

// Told once per request, on the connection's executor, never inside the call that sent it. It must
// stay alive until each of its requests has been told (the connection keeps a plain pointer).
class response_sink {
public:
  // The response (whatever its status); the packet is valid only during the call.
  virtual void on_response(std::size_t index, const protocol::packet_view& response) = 0;
  // No response: client_errc::timeout at the deadline, cancelled, not_connected when the
  // connection died before the request was written, connection_closed when it died after.
  virtual void on_error(std::size_t index, std::error_code ec) = 0;
  // Neither will come: the connection is being destroyed with the request still pending (its
  // io_context was stopped or destroyed, as Asio destroys handlers it never ran). Release what is
  // held for the request; do not call into the connection.
  virtual void on_abandoned(std::size_t /*index*/) noexcept {}

protected:
  response_sink() = default;
  response_sink(const response_sink&) = default;
  response_sink& operator=(const response_sink&) = default;
  ~response_sink() = default;
};

// The name execute_batch's receiver had first.
using batch_sink = response_sink;

} // namespace couchkv::io
