// The Firehose HTTP endpoint protocol from the sending side: envelope, headers, answers, back-off.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "codec/base64.hpp"
#include "common/uuid.hpp"
#include "destinations/firehose_http.hpp"

namespace out = hydrant::firehose_out;
using Kind = hydrant::firehose_out::Answer::Kind;

namespace {

std::map<std::string, std::string> header_map(const std::vector<std::pair<std::string, std::string>>& h) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : h) EXPECT_TRUE(m.emplace(k, v).second) << "duplicate header " << k;
  return m;
}

}  // namespace

TEST(FirehoseOut, EnvelopeRoundTrip) {
  const std::string binary("\x00\x80\xff\n\"", 5);
  const std::vector<std::string_view> records = {"{\"a\":1}\n", binary, ""};
  const std::string body = out::envelope("req-\"1\"", 1700000000123, records);
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  ASSERT_EQ(parser.parse(body).get(root), simdjson::SUCCESS) << body;
  std::string_view id;
  ASSERT_EQ(root["requestId"].get_string().get(id), simdjson::SUCCESS);
  EXPECT_EQ(id, "req-\"1\"");
  int64_t ts = 0;
  ASSERT_EQ(root["timestamp"].get_int64().get(ts), simdjson::SUCCESS);
  EXPECT_EQ(ts, 1700000000123);
  simdjson::dom::array arr;
  ASSERT_EQ(root["records"].get_array().get(arr), simdjson::SUCCESS);
  ASSERT_EQ(arr.size(), records.size());
  size_t i = 0;
  for (simdjson::dom::element rec : arr) {
    std::string_view data;
    ASSERT_EQ(rec["data"].get_string().get(data), simdjson::SUCCESS);
    std::string decoded;
    ASSERT_TRUE(hydrant::codec::base64_decode(data, decoded));
    EXPECT_EQ(decoded, records[i]) << i;
    ++i;
  }
  EXPECT_EQ(out::envelope("r", 5, {"hi"}), R"({"requestId":"r","timestamp":5,"records":[{"data":"aGk="}]})");
  EXPECT_EQ(out::envelope("r", 5, {}), R"({"requestId":"r","timestamp":5,"records":[]})");
}

TEST(FirehoseOut, HeadersOfADeliveryStream) {
  const auto h = header_map(out::headers("id-1", "arn:aws:firehose:x:1:deliverystream/t", "secret", {}, false));
  EXPECT_EQ(h.at("Content-Type"), "application/json");
  EXPECT_EQ(h.at("X-Amz-Firehose-Protocol-Version"), "1.0");
  EXPECT_EQ(h.at("X-Amz-Firehose-Request-Id"), "id-1");
  EXPECT_EQ(h.at("X-Amz-Firehose-Source-Arn"), "arn:aws:firehose:x:1:deliverystream/t");
  EXPECT_EQ(h.at("X-Amz-Firehose-Access-Key"), "secret");
  EXPECT_EQ(h.count("X-Amz-Firehose-Common-Attributes"), 0u);
  EXPECT_EQ(h.count("Content-Encoding"), 0u);
}

TEST(FirehoseOut, HeadersWithoutAccessKeyWithAttributesAndGzip) {
  const auto h = header_map(out::headers("id", "arn", "", {{"env", "prod"}, {"quote\"d", "a\\b"}}, true));
  EXPECT_EQ(h.count("X-Amz-Firehose-Access-Key"), 0u);
  EXPECT_EQ(h.at("Content-Encoding"), "gzip");
  const std::string& attrs = h.at("X-Amz-Firehose-Common-Attributes");
  EXPECT_EQ(attrs, R"({"commonAttributes":{"env":"prod","quote\"d":"a\\b"}})");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(attrs).get(root), simdjson::SUCCESS);
  std::string_view v;
  ASSERT_EQ(root["commonAttributes"]["quote\"d"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, "a\\b");
}

TEST(FirehoseOut, AnswerOkOnlyWithTheSameRequestId) {
  EXPECT_EQ(out::parse_answer(200, R"({"requestId":"abc","timestamp":1})", "", "abc").kind, Kind::ok);
  const auto other = out::parse_answer(200, R"({"requestId":"xyz","timestamp":1})", "", "abc");
  EXPECT_EQ(other.kind, Kind::retry);
  EXPECT_FALSE(other.message.empty());
  EXPECT_EQ(out::parse_answer(200, "OK", "", "abc").kind, Kind::retry);
  EXPECT_EQ(out::parse_answer(200, "", "", "abc").kind, Kind::retry);
  EXPECT_EQ(out::parse_answer(200, R"({"timestamp":1})", "", "abc").kind, Kind::retry);
  EXPECT_EQ(out::parse_answer(200, R"(["abc"])", "", "abc").kind, Kind::retry);
}

TEST(FirehoseOut, AnswerTooLarge) {
  const auto a = out::parse_answer(413, R"({"requestId":"abc","errorMessage":"too big"})", "", "abc");
  EXPECT_EQ(a.kind, Kind::too_large);
  EXPECT_EQ(a.message, "HTTP 413: too big");
}

TEST(FirehoseOut, AnswerErrorsAreRetried) {
  const auto a = out::parse_answer(500, R"({"requestId":"abc","errorMessage":"database down"})", "", "abc");
  EXPECT_EQ(a.kind, Kind::retry);
  EXPECT_EQ(a.message, "HTTP 500: database down");
  EXPECT_EQ(out::parse_answer(401, "<html/>", "", "abc").message, "HTTP 401");
  EXPECT_EQ(out::parse_answer(400, R"({"requestId":"abc"})", "", "abc").kind, Kind::retry);
  const auto none = out::parse_answer(0, "", "Operation timed out", "abc");
  EXPECT_EQ(none.kind, Kind::retry);
  EXPECT_NE(none.message.find("Operation timed out"), std::string::npos) << none.message;
}

TEST(FirehoseOut, BackoffFirstAttempt) {
  std::mt19937_64 rng(42);
  int64_t lo = INT64_MAX, hi = 0;
  double sum = 0;
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    const int64_t b = out::backoff_ms(0, rng);
    ASSERT_GE(b, 850);
    ASSERT_LE(b, 1150);
    lo = std::min(lo, b);
    hi = std::max(hi, b);
    sum += static_cast<double>(b);
  }
  // The jitter spreads over the range, centred on 1 s.
  EXPECT_LT(lo, 870);
  EXPECT_GT(hi, 1130);
  EXPECT_NEAR(sum / n, 1000.0, 10.0);
}

TEST(FirehoseOut, BackoffDoublesUpTo120Seconds) {
  std::mt19937_64 rng(7);
  for (uint32_t attempt = 0; attempt <= 6; ++attempt) {
    const double base = 1000.0 * static_cast<double>(1u << attempt);
    for (int i = 0; i < 1000; ++i) {
      const int64_t b = out::backoff_ms(attempt, rng);
      ASSERT_GE(static_cast<double>(b), base * 0.85 - 1) << attempt;
      ASSERT_LE(static_cast<double>(b), base * 1.15) << attempt;
    }
  }
  for (uint32_t attempt : {7u, 8u, 20u, 21u, 64u, 1000u, UINT32_MAX}) {
    int64_t hi = 0;
    for (int i = 0; i < 1000; ++i) {
      const int64_t b = out::backoff_ms(attempt, rng);
      ASSERT_LE(b, 120000) << attempt;
      ASSERT_GE(b, 102000) << attempt;
      hi = std::max(hi, b);
    }
    EXPECT_EQ(hi, 120000) << attempt;  // the cap, hit whenever the jitter goes up
  }
}

TEST(FirehoseOut, RequestIdsAreVersion4Uuids) {
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = hydrant::uuid4();
    ASSERT_TRUE(std::regex_match(id, shape)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}
