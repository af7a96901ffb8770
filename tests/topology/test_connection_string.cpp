#include <couchkv/topology/connection_string.hpp>

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

using namespace couchkv::topology;
using namespace std::chrono_literals;

TEST(connection_string, couchbase_hosts_ports_bucket_options)
{
  config_error err;
  auto cs = parse_connection_string(
      "couchbase://h1,h2:11310;10.0.0.3,[::1]:12000,[fe80::1]/my%2Dbucket?kv_timeout=250ms&kv_pool_size=4"
      "&sasl_mech_force=SCRAM-SHA256,SCRAM-SHA1&allow_plain_auth=true&durability_interval=0.5",
      err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_EQ(cs->scheme, scheme::couchbase);
  ASSERT_EQ(cs->endpoints.size(), 5u);
  EXPECT_EQ(cs->endpoints[0], (endpoint{"h1", 11210, false}));
  EXPECT_EQ(cs->endpoints[1], (endpoint{"h2", 11310, false}));
  EXPECT_EQ(cs->endpoints[2], (endpoint{"10.0.0.3", 11210, false}));
  EXPECT_EQ(cs->endpoints[3], (endpoint{"::1", 12000, false}));
  EXPECT_EQ(cs->endpoints[4], (endpoint{"fe80::1", 11210, false}));
  EXPECT_EQ(cs->bucket, "my-bucket");
  EXPECT_EQ(cs->options.kv_timeout, 250ms);
  EXPECT_EQ(cs->options.kv_pool_size, 4u);
  EXPECT_EQ(cs->options.sasl_mechanisms, (std::vector<std::string>{"SCRAM-SHA256", "SCRAM-SHA1"}));
  EXPECT_TRUE(cs->options.allow_plain_auth);
  EXPECT_EQ(cs->options.durability_interval, 500ms);
  EXPECT_FALSE(cs->tls());
}

TEST(connection_string, tls_and_memcached_defaults)
{
  config_error err;
  auto cs = parse_connection_string("couchbases://db.example.com/default?ca_file=%2Fetc%2Fca.pem&tls_verify=none", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_TRUE(cs->tls());
  EXPECT_EQ(cs->endpoints[0].port, 11207);
  EXPECT_EQ(cs->options.ca_file, "/etc/ca.pem");
  EXPECT_EQ(cs->options.verify, tls_verify::none);
  cs = parse_connection_string("memcached://127.0.0.1:11211,127.0.0.1:11212,localhost", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_EQ(cs->scheme, scheme::memcached);
  EXPECT_EQ(cs->endpoints[2].port, 11211);
  EXPECT_TRUE(cs->bucket.empty());
}

TEST(connection_string, management_ports_mean_http_bootstrap_in_the_schemes_security)
{
  config_error err;
  auto cs = parse_connection_string("couchbase://h1:8091,h3:11210,h4:12000/b", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_TRUE(cs->endpoints[0].http);
  EXPECT_FALSE(cs->endpoints[1].http);
  EXPECT_FALSE(cs->endpoints[2].http);
  cs = parse_connection_string("couchbases://h1:18091,h2:11207,[::1]:18091/b", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_TRUE(cs->tls());
  EXPECT_TRUE(cs->endpoints[0].http);
  EXPECT_FALSE(cs->endpoints[1].http);
  EXPECT_TRUE(cs->endpoints[2].http);

  // Explicit service suffixes (libcouchbase syntax) win over the port's convention.
  cs = parse_connection_string("couchbase://h1:9000=http,h2:8091=mcd,[::1]:7000=kv/b", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_TRUE(cs->endpoints[0].http);
  EXPECT_EQ(cs->endpoints[0].port, 9000);
  EXPECT_FALSE(cs->endpoints[1].http);
  EXPECT_EQ(cs->endpoints[2].host, "::1");
  EXPECT_FALSE(cs->endpoints[2].http);
  EXPECT_FALSE(parse_connection_string("couchbase://h1:9000=ftp/b", err));
  EXPECT_NE(err.message().find("ftp"), std::string::npos);
  EXPECT_FALSE(parse_connection_string("memcached://h1:11211=http", err));
  // Under couchbases:// "=http" is HTTPS at that port; under couchbase:// a TLS port number taken
  // as written.
  cs = parse_connection_string("couchbases://h1:9443=http/b", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_TRUE(cs->tls());
  EXPECT_TRUE(cs->endpoints[0].http);
  cs = parse_connection_string("couchbase://h1:18091=http,h2:11207=kv/b", err);
  ASSERT_TRUE(cs) << err.message();
  EXPECT_TRUE(cs->endpoints[0].http);
  EXPECT_FALSE(cs->endpoints[1].http);
}

TEST(connection_string, a_standard_port_of_the_other_security_level_says_what_to_write)
{
  // Before: couchbase://h:18091 was plain HTTP to the TLS management port, a request that no
  // answer could follow; couchbases://h:8091 a TLS handshake with a plain port.
  const std::tuple<const char*, std::vector<const char*>> cases[] = {
      {"couchbase://h1:18091/b", {"port 18091", "management port over TLS", "couchbases://h1:18091", "h1:8091", "h1:18091=http"}},
      {"couchbase://h1,[::1]:11207/b", {"port 11207", "KV port over TLS", "couchbases://[::1]:11207", "[::1]:11210", "[::1]:11207=kv"}},
      {"couchbases://h1:8091/b", {"port 8091", "plain management port", "h1:18091", "h1:8091=http"}},
      {"couchbases://h1:11210/b", {"port 11210", "plain KV port", "h1:11207", "h1:11210=kv"}},
  };
  for (const auto& [text, mentions] : cases) {
    config_error err;
    EXPECT_FALSE(parse_connection_string(text, err)) << text;
    EXPECT_EQ(err.ec, config_errc::invalid_port) << text << ": " << err.message();
    for (const char* m : mentions) EXPECT_NE(err.message().find(m), std::string::npos) << text << ": " << err.message();
  }
  // memcached:// has no such ports.
  config_error err;
  EXPECT_TRUE(parse_connection_string("memcached://h1:11207,h2:18091", err)) << err.message();
}

TEST(connection_string, errors_name_the_offending_part)
{
  const std::tuple<const char*, config_errc, const char*> cases[] = {
      {"h1,h2/default", config_errc::invalid_connection_string, "scheme"},
      {"http://h1/default", config_errc::unknown_scheme, "http"},
      {"couchbase:///default", config_errc::invalid_host, "no host"},
      {"couchbase://h1,,h2", config_errc::invalid_host, "empty host"},
      {"couchbase://=http/d", config_errc::invalid_host, "empty host"},
      {"couchbase://h1,=mcd", config_errc::invalid_host, "empty host"},
      {"couchbase://h1/d?kv_timeout=0", config_errc::invalid_option_value, "above 0"},
      {"couchbase://h1/d?connect_timeout=0ms", config_errc::invalid_option_value, "above 0"},
      {"couchbase://h1/d?config_poll_interval=0s", config_errc::invalid_option_value, "above 0"},
      {"couchbase://h1/d?durability_interval=0", config_errc::invalid_option_value, "above 0"},
      {"couchbase://h1/d?kv_timeout=2d", config_errc::invalid_option_value, "kv_timeout"},
      {"couchbase://h1:99999", config_errc::invalid_port, "99999"},
      {"couchbase://h1:", config_errc::invalid_port, "h1"},
      {"couchbase://h1:abc", config_errc::invalid_port, "abc"},
      {"couchbase://::1/default", config_errc::invalid_host, "brackets"},
      {"couchbase://[::1/default", config_errc::invalid_host, "unclosed"},
      {"couchbase://[::1]x/default", config_errc::invalid_host, "junk"},
      {"couchbase://[xyz]/default", config_errc::invalid_host, "IPv6"},
      {"couchbase://bad host/default", config_errc::invalid_host, "bad host"},
      {"couchbase://h1/default?kv_timout=1s", config_errc::unknown_option, "kv_timout"},
      {"couchbase://h1/default?kv_timeout=soon", config_errc::invalid_option_value, "kv_timeout"},
      {"couchbase://h1/default?kv_timeout=-1", config_errc::invalid_option_value, "kv_timeout"},
      {"couchbase://h1/default?kv_pool_size=0", config_errc::invalid_option_value, "kv_pool_size"},
      {"couchbase://h1/default?kv_pool_size=1&kv_pool_size=2", config_errc::invalid_option_value, "twice"},
      {"couchbase://h1/default?sasl_mech_force=CRAM-MD5", config_errc::invalid_option_value, "sasl_mech_force"},
      {"couchbase://h1/default?allow_plain_auth", config_errc::invalid_option_value, "no value"},
      {"couchbase://h1/default?retry_strategy=sometimes", config_errc::invalid_option_value, "best_effort"},
      {"couchbase://h1/a/b", config_errc::invalid_connection_string, "bucket"},
      {"memcached://h1/default", config_errc::invalid_connection_string, "no bucket"},
  };
  for (auto [text, code, mentions] : cases) {
    config_error err;
    EXPECT_FALSE(parse_connection_string(text, err)) << text;
    EXPECT_EQ(err.ec, code) << text << ": " << err.message();
    EXPECT_NE(err.message().find(mentions), std::string::npos) << text << ": " << err.message();
  }
}

TEST(connection_string, retry_strategy_is_fail_fast_unless_asked)
{
  config_error err;
  auto cs = parse_connection_string("couchbase://h1/default", err);
  ASSERT_TRUE(cs);
  EXPECT_FALSE(cs->options.retry_best_effort);
  cs = parse_connection_string("couchbase://h1/default?retry_strategy=best_effort", err);
  ASSERT_TRUE(cs);
  EXPECT_TRUE(cs->options.retry_best_effort);
  cs = parse_connection_string("couchbase://h1/default?retry_strategy=fail_fast", err);
  ASSERT_TRUE(cs);
  EXPECT_FALSE(cs->options.retry_best_effort);
}

TEST(connection_string, durations)
{
  EXPECT_EQ(parse_duration("2.5"), 2500ms);
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("3s"), 3000ms);
  EXPECT_EQ(parse_duration("2m"), 120000ms);
  EXPECT_EQ(parse_duration("1500us"), 2ms);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("ms"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("1e99"));
  EXPECT_FALSE(parse_duration("nan"));
}
