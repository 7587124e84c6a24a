#include <gtest/gtest.h>
#include <simdjson.h>

#include "test_support.hpp"

#include <filesystem>
#include <string>

#include "codec/datetime.hpp"
#include "sources/firehose/protocol.hpp"

using hydrant::config::Firehose;
using hydrant::firehose::check_head;
using hydrant::firehose::Envelope;
using hydrant::firehose::Error;
using hydrant::firehose::Head;
using hydrant::firehose::kMaxErrorMessage;
using hydrant::firehose::parse_envelope;
using hydrant::firehose::render;
using hydrant::firehose::render_body;
using hydrant::http::Request;
using hydrant_test::fixture_path;
using hydrant_test::read_file;

namespace {

Request good_request() {
  Request r;
  r.method = "POST";
  r.path = r.target = "/firehose";
  r.headers = {{"Content-Type", "application/json"},
               {"X-Amz-Firehose-Protocol-Version", "1.0"},
               {"X-Amz-Firehose-Request-Id", "ed4acda5-034f-9f42-bba1-f29aea6d7d8f"},
               {"X-Amz-Firehose-Source-Arn", "arn:aws:firehose:us-east-1:123456789012:deliverystream/s"}};
  return r;
}

void set_header(Request& r, const std::string& name, const std::string& value) {
  for (auto& [k, v] : r.headers)
    if (hydrant::http::iequals(k, name)) {
      v = value;
      return;
    }
  r.headers.emplace_back(name, value);
}

void remove_header(Request& r, const std::string& name) {
  std::erase_if(r.headers, [&](const auto& h) { return hydrant::http::iequals(h.first, name); });
}

std::optional<Error> parse(std::string body, Envelope& env) {
  body.reserve(body.size() + 64);
  // The envelope's views point into the parser, not into `body`, so a local body is fine.
  return parse_envelope(body, env);
}

std::string records_body(size_t n, const std::string& data = "e30=") {
  std::string s = R"({"requestId":"r1","timestamp":1700000000000,"records":[)";
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    s += R"({"data":")" + data + R"("})";
  }
  s += "]}";
  return s;
}

// Parses a rendered body with simdjson, so the tests check it is valid JSON.
simdjson::dom::object parse_json(simdjson::dom::parser& p, const std::string& s) {
  simdjson::dom::object obj;
  EXPECT_EQ(p.parse(s).get(obj), simdjson::SUCCESS) << s;
  return obj;
}

}  // namespace

// ---- check_head ----

TEST(FirehoseHead, AcceptsValidHeaders) {
  Firehose cfg;
  Head head;
  auto err = check_head(cfg, good_request(), head);
  EXPECT_FALSE(err.has_value()) << err->message;
  EXPECT_EQ(head.request_id, "ed4acda5-034f-9f42-bba1-f29aea6d7d8f");
  EXPECT_EQ(head.source_arn, "arn:aws:firehose:us-east-1:123456789012:deliverystream/s");
  EXPECT_TRUE(head.common_attributes.empty());
}

TEST(FirehoseHead, HeaderNamesAreCaseInsensitive) {
  Firehose cfg;
  cfg.access_keys = {"k"};
  Request r;
  r.headers = {{"x-amz-firehose-protocol-version", "1.0"},
               {"X-AMZ-FIREHOSE-REQUEST-ID", "id"},
               {"x-amz-firehose-source-arn", "arn"},
               {"x-amz-firehose-access-key", "k"}};
  Head head;
  EXPECT_FALSE(check_head(cfg, r, head).has_value());
  EXPECT_EQ(head.request_id, "id");
}

TEST(FirehoseHead, MissingVersion) {
  Firehose cfg;
  Request r = good_request();
  remove_header(r, "X-Amz-Firehose-Protocol-Version");
  Head head;
  auto err = check_head(cfg, r, head);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->status, 400);
  EXPECT_NE(err->message.find("Protocol-Version"), std::string::npos);
  EXPECT_EQ(head.request_id, "ed4acda5-034f-9f42-bba1-f29aea6d7d8f");  // still known for the response
}

TEST(FirehoseHead, OtherVersion) {
  Firehose cfg;
  for (const char* v : {"2.0", "1.1", "1", "", " 1.0"}) {
    Request r = good_request();
    set_header(r, "X-Amz-Firehose-Protocol-Version", v);
    Head head;
    auto err = check_head(cfg, r, head);
    ASSERT_TRUE(err.has_value()) << v;
    EXPECT_EQ(err->status, 400) << v;
  }
}

TEST(FirehoseHead, MissingRequestId) {
  Firehose cfg;
  Request r = good_request();
  remove_header(r, "X-Amz-Firehose-Request-Id");
  Head head;
  auto err = check_head(cfg, r, head);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->status, 400);
  EXPECT_NE(err->message.find("Request-Id"), std::string::npos);

  set_header(r, "X-Amz-Firehose-Request-Id", "");
  err = check_head(cfg, r, head);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->status, 400);
}

TEST(FirehoseHead, MissingSourceArn) {
  Firehose cfg;
  Request r = good_request();
  remove_header(r, "X-Amz-Firehose-Source-Arn");
  Head head;
  auto err = check_head(cfg, r, head);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->status, 400);
  EXPECT_NE(err->message.find("Source-Arn"), std::string::npos);
}

TEST(FirehoseHead, NoAccessKeysConfiguredAcceptsAnyOrNone) {
  Firehose cfg;
  Request r = good_request();
  Head head;
  EXPECT_FALSE(check_head(cfg, r, head).has_value());
  set_header(r, "X-Amz-Firehose-Access-Key", "whatever");
  EXPECT_FALSE(check_head(cfg, r, head).has_value());
}

TEST(FirehoseHead, AnyOfSeveralKeysIsAccepted) {
  Firehose cfg;
  cfg.access_keys = {"old-key-1234", "new-key-5678", std::string(4096, 'x')};
  for (const auto& key : cfg.access_keys) {
    Request r = good_request();
    set_header(r, "X-Amz-Firehose-Access-Key", key);
    Head head;
    auto err = check_head(cfg, r, head);
    EXPECT_FALSE(err.has_value()) << key.substr(0, 20) << ": " << err->message;
  }
}

TEST(FirehoseHead, WrongOrMissingKeyIs401) {
  Firehose cfg;
  cfg.access_keys = {"old-key-1234", "new-key-5678"};
  for (const char* bad : {"", "old-key-123", "old-key-12345", "OLD-KEY-1234", "new-key-5678 ", "x"}) {
    Request r = good_request();
    set_header(r, "X-Amz-Firehose-Access-Key", bad);
    Head head;
    auto err = check_head(cfg, r, head);
    ASSERT_TRUE(err.has_value()) << bad;
    EXPECT_EQ(err->status, 401) << bad;
    EXPECT_EQ(err->message.find("key-"), std::string::npos) << "error echoes a key: " << err->message;
  }
  Request r = good_request();
  Head head;
  auto err = check_head(cfg, r, head);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->status, 401);
}

TEST(FirehoseHead, AuthIsCheckedBeforeOtherHeaders) {
  Firehose cfg;
  cfg.access_keys = {"k"};
  Request r;
  r.headers = {{"X-Amz-Firehose-Request-Id", "rid"}};
  Head head;
  auto err = check_head(cfg, r, head);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->status, 401);
  EXPECT_EQ(head.request_id, "rid");
}

TEST(FirehoseHead, CommonAttributes) {
  Firehose cfg;
  Request r = good_request();
  set_header(r, "X-Amz-Firehose-Common-Attributes",
             R"({"commonAttributes":{"env":"prod","team":"data \"eng\"","unicode":"h\u00e9"}})");
  Head head;
  auto err = check_head(cfg, r, head);
  ASSERT_FALSE(err.has_value()) << err->message;
  ASSERT_EQ(head.common_attributes.size(), 3u);
  EXPECT_EQ(head.common_attributes[0], (std::pair<std::string, std::string>{"env", "prod"}));
  EXPECT_EQ(head.common_attributes[1], (std::pair<std::string, std::string>{"team", "data \"eng\""}));
  EXPECT_EQ(head.common_attributes[2], (std::pair<std::string, std::string>{"unicode", "h\xc3\xa9"}));

  Head empty;
  set_header(r, "X-Amz-Firehose-Common-Attributes", R"({"commonAttributes":{}})");
  EXPECT_FALSE(check_head(cfg, r, empty).has_value());
  EXPECT_TRUE(empty.common_attributes.empty());
}

TEST(FirehoseHead, MalformedCommonAttributesAre400) {
  Firehose cfg;
  for (const char* bad : {"not json", "", R"({"commonAttributes":"x"})", R"({"other":{}})", R"([1,2])",
                          R"({"commonAttributes":{"a":1}})", R"({"commonAttributes":{"a":{"b":"c"}}})",
                          R"({"commonAttributes":{"a":"b")"}) {
    Request r = good_request();
    set_header(r, "X-Amz-Firehose-Common-Attributes", bad);
    Head head;
    auto err = check_head(cfg, r, head);
    ASSERT_TRUE(err.has_value()) << bad;
    EXPECT_EQ(err->status, 400) << bad;
  }
}

// ---- parse_envelope ----

TEST(FirehoseEnvelope, ValidBody) {
  Envelope env;
  auto err = parse(R"({"requestId":"abc-123","timestamp":1684422829730,"records":[{"data":"eyJhIjoxfQ=="},{"data":""}]})",
                   env);
  ASSERT_FALSE(err.has_value()) << err->message;
  EXPECT_EQ(env.request_id, "abc-123");
  EXPECT_EQ(env.timestamp, 1684422829730);
  ASSERT_EQ(env.data.size(), 2u);
  EXPECT_EQ(env.data[0], "eyJhIjoxfQ==");
  EXPECT_EQ(env.data[1], "");
}

TEST(FirehoseEnvelope, ExtraFieldsAndWhitespaceAreFine) {
  Envelope env;
  auto err = parse("  {\n \"records\" : [ {\"data\":\"QQ==\", \"extra\": 1} ],\n \"timestamp\": 1.7e12, "
                   "\"requestId\": \"x\", \"more\": null }  ",
                   env);
  ASSERT_FALSE(err.has_value()) << err->message;
  EXPECT_EQ(env.timestamp, 1700000000000);
  EXPECT_EQ(env.data.size(), 1u);
}

TEST(FirehoseEnvelope, RequiresPadding) {
  std::string body = records_body(1);
  body.shrink_to_fit();
  Envelope env;
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    auto err = parse_envelope(body, env);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->status, 500);
  }
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  EXPECT_FALSE(parse_envelope(body, env).has_value());
}

TEST(FirehoseEnvelope, CapturedBodies) {
  const std::filesystem::path dir = fixture_path("firehose-captures");
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    Envelope env;
    auto err = parse(read_file(entry.path()), env);
    ASSERT_FALSE(err.has_value()) << entry.path() << ": " << err->message;
    EXPECT_FALSE(env.request_id.empty()) << entry.path();
    EXPECT_GT(env.timestamp, 1684000000000) << entry.path();
    EXPECT_GE(env.data.size(), 1u) << entry.path();
    for (auto d : env.data) EXPECT_FALSE(d.empty()) << entry.path();
  }
  EXPECT_GE(files, 6u);
}

TEST(FirehoseEnvelope, DirectPutCaptureContent) {
  Envelope env;
  auto err = parse(read_file(fixture_path("firehose-captures/direct_put.json")), env);
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(env.request_id, "a1af4300-6c09-4916-ba8f-12f336176246");
  EXPECT_EQ(env.timestamp, 1684422829730);
  ASSERT_EQ(env.data.size(), 3u);
  EXPECT_EQ(env.data[2], "eyJDSEFOR0UiOi01LjkyLCJQUklDRSI6MTk5LjA4LCJUSUNLRVJfU1lNQk9MIjoiSEpWIiwiU0VDVE9SIjoiRU5FUkdZIn0=");
}

TEST(FirehoseEnvelope, MissingOrWrongFieldsAre400) {
  const char* cases[] = {
      R"({"timestamp":1,"records":[{"data":""}]})",
      R"({"requestId":5,"timestamp":1,"records":[{"data":""}]})",
      R"({"requestId":null,"timestamp":1,"records":[{"data":""}]})",
      R"({"requestId":"r","records":[{"data":""}]})",
      R"({"requestId":"r","timestamp":"1","records":[{"data":""}]})",
      R"({"requestId":"r","timestamp":null,"records":[{"data":""}]})",
      R"({"requestId":"r","timestamp":1})",
      R"({"requestId":"r","timestamp":1,"records":{"data":""}})",
      R"({"requestId":"r","timestamp":1,"records":"x"})",
      R"({"requestId":"r","timestamp":1,"records":[]})",
      R"({"requestId":"r","timestamp":1,"records":[{}]})",
      R"({"requestId":"r","timestamp":1,"records":[{"data":""},{"dat":""}]})",
      R"({"requestId":"r","timestamp":1,"records":[{"data":5}]})",
      R"({"requestId":"r","timestamp":1,"records":[{"data":null}]})",
      R"({"requestId":"r","timestamp":1,"records":[{"data":["QQ=="]}]})",
      R"({"requestId":"r","timestamp":1,"records":["QQ=="]})",
      R"([{"requestId":"r","timestamp":1,"records":[{"data":""}]}])",
      R"("just a string")",
      "not json",
      "",
      R"({"requestId":"r","timestamp":1,"records":[{"data":""}])",
      R"({"requestId":"r","timestamp":1,"records":[{"data":""}]} trailing)",
  };
  for (const char* body : cases) {
    Envelope env;
    auto err = parse(body, env);
    ASSERT_TRUE(err.has_value()) << body;
    EXPECT_EQ(err->status, 400) << body;
    EXPECT_FALSE(err->message.empty()) << body;
  }
}

TEST(FirehoseEnvelope, ErrorMessagesSayWhatIsWrong) {
  // The part after the fixed description of the expected body.
  auto detail = [](const char* body) {
    Envelope env;
    auto err = parse(body, env);
    EXPECT_TRUE(err.has_value()) << body;
    if (!err) return std::string();
    const size_t p = err->message.rfind("): ");
    return p == std::string::npos ? err->message : err->message.substr(p + 3);
  };
  EXPECT_NE(detail(R"({"timestamp":1,"records":[{"data":""}]})").find("requestId"), std::string::npos);
  EXPECT_NE(detail(R"({"requestId":"r","records":[{"data":""}]})").find("timestamp"), std::string::npos);
  EXPECT_NE(detail(R"({"requestId":"r","timestamp":1})").find("records"), std::string::npos);
  EXPECT_NE(detail(R"({"requestId":"r","timestamp":1,"records":[]})").find("empty"), std::string::npos);
  EXPECT_NE(detail(R"({"requestId":"r","timestamp":1,"records":[{}]})").find("data"), std::string::npos);
  EXPECT_NE(detail(R"({"requestId":"r","timestamp":1,"records":[{"data":1}]})").find("string"), std::string::npos);
}

TEST(FirehoseEnvelope, RecordCountLimits) {
  {
    Envelope env;
    auto err = parse(records_body(10000), env);
    ASSERT_FALSE(err.has_value()) << err->message;
    EXPECT_EQ(env.data.size(), 10000u);
  }
  {
    Envelope env;
    auto err = parse(records_body(10001), env);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->status, 400);
    EXPECT_NE(err->message.find("10000"), std::string::npos);
  }
}

TEST(FirehoseEnvelope, EnvelopeOutlivesTheBody) {
  Envelope env;
  {
    std::string body = records_body(3, "aGVsbG8=");
    body.reserve(body.size() + 64);
    ASSERT_FALSE(parse_envelope(body, env).has_value());
    body.assign(body.size(), 'X');  // scribble over the source
  }
  ASSERT_EQ(env.data.size(), 3u);
  EXPECT_EQ(env.data[2], "aGVsbG8=");
}

// ---- render ----

TEST(FirehoseRender, SuccessBodyShape) {
  EXPECT_EQ(render_body("abc", 1700000000123), R"({"requestId":"abc","timestamp":1700000000123})");
  EXPECT_EQ(render_body("", 0), R"({"requestId":"","timestamp":0})");
}

TEST(FirehoseRender, ErrorBodyShape) {
  EXPECT_EQ(render_body("abc", 5, "boom"), R"({"requestId":"abc","timestamp":5,"errorMessage":"boom"})");
}

TEST(FirehoseRender, Escaping) {
  const std::string msg = std::string("quote \" back \\ nl \n cr \r tab \t bell \x07 nul ") + '\0' + " \x1f end é";
  const std::string body = render_body("id\"1", 7, msg);
  EXPECT_EQ(body, std::string(R"({"requestId":"id\"1","timestamp":7,"errorMessage":"quote \" back \\ nl \n cr \r tab \t bell \u0007 nul \u0000 \u001f end é"})"));
  simdjson::dom::parser p;
  auto obj = parse_json(p, body);
  std::string_view got;
  ASSERT_EQ(obj["errorMessage"].get(got), simdjson::SUCCESS);
  EXPECT_EQ(got, msg);
  ASSERT_EQ(obj["requestId"].get(got), simdjson::SUCCESS);
  EXPECT_EQ(got, "id\"1");
  for (char c : body) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in body";
}

TEST(FirehoseRender, TruncatesErrorMessage) {
  const std::string msg(20000, 'a');
  const std::string body = render_body("r", 1, msg);
  simdjson::dom::parser p;
  auto obj = parse_json(p, body);
  std::string_view got;
  ASSERT_EQ(obj["errorMessage"].get(got), simdjson::SUCCESS);
  EXPECT_EQ(got.size(), kMaxErrorMessage);
  EXPECT_EQ(kMaxErrorMessage, 8192u);

  // Exactly at the limit: untouched.
  const std::string exact(8192, 'b');
  auto obj2 = parse_json(p, render_body("r", 1, exact));
  ASSERT_EQ(obj2["errorMessage"].get(got), simdjson::SUCCESS);
  EXPECT_EQ(got, exact);
}

TEST(FirehoseRender, TruncationKeepsUtf8Valid) {
  // 'é' is 2 bytes: an odd prefix puts a character across the 8192 boundary.
  std::string msg = "x";
  while (msg.size() < 9000) msg += "\xc3\xa9";
  const std::string body = render_body("r", 1, msg);
  EXPECT_TRUE(simdjson::validate_utf8(body.data(), body.size()));
  simdjson::dom::parser p;
  auto obj = parse_json(p, body);
  std::string_view got;
  ASSERT_EQ(obj["errorMessage"].get(got), simdjson::SUCCESS);
  EXPECT_LE(got.size(), kMaxErrorMessage);
  EXPECT_GE(got.size(), kMaxErrorMessage - 3);
}

TEST(FirehoseRender, ResponseHasNumericTimestampAndJsonType) {
  const int64_t before = hydrant::codec::now_ms();
  auto resp = render(200, "req-1");
  const int64_t after = hydrant::codec::now_ms();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.content_type, "application/json");
  for (const auto& [k, v] : resp.headers) {
    EXPECT_FALSE(hydrant::http::iequals(k, "Content-Encoding"));
    EXPECT_FALSE(hydrant::http::iequals(k, "Retry-After"));
  }
  simdjson::dom::parser p;
  auto obj = parse_json(p, resp.body);
  EXPECT_EQ(obj.size(), 2u);
  int64_t ts = 0;
  ASSERT_EQ(obj["timestamp"].get(ts), simdjson::SUCCESS);  // a JSON number, not a string
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
  std::string_view id;
  ASSERT_EQ(obj["requestId"].get(id), simdjson::SUCCESS);
  EXPECT_EQ(id, "req-1");
  simdjson::dom::element em;
  EXPECT_NE(obj["errorMessage"].get(em), simdjson::SUCCESS);
}

TEST(FirehoseRender, ErrorResponses) {
  for (int status : {400, 401, 413, 500}) {
    auto resp = render(status, "rid", "something failed");
    EXPECT_EQ(resp.status, status);
    simdjson::dom::parser p;
    auto obj = parse_json(p, resp.body);
    std::string_view m;
    ASSERT_EQ(obj["errorMessage"].get(m), simdjson::SUCCESS);
    EXPECT_EQ(m, "something failed");
    for (const auto& [k, v] : resp.headers) EXPECT_FALSE(hydrant::http::iequals(k, "Retry-After")) << status;
  }
}

TEST(FirehoseRender, ServiceUnavailableCarriesRetryAfter) {
  auto resp = render(503, "rid", "over max_inflight");
  EXPECT_EQ(resp.status, 503);
  bool found = false;
  for (const auto& [k, v] : resp.headers)
    if (hydrant::http::iequals(k, "Retry-After")) {
      found = true;
      ASSERT_FALSE(v.empty());
      for (char c : v) EXPECT_TRUE(c >= '0' && c <= '9') << v;
    }
  EXPECT_TRUE(found);
}

TEST(FirehoseRender, AppendJsonString) {
  std::string out = "x=";
  hydrant::firehose::append_json_string(out, "a\"b");
  EXPECT_EQ(out, "x=\"a\\\"b\"");
}
