#include "bucket_impl.hpp"

#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>

#include <boost/asio/system_executor.hpp>

#include <mutex>

namespace couchkv {

struct cluster::impl {
  asio::any_io_executor ex;
  topology::connection_string cs;
  credentials creds;
  std::shared_ptr<asio::ssl::context> ssl;
  cluster_options options;

  // Written by open_bucket's completion on the io thread, read by last_error_detail() anywhere.
  void set_last_error(std::string e)
  {
    std::lock_guard lock(m);
    last_error = std::move(e);
  }
  std::string get_last_error() const
  {
    std::lock_guard lock(m);
    return last_error;
  }

private:
  mutable std::mutex m;
  std::string last_error;
};

cluster::cluster(asio::any_io_executor ex, std::string connection_string, credentials creds)
    : impl_(std::make_shared<impl>())
{
  topology::config_error err;
  auto cs = topology::parse_connection_string(connection_string, err);
  if (!cs) throw std::system_error(err.ec, err.detail);
  impl_->ex = std::move(ex);
  impl_->cs = std::move(*cs);
  impl_->creds = std::move(creds);
  if (impl_->cs.tls()) {
    impl_->ssl = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    if (impl_->cs.options.verify == topology::tls_verify::peer) {
      impl_->ssl->set_verify_mode(asio::ssl::verify_peer);
      // Asio would throw its own error naming neither the option nor the file: say which.
      boost::system::error_code ec;
      const auto& ca = impl_->cs.options.ca_file;
      if (!ca.empty()) {
        impl_->ssl->load_verify_file(ca, ec);
        if (ec) {
          throw std::system_error(protocol::client_errc::invalid_argument,
                                  "ca_file \"" + ca + "\" cannot be loaded (" + ec.message() + ")");
        }
      } else {
        impl_->ssl->set_default_verify_paths(ec);
        if (ec) {
          throw std::system_error(protocol::client_errc::invalid_argument,
                                  "the system's CA certificates cannot be loaded (" + ec.message() + ")");
        }
      }
    } else {
      impl_->ssl->set_verify_mode(asio::ssl::verify_none);
    }
  }
}

cluster::cluster(asio::any_io_executor ex, std::string connection_string, credentials creds, cluster_options options)
    : cluster(std::move(ex), std::move(connection_string), std::move(creds))
{
  impl_->options = options;
}

cluster::~cluster() = default;
cluster::cluster(cluster&&) noexcept = default;
cluster& cluster::operator=(cluster&&) noexcept = default;

// A moved-from cluster has no executor of its own: its open_bucket completes (with not_connected) on the
// system executor rather than throwing bad_executor.
asio::any_io_executor cluster::get_executor() const { return impl_ ? impl_->ex : asio::any_io_executor(asio::system_executor()); }
std::string cluster::last_error_detail() const { return impl_ ? impl_->get_last_error() : std::string{}; }

void cluster::start_open(const std::shared_ptr<impl>& self, std::string bucket, detail::completion<open_signature> done)
{
  if (!self) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {}); // a moved-from cluster
  detail::bucket_settings s;
  s.cs = self->cs;
  s.username = self->creds.username;
  s.password = self->creds.password;
  s.bucket = bucket.empty() ? self->cs.bucket : bucket;
  s.ssl = self->ssl;
  s.single_threaded = self->options.single_threaded;
  if (s.bucket.empty() && self->cs.scheme != topology::scheme::memcached) {
    self->set_last_error("no bucket named (neither in the connection string nor in open_bucket)");
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  auto b = std::make_shared<detail::bucket_impl>(self->ex, std::move(s));
  auto shared_done = std::make_shared<detail::completion<open_signature>>(std::move(done));
  std::weak_ptr<impl> weak = self;
  b->open([b, shared_done, weak](std::error_code ec, std::string detail) {
    if (ec) {
      if (auto c = weak.lock()) c->set_last_error(std::move(detail));
      b->close();
      std::move(*shared_done)(ec, async_bucket{});
      return;
    }
    std::move(*shared_done)({}, async_bucket(b));
  });
}

} // namespace couchkv
