#include <gtest/gtest.h>

#include <string>

#include "codec/datetime.hpp"

using hydrant::codec::format_iso8601_ms;
using hydrant::codec::now_ms;
using hydrant::codec::parse_iso8601_ms;

namespace {
constexpr int64_t kBase = 1704164645000;  // 2024-01-02T03:04:05Z
constexpr int64_t kHour = 3600 * 1000;
}  // namespace

TEST(Datetime, Utc) {
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05Z"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05z"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02t03:04:05Z"), kBase);
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601_ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(parse_iso8601_ms("1900-01-01T00:00:00Z"), -2208988800000);
  EXPECT_EQ(parse_iso8601_ms("9999-12-31T23:59:59Z"), 253402300799000);
}

TEST(Datetime, Offsets) {
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T04:04:05+01:00"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T04:04:05+0100"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-01T21:34:05-0530"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-01T21:34:05-05:30"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05+00:00"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05-00:00"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05.250+02:00"), kBase - 2 * kHour + 250);
  // An offset crossing the date line.
  EXPECT_EQ(parse_iso8601_ms("2024-01-01T23:04:05-04:00"), kBase);
}

TEST(Datetime, NoZoneIsUtc) {
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04:05.5"), kBase + 500);
}

TEST(Datetime, SpaceSeparator) {
  EXPECT_EQ(parse_iso8601_ms("2024-01-02 03:04:05"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2024-01-02 03:04:05.123Z"), kBase + 123);
}

TEST(Datetime, WithoutSeconds) { EXPECT_EQ(parse_iso8601_ms("2024-01-02T03:04Z"), kBase - 5000); }

TEST(Datetime, FractionalSecondsOfAnyPrecision) {
  const std::pair<const char*, int64_t> cases[] = {
      {"2024-01-02T03:04:05.1Z", 100},          {"2024-01-02T03:04:05.12Z", 120},
      {"2024-01-02T03:04:05.123Z", 123},        {"2024-01-02T03:04:05.1234Z", 123},
      {"2024-01-02T03:04:05.12345Z", 123},      {"2024-01-02T03:04:05.123456Z", 123},
      {"2024-01-02T03:04:05.1234567Z", 123},    {"2024-01-02T03:04:05.12345678Z", 123},
      {"2024-01-02T03:04:05.999999999Z", 999},  {"2024-01-02T03:04:05.000000001Z", 0},
      {"2024-01-02T03:04:05,5Z", 500},          {"2024-01-02T03:04:05.9999999999999Z", 999},
  };
  for (const auto& [s, frac] : cases) EXPECT_EQ(parse_iso8601_ms(s), kBase + frac) << s;
}

TEST(Datetime, FractionBeforeEpochAddsForward) {
  // 1969-12-31T23:59:59.500Z is 500 ms before the epoch.
  EXPECT_EQ(parse_iso8601_ms("1969-12-31T23:59:59.500Z"), -500);
}

TEST(Datetime, DateOnly) {
  EXPECT_EQ(parse_iso8601_ms("2024-01-02"), kBase - (3 * 3600 + 4 * 60 + 5) * 1000);
  EXPECT_EQ(parse_iso8601_ms("1970-01-01"), 0);
}

TEST(Datetime, LeapDays) {
  EXPECT_EQ(parse_iso8601_ms("2000-02-29"), 951782400000);
  EXPECT_EQ(parse_iso8601_ms("2024-02-29T12:00:00Z"), 1709208000000);
  EXPECT_FALSE(parse_iso8601_ms("2023-02-29"));
  EXPECT_FALSE(parse_iso8601_ms("1900-02-29"));  // divisible by 100, not by 400
  EXPECT_FALSE(parse_iso8601_ms("2024-02-30"));
  EXPECT_TRUE(parse_iso8601_ms("2023-02-28"));
}

TEST(Datetime, InvalidDatesAndTimes) {
  for (const char* bad : {"2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "2024-04-31", "2024-06-31",
                          "2024-01-02T24:00:00Z", "2024-01-02T23:60:00Z", "2024-01-02T23:59:61Z"}) {
    EXPECT_FALSE(parse_iso8601_ms(bad).has_value()) << bad;
  }
}

TEST(Datetime, Garbage) {
  for (const char* bad :
       {"", "x", "2024", "2024-01", "2024-1-02", "24-01-02", "2024/01/02", "2024-01-02T", "2024-01-02T03",
        "2024-01-02T03:04:05.", "2024-01-02T03:04:05Zjunk", "2024-01-02T03:04:05+1", "2024-01-02T03:04:05+01:0",
        "2024-01-02T03:04:05+01:00:00", "2024-01-02T03:04:05+25:00", "2024-01-02T03:04:05 Z",
        "2024-01-02X03:04:05", "not a date at all", "2024-01-02T03:04:05ZZ", "2024-01-02 ", "1704164645000",
        "2024-01-02T3:04:05Z", "2024-01-02T03:04:5Z", "２０２４-01-02"}) {
    EXPECT_FALSE(parse_iso8601_ms(bad).has_value()) << bad;
  }
}

TEST(Datetime, Format) {
  EXPECT_EQ(format_iso8601_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601_ms(kBase + 678), "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(format_iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(951782400000), "2000-02-29T00:00:00.000Z");
}

TEST(Datetime, RoundTrip) {
  for (int64_t ms : {int64_t(0), int64_t(1), kBase, kBase + 999, int64_t(-1), int64_t(-2208988800001),
                     int64_t(253402300799999), int64_t(1709208000123)}) {
    const std::string s = format_iso8601_ms(ms);
    EXPECT_EQ(parse_iso8601_ms(s), ms) << s;
  }
}

TEST(Datetime, NowIsRecent) {
  const int64_t n = now_ms();
  EXPECT_GT(n, *parse_iso8601_ms("2024-01-01"));
  EXPECT_LT(n, *parse_iso8601_ms("2200-01-01"));
}
