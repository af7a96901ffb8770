// The handshake state machine against byte scripts: what it sends, and how it reads each answer.
#include <couchkv/protocol/bootstrap.hpp>
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/errors.hpp> // the conditions the errors are compared with
#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/response.hpp>
#include <couchkv/protocol/scram.hpp>

#include <gtest/gtest.h>

using namespace couchkv;
using namespace couchkv::protocol;
using protocol::opcode;
using protocol::status;
using action = bootstrap_fsm::action;

namespace {

std::vector<protocol::packet_view> packets(const protocol::byte_buffer& b)
{
  std::vector<protocol::packet_view> out;
  std::span<const std::byte> rest(b);
  while (!rest.empty()) {
    auto r = protocol::decode_packet(rest);
    EXPECT_EQ(r.state, protocol::decode_state::complete);
    if (r.state != protocol::decode_state::complete) break;
    out.push_back(r.packet);
    rest = rest.subspan(r.consumed);
  }
  return out;
}

// A response packet kept alive with its bytes.
struct reply {
  protocol::byte_buffer bytes;
  protocol::packet_view view() const { return protocol::decode_packet(bytes).packet; }
};

reply make_reply(opcode op, status s, std::string_view value = {})
{
  reply r;
  protocol::append_response(r.bytes, {.op = static_cast<std::uint8_t>(op), .status = s, .value = protocol::as_bytes(value)});
  return r;
}

reply hello_reply(std::initializer_list<protocol::hello_feature> fs)
{
  std::vector<std::uint16_t> codes;
  for (auto f : fs) codes.push_back(static_cast<std::uint16_t>(f));
  protocol::byte_buffer value;
  protocol::append_hello_features(value, codes);
  return make_reply(opcode::hello, status::success, protocol::as_string_view(value));
}

bootstrap_settings couchbase_settings()
{
  bootstrap_settings s;
  s.creds = credentials{"app", "s3cret"};
  s.bucket = "travel";
  s.client_nonce = "0123456789abcdef";
  return s;
}

} // namespace

TEST(bootstrap, full_couchbase_handshake_with_scram_sha512)
{
  bootstrap_fsm fsm(couchbase_settings());
  protocol::byte_buffer out;
  ASSERT_EQ(fsm.start(out), action::write);
  auto first = packets(out);
  ASSERT_EQ(first.size(), 3u); // pipelined like libcouchbase
  EXPECT_EQ(first[0].op(), opcode::hello);
  EXPECT_EQ(protocol::as_string_view(first[0].key), "couchkv/0.1");
  EXPECT_EQ(first[1].op(), opcode::get_error_map);
  EXPECT_EQ(first[2].op(), opcode::sasl_list_mechs);

  out.clear();
  EXPECT_EQ(fsm.on_response(hello_reply({protocol::hello_feature::xerror, protocol::hello_feature::select_bucket,
                                         protocol::hello_feature::json})
                                .view(),
                            out),
            action::wait);
  EXPECT_EQ(fsm.on_response(make_reply(opcode::get_error_map, status::success,
                                       R"({"version":1,"revision":3,"errors":{"86":{"name":"ETMPFAIL","desc":"","attrs":["temp"]}}})")
                                .view(),
                            out),
            action::wait);
  ASSERT_EQ(fsm.on_response(make_reply(opcode::sasl_list_mechs, status::success,
                                       "SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN")
                                .view(),
                            out),
            action::write);
  auto auth = packets(out);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(auth[0].op(), opcode::sasl_auth);
  EXPECT_EQ(protocol::as_string_view(auth[0].key), "SCRAM-SHA512");

  // Play the server with the same SCRAM arithmetic the mock uses.
  namespace s = protocol::scram;
  s::server srv(s::hash::sha512);
  std::error_code ec;
  ASSERT_TRUE(srv.parse_client_first(protocol::as_string_view(auth[0].value), ec));
  auto server_first = srv.server_first_message(s::make_credentials(s::hash::sha512, "s3cret", "salty", 4096), "srv");
  out.clear();
  ASSERT_EQ(fsm.on_response(make_reply(opcode::sasl_auth, status::auth_continue, server_first).view(), out),
            action::write);
  auto step = packets(out);
  ASSERT_EQ(step.size(), 1u);
  EXPECT_EQ(step[0].op(), opcode::sasl_step);
  auto server_final = srv.verify_client_final(protocol::as_string_view(step[0].value), ec);
  ASSERT_TRUE(server_final) << ec.message();

  out.clear();
  ASSERT_EQ(fsm.on_response(make_reply(opcode::sasl_step, status::success, *server_final).view(), out), action::write);
  auto select = packets(out);
  ASSERT_EQ(select.size(), 1u);
  EXPECT_EQ(select[0].op(), opcode::select_bucket);
  EXPECT_EQ(protocol::as_string_view(select[0].key), "travel");

  out.clear();
  ASSERT_EQ(fsm.on_response(make_reply(opcode::select_bucket, status::success).view(), out), action::write);
  auto cfg = packets(out);
  ASSERT_EQ(cfg.size(), 1u);
  EXPECT_EQ(cfg[0].op(), opcode::get_cluster_config);

  out.clear();
  ASSERT_EQ(fsm.on_response(make_reply(opcode::get_cluster_config, status::success, R"({"rev":1})").view(), out),
            action::done);
  const auto& r = fsm.result();
  EXPECT_TRUE(r.hello_supported);
  EXPECT_TRUE(r.features.contains(protocol::hello_feature::xerror));
  EXPECT_FALSE(r.features.contains(protocol::hello_feature::duplex));
  ASSERT_TRUE(r.error_map);
  EXPECT_EQ(r.error_map->revision, 3u);
  EXPECT_EQ(r.mechanism, protocol::sasl_mechanism::scram_sha512);
  EXPECT_TRUE(r.bucket_selected);
  EXPECT_EQ(r.config_json, R"({"rev":1})");
}

TEST(bootstrap, wrong_scram_server_signature_fails)
{
  auto settings = couchbase_settings();
  settings.fetch_error_map = false;
  bootstrap_fsm fsm(settings);
  protocol::byte_buffer out;
  fsm.start(out);
  out.clear();
  fsm.on_response(hello_reply({protocol::hello_feature::select_bucket}).view(), out);
  fsm.on_response(make_reply(opcode::sasl_list_mechs, status::success, "SCRAM-SHA1").view(), out);
  auto auth = packets(out);
  namespace s = protocol::scram;
  s::server srv(s::hash::sha1);
  std::error_code ec;
  ASSERT_TRUE(srv.parse_client_first(protocol::as_string_view(auth[0].value), ec));
  auto first = srv.server_first_message(s::make_credentials(s::hash::sha1, "s3cret", "salt", 10), "x");
  out.clear();
  ASSERT_EQ(fsm.on_response(make_reply(opcode::sasl_auth, status::auth_continue, first).view(), out), action::write);
  out.clear();
  EXPECT_EQ(fsm.on_response(make_reply(opcode::sasl_step, status::success, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=").view(), out),
            action::failed);
  EXPECT_EQ(fsm.error(), protocol::client_errc::sasl_server_signature_mismatch);
}

TEST(bootstrap, plain_is_refused_on_a_plain_connection_unless_allowed)
{
  auto settings = couchbase_settings();
  bootstrap_fsm fsm(settings);
  protocol::byte_buffer out;
  fsm.start(out);
  fsm.on_response(hello_reply({}).view(), out);
  fsm.on_response(make_reply(opcode::get_error_map, status::unknown_command).view(), out);
  EXPECT_EQ(fsm.on_response(make_reply(opcode::sasl_list_mechs, status::success, "PLAIN").view(), out), action::failed);
  EXPECT_EQ(fsm.error(), protocol::client_errc::sasl_no_common_mechanism);
  EXPECT_NE(fsm.error_detail().find("TLS"), std::string::npos) << fsm.error_detail();

  settings.tls_verified = true; // over verified TLS PLAIN is fine
  bootstrap_fsm tls_fsm(settings);
  out.clear();
  tls_fsm.start(out);
  tls_fsm.on_response(hello_reply({}).view(), out);
  tls_fsm.on_response(make_reply(opcode::get_error_map, status::unknown_command).view(), out);
  out.clear();
  ASSERT_EQ(tls_fsm.on_response(make_reply(opcode::sasl_list_mechs, status::success, "PLAIN").view(), out),
            action::write);
  auto auth = packets(out);
  EXPECT_EQ(protocol::as_string_view(auth[0].key), "PLAIN");
  EXPECT_EQ(protocol::as_string_view(auth[0].value), std::string_view("\0app\0s3cret", 11));
}

TEST(bootstrap, memcached_mode_sends_only_sasl)
{
  bootstrap_settings s;
  s.hello = false;
  s.creds = credentials{"alice", "secret"};
  s.allow_plain = true;
  bootstrap_fsm fsm(s);
  protocol::byte_buffer out;
  ASSERT_EQ(fsm.start(out), action::write);
  auto first = packets(out);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].op(), opcode::sasl_list_mechs);
  out.clear();
  ASSERT_EQ(fsm.on_response(make_reply(opcode::sasl_list_mechs, status::success, "PLAIN").view(), out), action::write);
  out.clear();
  EXPECT_EQ(fsm.on_response(make_reply(opcode::sasl_auth, status::success, "Authenticated").view(), out), action::done);
  EXPECT_FALSE(fsm.result().hello_supported);
  EXPECT_FALSE(fsm.result().config_json);

  bootstrap_settings none;
  none.hello = false;
  bootstrap_fsm nothing(none);
  out.clear();
  EXPECT_EQ(nothing.start(out), action::done);
  EXPECT_TRUE(out.empty());
}

TEST(bootstrap, server_without_hello_still_works)
{
  bootstrap_settings s;
  s.bucket = "default";
  bootstrap_fsm fsm(s);
  protocol::byte_buffer out;
  fsm.start(out);
  out.clear();
  EXPECT_EQ(fsm.on_response(make_reply(opcode::hello, status::unknown_command).view(), out), action::wait);
  // No SELECT_BUCKET (not negotiated) and no config request (no HELLO): done.
  EXPECT_EQ(fsm.on_response(make_reply(opcode::get_error_map, status::unknown_command).view(), out), action::done);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(fsm.result().hello_supported);
}

TEST(bootstrap, authentication_failure_and_missing_bucket_are_distinct_errors)
{
  auto settings = couchbase_settings();
  settings.tls_verified = true;
  settings.fetch_error_map = false;
  bootstrap_fsm fsm(settings);
  protocol::byte_buffer out;
  fsm.start(out);
  fsm.on_response(hello_reply({protocol::hello_feature::select_bucket}).view(), out);
  fsm.on_response(make_reply(opcode::sasl_list_mechs, status::success, "PLAIN").view(), out);
  EXPECT_EQ(fsm.on_response(make_reply(opcode::sasl_auth, status::auth_error, "Auth failure").view(), out),
            action::failed);
  EXPECT_EQ(fsm.error(), couchkv::errc::authentication_failure);
  EXPECT_NE(fsm.error_detail().find("PLAIN"), std::string::npos);

  bootstrap_fsm fsm2(settings);
  out.clear();
  fsm2.start(out);
  fsm2.on_response(hello_reply({protocol::hello_feature::select_bucket}).view(), out);
  fsm2.on_response(make_reply(opcode::sasl_list_mechs, status::success, "PLAIN").view(), out);
  fsm2.on_response(make_reply(opcode::sasl_auth, status::success).view(), out);
  EXPECT_EQ(fsm2.on_response(make_reply(opcode::select_bucket, status::eaccess).view(), out), action::failed);
  EXPECT_EQ(fsm2.error(), protocol::client_errc::bucket_not_found);
  EXPECT_NE(fsm2.error_detail().find("travel"), std::string::npos);
}

TEST(bootstrap, unexpected_or_malformed_answers_fail_cleanly)
{
  bootstrap_settings s;
  bootstrap_fsm fsm(s);
  protocol::byte_buffer out;
  fsm.start(out);
  EXPECT_EQ(fsm.on_response(make_reply(opcode::get, status::success).view(), out), action::failed);
  EXPECT_EQ(fsm.error(), protocol::client_errc::unexpected_response);

  bootstrap_fsm odd(s);
  odd.start(out);
  EXPECT_EQ(odd.on_response(make_reply(opcode::hello, status::success, "abc").view(), out), action::failed);
  EXPECT_EQ(odd.error(), protocol::client_errc::invalid_payload);
}
