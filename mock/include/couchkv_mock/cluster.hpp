// An in-process mock Couchbase cluster on loopback: several nodes, each with its own KV,
// management (REST) and views (CAPI) ports;
// buckets with vBuckets, replicas that hold real copies, simulated replication and persistence
// delays, SASL (PLAIN, SCRAM-SHA1/256/512), HELLO, CCCP configs with $HOST, NOT_MY_VBUCKET with
// the config, locks, expiry on a clock tests can advance, and fault controls. Over HTTP: the
// management REST API (/pools, bucket configs, streaming configs), the views API (design documents
// and view queries) and the fault controls as POST /mock/<control>.
//
// It reuses couchkv's codec (protocol/) and never routes with the client's topology code: the map
// it serves is its own.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace couchkv::mock {

enum class bucket_type { couchbase, memcached };

struct bucket_options {
  std::string name{"default"};
  std::string password{"password"}; // user = bucket name
  bucket_type type{bucket_type::couchbase};
  std::uint32_t replicas{1};
};

// TLS listeners, opt-in. With a certificate chain and its key every node also serves KV,
// management and views over TLS, each on its own port (what 11207, 18091 and 18092 are on a real
// node), advertised as kvSSL, mgmtSSL and capiSSL in the config's nodesExt services and as
// couchApiBaseHTTPS in the verbose config. The plain ports stay, as on a real node; the stats say
// which kind of port a client used.
struct tls_options {
  std::string certificate_chain_file; // PEM, the node's certificate first
  std::string private_key_file;       // PEM
};

struct cluster_options {
  std::uint32_t nodes{3};
  std::uint32_t vbuckets{1024};
  std::vector<bucket_options> buckets{bucket_options{}};
  std::string admin_user{"Administrator"};
  std::string admin_password{"password"};
  std::string host{"127.0.0.1"};
  std::chrono::milliseconds replication_delay{0};
  std::chrono::milliseconds persistence_delay{0};
  std::optional<tls_options> tls{};
  // Playing older or stricter servers:
  // - tmpfail_on_locked: a locked document is answered TMPFAIL (0x86), as servers before 7.0 did
  //   (get-and-lock of a locked document, unlock with a wrong CAS, a mutation, touch or counter
  //   on it), instead of LOCKED (0x09).
  bool tmpfail_on_locked{false};
  // - withheld_features: HELLO features (codes, e.g. 0x11 synchronous replication) the nodes never
  //   grant. A request that uses one anyway (flexible framing or a durability frame info that was
  //   not granted) makes the node drop the connection, as kv_engine does.
  std::vector<std::uint16_t> withheld_features{};
};

// What the mock did, for tests that check the client behaved.
struct cluster_stats {
  std::uint64_t requests{0};
  std::uint64_t not_my_vbucket{0};
  std::uint64_t connections_accepted{0};     // KV, plain and TLS
  std::uint64_t http_requests{0};            // management and views ports, plain and TLS
  std::uint64_t tls_connections_accepted{0}; // of connections_accepted: on a kvSSL port
  std::uint64_t tls_http_requests{0};        // of http_requests: on a mgmtSSL or capiSSL port
  std::uint64_t tls_handshakes_failed{0};    // any TLS port: the client (or the mock) gave up the handshake
  std::uint64_t kv_connections_open{0};      // KV client connections open now (every node, plain and TLS)
};

class cluster {
public:
  explicit cluster(cluster_options options = {});
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  // Binds every node's KV, management and views ports (ephemeral; and their TLS twins with
  // options.tls) and starts serving on an internal thread. A stopped node keeps its ports when
  // restarted. A certificate or key that cannot be loaded throws std::invalid_argument here.
  void start();
  void stop();

  // "couchbase://127.0.0.1:p1,127.0.0.1:p2,.../default"
  [[nodiscard]] std::string connection_string(const std::string& bucket = "default") const;
  [[nodiscard]] std::vector<std::uint16_t> kv_ports() const;
  // Per node, the management REST port (what 8091 is on a real node; "mgmt" in the config's
  // nodesExt services, hostname of the legacy nodes[]): /pools, /pools/default/b/<bucket>,
  // streaming /pools/default/bs/<bucket>, POST /mock/... fault controls. HTTP Basic auth with the
  // admin or a bucket's credentials.
  [[nodiscard]] std::vector<std::uint16_t> mgmt_ports() const;
  // Per node, the views port (what 8092 is; "capi", couchApiBase "http://host:port/<bucket>"):
  // /<bucket>/_design/<ddoc> and /<bucket>/_design/<ddoc>/_view/<view>.
  [[nodiscard]] std::vector<std::uint16_t> views_ports() const;
  // With options.tls: "couchbases://127.0.0.1:t1,127.0.0.1:t2,.../default" on the kvSSL ports,
  // and the TLS ports per node ("kvSSL", "mgmtSSL", "capiSSL"). Without: std::logic_error, and
  // empty lists.
  [[nodiscard]] std::string tls_connection_string(const std::string& bucket = "default") const;
  [[nodiscard]] std::vector<std::uint16_t> kv_tls_ports() const;
  [[nodiscard]] std::vector<std::uint16_t> mgmt_tls_ports() const;
  [[nodiscard]] std::vector<std::uint16_t> views_tls_ports() const;
  [[nodiscard]] const cluster_options& options() const noexcept;
  [[nodiscard]] std::string config_json(const std::string& bucket) const; // the current terse config
  [[nodiscard]] cluster_stats stats() const;

  // Fault controls. Each runs on the mock's thread and returns when applied.
  void failover(std::uint32_t node);                 // promote replicas, drop the node from the map
  void rebalance_out_and_in();                       // move vBuckets round-robin onto the live nodes
  void kill_connections(std::uint32_t node);         // close every client connection of a node (KV and HTTP)
  void stop_node(std::uint32_t node);                // stop listening and drop connections; new config rev
  void restart_node(std::uint32_t node);             // listen again on the same ports; new config rev
  void fail_next(std::uint32_t count, std::uint16_t status); // answer the next N document ops with status
  void drop_next(std::uint32_t count);               // swallow the next N document ops (no answer)
  void send_garbage_next();                          // answer the next document op with junk bytes
  void advance_clock(std::chrono::seconds by);       // expiry and lock time
  void set_delays(std::chrono::milliseconds replication, std::chrono::milliseconds persistence);
  // The node's KV SASL refuses every credential (its management and views ports still accept
  // them), or accepts them again: a node whose KV authentication is out of step with the cluster's.
  void reject_kv_auth(std::uint32_t node, bool reject = true);

  struct impl; // opaque; defined in the mock's sources

private:
  std::unique_ptr<impl> impl_;
};

} // namespace couchkv::mock
