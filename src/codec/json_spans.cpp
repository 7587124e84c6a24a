#include "codec/json_spans.hpp"

namespace hydrant::codec {

namespace {

constexpr size_t npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// Past the string that starts at s[i] == '"'.
size_t string_end(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return npos;
}

// Past the value that starts at s[i].
size_t value_end(std::string_view s, size_t i) {
  if (i >= s.size()) return npos;
  if (s[i] == '"') return string_end(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '"') {
        i = string_end(s, i);
        if (i == npos) return npos;
        --i;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return npos;
  }
  const size_t start = i;
  while (i < s.size() && !is_space(s[i]) && s[i] != ',' && s[i] != ']' && s[i] != '}') ++i;
  return i == start ? npos : i;
}

}  // namespace

size_t json_value_end(std::string_view text, size_t i) { return value_end(text, i); }

std::optional<std::vector<std::string_view>> json_array_elements(std::string_view s) {
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '[') return std::nullopt;
  std::vector<std::string_view> out;
  i = skip_space(s, i + 1);
  if (i < s.size() && s[i] == ']') return out;
  for (;;) {
    const size_t end = value_end(s, i);
    if (end == npos) return std::nullopt;
    out.push_back(s.substr(i, end - i));
    i = skip_space(s, end);
    if (i >= s.size()) return std::nullopt;
    if (s[i] == ']') return out;
    if (s[i] != ',') return std::nullopt;
    i = skip_space(s, i + 1);
  }
}

std::optional<std::string_view> json_member(std::string_view s, std::string_view key) {
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  i = skip_space(s, i + 1);
  while (i < s.size() && s[i] == '"') {
    const size_t key_end = string_end(s, i);
    if (key_end == npos) return std::nullopt;
    const std::string_view name = s.substr(i + 1, key_end - i - 2);
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    i = skip_space(s, i + 1);
    const size_t end = value_end(s, i);
    if (end == npos) return std::nullopt;
    if (name == key) return s.substr(i, end - i);
    i = skip_space(s, end);
    if (i >= s.size() || s[i] != ',') return std::nullopt;
    i = skip_space(s, i + 1);
  }
  return std::nullopt;
}

}  // namespace hydrant::codec
