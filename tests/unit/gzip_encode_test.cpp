// codec::gzip(), the encoder for outbound Content-Encoding: gzip bodies.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "codec/gzip.hpp"

using hydrant::codec::gunzip;
using hydrant::codec::has_gzip_magic;
using hydrant::codec::InflateStatus;

namespace {

// gzip(in) decoded again; the decoding must succeed.
std::string round_trip(const std::string& in, int level = 6) {
  const std::string z = hydrant::codec::gzip(in, level);
  EXPECT_TRUE(has_gzip_magic(z));
  std::string back, error;
  EXPECT_EQ(gunzip(z, back, in.size() + 1, &error), InflateStatus::ok) << error;
  return back;
}

}  // namespace

TEST(GzipEncode, RoundTrip) {
  const std::string text = R"({"requestId":"r","records":[{"data":"aGk="}]})";
  EXPECT_EQ(round_trip(text), text);
  EXPECT_EQ(round_trip(text, 1), text);
  EXPECT_EQ(round_trip(text, 9), text);
  const std::string binary("\x00\xff\x1f\x8b\x00", 5);
  EXPECT_EQ(round_trip(binary), binary);
}

TEST(GzipEncode, EmptyInput) {
  const std::string z = hydrant::codec::gzip("");
  EXPECT_TRUE(has_gzip_magic(z));
  EXPECT_GE(z.size(), 18u);  // header and trailer
  std::string back = "not empty";
  EXPECT_EQ(gunzip(z, back, 1), InflateStatus::ok);
  EXPECT_TRUE(back.empty());
}

TEST(GzipEncode, FiveMebibytes) {
  std::mt19937_64 rng(1);
  std::string in(5u << 20, '\0');
  // Half random bytes, half repetitive text: both kinds of block.
  for (size_t i = 0; i < in.size() / 2; ++i) in[i] = static_cast<char>(rng());
  for (size_t i = in.size() / 2; i < in.size(); ++i) in[i] = "readings "[i % 9];
  const std::string z = hydrant::codec::gzip(in);
  EXPECT_LT(z.size(), in.size() * 6 / 10);  // the text half compresses
  std::string back;
  ASSERT_EQ(gunzip(z, back, in.size()), InflateStatus::ok);
  EXPECT_TRUE(back == in);
  // The decoder's cap still applies to what the encoder made.
  EXPECT_EQ(gunzip(z, back, in.size() - 1), InflateStatus::too_large);
}
