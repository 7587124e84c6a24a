#pragma once
// Segment's HTTP Tracking API (SPEC §4, kind = "tracking-api"): routes, write
// keys, validation and the server-side fields Segment adds. No I/O here.
#include <optional>
#include <string>
#include <string_view>

#include "codec/json_bson.hpp"
#include "common/batch.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "sources/segment/events.hpp"

namespace hydrant::segment {

enum class Call { track, identify, page, screen, group, alias, batch };

// `/track`, `/t`, ..., `/batch`, `/b`, `/import` (the path below the endpoint's).
std::optional<Call> route(std::string_view sub_path);

// Write keys sent in headers (HTTP Basic username, X-Write-Key). A key that is
// not configured is a 401; `found` says whether a good one was sent.
std::optional<Error> check_header_key(const config::Segment& cfg, const http::Request& head, bool& found);

class TrackingDecoder {
 public:
  explicit TrackingDecoder(const config::Segment& cfg);

  // Parses and validates a body for `call`. A request-level failure is returned;
  // otherwise `batch` holds the documents and, for a batch, the events that
  // failed validation as rejects (their reasons name the event and the field).
  std::optional<Error> decode(Call call, const std::string& body, bool key_found, int64_t received_at_ms,
                              Parsed& parsed, Batch& batch) const;

 private:
  struct Shared;  // a batch's top-level context, integrations and sentAt
  std::optional<std::string> normalize(simdjson::dom::object event, std::optional<Call> call, const Shared& shared,
                                       int64_t received_at_ms, bson_t* out) const;

  const config::Segment& cfg_;
  codec::Conversions none_;
  codec::JsonToBson converter_;
};

}  // namespace hydrant::segment
