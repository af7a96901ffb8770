// One KV connection's engine: the write queue and its flushes, the read loop, the opaque table
// and the deadlines, batches, close. Connecting is kv_connect.cpp's; the state is in
// kv_connection_impl.hpp.
#include "kv_connection_impl.hpp"

#include <couchkv/io/executor.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>

#include <cstring>
#include <utility>
#include <vector>

namespace couchkv::io {

using namespace conn_detail;

namespace {

// The request buffers the connections of this thread have finished with (see request_buffer()).
// Bounded in number and in the capacity kept, so a burst of large values is not hoarded.
class request_buffer_cache {
public:
  static constexpr std::size_t max_buffers = 64;
  static constexpr std::size_t max_capacity = 4096;

  protocol::byte_buffer take() noexcept
  {
    if (free_.empty()) return {};
    protocol::byte_buffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(protocol::byte_buffer&& b) noexcept
  {
    if (b.capacity() == 0 || b.capacity() > max_capacity || free_.size() == max_buffers) return;
    if (free_.capacity() == 0) {
      try {
        free_.reserve(max_buffers); // once: push_back below never allocates
      } catch (const std::bad_alloc&) {
        return;
      }
    }
    b.clear();
    free_.push_back(std::move(b));
  }

private:
  std::vector<protocol::byte_buffer> free_;
};

thread_local request_buffer_cache request_buffers;

// The connection whose read loop this thread is running (its handlers run inline from there):
// a request issued from such a handler is on the connection's executor without asking the
// type-erased executor (see start_execute).
thread_local const void* read_loop_of = nullptr;

} // namespace

std::shared_ptr<kv_connection> kv_connection::create(asio::any_io_executor ex, connection_settings settings)
{
  return std::shared_ptr<kv_connection>(new kv_connection(std::move(ex), std::move(settings)));
}

kv_connection::kv_connection(asio::any_io_executor ex, connection_settings settings)
    : ex_(std::move(ex)), impl_(std::make_unique<impl>(ex_, std::move(settings)))
{
}

kv_connection::~kv_connection() = default;

kv_connection::impl::~impl()
{
  ops.for_each([](std::uint32_t, pending& p) {
    delete p.collected;
    if (p.sink != nullptr) p.sink->on_abandoned(p.index);
  });
}

const bootstrap_result& kv_connection::bootstrap() const noexcept { return impl_->boot; }
const std::string& kv_connection::last_error_detail() const noexcept { return impl_->detail; }
connection_stats kv_connection::stats() const noexcept
{
  const auto& c = impl_->stats;
  constexpr auto r = std::memory_order_relaxed;
  return {c.completed.load(r), c.timeouts.load(r), c.cancelled.load(r), c.orphans.load(r), c.flushes.load(r)};
}
const connection_settings& kv_connection::settings() const noexcept { return impl_->settings; }

void kv_connection::on_server_request(std::function<void(const protocol::packet_view&)> cb)
{
  asio::dispatch(ex_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    self->impl_->server_request_cb = std::move(cb);
  });
}

void kv_connection::on_close(std::function<void(std::error_code)> cb)
{
  asio::dispatch(ex_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    self->impl_->close_cb = std::move(cb);
  });
}

// ---- the engine (all on the connection's executor) ------------------------------------------

void kv_connection::impl::complete(kv_connection& c, std::uint32_t opaque, std::error_code ec,
                                   const protocol::packet_view* p)
{
  if (const pending* entry = ops.find(opaque)) complete(c, opaque, *entry, ec, p);
}

void kv_connection::impl::complete(kv_connection& c, std::uint32_t opaque, const pending& entry, std::error_code ec,
                                   const protocol::packet_view* p)
{
  // Read what is needed, then free the slot (the sink may send new requests into it).
  auto* const sink = entry.sink;
  const auto index = entry.index;
  if (auto* const group = entry.group) {
    ops.erase(opaque);
    if (--group->left == 0) batches.erase(group->self); // its timer wake-up, if any, finds nothing
  } else {
    const auto deadline = entry.deadline;
    const auto seq = entry.seq;
    const bool ordered = entry.deadline_ordered;
    delete entry.collected; // a STAT that ended without its terminator (the terminator took it otherwise)
    ops.erase(opaque);
    if (deadline != clock::time_point::max()) {
      if (ordered) deadlines.remove_ordered({deadline, opaque, seq});
      else deadlines.drop_stale_front(live()); // in order, it was at the front: no FIFO to grow
    }
  }
  c.in_flight_.store(ops.size(), std::memory_order_relaxed);
  if (owner_counters) {
    owner_counters->in_flight.fetch_sub(1, std::memory_order_relaxed);
    (p == nullptr ? owner_counters->failed : owner_counters->succeeded).fetch_add(1, std::memory_order_relaxed);
  }
  stats.bump(stats.completed);
  // complete() only runs inside one of our own completions (read, timer, cancellation, close), never
  // inside the sender's call, so the sink is told inline.
  if (p != nullptr) sink->on_response(index, *p);
  else sink->on_error(index, ec);
}

void kv_connection::impl::arm_timer(kv_connection& c)
{
  auto next = deadlines.earliest(live());
  clock::time_point earliest;
  if (batches.empty()) { // single operations only: as if there were no batches at all
    if (!next) return;   // a pending wake-up finds nothing to expire and stops
    earliest = next->at;
  } else {
    earliest = next ? next->at : clock::time_point::max();
    for (const auto& g : batches) earliest = std::min(earliest, g.deadline);
    if (earliest == clock::time_point::max()) return;
  }
  if (earliest >= armed_for) return; // an earlier (or the same) wake-up is already set
  armed_for = earliest;
  timer.expires_at(earliest); // cancels a later wait; its handler sees operation_aborted
  timer.async_wait([self = c.shared_from_this()](sys_error ec) {
    auto& m = *self->impl_;
    if (ec == asio::error::operation_aborted) return; // re-armed earlier, or closing
    m.armed_for = clock::time_point::max();
    auto now = clock::now();
    while (auto e = m.deadlines.earliest(m.live())) {
      if (e->at > now) break;
      m.stats.bump(m.stats.timeouts);
      m.complete(*self, e->opaque, client_errc::timeout, nullptr);
    }
    if (!m.batches.empty()) m.expire_batches(*self, now);
    m.arm_timer(*self);
  });
}

void kv_connection::impl::flush(kv_connection& c)
{
  if (write_in_flight || queued.empty() || st == state::closed) return;
  stats.bump(stats.flushes);
  std::size_t sent = 0;
  if (!sock.is_tls()) {
    // Try the socket first (it is in non-blocking mode): a request usually fits in the send
    // buffer, and writing it here saves an asynchronous operation, its posted completion and a
    // pass through the scheduler per flush. Whatever is left (or an error, which the
    // asynchronous write meets again and reports through fail()) goes the asynchronous way.
    sys_error ec;
    sent = sock.socket().write_some(asio::buffer(queued), ec);
    if (ec) sent = 0;
    if (sent == queued.size()) {
      written_upto = queued_last;
      queued.clear();
      return;
    }
  }
  std::swap(writing, queued);
  queued.clear();
  writing_last = queued_last;
  write_in_flight = true;
  auto on_written = [self = c.shared_from_this()](sys_error ec, std::size_t) {
    auto& m = *self->impl_;
    if (ec) {
      m.fail(self, client_errc::connection_closed, "write failed: " + ec.message());
      return;
    }
    m.write_in_flight = false;
    m.written_upto = m.writing_last;
    m.writing.clear();
    m.flush(*self);
  };
  asio::async_write(sock, asio::buffer(writing) + sent, std::move(on_written)); // sent is 0 with TLS
}

void kv_connection::impl::read(const std::shared_ptr<kv_connection>& self)
{
  if (reading || st == state::closed) return;
  if (rend == rbuf.size()) {
    if (rstart > 0) {
      std::memmove(rbuf.data(), rbuf.data() + rstart, rend - rstart);
      rend -= rstart;
      rstart = 0;
    } else {
      rbuf.resize(rbuf.size() * 2);
    }
  }
  reading = true;
  auto buf = asio::buffer(rbuf.data() + rend, rbuf.size() - rend);
  auto on_read = [self](sys_error ec, std::size_t n) {
    auto& m = *self->impl_;
    m.reading = false;
    if (ec) {
      m.fail(self, client_errc::connection_closed,
             ec == asio::error::eof ? "server closed the connection" : "read failed: " + ec.message());
      return;
    }
    m.rend += n;
    if (m.owner_counters) m.owner_counters->heard(clock::now());
    // Handlers run inline from here and may issue requests: keep the read buffer still (reading
    // stays set) and write what they queue in one flush at the end.
    m.reading = true;
    m.dispatching = true;
    bool go_on;
    {
      struct in_read_loop { // restored also when a handler throws out of run()
        const void* outer;
        ~in_read_loop() { read_loop_of = outer; }
      } guard{std::exchange(read_loop_of, &m)};
      go_on = m.dispatch_packets(self);
    }
    m.dispatching = false;
    m.reading = false;
    if (!go_on) return;
    m.flush(*self);
    m.read(self);
  };
  sock.async_read_some(buf, std::move(on_read));
}

bool kv_connection::impl::dispatch_packets(const std::shared_ptr<kv_connection>& self)
{
  while (true) {
    if (rstart == rend) { // all used (the common end of a read): no decoder call to say so
      rstart = rend = 0;
      return true;
    }
    auto r = protocol::decode_packet({rbuf.data() + rstart, rend - rstart}, settings.limits);
    if (r.state == protocol::decode_state::error) {
      auto [ec, why] = undecodable("undecodable data from the server", {rbuf.data() + rstart, rend - rstart}, r.ec,
                                   settings.port);
      fail(self, ec, std::move(why));
      return false;
    }
    if (r.state == protocol::decode_state::need_more) {
      if (r.needed > rbuf.size() - rstart) {
        // The packet does not fit behind rstart: move it to the front, and grow if needed.
        std::memmove(rbuf.data(), rbuf.data() + rstart, rend - rstart);
        rend -= rstart;
        rstart = 0;
        if (r.needed > rbuf.size()) rbuf.resize(r.needed);
      }
      return true;
    }
    const auto& p = r.packet;
    if (p.magic_byte() == protocol::magic::server_request) {
      if (server_request_cb) server_request_cb(p);
    } else if (p.is_response()) {
      // A response is its request's by opaque *and* opcode: an answer with a known opaque and
      // another opcode means the two sides no longer agree on what is in flight (a server or proxy
      // out of step). Nothing on this connection can be trusted then: it is closed, and its
      // operations fail (or are retried by their owners) as for any lost connection.
      auto out_of_step = [&](std::uint8_t asked) {
        fail(self, client_errc::unexpected_response,
             "response " + std::string(protocol::to_string(static_cast<protocol::opcode>(p.hdr.opcode))) +
                 " to request " + std::string(protocol::to_string(static_cast<protocol::opcode>(asked))) +
                 " (opaque " + std::to_string(p.opaque()) + "): the connection is out of step");
        return false;
      };
      if (auto* op = ops.find(p.opaque()); op == nullptr) {
        stats.bump(stats.orphans);
      } else if (op->opcode != p.hdr.opcode) {
        return out_of_step(op->opcode);
      } else if (!op->collected) {
        complete(*self, p.opaque(), *op, {}, &p);
      } else if (p.hdr.key_len != 0 && p.hdr.specific == static_cast<std::uint16_t>(protocol::status::success)) {
        auto& gathered = *op->collected;
        if (gathered.size() + r.consumed > settings.limits.max_body_len) {
          // A server that never ends the list: fail the request, not the memory.
          complete(*self, p.opaque(), client_errc::body_too_large, nullptr);
        } else {
          const auto* raw = rbuf.data() + rstart;
          gathered.insert(gathered.end(), raw, raw + r.consumed);
        }
      } else {
        // The terminator's header; as its value the gathered packets, each complete (24-byte
        // header and body), in the order they arrived (kv_response(header, packets)'s shape).
        std::unique_ptr<protocol::byte_buffer> gathered(std::exchange(op->collected, nullptr));
        protocol::packet_view all;
        all.hdr = p.hdr;
        all.hdr.framing_extras_len = 0;
        all.hdr.extras_len = 0;
        all.hdr.key_len = 0;
        all.hdr.body_len = static_cast<std::uint32_t>(gathered->size());
        all.framing_extras = {gathered->data(), 0};
        all.extras = {gathered->data(), 0};
        all.key = {gathered->data(), 0};
        all.value = {gathered->data(), gathered->size()};
        complete(*self, p.opaque(), {}, &all);
      }
    }
    rstart += r.consumed;
    if (st == state::closed) return false;
  }
}

void kv_connection::impl::fail(const std::shared_ptr<kv_connection>& self, std::error_code reason, std::string why)
{
  if (st == state::closed) return;
  bool was_open = st == state::open || st == state::draining;
  st = state::closed;
  self->open_.store(false, std::memory_order_release);
  detail = std::move(why);
  sys_error ignored;
  sock.close();
  resolver.cancel();
  timer.cancel();
  armed_for = clock::time_point::max();
  // The owner hears why first (a pool marks the connection gone and keeps the reason), so that
  // what the operations do next (a retry, a look at why) sees the pool as it now is.
  if (was_open && close_cb) {
    auto cb = std::move(close_cb);
    close_cb = nullptr;
    cb(reason);
  }
  // Each pending operation completes exactly once; whether it may have run decides the error.
  std::vector<std::pair<std::uint32_t, bool>> victims;
  victims.reserve(ops.size());
  ops.for_each([&](std::uint32_t opaque, const pending& op) { victims.emplace_back(opaque, was_written(op.seq)); });
  for (auto [opaque, written] : victims) {
    complete(*self, opaque, written ? client_errc::connection_closed : client_errc::not_connected, nullptr);
  }
  queued.clear();
  deadlines.clear(); // what is left are entries of operations completed above
}

std::error_code kv_connection::impl::refusal(protocol::bytes_view packet, clock::time_point deadline)
{
  std::error_code refuse;
  if (st != state::open) refuse = client_errc::not_connected;
  else if (ops.size() >= settings.max_in_flight) refuse = client_errc::queue_full;
  else if (packet.size() < protocol::header_size ||
           packet.size() != protocol::header_size + protocol::load_be32(packet.data() + 8)) {
    refuse = client_errc::invalid_argument;
  } else if (deadline != clock::time_point::max() && deadline <= clock::now()) {
    refuse = client_errc::timeout;
  }
  if (refuse) {
    if (refuse == client_errc::timeout) stats.bump(stats.timeouts);
    if (owner_counters) owner_counters->failed.fetch_add(1, std::memory_order_relaxed);
  }
  return refuse;
}

std::uint32_t kv_connection::impl::enqueue(kv_connection& c, protocol::bytes_view packet,
                                           clock::time_point deadline, response_sink& sink, std::size_t index)
{
  auto seq = ++next_seq;
  const auto op = std::to_integer<std::uint8_t>(packet[1]);
  const bool collect = static_cast<protocol::opcode>(op) == protocol::opcode::stat;
  auto opaque = ops.add(pending{&sink, index, nullptr, deadline, seq,
                                collect ? new protocol::byte_buffer() : nullptr, false, op});
  c.in_flight_.store(ops.size(), std::memory_order_relaxed);
  if (owner_counters) owner_counters->in_flight.fetch_add(1, std::memory_order_relaxed);
  if (deadline != clock::time_point::max()) {
    if (deadlines.add({deadline, opaque, seq}, ops.size(), live())) ops.find(opaque)->deadline_ordered = true;
    arm_timer(c);
  }
  const auto at = queued.size();
  queued.insert(queued.end(), packet.begin(), packet.end());
  protocol::store_be32(queued.data() + at + 12, opaque);
  queued_last = seq;
  schedule_flush(c);
  return opaque;
}

void kv_connection::impl::schedule_flush(kv_connection& c)
{
  if (dispatching) return; // the read loop flushes once, after its last handler
  if (ops.size() == 1) {
    flush(c); // an idle connection: nothing to wait for, write now
  } else if (!flush_scheduled) {
    // Others are in flight: requests arriving in a burst (each dispatched here on its own) join
    // one flush that runs after those already queued on the executor.
    flush_scheduled = true;
    asio::post(c.ex_, [self = c.shared_from_this()]() {
      self->impl_->flush_scheduled = false;
      self->impl_->flush(*self);
    });
  }
}

std::error_code kv_connection::impl::execute_sink(kv_connection& c, protocol::bytes_view packet,
                                                  clock::time_point deadline, response_sink& sink, std::size_t index)
{
  if (auto ec = refusal(packet, deadline)) return ec;
  enqueue(c, packet, deadline, sink, index);
  return {};
}

void kv_connection::impl::execute(const std::shared_ptr<kv_connection>& self, kv_request&& req,
                                  asio::any_completion_handler<execute_signature>&& handler,
                                  completion_executor&& handler_ex)
{
  auto* hs = handler_sink::make(std::move(handler), std::move(handler_ex));
  const protocol::bytes_view packet(req.packet.data(), req.packet.size());
  if (auto ec = refusal(packet, req.deadline)) return hs->refuse(self->ex_, ec);
  auto slot = hs->cancellation_slot();
  auto opaque = enqueue(*self, packet, req.deadline, *hs, 0);
  request_buffers.give(std::move(req.packet));
  if (slot.is_connected()) {
    std::weak_ptr<kv_connection> weak = self;
    slot.assign([weak, opaque, hs, ex = self->ex_](asio::cancellation_type type) {
      if (type == asio::cancellation_type::none) return;
      // Posted: the handler must not run inside the emit() call of whoever cancels.
      asio::post(ex, [weak, opaque, hs]() {
        auto s = weak.lock();
        if (!s) return;
        auto* op = s->impl_->ops.find(opaque);
        if (op == nullptr || op->sink != hs) return;
        s->impl_->stats.bump(s->impl_->stats.cancelled);
        s->impl_->complete(*s, opaque, client_errc::cancelled, nullptr);
      });
    });
  }
}

// ---- batches (execute_batch): one sink, one deadline, one write for many requests ------------

void kv_connection::impl::expire_batches(kv_connection& c, clock::time_point now)
{
  // Gathered first (a rare path: a scan of the table): telling a sink may complete any request,
  // erase any group, or add new ones.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> expired;
  ops.for_each([&](std::uint32_t opaque, const pending& r) {
    if (r.group != nullptr && r.group->deadline <= now) expired.emplace_back(opaque, r.seq);
  });
  for (auto [opaque, seq] : expired) {
    if (auto* r = ops.find(opaque); r != nullptr && r->seq == seq) {
      stats.bump(stats.timeouts);
      complete(c, opaque, client_errc::timeout, nullptr);
    }
  }
}

std::error_code kv_connection::impl::execute_batch(const std::shared_ptr<kv_connection>& self,
                                                   protocol::bytes_view packets, std::size_t count,
                                                   clock::time_point deadline, batch_sink& sink)
{
  if (st != state::open) return client_errc::not_connected;
  if (count == 0) return client_errc::invalid_argument;
  if (ops.size() + count > settings.max_in_flight) return client_errc::queue_full;
  if (deadline != clock::time_point::max() && deadline <= clock::now()) {
    stats.bump(stats.timeouts);
    return client_errc::timeout;
  }
  // Each request's size is in its header: exactly `count` of them must fill the buffer.
  std::size_t at = 0;
  std::size_t k = 0;
  for (; k < count && at + protocol::header_size <= packets.size(); ++k) {
    const auto* h = packets.data() + at;
    if (static_cast<protocol::opcode>(h[1]) == protocol::opcode::stat) return client_errc::invalid_argument;
    at += protocol::header_size + protocol::load_be32(h + 8);
  }
  if (k != count || at != packets.size()) return client_errc::invalid_argument;
  auto seq = ++next_seq;
  auto& g = batches.emplace_back();
  g.self = std::prev(batches.end());
  g.deadline = deadline;
  g.left = count;
  ops.reserve_for(count);
  // Copied behind whatever is queued (no zero-filling on the way), then each request's opaque
  // is stamped in the copy.
  const auto base = queued.size();
  queued.insert(queued.end(), packets.begin(), packets.end());
  at = base;
  for (k = 0; k < count; ++k) {
    auto* h = queued.data() + at;
    auto [opaque, e] = ops.claim(); // filled in place, every field
    *e = pending{&sink, k, &g, clock::time_point::max(), seq, nullptr, false, std::to_integer<std::uint8_t>(h[1])};
    protocol::store_be32(h + 12, opaque);
    at += protocol::header_size + protocol::load_be32(h + 8);
  }
  self->in_flight_.store(ops.size(), std::memory_order_relaxed);
  if (owner_counters) owner_counters->in_flight.fetch_add(count, std::memory_order_relaxed);
  if (deadline != clock::time_point::max()) arm_timer(*self);
  queued_last = seq;
  if (!dispatching) flush(*self); // a whole batch: nothing to wait for (the read loop flushes itself)
  return {};
}

// ---- public entry points ----------------------------------------------------------------------

void kv_connection::start_connect(asio::any_completion_handler<connect_signature> handler,
                                  asio::any_io_executor handler_ex)
{
  asio::dispatch(ex_, [self = shared_from_this(), h = std::move(handler), hex = std::move(handler_ex)]() mutable {
    auto& m = *self->impl_;
    if (m.st != impl::state::idle) {
      post_completion(hex, std::move(h), std::error_code(client_errc::invalid_argument));
      return;
    }
    m.st = impl::state::connecting;
    asio::co_spawn(self->ex_, m.connect(self),
                   [self, h = std::move(h), hex = std::move(hex)](std::exception_ptr ex, std::error_code ec) mutable {
                     if (ex) { // not one of connect()'s own failures (bad_alloc...): say what it was
                       try {
                         std::rethrow_exception(ex);
                       } catch (const std::exception& e) {
                         self->impl_->detail = e.what();
                       }
                       self->impl_->st = impl::state::closed;
                       ec = client_errc::connection_failed;
                     }
                     post_completion(hex, std::move(h), ec);
                   });
  });
}

protocol::byte_buffer request_buffer() noexcept { return request_buffers.take(); }

void kv_connection::start_execute(const std::shared_ptr<kv_connection>& self, kv_request req,
                                  asio::any_completion_handler<execute_signature> handler,
                                  const asio::any_io_executor* handler_ex)
{
  // A handler that completes on our executor is called directly (see complete()).
  completion_executor hex;
  if (handler_ex != nullptr && *handler_ex != ex_) hex.emplace(*handler_ex);
  // What dispatch would do, without wrapping the call in a type-erased function.
  if (read_loop_of == impl_.get() || running_on(ex_)) {
    impl_->execute(self, std::move(req), std::move(handler), std::move(hex));
    return;
  }
  asio::dispatch(ex_, [self, req = std::move(req), h = std::move(handler),
                       hex = std::move(hex)]() mutable {
    self->impl_->execute(self, std::move(req), std::move(h), std::move(hex));
  });
}

std::error_code kv_connection::execute(protocol::bytes_view packet, clock::time_point deadline, response_sink& sink,
                                      std::size_t index)
{
  return impl_->execute_sink(*this, packet, deadline, sink, index);
}

std::error_code kv_connection::execute_batch(protocol::bytes_view packets, std::size_t count,
                                            clock::time_point deadline, batch_sink& sink)
{
  return impl_->execute_batch(shared_from_this(), packets, count, deadline, sink);
}

void kv_connection::close()
{
  asio::dispatch(ex_, [self = shared_from_this()]() {
    self->impl_->fail(self, client_errc::connection_closed, "closed by the client");
  });
}

void kv_connection::close_gracefully()
{
  asio::dispatch(ex_, [self = shared_from_this()]() {
    auto& m = *self->impl_;
    if (m.st != impl::state::open) return;
    m.st = impl::state::draining; // execute() refuses new operations from now on
    self->open_.store(false, std::memory_order_release);
    // Poll for the last operation to finish; each has a deadline or will be answered.
    auto poll = std::make_shared<std::function<void()>>();
    auto timer = std::make_shared<asio::steady_timer>(self->ex_);
    *poll = [self, poll, timer]() {
      auto& mm = *self->impl_;
      if (mm.st == impl::state::closed) return;
      if (mm.ops.empty()) {
        mm.fail(self, client_errc::connection_closed, "closed by the client");
        *poll = nullptr; // break the cycle
        return;
      }
      timer->expires_after(std::chrono::milliseconds(5));
      timer->async_wait([poll](sys_error) {
        if (*poll) (*poll)();
      });
    };
    (*poll)();
  });
}

} // namespace couchkv::io
