#include <gtest/gtest.h>

#include "test_support.hpp"
#include <zlib.h>

#include <random>
#include <string>

#include "codec/gzip.hpp"

using hydrant::codec::GzipDecoder;
using hydrant::codec::gunzip;
using hydrant::codec::has_gzip_magic;
using hydrant::codec::InflateStatus;

namespace {

using hydrant_test::gzip;


// Compresses `n` zero bytes without holding them in memory all at once.
std::string gzip_zeros(size_t n) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  size_t left = n;
  int flush = Z_NO_FLUSH;
  do {
    const size_t take = std::min(left, zeros.size());
    left -= take;
    flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = static_cast<uInt>(take);
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      deflate(&zs, flush);
      out.append(buf, sizeof buf - zs.avail_out);
    } while (zs.avail_out == 0);
  } while (flush != Z_FINISH);
  deflateEnd(&zs);
  return out;
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace

TEST(Gzip, MagicDetection) {
  EXPECT_TRUE(has_gzip_magic(std::string("\x1f\x8b", 2)));
  EXPECT_TRUE(has_gzip_magic(gzip("hello")));
  EXPECT_FALSE(has_gzip_magic(""));
  EXPECT_FALSE(has_gzip_magic(std::string("\x1f", 1)));
  EXPECT_FALSE(has_gzip_magic(std::string("\x8b\x1f", 2)));
  EXPECT_FALSE(has_gzip_magic("{\"a\":1}"));
}

TEST(Gzip, RoundTrip) {
  for (const std::string& in : {std::string(), std::string("hello, world"), std::string(100000, 'x'),
                                random_bytes(300000, 1)}) {
    std::string out = "previous content";
    std::string err;
    ASSERT_EQ(gunzip(gzip(in), out, 1 << 20, &err), InflateStatus::ok) << err;
    EXPECT_EQ(out, in);
  }
}

TEST(Gzip, OutputExactlyAtLimitIsAccepted) {
  for (size_t n : {size_t(1000), size_t(256 * 1024), size_t(1 << 20)}) {
    const std::string in = random_bytes(n, 7);
    std::string out;
    EXPECT_EQ(gunzip(gzip(in), out, n), InflateStatus::ok) << n;
    EXPECT_EQ(out.size(), n);
  }
  // and with highly compressible content (the decoder runs ahead of the input)
  for (size_t n : {size_t(1000), size_t(512 * 1024), size_t(1 << 20)}) {
    std::string out;
    EXPECT_EQ(gunzip(gzip(std::string(n, 'a')), out, n), InflateStatus::ok) << n;
    EXPECT_EQ(out.size(), n);
  }
}

TEST(Gzip, OneByteOverLimitIsTooLarge) {
  const std::string in = random_bytes(1001, 3);
  std::string out;
  EXPECT_EQ(gunzip(gzip(in), out, 1000), InflateStatus::too_large);
}

TEST(Gzip, StreamingByteByByte) {
  const std::string in = random_bytes(20000, 2) + std::string(50000, 'z');
  const std::string gz = gzip(in);
  GzipDecoder dec(1 << 20);
  std::string out;
  for (size_t i = 0; i < gz.size(); ++i) {
    ASSERT_EQ(dec.feed(gz.substr(i, 1), out), InflateStatus::ok) << "at byte " << i << ": " << dec.error();
    if (i + 1 < gz.size()) {
      EXPECT_FALSE(dec.finished()) << i;
    }
  }
  EXPECT_TRUE(dec.finished());
  EXPECT_EQ(out, in);
}

TEST(Gzip, StreamingUnevenChunks) {
  const std::string in = random_bytes(100000, 4);
  const std::string gz = gzip(in);
  GzipDecoder dec(1 << 20);
  std::string out;
  size_t pos = 0, step = 1;
  while (pos < gz.size()) {
    const size_t n = std::min(step, gz.size() - pos);
    ASSERT_EQ(dec.feed(std::string_view(gz).substr(pos, n), out), InflateStatus::ok);
    pos += n;
    step = step * 3 + 1;
  }
  EXPECT_TRUE(dec.finished());
  EXPECT_EQ(out, in);
}

TEST(Gzip, ConcatenatedMembers) {
  const std::string a = "first member\n", b = random_bytes(5000, 5), c = "third";
  const std::string gz = gzip(a) + gzip(b) + gzip(c);
  std::string out;
  ASSERT_EQ(gunzip(gz, out, 1 << 20), InflateStatus::ok);
  EXPECT_EQ(out, a + b + c);

  // The same, fed one byte at a time.
  GzipDecoder dec(1 << 20);
  std::string out2;
  for (char ch : gz) ASSERT_EQ(dec.feed(std::string_view(&ch, 1), out2), InflateStatus::ok) << dec.error();
  EXPECT_TRUE(dec.finished());
  EXPECT_EQ(out2, a + b + c);
}

TEST(Gzip, ConcatenatedMembersCountTowardsLimit) {
  const std::string gz = gzip(std::string(600, 'a')) + gzip(std::string(600, 'b'));
  std::string out;
  EXPECT_EQ(gunzip(gz, out, 1000), InflateStatus::too_large);
}

TEST(Gzip, TruncatedIsCorrupt) {
  const std::string gz = gzip(random_bytes(10000, 6));
  for (size_t cut : {size_t(1), size_t(5), size_t(10), gz.size() / 2, gz.size() - 8, gz.size() - 1}) {
    std::string out, err;
    EXPECT_EQ(gunzip(gz.substr(0, cut), out, 1 << 20, &err), InflateStatus::corrupt) << cut;
    EXPECT_FALSE(err.empty()) << cut;
  }
  // Streaming: everything fed is fine, but the decoder is not finished.
  GzipDecoder dec(1 << 20);
  std::string out;
  EXPECT_EQ(dec.feed(gz.substr(0, gz.size() - 4), out), InflateStatus::ok);
  EXPECT_FALSE(dec.finished());
}

TEST(Gzip, GarbageIsCorrupt) {
  std::string out, err;
  EXPECT_EQ(gunzip("this is not gzip at all", out, 1 << 20, &err), InflateStatus::corrupt);
  EXPECT_FALSE(err.empty());
  // Right magic, unknown compression method after it.
  EXPECT_EQ(gunzip(std::string("\x1f\x8b\x07\x00", 4) + random_bytes(200, 9), out, 1 << 20),
            InflateStatus::corrupt);
  // Right header, invalid deflate block type (3) in the body.
  EXPECT_EQ(gunzip(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff", 14), out, 1 << 20),
            InflateStatus::corrupt);
  EXPECT_EQ(gunzip("", out, 1 << 20), InflateStatus::corrupt);
}

TEST(Gzip, CorruptedChecksumIsCorrupt) {
  std::string gz = gzip("some content that has a crc32 at the end");
  gz[gz.size() - 6] ^= 0x55;  // inside the CRC32 trailer
  std::string out;
  EXPECT_EQ(gunzip(gz, out, 1 << 20), InflateStatus::corrupt);
}

TEST(Gzip, TrailingGarbageAfterMemberIsCorrupt) {
  std::string out, err;
  EXPECT_EQ(gunzip(gzip("hello") + "garbage", out, 1 << 20, &err), InflateStatus::corrupt);
  EXPECT_FALSE(err.empty());
}

TEST(Gzip, BombIsRefusedWithBoundedOutput) {
  const std::string bomb = gzip_zeros(100u << 20);  // 100 MiB of zeros
  ASSERT_LT(bomb.size(), 200u * 1024);
  const size_t limit = 1 << 20;
  std::string out, err;
  EXPECT_EQ(gunzip(bomb, out, limit, &err), InflateStatus::too_large);
  EXPECT_FALSE(err.empty());
  EXPECT_LE(out.size(), limit + 256 * 1024);
  EXPECT_LE(out.capacity(), 4 * limit);

  // Streaming, in 4 KiB chunks.
  GzipDecoder dec(limit);
  std::string out2;
  InflateStatus st = InflateStatus::ok;
  for (size_t pos = 0; pos < bomb.size() && st == InflateStatus::ok; pos += 4096)
    st = dec.feed(std::string_view(bomb).substr(pos, 4096), out2);
  EXPECT_EQ(st, InflateStatus::too_large);
  EXPECT_LE(out2.size(), limit + 256 * 1024);
}

TEST(Gzip, SmallLimit) {
  std::string out;
  EXPECT_EQ(gunzip(gzip(std::string(100, 'q')), out, 10), InflateStatus::too_large);
  EXPECT_LE(out.size(), 11u);
  EXPECT_EQ(gunzip(gzip(std::string(10, 'q')), out, 10), InflateStatus::ok);
  EXPECT_EQ(out, std::string(10, 'q'));
}
