#include "sources/segment/webhook.hpp"

#include <bson/bson.h>

#include "codec/json_bson.hpp"
#include "codec/json_spans.hpp"
#include "codec/urlencoded.hpp"
#include "common/hmac.hpp"
#include "common/secret.hpp"

namespace hydrant::segment {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

}  // namespace

std::optional<Error> check_webhook_head(const config::Segment& cfg, const http::Request& head) {
  if (!cfg.query_secret.empty()) {
    const auto given = codec::query_param(head.query, "secret");
    if (!given) return Error{401, "missing ?secret= in the URL"};
    if (!secret_equal(*given, cfg.query_secret)) return Error{401, "wrong ?secret= in the URL"};
  }
  if (!cfg.shared_secret.empty() && !head.header("X-Signature"))
    return Error{401, "missing X-Signature header"};
  return std::nullopt;
}

std::optional<std::string_view> first_array_element(std::string_view body) {
  size_t i = skip_space(body, 0);
  if (i >= body.size() || body[i] != '[') return std::nullopt;
  i = skip_space(body, i + 1);
  if (i >= body.size() || body[i] == ']') return std::nullopt;
  const size_t end = codec::json_value_end(body, i);
  if (end == std::string_view::npos) return std::nullopt;
  const size_t next = skip_space(body, end);
  if (next >= body.size() || (body[next] != ',' && body[next] != ']')) return std::nullopt;
  return body.substr(i, end - i);
}

std::optional<Error> check_signature(const config::Segment& cfg, const http::Request& req) {
  if (cfg.shared_secret.empty()) return std::nullopt;
  const std::string* header = req.header("X-Signature");
  if (!header) return Error{401, "missing X-Signature header"};
  std::string_view signed_bytes = req.body;
  const size_t first = skip_space(req.body, 0);
  if (first < req.body.size() && req.body[first] == '[') {
    const auto element = first_array_element(req.body);
    if (!element) return Error{401, "X-Signature does not match: the body is an array without a first element"};
    signed_bytes = *element;
  }
  std::string given = ascii_lower(*header);
  while (!given.empty() && is_space(given.back())) given.pop_back();
  const std::string expected = hex_lower(hmac(HmacAlgorithm::sha1, cfg.shared_secret, signed_bytes));
  if (!secret_equal(given, expected))
    return Error{401, "X-Signature does not match the HMAC-SHA1 of the body under shared_secret"};
  return std::nullopt;
}

std::optional<Error> decode_webhook(const std::string& body, int64_t received_at_ms, Parsed& parsed, Batch& batch,
                                    std::vector<std::string>& ids) {
  using namespace simdjson;
  static const codec::Conversions kNone;
  const codec::JsonToBson converter(kNone);
  dom::element root;
  if (const auto rc = parsed.parser->parse(body.data(), body.size(), false).get(root); rc != SUCCESS)
    return Error{400, std::string("body is not valid JSON: ") + error_message(rc)};
  if (dom::array arr; root.get(arr) == SUCCESS) {
    for (dom::element el : arr) parsed.events.push_back(el);
    parsed.set_spans(codec::json_array_elements(body));
  } else if (root.is_object()) {
    parsed.events.push_back(root);
  } else {
    return Error{400, "body must be a JSON object or an array of objects"};
  }
  batch.request_id = body_id(body);
  batch.records = parsed.events.size();
  ids.assign(parsed.events.size(), {});
  for (uint32_t i = 0; i < parsed.events.size(); ++i) {
    dom::object obj;
    if (parsed.events[i].get(obj) != SUCCESS) {
      batch.rejects.push_back({i, "event " + std::to_string(i) + " is not a JSON object", parsed.raw(i)});
      continue;
    }
    std::string_view message_id;
    std::string id = obj["messageId"].get(message_id) == SUCCESS && !message_id.empty()
                         ? std::string(message_id)
                         : "sha256:" + sha256_hex(parsed.raw(i));
    auto doc = codec::make_bson();
    bson_append_utf8(doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    std::string error;
    bool ok = true;
    for (const auto field : obj) {
      if (field.key == "_id" || field.key == "receivedAt") continue;
      if (!converter.append_value(doc.get(), field.key, field.value, nullptr, 1, error)) {
        ok = false;
        break;
      }
    }
    if (!ok) {
      batch.rejects.push_back({i, error, parsed.raw(i)});
      continue;
    }
    BSON_APPEND_DATE_TIME(doc.get(), "receivedAt", received_at_ms);
    batch.docs.push_back({std::move(doc), i});
    ids[i] = std::move(id);
  }
  return std::nullopt;
}

}  // namespace hydrant::segment
