#include "sources/segment/events.hpp"

#include "common/hmac.hpp"
#include "codec/json_text.hpp"

namespace hydrant::segment {

std::string Parsed::raw(uint32_t i) const {
  if (i < spans.size()) return std::string(spans[i]);
  if (i >= events.size()) return {};
  return simdjson::minify(events[i]);
}

void Parsed::set_spans(const std::optional<std::vector<std::string_view>>& s) {
  if (s && s->size() == events.size()) spans = *s;
}

std::string error_json(std::string_view prefix, std::string_view message) {
  std::string out = "{";
  out += prefix;
  out += "\"error\":";
  codec::append_json_string(out, message);
  out += '}';
  return out;
}

std::string body_id(std::string_view body) { return "sha256:" + sha256_hex(body).substr(0, 32); }

}  // namespace hydrant::segment
