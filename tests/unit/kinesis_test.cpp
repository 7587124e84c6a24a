// Kinesis PutRecords: the body, partition keys and what an answer means.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "codec/base64.hpp"
#include "destinations/kinesis.hpp"

namespace kinesis = hydrant::kinesis;
using Kind = hydrant::kinesis::Answer::Kind;

namespace {

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct Record {
  std::string data;
  std::string key;
};

// Parses a PutRecords body back: the stream field's name and value, and the records decoded.
bool parse_body(const std::string& body, std::string& stream_field, std::string& stream, std::vector<Record>& records) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return false;
  size_t fields = 0;
  for (auto field : root) {
    ++fields;
    std::string_view v;
    if (field.key == "Records") continue;
    stream_field = std::string(field.key);
    if (field.value.get_string().get(v) != simdjson::SUCCESS) return false;
    stream = std::string(v);
  }
  simdjson::dom::array arr;
  if (fields != 2 || root["Records"].get_array().get(arr) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element rec : arr) {
    std::string_view data, key;
    if (rec["Data"].get_string().get(data) != simdjson::SUCCESS ||
        rec["PartitionKey"].get_string().get(key) != simdjson::SUCCESS)
      return false;
    Record r;
    if (!hydrant::codec::base64_decode(data, r.data)) return false;
    r.key = std::string(key);
    records.push_back(std::move(r));
  }
  return true;
}

}  // namespace

TEST(Kinesis, BodyWithStreamName) {
  const std::string binary("\x00\xff\x01\"\\", 5);
  const std::vector<kinesis::Entry> entries = {
      {"{\"a\":1}", "k1"}, {binary, "quote\"back\\slash\nnewline\x01"}, {"", "é"}};
  const std::string body = kinesis::put_records_body("readings", entries);
  std::string field, stream;
  std::vector<Record> records;
  ASSERT_TRUE(parse_body(body, field, stream, records)) << body;
  EXPECT_EQ(field, "StreamName");
  EXPECT_EQ(stream, "readings");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].data, "{\"a\":1}");
  EXPECT_EQ(records[0].key, "k1");
  EXPECT_EQ(records[1].data, binary);
  EXPECT_EQ(records[1].key, "quote\"back\\slash\nnewline\x01");
  EXPECT_EQ(records[2].data, "");
  EXPECT_EQ(records[2].key, "é");
  EXPECT_NE(body.find("\"Data\":\"eyJhIjoxfQ==\""), std::string::npos) << body;
}

TEST(Kinesis, BodyWithStreamArn) {
  const std::string arn = "arn:aws:kinesis:us-east-1:123456789012:stream/readings";
  const std::string body = kinesis::put_records_body(arn, {{"x", "k"}});
  std::string field, stream;
  std::vector<Record> records;
  ASSERT_TRUE(parse_body(body, field, stream, records)) << body;
  EXPECT_EQ(field, "StreamARN");
  EXPECT_EQ(stream, arn);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].data, "x");
}

TEST(Kinesis, BodyWithoutRecords) {
  std::string field, stream;
  std::vector<Record> records;
  ASSERT_TRUE(parse_body(kinesis::put_records_body("s", {}), field, stream, records));
  EXPECT_TRUE(records.empty());
}

TEST(Kinesis, EntrySizeCountsDataAndKey) {
  EXPECT_EQ(kinesis::entry_size({"12345", "abc"}), 8u);
}

TEST(Kinesis, PartitionKeyUpTo256CharactersIsKept) {
  EXPECT_EQ(kinesis::partition_key("abc"), "abc");
  const std::string ascii = repeat("a", 256);
  EXPECT_EQ(kinesis::partition_key(ascii), ascii);
  // 256 characters of two bytes each: 512 bytes, still 256 characters.
  const std::string accents = repeat("é", 256);
  ASSERT_EQ(accents.size(), 512u);
  EXPECT_EQ(kinesis::partition_key(accents), accents);
}

TEST(Kinesis, PartitionKeyOver256CharactersIsHashed) {
  EXPECT_EQ(kinesis::partition_key(repeat("a", 257)),
            "sha256:e8d95cc2b4bc198c54b40bd214df958afb65f5e73d2c2eafe0593cf5c635c1f0");
  EXPECT_EQ(kinesis::partition_key(repeat("é", 257)),
            "sha256:db33c4ce9e8a72562c8f24aa67b7abbabdb848426e8ddfff4ee08f6ae04d1b17");
  const std::string hashed = kinesis::partition_key(repeat("b", 10000));
  EXPECT_EQ(hashed.size(), 7u + 64u);
  EXPECT_EQ(hashed, kinesis::partition_key(repeat("b", 10000)));
  EXPECT_NE(hashed, kinesis::partition_key(repeat("b", 10001)));
}

TEST(Kinesis, CharactersBeyondTheBmpCountTwice) {
  // U+1F600 is one character but two UTF-16 code units, as Kinesis (Java) counts
  const std::string emoji = "\xF0\x9F\x98\x80";
  EXPECT_EQ(kinesis::partition_key(repeat(emoji, 128)), repeat(emoji, 128));
  EXPECT_EQ(kinesis::partition_key(repeat(emoji, 129)).rfind("sha256:", 0), 0u);
  EXPECT_EQ(kinesis::partition_key(repeat(emoji, 128) + "a").rfind("sha256:", 0), 0u);
}

TEST(Kinesis, EmptyPartitionKeyIsNull) { EXPECT_EQ(kinesis::partition_key(""), "null"); }

TEST(Kinesis, AnswerAllStored) {
  const auto a = kinesis::parse_answer(
      200, R"({"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"},{"SequenceNumber":"2","ShardId":"s"}]})",
      "", 2);
  EXPECT_EQ(a.kind, Kind::ok);
  EXPECT_EQ(a.failed_count, 0u);
  ASSERT_EQ(a.failed.size(), 2u);
  EXPECT_TRUE(a.failed[0].empty());
  EXPECT_TRUE(a.failed[1].empty());
}

TEST(Kinesis, AnswerPartialFailure) {
  const auto a = kinesis::parse_answer(200, R"({"FailedRecordCount":4,"Records":[
      {"SequenceNumber":"1","ShardId":"s"},
      {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard"},
      {"ErrorCode":"InternalFailure","ErrorMessage":"Internal service failure."},
      {"ErrorCode":"KMSAccessDeniedException","ErrorMessage":"denied"},
      {"ErrorCode":"KMSDisabledException"},
      {"ErrorCode":"KMSThrottlingException","ErrorMessage":"slow"}]})",
                                       "", 6);
  ASSERT_EQ(a.kind, Kind::ok);
  EXPECT_EQ(a.failed_count, 5u);
  ASSERT_EQ(a.failed.size(), 6u);
  ASSERT_EQ(a.retryable.size(), 6u);
  EXPECT_TRUE(a.failed[0].empty());
  EXPECT_EQ(a.failed[1], "ProvisionedThroughputExceededException: Rate exceeded for shard");
  EXPECT_TRUE(a.retryable[1]);
  EXPECT_EQ(a.failed[2], "InternalFailure: Internal service failure.");
  EXPECT_TRUE(a.retryable[2]);
  EXPECT_EQ(a.failed[3], "KMSAccessDeniedException: denied");
  EXPECT_FALSE(a.retryable[3]);
  EXPECT_EQ(a.failed[4], "KMSDisabledException");
  EXPECT_FALSE(a.retryable[4]);
  EXPECT_TRUE(a.retryable[5]);
}

TEST(Kinesis, AnswerWithTheWrongNumberOfRecordsIsRetried) {
  EXPECT_EQ(kinesis::parse_answer(200, R"({"Records":[{"SequenceNumber":"1"}]})", "", 2).kind, Kind::retry);
  EXPECT_EQ(kinesis::parse_answer(200, R"({"Records":[{},{},{}]})", "", 2).kind, Kind::retry);
  EXPECT_EQ(kinesis::parse_answer(200, "{}", "", 1).kind, Kind::retry);
  EXPECT_EQ(kinesis::parse_answer(200, "not json", "", 1).kind, Kind::retry);
  EXPECT_EQ(kinesis::parse_answer(200, "", "", 1).kind, Kind::retry);
}

TEST(Kinesis, AnswerThrottled) {
  for (const char* type : {"ProvisionedThroughputExceededException",
                           "com.amazonaws.kinesis.v20131202#ProvisionedThroughputExceededException",
                           "LimitExceededException", "ThrottlingException"}) {
    SCOPED_TRACE(type);
    const auto a = kinesis::parse_answer(400, std::string(R"({"__type":")") + type + R"(","message":"Rate exceeded"})",
                                         "", 1);
    EXPECT_EQ(a.kind, Kind::throttled);
    EXPECT_NE(a.message.find("HTTP 400"), std::string::npos) << a.message;
    EXPECT_NE(a.message.find("Rate exceeded"), std::string::npos) << a.message;
    EXPECT_EQ(a.message.find('#'), std::string::npos) << a.message;
  }
  EXPECT_EQ(kinesis::parse_answer(429, "", "", 1).kind, Kind::throttled);
  EXPECT_EQ(kinesis::parse_answer(503, "<html>busy</html>", "", 1).kind, Kind::throttled);
}

TEST(Kinesis, AnswerServerErrorIsRetried) {
  const auto a = kinesis::parse_answer(500, R"({"__type":"InternalFailure","Message":"oops"})", "", 1);
  EXPECT_EQ(a.kind, Kind::retry);
  EXPECT_EQ(a.message, "HTTP 500 InternalFailure: oops");
  EXPECT_EQ(kinesis::parse_answer(502, "", "", 1).kind, Kind::retry);
}

TEST(Kinesis, AnswerDenied) {
  for (const char* type : {"InvalidSignatureException", "AccessDeniedException", "ResourceNotFoundException",
                           "UnrecognizedClientException", "ExpiredTokenException", "KMSAccessDeniedException"}) {
    SCOPED_TRACE(type);
    const auto a = kinesis::parse_answer(400, std::string(R"({"__type":")") + type + R"(","message":"no"})", "", 1);
    EXPECT_EQ(a.kind, Kind::denied);
    EXPECT_NE(a.message.find(type), std::string::npos) << a.message;
  }
  EXPECT_EQ(kinesis::parse_answer(403, "", "", 1).kind, Kind::denied);
  EXPECT_EQ(kinesis::parse_answer(403, R"({"Message":"User is not authorized"})", "", 1).message,
            "HTTP 403: User is not authorized");
}

TEST(Kinesis, AnswerInvalid) {
  const auto a = kinesis::parse_answer(400, R"({"__type":"ValidationException","message":"1 validation error"})", "", 1);
  EXPECT_EQ(a.kind, Kind::invalid);
  EXPECT_EQ(a.message, "HTTP 400 ValidationException: 1 validation error");
  EXPECT_EQ(kinesis::parse_answer(413, "", "", 1).kind, Kind::invalid);
}

TEST(Kinesis, NoAnswerIsRetriedWithTheTransportError) {
  const auto a = kinesis::parse_answer(0, "", "Connection refused", 3);
  EXPECT_EQ(a.kind, Kind::retry);
  EXPECT_NE(a.message.find("Connection refused"), std::string::npos) << a.message;
  EXPECT_TRUE(a.failed.empty());
}
