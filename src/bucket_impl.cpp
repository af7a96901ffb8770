#include "bucket_impl.hpp"
#include "durability.hpp"

#include <couchkv/io/executor.hpp>

#include <couchkv/errors.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response_shape.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <limits>
#include <mutex>

namespace couchkv::detail {

using protocol::status;

namespace {
// A node's answer to the handshake that waiting will not change: the credentials, the mechanism
// or the bucket were refused.
bool refuses_us(std::error_code ec) noexcept
{
  return ec == errc::authentication_failure || ec == protocol::client_errc::bucket_not_found ||
         ec == protocol::client_errc::sasl_no_common_mechanism;
}

std::string hex16(std::uint16_t v)
{
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(4, '0');
  for (int i = 3; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 0xf];
  return s;
}

// An operation whose end is a request_done (execute(spec, done)'s callers: the composite operations).
class fn_op final : public op_base {
public:
  // Constructed, never assigned: Asio 1.81's any_completion_handler move assignment recurses.
  fn_op(request_spec&& s, request_done&& d) : spec_(std::move(s)), done_(std::move(d))
  {
    opcode = spec_.op;
    key = spec_.key;
    timeout = spec_.timeout;
    where = spec_.where;
    replica_index = spec_.replica_index;
    had_cas = spec_.had_cas;
    node_index = spec_.node_index;
  }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) override { spec_.encode(out, k); }
  void on_done(const std::shared_ptr<op_base>&, std::error_code ec, const protocol::packet_view* p) override
  {
    auto ctx = context(p);
    std::move(done_)(ec, p != nullptr ? io::kv_response(*p) : io::kv_response{}, std::move(ctx));
  }

private:
  request_spec spec_;
  request_done done_;
};
} // namespace

op_base::op_base() = default;
op_base::~op_base() = default;

error_context op_base::context(const protocol::packet_view* p) const
{
  error_context ctx;
  ctx.key = std::string(key);
  ctx.operation = protocol::to_string(opcode);
  ctx.last_retry_reason = last_reason;
  ctx.retries = attempts;
  ctx.endpoint = endpoint;
  ctx.vbucket = vbucket;
  if (started != std::chrono::steady_clock::time_point{}) {
    ctx.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  }
  ctx.server_message = failure_detail;
  if (p == nullptr && last_status != 0) {
    // Retried until the deadline: the status the server kept sending.
    ctx.status = last_status;
    if (ctx.server_message.empty() && bucket) ctx.server_message = bucket->error_map_text(static_cast<status>(last_status));
  }
  if (p != nullptr) {
    ctx.status = static_cast<std::uint16_t>(p->status());
    if (p->status() != status::success) {
      // The server's own words: an XERROR body (JSON) when it sent one, else the error map's.
      if ((p->datatype() & 0x01) != 0 && !p->value.empty()) ctx.server_message = std::string(protocol::as_string_view(p->value));
      else if (bucket) ctx.server_message = bucket->error_map_text(p->status());
    }
  }
  return ctx;
}

void op_base::on_response(std::size_t, const protocol::packet_view& response)
{
  auto self = std::move(in_flight);
  bucket->on_attempt_done(self, {}, &response);
}

void op_base::on_error(std::size_t, std::error_code ec)
{
  auto self = std::move(in_flight);
  bucket->on_attempt_done(self, ec, nullptr);
}

std::shared_ptr<bucket_impl> internal_ref(const std::shared_ptr<bucket_impl>& handle) noexcept
{
  return handle ? handle->shared_from_this() : nullptr;
}

void submit(std::shared_ptr<op_base> op)
{
  auto* b = op->bucket.get();
  b->execute(std::move(op));
}

const asio::any_io_executor& executor_of(const bucket_impl* b) noexcept
{
  static const asio::any_io_executor none{asio::system_executor()};
  return b != nullptr ? b->executor() : none;
}

std::string bucket_impl::error_map_text(protocol::status st) const
{
  if (!error_map_) return {};
  const auto* info = error_map_->find(static_cast<std::uint16_t>(st));
  if (info == nullptr) return {};
  return info->name + ": " + info->description;
}

bucket_impl::bucket_impl(asio::any_io_executor ex, bucket_settings settings)
    : strand_(settings.single_threaded ? ex : asio::any_io_executor(asio::make_strand(ex))),
      settings_(std::move(settings)),
      retry_strategy_(settings_.cs.options.retry_best_effort ? retry_strategy::best_effort : retry_strategy::fail_fast),
      poll_timer_(strand_),
      stream_timer_(strand_)
{
  if (is_memcached()) {
    std::vector<std::pair<std::string, std::uint32_t>> servers;
    for (const auto& ep : settings_.cs.endpoints) {
      topology::node n;
      n.hostname = ep.host;
      servers.emplace_back(n.authority(ep.port), static_cast<std::uint32_t>(static_nodes_.size()));
      static_nodes_.emplace_back(ep.host, ep.port);
    }
    ketama_ = topology::ketama_router(std::move(servers));
  }
}

bucket_impl::~bucket_impl() = default;

std::size_t bucket_impl::num_replicas() const
{
  auto cfg = tracker_.current();
  return cfg ? cfg->num_replicas() : 0;
}

std::vector<std::pair<std::string, std::uint16_t>> bucket_impl::http_endpoints(http_service svc) const
{
  std::vector<std::pair<std::string, std::uint16_t>> out;
  auto cfg = tracker_.current();
  if (!cfg) return out;
  const bool tls = settings_.cs.tls();
  for (const auto& n : cfg->nodes) {
    const auto& ports = tls ? n.tls : n.plain;
    const auto port = svc == http_service::views ? ports.views : ports.mgmt;
    if (port != 0) out.emplace_back(n.hostname, port);
  }
  return out;
}

std::shared_ptr<io::http_client> bucket_impl::http_client_for(const std::string& host, std::uint16_t port)
{
  auto id = host + ":" + std::to_string(port);
  auto& c = http_clients_[id];
  if (!c) {
    io::http_settings s;
    s.host = host;
    s.port = port;
    s.tls = settings_.cs.tls();
    s.ssl_context = settings_.ssl.get();
    s.verify_hostname = settings_.cs.options.verify == topology::tls_verify::peer;
    s.username = settings_.username;
    s.password = settings_.password;
    s.connect_timeout = settings_.cs.options.connect_timeout;
    if (!settings_.cs.options.user_agent.empty()) s.user_agent = settings_.cs.options.user_agent;
    c = io::http_client::create(strand_, std::move(s));
  }
  return c;
}

std::vector<std::size_t> bucket_impl::kv_nodes() const
{
  std::vector<std::size_t> out;
  if (is_memcached()) {
    for (std::size_t i = 0; i < static_nodes_.size(); ++i) out.push_back(i);
    return out;
  }
  if (auto cfg = tracker_.current()) out = cfg->data_nodes();
  return out;
}

std::optional<vbucket_placement> bucket_impl::placement_of(std::string_view key) const
{
  if (is_memcached()) return std::nullopt;
  auto cfg = tracker_.current();
  if (!cfg || !cfg->vbmap || cfg->vbmap->rows.empty()) return std::nullopt;
  vbucket_placement p;
  p.vbucket = topology::vbucket_of(key, cfg->vbmap->num_vbuckets());
  p.configured_replicas = cfg->num_replicas();
  p.data_nodes = cfg->data_nodes().size();
  p.active = topology::node_for_vbucket(*cfg->vbmap, p.vbucket, 0);
  for (std::size_t r = 1; r <= p.configured_replicas; ++r) p.replicas.push_back(topology::node_for_vbucket(*cfg->vbmap, p.vbucket, r));
  return p;
}

std::optional<key_location> bucket_impl::locate(std::string_view key) const
{
  key_location out{.key = std::string(key)};
  if (is_memcached()) {
    if (ketama_.empty()) return std::nullopt;
    const auto index = ketama_.node_for(key);
    topology::node n;
    n.hostname = static_nodes_[index].first;
    out.master = node_endpoint{index, n.authority(static_nodes_[index].second)};
    return out;
  }
  auto cfg = tracker_.current();
  if (!cfg) return std::nullopt;
  auto endpoint = [&](std::int64_t index) -> std::optional<node_endpoint> {
    if (index < 0 || static_cast<std::size_t>(index) >= cfg->nodes.size()) return std::nullopt;
    const auto i = static_cast<std::size_t>(index);
    return node_endpoint{i, cfg->nodes[i].kv_authority(settings_.cs.tls())};
  };
  if (cfg->locator == topology::node_locator::ketama) {
    if (ketama_.empty()) return std::nullopt;
    out.master = endpoint(ketama_.node_for(key));
    return out;
  }
  auto p = placement_of(key);
  if (!p) return std::nullopt;
  out.vbucket = p->vbucket;
  out.master = endpoint(p->active);
  for (int r : p->replicas) out.replicas.push_back(endpoint(r));
  return out;
}

io::connection_settings bucket_impl::connection_settings_for(const std::string& host, std::uint16_t port) const
{
  const auto& o = settings_.cs.options;
  io::connection_settings s;
  s.host = host;
  s.port = port;
  s.tls = settings_.cs.tls();
  s.ssl_context = settings_.ssl.get();
  s.verify_hostname = o.verify == topology::tls_verify::peer;
  s.connect_timeout = o.connect_timeout;
  s.max_in_flight = o.max_queue_size;
  auto& b = s.bootstrap;
  if (!o.user_agent.empty()) b.agent = o.user_agent;
  if (!settings_.username.empty()) b.creds = io::credentials{settings_.username, settings_.password};
  // PLAIN only over TLS with a verified peer, unless the user asked for it (allow_plain_auth).
  b.tls_verified = s.tls && o.verify == topology::tls_verify::peer;
  b.allow_plain = o.allow_plain_auth;
  if (!o.sasl_mechanisms.empty()) {
    b.mechanisms.clear();
    for (const auto& m : o.sasl_mechanisms) {
      if (auto mech = protocol::parse_sasl_mechanism(m)) b.mechanisms.push_back(*mech);
    }
  }
  if (!o.enable_mutation_tokens) std::erase(b.features, protocol::hello_feature::mutation_seqno);
  if (is_memcached()) {
    b.hello = false;
    b.fetch_config = false;
    b.fetch_error_map = false;
  } else {
    b.bucket = settings_.bucket;
  }
  if (http_mode_) {
    // Configs come over HTTP: the KV connections need neither CCCP nor pushes.
    b.fetch_config = false;
    std::erase(b.features, protocol::hello_feature::clustermap_change_notification);
    std::erase(b.features, protocol::hello_feature::clustermap_change_notification_brief);
  }
  return s;
}

// ---- bootstrap --------------------------------------------------------------------------------

namespace {
// One per execution context: the buckets running on it, so that the context's shutdown can
// abandon() those still alive (see bucket_impl::abandon).
class bucket_registry final : public asio::execution_context::service {
public:
  using key_type = bucket_registry;
  static inline asio::execution_context::id id;
  explicit bucket_registry(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void add(const std::shared_ptr<bucket_impl>& b)
  {
    std::lock_guard lock(m_);
    std::erase_if(buckets_, [](const std::weak_ptr<bucket_impl>& w) { return w.expired(); });
    buckets_.push_back(b);
  }

private:
  void shutdown() override
  {
    std::vector<std::weak_ptr<bucket_impl>> buckets;
    {
      std::lock_guard lock(m_);
      buckets.swap(buckets_);
    }
    for (const auto& w : buckets) {
      if (auto b = w.lock()) b->abandon();
    }
  }
  std::mutex m_;
  std::vector<std::weak_ptr<bucket_impl>> buckets_;
};
} // namespace

void bucket_impl::abandon() noexcept
{
  abandoned_.store(true, std::memory_order_release);
  closed_ = true;
  routes_.clear();
  routes_config_.reset();
  // Destroyed here, outside the members (a pool's destructor may call back into the bucket).
  auto conns = std::move(conns_);
  conns_.clear();
  auto http = std::move(http_clients_);
  http_clients_.clear();
}

void bucket_impl::open(std::function<void(std::error_code, std::string)> done)
{
  asio::use_service<bucket_registry>(asio::query(strand_, asio::execution::context)).add(shared_from_this());
  auto shared_done = std::make_shared<std::function<void(std::error_code, std::string)>>(std::move(done));
  asio::dispatch(strand_, [self = shared_from_this(), shared_done] {
    self->try_bootstrap(0, shared_done, protocol::client_errc::connection_failed, "no endpoint");
  });
}

void bucket_impl::try_bootstrap(std::size_t index, std::shared_ptr<std::function<void(std::error_code, std::string)>> done,
                                std::error_code last_ec, std::string last_detail)
{
  const auto& eps = settings_.cs.endpoints;
  if (index >= eps.size()) {
    (*done)(last_ec, last_detail);
    return;
  }
  const auto& ep = eps[index];
  if (ep.http) return try_http_bootstrap(index, std::move(done), std::move(last_ec), std::move(last_detail));
  auto c = io::kv_connection::create(strand_, connection_settings_for(ep.host, ep.port));
  c->async_connect(asio::bind_executor(strand_, [self = shared_from_this(), c, index, done, host = ep.host,
                                                 port = ep.port](std::error_code ec) {
    if (ec) {
      auto detail = host + ":" + std::to_string(port) + ": " + c->last_error_detail();
      // Credentials and bucket errors are the same on every node: do not try the others.
      if (refuses_us(ec)) {
        (*done)(ec, detail);
        return;
      }
      self->try_bootstrap(index + 1, done, ec, detail);
      return;
    }
    topology::node n;
    n.hostname = host;
    auto identity = n.authority(port);
    // The bootstrap connection only fetches what every node shares (config, error map); the
    // node pools carry the operations.
    c->close_gracefully();
    if (self->is_memcached()) return self->connect_data_nodes(done);
    const auto& boot = c->bootstrap();
    self->error_map_ = boot.error_map;
    if (!boot.config_json) {
      (*done)(couchkv::client_errc::feature_not_available,
              host + ":" + std::to_string(port) + " gave no cluster config (not a Couchbase node?)");
      return;
    }
    auto r = self->tracker_.offer(*boot.config_json, host);
    if (r.status != topology::config_tracker::outcome::applied) {
      (*done)(couchkv::client_errc::config_rejected, r.error.message());
      return;
    }
    auto cfg = self->tracker_.current();
    if (cfg->locator == topology::node_locator::ketama) self->ketama_ = topology::ketama_router(*cfg);
    self->poll_config();
    self->connect_data_nodes(done);
  }));
}

// HTTP bootstrap (libcouchbase's "host:8091"): the terse config from /pools/default/b/<bucket>,
// then the streaming URI keeps it current. KV connections then neither poll nor ask for pushes.
void bucket_impl::try_http_bootstrap(std::size_t index,
                                     std::shared_ptr<std::function<void(std::error_code, std::string)>> done,
                                     std::error_code last_ec, std::string last_detail)
{
  (void)last_ec;
  (void)last_detail;
  const auto ep = settings_.cs.endpoints[index];
  io::http_request req;
  req.target = "/pools/default/b/" + settings_.bucket;
  req.deadline = io::clock::now() + settings_.cs.options.connect_timeout;
  http_client_for(ep.host, ep.port)
      ->async_request(std::move(req), asio::bind_executor(strand_, [self = shared_from_this(), index, done, ep](
                                                                      std::error_code ec, io::http_response r) {
        const auto where = ep.host + ":" + std::to_string(ep.port);
        if (ec) return self->try_bootstrap(index + 1, done, ec, where + " (HTTP): " + r.detail);
        if (r.status == 401) {
          (*done)(make_error_code(status::auth_error), where + " (HTTP): 401, the credentials were refused");
          return;
        }
        if (r.status == 404) {
          (*done)(protocol::client_errc::bucket_not_found, where + " (HTTP): no bucket \"" + self->settings_.bucket + "\"");
          return;
        }
        if (r.status != 200) {
          return self->try_bootstrap(index + 1, done, protocol::client_errc::unexpected_response,
                                     where + " (HTTP): status " + std::to_string(r.status));
        }
        auto offered = self->tracker_.offer(r.body, ep.host);
        if (offered.status != topology::config_tracker::outcome::applied) {
          (*done)(couchkv::client_errc::config_rejected, where + " (HTTP): " + offered.error.message());
          return;
        }
        self->http_mode_ = true;
        self->http_origin_ = {ep.host, ep.port};
        auto cfg = self->tracker_.current();
        if (cfg->locator == topology::node_locator::ketama) self->ketama_ = topology::ketama_router(*cfg);
        self->start_config_stream();
        self->connect_data_nodes(done);
      }));
}

// Open means ready: a pool per data node (every node of the config, or every memcached:// server),
// and `done` once each has a connection up or has failed its first attempts (bounded by the
// connect timeout). Nodes that failed are reported (unreachable_nodes); if none came up, the open
// fails with the reason, a refusal (credentials, bucket) first.
void bucket_impl::connect_data_nodes(std::shared_ptr<std::function<void(std::error_code, std::string)>> done)
{
  struct node_ref {
    std::string identity, host;
    std::uint16_t port;
  };
  std::vector<node_ref> nodes;
  if (is_memcached()) {
    for (const auto& [host, port] : static_nodes_) {
      topology::node n;
      n.hostname = host;
      nodes.push_back({n.authority(port), host, port});
    }
  } else if (const auto& cfg = tracker_.current()) {
    for (auto i : cfg->data_nodes()) {
      const auto& nd = cfg->nodes[i];
      nodes.push_back({topology::node_identity(nd), nd.hostname, settings_.cs.tls() ? nd.tls.kv : nd.plain.kv});
    }
  }
  struct waiting {
    std::shared_ptr<std::function<void(std::error_code, std::string)>> done;
    std::size_t nodes{0};
    std::size_t left{0};
    std::vector<node_problem> problems;
  };
  auto w = std::make_shared<waiting>();
  w->done = std::move(done);
  w->nodes = w->left = nodes.size();
  auto finished_one = [w, self = shared_from_this()] {
    if (--w->left != 0) return;
    if (w->problems.size() < w->nodes || w->nodes == 0) {
      self->unreachable_ = std::move(w->problems);
      return (*w->done)({}, {});
    }
    // Nobody accepted us. A refusal says more than a refused connection: report it first.
    auto first = std::find_if(w->problems.begin(), w->problems.end(), [](const node_problem& p) { return refuses_us(p.ec); });
    if (first == w->problems.end()) first = w->problems.begin();
    std::string detail = "no data node could be used:";
    for (const auto& p : w->problems) detail += " " + p.endpoint + ": " + p.detail + ";";
    detail.pop_back();
    (*w->done)(first->ec, std::move(detail));
  };
  if (nodes.empty()) return (*w->done)({}, {});
  for (const auto& n : nodes) {
    auto pool = connect_node(n.identity, n.host, n.port, false);
    if (!pool) {
      if (n.port == 0) w->problems.push_back({n.identity, make_error_code(protocol::client_errc::connection_failed),
                                              "the config gives it no KV port"});
      finished_one();
      continue;
    }
    pool->async_start(asio::bind_executor(strand_, [pool, id = n.identity, w, finished_one](std::error_code ec) {
      if (ec) {
        const auto& f = pool->last_connect_failure();
        w->problems.push_back({id, f ? f->ec : ec, f ? f->detail : ec.message()});
      }
      finished_one();
    }));
  }
}

void bucket_impl::start_config_stream()
{
  if (closed_) return;
  auto eps = http_endpoints(http_service::mgmt);
  if (eps.empty()) eps.push_back(http_origin_);
  const auto ep = eps[stream_rr_++ % eps.size()];
  io::http_request req;
  req.target = "/pools/default/bs/" + settings_.bucket;
  req.deadline = io::clock::now() + std::chrono::hours(24 * 365); // a stream has no end
  auto pending = std::make_shared<std::string>();
  std::weak_ptr<bucket_impl> weak = shared_from_this();
  http_client_for(ep.first, ep.second)
      ->async_stream(
          std::move(req),
          // Configs arrive separated by four newlines; each one is offered like a pushed config.
          [weak, pending, host = ep.first](const io::http_response& head, std::string_view chunk, bool is_head) {
            auto self = weak.lock();
            if (!self || self->closed_) return false;
            if (is_head) return head.status == 200;
            pending->append(chunk);
            for (auto pos = pending->find("\n\n\n\n"); pos != std::string::npos; pos = pending->find("\n\n\n\n")) {
              std::string cfg = pending->substr(0, pos);
              pending->erase(0, pos + 4);
              if (cfg.find_first_not_of(" \r\n\t") != std::string::npos) self->apply_config(cfg, host);
            }
            return pending->size() < 64 * 1024 * 1024; // a "config" this big is not one
          },
          asio::bind_executor(strand_, [weak](std::error_code, io::http_response) {
            auto self = weak.lock();
            if (!self || self->closed_) return;
            // The stream ended (node gone, connection cut): reopen it, on the next node, soon.
            self->stream_timer_.expires_after(std::chrono::milliseconds(200));
            self->stream_timer_.async_wait([weak](boost::system::error_code ec) {
              auto s = weak.lock();
              if (!ec && s) s->start_config_stream();
            });
          }));
}

// ---- connections ------------------------------------------------------------------------------

void bucket_impl::watch(const std::shared_ptr<io::node_pool>& p, const std::string& identity)
{
  std::weak_ptr<bucket_impl> weak = shared_from_this();
  // The pool runs on strand_, so this is called there.
  p->on_open([weak, identity] {
    auto self = weak.lock();
    if (!self) return;
    if (auto it = self->conns_.find(identity); it != self->conns_.end()) wake(it->second);
  });
  // A node that refuses us: what waits for it fails now (not_sent sees why) instead of at its deadline.
  p->on_connect_error([weak, identity](std::error_code ec, const std::string&) {
    auto self = weak.lock();
    if (!self || !refuses_us(ec)) return;
    if (auto it = self->conns_.find(identity); it != self->conns_.end()) wake(it->second);
  });
  auto host = p->settings().connection.host;
  p->on_server_request([weak, host](const protocol::packet_view& pk) {
    auto self = weak.lock();
    if (!self || static_cast<protocol::server_opcode>(pk.hdr.opcode) != protocol::server_opcode::clustermap_change_notification) {
      return;
    }
    std::string body(protocol::as_string_view(pk.value));
    asio::dispatch(self->strand_, [self, host, body = std::move(body)] {
      if (!body.empty()) self->apply_config(body, host);
      else self->poll_config(); // brief notification: fetch it
    });
  });
}

std::shared_ptr<io::node_pool> bucket_impl::connect_node(const std::string& identity, const std::string& host,
                                                         std::uint16_t port, bool start)
{
  auto& nc = conns_[identity];
  if (nc.pool || closed_ || port == 0) return nullptr;
  io::pool_settings ps;
  ps.connection = connection_settings_for(host, port);
  ps.size = std::max<std::uint32_t>(1, settings_.cs.options.kv_pool_size);
  ps.max_in_flight = settings_.cs.options.max_queue_size;
  // The bucket parks what the pool refuses (not_sent): a new config may route it elsewhere.
  ps.wait_for_connection = false;
  nc.pool = io::node_pool::create(strand_, std::move(ps));
  watch(nc.pool, identity);
  if (start) nc.pool->async_start(asio::detached);
  return nc.pool;
}

io::node_pool* bucket_impl::connection_for(std::size_t node_index, std::string& endpoint,
                                           const std::shared_ptr<const topology::bucket_config>& cfg)
{
  // What a node index resolved to is kept until the config changes (held here, so its address
  // cannot be reused by a newer one): no strings built and no map searched per operation.
  if (routes_config_ != cfg) {
    routes_.clear();
    routes_config_ = cfg;
  }
  if (node_index < routes_.size() && routes_[node_index].pool != nullptr) {
    endpoint = routes_[node_index].endpoint;
    return routes_[node_index].pool;
  }
  auto* pool = resolve_connection(node_index, endpoint);
  if (pool != nullptr) {
    if (routes_.size() <= node_index) routes_.resize(node_index + 1);
    routes_[node_index] = {pool, endpoint};
  }
  return pool;
}

io::node_pool* bucket_impl::resolve_connection(std::size_t node_index, std::string& endpoint)
{
  std::string identity, host;
  std::uint16_t port = 0;
  if (is_memcached()) {
    if (node_index >= static_nodes_.size()) return nullptr;
    topology::node n;
    n.hostname = static_nodes_[node_index].first;
    host = n.hostname;
    port = static_nodes_[node_index].second;
    identity = n.authority(port);
  } else {
    auto cfg = tracker_.current();
    if (!cfg || node_index >= cfg->nodes.size()) return nullptr;
    const auto& nd = cfg->nodes[node_index];
    identity = topology::node_identity(nd);
    host = nd.hostname;
    port = settings_.cs.tls() ? nd.tls.kv : nd.plain.kv;
  }
  endpoint = identity;
  auto& nc = conns_[identity];
  if (!nc.pool) connect_node(identity, host, port);
  return nc.pool.get();
}

// ---- configs ------------------------------------------------------------------------------------

void bucket_impl::apply_config(std::string_view json, const std::string& origin)
{
  auto r = tracker_.offer(json, origin);
  if (r.status != topology::config_tracker::outcome::applied) return;
  auto cfg = tracker_.current();
  if (cfg->locator == topology::node_locator::ketama) ketama_ = topology::ketama_router(*cfg);
  // Drain and close connections to nodes that left; new nodes connect on first use.
  for (const auto& gone : r.diff.removed) {
    if (auto it = conns_.find(gone); it != conns_.end()) {
      if (it->second.pool) it->second.pool->close_gracefully();
      wake(it->second);
      conns_.erase(it);
    }
  }
  // Operations waiting for a node that was down may belong elsewhere now: route them again.
  for (auto& [id, nc] : conns_) wake(nc);
}

void bucket_impl::poll_config()
{
  if (closed_ || is_memcached() || http_mode_) return;
  auto interval = settings_.cs.options.config_poll_interval;
  poll_timer_.expires_after(interval);
  poll_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_) return;
    // Ask one node (rotating, so a dead one does not stall polling).
    if (!self->conns_.empty()) {
      auto it = self->conns_.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(self->poll_rr_++ % self->conns_.size()));
      auto& nc = it->second;
      if (!nc.pool) {
        self->poll_config();
        return;
      }
      protocol::byte_buffer b;
      protocol::append_get_cluster_config(b, 0);
      auto host = nc.pool->settings().connection.host;
      nc.pool->async_execute({std::move(b), io::clock::now() + self->settings_.cs.options.kv_timeout},
                             asio::bind_executor(self->strand_, [self, host](std::error_code e, io::kv_response r) {
                               if (!e && r.status() == status::success && !r.value().empty()) {
                                 self->apply_config(r.value_string(), host);
                               }
                             }));
    }
    self->poll_config();
  });
}

// ---- requests -----------------------------------------------------------------------------------

void bucket_impl::execute_erased(request_spec spec, request_done done)
{
  auto o = std::allocate_shared<fn_op>(io::handler_allocator<fn_op>{}, std::move(spec), std::move(done));
  o->bucket = shared_from_this();
  o->started = io::clock::now();
  execute(std::move(o));
}

void bucket_impl::execute(std::shared_ptr<op_base> o)
{
  auto timeout = o->timeout.count() ? o->timeout : settings_.cs.options.kv_timeout;
  if (o->started == io::clock::time_point{}) o->started = io::clock::now();
  o->deadline = deadline_after(o->started, timeout);
  if (timeout.count() < 0) {
    // A negative timeout is a caller's bug, not an immediate timeout: nothing is sent.
    return asio::dispatch(strand_, [self = shared_from_this(), o] {
      self->finish(o, protocol::client_errc::invalid_argument, nullptr);
    });
  }
  if (o->durability != nullptr) {
    // Checked against the current map (on the strand) before the mutation is sent: refused,
    // nothing was applied. Polling needs replicas a memcached bucket does not have.
    return asio::dispatch(strand_, [self = shared_from_this(), o] {
      if (self->is_ketama()) return self->finish(o, make_error_code(couchkv::client_errc::feature_not_available), nullptr);
      std::string why;
      if (auto ec = durability_possible(*self, o->key, o->durability->persist_to, o->durability->replicate_to, why)) {
        o->failure_detail = std::move(why);
        return self->finish(o, ec, nullptr);
      }
      self->attempt(o);
    });
  }
  if (io::running_on(strand_)) return attempt(std::move(o)); // dispatch, minus the wrapping
  asio::dispatch(strand_, [self = shared_from_this(), o] { self->attempt(o); });
}

void bucket_impl::attempt(std::shared_ptr<op> o)
{
  if (closed_) return finish(o, protocol::client_errc::cancelled, nullptr);
  // The time left, for a retry decision only: the clock is not read on the common path.
  auto remaining = [&o] { return std::chrono::duration_cast<std::chrono::milliseconds>(o->deadline - io::clock::now()); };
  std::size_t node = 0;
  std::uint16_t vb = 0;
  const auto& cfg = tracker_.current(); // nothing below offers a config: the reference stays valid
  if (o->node_index) {
    if (!is_memcached() && !cfg) return retry(o, {true, retry_reason::no_config, std::chrono::milliseconds(5)}, {});
    node = *o->node_index;
  } else if (is_memcached() || (cfg && cfg->locator == topology::node_locator::ketama)) {
    if (ketama_.empty()) return retry(o, {true, retry_reason::no_config, std::chrono::milliseconds(5)}, {});
    node = ketama_.node_for(o->key);
  } else {
    if (!cfg || !cfg->vbmap) return retry(o, {true, retry_reason::no_config, std::chrono::milliseconds(5)}, {});
    vb = topology::vbucket_of(o->key, cfg->vbmap->num_vbuckets());
    std::size_t replica = o->where == target::replica ? o->replica_index : 0;
    if (replica > cfg->num_replicas()) return finish(o, protocol::client_errc::invalid_argument, nullptr);
    int n = topology::node_for_vbucket(*cfg->vbmap, vb, replica);
    if (n < 0) {
      auto d = decide_retry(o->opcode, {attempt_failure::not_sent, status::success, nullptr}, o->attempts, remaining());
      return retry(o, d, o->where == target::replica ? make_error_code(couchkv::client_errc::no_node_for_vbucket) : std::error_code{});
    }
    node = static_cast<std::size_t>(n);
  }
  auto* conn = connection_for(node, o->endpoint, cfg);
  if (!conn) {
    auto d = decide_retry(o->opcode, {attempt_failure::not_sent, status::success, nullptr}, o->attempts, remaining());
    return retry(o, d, {});
  }
  o->vbucket = vb;
  // No connection up (the pool would refuse it): wait for one without building the packet and
  // taking the round trip through the pool's refusal.
  if (!conn->has_open_connection()) return not_sent(o, true);
  if (!o->needs.empty()) {
    // A request the server did not agree to in HELLO would be dropped with the connection, and
    // with it everything else in flight there: refused here, nothing written.
    if (auto missing = o->needs.first_missing_from(conn->features())) {
      o->failure_detail = o->endpoint + " did not grant " + std::string(protocol::to_string(*missing)) +
                          " (HELLO 0x" + hex16(static_cast<std::uint16_t>(*missing)) + "), which this request needs";
      return finish(o, make_error_code(couchkv::client_errc::feature_not_available), nullptr);
    }
  }
  send_buf_.clear();
  o->encode(send_buf_, {.key = o->key, .vbucket = vb});
  // The operation is the connection's sink: it holds itself until told (op_base::on_response).
  o->in_flight = o;
  if (auto ec = conn->execute({send_buf_.data(), send_buf_.size()}, o->deadline, *o)) {
    o->in_flight.reset();
    on_attempt_done(o, ec, nullptr);
  }
}

// The outcome of one attempt that went to a connection: finished, or retried per retry.hpp.
void bucket_impl::on_attempt_done(const std::shared_ptr<op>& o, std::error_code ec, const protocol::packet_view* r)
{
  auto left = [&o] { return std::chrono::duration_cast<std::chrono::milliseconds>(o->deadline - io::clock::now()); };
  if (ec == protocol::client_errc::not_connected || ec == protocol::client_errc::queue_full) {
    return not_sent(o, ec == protocol::client_errc::not_connected);
  }
  if (ec == protocol::client_errc::connection_closed) {
    // Why the connection went, for the error this operation may end with.
    if (auto it = conns_.find(o->endpoint); it != conns_.end() && it->second.pool) {
      if (const auto& loss = it->second.pool->last_connection_loss(); loss && !loss->detail.empty()) {
        o->failure_detail = o->endpoint + ": connection lost: " + loss->detail;
      }
    }
    auto d = decide_retry(o->opcode, {attempt_failure::connection_lost, status::success, nullptr}, o->attempts, left());
    if (!d.retry && protocol::is_mutation(o->opcode)) {
      // It may have been applied: report that, not a retry.
      o->last_reason = retry_reason::connection_lost;
      return finish(o, protocol::client_errc::connection_closed, nullptr);
    }
    return retry(o, d, {});
  }
  if (ec == protocol::client_errc::timeout) return finish(o, timeout_error(o->opcode, true), nullptr);
  if (ec) return finish(o, ec, nullptr);
  if (auto defect = protocol::defect_of(o->opcode, *r); defect != protocol::response_defect::none) {
    // A success without what its opcode promises: no retry (a mutation was applied), and the
    // connection stays (the packet's lengths were consistent: the stream is in step).
    o->failure_detail = protocol::describe(defect, o->opcode, *r);
    return finish(o, protocol::client_errc::malformed_response, r);
  }
  auto st = r->status();
  if (st == status::success) return finish(o, {}, r);
  if (st == status::not_my_vbucket) {
    if (!r->value.empty()) apply_config(protocol::as_string_view(r->value), o->endpoint.substr(0, o->endpoint.rfind(':')));
  }
  const protocol::error_info* entry = error_map_ ? error_map_->find(static_cast<std::uint16_t>(st)) : nullptr;
  const retry_policy policy{o->retry.value_or(retry_strategy_.load(std::memory_order_relaxed)),
                            o->retry == retry_strategy::best_effort};
  const auto elapsed = o->started == io::clock::time_point{} ? std::chrono::milliseconds{0}
                       : std::chrono::duration_cast<std::chrono::milliseconds>(io::clock::now() - o->started);
  auto d = decide_retry(o->opcode, {attempt_failure::status, st, entry}, o->attempts, left(), policy, elapsed);
  if (d.reason != retry_reason::none) {
    o->last_status = static_cast<std::uint16_t>(st);
    return retry(o, d, {});
  }
  finish(o, {}, r);
}

// ---- multi-key GET ----------------------------------------------------------------------------

// One node's share of a get_batch, as the connection's sink: a success goes straight to the batch;
// anything else continues as that key's single operation would after its attempt. Deletes itself
// after its last key.
class bucket_impl::node_batch final : public io::batch_sink {
public:
  node_batch(std::shared_ptr<bucket_impl> bucket, std::shared_ptr<get_batch> batch, io::clock::time_point deadline,
             std::string endpoint, std::size_t n)
      : bucket_(std::move(bucket)), batch_(std::move(batch)), deadline_(deadline), endpoint_(std::move(endpoint)),
        left_(n)
  {
    keys.reserve(n);
  }
  struct key {
    std::uint32_t index; // in the batch
    std::uint16_t vbucket;
  };
  std::vector<key> keys; // by position in this node's share

  void on_response(std::size_t pos, const protocol::packet_view& p) override
  {
    auto k = keys[pos];
    if (p.status() == status::success && protocol::defect_of(protocol::opcode::get, p) == protocol::response_defect::none) {
      batch_->found(k.index, p);
    } else {
      go_on(k, {}, &p);
    }
    finished_one();
  }
  void on_error(std::size_t pos, std::error_code ec) override
  {
    go_on(keys[pos], ec, {});
    finished_one();
  }
  void on_abandoned(std::size_t) noexcept override { finished_one(); }

private:
  void go_on(key k, std::error_code ec, const protocol::packet_view* r)
  {
    auto o = bucket_->batch_key_op(batch_, k.index, deadline_);
    o->endpoint = endpoint_;
    o->vbucket = k.vbucket;
    bucket_->on_attempt_done(o, ec, r);
  }
  void finished_one()
  {
    if (--left_ == 0) delete this;
  }
  std::shared_ptr<bucket_impl> bucket_;
  std::shared_ptr<get_batch> batch_;
  io::clock::time_point deadline_;
  std::string endpoint_;
  std::size_t left_;
};

namespace {
// One key of a get_batch that continues on its own (a retry, a connection lost, no connection to
// send it on): a GET whose end is the batch's.
class batch_key final : public op_base {
public:
  batch_key(std::shared_ptr<get_batch> b, std::size_t index) : batch_(std::move(b)), index_(index)
  {
    opcode = protocol::opcode::get;
    key = batch_->keys[index];
    timeout = batch_->timeout;
  }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) override { protocol::append_get(out, 0, k); }
  void on_done(const std::shared_ptr<op_base>&, std::error_code ec, const protocol::packet_view* p) override
  {
    batch_->done(index_, ec, p, ec || p == nullptr || p->status() != status::success ? context(p) : error_context{});
  }

private:
  std::shared_ptr<get_batch> batch_;
  std::size_t index_;
};
} // namespace

std::shared_ptr<bucket_impl::op> bucket_impl::batch_key_op(const std::shared_ptr<get_batch>& b, std::size_t index,
                                                           io::clock::time_point deadline)
{
  auto o = std::allocate_shared<batch_key>(io::handler_allocator<batch_key>{}, b, index);
  o->bucket = shared_from_this();
  o->deadline = deadline;
  return o;
}

void bucket_impl::execute_get_batch(std::shared_ptr<get_batch> batch)
{
  if (io::running_on(strand_)) return run_get_batch(batch);
  asio::dispatch(strand_, [self = shared_from_this(), batch = std::move(batch)] { self->run_get_batch(batch); });
}

void bucket_impl::run_get_batch(const std::shared_ptr<get_batch>& b)
{
  const auto n = b->keys.size();
  if (n == 0) return;
  const auto timeout = b->timeout.count() ? b->timeout : settings_.cs.options.kv_timeout;
  const auto deadline = deadline_after(io::clock::now(), timeout);
  if (timeout.count() < 0) {
    // A negative timeout: every key fails with invalid_argument, nothing is sent.
    for (std::size_t i = 0; i < n; ++i) b->done(i, make_error_code(protocol::client_errc::invalid_argument), nullptr, {});
    return;
  }
  auto alone = [&](std::size_t i) { attempt(batch_key_op(b, i, deadline)); };
  auto cfg = tracker_.current();
  const bool ketama = is_memcached() || (cfg && cfg->locator == topology::node_locator::ketama);
  if (closed_ || (ketama ? ketama_.empty() : !cfg || !cfg->vbmap)) {
    // Closed, or nothing to route by yet: what a single operation does then (cancelled, or a
    // wait for the config), key by key.
    for (std::size_t i = 0; i < n; ++i) alone(i);
    return;
  }
  // Route every key once, then group them by node (a counting sort: nodes are small indexes).
  constexpr auto nowhere = std::numeric_limits<std::uint32_t>::max();
  struct routed {
    std::uint32_t node;
    std::uint16_t vbucket;
  };
  struct share {
    std::uint32_t keys{0};  // then: where its keys end in `order`
    std::size_t bytes{0};   // its packets
  };
  std::vector<routed> where(n);
  std::vector<share> nodes;
  std::size_t used = 0;     // nodes with keys
  std::size_t unrouted = 0; // keys with no node for their vBucket now
  auto route_all = [&](auto&& locate) { // one loop per locator, no test of the locator per key
    for (std::size_t i = 0; i < n; ++i) {
      auto& w = where[i];
      w = locate(b->keys[i]);
      if (w.node == nowhere) {
        ++unrouted;
        continue;
      }
      if (w.node >= nodes.size()) nodes.resize(w.node + 1);
      auto& sh = nodes[w.node];
      used += sh.keys == 0 ? 1 : 0;
      ++sh.keys;
      sh.bytes += protocol::header_size + b->keys[i].size();
    }
  };
  if (ketama) {
    route_all([&](std::string_view key) { return routed{ketama_.node_for(key), 0}; });
  } else {
    const auto& map = *cfg->vbmap;
    const auto num_vbuckets = map.num_vbuckets();
    route_all([&](std::string_view key) {
      auto vb = topology::vbucket_of(key, num_vbuckets);
      int node = topology::node_for_vbucket(map, vb, 0);
      return routed{node < 0 ? nowhere : static_cast<std::uint32_t>(node), vb};
    });
  }
  // With one node and every key routed (the common case) the keys go in their own order: no
  // sort, no test per key. Otherwise `order` lists each node's keys together.
  const bool all_one = used == 1 && unrouted == 0;
  std::vector<std::uint32_t> order;
  if (!all_one) {
    std::uint32_t sum = 0;
    for (auto& sh : nodes) sum += std::exchange(sh.keys, sum);
    order.resize(sum);
    for (std::size_t i = 0; i < n; ++i) {
      if (where[i].node == nowhere) alone(i); // retried as get() would be
      else order[nodes[where[i].node].keys++] = static_cast<std::uint32_t>(i);
    }
  }
  std::uint32_t begin = 0; // in `order`: where this node's keys start
  for (std::size_t node = 0; node < nodes.size(); ++node) {
    const auto bytes = nodes[node].bytes;
    if (bytes == 0) continue;
    const std::uint32_t first = all_one ? 0 : begin;
    const std::uint32_t end = all_one ? static_cast<std::uint32_t>(n) : nodes[node].keys;
    begin = end;
    auto each = [&](auto&& f) {
      if (all_one) {
        for (std::uint32_t i = 0; i < end; ++i) f(i);
      } else {
        for (auto k = first; k < end; ++k) f(order[k]);
      }
    };
    std::string endpoint;
    auto* pool = connection_for(node, endpoint, cfg);
    if (pool == nullptr || !pool->has_open_connection()) {
      // No connection up: each key waits for one (or a new config) as get() would.
      each([&](std::uint32_t i) { alone(i); });
      continue;
    }
    const auto count = end - first;
    auto* nb = new node_batch(shared_from_this(), b, deadline, endpoint, count);
    // The requests are written into uninitialised memory (a vector would zero it first) and
    // copied by the connection: the bucket's scratch buffer, kept up to 64 KiB.
    std::unique_ptr<std::byte[]> large;
    std::byte* packets = nullptr;
    if (bytes <= batch_scratch_size_) {
      packets = batch_scratch_.get();
    } else if (bytes <= 64 * 1024) {
      batch_scratch_ = std::make_unique_for_overwrite<std::byte[]>(bytes);
      batch_scratch_size_ = bytes;
      packets = batch_scratch_.get();
    } else {
      large = std::make_unique_for_overwrite<std::byte[]>(bytes);
      packets = large.get();
    }
    auto* out = packets;
    each([&](std::uint32_t i) {
      out = protocol::write_plain_get(out, b->keys[i], where[i].vbucket);
      nb->keys.push_back({i, where[i].vbucket});
    });
    if (pool->execute_batch({packets, bytes}, count, deadline, *nb)) {
      // Refused as a whole (queue full, deadline passed...): key by key, as get() would be.
      delete nb;
      each([&](std::uint32_t i) { alone(i); });
    }
  }
}

void bucket_impl::not_sent(const std::shared_ptr<op>& o, bool not_connected)
{
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o->deadline - io::clock::now());
  auto d = decide_retry(o->opcode, {attempt_failure::not_sent, status::success, nullptr}, o->attempts, left);
  auto it = not_connected ? conns_.find(o->endpoint) : conns_.end();
  if (it != conns_.end() && it->second.pool && !it->second.pool->has_open_connection()) {
    // A node that refuses the credentials (or the bucket) will not come up by waiting: say so now,
    // with what its SASL said, rather than time out.
    if (const auto& f = it->second.pool->last_connect_failure(); f && refuses_us(f->ec)) {
      o->failure_detail = o->endpoint + ": " + f->detail;
      return finish(o, f->ec, nullptr);
    }
  }
  if (!d.retry) it = conns_.end();
  if (it == conns_.end() || !it->second.pool) return retry(o, d, {});
  // The pool has no connection yet (or lost it). If one came up since (its wake-up ran before
  // this completion), go now. Otherwise wait until one comes up, the config changes or the
  // bucket closes (wake), at most until the deadline. Retrying on a backoff instead would send
  // a burst thrown at a connecting pool round again and again, each round delaying the very
  // handshake it waits for (20,000 GETs on a cold bucket: first completion after 115 ms, with
  // the handshake alone taking 3 ms; see bench_cold_start).
  if (it->second.pool->has_open_connection()) {
    d.delay = std::chrono::milliseconds{0};
    return retry(o, d, {});
  }
  d.delay = left;
  retry(o, d, {});
  park(it->second, o);
}

void bucket_impl::park(node_conn& nc, const std::shared_ptr<op>& o)
{
  nc.parked.push_back({o, o->attempts});
  if (nc.parked.size() < 64 || nc.parked.size() < 2 * nc.parked_live) return;
  // Bounded while a node stays down: drop the entries of operations that finished or moved on.
  std::erase_if(nc.parked, [](const node_conn::parked_op& p) {
    auto live = p.o.lock();
    return !live || live->attempts != p.attempts;
  });
  nc.parked_live = nc.parked.size();
}

void bucket_impl::wake(node_conn& nc)
{
  auto parked = std::move(nc.parked);
  nc.parked.clear();
  nc.parked_live = 0;
  for (const auto& p : parked) {
    auto o = p.o.lock();
    // Cancelling the operation's timer runs its handler (attempt) now; a timer that already fired
    // has its handler queued, and cancel() changes nothing.
    if (o && o->attempts == p.attempts && o->timer) o->timer->cancel();
  }
}

void bucket_impl::retry(std::shared_ptr<op> o, retry_decision d, std::error_code final_ec)
{
  if (d.reason != retry_reason::none) o->last_reason = d.reason;
  if (!d.retry) {
    if (final_ec) return finish(o, final_ec, nullptr);
    return finish(o, timeout_error(o->opcode, o->maybe_applied), nullptr);
  }
  ++o->attempts;
  if (d.delay.count() == 0) {
    asio::post(strand_, [self = shared_from_this(), o] { self->attempt(o); });
    return;
  }
  if (!o->timer) o->timer = std::make_unique<retry_timer>(strand_);
  o->timer->expires_after(d.delay);
  o->timer->async_wait([self = shared_from_this(), o](boost::system::error_code) { self->attempt(o); });
}

void bucket_impl::finish(const std::shared_ptr<op>& o, std::error_code ec, const protocol::packet_view* resp)
{
  o->on_done(o, ec, resp); // `o` keeps the operation alive through the call
}

void bucket_impl::close()
{
  // After abandon() the execution context is going or gone: nothing may be posted to it.
  if (abandoned_.load(std::memory_order_acquire)) return;
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->closed_ = true;
    self->poll_timer_.cancel();
    self->stream_timer_.cancel();
    for (auto& [id, nc] : self->conns_) {
      if (nc.pool) nc.pool->close();
      wake(nc); // they finish as cancelled
    }
    for (auto& [id, hc] : self->http_clients_) hc->close();
  });
}

} // namespace couchkv::detail
