#include "common/secret.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace hydrant {

bool secret_equal(std::string_view a, std::string_view b) {
  // Hash both sides first so the comparison is over equal-length digests and
  // leaks neither the length nor a common prefix of the secret.
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

bool secret_matches_any(std::string_view given, const std::vector<std::string>& accepted) {
  bool any = false;
  for (const auto& k : accepted) any |= secret_equal(given, k);
  return any;
}

}  // namespace hydrant
