#pragma once
#include <string_view>
#include <vector>
#include <string>

namespace hydrant {

// Constant-time equality (time depends only on the lengths), via OpenSSL's CRYPTO_memcmp.
bool secret_equal(std::string_view a, std::string_view b);

// True if `given` equals any of `accepted`; every candidate is compared so the
// time does not reveal which one matched.
bool secret_matches_any(std::string_view given, const std::vector<std::string>& accepted);

}  // namespace hydrant
