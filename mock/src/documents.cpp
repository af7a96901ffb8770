// Document operations of the mock: the semantics of kv_engine for each opcode.
#include "kv_session.hpp"

namespace couchkv::mock {

namespace {
bool is_get(opcode op)
{
  return op == opcode::get || op == opcode::getq || op == opcode::getk || op == opcode::getkq;
}
bool is_store(opcode op)
{
  return op == opcode::set || op == opcode::setq || op == opcode::add || op == opcode::addq ||
         op == opcode::replace || op == opcode::replaceq;
}
bool is_document_op(opcode op)
{
  switch (op) {
    case opcode::get: case opcode::getq: case opcode::getk: case opcode::getkq: case opcode::set: case opcode::setq:
    case opcode::add: case opcode::addq: case opcode::replace: case opcode::replaceq: case opcode::del:
    case opcode::delq: case opcode::append: case opcode::appendq: case opcode::prepend: case opcode::prependq:
    case opcode::increment: case opcode::incrementq: case opcode::decrement: case opcode::decrementq:
    case opcode::touch: case opcode::gat: case opcode::gatq: case opcode::get_locked: case opcode::unlock_key:
    case opcode::get_replica:
      return true;
    default:
      return false;
  }
}
// Set while a durable write runs through the ordinary path, whose reply is then held back.
thread_local bool running_durable = false;

// The durability requirement of a request, if it carries one; status einval-style errors in ec.
std::optional<protocol::durability_requirement> durability_of(const protocol::packet_view& p, status& bad)
{
  protocol::frame_info_reader reader(p.framing_extras);
  std::optional<protocol::durability_requirement> req;
  while (auto fi = reader.next()) {
    if (fi->id != static_cast<std::uint16_t>(protocol::request_frame_id::durability_requirement)) continue;
    std::error_code ec;
    req = protocol::parse_durability_frame(fi->payload, ec);
    if (ec || !req) {
      bad = status::durability_invalid_level;
      return std::nullopt;
    }
  }
  if (reader.ec()) bad = status::einval;
  return req;
}
} // namespace

// Synchronous durability (kv_engine's SyncWrite): the mutation is applied, and its reply held
// until the level is met on the vBucket's replication chain, or answered SyncWriteAmbiguous at
// the timeout. Majority counts the configured chain (active + numReplicas); too few defined nodes
// in the chain make the write impossible, refused before it is applied.
void session::handle_durable(const protocol::packet_view& p, const protocol::durability_requirement& req)
{
  using level = protocol::durability_level;
  if (bucket->opts.type != bucket_type::couchbase) return reply(p, status::not_supported);
  // A durability requirement on a connection that was not granted synchronous replication:
  // kv_engine drops the connection (and with it everything else in flight there).
  if (!features.contains(protocol::hello_feature::sync_replication)) return close();
  if (req.level == level::none || static_cast<int>(req.level) > 3) return reply(p, status::durability_invalid_level);
  const auto vbid = p.vbucket();
  if (vbid >= bucket->vbs.size()) return not_my_vbucket(p);
  {
    auto& vb = bucket->vbs[vbid];
    if (vb.active != static_cast<int>(node)) return not_my_vbucket(p);
    const std::size_t chain = 1 + bucket->opts.replicas;
    const std::size_t majority = chain / 2 + 1;
    std::size_t defined = 1;
    for (int r : vb.replicas) defined += r >= 0 ? 1 : 0;
    if (defined < majority) return error(p, status::durability_impossible, "not enough nodes in the replication chain");
  }

  // Run the mutation through the ordinary path with its reply captured.
  byte_buffer held;
  std::swap(out, held);
  running_durable = true;
  handle_document(p);
  running_durable = false;
  std::swap(out, held);
  auto decoded = protocol::decode_packet(held);
  if (decoded.state != protocol::decode_state::complete || decoded.packet.status() != status::success) {
    out.insert(out.end(), held.begin(), held.end());
    return;
  }
  auto& vb = bucket->vbs[vbid];

  // Polled every millisecond on the mock's thread; only the pending timer keeps it alive.
  struct durable_wait : std::enable_shared_from_this<durable_wait> {
    cluster::impl* cl;
    std::weak_ptr<session> who;
    byte_buffer held;
    std::uint64_t seqno, uuid;
    std::uint8_t op;
    std::uint32_t opaque;
    std::chrono::steady_clock::time_point give_up;
    std::size_t majority;
    std::string bucket;
    level lv;
    std::uint16_t vbid;

    void poll()
    {
      auto s = who.lock();
      if (!s || s->closed) return;
      auto& v = cl->buckets.at(bucket).vbs[vbid];
      bool met = false;
      if (v.uuid == uuid) {
        std::size_t in_memory = 1, on_disk = v.persisted >= seqno ? 1 : 0;
        for (const auto& [n, c] : v.copies) {
          in_memory += c.seqno >= seqno ? 1 : 0;
          on_disk += c.persisted >= seqno ? 1 : 0;
        }
        switch (lv) {
          case level::majority: met = in_memory >= majority; break;
          case level::majority_and_persist_to_active: met = in_memory >= majority && v.persisted >= seqno; break;
          case level::persist_to_majority: met = on_disk >= majority; break;
          case level::none: met = true; break;
        }
      }
      if (met) {
        s->out.insert(s->out.end(), held.begin(), held.end());
      } else if (v.uuid != uuid || std::chrono::steady_clock::now() >= give_up) {
        // The outcome is unknown to the client: the write may or may not survive.
        protocol::append_response(s->out, {.op = op, .status = status::sync_write_ambiguous, .opaque = opaque});
      } else {
        cl->schedule(std::chrono::milliseconds(1), [self = shared_from_this()] { self->poll(); });
        return;
      }
      s->flush();
    }
  };
  auto w = std::make_shared<durable_wait>();
  w->cl = &cl;
  w->who = shared_from_this();
  w->held = std::move(held);
  w->seqno = vb.high_seqno;
  w->uuid = vb.uuid;
  w->op = p.hdr.opcode;
  w->opaque = p.opaque();
  w->give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.timeout_ms.value_or(30000));
  w->majority = (1 + bucket->opts.replicas) / 2 + 1;
  w->bucket = bucket->opts.name;
  w->lv = req.level;
  w->vbid = vbid;
  cl.schedule(std::chrono::milliseconds(1), [w] { w->poll(); });
}

void session::handle_document(const protocol::packet_view& p)
{
  const auto op = p.op();
  if (!running_durable && protocol::is_mutation(op) && !p.framing_extras.empty()) {
    status bad = status::success;
    auto req = durability_of(p, bad);
    if (bad != status::success) return reply(p, bad);
    if (req) return handle_durable(p, *req);
  }
  if (is_document_op(op)) {
    if (cl.drop_count > 0) {
      --cl.drop_count;
      return;
    }
    if (cl.garbage_next) {
      cl.garbage_next = false;
      static const char junk[] = "\xde\xad\xbe\xef this is not a packet";
      out.insert(out.end(), reinterpret_cast<const std::byte*>(junk), reinterpret_cast<const std::byte*>(junk) + sizeof junk - 1);
      return;
    }
    if (cl.fail_count > 0) {
      --cl.fail_count;
      reply(p, static_cast<status>(cl.fail_status));
      return;
    }
  }
  const bool couchbase = bucket->opts.type == bucket_type::couchbase;
  std::string key(protocol::as_string_view(p.key));

  if (op == opcode::observe_seqno) {
    if (!couchbase) return reply(p, status::not_supported);
    if (p.vbucket() >= bucket->vbs.size() || p.value.size() != 8) return reply(p, status::einval);
    auto& vb = bucket->vbs[p.vbucket()];
    std::uint64_t seqno = 0, persisted = 0;
    if (vb.active == static_cast<int>(node)) {
      seqno = vb.high_seqno;
      persisted = vb.persisted;
    } else if (auto it = vb.copies.find(static_cast<int>(node)); it != vb.copies.end()) {
      seqno = it->second.seqno;
      persisted = it->second.persisted;
    } else {
      return not_my_vbucket(p);
    }
    auto uuid = protocol::load_be64(p.value.data());
    protocol::observe_seqno_result r{false, p.vbucket(), vb.uuid, persisted, seqno, 0, 0};
    if (uuid != vb.uuid) {
      auto it = std::find_if(vb.failover_log.begin(), vb.failover_log.end(), [&](auto& e) { return e.first == uuid; });
      if (it == vb.failover_log.end()) return reply(p, status::key_enoent);
      r.failed_over = true;
      r.old_vbuuid = uuid;
      // The last seqno under the old UUID is where the next entry (newer) began.
      r.old_seqno = it == vb.failover_log.begin() ? seqno : std::prev(it)->second;
    }
    byte_buffer body;
    protocol::append_observe_seqno_body(body, r);
    return reply(p, status::success, {}, {}, body);
  }
  if (op == opcode::observe) {
    if (!couchbase) return reply(p, status::not_supported);
    std::error_code ec;
    auto keys = protocol::parse_observe_request(p.value, ec);
    if (!keys) return reply(p, status::einval);
    byte_buffer body;
    for (const auto& k : *keys) {
      if (k.vbucket >= bucket->vbs.size()) return reply(p, status::einval);
      auto& vb = bucket->vbs[k.vbucket];
      const doc_map* docs = nullptr;
      std::uint64_t persisted = 0;
      if (vb.active == static_cast<int>(node)) {
        docs = &vb.docs;
        persisted = vb.persisted;
      } else if (auto it = vb.copies.find(static_cast<int>(node)); it != vb.copies.end()) {
        docs = &it->second.docs;
        persisted = it->second.persisted;
      } else {
        return not_my_vbucket(p);
      }
      protocol::observe_entry e{k.vbucket, k.key, protocol::observe_keystate::not_found, 0};
      if (auto d = docs->find(std::string(k.key)); d != docs->end()) {
        e.cas = d->second.cas;
        if (d->second.deleted) e.state = d->second.seqno <= persisted ? protocol::observe_keystate::not_found
                                                                      : protocol::observe_keystate::logically_deleted;
        else e.state = d->second.seqno <= persisted ? protocol::observe_keystate::persisted : protocol::observe_keystate::found;
      }
      protocol::append_observe_entry(body, e);
    }
    return reply(p, status::success, {}, {}, body);
  }
  if (!is_document_op(op)) return reply(p, status::unknown_command);
  if (key.empty() || key.size() > 250) return error(p, status::einval, "key length");

  // Route: the vBucket in the header (like kv_engine, the server trusts it).
  doc_map* docs = nullptr;
  vbucket_state* vbs = nullptr;
  std::uint16_t vbid = p.vbucket();
  if (couchbase) {
    if (vbid >= bucket->vbs.size()) return not_my_vbucket(p);
    vbs = &bucket->vbs[vbid];
    if (op == opcode::get_replica) {
      auto it = vbs->copies.find(static_cast<int>(node));
      if (it == vbs->copies.end()) return not_my_vbucket(p);
      auto d = it->second.docs.find(key);
      if (d == it->second.docs.end() || d->second.deleted ||
          (d->second.expiry && d->second.expiry <= cl.now())) {
        return error(p, status::key_enoent, "not found on this replica");
      }
      std::byte flags[4];
      protocol::store_be32(flags, d->second.flags);
      return reply(p, status::success, flags, {}, protocol::as_bytes(d->second.value), d->second.cas, d->second.datatype);
    }
    if (vbs->active != static_cast<int>(node)) return not_my_vbucket(p);
    docs = &vbs->docs;
  } else {
    if (op == opcode::get_replica || op == opcode::get_locked || op == opcode::unlock_key) {
      return reply(p, status::not_supported);
    }
    docs = &bucket->node_docs[node];
  }

  // Lazily expire and unlock.
  auto now = cl.now();
  auto it = docs->find(key);
  if (it != docs->end() && !it->second.deleted && it->second.expiry && it->second.expiry <= now) {
    it->second.deleted = true;
    it->second.value.clear();
  }
  document* doc = (it != docs->end() && !it->second.deleted) ? &it->second : nullptr;
  if (doc && doc->lock_until && doc->lock_until <= now) doc->lock_until = 0;
  const bool locked = doc && doc->lock_until > now;

  auto commit = [&](document d) -> document& {
    d.cas = cl.new_cas();
    if (vbs) {
      d.seqno = ++vbs->high_seqno;
    }
    auto& slot = (*docs)[key];
    slot = std::move(d);
    if (vbs) cl.replicate(*bucket, vbid, key);
    return slot;
  };
  auto uuid = vbs ? vbs->uuid : 0;

  if (is_get(op) || op == opcode::gat || op == opcode::gatq || op == opcode::get_locked) {
    if (!doc) return error(p, status::key_enoent, "not found");
    if (op == opcode::gat || op == opcode::gatq) {
      if (p.extras.size() != 4) return reply(p, status::einval);
      if (locked) return locked_error(p, "locked");
      doc->expiry = cl.absolute_expiry(protocol::load_be32(p.extras.data()));
      doc->cas = cl.new_cas();
    }
    std::uint64_t cas = doc->cas;
    if (op == opcode::get_locked) {
      if (locked) return locked_error(p, "already locked");
      std::uint32_t t = p.extras.size() == 4 ? protocol::load_be32(p.extras.data()) : 0;
      if (t == 0 || t > 30) t = 15; // getl_default_timeout / getl_max_timeout
      doc->lock_until = now + t;
      doc->cas = cl.new_cas();
      doc->lock_cas = doc->cas;
      cas = doc->cas;
    } else if (locked) {
      cas = ~std::uint64_t{0}; // a plain read of a locked document does not reveal the lock CAS
    }
    std::byte flags[4];
    protocol::store_be32(flags, doc->flags);
    bool with_key = op == opcode::getk || op == opcode::getkq;
    return reply(p, status::success, flags, with_key ? p.key : bytes_view{}, protocol::as_bytes(doc->value), cas,
                 doc->datatype);
  }

  if (op == opcode::unlock_key) {
    if (!doc) return error(p, status::key_enoent, "not found");
    if (!locked) return error(p, status::not_locked, "not locked");
    if (p.cas() != doc->lock_cas) return locked_error(p, "wrong lock CAS");
    doc->lock_until = 0;
    return reply(p, status::success, {}, {}, {}, doc->cas);
  }

  if (op == opcode::touch) {
    if (p.extras.size() != 4) return reply(p, status::einval);
    if (!doc) return error(p, status::key_enoent, "not found");
    if (locked) return locked_error(p, "locked");
    doc->expiry = cl.absolute_expiry(protocol::load_be32(p.extras.data()));
    doc->cas = cl.new_cas();
    return reply(p, status::success, {}, {}, {}, doc->cas);
  }

  // Mutations: a locked document only yields to the lock holder's CAS.
  if (locked && p.cas() != doc->lock_cas) return locked_error(p, "locked");

  if (is_store(op)) {
    if (p.extras.size() != 8) return reply(p, status::einval);
    bool add = op == opcode::add || op == opcode::addq;
    bool replace = op == opcode::replace || op == opcode::replaceq;
    if (add && p.cas() != 0) return reply(p, status::einval);
    if (add && doc) return error(p, status::key_eexists, "exists");
    if (replace && !doc) return error(p, status::key_enoent, "not found");
    if (p.cas() != 0) {
      if (!doc) return error(p, status::key_enoent, "not found");
      if (p.cas() != doc->cas && !(locked && p.cas() == doc->lock_cas)) return error(p, status::key_eexists, "CAS mismatch");
    }
    if (p.value.size() > 20 * 1024 * 1024) return error(p, status::e2big, "too big");
    document d;
    d.value = std::string(protocol::as_string_view(p.value));
    d.flags = protocol::load_be32(p.extras.data());
    d.expiry = cl.absolute_expiry(protocol::load_be32(p.extras.data() + 4));
    d.datatype = p.datatype();
    auto& stored = commit(std::move(d));
    return mutation_reply(p, vbid, stored, uuid);
  }
  if (op == opcode::del || op == opcode::delq) {
    if (!doc) return error(p, status::key_enoent, "not found");
    if (p.cas() != 0 && p.cas() != doc->cas && p.cas() != doc->lock_cas) return error(p, status::key_eexists, "CAS mismatch");
    document d;
    d.deleted = true;
    auto& stored = commit(std::move(d));
    return mutation_reply(p, vbid, stored, uuid);
  }
  if (op == opcode::append || op == opcode::appendq || op == opcode::prepend || op == opcode::prependq) {
    if (!doc) return error(p, status::not_stored, "not found");
    if (p.cas() != 0 && p.cas() != doc->cas) return error(p, status::key_eexists, "CAS mismatch");
    document d = *doc;
    d.lock_until = 0;
    auto v = std::string(protocol::as_string_view(p.value));
    bool app = op == opcode::append || op == opcode::appendq;
    d.value = app ? d.value + v : v + d.value;
    auto& stored = commit(std::move(d));
    return mutation_reply(p, vbid, stored, uuid);
  }
  if (op == opcode::increment || op == opcode::incrementq || op == opcode::decrement || op == opcode::decrementq) {
    if (p.extras.size() != 20) return reply(p, status::einval);
    if (p.cas() != 0) return reply(p, status::einval);
    auto delta = protocol::load_be64(p.extras.data());
    auto initial = protocol::load_be64(p.extras.data() + 8);
    auto expiry = protocol::load_be32(p.extras.data() + 16);
    std::uint64_t value;
    document d;
    if (!doc) {
      if (expiry == 0xffffffffu) return error(p, status::key_enoent, "not found");
      value = initial;
      d.expiry = cl.absolute_expiry(expiry);
    } else {
      const auto& text = doc->value;
      std::uint64_t cur = 0;
      auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), cur);
      if (text.empty() || err != std::errc{} || ptr != text.data() + text.size()) {
        return error(p, status::delta_badval, "not a number");
      }
      bool inc = op == opcode::increment || op == opcode::incrementq;
      value = inc ? cur + delta : (delta > cur ? 0 : cur - delta);
      d = *doc;
      d.lock_until = 0;
    }
    d.value = std::to_string(value);
    d.datatype = datatype_json;
    auto& stored = commit(std::move(d));
    std::byte body[8];
    protocol::store_be64(body, value);
    return mutation_reply(p, vbid, stored, uuid, bytes_view{body, 8});
  }
  reply(p, status::unknown_command);
}

} // namespace couchkv::mock
