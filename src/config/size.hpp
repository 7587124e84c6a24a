#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace hydrant::config {

// "80MiB", "1GiB", "512KiB", "10MB", "4096", "4096B" → bytes (case-insensitive units).
std::optional<uint64_t> parse_size(std::string_view s);

// "200ms", "10s", "2m", "1h" → milliseconds. A unit is required.
std::optional<int64_t> parse_duration_ms(std::string_view s);

}  // namespace hydrant::config
