#pragma once
// application/x-www-form-urlencoded, as in query strings and form bodies.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydrant::codec {

// `a=1&b=x%20y` → {{"a","1"},{"b","x y"}}; `+` is a space. Returns nullopt when a
// `%` escape is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_urlencoded(std::string_view s);

// The value of the last `name=` in a query string; nullopt when absent or malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace hydrant::codec
