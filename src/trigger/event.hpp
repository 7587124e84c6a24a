#pragma once
// A change event (BSON, as the server sends it) turned into what a destination
// receives, and the fields of it the trigger needs. No I/O.
#include <bson/bson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace hydrant::trigger {

// Plain JSON, as JavaScript's JSON.stringify writes what the Node driver reads
// (what the seed's trigger function sent): ObjectId → its hex string, date →
// ISO-8601 string, 64-bit integers → numbers, NaN/Infinity → null, binary →
// base64 string; Decimal128, Timestamp, regex and the rest as relaxed Extended JSON.
void append_plain_json(std::string& out, const bson_t* doc);

struct Formatted {
  std::string data;    // the bytes the destination receives
  std::string error;   // why the event cannot be sent (then data is empty)
};

// format = "document": fullDocument as plain JSON; a delete (no full document) is
// sent as {"_id": <its document key's _id>, "_deleted": true}. "event": the whole
// event as relaxed Extended JSON; "event-canonical": canonical Extended JSON.
Formatted format_event(const bson_t* event, config::Trigger::Format format);

// The value at a dotted path as a partition key: strings as they are, ObjectIds
// as hex, numbers and booleans as JSON writes them, anything else as relaxed
// Extended JSON. nullopt when the path is missing or null.
std::optional<std::string> key_at(const bson_t* event, const std::string& path);

struct ClusterTime {
  uint32_t t = 0;
  uint32_t i = 0;
};

// What the trigger keeps of an event besides its bytes.
struct Meta {
  std::string operation_type;
  ClusterTime cluster_time;
  int64_t wall_ms = 0;  // wallTime, else clusterTime's seconds; 0 if neither
};
Meta meta_of(const bson_t* event);

}  // namespace hydrant::trigger
