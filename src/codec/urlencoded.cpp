#include "codec/urlencoded.hpp"

namespace hydrant::codec {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unescape(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_urlencoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t amp = s.find('&', i);
    if (amp == std::string_view::npos) amp = s.size();
    const std::string_view part = s.substr(i, amp - i);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      std::string k, v;
      if (!unescape(part.substr(0, eq), k)) return std::nullopt;
      if (eq != std::string_view::npos && !unescape(part.substr(eq + 1), v)) return std::nullopt;
      out.emplace_back(std::move(k), std::move(v));
    }
    i = amp + 1;
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  const auto params = parse_urlencoded(query);
  std::optional<std::string> out;
  if (params)
    for (const auto& [k, v] : *params)
      if (k == name) out = v;
  return out;
}

}  // namespace hydrant::codec
