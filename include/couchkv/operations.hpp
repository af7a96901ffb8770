// The KV operations as request types. Each says what it sends and what its answer becomes; one
// generic path (async_bucket::execute) routes it, bounds it by its deadline, retries it, polls its
// durability when asked and completes it. Every public operation of async_bucket is one line that
// builds one of these; they can be built and run directly as well:
//
//   auto r = bucket.execute(couchkv::get_request{"user::1"}).get();
//
// Adding an operation: a request type here (result_type, validate, opcode, encode, decode; the
// definitions in src/operations.cpp), one public line in async_bucket.hpp (and bucket.hpp), its
// tests. See README.md, "Adding an operation".
#pragma once
#include <couchkv/options.hpp>
#include <couchkv/results.hpp>
#include <couchkv/transcoder.hpp>

#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/opcode.hpp>
#include <couchkv/protocol/packet.hpp>
#include <couchkv/protocol/request.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace couchkv {

// A value to store: JSON text (validated), or an encoded_value from a transcoder.
class document_value {
public:
  document_value(std::string_view json_text) : v_(json_text_or_error(json_text)) {}
  document_value(const char* json_text) : document_value(std::string_view(json_text)) {}
  document_value(const std::string& json_text) : document_value(std::string_view(json_text)) {}
  document_value(encoded_value v) : v_(std::move(v)) {}
  [[nodiscard]] const encoded_value& encoded() const& noexcept { return v_; }
  [[nodiscard]] encoded_value encoded() && noexcept { return std::move(v_); }
  [[nodiscard]] std::error_code error() const noexcept { return ec_; }

private:
  encoded_value json_text_or_error(std::string_view text) { return json_text(text, ec_); }
  std::error_code ec_{};
  encoded_value v_;
};

// What every request type provides. `validate` runs once, before anything is sent (a failure
// completes the operation with that error); `encode` may run once per attempt; `decode` turns a
// successful response (a view into the connection's buffer, valid during the call) into the
// result, copying the value once, into it. The generic path has checked that response against
// its opcode first (protocol/response_shape.hpp): decode reads the flags, counter value or
// mutation token it needs without checking again. A request that needs HELLO features (frame
// infos, synchronous durability, collections...) also says which: `required_features()`
// returning a protocol::feature_set. It is refused with feature_not_available, nothing written,
// on a connection whose server did not grant them all.
template <class R>
concept kv_request = requires(R& r, const R& cr, protocol::byte_buffer& out, const protocol::doc_key& k,
                              const protocol::packet_view& response) {
  typename R::result_type;
  { cr.key } -> std::convertible_to<const std::string&>;
  { cr.validate() } -> std::same_as<std::error_code>;
  { cr.opcode() } -> std::same_as<protocol::opcode>;
  cr.encode(out, k);
  { r.decode(response, std::uint16_t{}) } -> std::same_as<typename R::result_type>;
};

struct get_request {
  using result_type = get_result;
  std::string key;
  get_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::get; }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

struct get_and_touch_request {
  using result_type = get_result;
  std::string key;
  get_and_touch_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::gat; }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

struct get_and_lock_request {
  using result_type = get_result;
  std::string key;
  get_and_lock_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::get_locked; }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

// From a replica: options.mode index asks that one; any (and all) asks every replica at once and
// completes with the first success, or the last error.
struct get_replica_request {
  using result_type = get_result;
  std::string key;
  replica_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::get_replica; }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

// `cas` is the lock CAS get_and_lock returned; 0 is refused (invalid_argument, nothing sent).
struct unlock_request {
  using result_type = mutation_result;
  std::string key;
  std::uint64_t cas{0};
  common_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::unlock_key; }
  [[nodiscard]] bool with_cas() const noexcept { return true; }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

struct touch_request {
  using result_type = mutation_result;
  std::string key;
  expiry_time expiry{};
  touch_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::touch; }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

// What a durability_options block needs of the server: synchronous durability goes in a frame info.
[[nodiscard]] protocol::feature_set durability_features(const durability_options& d) noexcept;

enum class store_mode : std::uint8_t { upsert, insert, replace, append, prepend };

// upsert / insert / replace take a document; append / prepend raw bytes (binary(...)), the
// document's format unchanged.
struct store_request {
  using result_type = mutation_result;
  store_mode mode{store_mode::upsert};
  std::string key;
  document_value value;
  mutation_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept;
  [[nodiscard]] bool with_cas() const noexcept { return options.cas != 0; }
  [[nodiscard]] protocol::feature_set required_features() const noexcept { return durability_features(options.durability); }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

struct remove_request {
  using result_type = mutation_result;
  static constexpr bool removes = true; // durability polls for the removal
  std::string key;
  remove_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept { return protocol::opcode::del; }
  [[nodiscard]] bool with_cas() const noexcept { return options.cas != 0; }
  [[nodiscard]] protocol::feature_set required_features() const noexcept { return durability_features(options.durability); }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

// delta > 0 increments, < 0 decrements (floors at 0).
struct counter_request {
  using result_type = counter_result;
  std::string key;
  std::int64_t delta{0};
  counter_options options{};

  [[nodiscard]] std::error_code validate() const;
  [[nodiscard]] protocol::opcode opcode() const noexcept
  {
    return delta >= 0 ? protocol::opcode::increment : protocol::opcode::decrement;
  }
  [[nodiscard]] protocol::feature_set required_features() const noexcept { return durability_features(options.durability); }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) const;
  result_type decode(const protocol::packet_view& response, std::uint16_t vbucket);
};

} // namespace couchkv
