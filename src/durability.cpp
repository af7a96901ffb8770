#include "durability.hpp"

#include <couchkv/errors.hpp>
#include <couchkv/protocol/observe.hpp>
#include <couchkv/protocol/request.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace couchkv::detail {

using protocol::opcode;
using protocol::status;

namespace {

struct resolved {
  int persist_to{0};
  int replicate_to{0};
};

// Negative counts mean "all there are" (Python SDK 2.x); the ceiling is what the bucket is
// configured with and what the current map holds for this vBucket.
std::error_code resolve(const vbucket_placement& p, int persist_to, int replicate_to, resolved& out, std::string& detail)
{
  const auto available = static_cast<int>(p.available_replicas());
  const auto configured = static_cast<int>(p.configured_replicas);
  out.replicate_to = replicate_to < 0 ? available : replicate_to;
  out.persist_to = persist_to < 0 ? available + 1 : persist_to;
  if (out.replicate_to > configured || out.persist_to > configured + 1) {
    detail = "persist_to=" + std::to_string(out.persist_to) + " replicate_to=" + std::to_string(out.replicate_to) +
             " but the bucket has " + std::to_string(configured) + " replica(s)";
    return make_error_code(couchkv::client_errc::durability_impossible);
  }
  if (out.replicate_to > available || out.persist_to > available + 1 || p.active < 0) {
    detail = "persist_to=" + std::to_string(out.persist_to) + " replicate_to=" + std::to_string(out.replicate_to) +
             " but vBucket " + std::to_string(p.vbucket) + " has " + std::to_string(available) +
             " replica(s) in the current map" + (p.active < 0 ? " and no active node" : "");
    return make_error_code(couchkv::client_errc::durability_impossible);
  }
  return {};
}

struct endure_op : std::enable_shared_from_this<endure_op> {
  endure_op(std::shared_ptr<bucket_impl> b, endure_spec s, endure_done d)
      : impl(std::move(b)), spec(std::move(s)), done(std::move(d)), timer(impl->executor()),
        deadline(deadline_after(io::clock::now(), spec.timeout)), interval(std::max(spec.interval, std::chrono::milliseconds(1)))
  {
    outcome.by_seqno = spec.token.has_value();
  }

  std::shared_ptr<bucket_impl> impl;
  endure_spec spec;
  endure_done done;
  asio::steady_timer timer;
  io::clock::time_point deadline;
  std::chrono::milliseconds interval;
  durability_outcome outcome;
  resolved need;
  bool finished{false};

  // One round's tally.
  struct round_state {
    std::size_t pending{0};
    bool master_has{false};
    bool master_persisted{false};
    int persisted{0};
    int replicated{0};
    std::error_code fatal{};
    std::string fatal_detail;
    std::string last_error;
  };

  void finish(std::error_code ec, std::string detail = {})
  {
    if (finished) return;
    finished = true;
    timer.cancel();
    outcome.met = !ec;
    outcome.persist_to = need.persist_to;
    outcome.replicate_to = need.replicate_to;
    std::string summary = "persisted on " + std::to_string(outcome.persisted) + "/" + std::to_string(need.persist_to) +
                          " node(s) (master: " + (outcome.persisted_on_master ? "yes" : "no") + "), replicated to " +
                          std::to_string(outcome.replicated) + "/" + std::to_string(need.replicate_to) +
                          " replica(s), master holds it: " + (outcome.found_on_master ? "yes" : "no") + ", " +
                          std::to_string(outcome.polls) + " poll(s) by " + (outcome.by_seqno ? "OBSERVE_SEQNO" : "OBSERVE");
    outcome.detail = detail.empty() ? summary : detail + "; " + summary;
    auto d = std::move(done);
    d(ec, outcome);
  }

  void round()
  {
    if (finished) return;
    auto placement = impl->placement_of(spec.key);
    if (!placement) {
      if (impl->is_ketama()) return finish(make_error_code(couchkv::client_errc::feature_not_available), "memcached buckets have no replicas to observe");
      return next_round("no cluster map yet");
    }
    std::string why;
    if (auto ec = resolve(*placement, spec.persist_to, spec.replicate_to, need, why)) {
      // A map that lost replicas (failover without rebalance) makes the request impossible now.
      return finish(ec, why);
    }
    ++outcome.polls;
    auto rs = std::make_shared<round_state>();
    // Which nodes: the master always (it must hold the mutation); replicas when they can count.
    std::vector<std::size_t> targets{0};
    if (need.replicate_to > 0 || need.persist_to > 1) {
      for (std::size_t r = 0; r < placement->replicas.size(); ++r) {
        if (placement->replicas[r] >= 0) targets.push_back(r + 1);
      }
    }
    rs->pending = targets.size();
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - io::clock::now());
    for (auto index : targets) send(index, rs, std::max(remaining, std::chrono::milliseconds(1)));
  }

  void send(std::size_t index, const std::shared_ptr<round_state>& rs, std::chrono::milliseconds timeout)
  {
    request_spec s;
    s.key = spec.key;
    s.timeout = timeout;
    s.where = index == 0 ? target::active : target::replica;
    s.replica_index = index;
    if (spec.token) {
      s.op = opcode::observe_seqno;
      auto uuid = spec.token->vbuuid;
      s.encode = [uuid](protocol::byte_buffer& b, const protocol::doc_key& k) {
        protocol::append_observe_seqno(b, 0, k.vbucket, uuid);
      };
    } else {
      s.op = opcode::observe;
      s.encode = [](protocol::byte_buffer& b, const protocol::doc_key& k) {
        protocol::observe_key ok{k.vbucket, k.key};
        protocol::append_observe(b, 0, std::span<const protocol::observe_key>(&ok, 1));
      };
    }
    impl->execute(std::move(s), [self = shared_from_this(), index, rs](std::error_code ec, io::kv_response r, error_context ctx) {
      self->on_response(index == 0, ec, r, ctx, *rs);
      if (--rs->pending == 0) self->evaluate(*rs);
    });
  }

  void on_response(bool master, std::error_code ec, const io::kv_response& r, const error_context& ctx, round_state& rs)
  {
    const std::string who = (master ? "master " : "replica ") + ctx.endpoint;
    if (!ec && r.status() != status::success) ec = protocol::make_kv_error(r.opcode(), r.status());
    if (ec) {
      rs.last_error = who + ": " + ec.message();
      return;
    }
    bool in_memory = false, on_disk = false;
    std::error_code parse_ec;
    if (spec.token) {
      auto o = protocol::parse_observe_seqno_response(r.value(), parse_ec);
      if (!o) {
        rs.last_error = who + ": malformed OBSERVE_SEQNO response";
        return;
      }
      std::uint64_t mem = o->current_seqno, disk = o->last_persisted_seqno;
      if (o->failed_over) {
        // The vBucket changed hands: only what it had under our UUID survived.
        if (o->old_seqno < spec.token->seqno) {
          rs.fatal = make_error_code(couchkv::client_errc::durability_mutation_lost);
          rs.fatal_detail = who + " reports a failover: seqno " + std::to_string(spec.token->seqno) +
                            " is beyond the last seqno kept under the old vBucket UUID (" + std::to_string(o->old_seqno) + ")";
          return;
        }
        mem = disk = o->old_seqno;
      }
      in_memory = mem >= spec.token->seqno;
      on_disk = disk >= spec.token->seqno;
    } else {
      auto entries = protocol::parse_observe_response(r.value(), parse_ec);
      if (!entries) {
        rs.last_error = who + ": malformed OBSERVE response";
        return;
      }
      auto it = std::find_if(entries->begin(), entries->end(),
                             [&](const auto& e) { return e.key == spec.key; });
      if (it == entries->end()) {
        rs.last_error = who + ": OBSERVE response without the key";
        return;
      }
      using ks = protocol::observe_keystate;
      const bool cas_ok = spec.cas == 0 || it->cas == spec.cas;
      if (!spec.check_removed) {
        if (it->state == ks::found || it->state == ks::persisted) {
          if (!cas_ok) {
            if (master) {
              rs.fatal = make_error_code(couchkv::client_errc::durability_mutation_replaced);
              rs.fatal_detail = who + " holds CAS " + std::to_string(it->cas) + ", not " + std::to_string(spec.cas);
            }
            return; // a replica with another CAS does not hold this mutation (yet)
          }
          in_memory = true;
          on_disk = it->state == ks::persisted;
        } else if (master) {
          rs.fatal = make_error_code(couchkv::client_errc::document_not_found_on_master);
          rs.fatal_detail = who + " does not hold the document";
          return;
        }
      } else {
        in_memory = it->state == ks::not_found || it->state == ks::logically_deleted;
        on_disk = it->state == ks::not_found;
      }
    }
    if (master) {
      rs.master_has = in_memory;
      rs.master_persisted = on_disk;
    } else if (in_memory) {
      ++rs.replicated;
    }
    if (on_disk) ++rs.persisted;
  }

  void evaluate(const round_state& rs)
  {
    if (finished) return;
    outcome.found_on_master = rs.master_has;
    outcome.persisted_on_master = rs.master_persisted;
    outcome.persisted = rs.persisted;
    outcome.replicated = rs.replicated;
    if (rs.fatal) return finish(rs.fatal, rs.fatal_detail);
    const bool persist_ok = need.persist_to == 0 || (rs.master_persisted && rs.persisted >= need.persist_to);
    if (rs.master_has && persist_ok && rs.replicated >= need.replicate_to) return finish({});
    next_round(rs.last_error);
  }

  void next_round(const std::string& last_error)
  {
    if (deadline_after(io::clock::now(), interval) >= deadline) {
      return finish(make_error_code(couchkv::client_errc::durability_timeout),
                    "timed out after " + std::to_string(spec.timeout.count()) + " ms" +
                        (last_error.empty() ? std::string{} : " (last node error: " + last_error + ")"));
    }
    timer.expires_after(interval);
    // Back off, late: the first ten polls keep the requested interval (durability usually arrives
    // within a few intervals, and a poll that comes late is latency the caller pays), then the
    // interval doubles up to 100 ms (or the requested interval if larger).
    if (outcome.polls >= 10) interval = std::min(interval * 2, std::max(spec.interval, std::chrono::milliseconds(100)));
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->round();
    });
  }
};

} // namespace

std::error_code durability_possible(const bucket_impl& impl, std::string_view key, int persist_to, int replicate_to,
                                    std::string& detail)
{
  if (impl.is_ketama()) {
    detail = "memcached buckets have no replicas to observe";
    return make_error_code(couchkv::client_errc::feature_not_available);
  }
  auto p = impl.placement_of(key);
  if (!p) return {}; // no map yet: the poll decides once one arrives
  resolved r;
  return resolve(*p, persist_to, replicate_to, r, detail);
}

void start_endure(const std::shared_ptr<bucket_impl>& impl, endure_spec spec, endure_done done)
{
  asio::dispatch(impl->executor(), [impl, spec = std::move(spec), done = std::move(done)]() mutable {
    if (spec.timeout.count() < 0 || spec.interval.count() < 0) {
      durability_outcome o;
      o.met = false;
      o.detail = "negative timeout or interval";
      return done(make_error_code(protocol::client_errc::invalid_argument), o);
    }
    if (spec.persist_to == 0 && spec.replicate_to == 0) {
      durability_outcome o;
      o.met = false;
      o.detail = "neither persist_to nor replicate_to requested";
      return done(make_error_code(protocol::client_errc::invalid_argument), o);
    }
    auto op = std::make_shared<endure_op>(impl, std::move(spec), std::move(done));
    op->round();
  });
}

} // namespace couchkv::detail
