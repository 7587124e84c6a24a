#pragma once
// Any signed webhook (SPEC §4b, `[[webhook]]`): signature presets checked over
// the raw bytes in constant time, then the body → documents. No I/O here.
#include <optional>
#include <string>
#include <vector>

#include "common/batch.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "sources/segment/events.hpp"

namespace hydrant::webhook {

using segment::Error;

// Before the body: the query secret, the signature header's presence and, for
// Stripe and Slack, the timestamp's age.
std::optional<Error> check_head(const config::Webhook& cfg, const http::Request& head, int64_t now_s);

// After the body, before it is parsed: the signature over the raw bytes.
std::optional<Error> verify(const config::Webhook& cfg, const http::Request& req, int64_t now_s);

// The body as documents: a JSON object → one, a JSON array → one per element
// (an element that is not an object → a reject), a form → one of its fields,
// anything else → {data: text or binary}. Each gets `_id` (the `id` value, or a
// new ObjectId), `_headers` (the configured headers) and `_receivedAt`.
struct Decoded {
  Batch batch;
  segment::Parsed parsed;  // JSON array elements, for rejects
  std::string raw_body;    // what a reject of a non-array body stores
};
std::optional<Error> decode(const config::Webhook& cfg, const http::Request& req, int64_t received_at_ms,
                            Decoded& out);

// The JSON of a document's `_id` for the {"inserted", "ids"} answer.
std::string id_json(const bson_t* doc);

}  // namespace hydrant::webhook
