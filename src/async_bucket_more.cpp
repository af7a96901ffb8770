// The composite KV operations: observe (OBSERVE to master and replicas, and its _multi form) and
// stats (STAT to every data node); and locate (where a key routes, from the config alone).
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
using detail::request_spec;
using protocol::opcode;
using protocol::status;

namespace {

using detail::validate_key;

std::error_code status_error(std::error_code ec, const io::kv_response& r, opcode op)
{
  if (ec) return ec;
  if (r.status() != status::success) return protocol::make_kv_error(op, r.status());
  return {};
}

} // namespace

// ---- observe ------------------------------------------------------------------------------------

namespace {

struct observe_round {
  std::string key;
  std::size_t pending{0};
  std::vector<std::pair<std::size_t, observe_node_result>> answers; // (replica slot, answer); 0 = master
  std::error_code master_error{};
  error_context master_context{};
  std::function<void(std::error_code, observe_result)> done;

  void finish()
  {
    if (master_error) return done(master_error, observe_result{key, {}, std::move(master_context)});
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
      observe_result r;
      r.key = key;
      r.context.key = key;
      r.context.operation = "OBSERVE";
      r.context.server_message = "memcached buckets have no replicas to observe";
      return std::move(*shared_done)(make_error_code(couchkv::client_errc::feature_not_available), std::move(r));
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
            e = make_error_code(protocol::client_errc::malformed_response);
            ctx.server_message = entries ? "OBSERVE answered success without an entry for the key"
                                         : "OBSERVE answered success with a truncated entry or an unknown key state";
          } else {
            round->answers.emplace_back(slot, observe_node_result{ctx.endpoint, slot == 0,
                                                                  static_cast<observe_key_state>(it->state), it->cas});
          }
        }
        if (e && slot == 0) {
          round->master_error = e;
          round->master_context = std::move(ctx);
        }
        if (--round->pending == 0) round->finish();
      });
    }
  });
}

void async_bucket::start_observe_multi(impl_ptr impl, std::vector<std::string> keys, common_options o,
                                       detail::completion<multi_observe_signature> done)
{
  if (keys.empty()) return std::move(done)({}, {});
  if (!impl) {
    multi_result<observe_result> out;
    for (const auto& k : keys) out[k].ec = make_error_code(protocol::client_errc::not_connected);
    return std::move(done)({}, std::move(out));
  }
  auto st = std::make_shared<detail::multi_state<observe_result>>();
  st->left = keys.size();
  st->done.emplace(std::move(done));
  auto ex = impl->executor();
  for (auto& k : keys) {
    auto key = k;
    start_observe(impl, std::move(k), o,
                  detail::completion<observe_signature>(
                      asio::any_completion_handler<observe_signature>(detail::multi_slot<observe_result>{st, std::move(key)}),
                      ex));
  }
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

// ---- locate -------------------------------------------------------------------------------------

void async_bucket::start_locate(impl_ptr impl, std::string key, detail::completion<locate_signature> done)
{
  if (auto ec = validate_key(key)) return std::move(done)(ec, {});
  if (!impl) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
  asio::dispatch(impl->executor(), [impl, key = std::move(key), done = std::move(done)]() mutable {
    auto where = impl->locate(key);
    if (!where) return std::move(done)(make_error_code(protocol::client_errc::not_connected), {});
    std::move(done)({}, std::move(*where));
  });
}

} // namespace couchkv
