#include "session.hpp"

#include "pillowfight.hpp"

#include <couchkv/errors.hpp>
#include <couchkv/version.hpp>

#include <nlohmann/json.hpp>

#include <future>
#include <iostream>
#include <limits>

namespace couchkv::cli {

namespace {

constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

// Server-provided (and echoed) text, safe for the terminal: see escape_control.
std::string shown(std::string_view text) { return escape_control(text); }

// A document's value: printed as it is (JSON documents normally are) unless it holds control
// characters or bytes that are not UTF-8; then escaped, and the line says "(escaped)". A value
// is never allowed to move the cursor, clear the screen or fake a line of output.
struct value_text {
  std::string text;
  bool escaped{false};
};
value_text printable_value(std::string_view v)
{
  // Backslashes alone need no escaping: printed as is they cannot do harm.
  std::string without_backslashes;
  for (char ch : v) {
    if (ch != '\\') without_backslashes += ch;
  }
  if (escape_control(without_backslashes) == without_backslashes) return {std::string(v), false};
  return {escape_control(v), true};
}
std::ostream& operator<<(std::ostream& out, const value_text& v) { return out << v.text; }
const char* escaped_note(const value_text& v) { return v.escaped ? " (escaped)" : ""; }

struct hex {
  std::uint64_t value;
};
std::ostream& operator<<(std::ostream& out, hex h) { return out << "0x" << std::hex << h.value << std::dec; }

// One failed operation: "COMMAND KEY: error: what happened (its context)".
void print_error(std::string_view command, std::string_view key, const std::system_error& e)
{
  std::cout << command << (key.empty() ? "" : " ") << shown(key) << ": error: " << shown(e.code().message());
  if (const auto* d = dynamic_cast<const durability_error*>(&e)) {
    // What the polling saw; after a mutation (not for endure, which mutates nothing), that the
    // mutation itself happened.
    std::cout << " (" << shown(d->outcome().detail) << ")";
    if (command != "endure") std::cout << "; the mutation itself succeeded: cas=" << hex{d->cas()};
  } else if (const auto* op = dynamic_cast<const operation_error*>(&e)) {
    const auto& ctx = op->context();
    if (ctx.last_retry_reason != retry_reason::none) std::cout << " (last retry: " << to_string(ctx.last_retry_reason) << ")";
    // The server's own words (XERROR context) as they came but escaped, or what the client knew.
    if (!ctx.server_message.empty()) {
      std::cout << (ctx.status != 0 ? " (server: " : " (") << shown(ctx.server_message) << ")";
    }
  } else {
    // Views and design documents: "<detail>: <message>" (the server's words where it gave any).
    const std::string what = e.what();
    const auto message = e.code().message();
    if (what != message && what != ": " + message && what.ends_with(": " + message)) {
      std::cout << " (" << shown(what.substr(0, what.size() - message.size() - 2)) << ")";
    }
  }
  std::cout << "\n";
}

// Runs `f`; a failed operation is printed for `command` and `key`. Returns whether it succeeded.
template <class F>
bool attempt(std::string_view command, std::string_view key, F&& f)
{
  try {
    std::forward<F>(f)();
    return true;
  } catch (const std::system_error& e) {
    print_error(command, key, e);
    return false;
  }
}

void print_mutation(std::string_view command, const mutation_result& r)
{
  std::cout << shown(r.key) << "  " << command << " ok  cas=" << hex{r.cas};
  if (r.token) std::cout << " vb=" << r.token->vbucket << " seqno=" << r.token->seqno;
  if (r.durability) std::cout << "  durable: " << shown(r.durability->detail);
  std::cout << "\n";
}

const char* state_name(observe_key_state s)
{
  switch (s) {
    case observe_key_state::found: return "in memory (not persisted)";
    case observe_key_state::persisted: return "persisted";
    case observe_key_state::not_found: return "not found";
    case observe_key_state::logically_deleted: return "deleted (not persisted)";
  }
  return "unknown";
}

// The value as the command line gave it, in the format asked for; a value that the format
// cannot take is a usage error that says what to do instead.
encoded_value encode(std::string_view command, const std::string& text, value_format f)
{
  std::error_code ec;
  switch (f) {
    case value_format::json: {
      auto v = json_text(text, ec);
      if (ec) {
        throw usage_error(std::string(command) +
                          ": the value is not JSON; use --format string to store text (or --format binary for bytes)");
      }
      return v;
    }
    case value_format::string: {
      auto v = utf8_text(text, ec);
      if (ec) throw usage_error(std::string(command) + ": the value is not UTF-8 text; use --format binary to store bytes");
      return v;
    }
    case value_format::binary: return binary(text);
  }
  return binary(text);
}

std::string json_string(std::string_view s)
{
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A view row as one line of JSON: key and value as the server sent them, the document as stored
// (a JSON string when it is not JSON).
std::string row_json(const view_row& r)
{
  std::string line = "{";
  if (!r.id.empty()) line += "\"id\":" + json_string(r.id) + ",";
  line += "\"key\":" + r.key + ",\"value\":" + r.value;
  if (r.document) line += ",\"doc\":" + (nlohmann::json::accept(*r.document) ? *r.document : json_string(*r.document));
  return line + "}";
}

std::string endpoint_text(const std::optional<node_endpoint>& n)
{
  if (!n) return "none";
  return shown(n->endpoint) + " (node " + std::to_string(n->index) + ")";
}

} // namespace

void print_help(std::ostream& out, std::span<const std::string> names)
{
  if (names.empty()) return print_usage(out);
  auto found = find_help(names);
  if (found.empty()) throw usage_error("help: no command \"" + shown(names[0]) + "\" (couchkv --help lists them)");
  for (const auto* c : found) {
    if (c->id == command_id::pillowfight) {
      pillowfight_usage(out);
    } else {
      print_command_help(out, *c);
    }
  }
}

durability_options session::durability_of(const command_options& o) const
{
  return {.persist_to = o.persist_to, .replicate_to = o.replicate_to, .level = o.durability, .timeout = timeouts_.durability};
}

bool session::run(const invocation& c)
{
  if (c.help) {
    const std::string name(c.command->name);
    print_help(std::cout, std::span(&name, 1));
    return true;
  }
  switch (c.command->id) {
    case command_id::get: return get(c.args);
    case command_id::upsert:
    case command_id::insert:
    case command_id::replace:
    case command_id::append:
    case command_id::prepend: return store(c);
    case command_id::remove: return remove(c);
    case command_id::counter: return counter(c);
    case command_id::endure: return endure(c);
    case command_id::view: return view(c);
    case command_id::design_get:
    case command_id::design_upsert:
    case command_id::design_list:
    case command_id::design_remove:
    case command_id::design_publish: return design(c);
    case command_id::hash: return hash(c.args);
    case command_id::touch:
    case command_id::lock:
    case command_id::unlock:
    case command_id::replica:
    case command_id::observe:
    case command_id::stats:
    case command_id::failover:
    case command_id::pillowfight:
    case command_id::version:
    case command_id::help: return basic(c);
  }
  return false;
}

bool session::get(const std::vector<std::string>& keys)
{
  // Every key at once; each prints its own answer, in the order given.
  std::vector<std::future<get_result>> answers;
  answers.reserve(keys.size());
  for (const auto& k : keys) answers.push_back(bucket_.get(k, {.timeout = timeouts_.kv}));
  bool all = true;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    all = attempt("get", keys[i], [&] {
      auto r = answers[i].get();
      auto v = printable_value(r.value);
      std::cout << shown(keys[i]) << "  " << v << "  flags=" << hex{r.flags} << " cas=" << hex{r.cas} << " ("
                << to_string(r.format()) << ")" << escaped_note(v) << "\n";
    }) && all;
  }
  return all;
}

bool session::store(const invocation& c)
{
  const auto& o = c.options;
  const auto& key = c.args[0];
  const auto id = c.command->id;
  const bool concat = id == command_id::append || id == command_id::prepend;
  mutation_options m{.cas = o.cas,
                     .expiry = o.expiry.value_or(std::chrono::seconds(0)),
                     .durability = durability_of(o),
                     .timeout = timeouts_.kv};
  // append / prepend add bytes: the document keeps its format.
  std::optional<document_value> value;
  if (!concat) value.emplace(encode(c.command->name, c.args[1], o.format));
  return attempt(c.command->name, key, [&] {
    switch (id) {
      case command_id::upsert: return print_mutation("upsert", bucket_.upsert(key, std::move(*value), m).get());
      case command_id::insert: return print_mutation("insert", bucket_.insert(key, std::move(*value), m).get());
      case command_id::replace: return print_mutation("replace", bucket_.replace(key, std::move(*value), m).get());
      case command_id::append: return print_mutation("append", bucket_.append(key, c.args[1], m).get());
      default: return print_mutation("prepend", bucket_.prepend(key, c.args[1], m).get()); // run() sends only stores
    }
  });
}

bool session::remove(const invocation& c)
{
  const auto& o = c.options;
  return attempt("remove", c.args[0], [&] {
    print_mutation("remove", bucket_.remove(c.args[0], {.cas = o.cas, .durability = durability_of(o), .timeout = timeouts_.kv}).get());
  });
}

bool session::counter(const invocation& c)
{
  const auto& o = c.options;
  const auto& key = c.args[0];
  const auto delta = parse_int("counter: DELTA", c.args[1], std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max());
  return attempt("counter", key, [&] {
    auto r = bucket_.counter(key, delta,
                             {.initial = o.initial,
                              .expiry = o.expiry.value_or(std::chrono::seconds(0)),
                              .durability = durability_of(o),
                              .timeout = timeouts_.kv})
                 .get();
    std::cout << shown(key) << "  counter=" << r.value << " cas=" << hex{r.cas};
    if (r.durability) std::cout << "  durable: " << shown(r.durability->detail);
    std::cout << "\n";
  });
}

bool session::endure(const invocation& c)
{
  const auto& o = c.options;
  if (o.persist_to == 0 && o.replicate_to == 0) throw usage_error("endure: give --persist-to N or --replicate-to N (or both)");
  const auto& key = c.args[0];
  return attempt("endure", key, [&] {
    auto r = bucket_.endure(key, o.cas,
                            {.persist_to = o.persist_to,
                             .replicate_to = o.replicate_to,
                             .check_removed = o.removed,
                             .timeout = timeouts_.durability})
                 .get();
    std::cout << shown(key) << "  durable" << (o.removed ? " (removed)" : "") << "  " << shown(r.durability.detail) << "\n";
  });
}

bool session::view(const invocation& c)
{
  const auto& o = c.options;
  view_query q(c.args[0], c.args[1]);
  if (o.limit) q.limit(*o.limit);
  if (o.skip) q.skip(*o.skip);
  if (o.key) q.key(json_value::raw(*o.key));
  if (o.keys) {
    std::vector<json_value> keys;
    for (const auto& k : *o.keys) keys.push_back(json_value::raw(k));
    q.keys(std::move(keys));
  }
  if (o.start_key) q.start_key(json_value::raw(*o.start_key));
  if (o.end_key) q.end_key(json_value::raw(*o.end_key));
  if (o.descending) q.descending(true);
  if (o.reduce) q.reduce(*o.reduce);
  if (o.group) q.group(true);
  if (o.group_level) q.group_level(*o.group_level);
  if (o.stale) q.stale(*o.stale);
  q.include_docs(o.include_docs);
  bool complete = true;
  const bool answered = attempt("view", c.args[0] + "/" + c.args[1], [&] {
    auto r = bucket_.query(std::move(q), {.timeout = timeouts_.views}).get();
    for (const auto& row : r.rows) {
      auto line = printable_value(row_json(row));
      std::cout << line << escaped_note(line) << "\n";
    }
    std::cout << r.rows.size() << " row(s)";
    if (r.meta.total_rows) std::cout << ", total_rows=" << *r.meta.total_rows;
    std::cout << "\n";
    // A partial failure (a node that could not answer): the rows above are not all there are.
    for (const auto& e : r.meta.errors) {
      std::cout << "view " << shown(c.args[0]) << "/" << shown(c.args[1]) << ": error from " << shown(e.from) << ": "
                << shown(e.reason) << "\n";
      complete = false;
    }
  });
  return answered && complete;
}

bool session::design(const invocation& c)
{
  const view_options opts{.timeout = timeouts_.views};
  const auto& a = c.args;
  switch (c.command->id) {
    case command_id::design_list:
      return attempt("design list", "", [&] {
        auto docs = bucket_.list_design_documents(opts).get();
        for (const auto& d : docs) {
          std::cout << "_design/" << shown(d.name) << "  views:";
          for (const auto& [name, v] : d.views) std::cout << " " << shown(name);
          std::cout << "\n";
        }
        std::cout << docs.size() << " design document(s)\n";
      });
    case command_id::design_get:
      return attempt("design get", a[0], [&] {
        auto d = bucket_.get_design_document(a[0], opts).get();
        auto text = printable_value(d.to_json());
        std::cout << "_design/" << shown(d.name) << "  " << text << escaped_note(text) << "\n";
      });
    case command_id::design_upsert: {
      auto doc = parse_design_document(a[1], a[0]);
      if (!doc) throw usage_error("design upsert: DOCUMENT: " + doc.error.message());
      doc->name = a[0];
      return attempt("design upsert", a[0], [&] {
        std::cout << shown(bucket_.upsert_design_document(std::move(*doc), opts).get()) << "  stored\n";
      });
    }
    case command_id::design_remove:
      return attempt("design remove", a[0], [&] {
        std::cout << shown(bucket_.remove_design_document(a[0], opts).get()) << "  removed\n";
      });
    default: // design publish (run() sends only design commands)
      return attempt("design publish", a[0], [&] {
        std::cout << shown(bucket_.publish_design_document(a[0], opts).get()) << "  published (dev_" << shown(a[0])
                  << " removed)\n";
      });
  }
}

bool session::hash(const std::vector<std::string>& keys)
{
  bool all = true;
  for (const auto& k : keys) {
    all = attempt("hash", k, [&] {
      auto where = bucket_.locate(k).get();
      if (!where.vbucket) {
        std::cout << shown(k) << "  server " << endpoint_text(where.master) << "  (memcached bucket: ketama, no vBuckets)\n";
        return;
      }
      std::cout << shown(k) << "  vbucket=" << *where.vbucket << "  master " << endpoint_text(where.master) << "\n";
      for (std::size_t i = 0; i < where.replicas.size(); ++i) {
        std::cout << "  replica " << i + 1 << "  " << endpoint_text(where.replicas[i]) << "\n";
      }
    }) && all;
  }
  return all;
}

bool session::basic(const invocation& c)
{
  const auto& a = c.args;
  const auto kv = common_options{.timeout = timeouts_.kv};
  switch (c.command->id) {
    case command_id::touch: {
      const auto expiry = std::chrono::seconds(parse_uint("touch: EXPIRY_S", a[1], 0, u32_max));
      return attempt("touch", a[0], [&] { print_mutation("touch", bucket_.touch(a[0], expiry, {.timeout = timeouts_.kv}).get()); });
    }
    case command_id::lock: {
      // The wire's 32 bits; the server applies its own maximum (30 s on Couchbase Server).
      const auto secs = a.size() > 1 ? parse_uint("lock: SECONDS", a[1], 0, u32_max) : 15;
      return attempt("lock", a[0], [&] {
        auto r = bucket_.get_and_lock(a[0], {.lock_time = std::chrono::seconds(secs), .timeout = timeouts_.kv}).get();
        auto v = printable_value(r.value);
        std::cout << shown(a[0]) << "  locked  " << v << "  lock_cas=" << hex{r.cas} << escaped_note(v) << "\n";
      });
    }
    case command_id::unlock: {
      const auto cas = parse_uint("unlock: CAS", a[1], 0, u64_max);
      return attempt("unlock", a[0], [&] {
        bucket_.unlock(a[0], cas, kv).get();
        std::cout << shown(a[0]) << "  unlocked\n";
      });
    }
    case command_id::replica:
      return attempt("replica", a[0], [&] {
        auto r = bucket_.get_replica(a[0], {.timeout = timeouts_.kv}).get();
        auto v = printable_value(r.value);
        std::cout << shown(a[0]) << "  " << v << "  (from a replica) cas=" << hex{r.cas} << escaped_note(v) << "\n";
      });
    case command_id::observe:
      return attempt("observe", a[0], [&] {
        auto r = bucket_.observe(a[0], kv).get();
        std::cout << shown(a[0]) << "  observed on " << r.nodes.size() << " node(s)\n";
        for (const auto& n : r.nodes) {
          std::cout << "  " << (n.is_master ? "master " : "replica") << "  " << shown(n.endpoint) << "  "
                    << state_name(n.state) << "  cas=" << hex{n.cas} << "\n";
        }
      });
    case command_id::stats:
      return attempt("stats", "", [&] {
        auto r = bucket_.stats(a.empty() ? std::string{} : a[0], kv).get();
        for (const auto& [endpoint, entries] : r) {
          std::cout << shown(endpoint) << "  (" << entries.size() << " statistic(s))\n";
          for (const auto& [name, value] : entries) std::cout << "  " << shown(name) << " = " << shown(value) << "\n";
        }
      });
    case command_id::failover: {
      const auto node = parse_uint("failover: NODE", a[0], 0, u32_max);
      if (!fail_over_) throw usage_error("failover works only with --mock");
      fail_over_(static_cast<std::uint32_t>(node));
      std::cout << "mock node " << node << " failed over\n";
      return true;
    }
    case command_id::version: std::cout << "couchkv " << couchkv::version() << "\n"; return true;
    case command_id::help: print_help(std::cout, a); return true;
    case command_id::pillowfight: throw usage_error("pillowfight runs on its own: couchkv [--mock] pillowfight [OPTIONS]");
    default: return false;
  }
}

} // namespace couchkv::cli
