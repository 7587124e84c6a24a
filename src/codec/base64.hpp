#pragma once
// Strict RFC 4648 base64 decoding (standard alphabet, '=' padding optional).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hydrant::codec {

// Appends the decoded bytes of `in` to `out`; returns false (out unspecified)
// when `in` is not valid base64.
bool base64_decode(std::string_view in, std::string& out);

std::string base64_encode(std::string_view in);

}  // namespace hydrant::codec
