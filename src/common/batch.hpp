#pragma once
// What a protocol hands to the sink: documents ready to upsert (each with its
// `_id`) and the records that could not be decoded.
#include <cstdint>
#include <string>
#include <vector>

#include "codec/bson_ptr.hpp"

namespace hydrant {

struct Document {
  codec::BsonPtr doc;  // carries `_id`
  uint32_t record;     // position of the record it came from
};

struct Reject {
  uint32_t record;
  std::string reason;
  std::string data;  // raw bytes of the record
};

struct Batch {
  std::string request_id;
  std::vector<Document> docs;
  std::vector<Reject> rejects;
  uint64_t records = 0;  // records in the request
  uint64_t dropped = 0;  // records acknowledged without a document (e.g. CONTROL_MESSAGE)
};

}  // namespace hydrant
