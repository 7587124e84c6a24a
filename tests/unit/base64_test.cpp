#include <gtest/gtest.h>

#include "codec/base64.hpp"

using hydrant::codec::base64_decode;
using hydrant::codec::base64_encode;

TEST(Base64, DecodesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
      {"Zm9vYmFy", "foobar"}};
  for (const auto& [in, want] : vectors) {
    std::string out;
    ASSERT_TRUE(base64_decode(in, out)) << in;
    EXPECT_EQ(out, want);
    EXPECT_EQ(base64_encode(want), in);
  }
}

TEST(Base64, AcceptsMissingPadding) {
  std::string out;
  ASSERT_TRUE(base64_decode("Zm8", out));
  EXPECT_EQ(out, "fo");
}

TEST(Base64, RejectsInvalidInput) {
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY", "Zg=", "Zg===", "=Zg=", "Zm 9v", "Zh=="}) {
    std::string out;
    EXPECT_FALSE(base64_decode(bad, out)) << bad;
  }
}

TEST(Base64, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < all.size(); n += 37) {
    std::string out;
    ASSERT_TRUE(base64_decode(base64_encode(all.substr(0, n)), out));
    EXPECT_EQ(out, all.substr(0, n));
  }
}
