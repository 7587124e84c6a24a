#pragma once
// What both Segment endpoint kinds share: protocol errors, the parsed body the
// events point into, and JSON bodies for answers.
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::segment {

struct Error {
  int status;
  std::string message;
};

// A parsed request body. `events` point into `parser`'s document.
struct Parsed {
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  std::vector<simdjson::dom::element> events;
  // The bytes of each event as sent, when the body's layout is known (see
  // codec/json_spans.hpp); one per event or none.
  std::vector<std::string_view> spans;
  // The bytes of event `i` as stored in a reject: as sent, or re-serialized
  // (minified) when they are not known.
  std::string raw(uint32_t i) const;
  // Takes `spans` when they match the events one for one.
  void set_spans(const std::optional<std::vector<std::string_view>>& s);
};

// `{"<key>": "<message>"}` with the message JSON-escaped; `prefix` goes before it
// (e.g. `"success":false,`).
std::string error_json(std::string_view prefix, std::string_view message);

// A deterministic id for a request body: retries of the same body get the same rejects.
std::string body_id(std::string_view body);

}  // namespace hydrant::segment
