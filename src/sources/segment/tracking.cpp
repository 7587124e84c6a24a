#include "sources/segment/tracking.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>

#include "codec/base64.hpp"
#include "codec/datetime.hpp"
#include "codec/json_spans.hpp"
#include "common/uuid.hpp"
#include "common/secret.hpp"

namespace hydrant::segment {

namespace {

using namespace simdjson;

const char* type_name(Call c) {
  switch (c) {
    case Call::track: return "track";
    case Call::identify: return "identify";
    case Call::page: return "page";
    case Call::screen: return "screen";
    case Call::group: return "group";
    case Call::alias: return "alias";
    case Call::batch: return "batch";
  }
  return "";
}

std::optional<Call> call_from_type(std::string_view t) {
  for (Call c : {Call::track, Call::identify, Call::page, Call::screen, Call::group, Call::alias})
    if (t == type_name(c)) return c;
  return std::nullopt;
}

// A field that is there and not null.
std::optional<dom::element> field(dom::object obj, std::string_view key) {
  dom::element el;
  if (obj[key].get(el) != SUCCESS || el.is_null()) return std::nullopt;
  return el;
}

// An identifier: a non-empty string or a number.
bool has_id(dom::object obj, std::string_view key, std::optional<std::string>& error) {
  const auto el = field(obj, key);
  if (!el) return false;
  if (el->is_number()) return true;
  std::string_view s;
  if (el->get(s) != SUCCESS) {
    error = std::string(key) + " must be a string";
    return false;
  }
  return !s.empty();
}

// An ISO-8601 date-time field: nullopt when absent; an error when it is not a date-time.
std::optional<int64_t> date_field(dom::object obj, std::string_view key, std::optional<std::string>& error) {
  const auto el = field(obj, key);
  if (!el) return std::nullopt;
  std::string_view s;
  std::optional<int64_t> ms;
  if (el->get(s) == SUCCESS) ms = codec::parse_iso8601_ms(s);
  if (!ms) error = std::string(key) + " must be an ISO-8601 date-time string";
  return ms;
}

constexpr std::string_view kOwnFields[] = {"_id",     "type",       "messageId",         "writeKey",
                                           "sentAt",  "receivedAt", "originalTimestamp", "timestamp",
                                           "context", "integrations"};

bool own_field(std::string_view key) {
  for (auto k : kOwnFields)
    if (k == key) return true;
  return false;
}

}  // namespace

std::optional<Call> route(std::string_view p) {
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (!p.empty() && p.back() == '/') p.remove_suffix(1);
  if (p == "track" || p == "t") return Call::track;
  if (p == "identify" || p == "i") return Call::identify;
  if (p == "page" || p == "p") return Call::page;
  if (p == "screen" || p == "s") return Call::screen;
  if (p == "group" || p == "g") return Call::group;
  if (p == "alias" || p == "a") return Call::alias;
  if (p == "batch" || p == "b" || p == "import") return Call::batch;
  return std::nullopt;
}

std::optional<Error> check_header_key(const config::Segment& cfg, const http::Request& head, bool& found) {
  found = cfg.write_keys.empty();
  auto check = [&](std::string_view key) -> std::optional<Error> {
    if (!cfg.write_keys.empty() && !secret_matches_any(key, cfg.write_keys)) return Error{401, "unknown write key"};
    found = true;
    return std::nullopt;
  };
  if (const std::string* auth = head.header("Authorization")) {
    std::string_view v = *auth;
    if (v.size() > 6 && http::iequals(v.substr(0, 6), "Basic ")) {
      std::string decoded;
      v.remove_prefix(6);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (!codec::base64_decode(v, decoded)) return Error{401, "Authorization: Basic credentials are not base64"};
      const size_t colon = decoded.find(':');
      if (auto e = check(std::string_view(decoded).substr(0, colon))) return e;
    }
  }
  if (const std::string* key = head.header("X-Write-Key"))
    if (auto e = check(*key)) return e;
  return std::nullopt;
}

struct TrackingDecoder::Shared {
  std::optional<dom::object> context;
  std::optional<dom::object> integrations;
  std::optional<int64_t> sent_at;
};

TrackingDecoder::TrackingDecoder(const config::Segment& cfg) : cfg_(cfg), converter_(none_) {}

std::optional<Error> TrackingDecoder::decode(Call call, const std::string& body, bool key_found,
                                             int64_t received_at_ms, Parsed& parsed, Batch& batch) const {
  if (call != Call::batch && body.size() > cfg_.max_event)
    return Error{400, "event is larger than max_event (" + std::to_string(cfg_.max_event) + " bytes)"};
  dom::element root_el;
  if (const auto rc = parsed.parser->parse(body.data(), body.size(), false).get(root_el); rc != SUCCESS)
    return Error{400, std::string("body is not valid JSON: ") + error_message(rc)};
  dom::object root;
  if (root_el.get(root) != SUCCESS) return Error{400, "body must be a JSON object"};

  if (!key_found) {
    std::string_view key;
    if (root["writeKey"].get(key) != SUCCESS || key.empty())
      return Error{401, "missing write key: send it as the HTTP Basic username, an X-Write-Key header or the "
                        "body's writeKey"};
    if (!secret_matches_any(key, cfg_.write_keys)) return Error{401, "unknown write key"};
  }
  batch.request_id = body_id(body);

  if (call != Call::batch) {
    batch.records = 1;
    parsed.events.push_back(root_el);
    auto doc = codec::make_bson();
    if (auto error = normalize(root, call, Shared{}, received_at_ms, doc.get())) return Error{400, *error};
    batch.docs.push_back({std::move(doc), 0});
    return std::nullopt;
  }

  dom::array events;
  const auto list = field(root, "batch");
  if (!list || list->get(events) != SUCCESS) return Error{400, "batch must be an array of events"};
  if (events.size() > cfg_.max_batch_events)
    return Error{400, "batch has " + std::to_string(events.size()) + " events; the limit is " +
                          std::to_string(cfg_.max_batch_events) + " (max_batch_events)"};
  Shared shared;
  std::optional<std::string> error;
  for (const char* key : {"context", "integrations"}) {
    if (const auto el = field(root, key)) {
      dom::object obj;
      if (el->get(obj) != SUCCESS) return Error{400, std::string(key) + " must be an object"};
      (std::string_view(key) == "context" ? shared.context : shared.integrations) = obj;
    }
  }
  shared.sent_at = date_field(root, "sentAt", error);
  if (error) return Error{400, *error};

  batch.records = events.size();
  for (dom::element el : events) parsed.events.push_back(el);
  if (const auto list_text = codec::json_member(body, "batch")) parsed.set_spans(codec::json_array_elements(*list_text));
  batch.docs.reserve(parsed.events.size());
  for (uint32_t i = 0; i < parsed.events.size(); ++i) {
    const std::string where = "batch[" + std::to_string(i) + "]: ";
    dom::object event;
    if (parsed.events[i].get(event) != SUCCESS) {
      batch.rejects.push_back({i, where + "an event must be a JSON object", parsed.raw(i)});
      continue;
    }
    // The event's bytes are copied only for a reject; its size comes from its span.
    const size_t size = i < parsed.spans.size() ? parsed.spans[i].size() : parsed.raw(i).size();
    if (size > cfg_.max_event) {
      batch.rejects.push_back(
          {i, where + "event is larger than max_event (" + std::to_string(cfg_.max_event) + " bytes)", parsed.raw(i)});
      continue;
    }
    auto doc = codec::make_bson(size + 64);
    if (auto e = normalize(event, std::nullopt, shared, received_at_ms, doc.get())) {
      batch.rejects.push_back({i, where + *e, parsed.raw(i)});
      continue;
    }
    batch.docs.push_back({std::move(doc), i});
  }
  return std::nullopt;
}

std::optional<std::string> TrackingDecoder::normalize(dom::object ev, std::optional<Call> call, const Shared& shared,
                                                      int64_t received_at_ms, bson_t* out) const {
  std::optional<std::string> error;
  if (!call) {
    std::string_view t;
    if (const auto el = field(ev, "type"); !el || el->get(t) != SUCCESS) return "type is required";
    call = call_from_type(t);
    if (!call) return "type must be one of track, identify, page, screen, group, alias";
  }
  const bool user = has_id(ev, "userId", error);
  if (error) return error;
  const bool anonymous = has_id(ev, "anonymousId", error);
  if (error) return error;
  if (!user && !anonymous) return "userId or anonymousId is required";
  if (*call == Call::track) {
    std::string_view name;
    if (const auto el = field(ev, "event"); !el || el->get(name) != SUCCESS || name.empty())
      return "event is required for track (a non-empty string)";
  }
  if (*call == Call::group && !has_id(ev, "groupId", error)) {
    if (!error) error = "groupId is required for group";
    return error;
  }
  if (*call == Call::alias && !has_id(ev, "previousId", error)) {
    if (!error) error = "previousId is required for alias";
    return error;
  }
  for (const char* key : {"properties", "traits", "context", "integrations"})
    if (const auto el = field(ev, key); el && !el->is_object()) return std::string(key) + " must be an object";
  const auto timestamp = date_field(ev, "timestamp", error);
  if (error) return error;
  const auto original = date_field(ev, "originalTimestamp", error);
  if (error) return error;
  auto sent_at = date_field(ev, "sentAt", error);
  if (error) return error;
  if (!sent_at) sent_at = shared.sent_at;

  std::string message_id;
  if (const auto el = field(ev, "messageId")) {
    std::string_view s;
    if (el->get(s) != SUCCESS || s.empty()) return "messageId must be a non-empty string";
    message_id = s;
  } else {
    message_id = uuid4();
  }

  bson_append_utf8(out, "_id", 3, message_id.data(), static_cast<int>(message_id.size()));
  const char* type = type_name(*call);
  bson_append_utf8(out, "type", 4, type, -1);
  bson_append_utf8(out, "messageId", 9, message_id.data(), static_cast<int>(message_id.size()));
  std::string conv_error;
  for (const auto f : ev) {
    if (own_field(f.key)) continue;
    if (!converter_.append_value(out, f.key, f.value, nullptr, 1, conv_error)) return conv_error;
  }
  // A batch's context and integrations apply to each event; the event's own keys win.
  auto merged = [&](const char* key, const std::optional<dom::object>& top) -> bool {
    dom::object own;
    const auto el = field(ev, key);
    const bool has_own = el && el->get(own) == SUCCESS;
    if (!has_own && !top) return true;
    bson_t child;
    bson_append_document_begin(out, key, -1, &child);
    bool ok = true;
    if (has_own)
      for (const auto f : own) ok = ok && converter_.append_value(&child, f.key, f.value, nullptr, 2, conv_error);
    if (top)
      for (const auto f : *top) {
        dom::element unused;
        if (has_own && own[f.key].get(unused) == SUCCESS) continue;
        ok = ok && converter_.append_value(&child, f.key, f.value, nullptr, 2, conv_error);
      }
    bson_append_document_end(out, &child);
    return ok;
  };
  if (!merged("context", shared.context) || !merged("integrations", shared.integrations)) return conv_error;

  // Segment's clock-skew correction: the device's clock may be wrong, but the
  // time between the call and its sending is right.
  const std::optional<int64_t> client = timestamp ? timestamp : original;
  int64_t corrected = received_at_ms;
  if (client) corrected = sent_at ? received_at_ms - (*sent_at - *client) : *client;
  BSON_APPEND_DATE_TIME(out, "timestamp", corrected);
  if (client) BSON_APPEND_DATE_TIME(out, "originalTimestamp", *client);
  if (sent_at) BSON_APPEND_DATE_TIME(out, "sentAt", *sent_at);
  BSON_APPEND_DATE_TIME(out, "receivedAt", received_at_ms);
  return std::nullopt;
}

}  // namespace hydrant::segment
