#include <couchkv/protocol/status.hpp>

namespace couchkv::protocol {

std::string_view to_string(status s) noexcept
{
  switch (s) {
    case status::success: return "Success";
    case status::key_enoent: return "KeyEnoent";
    case status::key_eexists: return "KeyEexists";
    case status::e2big: return "E2big";
    case status::einval: return "Einval";
    case status::not_stored: return "NotStored";
    case status::delta_badval: return "DeltaBadval";
    case status::not_my_vbucket: return "NotMyVbucket";
    case status::no_bucket: return "NoBucket";
    case status::locked: return "Locked";
    case status::dcp_stream_not_found: return "DcpStreamNotFound";
    case status::opaque_no_match: return "OpaqueNoMatch";
    case status::ewould_throttle: return "EwouldThrottle";
    case status::econfig_only: return "EconfigOnly";
    case status::not_locked: return "NotLocked";
    case status::cas_value_invalid: return "CasValueInvalid";
    case status::auth_stale: return "AuthStale";
    case status::auth_error: return "AuthError";
    case status::auth_continue: return "AuthContinue";
    case status::erange: return "Erange";
    case status::rollback: return "Rollback";
    case status::eaccess: return "Eaccess";
    case status::not_initialized: return "NotInitialized";
    case status::encryption_key_not_available: return "EncryptionKeyNotAvailable";
    case status::checksum_mismatch: return "ChecksumMismatch";
    case status::expiry_overflow: return "ExpiryOverflow";
    case status::lock_expiry_overflow: return "LockExpiryOverflow";
    case status::rate_limited_network_ingress: return "RateLimitedNetworkIngress";
    case status::rate_limited_network_egress: return "RateLimitedNetworkEgress";
    case status::rate_limited_max_connections: return "RateLimitedMaxConnections";
    case status::rate_limited_max_commands: return "RateLimitedMaxCommands";
    case status::scope_size_limit_exceeded: return "ScopeSizeLimitExceeded";
    case status::bucket_size_limit_exceeded: return "BucketSizeLimitExceeded";
    case status::bucket_resident_ratio_too_low: return "BucketResidentRatioTooLow";
    case status::bucket_data_size_too_big: return "BucketDataSizeTooBig";
    case status::bucket_disk_space_too_low: return "BucketDiskSpaceTooLow";
    case status::bucket_paused: return "BucketPaused";
    case status::cancelled: return "Cancelled";
    case status::unknown_frame_info: return "UnknownFrameInfo";
    case status::unknown_command: return "UnknownCommand";
    case status::enomem: return "Enomem";
    case status::not_supported: return "NotSupported";
    case status::einternal: return "Einternal";
    case status::ebusy: return "Ebusy";
    case status::etmpfail: return "Etmpfail";
    case status::xattr_einval: return "XattrEinval";
    case status::unknown_collection: return "UnknownCollection";
    case status::no_collections_manifest: return "NoCollectionsManifest";
    case status::cannot_apply_collections_manifest: return "CannotApplyCollectionsManifest";
    case status::collections_manifest_is_ahead: return "CollectionsManifestIsAhead";
    case status::unknown_scope: return "UnknownScope";
    case status::dcp_stream_id_invalid: return "DcpStreamIdInvalid";
    case status::durability_invalid_level: return "DurabilityInvalidLevel";
    case status::durability_impossible: return "DurabilityImpossible";
    case status::sync_write_in_progress: return "SyncWriteInProgress";
    case status::sync_write_ambiguous: return "SyncWriteAmbiguous";
    case status::sync_write_recommit_in_progress: return "SyncWriteRecommitInProgress";
    case status::range_scan_cancelled: return "RangeScanCancelled";
    case status::range_scan_more: return "RangeScanMore";
    case status::range_scan_complete: return "RangeScanComplete";
    case status::vb_uuid_not_equal: return "VbUuidNotEqual";
    case status::subdoc_path_enoent: return "SubdocPathEnoent";
    case status::subdoc_path_mismatch: return "SubdocPathMismatch";
    case status::subdoc_path_einval: return "SubdocPathEinval";
    case status::subdoc_path_e2big: return "SubdocPathE2big";
    case status::subdoc_doc_e2deep: return "SubdocDocE2deep";
    case status::subdoc_value_cantinsert: return "SubdocValueCantinsert";
    case status::subdoc_doc_not_json: return "SubdocDocNotJson";
    case status::subdoc_num_erange: return "SubdocNumErange";
    case status::subdoc_delta_einval: return "SubdocDeltaEinval";
    case status::subdoc_path_eexists: return "SubdocPathEexists";
    case status::subdoc_value_etoodeep: return "SubdocValueEtoodeep";
    case status::subdoc_invalid_combo: return "SubdocInvalidCombo";
    case status::subdoc_multi_path_failure: return "SubdocMultiPathFailure";
    case status::subdoc_success_deleted: return "SubdocSuccessDeleted";
    case status::subdoc_xattr_invalid_flag_combo: return "SubdocXattrInvalidFlagCombo";
    case status::subdoc_xattr_invalid_key_combo: return "SubdocXattrInvalidKeyCombo";
    case status::subdoc_xattr_unknown_macro: return "SubdocXattrUnknownMacro";
    case status::subdoc_xattr_unknown_vattr: return "SubdocXattrUnknownVattr";
    case status::subdoc_xattr_cant_modify_vattr: return "SubdocXattrCantModifyVattr";
    case status::subdoc_multi_path_failure_deleted: return "SubdocMultiPathFailureDeleted";
    case status::subdoc_invalid_xattr_order: return "SubdocInvalidXattrOrder";
    case status::subdoc_xattr_unknown_vattr_macro: return "SubdocXattrUnknownVattrMacro";
    case status::subdoc_can_only_revive_deleted_documents: return "SubdocCanOnlyReviveDeletedDocuments";
    case status::subdoc_deleted_document_cant_have_value: return "SubdocDeletedDocumentCantHaveValue";
    case status::subdoc_field_not_binary_value: return "SubdocFieldNotBinaryValue";
  }
  return "Unknown";
}

bool is_known(status s) noexcept { return to_string(s) != "Unknown"; }

} // namespace couchkv::protocol
