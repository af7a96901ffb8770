// Internal: views over HTTP (the CAPI port) and design documents, on top of bucket_impl's config
// and http_client. Node choice: round robin over the nodes that run the views service; a request
// that fails before any row was handed out is retried on the next node until every node was
// tried or the deadline passed.
#pragma once
#include "bucket_impl.hpp"

#include <couchkv/options.hpp>
#include <couchkv/views.hpp>

#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace couchkv::detail {

// Receives rows in order, on the bucket's strand; return false to stop the query.
using view_row_sink = std::function<bool(view_row&&)>;
using view_done = std::function<void(std::error_code, view_result, std::string detail)>;

// With a sink the rows go to it (result.rows stays empty, memory stays bounded); without one
// they are collected into the result.
void run_view_query(const std::shared_ptr<bucket_impl>& impl, view_query q, view_options o, view_row_sink sink,
                    view_done done);

// One HTTP exchange with the views (CAPI) or management service, with node retry.
using http_done = std::function<void(std::error_code, io::http_response)>;
void run_http(const std::shared_ptr<bucket_impl>& impl, bucket_impl::http_service svc, io::http_request req,
              http_done done);

} // namespace couchkv::detail
