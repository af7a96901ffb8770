// The rest of the bucket's KV surface: the _multi forms built on the single-key operations,
// observe (OBSERVE to master and replicas) and stats (STAT to every data node).
#include "bucket_impl.hpp"
#include "fan_out.hpp"

#include <couchkv/async_bucket.hpp>
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/errors.hpp>
#include <couchkv/protocol/observe.hpp>
#include <couchkv/protocol/request.hpp>

#include <boost/asio/dispatch.hpp>

#include <algorithm>
#include <set>

namespace couchkv {

using detail::bucket_impl;
using detail::fan_out;
using detail::per_key;
using detail::request_spec;
using protocol::opcode;
using protocol::status;

namespace {

asio::any_io_executor executor_of(const std::shared_ptr<bucket_impl>& impl)
{
  return impl ? impl->executor() : asio::any_io_executor{};
}

std::vector<std::string> keys_of(const std::vector<std::pair<std::string, document_value>>& items)
{
  std::vector<std::string> keys;
  keys.reserve(items.size());
  for (const auto& [k, v] : items) keys.push_back(k);
  return keys;
}

using detail::validate_key;

std::error_code status_error(std::error_code ec, const io::kv_response& r, opcode op)
{
  if (ec) return ec;
  if (r.status() != status::success) return protocol::make_kv_error(op, r.status());
  return {};
}

} // namespace

// ---- _multi forms -------------------------------------------------------------------------------

void async_bucket::start_store_multi(impl_ptr impl, store_kind kind, std::vector<std::pair<std::string, document_value>> items,
                                     mutation_options o, detail::completion<multi_mutation_signature> done)
{
  auto keys = keys_of(items);
  auto shared = std::make_shared<std::vector<std::pair<std::string, document_value>>>(std::move(items));
  auto n = keys.size();
  fan_out<mutation_result>(n, std::move(keys),
                           [impl, kind, shared, o](std::size_t i, auto cb) {
                             auto& [k, v] = (*shared)[i];
                             start_store(impl, kind, k, v, o, per_key<mutation_signature>(executor_of(impl), std::move(cb)));
                           },
                           std::move(done));
}

void async_bucket::start_touch_multi(impl_ptr impl, std::vector<std::string> keys, expiry_time expiry, touch_options o,
                                     detail::completion<multi_mutation_signature> done)
{
  auto shared = std::make_shared<std::vector<std::string>>(keys);
  auto n = keys.size();
  fan_out<mutation_result>(n, std::move(keys),
                           [impl, shared, expiry, o](std::size_t i, auto cb) {
                             start_touch(impl, (*shared)[i], expiry, o,
                                         per_key<mutation_signature>(executor_of(impl), std::move(cb)));
                           },
                           std::move(done));
}

void async_bucket::start_counter_multi(impl_ptr impl, std::vector<std::string> keys, std::int64_t delta, counter_options o,
                                       detail::completion<multi_counter_signature> done)
{
  auto shared = std::make_shared<std::vector<std::string>>(keys);
  auto n = keys.size();
  fan_out<counter_result>(n, std::move(keys),
                          [impl, shared, delta, o](std::size_t i, auto cb) {
                            start_counter(impl, (*shared)[i], delta, o,
                                          per_key<counter_signature>(executor_of(impl), std::move(cb)));
                          },
                          std::move(done));
}

void async_bucket::start_get_and_touch_multi(impl_ptr impl, std::vector<std::string> keys, get_and_touch_options o,
                                             detail::completion<multi_get_signature> done)
{
  auto shared = std::make_shared<std::vector<std::string>>(keys);
  auto n = keys.size();
  fan_out<get_result>(n, std::move(keys),
                      [impl, shared, o](std::size_t i, auto cb) {
                        start_get_and_touch(impl, (*shared)[i], o, per_key<get_signature>(executor_of(impl), std::move(cb)));
                      },
                      std::move(done));
}

void async_bucket::start_lock_multi(impl_ptr impl, std::vector<std::string> keys, get_and_lock_options o,
                                    detail::completion<multi_get_signature> done)
{
  auto shared = std::make_shared<std::vector<std::string>>(keys);
  auto n = keys.size();
  fan_out<get_result>(n, std::move(keys),
                      [impl, shared, o](std::size_t i, auto cb) {
                        start_get_and_lock(impl, (*shared)[i], o, per_key<get_signature>(executor_of(impl), std::move(cb)));
                      },
                      std::move(done));
}

void async_bucket::start_unlock_multi(impl_ptr impl, std::vector<std::pair<std::string, std::uint64_t>> keys_and_cas,
                                      common_options o, detail::completion<multi_mutation_signature> done)
{
  std::vector<std::string> keys;
  keys.reserve(keys_and_cas.size());
  for (const auto& [k, cas] : keys_and_cas) keys.push_back(k);
  auto shared = std::make_shared<std::vector<std::pair<std::string, std::uint64_t>>>(std::move(keys_and_cas));
  auto n = keys.size();
  fan_out<mutation_result>(n, std::move(keys),
                           [impl, shared, o](std::size_t i, auto cb) {
                             auto& [k, cas] = (*shared)[i];
                             start_unlock(impl, k, cas, o, per_key<mutation_signature>(executor_of(impl), std::move(cb)));
                           },
                           std::move(done));
}

void async_bucket::start_get_replica_multi(impl_ptr impl, std::vector<std::string> keys, replica_options o,
                                           detail::completion<multi_get_signature> done)
{
  auto shared = std::make_shared<std::vector<std::string>>(keys);
  auto n = keys.size();
  fan_out<get_result>(n, std::move(keys),
                      [impl, shared, o](std::size_t i, auto cb) {
                        start_get_replica(impl, (*shared)[i], o, per_key<get_signature>(executor_of(impl), std::move(cb)));
                      },
                      std::move(done));
}

// ---- observe ------------------------------------------------------------------------------------

namespace {

struct observe_round {
  std::string key;
  std::size_t pending{0};
  std::vector<std::pair<std::size_t, observe_node_result>> answers; // (replica slot, answer); 0 = master
  std::error_code master_error{};
  std::function<void(std::error_code, observe_result)> done;

  void finish()
  {
    if (master_error) return done(master_error, observe_result{key, {}});
    std::sort(answers.begin(), answers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    observe_result r{key, {}};
    r.nodes.reserve(answers.size());
    for (auto& [slot, a] : answers) r.nodes.push_back(std::move(a));
    done({}, std::move(r));
  }
};

} // namespace

void async_bucket::start_observe(impl_ptr impl, std::string key, common_options o, detail::completion<observe_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  auto shared_done = std::make_shared<detail::completion<observe_signature>>(std::move(done));
  asio::dispatch(impl->executor(), [impl, key = std::move(key), o, shared_done]() mutable {
    if (impl->is_ketama()) {
      impl->set_last_failure_detail("memcached buckets have no replicas to observe");
      return std::move(*shared_done)(make_error_code(couchkv::client_errc::feature_not_available), {});
    }
    // The master always; every replica the current map has (none known yet: the master only,
    // and execute() waits for the map).
    std::vector<std::size_t> slots{0};
    if (auto p = impl->placement_of(key)) {
      for (std::size_t r = 0; r < p->replicas.size(); ++r) {
        if (p->replicas[r] >= 0) slots.push_back(r + 1);
      }
    }
    auto round = std::make_shared<observe_round>();
    round->key = key;
    round->pending = slots.size();
    round->done = [shared_done](std::error_code ec, observe_result r) { std::move(*shared_done)(ec, std::move(r)); };
    for (auto slot : slots) {
      request_spec s;
      s.op = opcode::observe;
      s.key = key;
      s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
      s.where = slot == 0 ? detail::target::active : detail::target::replica;
      s.replica_index = slot;
      s.encode = [](protocol::byte_buffer& b, const protocol::doc_key& k) {
        protocol::observe_key ok{k.vbucket, k.key};
        protocol::append_observe(b, 0, std::span<const protocol::observe_key>(&ok, 1));
      };
      // Runs on the strand, like every execute() completion: the round needs no lock.
      impl->execute(std::move(s), [round, slot](std::error_code ec, io::kv_response r, error_context ctx) {
        auto e = status_error(ec, r, opcode::observe);
        if (!e) {
          std::error_code parse_ec;
          auto entries = protocol::parse_observe_response(r.value(), parse_ec);
          auto it = entries ? std::find_if(entries->begin(), entries->end(), [&](const auto& x) { return x.key == round->key; })
                            : decltype(entries->begin()){};
          if (!entries || it == entries->end()) {
            e = make_error_code(protocol::client_errc::invalid_payload);
          } else {
            round->answers.emplace_back(slot, observe_node_result{ctx.endpoint, slot == 0,
                                                                  static_cast<observe_key_state>(it->state), it->cas});
          }
        }
        if (e && slot == 0) round->master_error = e;
        if (--round->pending == 0) round->finish();
      });
    }
  });
}

void async_bucket::start_observe_multi(impl_ptr impl, std::vector<std::string> keys, common_options o,
                                       detail::completion<multi_observe_signature> done)
{
  auto shared = std::make_shared<std::vector<std::string>>(keys);
  auto n = keys.size();
  fan_out<observe_result>(n, std::move(keys),
                          [impl, shared, o](std::size_t i, auto cb) {
                            start_observe(impl, (*shared)[i], o, per_key<observe_signature>(executor_of(impl), std::move(cb)));
                          },
                          std::move(done));
}

// ---- stats --------------------------------------------------------------------------------------

namespace {

struct stats_round {
  std::size_t pending{0};
  std::size_t answered{0};
  std::error_code last_error{};
  stats_result result;
  std::function<void(std::error_code, stats_result)> done;
};

// The collected STAT answer (io::kv_connection gathers the per-statistic packets): each packet's
// key is a statistic's name, its value the statistic's value.
std::error_code parse_stats(protocol::bytes_view packets, std::map<std::string, std::string>& out)
{
  while (!packets.empty()) {
    auto d = protocol::decode_packet(packets);
    if (d.state != protocol::decode_state::complete) return make_error_code(protocol::client_errc::invalid_payload);
    out[std::string(protocol::as_string_view(d.packet.key))] = std::string(protocol::as_string_view(d.packet.value));
    packets = packets.subspan(d.consumed);
  }
  return {};
}

} // namespace

void async_bucket::start_stats(impl_ptr impl, std::string group, common_options o, detail::completion<stats_signature> done)
{
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  if (group.size() > 250) return std::move(done)(make_error_code(protocol::client_errc::invalid_argument), {});
  auto shared_done = std::make_shared<detail::completion<stats_signature>>(std::move(done));
  asio::dispatch(impl->executor(), [impl, group = std::move(group), o, shared_done]() mutable {
    // Every KV node of the current config (or every memcached:// server), addressed directly.
    auto targets = impl->kv_nodes();
    if (targets.empty()) return std::move(*shared_done)(make_error_code(couchkv::client_errc::no_node_for_vbucket), {});
    auto round = std::make_shared<stats_round>();
    round->pending = targets.size();
    round->done = [shared_done](std::error_code ec, stats_result r) { std::move(*shared_done)(ec, std::move(r)); };
    for (auto& t : targets) {
      request_spec s;
      s.op = opcode::stat;
      s.key = "stats";
      s.node_index = t;
      s.timeout = o.timeout.value_or(std::chrono::milliseconds(0));
      s.encode = [group](protocol::byte_buffer& b, const protocol::doc_key&) { protocol::append_stat(b, 0, group); };
      impl->execute(std::move(s), [round](std::error_code ec, io::kv_response r, error_context ctx) {
        auto e = status_error(ec, r, opcode::stat);
        std::map<std::string, std::string> entries;
        if (!e) e = parse_stats(r.value(), entries);
        if (e) {
          round->last_error = e;
          // Another probe may have reached the same node (ketama, or a map that changed).
          if (!ctx.endpoint.empty() && !round->result.count(ctx.endpoint)) {
            round->result[ctx.endpoint] = {{"couchkv.error", e.message()}};
          }
        } else {
          ++round->answered;
          round->result[ctx.endpoint] = std::move(entries);
        }
        if (--round->pending == 0) {
          if (round->answered == 0) return round->done(round->last_error, {});
          round->done({}, std::move(round->result));
        }
      });
    }
  });
}

} // namespace couchkv
