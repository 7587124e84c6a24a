#pragma once
// HMAC (OpenSSL) and the encodings signatures come in, for checking signed
// webhooks: compute the expected value, then compare with secret_equal.
#include <string>
#include <string_view>

namespace hydrant {

enum class HmacAlgorithm { sha1, sha256, sha512 };

// The raw MAC bytes of `data` under `key`.
std::string hmac(HmacAlgorithm algorithm, std::string_view key, std::string_view data);

std::string hex_lower(std::string_view bytes);
std::string ascii_lower(std::string_view s);

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace hydrant
