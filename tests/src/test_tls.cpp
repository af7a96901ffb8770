// couchbases:// end to end against the mock cluster's TLS ports (kvSSL, mgmtSSL, capiSSL) with a
// generated certificate passed as ca_file: KV, the HTTP bootstrap and its config stream, views.
// The mock keeps its plain ports open and counts which kind each connection used, so a client
// that fell back to plain text anywhere fails these tests. A wrong CA fails the open, promptly and
// saying why.
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>
#include <couchkv_mock/cluster.hpp>

#include <async_test_support.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <tls_certificate.hpp>

#include <future>
#include <thread>

using namespace couchkv;
using couchkv::test::error_of;
using couchkv::test::io_thread;
using couchkv::test::self_signed_certificate;
using namespace std::chrono_literals;

namespace {

struct tls_fixture : ::testing::Test {
  static mock::cluster_options opts(const self_signed_certificate& cert)
  {
    mock::cluster_options o;
    o.nodes = 3;
    o.vbuckets = 64;
    o.tls = mock::tls_options{cert.cert_file(), cert.key_file()};
    return o;
  }
  self_signed_certificate cert; // names localhost and 127.0.0.1; before the mock, which loads it
  mock::cluster mock{opts(cert)};
  io_thread t;

  void SetUp() override { mock.start(); }

  std::string kv_connstr(const std::string& ca_file) const
  {
    return mock.tls_connection_string() + "?ca_file=" + ca_file + "&kv_timeout=3s";
  }
  // libcouchbase's "host:port=http" form on node 0's mgmtSSL port.
  std::string http_connstr(const std::string& ca_file) const
  {
    return "couchbases://127.0.0.1:" + std::to_string(mock.mgmt_tls_ports().at(0)) + "=http/default?ca_file=" +
           ca_file + "&kv_timeout=3s";
  }

  // Every connection the client made went to a TLS port (the plain ones are open all along).
  void expect_tls_only()
  {
    auto s = mock.stats();
    EXPECT_GT(s.tls_connections_accepted, 0u);
    EXPECT_EQ(s.connections_accepted, s.tls_connections_accepted) << "a KV connection went to a plain port";
    EXPECT_EQ(s.http_requests, s.tls_http_requests) << "an HTTP request went to a plain port";
  }

  // Waits for the mock to have seen something the client does on its own (a config stream).
  template <class Pred>
  bool eventually(Pred pred)
  {
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
      if (pred(mock.stats())) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred(mock.stats());
  }
};

void upsert_and_read_back(async_bucket& b, int n)
{
  std::vector<std::pair<std::string, document_value>> items;
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    keys.push_back("tls::" + std::to_string(i));
    items.emplace_back(keys.back(), nlohmann::json{{"i", i}}.dump());
  }
  for (auto& [k, o] : b.upsert_multi(items).get()) ASSERT_TRUE(o) << k << ": " << o.ec.message();
  auto got = b.get_multi(keys).get();
  ASSERT_EQ(got.size(), keys.size());
  for (auto& [k, o] : got) {
    ASSERT_TRUE(o) << k << ": " << o.ec.message();
    EXPECT_EQ(nlohmann::json::parse(o.value->value)["i"], std::stoi(k.substr(5)));
  }
  EXPECT_EQ(error_of([&] { b.get("tls::missing").get(); }), errc::document_not_found);
}

} // namespace

TEST_F(tls_fixture, get_and_upsert_over_kvssl_with_the_ca_file)
{
  cluster c(t.io.get_executor(), kv_connstr(cert.cert_file()), credentials{"default", "password"});
  auto b = c.open_bucket().get();
  upsert_and_read_back(b, 200); // keys on every node: a connection to each node's kvSSL port
  auto s = mock.stats();
  EXPECT_GE(s.tls_connections_accepted, 4u); // the bootstrap connection and one pool per node
  expect_tls_only();
  b.close();
}

TEST_F(tls_fixture, http_bootstrap_over_mgmtssl_then_kv_over_kvssl)
{
  cluster c(t.io.get_executor(), http_connstr(cert.cert_file()), credentials{"default", "password"});
  auto b = c.open_bucket().get();
  upsert_and_read_back(b, 200);
  // The terse config, then the streaming config that replaces CCCP in this mode: both on mgmtSSL.
  EXPECT_TRUE(eventually([](const mock::cluster_stats& s) { return s.tls_http_requests >= 2; }))
      << mock.stats().tls_http_requests;
  expect_tls_only();
  b.close();
}

TEST_F(tls_fixture, view_query_goes_to_capissl)
{
  cluster c(t.io.get_executor(), kv_connstr(cert.cert_file()), credentials{"default", "password"});
  auto b = c.open_bucket().get();
  std::vector<std::pair<std::string, document_value>> docs;
  for (int i = 1; i <= 12; ++i) {
    docs.emplace_back("beer::" + std::to_string(i), nlohmann::json{{"type", "beer"}, {"abv", i}}.dump());
  }
  for (auto& [k, o] : b.upsert_multi(docs).get()) ASSERT_TRUE(o) << k;
  design_document dd;
  dd.name = "dev_beers";
  dd.views["by_abv"] = {R"(function (doc, meta) { if (doc.type == "beer") { emit(doc.abv, null); } })", "_count"};
  EXPECT_EQ(b.upsert_design_document(dd).get(), "_design/dev_beers");
  const auto before = mock.stats().tls_http_requests;
  auto rows = b.query(view_query("beers", "by_abv", true).reduce(false).stale(view_stale::false_).limit(5)).get();
  ASSERT_EQ(rows.rows.size(), 5u);
  EXPECT_EQ(rows.rows.front().key, "1");
  EXPECT_EQ(rows.meta.total_rows, 12u);
  auto count = b.query(view_query("beers", "by_abv", true).stale(view_stale::false_)).get();
  ASSERT_EQ(count.rows.size(), 1u);
  EXPECT_EQ(count.rows[0].value, "12");
  EXPECT_GE(mock.stats().tls_http_requests, before + 2);
  expect_tls_only();
  b.close();
}

TEST_F(tls_fixture, wrong_ca_fails_the_open_promptly_and_says_why)
{
  self_signed_certificate other; // a CA that did not sign the mock's certificate
  for (const auto& connstr : {kv_connstr(other.cert_file()), http_connstr(other.cert_file())}) {
    SCOPED_TRACE(connstr);
    cluster c(t.io.get_executor(), connstr + "&connect_timeout=30s", credentials{"default", "password"});
    const auto t0 = std::chrono::steady_clock::now();
    auto f = c.open_bucket();
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "open hung on an untrusted certificate";
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    auto ec = error_of([&] { f.get(); });
    EXPECT_EQ(ec, protocol::client_errc::handshake_failed) << ec.message() << ": " << c.last_error_detail();
    EXPECT_NE(c.last_error_detail().find("TLS handshake"), std::string::npos) << c.last_error_detail();
    EXPECT_NE(c.last_error_detail().find("certificate verify failed"), std::string::npos) << c.last_error_detail();
  }
  auto s = mock.stats();
  EXPECT_GE(s.tls_handshakes_failed, 2u);
  EXPECT_EQ(s.connections_accepted, s.tls_connections_accepted);
  EXPECT_EQ(s.http_requests, 0u); // nothing, not even the credentials, was sent
}

TEST_F(tls_fixture, without_verification_plain_is_not_offered_unless_asked_for)
{
  // Issue 20: tls_verify=none took TLS as a reason to send the password in clear (PLAIN) to a peer
  // nobody checked. With only PLAIN allowed, the open now fails before anything is sent...
  const std::string base = mock.tls_connection_string() + "?tls_verify=none&sasl_mech_force=PLAIN&kv_timeout=3s";
  {
    cluster c(t.io.get_executor(), base, credentials{"default", "password"});
    auto ec = error_of([&] { c.open_bucket().get(); });
    EXPECT_EQ(ec, protocol::client_errc::sasl_no_common_mechanism) << ec.message() << ": " << c.last_error_detail();
    EXPECT_NE(c.last_error_detail().find("PLAIN needs verified TLS or allow_plain_auth"), std::string::npos)
        << c.last_error_detail();
  }
  // ... unless the user asks for PLAIN too; with a verified peer it is allowed as before.
  for (const auto& connstr : {base + "&allow_plain_auth=true",
                              kv_connstr(cert.cert_file()) + "&sasl_mech_force=PLAIN"}) {
    SCOPED_TRACE(connstr);
    cluster c(t.io.get_executor(), connstr, credentials{"default", "password"});
    auto b = c.open_bucket().get();
    upsert_and_read_back(b, 20);
    b.close();
  }
}

TEST_F(tls_fixture, a_ca_file_that_cannot_be_read_is_a_clear_error)
{
  const auto missing = cert.dir() + "/no-such-ca.pem";
  try {
    cluster c(t.io.get_executor(), kv_connstr(missing), credentials{"default", "password"});
    FAIL() << "a missing ca_file was accepted";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), protocol::client_errc::invalid_argument) << e.code().message();
    EXPECT_NE(std::string(e.what()).find("ca_file \"" + missing + "\""), std::string::npos) << e.what();
  }
}

// Issue 20, item 10: a TLS failure says which check failed (an expired certificate, a name the
// certificate does not carry), over KV and over HTTP, instead of "certificate verify failed".
TEST(tls_failures, the_error_names_the_certificate_problem)
{
  struct one_case {
    const char* what;
    std::string alt_names;
    bool expired;
    const char* verdict;
  };
  for (const auto& k : {one_case{"expired", "DNS:localhost,IP:127.0.0.1", true, "certificate has expired"},
                        one_case{"another name", "DNS:db.example.com", false, "IP address mismatch"}}) {
    SCOPED_TRACE(k.what);
    self_signed_certificate cert(k.alt_names, k.expired); // trusted (it is its own CA), but not valid here
    mock::cluster_options o;
    o.nodes = 1;
    o.vbuckets = 16;
    o.tls = mock::tls_options{cert.cert_file(), cert.key_file()};
    mock::cluster m(o);
    m.start();
    io_thread t;
    const std::string options = "?ca_file=" + cert.cert_file() + "&kv_timeout=3s";
    for (const auto& connstr :
         {m.tls_connection_string() + options,
          "couchbases://127.0.0.1:" + std::to_string(m.mgmt_tls_ports().at(0)) + "=http/default" + options}) {
      SCOPED_TRACE(connstr);
      cluster c(t.io.get_executor(), connstr, credentials{"default", "password"});
      auto ec = error_of([&] { c.open_bucket().get(); });
      EXPECT_EQ(ec, protocol::client_errc::handshake_failed) << ec.message() << ": " << c.last_error_detail();
      EXPECT_NE(c.last_error_detail().find(k.verdict), std::string::npos) << c.last_error_detail();
    }
  }
}
