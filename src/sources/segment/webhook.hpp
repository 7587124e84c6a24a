#pragma once
// Segment's Webhooks destination (SPEC §4, kind = "webhook"): the ?secret= and
// X-Signature checks over the raw body, and events → documents. No I/O here.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/batch.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "sources/segment/events.hpp"

namespace hydrant::segment {

// Before the body: the query secret and the presence of X-Signature.
std::optional<Error> check_webhook_head(const config::Segment& cfg, const http::Request& head);

// After the body: X-Signature against the HMAC-SHA1 of the raw body, or of the
// first element's raw bytes when the body is a JSON array.
std::optional<Error> check_signature(const config::Segment& cfg, const http::Request& req);

// The exact bytes of the first element of a JSON array body; nullopt when the body
// is not an array or the element does not end.
std::optional<std::string_view> first_array_element(std::string_view body);

// Parses the body (an event or an array of events) into `batch`: `_id` =
// messageId, plus receivedAt. An element that is not an object becomes a reject.
// `ids[i]` is the `_id` of event `i` (empty for a reject).
std::optional<Error> decode_webhook(const std::string& body, int64_t received_at_ms, Parsed& parsed, Batch& batch,
                                    std::vector<std::string>& ids);

}  // namespace hydrant::segment
