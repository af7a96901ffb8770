#include "packet_writer.hpp"

#include <couchkv/protocol/errors.hpp>
#include <couchkv/protocol/hello.hpp>
#include <couchkv/protocol/opcode.hpp>

#include <array>

namespace couchkv::protocol {

std::string_view to_string(hello_feature f) noexcept
{
  switch (f) {
    case hello_feature::tls: return "TLS";
    case hello_feature::tcp_nodelay: return "TCPNODELAY";
    case hello_feature::mutation_seqno: return "MutationSeqno";
    case hello_feature::tcp_delay: return "TCPDELAY";
    case hello_feature::xattr: return "XATTR";
    case hello_feature::xerror: return "XERROR";
    case hello_feature::select_bucket: return "SELECT_BUCKET";
    case hello_feature::snappy: return "Snappy";
    case hello_feature::json: return "JSON";
    case hello_feature::duplex: return "Duplex";
    case hello_feature::clustermap_change_notification: return "ClustermapChangeNotification";
    case hello_feature::unordered_execution: return "UnorderedExecution";
    case hello_feature::tracing: return "Tracing";
    case hello_feature::alt_request_support: return "AltRequestSupport";
    case hello_feature::sync_replication: return "SyncReplication";
    case hello_feature::collections: return "Collections";
    case hello_feature::snappy_everywhere: return "SnappyEverywhere";
    case hello_feature::preserve_ttl: return "PreserveTtl";
    case hello_feature::vattr: return "VAttr";
    case hello_feature::subdoc_create_as_deleted: return "SubdocCreateAsDeleted";
    case hello_feature::subdoc_document_macro_support: return "SubdocDocumentMacroSupport";
    case hello_feature::subdoc_replace_body_with_xattr: return "SubdocReplaceBodyWithXattr";
    case hello_feature::report_unit_usage: return "ReportUnitUsage";
    case hello_feature::non_blocking_throttling_mode: return "NonBlockingThrottlingMode";
    case hello_feature::subdoc_replica_read: return "SubdocReplicaRead";
    case hello_feature::get_cluster_config_with_known_version: return "GetClusterConfigWithKnownVersion";
    case hello_feature::dedupe_not_my_vbucket_clustermap: return "DedupeNotMyVbucketClustermap";
    case hello_feature::clustermap_change_notification_brief: return "ClustermapChangeNotificationBrief";
  }
  return "Unknown";
}

void append_hello(byte_buffer& out, std::uint32_t opaque, std::string_view agent,
                  std::span<const hello_feature> features)
{
  std::array<std::byte, 2 * 64> value{};
  std::size_t n = 0;
  for (auto f : features) {
    if (n + 2 > value.size()) break;
    store_be16(value.data() + n, static_cast<std::uint16_t>(f));
    n += 2;
  }
  detail::append_packet(out, {.magic_byte = magic::client_request,
                              .opcode = static_cast<std::uint8_t>(opcode::hello),
                              .opaque = opaque,
                              .key = as_bytes(agent),
                              .value = {value.data(), n}});
}

std::optional<std::vector<std::uint16_t>> parse_hello_features(bytes_view value, std::error_code& ec)
{
  if (value.size() % 2 != 0) {
    ec = client_errc::invalid_payload;
    return std::nullopt;
  }
  std::vector<std::uint16_t> out;
  out.reserve(value.size() / 2);
  for (std::size_t i = 0; i < value.size(); i += 2) out.push_back(load_be16(value.data() + i));
  ec.clear();
  return out;
}

void append_hello_features(byte_buffer& out, std::span<const std::uint16_t> features)
{
  for (auto f : features) {
    std::byte b[2];
    store_be16(b, f);
    out.insert(out.end(), b, b + 2);
  }
}

} // namespace couchkv::protocol
