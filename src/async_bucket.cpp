#include "bucket_impl.hpp"
#include "durability.hpp"
#include "fan_out.hpp"

#include <couchkv/async_bucket.hpp>
#include <couchkv/io/executor.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/protocol/mutation_token.hpp>
#include <couchkv/protocol/request.hpp>

#include <atomic>
#include <mutex>

namespace couchkv {

bool detail::running_on(const asio::any_io_executor& ex) noexcept { return io::running_on(ex); }

using protocol::opcode;
using protocol::status;
using detail::bucket_impl;
using detail::request_spec;

namespace {

// The expiry field as the server reads it (see expiry_time): nullopt when `e` cannot be sent as
// meant (negative, past the wire's 2106, or a time point the server would read as relative).
std::optional<std::uint32_t> wire_expiry(expiry_time e)
{
  constexpr std::int64_t thirty_days = 30 * 24 * 3600;
  constexpr std::int64_t wire_max = 0xffffffff;
  auto s = e.value().count();
  if (e.is_absolute()) {
    if (s <= thirty_days || s > wire_max) return std::nullopt;
    return static_cast<std::uint32_t>(s);
  }
  if (s < 0) return std::nullopt;
  if (s <= thirty_days) return static_cast<std::uint32_t>(s);
  // Longer than 30 days: the server wants an absolute Unix time (s is at most 2^33: no overflow).
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (s > wire_max - now) return std::nullopt;
  return static_cast<std::uint32_t>(now + s);
}

std::error_code bad_expiry() { return make_error_code(protocol::client_errc::invalid_argument); }

// Observe-based durability is polled after the mutation: a timeout it cannot use must be refused
// before the mutation is sent, not after it was applied.
bool bad_durability_timeout(std::chrono::milliseconds t) noexcept { return t.count() < 0; }

std::optional<protocol::durability_requirement> sync_durability(const std::optional<protocol::durability_level>& l)
{
  if (!l || *l == protocol::durability_level::none) return std::nullopt;
  return protocol::durability_requirement{*l, std::nullopt};
}

// The error of a completed request: transport error, or the status read for this operation.
std::error_code outcome_error(std::error_code ec, const io::kv_response& r, opcode op, bool had_cas)
{
  if (ec) return ec;
  if (r.status() != status::success) return protocol::make_kv_error(op, r.status(), had_cas);
  return {};
}

// A GET answer's flags: the first four bytes of its extras (none: 0).
std::uint32_t flags_of(protocol::bytes_view extras) noexcept
{
  return extras.size() >= 4 ? protocol::load_be32(extras.data()) : 0;
}

get_result to_get_result(std::string key, const io::kv_response& r, bool replica)
{
  get_result g;
  g.key = std::move(key);
  g.value = std::string(r.value_string());
  g.flags = flags_of(r.extras());
  g.cas = r.cas();
  g.datatype = r.datatype();
  g.is_replica = replica;
  return g;
}

mutation_result to_mutation_result(std::string key, const io::kv_response& r, std::uint16_t vb_hint = 0)
{
  mutation_result m;
  m.key = std::move(key);
  m.cas = r.cas();
  if (auto t = protocol::parse_mutation_token(r.extras(), vb_hint)) m.token = mutation_token{t->vbucket, t->vbuuid, t->seqno};
  return m;
}

// A single-key operation whose end converts the response to its Result and calls `done` (the
// caller's completion, or run_mutation's continuation): one object per operation, allocated from
// the thread's handler cache, no type-erased layer of its own.
template <class Result, class Done, class Convert>
class result_op final : public detail::bucket_op {
public:
  result_op(Done done, Convert convert) : done_(std::move(done)), convert_(std::move(convert)) {}
  void on_done(std::error_code ec, io::kv_response&& r) override
  {
    if (auto e = outcome_error(ec, r, spec.op, spec.had_cas)) {
      std::move(done_)(e, Result{});
      return;
    }
    std::move(done_)({}, convert_(std::move(spec.key), r, vbucket)); // the key's last use: moved
  }

private:
  Done done_;
  Convert convert_;
};

template <class Result, class Done, class Convert>
void run(const std::shared_ptr<bucket_impl>& impl, request_spec spec, Done done, Convert convert)
{
  if (!impl) {
    std::move(done)(make_error_code(protocol::client_errc::not_connected), Result{});
    return;
  }
  using op_type = result_op<Result, Done, Convert>;
  auto o = std::allocate_shared<op_type>(io::handler_allocator<op_type>{}, std::move(done), std::move(convert));
  o->spec = std::move(spec);
  impl->execute(std::move(o));
}

using detail::validate_key;

struct durability_request {
  int persist_to{0};
  int replicate_to{0};
  bool removal{false};
  std::chrono::milliseconds timeout{5000};
  [[nodiscard]] bool wanted() const noexcept { return persist_to != 0 || replicate_to != 0; }
};

// Runs a mutation, then (when asked) polls its durability; completes once with the mutation's
// result and, when durability was requested, its outcome — also when the poll failed.
template <class Result, class Convert>
void run_mutation(const std::shared_ptr<bucket_impl>& impl, request_spec spec, durability_request d,
                  detail::completion<void(std::error_code, Result)> done, Convert convert)
{
  if (!d.wanted() || !impl) return run<Result>(impl, std::move(spec), std::move(done), convert);
  asio::dispatch(impl->executor(), [impl, spec = std::move(spec), d, done = std::move(done), convert]() mutable {
    std::string why;
    if (auto ec = detail::durability_possible(*impl, spec.key, d.persist_to, d.replicate_to, why)) {
      impl->set_last_failure_detail(std::move(why));
      return std::move(done)(ec, Result{}); // refused before the mutation: nothing was applied
    }
    auto shared = std::make_shared<detail::completion<void(std::error_code, Result)>>(std::move(done));
    run<Result>(impl, std::move(spec),
                [impl, d, shared](std::error_code ec, Result r) {
                  if (ec) return std::move(*shared)(ec, std::move(r));
                  detail::endure_spec e{r.key, r.cas, r.token, d.persist_to, d.replicate_to, d.removal, d.timeout};
                  auto result = std::make_shared<Result>(std::move(r));
                  detail::start_endure(impl, std::move(e), [shared, result](std::error_code dec, durability_outcome o) {
                    result->durability = std::move(o);
                    std::move(*shared)(dec, std::move(*result));
                  });
                },
                convert);
  });
}

} // namespace

const std::string& async_bucket::name() const { return impl_->name(); }
asio::any_io_executor async_bucket::get_executor() const { return impl_ ? impl_->executor() : asio::any_io_executor{}; }
error_context async_bucket::last_error() const { return impl_ ? impl_->last_error() : error_context{}; }
void async_bucket::close()
{
  if (impl_) impl_->close();
}

void async_bucket::start_get(impl_ptr impl, std::string key, get_options o, detail::completion<get_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  request_spec s;
  s.op = opcode::get;
  s.key = std::move(key);
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  s.encode = [](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_get(b, 0, k); };
  run<get_result>(impl, std::move(s), std::move(done),
                  [](std::string&& k, const io::kv_response& r, std::uint16_t) { return to_get_result(std::move(k), r, false); });
}

void async_bucket::start_get_and_touch(impl_ptr impl, std::string key, get_and_touch_options o,
                                       detail::completion<get_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  request_spec s;
  s.op = opcode::gat;
  s.key = std::move(key);
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  auto wire = wire_expiry(o.expiry);
  if (!wire) return std::move(done)(bad_expiry(), {});
  s.encode = [expiry = *wire](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_gat(b, 0, k, expiry); };
  run<get_result>(impl, std::move(s), std::move(done),
                  [](std::string&& k, const io::kv_response& r, std::uint16_t) { return to_get_result(std::move(k), r, false); });
}

void async_bucket::start_get_and_lock(impl_ptr impl, std::string key, get_and_lock_options o,
                                      detail::completion<get_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  request_spec s;
  s.op = opcode::get_locked;
  s.key = std::move(key);
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  // Negative (it became 0xFFFFFFFF on the wire) or beyond 32 bits (truncated): refused.
  if (o.lock_time.count() < 0 || o.lock_time.count() > 0xffffffffLL) {
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  auto t = static_cast<std::uint32_t>(o.lock_time.count());
  s.encode = [t](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_get_locked(b, 0, k, t); };
  run<get_result>(impl, std::move(s), std::move(done),
                  [](std::string&& k, const io::kv_response& r, std::uint16_t) { return to_get_result(std::move(k), r, false); });
}

void async_bucket::start_get_replica(impl_ptr impl, std::string key, replica_options o,
                                     detail::completion<get_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (impl->is_memcached()) return std::move(done)(make_error_code(couchkv::client_errc::feature_not_available), {});
  auto make = [&](std::size_t index) {
    request_spec s;
    s.op = opcode::get_replica;
    s.key = key;
    s.where = detail::target::replica;
    s.replica_index = index;
    s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
    s.encode = [](protocol::byte_buffer& b, const protocol::doc_key& k) {
      protocol::append_get(b, 0, k, opcode::get_replica);
    };
    return s;
  };
  auto convert = [](std::string&& k, const io::kv_response& r, std::uint16_t) { return to_get_result(std::move(k), r, true); };
  if (o.mode == replica_mode::index) {
    return run<get_result>(impl, make(std::size_t{o.index} + 1), std::move(done), convert);
  }
  // any: ask every replica at once; the first success wins, otherwise the last error.
  auto n = impl->num_replicas();
  if (n == 0) return std::move(done)(make_error_code(couchkv::client_errc::no_node_for_vbucket), {});
  struct race {
    std::mutex m;
    std::optional<detail::completion<get_signature>> done;
    std::size_t left;
    std::error_code last;
  };
  auto state = std::make_shared<race>();
  state->done.emplace(std::move(done));
  state->left = n;
  for (std::size_t i = 1; i <= n; ++i) {
    run<get_result>(impl, make(i),
                    [state](std::error_code ec, get_result r) {
                      // The winner is taken under the lock and completed outside it: the handler
                      // may run inline and must not run holding our mutex.
                      std::optional<detail::completion<get_signature>> winner;
                      std::error_code result_ec;
                      {
                        std::lock_guard lock(state->m); // the callbacks run on the bucket strand; cheap insurance
                        --state->left;
                        if (!state->done) return;
                        if (ec) state->last = ec;
                        if (!ec || state->left == 0) {
                          winner.emplace(std::move(*state->done)); // constructed, never assigned (Asio 1.81's any_completion_handler move assignment recurses)
                          state->done.reset();
                          result_ec = ec ? state->last : std::error_code{};
                        }
                      }
                      if (winner) std::move(*winner)(result_ec, ec ? get_result{} : std::move(r));
                    },
                    convert);
  }
}

void async_bucket::start_unlock(impl_ptr impl, std::string key, std::uint64_t cas, common_options o,
                                detail::completion<mutation_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  // CAS 0 is no lock's CAS: the server would answer with a status that reads like a lost race
  // (or, on some versions, unlock anyway). The caller passed the wrong value; say so, send nothing.
  if (cas == 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  request_spec s;
  s.op = opcode::unlock_key;
  s.key = std::move(key);
  s.had_cas = true;
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  s.encode = [cas](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_unlock(b, 0, k, cas); };
  run<mutation_result>(impl, std::move(s), std::move(done),
                       [](std::string&& k, const io::kv_response& r, std::uint16_t vb) { return to_mutation_result(std::move(k), r, vb); });
}

void async_bucket::start_touch(impl_ptr impl, std::string key, expiry_time expiry, touch_options o,
                               detail::completion<mutation_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  request_spec s;
  s.op = opcode::touch;
  s.key = std::move(key);
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  auto wire = wire_expiry(expiry);
  if (!wire) return std::move(done)(bad_expiry(), {});
  s.encode = [e = *wire](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_touch(b, 0, k, e); };
  run<mutation_result>(impl, std::move(s), std::move(done),
                       [](std::string&& k, const io::kv_response& r, std::uint16_t vb) { return to_mutation_result(std::move(k), r, vb); });
}

void async_bucket::start_store(impl_ptr impl, store_kind kind, std::string key, document_value value,
                               mutation_options o, detail::completion<mutation_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  if (value.error()) return std::move(done)(value.error(), {});
  if (bad_durability_timeout(o.durability_timeout)) {
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  if (o.durability_level && (o.persist_to != 0 || o.replicate_to != 0)) {
    // Synchronous and observe-based durability are alternatives, as in every SDK.
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  auto wire = wire_expiry(o.expiry);
  if (!wire) return std::move(done)(bad_expiry(), {});
  request_spec s;
  s.key = std::move(key);
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  s.had_cas = o.cas != 0;
  // The value is ours: moved, not copied, into the block the encoder shares with its retries.
  auto v = std::allocate_shared<encoded_value>(io::handler_allocator<encoded_value>{}, std::move(value).encoded());
  if (o.flags) v->flags = *o.flags;
  protocol::mutation_frames frames{.durability = sync_durability(o.durability_level)};
  auto cas = o.cas;
  auto expiry = *wire;
  switch (kind) {
    case store_kind::upsert:
    case store_kind::insert:
    case store_kind::replace: {
      s.op = kind == store_kind::upsert ? opcode::set : kind == store_kind::insert ? opcode::add : opcode::replace;
      if (s.op == opcode::add && cas != 0) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
      auto op = s.op;
      s.encode = [op, v, cas, expiry, frames](protocol::byte_buffer& b, const protocol::doc_key& k) {
        protocol::append_store(b, op, 0, k,
                               {.value = protocol::as_bytes(v->data), .flags = v->flags, .expiry = expiry, .cas = cas,
                                .datatype = v->datatype, .frames = frames});
      };
      break;
    }
    case store_kind::append:
    case store_kind::prepend: {
      s.op = kind == store_kind::append ? opcode::append : opcode::prepend;
      auto op = s.op;
      s.encode = [op, v, cas, frames](protocol::byte_buffer& b, const protocol::doc_key& k) {
        protocol::append_concat(b, op, 0, k, protocol::as_bytes(v->data), cas, frames);
      };
      break;
    }
  }
  run_mutation<mutation_result>(impl, std::move(s), {o.persist_to, o.replicate_to, false, o.durability_timeout},
                                std::move(done), [](std::string&& k, const io::kv_response& r, std::uint16_t vb) {
                                  return to_mutation_result(std::move(k), r, vb);
                                });
}

void async_bucket::start_remove(impl_ptr impl, std::string key, remove_options o, detail::completion<mutation_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  if (bad_durability_timeout(o.durability_timeout)) {
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  if (o.durability_level && (o.persist_to != 0 || o.replicate_to != 0)) {
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  request_spec s;
  s.op = opcode::del;
  s.key = std::move(key);
  s.had_cas = o.cas != 0;
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  protocol::mutation_frames frames{.durability = sync_durability(o.durability_level)};
  auto cas = o.cas;
  s.encode = [cas, frames](protocol::byte_buffer& b, const protocol::doc_key& k) {
    protocol::append_delete(b, 0, k, cas, frames);
  };
  run_mutation<mutation_result>(impl, std::move(s), {o.persist_to, o.replicate_to, true, o.durability_timeout},
                                std::move(done), [](std::string&& k, const io::kv_response& r, std::uint16_t vb) {
                                  return to_mutation_result(std::move(k), r, vb);
                                });
}

void async_bucket::start_counter(impl_ptr impl, std::string key, std::int64_t delta, counter_options o,
                                 detail::completion<counter_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  if (bad_durability_timeout(o.durability_timeout)) {
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  if (o.durability_level && (o.persist_to != 0 || o.replicate_to != 0)) {
    return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  }
  // Checked with or without `initial` (without, the expiry is not sent): a bad value is a bug.
  auto wire = wire_expiry(o.expiry);
  if (!wire) return std::move(done)(bad_expiry(), {});
  request_spec s;
  s.op = delta >= 0 ? opcode::increment : opcode::decrement;
  s.key = std::move(key);
  s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  protocol::counter_args args;
  args.delta = delta >= 0 ? static_cast<std::uint64_t>(delta) : static_cast<std::uint64_t>(-(delta + 1)) + 1;
  args.initial = o.initial.value_or(0);
  args.expiry = o.initial ? *wire : 0xffffffffu; // no initial: missing is an error
  args.frames.durability = sync_durability(o.durability_level);
  auto op = s.op;
  s.encode = [op, args](protocol::byte_buffer& b, const protocol::doc_key& k) { protocol::append_counter(b, op, 0, k, args); };
  run_mutation<counter_result>(impl, std::move(s), {o.persist_to, o.replicate_to, false, o.durability_timeout},
                               std::move(done), [](std::string&& k, const io::kv_response& r, std::uint16_t vb) {
    counter_result c;
    c.key = std::move(k);
    c.cas = r.cas();
    c.value = r.value().size() == 8 ? protocol::load_be64(r.value().data()) : 0;
    if (auto t = protocol::parse_mutation_token(r.extras(), vb)) c.token = mutation_token{t->vbucket, t->vbuuid, t->seqno};
    return c;
  });
}

using detail::fan_out;

namespace {

// get_multi's state: the result map is built up front (a duplicate key is read once) and each
// key's answer lands in its node; the bucket runs it as one batch (bucket_impl::execute_get_batch).
// Every callback runs on the bucket's strand: no lock.
class multi_get final : public detail::get_batch {
public:
  using result_type = multi_result<get_result>;
  explicit multi_get(detail::completion<async_bucket::multi_get_signature> done) : done_(std::move(done)) {}

  // Takes the keys; those that cannot be sent get their error at once. Returns how many to read.
  std::size_t prepare(std::vector<std::string>& input)
  {
    slots_.reserve(input.size());
    keys.reserve(input.size());
    for (auto& k : input) {
      if (auto ec = validate_key(k)) {
        results_[k].ec = ec; // a duplicate of a valid key cannot be invalid: no clash
        continue;
      }
      // The input is often sorted: try the end first. (emplace_hint compares twice when the hint
      // is right; try_emplace with a hint four times: std::string compares are a good part of
      // the cost per key.)
      const auto before = results_.size();
      auto it = results_.emplace_hint(results_.end(), std::piecewise_construct, std::forward_as_tuple(std::move(k)),
                                      std::forward_as_tuple());
      if (results_.size() == before) continue; // a duplicate: read once
      slots_.push_back(it);
      keys.emplace_back(it->first);
    }
    left_ = slots_.size();
    return left_;
  }
  void found(std::size_t index, const protocol::packet_view& p) override
  {
    auto& o = slots_[index]->second;
    auto& g = o.value.emplace();
    g.key = slots_[index]->first;
    g.value.assign(reinterpret_cast<const char*>(p.value.data()), p.value.size());
    g.flags = flags_of(p.extras);
    g.cas = p.cas();
    g.datatype = p.datatype();
    one_done();
  }
  void done(std::size_t index, std::error_code ec, io::kv_response r) override
  {
    auto& slot = *slots_[index];
    if (auto e = outcome_error(ec, r, opcode::get, false)) slot.second.ec = e;
    else slot.second.value = to_get_result(slot.first, r, false);
    one_done();
  }
  // Completes now: nothing (left) to read.
  void complete() { std::move(done_)({}, std::move(results_)); }

private:
  void one_done()
  {
    if (--left_ == 0) complete();
  }
  result_type results_;
  std::vector<result_type::iterator> slots_; // by batch index
  std::size_t left_{0};
  detail::completion<async_bucket::multi_get_signature> done_;
};

// get_multi_each's state: each key's answer goes to the caller's callback as views; nothing is
// kept per key but its place in the caller's vector. Every callback runs on the bucket's strand.
class multi_get_each final : public detail::get_batch {
public:
  multi_get_each(std::vector<std::string> input, async_bucket::get_each_callback on_each,
                 detail::completion<async_bucket::multi_each_signature> done)
      : owned_(std::move(input)), on_each_(std::move(on_each)), done_(std::move(done))
  {
    add_keys(owned_);
  }
  multi_get_each(borrowed_keys input, async_bucket::get_each_callback on_each,
                 detail::completion<async_bucket::multi_each_signature> done)
      : on_each_(std::move(on_each)), done_(std::move(done))
  {
    add_keys(input.keys());
  }
  // On the bucket's executor, before the batch runs: the keys that cannot be sent. Returns
  // whether any key is left to read (if not, the operation has completed).
  bool report_invalid()
  {
    for (const auto& k : invalid_) on_each_(validate_key(k), get_view{.key = k});
    if (left_ == 0) complete();
    return left_ != 0;
  }
  void found(std::size_t index, const protocol::packet_view& p) override
  {
    found_one(index, p.value, p.extras, p.cas(), p.datatype());
  }
  void done(std::size_t index, std::error_code ec, io::kv_response r) override
  {
    if (auto e = outcome_error(ec, r, opcode::get, false)) {
      on_each_(e, get_view{.key = keys[index]});
      one_done();
    } else {
      found_one(index, r.value(), r.extras(), r.cas(), r.datatype());
    }
  }
  void complete() { std::move(done_)({}, found_); }

private:
  void found_one(std::size_t index, protocol::bytes_view value, protocol::bytes_view extras, std::uint64_t cas,
                 std::uint8_t datatype)
  {
    ++found_;
    on_each_({}, get_view{.key = keys[index],
                          .value = protocol::as_string_view(value),
                          .flags = flags_of(extras),
                          .cas = cas,
                          .datatype = datatype});
    one_done();
  }
  void one_done()
  {
    if (--left_ == 0) complete();
  }
  template <class Keys>
  void add_keys(const Keys& input)
  {
    keys.reserve(input.size());
    for (std::string_view k : input) {
      if (validate_key(k)) invalid_.push_back(k);
      else keys.push_back(k);
    }
    left_ = keys.size();
  }
  std::vector<std::string> owned_;          // the caller's keys (unless borrowed); `keys` views them
  std::vector<std::string_view> invalid_;
  async_bucket::get_each_callback on_each_;
  detail::completion<async_bucket::multi_each_signature> done_;
  std::size_t left_{0};
  std::size_t found_{0};
};

} // namespace

namespace {
template <class Keys>
void run_get_multi_each(const std::shared_ptr<detail::bucket_impl>& impl, Keys&& keys,
                        async_bucket::get_each_callback on_each, get_options o,
                        detail::completion<async_bucket::multi_each_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), 0);
  auto batch = std::make_shared<multi_get_each>(std::forward<Keys>(keys), std::move(on_each), std::move(done));
  batch->timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  // The callback runs on the bucket's executor, the invalid keys' too.
  asio::dispatch(impl->executor(), [impl, batch]() mutable {
    if (batch->report_invalid()) impl->execute_get_batch(std::move(batch));
  });
}
} // namespace

void async_bucket::start_get_multi_each(impl_ptr impl, std::vector<std::string> keys, get_each_callback on_each,
                                        get_options o, detail::completion<multi_each_signature> done)
{
  run_get_multi_each(impl, std::move(keys), std::move(on_each), o, std::move(done));
}

void async_bucket::start_get_multi_each(impl_ptr impl, borrowed_keys keys, get_each_callback on_each, get_options o,
                                        detail::completion<multi_each_signature> done)
{
  run_get_multi_each(impl, keys, std::move(on_each), o, std::move(done));
}

void async_bucket::start_get_multi(impl_ptr impl, std::vector<std::string> keys, get_options o,
                                   detail::completion<multi_get_signature> done)
{
  auto batch = std::make_shared<multi_get>(std::move(done));
  batch->timeout = o.timeout.value_or(std::chrono::milliseconds(0));
  if (batch->prepare(keys) == 0) return batch->complete();
  if (!impl) {
    for (std::size_t i = 0; i < batch->keys.size(); ++i) batch->done(i, make_error_code(protocol::client_errc::not_connected), {});
    return;
  }
  impl->execute_get_batch(std::move(batch));
}

void async_bucket::start_upsert_multi(impl_ptr impl, std::vector<std::pair<std::string, document_value>> items,
                                      mutation_options o, detail::completion<multi_mutation_signature> done)
{
  std::vector<std::string> keys;
  for (auto& [k, v] : items) keys.push_back(k);
  auto shared_items = std::make_shared<std::vector<std::pair<std::string, document_value>>>(std::move(items));
  fan_out<mutation_result>(keys.size(), keys,
                           [impl, shared_items, o](std::size_t i, auto cb) {
                             auto& [k, v] = (*shared_items)[i];
                             async_bucket::start_store(impl, store_kind::upsert, k, v, o,
                                                       detail::completion<mutation_signature>(
                                                           asio::any_completion_handler<mutation_signature>(std::move(cb)),
                                                           impl ? impl->executor() : asio::any_io_executor{}));
                           },
                           std::move(done));
}

void async_bucket::start_remove_multi(impl_ptr impl, std::vector<std::string> keys, remove_options o,
                                      detail::completion<multi_mutation_signature> done)
{
  auto n = keys.size();
  fan_out<mutation_result>(n, keys,
                           [impl, keys, o](std::size_t i, auto cb) {
                             async_bucket::start_remove(impl, keys[i], o,
                                                        detail::completion<mutation_signature>(
                                                            asio::any_completion_handler<mutation_signature>(std::move(cb)),
                                                            impl ? impl->executor() : asio::any_io_executor{}));
                           },
                           std::move(done));
}

void async_bucket::start_endure(impl_ptr impl, mutation_result m, endure_options o,
                                detail::completion<endure_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (auto ec = validate_key(m.key)) return std::move(done)(ec, {});
  detail::endure_spec e{m.key, m.cas, m.token, o.persist_to, o.replicate_to, o.check_removed, o.timeout, o.interval};
  auto shared = std::make_shared<detail::completion<endure_signature>>(std::move(done));
  detail::start_endure(impl, std::move(e), [shared, key = m.key, cas = m.cas](std::error_code ec, durability_outcome out) {
    std::move(*shared)(ec, endure_result{key, cas, std::move(out)});
  });
}

void async_bucket::start_endure_multi(impl_ptr impl, std::vector<mutation_result> mutations, endure_options o,
                                      detail::completion<multi_endure_signature> done)
{
  std::vector<std::string> keys;
  keys.reserve(mutations.size());
  for (const auto& m : mutations) keys.push_back(m.key);
  auto n = mutations.size();
  auto shared = std::make_shared<std::vector<mutation_result>>(std::move(mutations));
  fan_out<endure_result>(n, std::move(keys),
                         [impl, shared, o](std::size_t i, auto cb) {
                           async_bucket::start_endure(impl, (*shared)[i], o,
                                                      detail::completion<endure_signature>(
                                                          asio::any_completion_handler<endure_signature>(std::move(cb)),
                                                          impl ? impl->executor() : asio::any_io_executor{}));
                         },
                         std::move(done));
}

} // namespace couchkv
