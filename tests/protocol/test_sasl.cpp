// SASL PLAIN and SCRAM against the KV-SASL exchange and the libcouchbase SCRAM vectors
// (docs/protocol.md 9), plus the server side used by the mock cluster.
#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/sasl.hpp>
#include <couchkv/protocol/scram.hpp>

#include <gtest/gtest.h>
#include <hex.hpp>

using namespace couchkv::protocol;
namespace s = couchkv::protocol::scram;

namespace {
std::string hex(std::string_view bytes) { return couchkv::test::to_hex(std::span(bytes.data(), bytes.size())); }
} // namespace

TEST(sasl, mechanism_list_2_2)
{
  auto mechs = parse_sasl_mechanisms("SCRAM-SHA1 CRAM-MD5 PLAIN");
  EXPECT_EQ(mechs, (std::vector<sasl_mechanism>{sasl_mechanism::scram_sha1, sasl_mechanism::plain}));
  EXPECT_TRUE(parse_sasl_mechanisms("").empty());
  EXPECT_EQ(parse_sasl_mechanisms("SCRAM-SHA-256 SCRAM-SHA256").size(), 1u); // only the kv_engine spelling
}

TEST(sasl, chooses_the_strongest_and_plain_only_when_allowed)
{
  sasl_client c("u", "p");
  std::error_code ec;
  auto all = parse_sasl_mechanisms("PLAIN SCRAM-SHA1 SCRAM-SHA512 SCRAM-SHA256");
  EXPECT_EQ(c.choose(all, ec), sasl_mechanism::scram_sha512);
  EXPECT_FALSE(c.choose({sasl_mechanism::plain}, ec));
  EXPECT_EQ(ec, client_errc::sasl_no_common_mechanism);
  sasl_client plain_ok("u", "p", {.allow_plain = true});
  EXPECT_EQ(plain_ok.choose({sasl_mechanism::plain}, ec), sasl_mechanism::plain);
  sasl_client only_sha1("u", "p", {.allowed = {sasl_mechanism::scram_sha1}});
  EXPECT_EQ(only_sha1.choose(all, ec), sasl_mechanism::scram_sha1);
}

TEST(sasl, plain_message_2_3)
{
  sasl_client c("user", "pencil", {.allow_plain = true});
  c.use(sasl_mechanism::plain);
  EXPECT_EQ(c.start(), std::string("\0user\0pencil", 12));
}

TEST(sasl, scram_sha1_exchange_2_5_to_2_8)
{
  sasl_client c("user", "pencil", {.client_nonce = "d40a02e348040590"});
  c.use(sasl_mechanism::scram_sha1);
  EXPECT_EQ(c.start(), "n,,n=user,r=d40a02e348040590");
  std::error_code ec;
  auto final_msg = c.step("r=d40a02e348040590ec8ac784d46faf9d,s=fw3GRQYlFy6QEqT5y7Of4XbGaGg=,i=10", ec);
  ASSERT_TRUE(final_msg) << ec.message();
  EXPECT_EQ(*final_msg, "c=biws,r=d40a02e348040590ec8ac784d46faf9d,p=co6kWwNhpVYuuFHWQv5VVcWrPJM=");
  EXPECT_FALSE(c.finish("v=inZJ2d0Ms4dnENnHwPaqVfNn7DY="));
  EXPECT_EQ(c.finish("v=AAAJ2d0Ms4dnENnHwPaqVfNn7DY="), client_errc::sasl_server_signature_mismatch);
  EXPECT_EQ(c.finish("e=invalid-proof"), client_errc::sasl_server_signature_mismatch);
}

TEST(sasl, scram_rejects_a_server_nonce_that_does_not_extend_ours)
{
  sasl_client c("user", "pencil", {.client_nonce = "abcd"});
  c.use(sasl_mechanism::scram_sha256);
  std::error_code ec;
  EXPECT_FALSE(c.step("r=abcX1234,s=c2FsdA==,i=10", ec));
  EXPECT_EQ(ec, client_errc::sasl_server_nonce_mismatch);
  EXPECT_FALSE(c.step("r=abcd,s=c2FsdA==,i=10", ec)); // no server part
  EXPECT_EQ(ec, client_errc::sasl_server_nonce_mismatch);
}

TEST(scram, primitives_lcb_vectors_3)
{
  const std::string auth = "n=foo,r=001122334455667788,r=00112233445566778899aabbccddeeff,s=c2FsdA==,i=1000,"
                           "c=biws,r=00112233445566778899aabbccddeeff";
  struct vec {
    s::hash h;
    const char* salted;
    const char* proof;
    const char* sig;
  };
  const vec vectors[] = {
      {s::hash::sha1, "6e88be8bad7eae9d9e10aa061224034fed48d03f", "Iu9QH+CO2nAtVwmJaQe55UzlBEQ=",
       "WfiXP3zx55r8GXP1n2Bz/FVk/hk="},
      {s::hash::sha256, "632c2812e46d4604102ba7618e9d6d7d2f8128f6266b4a03264d2a0460b7dcb3",
       "V2VMc1luh0OKg7VgRO2Wt7BoBUaW8ZxUhNav2RUbAHc=", "iPG9IiKPBI9165j9aGfbGM9FwHsANnspy5pMGJUbaS8="},
      {s::hash::sha512,
       "afe6c5530785b6cc6b1c6453384731bd5ee432ee549fd42fb6695779ad8a1c5bf59de69c48f774efc4007d5298f9033c0241d5ab6930"
       "5e7b64eceeb8d834cfec",
       "dbXLc1MsNIdWj1AgSHRi/6E0OhWG2j6MwLKHR+UyVotT3G7VgYPlkQjwaewpH7v5BMXgkIqKRP/IUEbNA0M40w==",
       "qonE7dZI6HvlX7nzSxbwmXBnr8xbw1pLhcwGFfnh+q1kqT+VoIood7EReeGXSog9Q9UNxqYKITudfYvSxJCQzg=="},
  };
  for (const auto& v : vectors) {
    auto salted = s::salted_password(v.h, "password", "salt", 1000);
    EXPECT_EQ(hex(salted), v.salted);
    EXPECT_EQ(s::base64_encode(s::client_proof(v.h, salted, auth)), v.proof);
    EXPECT_EQ(s::base64_encode(s::server_signature(v.h, salted, auth)), v.sig);
  }
}

TEST(scram, server_first_parser_vectors_3)
{
  std::error_code ec;
  auto sf = s::parse_server_first("r=CCCCSSSS,s=xxxx,i=4096", ec);
  ASSERT_TRUE(sf);
  EXPECT_EQ(sf->nonce, "CCCCSSSS");
  EXPECT_EQ(sf->salt, *s::base64_decode("xxxx"));
  EXPECT_EQ(sf->iterations, 4096u);
  for (auto bad : {"r=CCCCSSSS,s=xxxx,i=4096,t=1", "r=CCCCSSSS,i=4096", ",s=xxxx,i=4096",
                   "r=CCCCSSSS,s=xxxx,i=123456789012345678901", "r=CCCC,r=SSSS,s=xxxx,i=4096", "r=C,s=x!x=,i=1",
                   "r=C,s=xxxx,i=0", "r=C,s=xxxx,i=12a", "", "r=C,s=,i=1"}) {
    EXPECT_FALSE(s::parse_server_first(bad, ec)) << bad;
    EXPECT_EQ(ec, client_errc::sasl_invalid_server_message) << bad;
  }
}

TEST(scram, an_iteration_count_above_the_cap_is_refused_before_any_hashing)
{
  // A server asking for 10,000,000 PBKDF2 rounds held the connection's thread for seconds.
  std::error_code ec;
  EXPECT_TRUE(s::parse_server_first("r=CCCCSSSS,s=xxxx,i=100000", ec)) << ec.message();
  for (auto greedy : {"r=CCCCSSSS,s=xxxx,i=100001", "r=CCCCSSSS,s=xxxx,i=10000000", "r=C,s=xxxx,i=123456789012345"}) {
    EXPECT_FALSE(s::parse_server_first(greedy, ec)) << greedy;
    EXPECT_EQ(ec, client_errc::sasl_too_many_iterations) << greedy;
    EXPECT_NE(ec.message().find("100000"), std::string::npos) << ec.message();
  }
  // The client refuses in final_message, so it never computes the salted password.
  s::client c(s::hash::sha512, "user", "password", "CCCC");
  EXPECT_FALSE(c.final_message("r=CCCCSSSS,s=xxxx,i=10000000", ec));
  EXPECT_EQ(ec, client_errc::sasl_too_many_iterations);
}

TEST(scram, base64_and_username_escaping)
{
  EXPECT_EQ(s::base64_encode("salt"), "c2FsdA==");
  EXPECT_EQ(*s::base64_decode("c2FsdA=="), "salt");
  EXPECT_EQ(*s::base64_decode(""), "");
  EXPECT_FALSE(s::base64_decode("c2Fsd"));
  EXPECT_FALSE(s::base64_decode("c2=sdA=="));
  EXPECT_EQ(s::escape_username("a,b=c"), "a=2Cb=3Dc");
  EXPECT_EQ(*s::unescape_username("a=2Cb=3Dc"), "a,b=c");
  EXPECT_FALSE(s::unescape_username("a=4Fb"));
}

TEST(scram, client_and_server_agree_and_wrong_password_fails_for_every_hash)
{
  for (auto h : {s::hash::sha1, s::hash::sha256, s::hash::sha512}) {
    auto creds = s::make_credentials(h, "secret", "NaCl-salt", 4096);
    for (const char* password : {"secret", "wrong"}) {
      s::client c(h, "user,1", password, "0123456789abcdef");
      s::server srv(h);
      std::error_code ec;
      auto user = srv.parse_client_first(c.first_message(), ec);
      ASSERT_TRUE(user) << ec.message();
      EXPECT_EQ(*user, "user,1");
      auto first = srv.server_first_message(creds, "SRVNONCE");
      auto client_final = c.final_message(first, ec);
      ASSERT_TRUE(client_final) << ec.message();
      auto server_final = srv.verify_client_final(*client_final, ec);
      if (std::string_view(password) == "secret") {
        ASSERT_TRUE(server_final) << ec.message();
        EXPECT_FALSE(c.verify_server_final(*server_final));
      } else {
        EXPECT_FALSE(server_final);
        EXPECT_EQ(ec, status::auth_error);
      }
    }
  }
}
