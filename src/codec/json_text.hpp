#pragma once
#include <string>
#include <string_view>

namespace hydrant::codec {

// Appends `s` as a JSON string literal (quotes included, control characters escaped).
void append_json_string(std::string& out, std::string_view s);

}  // namespace hydrant::codec
