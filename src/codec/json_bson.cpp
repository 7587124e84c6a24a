#include "codec/json_bson.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "codec/base64.hpp"
#include "codec/datetime.hpp"

namespace hydrant::codec {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

Conversions::Conversions(const std::vector<std::string>& object_ids, const std::vector<std::string>& dates) {
  for (const auto& p : object_ids) add(p, Kind::object_id);
  for (const auto& p : dates) add(p, Kind::date);
}

void Conversions::add(const std::string& path, Kind kind) {
  Node* n = &root_;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    n = &n->children[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  n->kind = kind;
  n->path = path;
}

bool valid_key(std::string_view key) { return key.find('\0') == std::string_view::npos; }

namespace {

template <class T>
bool parse_int(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
  if (s == "Infinity") out = std::numeric_limits<double>::infinity();
  else if (s == "-Infinity") out = -std::numeric_limits<double>::infinity();
  else if (s == "NaN") out = std::numeric_limits<double>::quiet_NaN();
  else {
    // Only plain decimal notation, as Extended JSON writes it.
    if (s.empty() || s.find_first_not_of("0123456789+-.eE") != std::string_view::npos) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  }
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_subtype(std::string_view s, bson_subtype_t& out) {
  if (s.empty() || s.size() > 2) return false;
  int v = 0;
  for (char c : s) {
    const int h = hexval(c);
    if (h < 0) return false;
    v = v * 16 + h;
  }
  out = static_cast<bson_subtype_t>(v);
  return true;
}

bool append_binary(bson_t* out, std::string_view key, std::string_view b64, bson_subtype_t sub) {
  std::string bytes;
  if (!base64_decode(b64, bytes)) return false;
  return bson_append_binary(out, key.data(), static_cast<int>(key.size()), sub,
                            reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<uint32_t>(bytes.size()));
}

// Date from an Extended JSON $date value or a configured `dates` field.
bool date_from(element v, int64_t& ms) {
  switch (v.type()) {
    case element_type::STRING: {
      auto r = parse_iso8601_ms(v.get_string().value_unsafe());
      if (!r) return false;
      ms = *r;
      return true;
    }
    case element_type::INT64: ms = v.get_int64().value_unsafe(); return true;
    case element_type::UINT64: {
      const uint64_t u = v.get_uint64().value_unsafe();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
      ms = static_cast<int64_t>(u);
      return true;
    }
    case element_type::DOUBLE: {
      const double d = v.get_double().value_unsafe();
      if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return false;
      ms = static_cast<int64_t>(d);
      return true;
    }
    case element_type::OBJECT: {
      object o = v.get_object().value_unsafe();
      std::string_view s;
      if (o.size() == 1 && o["$numberLong"].get(s) == simdjson::SUCCESS) return parse_int(s, ms);
      return false;
    }
    default: return false;
  }
}

}  // namespace

int JsonToBson::append_extended(bson_t* out, std::string_view key, object obj, std::string& error) const {
  const size_t n = obj.size();
  if (n == 0 || n > 2) return 0;
  auto first = *obj.begin();
  const std::string_view k = first.key;
  if (k.empty() || k[0] != '$') return 0;
  const char* kp = key.data();
  const int kl = static_cast<int>(key.size());
  element v = first.value;
  auto fail = [&](const char* what) {
    error = std::string("invalid Extended JSON ") + what + " in field '" + std::string(key) + "'";
    return -1;
  };
  std::string_view s;

  if (n == 2) {
    // Legacy binary form: {"$binary": "<base64>", "$type": "<hex>"}.
    std::string_view b64, type;
    bson_subtype_t sub;
    if (obj["$binary"].get(b64) == simdjson::SUCCESS && obj["$type"].get(type) == simdjson::SUCCESS) {
      if (!parse_subtype(type, sub) || !append_binary(out, key, b64, sub)) return fail("$binary");
      return 1;
    }
    return 0;
  }
  if (k == "$oid") {
    if (v.get(s) != simdjson::SUCCESS || !bson_oid_is_valid(s.data(), s.size()) || s.size() != 24)
      return fail("$oid");
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, std::string(s).c_str());
    bson_append_oid(out, kp, kl, &oid);
    return 1;
  }
  if (k == "$date") {
    int64_t ms;
    if (!date_from(v, ms)) return fail("$date");
    bson_append_date_time(out, kp, kl, ms);
    return 1;
  }
  if (k == "$numberLong") {
    int64_t x;
    if (v.get(s) != simdjson::SUCCESS || !parse_int(s, x)) return fail("$numberLong");
    bson_append_int64(out, kp, kl, x);
    return 1;
  }
  if (k == "$numberInt") {
    int32_t x;
    if (v.get(s) != simdjson::SUCCESS || !parse_int(s, x)) return fail("$numberInt");
    bson_append_int32(out, kp, kl, x);
    return 1;
  }
  if (k == "$numberDouble") {
    double x;
    if (v.get(s) != simdjson::SUCCESS || !parse_double(s, x)) return fail("$numberDouble");
    bson_append_double(out, kp, kl, x);
    return 1;
  }
  if (k == "$numberDecimal") {
    bson_decimal128_t d;
    if (v.get(s) != simdjson::SUCCESS || !bson_decimal128_from_string_w_len(s.data(), static_cast<int>(s.size()), &d))
      return fail("$numberDecimal");
    bson_append_decimal128(out, kp, kl, &d);
    return 1;
  }
  if (k == "$binary") {
    object b;
    std::string_view b64, type;
    bson_subtype_t sub;
    if (v.get(b) != simdjson::SUCCESS || b.size() != 2 || b["base64"].get(b64) != simdjson::SUCCESS ||
        b["subType"].get(type) != simdjson::SUCCESS || !parse_subtype(type, sub) || !append_binary(out, key, b64, sub))
      return fail("$binary");
    return 1;
  }
  if (k == "$uuid") {
    std::string hex;
    if (v.get(s) != simdjson::SUCCESS) return fail("$uuid");
    if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return fail("$uuid");
    for (char c : s)
      if (c != '-') hex += c;
    if (hex.size() != 32) return fail("$uuid");
    uint8_t bytes[16];
    for (int i = 0; i < 16; ++i) {
      const int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return fail("$uuid");
      bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    bson_append_binary(out, kp, kl, BSON_SUBTYPE_UUID, bytes, 16);
    return 1;
  }
  if (k == "$timestamp") {
    object t;
    uint64_t ts, inc;
    if (v.get(t) != simdjson::SUCCESS || t.size() != 2 || t["t"].get(ts) != simdjson::SUCCESS ||
        t["i"].get(inc) != simdjson::SUCCESS || ts > UINT32_MAX || inc > UINT32_MAX)
      return fail("$timestamp");
    bson_append_timestamp(out, kp, kl, static_cast<uint32_t>(ts), static_cast<uint32_t>(inc));
    return 1;
  }
  if (k == "$regularExpression") {
    object r;
    std::string_view pat, opts;
    if (v.get(r) != simdjson::SUCCESS || r.size() != 2 || r["pattern"].get(pat) != simdjson::SUCCESS ||
        r["options"].get(opts) != simdjson::SUCCESS || !valid_key(pat) || !valid_key(opts))
      return fail("$regularExpression");
    bson_append_regex(out, kp, kl, std::string(pat).c_str(), std::string(opts).c_str());
    return 1;
  }
  if (k == "$minKey" || k == "$maxKey") {
    int64_t one;
    if (v.get(one) != simdjson::SUCCESS || one != 1) return fail(k == "$minKey" ? "$minKey" : "$maxKey");
    if (k == "$minKey") bson_append_minkey(out, kp, kl);
    else bson_append_maxkey(out, kp, kl);
    return 1;
  }
  return 0;
}

bool JsonToBson::append_converted(bson_t* out, std::string_view key, element el, const Conversions::Node& node,
                                  int depth, std::string& error) const {
  const char* kp = key.data();
  const int kl = static_cast<int>(key.size());
  if (el.is_null()) return bson_append_null(out, kp, kl);
  if (el.is_array()) {
    // Arrays are transparent: convert each element.
    if (depth > kMaxDepth) {
      error = "document nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    bson_t child;
    bson_append_array_begin(out, kp, kl, &child);
    uint32_t i = 0;
    // Bind the array first: value_unsafe() on a temporary result would dangle.
    const simdjson::dom::array items = el.get_array().value_unsafe();
    for (element item : items) {
      const char* ikey;
      char buf[16];
      const size_t len = bson_uint32_to_string(i++, &ikey, buf, sizeof buf);
      if (!append_converted(&child, {ikey, len}, item, node, depth + 1, error)) return false;
    }
    return bson_append_array_end(out, &child);
  }
  if (node.kind == Conversions::Kind::object_id) {
    std::string_view s;
    if (el.get(s) == simdjson::SUCCESS) {
      if (s.size() != 24 || !bson_oid_is_valid(s.data(), s.size())) {
        error = "field '" + node.path + "' is not a 24-hex ObjectId string";
        return false;
      }
      bson_oid_t oid;
      bson_oid_init_from_string(&oid, std::string(s).c_str());
      return bson_append_oid(out, kp, kl, &oid);
    }
    object o;
    if (el.get(o) == simdjson::SUCCESS && o.size() == 1 && (*o.begin()).key == "$oid")
      return append_extended(out, key, o, error) == 1;
    error = "field '" + node.path + "' is not a 24-hex ObjectId string";
    return false;
  }
  // Kind::date
  int64_t ms;
  object o;
  if (el.get(o) == simdjson::SUCCESS && o.size() == 1 && (*o.begin()).key == "$date")
    return append_extended(out, key, o, error) == 1;
  if (!date_from(el, ms)) {
    error = "field '" + node.path + "' is not an ISO-8601 date or epoch milliseconds";
    return false;
  }
  return bson_append_date_time(out, kp, kl, ms);
}

bool JsonToBson::append_value(bson_t* out, std::string_view key, element el, const Conversions::Node* node,
                              int depth, std::string& error) const {
  if (depth > kMaxDepth) {
    error = "document nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  if (!valid_key(key)) {
    error = "field name contains a NUL character";
    return false;
  }
  if (node && node->kind != Conversions::Kind::none) return append_converted(out, key, el, *node, depth, error);
  const char* kp = key.data();
  const int kl = static_cast<int>(key.size());
  switch (el.type()) {
    case element_type::OBJECT: {
      object o = el.get_object().value_unsafe();
      const int ext = append_extended(out, key, o, error);
      if (ext < 0) return false;
      if (ext > 0) return true;
      bson_t child;
      bson_append_document_begin(out, kp, kl, &child);
      if (!append_fields(&child, o, node, depth + 1, error, {})) return false;
      return bson_append_document_end(out, &child);
    }
    case element_type::ARRAY: {
      bson_t child;
      bson_append_array_begin(out, kp, kl, &child);
      uint32_t i = 0;
      const simdjson::dom::array items = el.get_array().value_unsafe();
      for (element item : items) {
        const char* ikey;
        char buf[16];
        const size_t len = bson_uint32_to_string(i++, &ikey, buf, sizeof buf);
        // Array elements see the same conversion node as the array itself.
        if (!append_value(&child, {ikey, len}, item, node, depth + 1, error)) return false;
      }
      return bson_append_array_end(out, &child);
    }
    case element_type::STRING: {
      const std::string_view s = el.get_string().value_unsafe();
      return bson_append_utf8(out, kp, kl, s.data(), static_cast<int>(s.size()));
    }
    case element_type::INT64: {
      const int64_t v = el.get_int64().value_unsafe();
      if (v >= INT32_MIN && v <= INT32_MAX) return bson_append_int32(out, kp, kl, static_cast<int32_t>(v));
      return bson_append_int64(out, kp, kl, v);
    }
    case element_type::UINT64:  // beyond int64: the nearest double, as JavaScript drivers do
      return bson_append_double(out, kp, kl, static_cast<double>(el.get_uint64().value_unsafe()));
    case element_type::DOUBLE: return bson_append_double(out, kp, kl, el.get_double().value_unsafe());
    case element_type::BOOL: return bson_append_bool(out, kp, kl, el.get_bool().value_unsafe());
    case element_type::NULL_VALUE: return bson_append_null(out, kp, kl);
  }
  return false;
}

bool JsonToBson::append_fields(bson_t* out, object obj, const Conversions::Node* node, int depth,
                               std::string& error, std::string_view skip_key) const {
  for (auto field : obj) {
    if (!skip_key.empty() && field.key == skip_key) continue;
    const Conversions::Node* child = node ? node->child(field.key) : nullptr;
    if (!append_value(out, field.key, field.value, child, depth, error)) {
      if (error.empty()) error = "document too large for BSON";
      return false;
    }
  }
  return true;
}

bool JsonToBson::append_object(bson_t* out, object obj, std::string& error, std::string_view skip_key) const {
  return append_fields(out, obj, conv_.root(), 1, error, skip_key);
}

}  // namespace hydrant::codec
