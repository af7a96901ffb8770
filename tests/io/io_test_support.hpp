#pragma once
#include <couchkv/io/kv_connection.hpp>
#include <couchkv/protocol/request.hpp>

#include <async_test_support.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <thread>

namespace couchkv::test {

namespace asio = boost::asio;

inline io::kv_request request(protocol::byte_buffer packet, std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
  return {std::move(packet), io::clock::now() + timeout};
}

// Runs one request and waits for it; returns (error, response).
inline std::pair<std::error_code, io::kv_response> run(io::kv_connection& c, protocol::byte_buffer packet,
                                                       std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
  std::promise<std::pair<std::error_code, io::kv_response>> p;
  auto f = p.get_future();
  c.async_execute(request(std::move(packet), timeout), [&p](std::error_code ec, io::kv_response r) {
    p.set_value({ec, std::move(r)});
  });
  return f.get();
}

} // namespace couchkv::test
