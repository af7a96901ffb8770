#include "bucket_impl.hpp"
#include "durability.hpp"
#include "fan_out.hpp"

#include <couchkv/async_bucket.hpp>
#include <couchkv/io/executor.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response_shape.hpp>

#include <boost/asio/dispatch.hpp>

namespace couchkv {

bool detail::running_on(const asio::any_io_executor& ex) noexcept { return io::running_on(ex); }

using protocol::opcode;
using protocol::status;
using detail::bucket_impl;
using detail::op_base;
using detail::validate_key;

namespace {

// The error of a completed request: transport error, or the status read for this operation.
std::error_code outcome_error(std::error_code ec, const protocol::packet_view* r, opcode op)
{
  if (ec) return ec;
  if (r == nullptr) return make_error_code(protocol::client_errc::unexpected_response);
  if (r->status() != status::success) return protocol::make_kv_error(op, r->status());
  return {};
}

// One replica's GET of a get_replica race: its end is the race's.
struct replica_race {
  std::shared_ptr<op_base> outer;
  std::size_t left{0};
  bool decided{false};
};

class replica_probe final : public op_base {
public:
  replica_probe(std::shared_ptr<replica_race> race, std::size_t index) : race_(std::move(race))
  {
    const auto& o = *race_->outer;
    opcode = o.opcode;
    // Its own copy: a probe still retrying after the race was decided must not read the outer
    // request's key, which the winner's result took.
    own_key_ = std::string(o.key);
    key = own_key_;
    timeout = o.timeout;
    where = detail::target::replica;
    replica_index = index;
    bucket = o.bucket;
    started = o.started;
  }
  void encode(protocol::byte_buffer& out, const protocol::doc_key& k) override { race_->outer->encode(out, k); }
  // On the strand, like every end: the race needs no lock.
  void on_done(const std::shared_ptr<op_base>&, std::error_code ec, const protocol::packet_view* p) override
  {
    --race_->left;
    if (race_->decided) return;
    const bool ok = !ec && p != nullptr && p->status() == status::success;
    if (!ok && race_->left != 0) return;
    // The first success wins; with none, the last failure is the race's.
    race_->decided = true;
    auto& o = *race_->outer;
    o.attempts = attempts;
    o.last_reason = last_reason;
    o.endpoint = endpoint;
    o.failure_detail = std::move(failure_detail);
    o.vbucket = vbucket;
    o.on_done(race_->outer, ec, p);
  }

private:
  std::shared_ptr<replica_race> race_;
  std::string own_key_;
};

} // namespace

void detail::race_replicas(std::shared_ptr<op_base> op, bool any)
{
  auto impl = op->bucket;
  asio::dispatch(impl->executor(), [op = std::move(op), any] {
    auto& b = *op->bucket;
    if (b.is_ketama()) return op->on_done(op, make_error_code(couchkv::client_errc::feature_not_available), nullptr);
    if (!any) return b.execute(op);
    auto n = b.num_replicas();
    if (n == 0) return op->on_done(op, make_error_code(couchkv::client_errc::no_node_for_vbucket), nullptr);
    auto race = std::make_shared<replica_race>(replica_race{op, n, false});
    for (std::size_t i = 1; i <= n; ++i) b.execute(std::make_shared<replica_probe>(race, i));
  });
}

void detail::poll_durability(const std::shared_ptr<op_base>& op, const std::string& key, std::uint64_t cas,
                             const std::optional<mutation_token>& token)
{
  const auto& d = *op->durability;
  detail::endure_spec e{key, cas, token, d.persist_to, d.replicate_to, op->removal, d.timeout};
  detail::start_endure(op->bucket, std::move(e),
                       [op](std::error_code ec, durability_outcome o) { op->on_durable(ec, std::move(o)); });
}

namespace {
// What the user's handles share: its destruction is "the last handle is gone", which closes the
// bucket. The handles point at the bucket through it (an aliasing shared_ptr); operations hold
// the bucket itself (detail::internal_ref), so they do not count as handles.
struct user_handles {
  user_handles() = default;
  user_handles(const user_handles&) = delete;
  user_handles& operator=(const user_handles&) = delete;
  std::shared_ptr<detail::bucket_impl> bucket;
  ~user_handles()
  {
    if (bucket) bucket->close();
  }
};
} // namespace

async_bucket::async_bucket(std::shared_ptr<detail::bucket_impl> impl)
{
  if (!impl) return;
  auto owner = std::make_shared<user_handles>(); // built in place: a copy's end would close it
  owner->bucket = std::move(impl);
  auto* b = owner->bucket.get();
  impl_ = std::shared_ptr<detail::bucket_impl>(std::move(owner), b);
}

const std::string& async_bucket::name() const { return impl_->name(); }
// An empty bucket has no strand: its operations complete (not_connected) on the system executor.
asio::any_io_executor async_bucket::get_executor() const { return detail::executor_of(impl_.get()); }
void async_bucket::set_retry_strategy(retry_strategy s)
{
  if (impl_) impl_->set_retry_strategy(s);
}
retry_strategy async_bucket::default_retry_strategy() const
{
  return impl_ ? impl_->default_retry_strategy() : retry_strategy::fail_fast;
}
const std::vector<node_problem>& async_bucket::unreachable_nodes() const
{
  static const std::vector<node_problem> none;
  return impl_ ? impl_->unreachable_nodes() : none;
}
void async_bucket::close()
{
  if (impl_) impl_->close();
}

// ---- the generic fan-out ----------------------------------------------------------------------

namespace {

} // namespace

template <class Request>
void async_bucket::start_multi(impl_ptr impl, std::vector<Request> requests,
                               detail::completion<void(std::error_code, multi_result<typename Request::result_type>)> done)
{
  using Result = typename Request::result_type;
  if (requests.empty()) return std::move(done)({}, {});
  if (!impl) {
    multi_result<Result> out;
    for (const auto& r : requests) out[r.key].ec = make_error_code(protocol::client_errc::not_connected);
    return std::move(done)({}, std::move(out));
  }
  auto st = std::make_shared<detail::multi_state<Result>>();
  st->left = requests.size();
  st->done.emplace(std::move(done));
  for (auto& r : requests) {
    auto key = r.key;
    detail::start_request(impl, std::move(r), detail::multi_slot<Result>{st, std::move(key)});
  }
}

template void async_bucket::start_multi(impl_ptr, std::vector<get_request>,
                                        detail::completion<void(std::error_code, multi_result<get_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<get_and_touch_request>,
                                        detail::completion<void(std::error_code, multi_result<get_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<get_and_lock_request>,
                                        detail::completion<void(std::error_code, multi_result<get_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<get_replica_request>,
                                        detail::completion<void(std::error_code, multi_result<get_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<unlock_request>,
                                        detail::completion<void(std::error_code, multi_result<mutation_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<touch_request>,
                                        detail::completion<void(std::error_code, multi_result<mutation_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<store_request>,
                                        detail::completion<void(std::error_code, multi_result<mutation_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<remove_request>,
                                        detail::completion<void(std::error_code, multi_result<mutation_result>)>);
template void async_bucket::start_multi(impl_ptr, std::vector<counter_request>,
                                        detail::completion<void(std::error_code, multi_result<counter_result>)>);

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
    g.flags = protocol::item_flags(p);
    g.cas = p.cas();
    g.datatype = p.datatype();
    one_done();
  }
  void done(std::size_t index, std::error_code ec, const protocol::packet_view* r, error_context ctx) override
  {
    auto& slot = *slots_[index];
    if (auto e = outcome_error(ec, r, opcode::get)) {
      slot.second.ec = e;
      slot.second.context = std::move(ctx);
      one_done();
    } else {
      found(index, *r);
    }
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
    ++found_;
    on_each_({}, get_view{.key = keys[index],
                          .value = protocol::as_string_view(p.value),
                          .flags = protocol::item_flags(p),
                          .cas = p.cas(),
                          .datatype = p.datatype()});
    one_done();
  }
  void done(std::size_t index, std::error_code ec, const protocol::packet_view* r, error_context) override
  {
    if (auto e = outcome_error(ec, r, opcode::get)) {
      on_each_(e, get_view{.key = keys[index]});
      one_done();
    } else {
      found(index, *r);
    }
  }
  void complete() { std::move(done_)({}, found_); }

private:
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
    for (std::size_t i = 0; i < batch->keys.size(); ++i) {
      batch->done(i, make_error_code(protocol::client_errc::not_connected), nullptr, {});
    }
    return;
  }
  impl->execute_get_batch(std::move(batch));
}

void async_bucket::start_endure(impl_ptr impl, mutation_result m, endure_options o,
                                detail::completion<endure_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (auto ec = validate_key(m.key)) return std::move(done)(ec, {});
  detail::endure_spec e{m.key, m.cas, m.token, o.persist_to, o.replicate_to, o.check_removed, o.timeout, o.interval};
  auto shared = std::make_shared<detail::completion<endure_signature>>(std::move(done));
  detail::start_endure(impl, std::move(e), [shared, key = m.key, cas = m.cas,
                                             started = std::chrono::steady_clock::now()](std::error_code ec,
                                                                                          durability_outcome out) {
    error_context ctx;
    if (ec) {
      ctx.key = key;
      ctx.operation = out.by_seqno ? "OBSERVE_SEQNO" : "OBSERVE";
      ctx.server_message = out.detail;
      ctx.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    }
    std::move(*shared)(ec, endure_result{key, cas, std::move(out), std::move(ctx)});
  });
}

void async_bucket::start_endure_multi(impl_ptr impl, std::vector<mutation_result> mutations, endure_options o,
                                      detail::completion<multi_endure_signature> done)
{
  if (mutations.empty()) return std::move(done)({}, {});
  if (!impl) {
    multi_result<endure_result> out;
    for (const auto& m : mutations) out[m.key].ec = make_error_code(protocol::client_errc::not_connected);
    return std::move(done)({}, std::move(out));
  }
  auto st = std::make_shared<detail::multi_state<endure_result>>();
  st->left = mutations.size();
  st->done.emplace(std::move(done));
  auto ex = detail::executor_of(impl.get());
  for (auto& m : mutations) {
    auto key = m.key;
    // Each key's end on the bucket's strand (its executor), as the fan-out's.
    start_endure(impl, std::move(m), o,
                 detail::completion<endure_signature>(
                     asio::any_completion_handler<endure_signature>(detail::multi_slot<endure_result>{st, std::move(key)}), ex));
  }
}

} // namespace couchkv
