#pragma once
// Firehose records → BSON documents (or rejects), per the endpoint's `records` mode.
#include <optional>
#include <string>

#include "codec/json_bson.hpp"
#include "common/batch.hpp"
#include "config/config.hpp"
#include "sources/firehose/protocol.hpp"

namespace hydrant::firehose {

class Decoder {
 public:
  // `max_record` bounds a record's size after gunzip.
  Decoder(const config::Firehose& cfg, size_t max_record);

  Batch decode(const Envelope& env, const Head& head, int64_t received_at_ms) const;

  // The raw bytes of record `i` as stored in a reject (base64-decoded, or the
  // base64 text itself when it does not decode).
  std::string raw_record(const Envelope& env, uint32_t i) const;

 private:
  // Adds the record's documents to `batch`, or returns why it cannot be decoded.
  std::optional<std::string> decode_record(Batch& batch, uint32_t index, const std::string& bytes,
                                           const bson_t* metadata) const;
  bool decode_json(Batch& batch, uint32_t index, const std::string& bytes, const bson_t* metadata,
                   std::string& error) const;
  bool decode_cloudwatch(Batch& batch, uint32_t index, const std::string& bytes, const bson_t* metadata,
                         std::string& error) const;
  // Gives `doc` its `_id` (from the `id` field or deterministic) and metadata, and adds it.
  void finish(Batch& batch, uint32_t index, uint32_t sub, codec::BsonPtr doc, const bson_t* metadata) const;

  const config::Firehose& cfg_;
  size_t max_record_;
  codec::Conversions conversions_;
  codec::JsonToBson converter_;
};

}  // namespace hydrant::firehose
