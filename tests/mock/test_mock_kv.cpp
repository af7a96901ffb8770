// The mock cluster over real sockets, driven with couchkv's own connection and codec (the mock
// and the client share the codec, so these tests check semantics, not framing; the framing is
// checked against the published vectors and against real memcached).
#include "../io/io_test_support.hpp"

#include <couchkv/io/kv_connection.hpp>
#include <couchkv/errors.hpp> // the conditions the results are compared with
#include <couchkv/protocol/mutation_token.hpp>
#include <couchkv/protocol/observe.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/topology/config.hpp>
#include <couchkv/topology/routing.hpp>
#include <couchkv_mock/cluster.hpp>

#include <gtest/gtest.h>

#include <future>

using namespace couchkv;
using namespace couchkv::test;
using protocol::opcode;
using protocol::status;

namespace {

struct fixture {
  explicit fixture(mock::cluster_options o = {}) : cluster(std::move(o)) { cluster.start(); }

  std::shared_ptr<io::kv_connection> connect(std::size_t node, io::bootstrap_settings b, std::error_code* out = nullptr)
  {
    io::connection_settings s;
    s.port = cluster.kv_ports().at(node);
    s.bootstrap = std::move(b);
    auto c = io::kv_connection::create(t.io.get_executor(), s);
    std::promise<std::error_code> p;
    c->async_connect([&p](std::error_code ec) { p.set_value(ec); });
    auto ec = p.get_future().get();
    if (out) {
      *out = ec;
    } else {
      EXPECT_FALSE(ec) << ec.message() << ": " << c->last_error_detail();
    }
    return c;
  }

  static io::bootstrap_settings as_bucket(std::string bucket = "default", std::string password = "password")
  {
    io::bootstrap_settings b;
    b.creds = io::credentials{bucket, std::move(password)};
    b.bucket = std::move(bucket);
    return b;
  }

  // Connections to every node, and the map they serve.
  void connect_all()
  {
    for (std::size_t i = 0; i < cluster.kv_ports().size(); ++i) conns.push_back(connect(i, as_bucket()));
    refresh_config();
  }
  void refresh_config()
  {
    topology::config_error err;
    config = *topology::parse_config(cluster.config_json("default"), "127.0.0.1", err);
  }
  std::uint16_t vb(std::string_view key) const { return topology::vbucket_of(key, config.vbmap->num_vbuckets()); }
  int node_of(std::string_view key, std::size_t replica = 0) const
  {
    return topology::node_for_vbucket(*config.vbmap, vb(key), replica);
  }
  io::kv_connection& active(std::string_view key) { return *conns.at(static_cast<std::size_t>(node_of(key))); }

  mock::cluster cluster;
  io_thread t;
  std::vector<std::shared_ptr<io::kv_connection>> conns;
  topology::bucket_config config;
};

protocol::byte_buffer store(opcode op, std::string_view key, std::uint16_t vb, std::string_view value,
                            std::uint64_t cas = 0, std::uint32_t expiry = 0)
{
  protocol::byte_buffer b;
  protocol::append_store(b, op, 0, {.key = key, .vbucket = vb},
                         {.value = protocol::as_bytes(value), .flags = 0x02000000, .expiry = expiry, .cas = cas,
                          .datatype = 1});
  return b;
}
protocol::byte_buffer get(std::string_view key, std::uint16_t vb, opcode op = opcode::get)
{
  protocol::byte_buffer b;
  protocol::append_get(b, 0, {.key = key, .vbucket = vb}, op);
  return b;
}

} // namespace

TEST(mock_cluster, handshake_negotiates_features_and_serves_a_config_with_host_placeholders)
{
  fixture f;
  auto c = f.connect(0, fixture::as_bucket());
  const auto& b = c->bootstrap();
  EXPECT_TRUE(b.hello_supported);
  EXPECT_TRUE(b.features.contains(protocol::hello_feature::xerror));
  EXPECT_TRUE(b.features.contains(protocol::hello_feature::select_bucket));
  EXPECT_TRUE(b.features.contains(protocol::hello_feature::mutation_seqno));
  EXPECT_FALSE(b.features.contains(protocol::hello_feature::collections)); // not offered by the mock
  EXPECT_EQ(b.mechanism, protocol::sasl_mechanism::scram_sha512);
  EXPECT_TRUE(b.bucket_selected);
  ASSERT_TRUE(b.error_map);
  ASSERT_TRUE(b.config_json);
  EXPECT_NE(b.config_json->find("$HOST"), std::string::npos);
  topology::config_error err;
  auto cfg = topology::parse_config(*b.config_json, "127.0.0.1", err);
  ASSERT_TRUE(cfg) << err.message();
  EXPECT_EQ(cfg->nodes.size(), 3u);
  EXPECT_EQ(cfg->vbmap->num_vbuckets(), 1024u);
  EXPECT_EQ(cfg->num_replicas(), 1u);
  EXPECT_EQ(cfg->nodes[1].plain.kv, f.cluster.kv_ports()[1]);
}

TEST(mock_cluster, wrong_password_is_rejected_by_every_mechanism)
{
  fixture f;
  for (auto m : {protocol::sasl_mechanism::plain, protocol::sasl_mechanism::scram_sha1,
                 protocol::sasl_mechanism::scram_sha256, protocol::sasl_mechanism::scram_sha512}) {
    auto b = fixture::as_bucket("default", "not-the-password");
    b.mechanisms = {m};
    b.allow_plain = true;
    std::error_code ec;
    f.connect(0, b, &ec);
    EXPECT_EQ(ec, couchkv::errc::authentication_failure) << protocol::to_string(m) << ": " << ec.message();
    b.creds->password = "password";
    auto ok = f.connect(0, b);
    EXPECT_EQ(ok->bootstrap().mechanism, m);
  }
  // Another bucket's credentials do not open this one.
  auto other = fixture::as_bucket("default", "password");
  other.creds->username = "nobody";
  std::error_code ec;
  f.connect(0, other, &ec);
  EXPECT_EQ(ec, couchkv::errc::authentication_failure);
}

TEST(mock_cluster, not_my_vbucket_carries_the_config)
{
  fixture f;
  f.connect_all();
  std::string key = "user::1";
  auto right = static_cast<std::size_t>(f.node_of(key));
  auto wrong = (right + 1) % 3;
  auto [ec, r] = run(*f.conns[wrong], store(opcode::set, key, f.vb(key), R"({"a":1})"));
  ASSERT_FALSE(ec);
  EXPECT_EQ(r.status(), status::not_my_vbucket);
  EXPECT_NE(r.value_string().find("vBucketServerMap"), std::string::npos);
  std::tie(ec, r) = run(*f.conns[right], store(opcode::set, key, f.vb(key), R"({"a":1})"));
  EXPECT_EQ(r.status(), status::success);
}

TEST(mock_cluster, document_semantics)
{
  fixture f;
  f.connect_all();
  const std::string k = "doc::1";
  auto vb = f.vb(k);
  auto& c = f.active(k);

  auto [ec, r] = run(c, store(opcode::add, k, vb, R"({"v":1})"));
  ASSERT_EQ(r.status(), status::success);
  auto token = protocol::parse_mutation_token(r.extras(), vb);
  ASSERT_TRUE(token);
  EXPECT_GT(token->seqno, 0u);
  auto cas1 = r.cas();
  std::tie(ec, r) = run(c, store(opcode::add, k, vb, "{}"));
  EXPECT_EQ(r.status(), status::key_eexists);
  std::tie(ec, r) = run(c, store(opcode::replace, k, vb, R"({"v":2})", cas1 + 1));
  EXPECT_EQ(protocol::make_kv_error(opcode::replace, r.status(), true), couchkv::errc::cas_mismatch);
  std::tie(ec, r) = run(c, store(opcode::replace, k, vb, R"({"v":2})", cas1));
  EXPECT_EQ(r.status(), status::success);
  std::tie(ec, r) = run(c, get(k, vb, opcode::getk));
  EXPECT_EQ(r.value_string(), R"({"v":2})");
  EXPECT_EQ(r.key_string(), k);
  EXPECT_EQ(protocol::load_be32(r.extras().data()), 0x02000000u);
  EXPECT_EQ(r.datatype(), 1);

  // Locks: a locked document refuses others, hides its CAS, and yields to the lock CAS.
  protocol::byte_buffer b;
  protocol::append_get_locked(b, 0, {.key = k, .vbucket = vb}, 5);
  std::tie(ec, r) = run(c, b);
  ASSERT_EQ(r.status(), status::success);
  auto lock_cas = r.cas();
  std::tie(ec, r) = run(c, b);
  EXPECT_EQ(r.status(), status::locked);
  std::tie(ec, r) = run(c, get(k, vb));
  EXPECT_EQ(r.cas(), ~std::uint64_t{0});
  std::tie(ec, r) = run(c, store(opcode::set, k, vb, "{}"));
  EXPECT_EQ(r.status(), status::locked);
  b.clear();
  protocol::append_unlock(b, 0, {.key = k, .vbucket = vb}, lock_cas + 1);
  std::tie(ec, r) = run(c, b);
  EXPECT_EQ(protocol::make_kv_error(opcode::unlock_key, r.status()), couchkv::errc::cas_mismatch);
  b.clear();
  protocol::append_unlock(b, 0, {.key = k, .vbucket = vb}, lock_cas);
  std::tie(ec, r) = run(c, b);
  EXPECT_EQ(r.status(), status::success);
  std::tie(ec, r) = run(c, b);
  EXPECT_EQ(r.status(), status::not_locked);
  // A lock expires on the mock clock.
  b.clear();
  protocol::append_get_locked(b, 0, {.key = k, .vbucket = vb}, 5);
  run(c, b);
  f.cluster.advance_clock(std::chrono::seconds(6));
  std::tie(ec, r) = run(c, store(opcode::set, k, vb, R"({"v":3})"));
  EXPECT_EQ(r.status(), status::success);

  // Counters.
  const std::string ctr = "ctr";
  auto& cc = f.active(ctr);
  b.clear();
  protocol::append_counter(b, opcode::increment, 0, {.key = ctr, .vbucket = f.vb(ctr)}, {.delta = 2, .initial = 10});
  std::tie(ec, r) = run(cc, b);
  EXPECT_EQ(protocol::load_be64(r.value().data()), 10u);
  std::tie(ec, r) = run(cc, b);
  EXPECT_EQ(protocol::load_be64(r.value().data()), 12u);
  EXPECT_EQ(r.extras().size(), 16u); // mutation token
  b.clear();
  protocol::append_counter(b, opcode::increment, 0, {.key = k, .vbucket = vb}, {.delta = 1});
  std::tie(ec, r) = run(c, b);
  EXPECT_EQ(r.status(), status::delta_badval);

  // Expiry on the mock clock, touch and GAT.
  std::tie(ec, r) = run(c, store(opcode::set, "short", f.vb("short"), "{}", 0, 10), std::chrono::seconds(5));
  auto& sc = f.active("short");
  std::tie(ec, r) = run(sc, store(opcode::set, "short", f.vb("short"), "{}", 0, 10));
  ASSERT_EQ(r.status(), status::success);
  b.clear();
  protocol::append_touch(b, 0, {.key = "short", .vbucket = f.vb("short")}, 100);
  std::tie(ec, r) = run(sc, b);
  EXPECT_EQ(r.status(), status::success);
  f.cluster.advance_clock(std::chrono::seconds(50));
  std::tie(ec, r) = run(sc, get("short", f.vb("short")));
  EXPECT_EQ(r.status(), status::success); // touched to 100 s
  f.cluster.advance_clock(std::chrono::seconds(60));
  std::tie(ec, r) = run(sc, get("short", f.vb("short")));
  EXPECT_EQ(r.status(), status::key_enoent);

  // Append to a missing document; delete.
  b.clear();
  protocol::append_concat(b, opcode::append, 0, {.key = "missing", .vbucket = f.vb("missing")}, protocol::as_bytes("x"), 0);
  std::tie(ec, r) = run(f.active("missing"), b);
  EXPECT_EQ(protocol::make_kv_error(opcode::append, r.status()), couchkv::errc::document_not_found);
  b.clear();
  protocol::append_delete(b, 0, {.key = k, .vbucket = vb}, 0);
  std::tie(ec, r) = run(c, b);
  EXPECT_EQ(r.status(), status::success);
  std::tie(ec, r) = run(c, get(k, vb));
  EXPECT_EQ(r.status(), status::key_enoent);
}

TEST(mock_cluster, replicas_observe_and_observe_seqno_show_the_progression)
{
  mock::cluster_options o;
  o.replication_delay = std::chrono::milliseconds(150);
  o.persistence_delay = std::chrono::milliseconds(300);
  fixture f(o);
  f.connect_all();
  const std::string k = "durable";
  auto vb = f.vb(k);
  auto master = static_cast<std::size_t>(f.node_of(k));
  auto replica = static_cast<std::size_t>(f.node_of(k, 1));
  auto [ec, r] = run(*f.conns[master], store(opcode::set, k, vb, R"({"d":1})"));
  ASSERT_EQ(r.status(), status::success);
  auto token = *protocol::parse_mutation_token(r.extras(), vb);

  auto seqno_on = [&](std::size_t node) {
    protocol::byte_buffer b;
    protocol::append_observe_seqno(b, 0, vb, token.vbuuid);
    auto [e, resp] = run(*f.conns[node], b);
    std::error_code pe;
    return *protocol::parse_observe_seqno_response(resp.value(), pe);
  };
  auto obs = [&](std::size_t node) {
    protocol::byte_buffer b;
    const protocol::observe_key keys[] = {{vb, k}};
    protocol::append_observe(b, 0, keys);
    auto [e, resp] = run(*f.conns[node], b);
    std::error_code pe;
    return (*protocol::parse_observe_response(resp.value(), pe))[0].state;
  };
  // In memory on the master only.
  EXPECT_EQ(seqno_on(master).current_seqno, token.seqno);
  EXPECT_LT(seqno_on(master).last_persisted_seqno, token.seqno);
  EXPECT_LT(seqno_on(replica).current_seqno, token.seqno);
  EXPECT_EQ(obs(master), protocol::observe_keystate::found);
  EXPECT_EQ(obs(replica), protocol::observe_keystate::not_found);
  std::tie(ec, r) = run(*f.conns[replica], get(k, vb, opcode::get_replica));
  EXPECT_EQ(r.status(), status::key_enoent);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Replicated.
  EXPECT_EQ(seqno_on(replica).current_seqno, token.seqno);
  EXPECT_EQ(obs(replica), protocol::observe_keystate::found);
  std::tie(ec, r) = run(*f.conns[replica], get(k, vb, opcode::get_replica));
  EXPECT_EQ(r.status(), status::success);
  EXPECT_EQ(r.value_string(), R"({"d":1})");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  // Persisted on both.
  EXPECT_GE(seqno_on(master).last_persisted_seqno, token.seqno);
  EXPECT_GE(seqno_on(replica).last_persisted_seqno, token.seqno);
  EXPECT_EQ(obs(master), protocol::observe_keystate::persisted);
  EXPECT_EQ(obs(replica), protocol::observe_keystate::persisted);
  // GET_REPLICA on the master is the wrong node.
  std::tie(ec, r) = run(*f.conns[master], get(k, vb, opcode::get_replica));
  EXPECT_EQ(r.status(), status::not_my_vbucket);
}

TEST(mock_cluster, failover_promotes_replicas_bumps_rev_and_reports_the_old_uuid)
{
  fixture f;
  f.connect_all();
  const std::string k = "fo::key";
  auto vb = f.vb(k);
  auto master = static_cast<std::size_t>(f.node_of(k));
  auto [ec, r] = run(*f.conns[master], store(opcode::set, k, vb, R"({"x":1})"));
  auto token = *protocol::parse_mutation_token(r.extras(), vb);
  auto old_rev = f.config.rev;
  f.cluster.failover(static_cast<std::uint32_t>(master));
  f.refresh_config();
  EXPECT_GT(f.config.rev, old_rev);
  auto promoted = static_cast<std::size_t>(f.node_of(k));
  EXPECT_NE(promoted, master);
  std::tie(ec, r) = run(*f.conns[promoted], get(k, vb));
  EXPECT_EQ(r.status(), status::success);
  EXPECT_EQ(r.value_string(), R"({"x":1})");
  protocol::byte_buffer b;
  protocol::append_observe_seqno(b, 0, vb, token.vbuuid);
  std::tie(ec, r) = run(*f.conns[promoted], b);
  std::error_code pe;
  auto so = protocol::parse_observe_seqno_response(r.value(), pe);
  ASSERT_TRUE(so);
  EXPECT_TRUE(so->failed_over);
  EXPECT_EQ(so->old_vbuuid, token.vbuuid);
  EXPECT_GE(so->old_seqno, token.seqno);
}

TEST(mock_cluster, fault_controls)
{
  fixture f;
  f.connect_all();
  const std::string k = "fault";
  auto& c = f.active(k);
  f.cluster.fail_next(1, static_cast<std::uint16_t>(status::etmpfail));
  auto [ec, r] = run(c, get(k, f.vb(k)));
  EXPECT_EQ(r.status(), status::etmpfail);
  std::tie(ec, r) = run(c, get(k, f.vb(k)));
  EXPECT_EQ(r.status(), status::key_enoent);
  f.cluster.drop_next(1);
  std::tie(ec, r) = run(c, get(k, f.vb(k)), std::chrono::milliseconds(100));
  EXPECT_EQ(ec, protocol::client_errc::timeout);
  f.cluster.send_garbage_next();
  std::tie(ec, r) = run(c, get(k, f.vb(k)));
  EXPECT_EQ(ec, protocol::client_errc::connection_closed);
  EXPECT_FALSE(c.is_open());
  // Killing a node's connections; stopping and restarting it.
  auto other = (static_cast<std::size_t>(f.node_of(k)) + 1) % 3;
  f.cluster.kill_connections(static_cast<std::uint32_t>(other));
  std::tie(ec, r) = run(*f.conns[other], get(k, f.vb(k)));
  EXPECT_TRUE(ec);
  f.cluster.stop_node(static_cast<std::uint32_t>(other));
  std::error_code cec;
  f.connect(other, fixture::as_bucket(), &cec);
  EXPECT_EQ(cec, protocol::client_errc::connection_failed);
  f.cluster.restart_node(static_cast<std::uint32_t>(other));
  auto again = f.connect(other, fixture::as_bucket());
  EXPECT_TRUE(again->is_open());
}
