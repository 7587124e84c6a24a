#include <gtest/gtest.h>

#include "test_support.hpp"
#include <zlib.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "codec/base64.hpp"
#include "sources/firehose/decode.hpp"

using hydrant::Batch;
using hydrant::codec::base64_encode;
using hydrant::config::Firehose;
using hydrant::config::RecordFormat;
using hydrant::firehose::Decoder;
using hydrant::firehose::Envelope;
using hydrant::firehose::Head;
using hydrant::firehose::parse_envelope;

namespace {

using hydrant_test::gzip;
using hydrant_test::crash_signal;
using hydrant_test::find;
using hydrant_test::type_at;
using hydrant_test::fixture_path;
using hydrant_test::read_file;

constexpr int64_t kReceived = 1704164645000;  // 2024-01-02T03:04:05Z
const char* kOid = "65a1b2c3d4e5f6a7b8c9d0e1";


std::string fixture(const std::string& name) {
  return read_file(fixture_path("firehose-captures/" + name));
}

Head default_head() {
  Head h;
  h.request_id = "rid-1";
  h.source_arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/test";
  return h;
}

// A Firehose body whose records carry the given base64 texts.
std::string body_with_b64(const std::vector<std::string>& b64, const std::string& request_id = "rid-1") {
  std::string s = R"({"requestId":")" + request_id + R"(","timestamp":1704164645000,"records":[)";
  for (size_t i = 0; i < b64.size(); ++i) {
    if (i) s += ',';
    s += R"({"data":")" + b64[i] + R"("})";
  }
  return s + "]}";
}

std::string body_with(const std::vector<std::string>& raw, const std::string& request_id = "rid-1") {
  std::vector<std::string> b64;
  for (const auto& r : raw) b64.push_back(base64_encode(r));
  return body_with_b64(b64, request_id);
}

struct Run {
  Envelope env;
  Batch batch;
};


Run decode_here(const Firehose& cfg, std::string body, const Head& head, size_t max_record);

Run decode_body(const Firehose& cfg, const std::string& body, const Head& head = default_head(),
                size_t max_record = 1 << 20) {
  if (const int sig = crash_signal([&] { decode_here(cfg, body, head, max_record); })) {
    ADD_FAILURE() << "Decoder::decode crashed (signal " << sig << ") on: " << body.substr(0, 300);
    return Run{};
  }
  return decode_here(cfg, body, head, max_record);
}

Run decode_here(const Firehose& cfg, std::string body, const Head& head, size_t max_record) {
  Run r;
  body.reserve(body.size() + 64);
  auto err = parse_envelope(body, r.env);
  EXPECT_FALSE(err.has_value()) << (err ? err->message : "");
  Decoder dec(cfg, max_record);
  r.batch = dec.decode(r.env, head, kReceived);
  return r;
}

Firehose json_cfg() {
  Firehose f;
  f.path = "/f";
  f.database = "db";
  f.collection = "c";
  f.rejects = "c_rejects";
  return f;
}


std::string str_at(const bson_t* b, const char* path) {
  bson_iter_t it;
  if (!find(b, path, it)) return "<missing>";
  if (!BSON_ITER_HOLDS_UTF8(&it)) return "<not a string>";
  uint32_t len;
  const char* s = bson_iter_utf8(&it, &len);
  return std::string(s, len);
}

int64_t date_at(const bson_t* b, const char* path) {
  bson_iter_t it;
  if (!find(b, path, it) || !BSON_ITER_HOLDS_DATE_TIME(&it)) return INT64_MIN;
  return bson_iter_date_time(&it);
}

std::string id_of(const hydrant::Document& d) { return str_at(d.doc.get(), "_id"); }

int count_keys(const bson_t* b, const char* key) {
  bson_iter_t it;
  int n = 0;
  if (bson_iter_init(&it, b))
    while (bson_iter_next(&it))
      if (std::string(bson_iter_key(&it)) == key) ++n;
  return n;
}

std::string first_key(const bson_t* b) {
  bson_iter_t it;
  if (bson_iter_init(&it, b) && bson_iter_next(&it)) return bson_iter_key(&it);
  return "";
}

}  // namespace

// ---- json ----

TEST(FirehoseDecode, JsonRecordsAndDeterministicIds) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with({R"({"_id":"own-id","x":1})", R"({"x":2})", R"({"a":1}{"b":2})",
                                       "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"}));
  const Batch& b = r.batch;
  EXPECT_EQ(b.request_id, "rid-1");
  EXPECT_EQ(b.records, 4u);
  EXPECT_EQ(b.dropped, 0u);
  EXPECT_TRUE(b.rejects.empty());
  ASSERT_EQ(b.docs.size(), 7u);
  const std::pair<std::string, uint32_t> want[] = {{"own-id", 0},    {"rid-1:1", 1},   {"rid-1:2", 2}, {"rid-1:2:1", 2},
                                                   {"rid-1:3", 3}, {"rid-1:3:1", 3}, {"rid-1:3:2", 3}};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(id_of(b.docs[i]), want[i].first) << i;
    EXPECT_EQ(b.docs[i].record, want[i].second) << i;
    EXPECT_EQ(count_keys(b.docs[i].doc.get(), "_id"), 1) << i;
  }
  EXPECT_EQ(type_at(b.docs[0].doc.get(), "x"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(b.docs[3].doc.get(), "b"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(b.docs[6].doc.get(), "c"), BSON_TYPE_INT32);
}

TEST(FirehoseDecode, RecordWithArrayDoesNotCrash) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with({R"({"tags":["a","b"],"readings":[{"v":1},{"v":2}]})"}));
  EXPECT_TRUE(r.batch.rejects.empty());
  ASSERT_EQ(r.batch.docs.size(), 1u);
  EXPECT_EQ(type_at(r.batch.docs[0].doc.get(), "tags"), BSON_TYPE_ARRAY);
  EXPECT_EQ(str_at(r.batch.docs[0].doc.get(), "tags.1"), "b");
  EXPECT_EQ(type_at(r.batch.docs[0].doc.get(), "readings.1.v"), BSON_TYPE_INT32);
}

TEST(FirehoseDecode, IdsAreStableAcrossRetries) {
  const Firehose cfg = json_cfg();
  const std::string body = body_with({R"({"x":1})", R"({"y":2})"}, "same-request");
  auto a = decode_body(cfg, body);
  auto b = decode_body(cfg, body);
  ASSERT_EQ(a.batch.docs.size(), 2u);
  ASSERT_EQ(b.batch.docs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(id_of(a.batch.docs[i]), id_of(b.batch.docs[i]));
  EXPECT_EQ(id_of(a.batch.docs[1]), "same-request:1");
}

TEST(FirehoseDecode, DirectPutCapture) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, fixture("direct_put.json"));
  ASSERT_EQ(r.batch.docs.size(), 3u);
  EXPECT_TRUE(r.batch.rejects.empty());
  const bson_t* d = r.batch.docs[2].doc.get();
  EXPECT_EQ(id_of(r.batch.docs[2]), "a1af4300-6c09-4916-ba8f-12f336176246:2");
  EXPECT_EQ(str_at(d, "TICKER_SYMBOL"), "HJV");
  EXPECT_EQ(str_at(d, "SECTOR"), "ENERGY");
  bson_iter_t it;
  ASSERT_TRUE(find(d, "PRICE", it));
  EXPECT_DOUBLE_EQ(bson_iter_double(&it), 199.08);
}

TEST(FirehoseDecode, NonJsonCaptureIsRejectedInJsonMode) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, fixture("direct_put_with_non_json_message.json"));
  EXPECT_TRUE(r.batch.docs.empty());
  ASSERT_EQ(r.batch.rejects.size(), 1u);
  EXPECT_EQ(r.batch.rejects[0].record, 0u);
  EXPECT_EQ(r.batch.rejects[0].data, "hola esto es una prueba");
  EXPECT_NE(r.batch.rejects[0].reason.find("JSON"), std::string::npos) << r.batch.rejects[0].reason;
}

TEST(FirehoseDecode, BadBase64IsRejectedWithRawText) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with_b64({base64_encode(R"({"ok":1})"), "!!not*base64", base64_encode(R"({"ok":2})")}));
  ASSERT_EQ(r.batch.docs.size(), 2u);
  EXPECT_EQ(r.batch.docs[0].record, 0u);
  EXPECT_EQ(r.batch.docs[1].record, 2u);
  EXPECT_EQ(id_of(r.batch.docs[1]), "rid-1:2");
  ASSERT_EQ(r.batch.rejects.size(), 1u);
  EXPECT_EQ(r.batch.rejects[0].record, 1u);
  EXPECT_EQ(r.batch.rejects[0].data, "!!not*base64");
  EXPECT_NE(r.batch.rejects[0].reason.find("base64"), std::string::npos);
}

TEST(FirehoseDecode, UndecodableJsonRecordsAreRejectedWithRawBytes) {
  const Firehose cfg = json_cfg();
  const std::vector<std::string> bad = {"{oops",       "[1,2,3]",          "42",         "\"str\"",       "",
                                        "  \n\t ",     "{\"a\":1} 5",      "{\"a\":1}{", "{\"a\":1} junk", "null",
                                        "{\"a\":1}[]", std::string("\xff\xfe{}", 4)};
  auto r = decode_body(cfg, body_with(bad));
  EXPECT_TRUE(r.batch.docs.empty()) << "first doc record: " << (r.batch.docs.empty() ? 0 : r.batch.docs[0].record);
  ASSERT_EQ(r.batch.rejects.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(r.batch.rejects[i].record, i);
    EXPECT_EQ(r.batch.rejects[i].data, bad[i]) << i;
    EXPECT_FALSE(r.batch.rejects[i].reason.empty()) << i;
  }
  EXPECT_NE(r.batch.rejects[0].reason.find("JSON"), std::string::npos) << r.batch.rejects[0].reason;
  EXPECT_NE(r.batch.rejects[1].reason.find("not an object"), std::string::npos) << r.batch.rejects[1].reason;
  EXPECT_NE(r.batch.rejects[2].reason.find("not an object"), std::string::npos) << r.batch.rejects[2].reason;
  EXPECT_NE(r.batch.rejects[4].reason.find("empty"), std::string::npos) << r.batch.rejects[4].reason;
}

TEST(FirehoseDecode, GzippedRecordIsDecoded) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with({gzip(R"({"zipped":true})"), gzip(R"({"a":1}{"b":2})")}));
  EXPECT_TRUE(r.batch.rejects.empty());
  ASSERT_EQ(r.batch.docs.size(), 3u);
  EXPECT_EQ(type_at(r.batch.docs[0].doc.get(), "zipped"), BSON_TYPE_BOOL);
  EXPECT_EQ(id_of(r.batch.docs[2]), "rid-1:1:1");
}

TEST(FirehoseDecode, CorruptGzipIsRejected) {
  const Firehose cfg = json_cfg();
  std::string truncated = gzip(R"({"zipped":true,"pad":"aaaaaaaaaaaaaaaaaaaaaaaaaaa"})");
  truncated.resize(truncated.size() - 6);
  const std::string garbage = std::string("\x1f\x8b", 2) + "this is not deflate data";
  auto r = decode_body(cfg, body_with({truncated, garbage}));
  EXPECT_TRUE(r.batch.docs.empty());
  ASSERT_EQ(r.batch.rejects.size(), 2u);
  EXPECT_EQ(r.batch.rejects[0].data, truncated);
  EXPECT_EQ(r.batch.rejects[1].data, garbage);
  for (const auto& rej : r.batch.rejects) EXPECT_NE(rej.reason.find("gzip"), std::string::npos) << rej.reason;
}

TEST(FirehoseDecode, GzipOverRecordLimitIsRejected) {
  const Firehose cfg = json_cfg();
  const std::string big = R"({"pad":")" + std::string(5000, 'a') + R"("})";
  const std::string zipped = gzip(big);
  auto r = decode_body(cfg, body_with({zipped}), default_head(), 1000);
  EXPECT_TRUE(r.batch.docs.empty());
  ASSERT_EQ(r.batch.rejects.size(), 1u);
  EXPECT_EQ(r.batch.rejects[0].data, zipped);
  EXPECT_NE(r.batch.rejects[0].reason.find("larger"), std::string::npos) << r.batch.rejects[0].reason;
}

TEST(FirehoseDecode, ExtendedJsonInRecords) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with({std::string(R"({"_id":{"$oid":")") + kOid +
                                       R"("},"at":{"$date":"2024-01-02T03:04:05Z"},"n":{"$numberLong":"7"}})"}));
  ASSERT_EQ(r.batch.docs.size(), 1u);
  const bson_t* d = r.batch.docs[0].doc.get();
  EXPECT_EQ(type_at(d, "_id"), BSON_TYPE_OID);
  EXPECT_EQ(date_at(d, "at"), kReceived);
  EXPECT_EQ(type_at(d, "n"), BSON_TYPE_INT64);
}

TEST(FirehoseDecode, ConversionsApplied) {
  Firehose cfg = json_cfg();
  cfg.object_ids = {"_id", "ref.owner"};
  cfg.dates = {"recordedAt", "events.at"};
  auto r = decode_body(cfg, body_with({std::string(R"({"_id":")") + kOid + R"(","ref":{"owner":")" + kOid +
                                       R"("},"recordedAt":"2024-01-02T03:04:05Z","events":[{"at":1704164645000}]})"}));
  ASSERT_EQ(r.batch.docs.size(), 1u) << (r.batch.rejects.empty() ? "" : r.batch.rejects[0].reason);
  const bson_t* d = r.batch.docs[0].doc.get();
  EXPECT_EQ(type_at(d, "_id"), BSON_TYPE_OID);
  EXPECT_EQ(type_at(d, "ref.owner"), BSON_TYPE_OID);
  EXPECT_EQ(date_at(d, "recordedAt"), kReceived);
  EXPECT_EQ(date_at(d, "events.0.at"), kReceived);
}

TEST(FirehoseDecode, ConversionFailureRejectsWholeRecord) {
  Firehose cfg = json_cfg();
  cfg.dates = {"recordedAt"};
  const std::string bad = R"({"a":1}{"recordedAt":"not a date"})";
  auto r = decode_body(cfg, body_with({R"({"recordedAt":"2024-01-02"})", bad, R"({"recordedAt":0})"}));
  ASSERT_EQ(r.batch.docs.size(), 2u);
  EXPECT_EQ(r.batch.docs[0].record, 0u);
  EXPECT_EQ(r.batch.docs[1].record, 2u);
  ASSERT_EQ(r.batch.rejects.size(), 1u);
  EXPECT_EQ(r.batch.rejects[0].record, 1u);
  EXPECT_EQ(r.batch.rejects[0].data, bad);
  EXPECT_NE(r.batch.rejects[0].reason.find("recordedAt"), std::string::npos) << r.batch.rejects[0].reason;
}

TEST(FirehoseDecode, IdFromConfiguredField) {
  Firehose cfg = json_cfg();
  cfg.id = "messageId";
  auto r = decode_body(cfg, body_with({R"({"x":1,"messageId":"m-1","_id":"ignored"})", R"({"x":2})",
                                       R"({"messageId":{"k":5}})"}));
  ASSERT_EQ(r.batch.docs.size(), 3u);
  const bson_t* d0 = r.batch.docs[0].doc.get();
  EXPECT_EQ(str_at(d0, "_id"), "m-1");
  EXPECT_EQ(count_keys(d0, "_id"), 1);
  EXPECT_EQ(first_key(d0), "_id");
  EXPECT_EQ(str_at(d0, "messageId"), "m-1");
  EXPECT_EQ(type_at(d0, "x"), BSON_TYPE_INT32);
  EXPECT_EQ(id_of(r.batch.docs[1]), "rid-1:1");
  EXPECT_EQ(type_at(r.batch.docs[2].doc.get(), "_id"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(type_at(r.batch.docs[2].doc.get(), "_id.k"), BSON_TYPE_INT32);
}

TEST(FirehoseDecode, IdFromNestedPathAfterConversion) {
  Firehose cfg = json_cfg();
  cfg.id = "meta.ref";
  cfg.object_ids = {"meta.ref"};
  auto r = decode_body(cfg, body_with({std::string(R"({"meta":{"ref":")") + kOid + R"("}})"}));
  ASSERT_EQ(r.batch.docs.size(), 1u);
  bson_iter_t it;
  ASSERT_TRUE(find(r.batch.docs[0].doc.get(), "_id", it));
  ASSERT_EQ(bson_iter_type(&it), BSON_TYPE_OID);
  char hex[25];
  bson_oid_to_string(bson_iter_oid(&it), hex);
  EXPECT_STREQ(hex, kOid);
}

TEST(FirehoseDecode, MetadataField) {
  Firehose cfg = json_cfg();
  cfg.metadata = "_firehose";
  Head head = default_head();
  head.common_attributes = {{"env", "prod"}, {"team", "data"}};
  auto r = decode_body(cfg, body_with({R"({"x":1,"_firehose":"spoofed"})"}), head);
  ASSERT_EQ(r.batch.docs.size(), 1u);
  const bson_t* d = r.batch.docs[0].doc.get();
  EXPECT_EQ(count_keys(d, "_firehose"), 1);
  EXPECT_EQ(type_at(d, "_firehose"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(str_at(d, "_firehose.requestId"), "rid-1");
  EXPECT_EQ(str_at(d, "_firehose.sourceArn"), head.source_arn);
  EXPECT_EQ(date_at(d, "_firehose.receivedAt"), kReceived);
  EXPECT_EQ(type_at(d, "_firehose.commonAttributes"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(str_at(d, "_firehose.commonAttributes.env"), "prod");
  EXPECT_EQ(str_at(d, "_firehose.commonAttributes.team"), "data");
  EXPECT_EQ(type_at(d, "x"), BSON_TYPE_INT32);
  EXPECT_EQ(id_of(r.batch.docs[0]), "rid-1:0");
}

TEST(FirehoseDecode, NoMetadataByDefault) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with({R"({"x":1,"_firehose":"kept"})"}));
  ASSERT_EQ(r.batch.docs.size(), 1u);
  EXPECT_EQ(str_at(r.batch.docs[0].doc.get(), "_firehose"), "kept");
}

TEST(FirehoseDecode, RawRecord) {
  const Firehose cfg = json_cfg();
  auto r = decode_body(cfg, body_with_b64({base64_encode("hello"), "@@@"}));
  Decoder dec(cfg, 1 << 20);
  EXPECT_EQ(dec.raw_record(r.env, 0), "hello");
  EXPECT_EQ(dec.raw_record(r.env, 1), "@@@");
  EXPECT_EQ(dec.raw_record(r.env, 2), "");
}

// ---- text ----

TEST(FirehoseDecode, TextMode) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::text;
  auto r = decode_body(cfg, body_with({"hola esto es una prueba", "", gzip("zipped line\n"), R"({"json":"stays text"})",
                                       std::string("\xff\xfe bad utf8", 11)}));
  ASSERT_EQ(r.batch.docs.size(), 4u);
  EXPECT_EQ(str_at(r.batch.docs[0].doc.get(), "data"), "hola esto es una prueba");
  EXPECT_EQ(id_of(r.batch.docs[0]), "rid-1:0");
  EXPECT_EQ(str_at(r.batch.docs[1].doc.get(), "data"), "");
  EXPECT_EQ(str_at(r.batch.docs[2].doc.get(), "data"), "zipped line\n");
  EXPECT_EQ(str_at(r.batch.docs[3].doc.get(), "data"), R"({"json":"stays text"})");
  ASSERT_EQ(r.batch.rejects.size(), 1u);
  EXPECT_EQ(r.batch.rejects[0].record, 4u);
  EXPECT_EQ(r.batch.rejects[0].data, std::string("\xff\xfe bad utf8", 11));
}

TEST(FirehoseDecode, TextModeWithMetadata) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::text;
  cfg.metadata = "meta";
  auto r = decode_body(cfg, fixture("direct_put_with_non_json_message.json"));
  ASSERT_EQ(r.batch.docs.size(), 1u);
  const bson_t* d = r.batch.docs[0].doc.get();
  EXPECT_EQ(str_at(d, "data"), "hola esto es una prueba");
  EXPECT_EQ(str_at(d, "meta.requestId"), "aa9febd3-d9d0-45a2-9032-294078d926d5");
}

// ---- cloudwatch-logs ----

TEST(FirehoseDecode, CloudWatchOnlyControlMessages) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::cloudwatch_logs;
  auto r = decode_body(cfg, fixture("cw_logs_with_only_control_messages.json"));
  EXPECT_EQ(r.batch.records, 1u);
  EXPECT_EQ(r.batch.dropped, 1u);
  EXPECT_TRUE(r.batch.docs.empty());
  EXPECT_TRUE(r.batch.rejects.empty());
}

TEST(FirehoseDecode, CloudWatchDataMessages) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::cloudwatch_logs;
  auto r = decode_body(cfg, fixture("cw_logs_with_only_data_messages.json"));
  EXPECT_EQ(r.batch.dropped, 0u);
  EXPECT_TRUE(r.batch.rejects.empty());
  ASSERT_EQ(r.batch.docs.size(), 13u);
  const bson_t* d = r.batch.docs[0].doc.get();
  EXPECT_EQ(str_at(d, "_id"), "37563910511486759624444503250502373204917139759160229888");
  EXPECT_EQ(date_at(d, "timestamp"), 1684424003641);
  EXPECT_EQ(str_at(d, "owner"), "366620023056");
  EXPECT_EQ(str_at(d, "logGroup"), "/aws/lambda/logging-lambda");
  EXPECT_EQ(str_at(d, "logStream"), "2023/05/18/[$LATEST]405d340d30f844c4ad376392489343f5");
  EXPECT_EQ(str_at(d, "message").rfind("INIT_START Runtime Version: nodejs:18.v6\tRuntime", 0), 0u);
  const bson_t* last = r.batch.docs[12].doc.get();
  EXPECT_EQ(str_at(last, "_id"), "37563910597411530874382994214839495709431276641702772748");
  EXPECT_EQ(date_at(last, "timestamp"), 1684424007494);
  for (const auto& doc : r.batch.docs) EXPECT_EQ(doc.record, 0u);
}

TEST(FirehoseDecode, CloudWatchMixed) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::cloudwatch_logs;
  auto r = decode_body(cfg, fixture("cw_logs_mixed.json"));
  EXPECT_EQ(r.batch.records, 2u);
  EXPECT_EQ(r.batch.dropped, 1u);
  EXPECT_TRUE(r.batch.rejects.empty());
  ASSERT_EQ(r.batch.docs.size(), 13u);
  for (const auto& doc : r.batch.docs) EXPECT_EQ(doc.record, 1u);
}

TEST(FirehoseDecode, CloudWatchControlAndTruncatedRecord) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::cloudwatch_logs;
  auto r = decode_body(cfg, fixture("cw_logs_control_and_bad_records.json"));
  EXPECT_EQ(r.batch.records, 2u);
  EXPECT_EQ(r.batch.dropped, 1u);
  EXPECT_TRUE(r.batch.docs.empty());
  ASSERT_EQ(r.batch.rejects.size(), 1u);
  EXPECT_EQ(r.batch.rejects[0].record, 1u);
  // The record's base64 is cut off mid-quantum (non-zero trailing bits), so the
  // strict decoder refuses it and the reject keeps the base64 text as sent.
  EXPECT_EQ(r.batch.rejects[0].data, std::string(r.env.data[1]));
  EXPECT_EQ(r.batch.rejects[0].data, "H4sIAAAAAAAAADWO0QqCMBiFX2XsWsJSwrwLUW8sIYUuQmLpnxvpJttMQnz3Ztrlxzm");
  EXPECT_NE(r.batch.rejects[0].reason.find("base64"), std::string::npos) << r.batch.rejects[0].reason;
}

TEST(FirehoseDecode, CloudWatchJsonMessagesAndMetadata) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::cloudwatch_logs;
  cfg.metadata = "_firehose";
  cfg.dates = {"message.at"};
  const std::string msg =
      R"({"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],)"
      R"("logEvents":[{"id":"e1","timestamp":1704164645000,"message":"{\"level\":\"info\",\"n\":5,\"at\":\"2024-01-02T03:04:05Z\"}"},)"
      R"({"id":"e2","timestamp":1,"message":" [1,2]"},{"id":"e3","timestamp":2,"message":"{not json"},)"
      R"({"id":"e4","timestamp":3,"message":"plain"}]})";
  auto r = decode_body(cfg, body_with({gzip(msg), msg}));  // gzip is optional
  EXPECT_TRUE(r.batch.rejects.empty()) << r.batch.rejects[0].reason;
  ASSERT_EQ(r.batch.docs.size(), 8u);
  const bson_t* e1 = r.batch.docs[0].doc.get();
  EXPECT_EQ(str_at(e1, "_id"), "e1");
  EXPECT_EQ(type_at(e1, "message"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(str_at(e1, "message.level"), "info");
  EXPECT_EQ(type_at(e1, "message.n"), BSON_TYPE_INT32);
  EXPECT_EQ(date_at(e1, "message.at"), kReceived);
  EXPECT_EQ(date_at(e1, "timestamp"), kReceived);
  EXPECT_EQ(str_at(e1, "_firehose.requestId"), "rid-1");
  EXPECT_EQ(type_at(r.batch.docs[1].doc.get(), "message"), BSON_TYPE_ARRAY);
  EXPECT_EQ(str_at(r.batch.docs[2].doc.get(), "message"), "{not json");
  EXPECT_EQ(str_at(r.batch.docs[3].doc.get(), "message"), "plain");
  EXPECT_EQ(str_at(r.batch.docs[3].doc.get(), "logGroup"), "g");
  EXPECT_EQ(str_at(r.batch.docs[7].doc.get(), "_id"), "e4");
  EXPECT_EQ(r.batch.docs[7].record, 1u);
}

TEST(FirehoseDecode, CloudWatchMalformedMessagesAreRejected) {
  Firehose cfg = json_cfg();
  cfg.records = RecordFormat::cloudwatch_logs;
  const std::vector<std::string> bad = {
      "not json",
      R"({"owner":"1"})",
      R"({"messageType":"SOMETHING_ELSE"})",
      R"({"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s"})",
      R"({"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[)"
      R"({"id":"ok","timestamp":1,"message":"m"},{"timestamp":1,"message":"no id"}]})",
      R"({"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[)"
      R"({"id":"x","timestamp":"1","message":"m"}]})",
  };
  auto r = decode_body(cfg, body_with(bad));
  EXPECT_TRUE(r.batch.docs.empty()) << "a partly bad record must not leave documents behind";
  EXPECT_EQ(r.batch.dropped, 0u);
  ASSERT_EQ(r.batch.rejects.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(r.batch.rejects[i].record, i);
    EXPECT_EQ(r.batch.rejects[i].data, bad[i]);
  }
}
