#include "sources/segment/events.hpp"

#include "common/hmac.hpp"
#include "codec/json_text.hpp"

namespace hydrant::segment {

std::string Parsed::raw(uint32_t i) const {
  if (i >= events.size()) return {};
  return simdjson::minify(events[i]);
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
