#include "config/size.hpp"

#include <cctype>
#include <charconv>
#include <string>

namespace hydrant::config {

std::optional<uint64_t> parse_size(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  std::string unit;
  for (const char* q = p; q < s.data() + s.size(); ++q)
    if (!std::isspace(static_cast<unsigned char>(*q))) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(*q)));
  uint64_t mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "kb" || unit == "k") mult = 1000;
  else if (unit == "mb" || unit == "m") mult = 1000 * 1000;
  else if (unit == "gb" || unit == "g") mult = 1000ull * 1000 * 1000;
  else if (unit == "kib") mult = 1024;
  else if (unit == "mib") mult = 1024 * 1024;
  else if (unit == "gib") mult = 1024ull * 1024 * 1024;
  else return std::nullopt;
  if (n > UINT64_MAX / mult) return std::nullopt;
  return n * mult;
}

std::optional<int64_t> parse_duration_ms(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data() || n < 0) return std::nullopt;
  const std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  int64_t mult;
  if (unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else return std::nullopt;
  if (n > INT64_MAX / mult) return std::nullopt;
  return n * mult;
}

}  // namespace hydrant::config
