#include "sources/firehose/decode.hpp"

#include <simdjson.h>

#include "codec/base64.hpp"
#include "codec/gzip.hpp"

namespace hydrant::firehose {

namespace {

// simdjson reads up to SIMDJSON_PADDING bytes past the end of its input.
void pad(std::string& s) {
  if (s.capacity() < s.size() + simdjson::SIMDJSON_PADDING) s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
}

std::string deterministic_id(const std::string& request_id, uint32_t index, uint32_t sub) {
  std::string id = request_id;
  id += ':';
  id += std::to_string(index);
  if (sub > 0) {
    id += ':';
    id += std::to_string(sub);
  }
  return id;
}

}  // namespace

Decoder::Decoder(const config::Firehose& cfg, size_t max_record)
    : cfg_(cfg), max_record_(max_record), conversions_(cfg.object_ids, cfg.dates), converter_(conversions_) {}

std::string Decoder::raw_record(const Envelope& env, uint32_t i) const {
  std::string out;
  if (i >= env.data.size()) return out;
  if (!codec::base64_decode(env.data[i], out)) out.assign(env.data[i]);
  return out;
}

Batch Decoder::decode(const Envelope& env, const Head& head, int64_t received_at_ms) const {
  Batch batch;
  batch.request_id = env.request_id;
  batch.records = env.data.size();
  batch.docs.reserve(env.data.size());

  codec::BsonPtr metadata;
  if (!cfg_.metadata.empty()) {
    metadata = codec::make_bson();
    BSON_APPEND_UTF8(metadata.get(), "requestId", env.request_id.c_str());
    bson_append_utf8(metadata.get(), "sourceArn", -1, head.source_arn.data(), static_cast<int>(head.source_arn.size()));
    BSON_APPEND_DATE_TIME(metadata.get(), "receivedAt", received_at_ms);
    bson_t attrs;
    BSON_APPEND_DOCUMENT_BEGIN(metadata.get(), "commonAttributes", &attrs);
    for (const auto& [k, v] : head.common_attributes)
      if (codec::valid_key(k))
        bson_append_utf8(&attrs, k.data(), static_cast<int>(k.size()), v.data(), static_cast<int>(v.size()));
    bson_append_document_end(metadata.get(), &attrs);
  }

  std::string bytes, unzipped;
  for (uint32_t i = 0; i < env.data.size(); ++i) {
    bytes.clear();
    if (!codec::base64_decode(env.data[i], bytes)) {
      batch.rejects.push_back({i, "record data is not valid base64", std::string(env.data[i])});
      continue;
    }
    if (codec::has_gzip_magic(bytes)) {
      std::string err;
      const auto st = codec::gunzip(bytes, unzipped, max_record_, &err);
      if (st != codec::InflateStatus::ok) {
        batch.rejects.push_back({i,
                                 st == codec::InflateStatus::too_large
                                     ? "record is larger than max_body after gunzip"
                                     : "record starts with the gzip magic bytes but is not valid gzip: " + err,
                                 bytes});
        continue;
      }
      pad(unzipped);
      if (auto error = decode_record(batch, i, unzipped, metadata.get())) batch.rejects.push_back({i, *error, bytes});
      continue;
    }
    pad(bytes);
    if (auto error = decode_record(batch, i, bytes, metadata.get())) batch.rejects.push_back({i, *error, bytes});
  }
  return batch;
}

std::optional<std::string> Decoder::decode_record(Batch& batch, uint32_t index, const std::string& bytes,
                                                 const bson_t* metadata) const {
  std::string error;
  bool ok = false;
  const size_t docs_before = batch.docs.size();
  switch (cfg_.records) {
    case config::RecordFormat::json: ok = decode_json(batch, index, bytes, metadata, error); break;
    case config::RecordFormat::cloudwatch_logs: ok = decode_cloudwatch(batch, index, bytes, metadata, error); break;
    case config::RecordFormat::text: {
      if (!simdjson::validate_utf8(bytes.data(), bytes.size())) {
        error = "record is not valid UTF-8 text";
        break;
      }
      auto doc = codec::make_bson();
      bson_append_utf8(doc.get(), "data", 4, bytes.data(), static_cast<int>(bytes.size()));
      finish(batch, index, 0, std::move(doc), metadata);
      ok = true;
      break;
    }
  }
  if (ok) return std::nullopt;
  // A record is stored whole or rejected whole.
  batch.docs.resize(docs_before);
  return error;
}

bool Decoder::decode_json(Batch& batch, uint32_t index, const std::string& bytes, const bson_t* metadata,
                          std::string& error) const {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto add = [&](simdjson::dom::element el, uint32_t sub) {
    simdjson::dom::object obj;
    if (el.get(obj) != simdjson::SUCCESS) {
      error = "record is JSON but not an object";
      return false;
    }
    auto doc = codec::make_bson(bytes.size() + 64);
    if (!converter_.append_object(doc.get(), obj, error, cfg_.metadata)) return false;
    finish(batch, index, sub, std::move(doc), metadata);
    return true;
  };
  const auto rc = parser.parse(bytes.data(), bytes.size(), false).get(root);
  if (rc == simdjson::SUCCESS) return add(root, 0);
  if (rc == simdjson::EMPTY) {
    error = "record is empty";
    return false;
  }
  // Perhaps several objects one after another ({...}{...} or one per line).
  thread_local simdjson::dom::parser many_parser;
  simdjson::dom::document_stream stream;
  const size_t batch_size = std::max<size_t>(bytes.size() + 1024, simdjson::dom::DEFAULT_BATCH_SIZE);
  if (many_parser.parse_many(bytes.data(), bytes.size(), batch_size).get(stream) != simdjson::SUCCESS) {
    error = std::string("record is not valid JSON: ") + simdjson::error_message(rc);
    return false;
  }
  uint32_t sub = 0;
  for (auto doc_result : stream) {
    simdjson::dom::element el;
    if (doc_result.get(el) != simdjson::SUCCESS) {
      error = std::string("record is not valid JSON: ") + simdjson::error_message(rc);
      return false;
    }
    if (!add(el, sub++)) return false;
  }
  if (sub < 2 || stream.truncated_bytes() > 0) {
    error = std::string("record is not valid JSON: ") + simdjson::error_message(rc);
    return false;
  }
  return true;
}

bool Decoder::decode_cloudwatch(Batch& batch, uint32_t index, const std::string& bytes, const bson_t* metadata,
                                std::string& error) const {
  using namespace simdjson;
  thread_local dom::parser parser;
  thread_local dom::parser message_parser;
  dom::object root;
  if (parser.parse(bytes.data(), bytes.size(), false).get(root) != SUCCESS) {
    error = "record is not a CloudWatch Logs message (invalid JSON)";
    return false;
  }
  std::string_view type;
  if (root["messageType"].get(type) != SUCCESS) {
    error = "CloudWatch Logs message without messageType";
    return false;
  }
  if (type == "CONTROL_MESSAGE") {
    ++batch.dropped;
    return true;
  }
  if (type != "DATA_MESSAGE") {
    error = "unknown CloudWatch Logs messageType " + std::string(type);
    return false;
  }
  std::string_view owner, group, stream;
  dom::array events;
  if (root["owner"].get(owner) != SUCCESS || root["logGroup"].get(group) != SUCCESS ||
      root["logStream"].get(stream) != SUCCESS || root["logEvents"].get(events) != SUCCESS) {
    error = "CloudWatch Logs DATA_MESSAGE without owner, logGroup, logStream or logEvents";
    return false;
  }
  const auto* conv = converter_.root();
  std::string padded;
  uint32_t sub = 0;
  for (dom::element ev : events) {
    std::string_view id, message;
    int64_t ts;
    if (ev["id"].get(id) != SUCCESS || ev["timestamp"].get(ts) != SUCCESS || ev["message"].get(message) != SUCCESS) {
      error = "CloudWatch Logs event without id, timestamp or message";
      return false;
    }
    auto doc = codec::make_bson();
    bson_append_utf8(doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    BSON_APPEND_DATE_TIME(doc.get(), "timestamp", ts);
    // The message is stored as JSON when it is a JSON object or array.
    size_t first = message.find_first_not_of(" \t\r\n");
    bool stored = false;
    if (first != std::string_view::npos && (message[first] == '{' || message[first] == '[')) {
      padded.assign(message);
      pad(padded);
      dom::element parsed;
      std::string conv_error;
      if (message_parser.parse(padded.data(), padded.size(), false).get(parsed) == SUCCESS) {
        if (!converter_.append_value(doc.get(), "message", parsed, conv ? conv->child("message") : nullptr, 1,
                                     conv_error)) {
          error = conv_error;
          return false;
        }
        stored = true;
      }
    }
    if (!stored) bson_append_utf8(doc.get(), "message", 7, message.data(), static_cast<int>(message.size()));
    bson_append_utf8(doc.get(), "owner", 5, owner.data(), static_cast<int>(owner.size()));
    bson_append_utf8(doc.get(), "logGroup", 8, group.data(), static_cast<int>(group.size()));
    bson_append_utf8(doc.get(), "logStream", 9, stream.data(), static_cast<int>(stream.size()));
    finish(batch, index, sub++, std::move(doc), metadata);
  }
  return true;
}

void Decoder::finish(Batch& batch, uint32_t index, uint32_t sub, codec::BsonPtr doc, const bson_t* metadata) const {
  bson_iter_t it;
  if (cfg_.id == "_id") {
    if (!bson_iter_init_find(&it, doc.get(), "_id")) {
      const std::string id = deterministic_id(batch.request_id, index, sub);
      bson_append_utf8(doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    }
  } else {
    // `_id` becomes the value at the `id` path; a record's own `_id` gives way.
    auto out = codec::make_bson();
    bson_iter_t found;
    if (bson_iter_init(&it, doc.get()) && bson_iter_find_descendant(&it, cfg_.id.c_str(), &found)) {
      bson_append_iter(out.get(), "_id", 3, &found);
    } else {
      const std::string id = deterministic_id(batch.request_id, index, sub);
      bson_append_utf8(out.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    }
    bson_copy_to_excluding_noinit(doc.get(), out.get(), "_id", nullptr);
    doc = std::move(out);
  }
  if (metadata) bson_append_document(doc.get(), cfg_.metadata.data(), static_cast<int>(cfg_.metadata.size()), metadata);
  batch.docs.push_back({std::move(doc), index});
}

}  // namespace hydrant::firehose
