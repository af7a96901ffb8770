#include "http.hpp"
#include "kv_session.hpp"

namespace couchkv::mock {

// ---- buckets, maps and configs ------------------------------------------------------------------

void cluster::impl::build_buckets()
{
  for (const auto& bo : opts.buckets) {
    bucket_state b;
    b.opts = bo;
    for (auto h : {protocol::scram::hash::sha1, protocol::scram::hash::sha256, protocol::scram::hash::sha512}) {
      std::string salt(16, '\0');
      for (auto& c : salt) c = static_cast<char>(rng());
      b.scram[h] = protocol::scram::make_credentials(h, bo.password, salt, 4096);
    }
    if (bo.type == bucket_type::couchbase) {
      b.vbs.resize(opts.vbuckets);
      for (auto& vb : b.vbs) {
        vb.uuid = rng() | 1;
        vb.failover_log.emplace_back(vb.uuid, 0);
      }
      assign_map(b);
#ifdef COUCHKV_MOCK_HAVE_VIEWS
      b.views = std::make_unique<views::engine>();
#endif
    } else {
      b.node_docs.resize(opts.nodes);
    }
    buckets.emplace(bo.name, std::move(b));
  }
}

void cluster::impl::assign_map(bucket_state& b)
{
  std::vector<int> live;
  for (std::size_t i = 0; i < nodes.size() || i < opts.nodes; ++i) {
    if (i >= nodes.size() || !nodes[i].failed_over) live.push_back(static_cast<int>(i));
  }
  for (std::size_t v = 0; v < b.vbs.size(); ++v) {
    auto& vb = b.vbs[v];
    int new_active = live.empty() ? -1 : live[v % live.size()];
    if (vb.active >= 0 && vb.active != new_active) {
      // Move: the new active takes the data (a rebalance copies it before switching over).
    }
    vb.active = new_active;
    vb.replicas.assign(b.opts.replicas, -1);
    std::map<int, replica_copy> copies;
    for (std::uint32_t r = 0; r < b.opts.replicas; ++r) {
      if (r + 1 < live.size()) {
        int n = live[(v + r + 1) % live.size()];
        vb.replicas[r] = n;
        auto& c = copies[n];
        c.docs = vb.docs;
        c.seqno = vb.high_seqno;
        c.persisted = vb.high_seqno;
      }
    }
    vb.copies = std::move(copies);
    vb.persisted = vb.high_seqno;
  }
}

nlohmann::json cluster::impl::config_object(const bucket_state& b) const
{
  nlohmann::json ext = nlohmann::json::array();
  nlohmann::json servers = nlohmann::json::array();
  nlohmann::json legacy = nlohmann::json::array();
  for (const auto& n : nodes) {
    // Every node is on this host: "$HOST" makes the client use the address it connected to.
    nlohmann::json services = {{"kv", n.port}, {"mgmt", n.mgmt_port}, {"capi", n.views_port}};
    if (tls) {
      // Couchbase Server's names for the TLS twins (11207, 18091, 18092 on a real node).
      services["kvSSL"] = n.tls_port;
      services["mgmtSSL"] = n.mgmt_tls_port;
      services["capiSSL"] = n.views_tls_port;
    }
    ext.push_back({{"hostname", "$HOST"}, {"services", std::move(services)}});
    servers.push_back("$HOST:" + std::to_string(n.port));
    // The legacy list, as older clients read it: hostname is the management authority.
    nlohmann::json l = {{"hostname", "$HOST:" + std::to_string(n.mgmt_port)}, {"ports", {{"direct", n.port}}}};
    if (b.opts.type == bucket_type::couchbase) {
      l["couchApiBase"] = "http://$HOST:" + std::to_string(n.views_port) + "/" + b.opts.name;
      if (tls) l["couchApiBaseHTTPS"] = "https://$HOST:" + std::to_string(n.views_tls_port) + "/" + b.opts.name;
    }
    legacy.push_back(std::move(l));
  }
  nlohmann::json cfg = {{"rev", rev},
                        {"revEpoch", epoch},
                        {"name", b.opts.name},
                        {"uuid", "mock-" + b.opts.name},
                        {"nodesExt", ext},
                        {"nodes", legacy},
                        {"clusterCapabilitiesVer", {1, 0}},
                        {"clusterCapabilities", nlohmann::json::object()}};
  if (b.opts.type == bucket_type::couchbase) {
    nlohmann::json map = nlohmann::json::array();
    for (const auto& vb : b.vbs) {
      nlohmann::json row = {vb.active};
      for (int r : vb.replicas) row.push_back(r);
      map.push_back(row);
    }
    cfg["nodeLocator"] = "vbucket";
    cfg["bucketCapabilitiesVer"] = "";
    cfg["bucketCapabilities"] = {"cbhello", "touch", "cccp", "xdcrCheckpointing", "nodesExt", "xattr", "couchapi"};
    cfg["ddocs"] = {{"uri", "/pools/default/buckets/" + b.opts.name + "/ddocs"}};
    cfg["vBucketServerMap"] = {{"hashAlgorithm", "CRC"},
                               {"numReplicas", b.opts.replicas},
                               {"serverList", servers},
                               {"vBucketMap", map}};
  } else {
    cfg["nodeLocator"] = "ketama";
    cfg["bucketCapabilities"] = {"cbhello", "touch", "cccp", "nodesExt"};
  }
  return cfg;
}

void cluster::impl::push_configs()
{
  for (auto& n : nodes) {
    for (auto& w : n.sessions) {
      if (auto s = w.lock()) {
        if (s->bucket) s->push(s->bucket->opts.name, config_json(*s->bucket));
      }
    }
    for (auto& w : n.http_sessions) {
      if (auto s = w.lock()) s->config_changed();
    }
  }
}

// ---- replication and persistence -----------------------------------------------------------------

void cluster::impl::schedule(std::chrono::milliseconds delay, std::function<void()> f)
{
  if (delay.count() == 0) {
    f();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(io, delay);
  timer->async_wait([timer, f = std::move(f)](sys_error ec) {
    if (!ec) f();
  });
}

// After a mutation of `key` in vBucket `vb`: persist on the active after the persistence delay;
// copy to each replica after the replication delay, and persist there after both.
void cluster::impl::replicate(bucket_state& b, std::uint16_t vb, const std::string& key)
{
  auto& v = b.vbs[vb];
  auto seqno = v.high_seqno;
  auto uuid = v.uuid;
  auto name = b.opts.name;
  schedule(opts.persistence_delay, [this, name, vb, seqno, uuid] {
    auto& vv = buckets.at(name).vbs[vb];
    if (vv.uuid == uuid && vv.persisted < seqno) vv.persisted = seqno;
  });
  for (int n : v.replicas) {
    if (n < 0) continue;
    document snapshot = v.docs.at(key);
    schedule(opts.replication_delay, [this, name, vb, n, key, snapshot, seqno, uuid] {
      auto& vv = buckets.at(name).vbs[vb];
      auto it = vv.copies.find(n);
      if (vv.uuid != uuid || it == vv.copies.end()) return; // the map changed meanwhile
      auto& copy = it->second;
      if (copy.seqno < seqno) {
        copy.docs[key] = snapshot;
        copy.seqno = seqno;
      }
      schedule(opts.persistence_delay, [this, name, vb, n, seqno, uuid] {
        auto& v3 = buckets.at(name).vbs[vb];
        auto c = v3.copies.find(n);
        if (v3.uuid == uuid && c != v3.copies.end() && c->second.persisted < seqno) c->second.persisted = seqno;
      });
    });
  }
}

// ---- listeners ------------------------------------------------------------------------------------

namespace {
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Binds host:port (port 0: an ephemeral one, written back) with a socket that never listens, kept
// while the cluster lives: a stopped node's ports then refuse connections, as a closed port does,
// yet nothing else can take them, neither a socket of this process nor another test's running in
// parallel (bind(0) never picks a port in use). A restart then always gets its ports back; without
// this, one restart in a few hundred failed with "bind: Address already in use" under a parallel
// ctest.
std::unique_ptr<tcp::socket> hold_port(asio::io_context& io, const std::string& host, std::uint16_t& port)
{
  auto s = std::make_unique<tcp::socket>(io);
  tcp::endpoint ep(asio::ip::make_address(host), port);
  s->open(ep.protocol());
  s->set_option(reuse_port(true));
  s->bind(ep);
  port = s->local_endpoint().port();
  return s;
}

// Listens on host:port, a port held by hold_port (SO_REUSEPORT on both lets them share it; only
// the listener is handed connections).
std::unique_ptr<tcp::acceptor> listen_on(asio::io_context& io, const std::string& host, std::uint16_t port)
{
  auto a = std::make_unique<tcp::acceptor>(io);
  tcp::endpoint ep(asio::ip::make_address(host), port);
  a->open(ep.protocol());
  a->set_option(tcp::acceptor::reuse_address(true));
  a->set_option(reuse_port(true));
  a->bind(ep);
  a->listen();
  return a;
}
} // namespace

void cluster::impl::start_node(std::size_t i)
{
  auto& n = nodes[i];
  if (n.up) return;
  if (n.held_ports.empty()) { // first start: the node's ports, for good
    for (auto* p : {&n.port, &n.mgmt_port, &n.views_port}) n.held_ports.push_back(hold_port(io, opts.host, *p));
    if (tls) {
      for (auto* p : {&n.tls_port, &n.mgmt_tls_port, &n.views_tls_port}) {
        n.held_ports.push_back(hold_port(io, opts.host, *p));
      }
    }
  }
  // All or none: a listener that cannot start throws and leaves the node down, not half up.
  auto kv = listen_on(io, opts.host, n.port);
  auto mgmt = listen_on(io, opts.host, n.mgmt_port);
  auto views = listen_on(io, opts.host, n.views_port);
  std::unique_ptr<tcp::acceptor> kv_tls, mgmt_tls, views_tls;
  if (tls) {
    kv_tls = listen_on(io, opts.host, n.tls_port);
    mgmt_tls = listen_on(io, opts.host, n.mgmt_tls_port);
    views_tls = listen_on(io, opts.host, n.views_tls_port);
  }
  n.acceptor = std::move(kv);
  n.mgmt_acceptor = std::move(mgmt);
  n.views_acceptor = std::move(views);
  n.tls_acceptor = std::move(kv_tls);
  n.mgmt_tls_acceptor = std::move(mgmt_tls);
  n.views_tls_acceptor = std::move(views_tls);
  n.up = true;
  for (bool use_tls : {false, true}) {
    if (use_tls && !tls) break;
    accept(i, use_tls);
    accept_http(i, http_service::mgmt, use_tls);
    accept_http(i, http_service::views, use_tls);
  }
}

io::stream cluster::impl::make_stream(tcp::socket sock, bool use_tls)
{
  sys_error ignored;
  sock.set_option(tcp::no_delay(true), ignored);
  return io::stream(std::move(sock), use_tls ? &*tls : nullptr);
}

void cluster::impl::accept(std::size_t i, bool use_tls)
{
  auto& n = nodes[i];
  if (!n.up) return;
  auto& acceptor = use_tls ? *n.tls_acceptor : *n.acceptor;
  acceptor.async_accept([this, i, use_tls](sys_error ec, tcp::socket sock) {
    auto& nn = nodes[i];
    if (ec || !nn.up) return;
    ++stats.connections_accepted;
    if (use_tls) ++stats.tls_connections_accepted;
    auto s = std::make_shared<session>(*this, i, make_stream(std::move(sock), use_tls));
    std::erase_if(nn.sessions, [](auto& w) { return w.expired(); });
    nn.sessions.push_back(s);
    s->start();
    accept(i, use_tls);
  });
}

void cluster::impl::accept_http(std::size_t i, http_service service, bool use_tls)
{
  auto& n = nodes[i];
  if (!n.up) return;
  auto& acceptor = service == http_service::mgmt ? (use_tls ? *n.mgmt_tls_acceptor : *n.mgmt_acceptor)
                                                 : (use_tls ? *n.views_tls_acceptor : *n.views_acceptor);
  acceptor.async_accept([this, i, service, use_tls](sys_error ec, tcp::socket sock) {
    auto& nn = nodes[i];
    if (ec || !nn.up) return;
    auto s = std::make_shared<http_session>(*this, i, service, make_stream(std::move(sock), use_tls));
    std::erase_if(nn.http_sessions, [](auto& w) { return w.expired(); });
    nn.http_sessions.push_back(s);
    s->start();
    accept_http(i, service, use_tls);
  });
}

void cluster::impl::stop_node(std::size_t i)
{
  auto& n = nodes[i];
  if (n.up) {
    sys_error ignored;
    for (auto* a : {&n.acceptor, &n.mgmt_acceptor, &n.views_acceptor, &n.tls_acceptor, &n.mgmt_tls_acceptor,
                    &n.views_tls_acceptor}) {
      if (*a) (*a)->close(ignored);
    }
    n.up = false;
  }
  close_connections(i);
}

void cluster::impl::close_connections(std::size_t i)
{
  auto& n = nodes[i];
  for (auto& w : n.sessions) {
    if (auto s = w.lock()) s->close();
  }
  n.sessions.clear();
  // An HTTP request that asked for this (the control endpoint) still gets its answer.
  for (auto& w : n.http_sessions) {
    if (auto s = w.lock()) s->close_after_reply();
  }
  n.http_sessions.clear();
}

// ---- fault controls -------------------------------------------------------------------------------

void cluster::impl::failover(std::size_t node)
{
  if (node >= nodes.size() || nodes[node].failed_over) return;
  nodes[node].failed_over = true;
  const int gone = static_cast<int>(node);
  for (auto& [name, b] : buckets) {
    for (auto& vb : b.vbs) {
      if (vb.active == gone) {
        // Promote the first replica: what it has is what survives (unreplicated writes are lost).
        int promoted = -1;
        for (int r : vb.replicas) {
          if (r >= 0 && r != gone) {
            promoted = r;
            break;
          }
        }
        if (promoted >= 0) {
          auto& copy = vb.copies.at(promoted);
          vb.failover_log.insert(vb.failover_log.begin(), {rng() | 1, copy.seqno});
          vb.uuid = vb.failover_log.front().first;
          vb.docs = copy.docs;
          vb.high_seqno = copy.seqno;
          vb.persisted = copy.persisted;
          vb.copies.erase(promoted);
        }
        vb.active = promoted;
      }
      for (auto& r : vb.replicas) {
        if (r == gone || r == vb.active) {
          vb.copies.erase(r);
          r = -1;
        }
      }
    }
  }
  ++rev;
  push_configs();
}

void cluster::impl::rebalance()
{
  for (auto& n : nodes) n.failed_over = !n.up; // nodes that are up take part again
  for (auto& [name, b] : buckets) {
    if (!b.vbs.empty()) assign_map(b);
  }
  ++rev;
  push_configs();
}

// A node going down or coming back is news for config streams even when the map stays (as on a
// real cluster, only a failover takes the node out of the map).
void cluster::impl::node_down(std::size_t node)
{
  if (node >= nodes.size()) return;
  stop_node(node);
  ++rev;
  push_configs();
}

void cluster::impl::node_up(std::size_t node)
{
  if (node >= nodes.size()) return;
  start_node(node);
  ++rev;
  push_configs();
}

// ---- public API -------------------------------------------------------------------------------------

cluster::cluster(cluster_options options) : impl_(std::make_unique<impl>(std::move(options)))
{
  if (impl_->opts.nodes == 0 || impl_->opts.nodes > 64) throw std::invalid_argument("nodes must be 1..64");
  if (impl_->opts.vbuckets == 0 || impl_->opts.vbuckets > 65536) throw std::invalid_argument("vbuckets must be 1..65536");
  for (const auto& b : impl_->opts.buckets) {
    if (b.replicas > 3) throw std::invalid_argument("replicas must be 0..3");
  }
  if (const auto& t = impl_->opts.tls) {
    auto& ctx = impl_->tls.emplace(asio::ssl::context::tls_server);
    sys_error ec;
    ctx.use_certificate_chain_file(t->certificate_chain_file, ec);
    if (ec) {
      throw std::invalid_argument("mock TLS: cannot load the certificate chain \"" + t->certificate_chain_file +
                                  "\": " + ec.message());
    }
    // OpenSSL also refuses a key that is not the certificate's here ("key values mismatch").
    ctx.use_private_key_file(t->private_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      throw std::invalid_argument("mock TLS: cannot load the private key \"" + t->private_key_file + "\": " +
                                  ec.message());
    }
  }
  impl_->nodes.resize(impl_->opts.nodes);
  impl_->build_buckets();
}

cluster::~cluster() { stop(); }

void cluster::start()
{
  if (impl_->thread.joinable()) return;
  for (std::size_t i = 0; i < impl_->nodes.size(); ++i) impl_->start_node(i);
  // Ports are known now: configs name them.
  impl_->thread = std::thread([this] {
    auto guard = asio::make_work_guard(impl_->io);
    impl_->io.run();
  });
}

void cluster::stop()
{
  if (!impl_->thread.joinable()) return;
  impl_->run_sync([this] {
    for (std::size_t i = 0; i < impl_->nodes.size(); ++i) impl_->stop_node(i);
  });
  impl_->io.stop();
  impl_->thread.join();
}

std::string cluster::connection_string(const std::string& bucket) const
{
  std::string s = "couchbase://";
  for (std::size_t i = 0; i < impl_->nodes.size(); ++i) {
    if (i) s += ",";
    s += impl_->opts.host + ":" + std::to_string(impl_->nodes[i].port);
  }
  return s + "/" + bucket;
}

std::vector<std::uint16_t> cluster::kv_ports() const
{
  std::vector<std::uint16_t> out;
  for (const auto& n : impl_->nodes) out.push_back(n.port);
  return out;
}

std::vector<std::uint16_t> cluster::mgmt_ports() const
{
  std::vector<std::uint16_t> out;
  for (const auto& n : impl_->nodes) out.push_back(n.mgmt_port);
  return out;
}

std::vector<std::uint16_t> cluster::views_ports() const
{
  std::vector<std::uint16_t> out;
  for (const auto& n : impl_->nodes) out.push_back(n.views_port);
  return out;
}

std::string cluster::tls_connection_string(const std::string& bucket) const
{
  if (!impl_->tls) throw std::logic_error("the mock cluster was built without cluster_options::tls");
  std::string s = "couchbases://";
  for (std::size_t i = 0; i < impl_->nodes.size(); ++i) {
    if (i) s += ",";
    s += impl_->opts.host + ":" + std::to_string(impl_->nodes[i].tls_port);
  }
  return s + "/" + bucket;
}

std::vector<std::uint16_t> cluster::kv_tls_ports() const
{
  std::vector<std::uint16_t> out;
  if (impl_->tls) {
    for (const auto& n : impl_->nodes) out.push_back(n.tls_port);
  }
  return out;
}

std::vector<std::uint16_t> cluster::mgmt_tls_ports() const
{
  std::vector<std::uint16_t> out;
  if (impl_->tls) {
    for (const auto& n : impl_->nodes) out.push_back(n.mgmt_tls_port);
  }
  return out;
}

std::vector<std::uint16_t> cluster::views_tls_ports() const
{
  std::vector<std::uint16_t> out;
  if (impl_->tls) {
    for (const auto& n : impl_->nodes) out.push_back(n.views_tls_port);
  }
  return out;
}

const cluster_options& cluster::options() const noexcept { return impl_->opts; }

std::string cluster::config_json(const std::string& bucket) const
{
  std::string out;
  impl_->run_sync([&] { out = impl_->config_json(impl_->buckets.at(bucket)); });
  return out;
}

cluster_stats cluster::stats() const
{
  cluster_stats s;
  impl_->run_sync([&] {
    s = impl_->stats;
    for (const auto& n : impl_->nodes) {
      for (const auto& w : n.sessions) {
        if (auto sp = w.lock(); sp && !sp->closed) ++s.kv_connections_open;
      }
    }
  });
  return s;
}

void cluster::failover(std::uint32_t node)
{
  impl_->run_sync([&] { impl_->failover(node); });
}

void cluster::rebalance_out_and_in()
{
  impl_->run_sync([&] { impl_->rebalance(); });
}

void cluster::kill_connections(std::uint32_t node)
{
  impl_->run_sync([&] {
    if (node < impl_->nodes.size()) impl_->close_connections(node);
  });
}

void cluster::stop_node(std::uint32_t node)
{
  impl_->run_sync([&] { impl_->node_down(node); });
}

void cluster::restart_node(std::uint32_t node)
{
  impl_->run_sync([&] { impl_->node_up(node); });
}

void cluster::fail_next(std::uint32_t count, std::uint16_t status)
{
  impl_->run_sync([&] {
    impl_->fail_count = count;
    impl_->fail_status = status;
  });
}

void cluster::drop_next(std::uint32_t count)
{
  impl_->run_sync([&] { impl_->drop_count = count; });
}

void cluster::send_garbage_next()
{
  impl_->run_sync([&] { impl_->garbage_next = true; });
}

void cluster::advance_clock(std::chrono::seconds by)
{
  impl_->run_sync([&] { impl_->clock_offset += by.count(); });
}

void cluster::reject_kv_auth(std::uint32_t node, bool reject)
{
  impl_->run_sync([&] {
    if (node >= impl_->nodes.size()) throw std::out_of_range("no such node");
    impl_->nodes[node].reject_kv_auth = reject;
  });
}

void cluster::set_delays(std::chrono::milliseconds replication, std::chrono::milliseconds persistence)
{
  impl_->run_sync([&] {
    impl_->opts.replication_delay = replication;
    impl_->opts.persistence_delay = persistence;
  });
}

} // namespace couchkv::mock
