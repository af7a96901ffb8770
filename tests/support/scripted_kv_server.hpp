// A KV server whose every answer the test scripts: `script(request)` returns the bytes to send
// back (one packet, several, none, or something that is no packet at all). It listens on a
// loopback port and serves every connection the client opens (bootstrap, pool, reconnections) on
// its own thread, each read, decoded and answered in order.
#pragma once
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/response.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace couchkv::test {

class scripted_kv_server {
public:
  using script = std::function<protocol::byte_buffer(const protocol::packet_view& request)>;

  explicit scripted_kv_server(script s) : script_(std::move(s))
  {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~scripted_kv_server()
  {
    io_.stop();
    thread_.join();
  }
  scripted_kv_server(const scripted_kv_server&) = delete;
  scripted_kv_server& operator=(const scripted_kv_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] std::size_t connections() const { return accepted_.load(); }

  // An answer to `request`: its opcode and opaque, with the rest from `r`.
  static protocol::byte_buffer answer(const protocol::packet_view& request, protocol::raw_response r = {})
  {
    r.op = request.hdr.opcode;
    r.opaque = request.opaque();
    protocol::byte_buffer out;
    protocol::append_response(out, r);
    return out;
  }

private:
  using tcp = boost::asio::ip::tcp;

  struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, const script& sc) : sock(std::move(s)), run(sc) {}
    tcp::socket sock;
    const script& run;
    std::vector<std::byte> in;
    std::array<std::byte, 4096> buf;
    protocol::byte_buffer out;

    void read()
    {
      sock.async_read_some(boost::asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        self->in.insert(self->in.end(), self->buf.begin(), self->buf.begin() + static_cast<std::ptrdiff_t>(n));
        std::span<const std::byte> rest(self->in);
        for (auto r = protocol::decode_packet(rest); r.state == protocol::decode_state::complete;
             r = protocol::decode_packet(rest)) {
          auto answer = self->run(r.packet);
          self->out.insert(self->out.end(), answer.begin(), answer.end());
          rest = rest.subspan(r.consumed);
        }
        self->in.erase(self->in.begin(), self->in.end() - static_cast<std::ptrdiff_t>(rest.size()));
        if (self->out.empty()) return self->read();
        boost::asio::async_write(self->sock, boost::asio::buffer(self->out), [self](boost::system::error_code e, std::size_t) {
          self->out.clear();
          if (!e) self->read();
        });
      });
    }
  };

  void accept()
  {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted_;
      std::make_shared<session>(std::move(s), script_)->read();
      accept();
    });
  }

  script script_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_{io_, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

} // namespace couchkv::test
