#include "sources/webhook/webhook.hpp"

#include <bson/bson.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>

#include "codec/base64.hpp"
#include "codec/json_bson.hpp"
#include "codec/json_spans.hpp"
#include "codec/json_text.hpp"
#include "codec/urlencoded.hpp"
#include "common/hmac.hpp"
#include "common/secret.hpp"

namespace hydrant::webhook {

namespace {

using V = config::Webhook::Verify;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  s = trim(s);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

HmacAlgorithm algorithm(const config::Webhook& cfg) {
  switch (cfg.algorithm) {
    case config::Webhook::Algorithm::sha1: return HmacAlgorithm::sha1;
    case config::Webhook::Algorithm::sha512: return HmacAlgorithm::sha512;
    case config::Webhook::Algorithm::sha256: break;
  }
  return HmacAlgorithm::sha256;
}

// The signature header to read: App Services' legacy name when the current one is absent.
const std::string* signature_header(const config::Webhook& cfg, const http::Request& req, std::string& name) {
  name = cfg.signature_header;
  const std::string* v = req.header(name);
  if (!v && cfg.verify == V::app_services) {
    name = "X-Hook-Signature";
    v = req.header(name);
  }
  return v;
}

// Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]
struct StripeHeader {
  std::optional<int64_t> t;
  std::vector<std::string_view> v1;
};

StripeHeader parse_stripe(std::string_view h) {
  StripeHeader out;
  while (!h.empty()) {
    const size_t comma = h.find(',');
    const std::string_view part = trim(h.substr(0, comma));
    h = comma == std::string_view::npos ? std::string_view() : h.substr(comma + 1);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view k = part.substr(0, eq), v = part.substr(eq + 1);
    if (k == "t") out.t = parse_int(v);
    else if (k == "v1") out.v1.push_back(v);
  }
  return out;
}

std::optional<Error> stale(int64_t ts, int64_t now_s, int64_t tolerance, const char* what) {
  if (ts < now_s - tolerance || ts > now_s + tolerance)
    return Error{401, std::string(what) + " is more than " + std::to_string(tolerance) +
                          " s from now: a replay or a wrong clock"};
  return std::nullopt;
}

std::optional<Error> check_query_secret(const config::Webhook& cfg, const http::Request& req) {
  const auto given = codec::query_param(req.query, "secret");
  if (!given) return Error{401, "missing ?secret= in the URL"};
  if (!secret_equal(*given, cfg.secret)) return Error{401, "wrong ?secret= in the URL"};
  return std::nullopt;
}

bool is_form(const http::Request& req) {
  const std::string* ct = req.header("Content-Type");
  if (!ct) return false;
  const std::string v = ascii_lower(*ct);
  return v.rfind("application/x-www-form-urlencoded", 0) == 0;
}

}  // namespace

std::optional<Error> check_head(const config::Webhook& cfg, const http::Request& head, int64_t now_s) {
  switch (cfg.verify) {
    case V::none: return std::nullopt;
    case V::query_secret: return check_query_secret(cfg, head);
    case V::stripe: {
      const std::string* h = head.header("Stripe-Signature");
      if (!h) return Error{401, "missing Stripe-Signature header"};
      const auto parsed = parse_stripe(*h);
      if (!parsed.t || parsed.v1.empty()) return Error{401, "Stripe-Signature has no t= timestamp or no v1= signature"};
      return stale(*parsed.t, now_s, cfg.tolerance_s, "the Stripe-Signature timestamp");
    }
    case V::slack: {
      const std::string* ts = head.header("X-Slack-Request-Timestamp");
      if (!ts) return Error{401, "missing X-Slack-Request-Timestamp header"};
      const auto t = parse_int(*ts);
      if (!t) return Error{401, "X-Slack-Request-Timestamp is not a number"};
      if (!head.header("X-Slack-Signature")) return Error{401, "missing X-Slack-Signature header"};
      return stale(*t, now_s, cfg.tolerance_s, "X-Slack-Request-Timestamp");
    }
    case V::hmac:
    case V::github:
    case V::shopify:
    case V::app_services: {
      std::string name;
      if (!signature_header(cfg, head, name)) return Error{401, "missing " + cfg.signature_header + " header"};
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Error> verify(const config::Webhook& cfg, const http::Request& req, int64_t now_s) {
  if (auto e = check_head(cfg, req, now_s)) return e;
  const std::string_view body = req.body;
  switch (cfg.verify) {
    case V::none:
    case V::query_secret: return std::nullopt;
    case V::stripe: {
      const auto h = parse_stripe(*req.header("Stripe-Signature"));
      const std::string signed_payload = std::to_string(*h.t) + "." + std::string(body);
      const std::string expected = hex_lower(hmac(HmacAlgorithm::sha256, cfg.secret, signed_payload));
      bool ok = false;
      for (auto v : h.v1) ok |= secret_equal(ascii_lower(v), expected);  // every one, no early exit
      if (!ok) return Error{401, "no v1 signature in Stripe-Signature matches the body under the secret"};
      return std::nullopt;
    }
    case V::slack: {
      const std::string base = "v0:" + std::string(trim(*req.header("X-Slack-Request-Timestamp"))) + ":" +
                               std::string(body);
      const std::string expected = "v0=" + hex_lower(hmac(HmacAlgorithm::sha256, cfg.secret, base));
      if (!secret_equal(ascii_lower(trim(*req.header("X-Slack-Signature"))), expected))
        return Error{401, "X-Slack-Signature does not match the body under the secret"};
      return std::nullopt;
    }
    case V::hmac:
    case V::github:
    case V::shopify:
    case V::app_services: {
      std::string name;
      const std::string* h = signature_header(cfg, req, name);
      std::string_view given = trim(*h);
      const std::string mac = hmac(algorithm(cfg), cfg.secret, body);
      std::string expected;
      std::string candidate;
      if (cfg.encoding == config::Webhook::Encoding::hex) {
        expected = cfg.prefix + hex_lower(mac);
        // The prefix ("sha256=") and the hex digits in either case.
        candidate = ascii_lower(given);
        expected = ascii_lower(expected);
      } else {
        expected = cfg.prefix + codec::base64_encode(mac);
        candidate = std::string(given);
      }
      if (!secret_equal(candidate, expected))
        return Error{401, name + " does not match the body under the secret"};
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Error> decode(const config::Webhook& cfg, const http::Request& req, int64_t received_at_ms,
                            Decoded& out) {
  using namespace simdjson;
  static const codec::Conversions kNone;
  const codec::JsonToBson converter(kNone);
  Batch& batch = out.batch;
  batch.request_id = segment::body_id(req.body);

  // Fields every document gets, after its own.
  auto extras = [&](bson_t* doc) {
    if (!cfg.headers.empty()) {
      bson_t h;
      bson_append_document_begin(doc, "_headers", 8, &h);
      for (const auto& name : cfg.headers)
        if (const std::string* v = req.header(name))
          if (simdjson::validate_utf8(v->data(), v->size()))
            bson_append_utf8(&h, name.c_str(), static_cast<int>(name.size()), v->data(), static_cast<int>(v->size()));
      bson_append_document_end(doc, &h);
    }
    BSON_APPEND_DATE_TIME(doc, "_receivedAt", received_at_ms);
  };
  const bool header_id = cfg.id.rfind("header:", 0) == 0;
  const std::string* header_value = header_id ? req.header(cfg.id.substr(7)) : nullptr;
  // `_id` first: the `id` value, or (configured but absent) a hash of the record's
  // bytes so a retry still lands once, or (not configured) a new ObjectId.
  auto with_id = [&](codec::BsonPtr doc, uint32_t index, size_t count, std::string_view raw) {
    auto final_doc = codec::make_bson(doc->len + 64);
    bson_iter_t it, found;
    if (cfg.id.empty()) {
      bson_oid_t oid;
      bson_oid_init(&oid, nullptr);
      BSON_APPEND_OID(final_doc.get(), "_id", &oid);
    } else if (header_id && header_value) {
      const std::string id = count > 1 ? *header_value + ":" + std::to_string(index) : *header_value;
      bson_append_utf8(final_doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    } else if (!header_id && bson_iter_init(&it, doc.get()) && bson_iter_find_descendant(&it, cfg.id.c_str(), &found)) {
      bson_append_iter(final_doc.get(), "_id", 3, &found);
    } else {
      const std::string id = "sha256:" + sha256_hex(raw);
      bson_append_utf8(final_doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    }
    bson_copy_to_excluding_noinit(doc.get(), final_doc.get(), "_id", "_headers", "_receivedAt", nullptr);
    extras(final_doc.get());
    batch.docs.push_back({std::move(final_doc), index});
  };

  if (is_form(req)) {
    const auto fields = codec::parse_urlencoded(req.body);
    if (!fields) return Error{400, "the form body has a malformed % escape"};
    auto doc = codec::make_bson();
    // A repeated field becomes an array of its values.
    std::vector<std::pair<std::string, std::vector<std::string>>> grouped;
    for (const auto& [k, v] : *fields) {
      if (!codec::valid_key(k) || !simdjson::validate_utf8(k.data(), k.size()) ||
          !simdjson::validate_utf8(v.data(), v.size()))
        return Error{400, "the form body has a field that is not UTF-8 text"};
      auto g = std::find_if(grouped.begin(), grouped.end(), [&](const auto& p) { return p.first == k; });
      if (g == grouped.end()) grouped.push_back({k, {v}});
      else g->second.push_back(v);
    }
    for (const auto& [k, values] : grouped) {
      if (values.size() == 1) {
        bson_append_utf8(doc.get(), k.data(), static_cast<int>(k.size()), values[0].data(),
                         static_cast<int>(values[0].size()));
        continue;
      }
      bson_t arr;
      bson_append_array_begin(doc.get(), k.data(), static_cast<int>(k.size()), &arr);
      for (size_t i = 0; i < values.size(); ++i) {
        const std::string idx = std::to_string(i);
        bson_append_utf8(&arr, idx.c_str(), -1, values[i].data(), static_cast<int>(values[i].size()));
      }
      bson_append_array_end(doc.get(), &arr);
    }
    batch.records = 1;
    out.raw_body = req.body;
    with_id(std::move(doc), 0, 1, req.body);
    return std::nullopt;
  }

  const size_t first = req.body.find_first_not_of(" \t\r\n");
  dom::element root;
  if (first != std::string::npos && (req.body[first] == '{' || req.body[first] == '[') &&
      out.parsed.parser->parse(req.body.data(), req.body.size(), false).get(root) == SUCCESS) {
    if (dom::array arr; root.get(arr) == SUCCESS) {
      for (dom::element el : arr) out.parsed.events.push_back(el);
      out.parsed.set_spans(codec::json_array_elements(req.body));
    } else {
      out.parsed.events.push_back(root);
    }
    const size_t n = out.parsed.events.size();
    batch.records = n;
    const bool is_array = root.is_array();
    for (uint32_t i = 0; i < n; ++i) {
      dom::object obj;
      const std::string raw = is_array ? out.parsed.raw(i) : std::string();
      const std::string_view raw_bytes = is_array ? std::string_view(raw) : std::string_view(req.body);
      if (out.parsed.events[i].get(obj) != SUCCESS) {
        batch.rejects.push_back({i, "element " + std::to_string(i) + " is not a JSON object", raw});
        continue;
      }
      auto doc = codec::make_bson(raw_bytes.size() + 64);
      std::string error;
      if (!converter.append_object(doc.get(), obj, error)) {
        batch.rejects.push_back({i, error, std::string(raw_bytes)});
        continue;
      }
      with_id(std::move(doc), i, is_array ? n : 1, raw_bytes);
    }
    if (!is_array) out.raw_body = req.body;
    return std::nullopt;
  }

  // Anything else is kept as it came: text when it is UTF-8, bytes otherwise.
  auto doc = codec::make_bson(req.body.size() + 64);
  if (simdjson::validate_utf8(req.body.data(), req.body.size()))
    bson_append_utf8(doc.get(), "data", 4, req.body.data(), static_cast<int>(req.body.size()));
  else
    bson_append_binary(doc.get(), "data", 4, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(req.body.data()),
                       static_cast<uint32_t>(req.body.size()));
  batch.records = 1;
  out.raw_body = req.body;
  with_id(std::move(doc), 0, 1, req.body);
  return std::nullopt;
}

std::string id_json(const bson_t* doc) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, "_id")) return "null";
  std::string out;
  switch (bson_iter_type(&it)) {
    case BSON_TYPE_UTF8: {
      uint32_t len = 0;
      const char* s = bson_iter_utf8(&it, &len);
      codec::append_json_string(out, {s, len});
      return out;
    }
    case BSON_TYPE_OID: {
      char hex[25];
      bson_oid_to_string(bson_iter_oid(&it), hex);
      codec::append_json_string(out, hex);
      return out;
    }
    default: {
      // Numbers and the rest: their relaxed Extended JSON.
      bson_t one;
      bson_init(&one);
      bson_append_iter(&one, "v", 1, &it);
      size_t len = 0;
      char* json = bson_as_relaxed_extended_json(&one, &len);
      bson_destroy(&one);
      std::string_view j(json, len);
      const size_t colon = j.find(':');
      const size_t end = j.rfind('}');
      out = std::string(trim(j.substr(colon + 1, end - colon - 1)));
      bson_free(json);
      return out;
    }
  }
}

}  // namespace hydrant::webhook
