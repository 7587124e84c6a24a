#include "sources/firehose/protocol.hpp"

#include <cmath>

#include "codec/datetime.hpp"
#include "common/secret.hpp"

namespace hydrant::firehose {

std::optional<Error> check_head(const config::Firehose& cfg, const http::Request& req, Head& head) {
  const std::string* id = req.header("X-Amz-Firehose-Request-Id");
  if (id) head.request_id = *id;
  // Authenticate first, so nothing about the request is revealed to a stranger.
  if (!cfg.access_keys.empty()) {
    const std::string* key = req.header("X-Amz-Firehose-Access-Key");
    if (!key) return Error{401, "missing X-Amz-Firehose-Access-Key header"};
    if (!secret_matches_any(*key, cfg.access_keys)) return Error{401, "invalid X-Amz-Firehose-Access-Key"};
  }
  const std::string* version = req.header("X-Amz-Firehose-Protocol-Version");
  if (!version) return Error{400, "missing X-Amz-Firehose-Protocol-Version header"};
  if (*version != "1.0")
    return Error{400, "unsupported X-Amz-Firehose-Protocol-Version (only 1.0 is supported)"};
  if (!id || id->empty()) return Error{400, "missing X-Amz-Firehose-Request-Id header"};
  const std::string* arn = req.header("X-Amz-Firehose-Source-Arn");
  if (!arn || arn->empty()) return Error{400, "missing X-Amz-Firehose-Source-Arn header"};
  head.source_arn = *arn;

  if (const std::string* attrs = req.header("X-Amz-Firehose-Common-Attributes")) {
    simdjson::dom::parser parser;
    simdjson::dom::object root, inner;
    if (parser.parse(*attrs).get(root) != simdjson::SUCCESS ||
        root["commonAttributes"].get(inner) != simdjson::SUCCESS)
      return Error{400, "X-Amz-Firehose-Common-Attributes is not {\"commonAttributes\": {...}}"};
    for (auto field : inner) {
      std::string_view v;
      if (field.value.get(v) != simdjson::SUCCESS)
        return Error{400, "X-Amz-Firehose-Common-Attributes values must be strings"};
      head.common_attributes.emplace_back(std::string(field.key), std::string(v));
    }
  }
  return std::nullopt;
}

std::optional<Error> parse_envelope(const std::string& body, Envelope& env) {
  using namespace simdjson;
  auto fail = [](const char* detail) {
    return Error{400, std::string("body is not a Firehose request ({\"requestId\", \"timestamp\", "
                                  "\"records\": [{\"data\"}]}): ") + detail};
  };
  if (body.capacity() < body.size() + SIMDJSON_PADDING) return Error{500, "internal error: body without padding"};
  // The DOM API picks the best SIMD kernel at run time (On-Demand would be
  // fixed at compile time to the portable one). The parser owns the record
  // strings, so it lives as long as the envelope.
  env.parser = std::make_unique<dom::parser>();
  dom::object root;
  const auto rc = env.parser->parse(body.data(), body.size(), false).get(root);
  if (rc == INCORRECT_TYPE) return fail("not a JSON object");
  if (rc != SUCCESS) return fail((std::string("invalid JSON: ") + error_message(rc)).c_str());

  std::string_view id;
  const auto id_rc = root["requestId"].get(id);
  if (id_rc == NO_SUCH_FIELD) return fail("requestId is missing");
  if (id_rc != SUCCESS) return fail("requestId must be a string");
  env.request_id = id;

  dom::element ts;
  if (root["timestamp"].get(ts) != SUCCESS) return fail("timestamp is missing");
  if (ts.is_int64()) env.timestamp = ts.get_int64().value_unsafe();
  else if (ts.is_number() && std::fabs(ts.get_double().value_unsafe()) < 9.2e18)
    env.timestamp = static_cast<int64_t>(ts.get_double().value_unsafe());
  else return fail("timestamp must be a number of milliseconds");

  dom::element records_el;
  if (root["records"].get(records_el) != SUCCESS) return fail("records is missing");
  dom::array records;
  if (records_el.get(records) != SUCCESS) return fail("records must be an array");
  const size_t n = records.size();
  if (n == 0) return fail("records is empty");
  if (n > kMaxRecords) return Error{400, "more than 10000 records in one request"};
  env.data.reserve(n);
  for (dom::element rec : records) {
    dom::object obj;
    if (rec.get(obj) != SUCCESS) return fail("each record must be an object");
    dom::element data;
    if (obj["data"].get(data) != SUCCESS) return fail("a record has no data");
    std::string_view b64;
    if (data.get(b64) != SUCCESS) return fail("record data must be a string");
    env.data.push_back(b64);
  }
  return std::nullopt;
}

std::string render_body(std::string_view request_id, int64_t timestamp_ms, std::string_view error_message) {
  std::string out = "{\"requestId\":";
  append_json_string(out, request_id);
  out += ",\"timestamp\":";
  out += std::to_string(timestamp_ms);
  if (!error_message.empty()) {
    out += ",\"errorMessage\":";
    if (error_message.size() > kMaxErrorMessage) {
      // Cut on a UTF-8 character boundary.
      size_t n = kMaxErrorMessage;
      while (n > 0 && (static_cast<unsigned char>(error_message[n]) & 0xC0) == 0x80) --n;
      error_message = error_message.substr(0, n);
    }
    append_json_string(out, error_message);
  }
  out += '}';
  return out;
}

http::Response render(int status, std::string_view request_id, std::string_view error_message) {
  http::Response r;
  r.status = status;
  r.body = render_body(request_id, codec::now_ms(), error_message);
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace hydrant::firehose
