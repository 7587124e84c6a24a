#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/secret.hpp"

using hydrant::secret_equal;
using hydrant::secret_matches_any;

TEST(Secret, Equal) {
  EXPECT_TRUE(secret_equal("s3cret", "s3cret"));
  EXPECT_TRUE(secret_equal("", ""));
  const std::string big(4096, 'k');
  EXPECT_TRUE(secret_equal(big, std::string(4096, 'k')));
  EXPECT_TRUE(secret_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
}

TEST(Secret, Different) {
  EXPECT_FALSE(secret_equal("s3cret", "s3creT"));
  EXPECT_FALSE(secret_equal("s3cret", "t3cret"));
  EXPECT_FALSE(secret_equal("abc", "xyz"));
  std::string big(4096, 'k');
  std::string other = big;
  other[4095] = 'j';
  EXPECT_FALSE(secret_equal(big, other));
  other = big;
  other[0] = 'j';
  EXPECT_FALSE(secret_equal(big, other));
}

TEST(Secret, DifferentLengthsAndPrefixes) {
  EXPECT_FALSE(secret_equal("s3cret", "s3cre"));
  EXPECT_FALSE(secret_equal("s3cre", "s3cret"));
  EXPECT_FALSE(secret_equal("s3cret", "s3cret "));
  EXPECT_FALSE(secret_equal("", "x"));
  EXPECT_FALSE(secret_equal("x", ""));
  // An embedded NUL does not end the comparison.
  EXPECT_FALSE(secret_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_FALSE(secret_equal(std::string("a\0b", 3), "a"));
}

TEST(Secret, MatchesAny) {
  const std::vector<std::string> keys = {"old-key", "new-key", "third"};
  EXPECT_TRUE(secret_matches_any("old-key", keys));
  EXPECT_TRUE(secret_matches_any("new-key", keys));
  EXPECT_TRUE(secret_matches_any("third", keys));
  EXPECT_FALSE(secret_matches_any("old-ke", keys));
  EXPECT_FALSE(secret_matches_any("new-key2", keys));
  EXPECT_FALSE(secret_matches_any("", keys));
  EXPECT_FALSE(secret_matches_any("anything", {}));
  EXPECT_FALSE(secret_matches_any("", {}));
  EXPECT_TRUE(secret_matches_any("", {"x", ""}));
}
