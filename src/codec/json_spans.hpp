#pragma once
// The exact bytes of parts of a JSON text, as sent (simdjson's DOM keeps values,
// not their source): for signatures over an element and for rejects that hold
// what the sender sent. Works on unvalidated input: nullopt when it does not end.
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace hydrant::codec {

// Past the end of the JSON value that starts at text[i]; npos when it does not end.
size_t json_value_end(std::string_view text, size_t i);

// The elements of the JSON array `text` (surrounding whitespace allowed).
std::optional<std::vector<std::string_view>> json_array_elements(std::string_view text);

// The value of the first member named `key` (compared as written) of the JSON object `text`.
std::optional<std::string_view> json_member(std::string_view text, std::string_view key);

}  // namespace hydrant::codec
