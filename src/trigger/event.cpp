#include "trigger/event.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "codec/base64.hpp"
#include "codec/json_text.hpp"

namespace hydrant::trigger {
namespace {

void append_value(std::string& out, const bson_iter_t* it);

void append_iso_date(std::string& out, int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  const int64_t frac = ms - secs * 1000;
  const time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac));
  out += buf;
}

// The shortest text that reads back as the same double, as JavaScript writes numbers.
void append_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (d == 0) {  // JSON.stringify(-0) is "0"
    out += '0';
    return;
  }
  // The shortest digits that read back as d, placed by ECMAScript's Number::toString
  // ("1000000", "0.000001", "1.5e-7", "1e+21"), except that integers of 20 digits or
  // more stay "1e+20": JSON parsers with 64-bit integers (simdjson, so hydrant's own
  // [[firehose]]) refuse them written out.
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));  // [-]D[.DDD]e(+|-)XX
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  const size_t e = s.find('e');
  std::string digits(1, s[0]);
  if (e > 1) digits.append(s.substr(2, e - 2));
  int exp = 0;
  const std::string_view es = s.substr(e + (s[e + 1] == '+' ? 2 : 1));
  std::from_chars(es.data(), es.data() + es.size(), exp);
  const int k = static_cast<int>(digits.size()), n = exp + 1;
  if (k <= n && n <= 19) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n < k) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += n - 1 < 0 ? "e-" : "e+";
    out += std::to_string(n - 1 < 0 ? 1 - n : n - 1);
  }
}

// Relaxed Extended JSON of one value, through libbson's writer on {"v": value}.
void append_relaxed(std::string& out, const bson_iter_t* it) {
  bson_t tmp;
  bson_init(&tmp);
  bson_append_iter(&tmp, "v", 1, it);
  size_t len = 0;
  char* json = bson_as_relaxed_extended_json(&tmp, &len);
  bson_destroy(&tmp);
  if (!json) {
    out += "null";
    return;
  }
  // {"v" : VALUE }
  std::string_view s(json, len);
  const size_t colon = s.find(':');
  std::string_view v = s.substr(colon + 1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == '}' || v.back() == ' ')) {
    const bool brace = v.back() == '}';
    v.remove_suffix(1);
    if (brace) break;
  }
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  out += v;
  bson_free(json);
}

void append_container(std::string& out, const bson_iter_t* it, bool array) {
  bson_iter_t child;
  out += array ? '[' : '{';
  if (bson_iter_recurse(it, &child)) {
    bool first = true;
    while (bson_iter_next(&child)) {
      if (!first) out += ',';
      first = false;
      if (!array) {
        codec::append_json_string(out, std::string_view(bson_iter_key(&child), bson_iter_key_len(&child)));
        out += ':';
      }
      append_value(out, &child);
    }
  }
  out += array ? ']' : '}';
}

void append_value(std::string& out, const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
      uint32_t len = 0;
      const char* s = bson_iter_utf8(it, &len);
      codec::append_json_string(out, std::string_view(s, len));
      break;
    }
    case BSON_TYPE_INT32: out += std::to_string(bson_iter_int32(it)); break;
    case BSON_TYPE_INT64: out += std::to_string(bson_iter_int64(it)); break;
    case BSON_TYPE_DOUBLE: append_number(out, bson_iter_double(it)); break;
    case BSON_TYPE_BOOL: out += bson_iter_bool(it) ? "true" : "false"; break;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: out += "null"; break;
    case BSON_TYPE_OID: {
      char hex[25];
      bson_oid_to_string(bson_iter_oid(it), hex);
      out += '"';
      out += hex;
      out += '"';
      break;
    }
    case BSON_TYPE_DATE_TIME: append_iso_date(out, bson_iter_date_time(it)); break;
    case BSON_TYPE_DOCUMENT: append_container(out, it, false); break;
    case BSON_TYPE_ARRAY: append_container(out, it, true); break;
    case BSON_TYPE_BINARY: {
      bson_subtype_t sub;
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_binary(it, &sub, &len, &data);
      out += '"';
      out += codec::base64_encode(std::string_view(reinterpret_cast<const char*>(data), len));
      out += '"';
      break;
    }
    default: append_relaxed(out, it); break;
  }
}

bool find(const bson_t* doc, const std::string& path, bson_iter_t& out) {
  bson_iter_t it;
  return bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path.c_str(), &out);
}

}  // namespace

void append_plain_json(std::string& out, const bson_t* doc) {
  bson_iter_t it;
  out += '{';
  if (bson_iter_init(&it, doc)) {
    bool first = true;
    while (bson_iter_next(&it)) {
      if (!first) out += ',';
      first = false;
      codec::append_json_string(out, std::string_view(bson_iter_key(&it), bson_iter_key_len(&it)));
      out += ':';
      append_value(out, &it);
    }
  }
  out += '}';
}

Formatted format_event(const bson_t* event, config::Trigger::Format format) {
  Formatted f;
  using F = config::Trigger::Format;
  if (format != F::document) {
    size_t len = 0;
    char* json = format == F::event ? bson_as_relaxed_extended_json(event, &len) : bson_as_canonical_extended_json(event, &len);
    if (!json) {
      f.error = "the change event cannot be written as Extended JSON (invalid BSON)";
      return f;
    }
    f.data.assign(json, len);
    bson_free(json);
    return f;
  }
  bson_iter_t it;
  if (find(event, "fullDocument", it) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    bson_t doc;
    if (!bson_init_static(&doc, data, len)) {
      f.error = "fullDocument is not valid BSON";
      return f;
    }
    f.data.reserve(len + len / 2);
    append_plain_json(f.data, &doc);
    return f;
  }
  bson_iter_t op;
  const bool is_delete = find(event, "operationType", op) && BSON_ITER_HOLDS_UTF8(&op) &&
                         std::string_view(bson_iter_utf8(&op, nullptr)) == "delete";
  bson_iter_t id;
  if (is_delete && find(event, "documentKey._id", id)) {
    f.data = "{\"_id\":";
    append_value(f.data, &id);
    f.data += ",\"_deleted\":true}";
    return f;
  }
  f.error = is_delete ? "a delete event without documentKey._id"
                      : "the event has no fullDocument (the document was deleted before the lookup, or the "
                        "stream's full_document setting does not provide one)";
  return f;
}

std::optional<std::string> key_at(const bson_t* event, const std::string& path) {
  bson_iter_t it;
  if (!find(event, path, it)) return std::nullopt;
  switch (bson_iter_type(&it)) {
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: return std::nullopt;
    case BSON_TYPE_UTF8: {
      uint32_t len = 0;
      const char* s = bson_iter_utf8(&it, &len);
      return std::string(s, len);
    }
    default: {
      std::string out;
      append_value(out, &it);
      if (out.size() >= 2 && out.front() == '"' && out.back() == '"' && BSON_ITER_HOLDS_OID(&it))
        out = out.substr(1, out.size() - 2);
      return out;
    }
  }
}

Meta meta_of(const bson_t* event) {
  Meta m;
  bson_iter_t it;
  if (find(event, "operationType", it) && BSON_ITER_HOLDS_UTF8(&it)) m.operation_type = bson_iter_utf8(&it, nullptr);
  if (find(event, "clusterTime", it) && BSON_ITER_HOLDS_TIMESTAMP(&it))
    bson_iter_timestamp(&it, &m.cluster_time.t, &m.cluster_time.i);
  if (find(event, "wallTime", it) && BSON_ITER_HOLDS_DATE_TIME(&it)) m.wall_ms = bson_iter_date_time(&it);
  else m.wall_ms = static_cast<int64_t>(m.cluster_time.t) * 1000;
  return m;
}

}  // namespace hydrant::trigger
