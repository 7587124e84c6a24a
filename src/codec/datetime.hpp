#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hydrant::codec {

// ISO-8601 / RFC 3339 date-time → milliseconds since the Unix epoch (UTC).
// Accepts `YYYY-MM-DD`, a `T` or space separator, fractional seconds of any
// precision (truncated to ms), and `Z`, `±HH:MM`, `±HHMM` or no zone (taken as UTC).
std::optional<int64_t> parse_iso8601_ms(std::string_view s);

// Milliseconds since the epoch → `2024-01-02T03:04:05.678Z`.
std::string format_iso8601_ms(int64_t ms);

int64_t now_ms();

}  // namespace hydrant::codec
