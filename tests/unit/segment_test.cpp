// The Segment protocol module: signatures, routes, write keys, validation and
// the server-side fields.
#include <gtest/gtest.h>

#include "codec/base64.hpp"
#include "codec/urlencoded.hpp"
#include "common/hmac.hpp"
#include "sources/segment/tracking.hpp"
#include "sources/segment/webhook.hpp"
#include "test_support.hpp"

using namespace hydrant;
using hydrant_test::find;
using hydrant_test::type_at;

namespace {

config::Segment webhook_cfg() {
  config::Segment c;
  c.kind = config::Segment::Kind::webhook;
  c.path = "/segment";
  c.query_secret = "pub lic";
  c.shared_secret = "shh";
  c.database = "d";
  c.collection = "events";
  return c;
}

config::Segment tracking_cfg() {
  config::Segment c;
  c.kind = config::Segment::Kind::tracking_api;
  c.path = "/v1";
  c.write_keys = {"wk-1", "wk-2"};
  c.database = "d";
  c.collection = "events";
  return c;
}

http::Request request(std::string body, std::string query = {}) {
  http::Request r;
  r.method = "POST";
  r.path = "/segment";
  r.query = std::move(query);
  r.body = std::move(body);
  r.body.reserve(r.body.size() + simdjson::SIMDJSON_PADDING);
  return r;
}

std::string sign(const std::string& secret, std::string_view bytes) {
  return hex_lower(hmac(HmacAlgorithm::sha1, secret, bytes));
}

std::string str(const bson_t* b, const char* path) {
  bson_iter_t it;
  if (!find(b, path, it) || !BSON_ITER_HOLDS_UTF8(&it)) return "<none>";
  return bson_iter_utf8(&it, nullptr);
}

int64_t date(const bson_t* b, const char* path) {
  bson_iter_t it;
  if (!find(b, path, it) || !BSON_ITER_HOLDS_DATE_TIME(&it)) return -1;
  return bson_iter_date_time(&it);
}

}  // namespace

// ---- HMAC and form decoding ------------------------------------------------------------

TEST(Hmac, Rfc2202Sha1Vectors) {
  EXPECT_EQ(hex_lower(hmac(HmacAlgorithm::sha1, std::string(20, '\x0b'), "Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex_lower(hmac(HmacAlgorithm::sha1, "Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Hmac, Rfc4231Sha256AndSha512) {
  EXPECT_EQ(hex_lower(hmac(HmacAlgorithm::sha256, "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex_lower(hmac(HmacAlgorithm::sha512, "Jefe", "what do ya want for nothing?")),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdca"
            "eab1a34d4a6b4b636e070a38bce737");
}

TEST(UrlEncoded, DecodesPercentAndPlus) {
  const auto p = codec::parse_urlencoded("secret=a%2Bb+c&empty=&flag&x=%7e");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0], (std::pair<std::string, std::string>{"secret", "a+b c"}));
  EXPECT_EQ((*p)[1].second, "");
  EXPECT_EQ((*p)[2].first, "flag");
  EXPECT_EQ((*p)[3].second, "~");
  EXPECT_FALSE(codec::parse_urlencoded("a=%zz").has_value());
  EXPECT_FALSE(codec::parse_urlencoded("a=%4").has_value());
}

// ---- webhook ---------------------------------------------------------------------------

TEST(SegmentWebhook, QuerySecretAndSignatureHeaderBeforeTheBody) {
  const auto cfg = webhook_cfg();
  auto req = request("{}", "secret=pub+lic");
  EXPECT_EQ(segment::check_webhook_head(cfg, req)->message, "missing X-Signature header");
  req.headers.emplace_back("x-signature", "00");
  EXPECT_FALSE(segment::check_webhook_head(cfg, req).has_value());
  req.query = "secret=pub%20lix";
  EXPECT_EQ(segment::check_webhook_head(cfg, req)->status, 401);
  req.query = "other=1";
  EXPECT_EQ(segment::check_webhook_head(cfg, req)->message, "missing ?secret= in the URL");
}

TEST(SegmentWebhook, SignatureOverTheWholeObjectBody) {
  const auto cfg = webhook_cfg();
  const std::string body = R"({"type":"track","messageId":"m1"})";
  auto req = request(body);
  req.headers.emplace_back("X-Signature", sign("shh", body));
  EXPECT_FALSE(segment::check_signature(cfg, req).has_value());
  req.headers[0].second = sign("shh", body);
  for (auto& c : req.headers[0].second) c = static_cast<char>(std::toupper(c));
  EXPECT_FALSE(segment::check_signature(cfg, req).has_value()) << "uppercase hex";
  req.headers[0].second = sign("wrong", body);
  EXPECT_EQ(segment::check_signature(cfg, req)->status, 401);
  req.body += " ";
  req.headers[0].second = sign("shh", body);
  EXPECT_TRUE(segment::check_signature(cfg, req).has_value()) << "one more byte changes the HMAC";
}

TEST(SegmentWebhook, ArrayBodiesAreSignedOverTheFirstElement) {
  const auto cfg = webhook_cfg();
  const std::string e0 = R"({"messageId":"a","properties":{"s":"x]}\",y","n":[1,{"k":2}]}})";
  const std::string body = "[\n  " + e0 + " ,\n {\"messageId\":\"b\"}]";
  ASSERT_EQ(segment::first_array_element(body).value_or("<none>"), e0);
  auto req = request(body);
  req.headers.emplace_back("X-Signature", sign("shh", e0));
  EXPECT_FALSE(segment::check_signature(cfg, req).has_value());
  req.headers[0].second = sign("shh", body);
  EXPECT_TRUE(segment::check_signature(cfg, req).has_value()) << "the whole body is not what Segment signs";
  EXPECT_EQ(segment::first_array_element("[7]").value_or("<none>"), "7");
  EXPECT_FALSE(segment::first_array_element("[]").has_value());
  EXPECT_FALSE(segment::first_array_element("[{\"a\":1").has_value());
  EXPECT_FALSE(segment::first_array_element("{\"a\":[1]}").has_value());
}

TEST(SegmentWebhook, DecodeKeepsEventsAsReceivedWithMessageIdAsId) {
  const std::string body =
      R"([{"messageId":"m1","type":"track","receivedAt":"2020-01-01T00:00:00Z","properties":{"p":1}},)"
      R"(42,{"type":"identify"}])";
  auto req = request(body);
  segment::Parsed parsed;
  Batch batch;
  std::vector<std::string> ids;
  ASSERT_FALSE(segment::decode_webhook(req.body, 1700000000000, parsed, batch, ids).has_value());
  EXPECT_EQ(batch.records, 3u);
  ASSERT_EQ(batch.docs.size(), 2u);
  const bson_t* d0 = batch.docs[0].doc.get();
  EXPECT_EQ(str(d0, "_id"), "m1");
  EXPECT_EQ(str(d0, "type"), "track");
  EXPECT_EQ(type_at(d0, "properties.p"), BSON_TYPE_INT32);
  EXPECT_EQ(date(d0, "receivedAt"), 1700000000000) << "hydrant's receivedAt replaces the event's";
  ASSERT_EQ(batch.rejects.size(), 1u);
  EXPECT_EQ(batch.rejects[0].record, 1u);
  EXPECT_EQ(batch.rejects[0].data, "42");
  EXPECT_EQ(ids[0], "m1");
  EXPECT_TRUE(ids[1].empty());
  EXPECT_EQ(ids[2].rfind("sha256:", 0), 0u) << "an event without messageId gets a content hash";
  EXPECT_EQ(batch.docs[1].record, 2u);

  // The same body again: the same ids, so a retry replaces instead of adding.
  segment::Parsed parsed2;
  Batch batch2;
  std::vector<std::string> ids2;
  ASSERT_FALSE(segment::decode_webhook(req.body, 1, parsed2, batch2, ids2).has_value());
  EXPECT_EQ(ids2, ids);
  EXPECT_EQ(batch2.request_id, batch.request_id);
}

TEST(SegmentWebhook, BodiesThatAreNotEvents) {
  for (const char* body : {"not json", "\"a string\"", "[1,", ""}) {
    auto req = request(body);
    segment::Parsed parsed;
    Batch batch;
    std::vector<std::string> ids;
    const auto err = segment::decode_webhook(req.body, 1, parsed, batch, ids);
    ASSERT_TRUE(err.has_value()) << body;
    EXPECT_EQ(err->status, 400) << body;
  }
}

// ---- tracking API ----------------------------------------------------------------------

TEST(SegmentTracking, RoutesLongAndShort) {
  using segment::Call;
  EXPECT_EQ(segment::route("/track"), Call::track);
  EXPECT_EQ(segment::route("/t"), Call::track);
  EXPECT_EQ(segment::route("/i"), Call::identify);
  EXPECT_EQ(segment::route("/page/"), Call::page);
  EXPECT_EQ(segment::route("/s"), Call::screen);
  EXPECT_EQ(segment::route("/group"), Call::group);
  EXPECT_EQ(segment::route("/a"), Call::alias);
  EXPECT_EQ(segment::route("/b"), Call::batch);
  EXPECT_EQ(segment::route("/import"), Call::batch);
  EXPECT_FALSE(segment::route("/nope").has_value());
  EXPECT_FALSE(segment::route("").has_value());
}

TEST(SegmentTracking, WriteKeyFromHeaders) {
  const auto cfg = tracking_cfg();
  http::Request req;
  bool found = true;
  EXPECT_FALSE(segment::check_header_key(cfg, req, found).has_value());
  EXPECT_FALSE(found) << "no key in the headers: the body must have it";
  for (const char* creds : {"wk-2:", "wk-2", "wk-2:ignored"}) {
    req.headers = {{"Authorization", "Basic " + codec::base64_encode(creds)}};
    EXPECT_FALSE(segment::check_header_key(cfg, req, found).has_value()) << creds;
    EXPECT_TRUE(found) << creds;
  }
  req.headers = {{"Authorization", "Basic " + codec::base64_encode("nope:")}};
  EXPECT_EQ(segment::check_header_key(cfg, req, found)->status, 401);
  req.headers = {{"X-Write-Key", "wk-1"}};
  EXPECT_FALSE(segment::check_header_key(cfg, req, found).has_value());
  EXPECT_TRUE(found);
  req.headers = {{"X-Write-Key", "wk-3"}};
  EXPECT_EQ(segment::check_header_key(cfg, req, found)->message, "unknown write key");
}

namespace {

struct Decoded {
  std::optional<segment::Error> error;
  Batch batch;
  segment::Parsed parsed;
};

Decoded decode(const config::Segment& cfg, segment::Call call, const std::string& body, bool key_found = true,
               int64_t received_at = 1700000100000) {
  Decoded d;
  std::string padded = body;
  padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  segment::TrackingDecoder decoder(cfg);
  d.error = decoder.decode(call, padded, key_found, received_at, d.parsed, d.batch);
  return d;
}

}  // namespace

TEST(SegmentTracking, ServerSideFieldsAndSkewCorrection) {
  const auto cfg = tracking_cfg();
  // The device clock is a day behind; the call was made 10 s before it was sent.
  const auto d = decode(cfg, segment::Call::track,
                        R"({"userId":"u","event":"Clicked","messageId":"m-1","writeKey":"wk-1",)"
                        R"("timestamp":"2023-11-13T22:13:10Z","sentAt":"2023-11-13T22:13:20Z","properties":{"a":1}})");
  ASSERT_FALSE(d.error.has_value()) << d.error->message;
  ASSERT_EQ(d.batch.docs.size(), 1u);
  const bson_t* doc = d.batch.docs[0].doc.get();
  EXPECT_EQ(str(doc, "_id"), "m-1");
  EXPECT_EQ(str(doc, "type"), "track");
  EXPECT_EQ(str(doc, "event"), "Clicked");
  EXPECT_EQ(type_at(doc, "writeKey"), BSON_TYPE_EOD) << "the write key is never stored";
  EXPECT_EQ(date(doc, "receivedAt"), 1700000100000);
  EXPECT_EQ(date(doc, "originalTimestamp"), 1699913590000);
  EXPECT_EQ(date(doc, "sentAt"), 1699913600000);
  EXPECT_EQ(date(doc, "timestamp"), 1700000100000 - 10000);
}

TEST(SegmentTracking, TimestampWithoutSentAtOrWithoutAnything) {
  const auto cfg = tracking_cfg();
  auto d = decode(cfg, segment::Call::page, R"({"anonymousId":"a","timestamp":"2023-11-13T22:13:10.5+01:00"})");
  ASSERT_FALSE(d.error.has_value());
  EXPECT_EQ(date(d.batch.docs[0].doc.get(), "timestamp"), 1699909990500);
  EXPECT_EQ(date(d.batch.docs[0].doc.get(), "originalTimestamp"), 1699909990500);
  d = decode(cfg, segment::Call::identify, R"({"userId":7,"traits":{"plan":"pro"}})");
  ASSERT_FALSE(d.error.has_value());
  const bson_t* doc = d.batch.docs[0].doc.get();
  EXPECT_EQ(date(doc, "timestamp"), 1700000100000);
  EXPECT_EQ(type_at(doc, "originalTimestamp"), BSON_TYPE_EOD);
  EXPECT_EQ(str(doc, "type"), "identify");
  const std::string id = str(doc, "_id");
  EXPECT_EQ(id.size(), 36u) << "a missing messageId gets a UUID";
  EXPECT_EQ(str(doc, "messageId"), id);
}

TEST(SegmentTracking, SingleCallValidationNamesTheField) {
  const auto cfg = tracking_cfg();
  const std::pair<segment::Call, const char*> cases[] = {
      {segment::Call::track, R"({"event":"E"})"},
      {segment::Call::track, R"({"userId":"u"})"},
      {segment::Call::track, R"({"userId":"u","event":""})"},
      {segment::Call::group, R"({"userId":"u"})"},
      {segment::Call::alias, R"({"userId":"u"})"},
      {segment::Call::identify, R"({"userId":{"x":1}})"},
      {segment::Call::page, R"({"userId":"u","properties":[1]})"},
      {segment::Call::page, R"({"userId":"u","timestamp":"yesterday"})"},
      {segment::Call::page, R"({"userId":"u","messageId":5})"},
  };
  const char* expected[] = {"userId or anonymousId", "event", "event", "groupId", "previousId",
                            "userId must be a string", "properties must be an object", "timestamp",
                            "messageId"};
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto d = decode(cfg, cases[i].first, cases[i].second);
    ASSERT_TRUE(d.error.has_value()) << cases[i].second;
    EXPECT_EQ(d.error->status, 400);
    EXPECT_NE(d.error->message.find(expected[i]), std::string::npos) << d.error->message;
    EXPECT_TRUE(d.batch.docs.empty());
  }
}

TEST(SegmentTracking, BodyAndKeyProblems) {
  auto cfg = tracking_cfg();
  EXPECT_EQ(decode(cfg, segment::Call::track, "{nope").error->status, 400);
  EXPECT_EQ(decode(cfg, segment::Call::track, "[1]").error->message, "body must be a JSON object");
  auto d = decode(cfg, segment::Call::track, R"({"userId":"u","event":"E"})", false);
  EXPECT_EQ(d.error->status, 401);
  EXPECT_NE(d.error->message.find("missing write key"), std::string::npos);
  d = decode(cfg, segment::Call::track, R"({"userId":"u","event":"E","writeKey":"wk-9"})", false);
  EXPECT_EQ(d.error->message, "unknown write key");
  d = decode(cfg, segment::Call::track, R"({"userId":"u","event":"E","writeKey":"wk-2"})", false);
  EXPECT_FALSE(d.error.has_value());
  cfg.max_event = 100;
  d = decode(cfg, segment::Call::track, R"({"userId":"u","event":"E","properties":{"pad":")" +
                                            std::string(100, 'x') + "\"}}");
  EXPECT_NE(d.error->message.find("max_event"), std::string::npos);
}

TEST(SegmentTracking, BatchMergesContextAndRejectsOnlyTheBadEvents) {
  auto cfg = tracking_cfg();
  cfg.max_event = 200;
  const std::string big = std::string(200, 'x');
  const auto d = decode(cfg, segment::Call::batch,
                        R"({"writeKey":"wk-1","sentAt":"2023-11-13T22:13:20Z",)"
                        R"("context":{"library":{"name":"x"},"ip":"1.2.3.4"},"integrations":{"All":false},)"
                        R"("batch":[)"
                        R"({"type":"track","event":"A","userId":"u","messageId":"a","context":{"ip":"5.6.7.8"},)"
                        R"("timestamp":"2023-11-13T22:13:15Z"},)"
                        R"({"type":"track","userId":"u"},)"
                        R"({"type":"nope","userId":"u"},)"
                        R"("not an event",)"
                        R"({"type":"identify","userId":"u","traits":{"big":")" +
                            big + R"("}},)"
                        R"({"type":"screen","anonymousId":"z","messageId":"s"}]})",
                        false);
  ASSERT_FALSE(d.error.has_value()) << d.error->message;
  EXPECT_EQ(d.batch.records, 6u);
  ASSERT_EQ(d.batch.docs.size(), 2u);
  const bson_t* a = d.batch.docs[0].doc.get();
  EXPECT_EQ(str(a, "context.ip"), "5.6.7.8") << "the event's own context keys win";
  EXPECT_EQ(str(a, "context.library.name"), "x");
  EXPECT_EQ(type_at(a, "integrations.All"), BSON_TYPE_BOOL);
  EXPECT_EQ(date(a, "sentAt"), 1699913600000) << "the batch's sentAt applies";
  EXPECT_EQ(date(a, "timestamp"), 1700000100000 - 5000);
  EXPECT_EQ(str(d.batch.docs[1].doc.get(), "context.ip"), "1.2.3.4");
  EXPECT_EQ(d.batch.docs[1].record, 5u);
  ASSERT_EQ(d.batch.rejects.size(), 4u);
  EXPECT_EQ(d.batch.rejects[0].reason, "batch[1]: event is required for track (a non-empty string)");
  EXPECT_NE(d.batch.rejects[1].reason.find("batch[2]: type must be one of"), std::string::npos);
  EXPECT_EQ(d.batch.rejects[2].reason, "batch[3]: an event must be a JSON object");
  EXPECT_NE(d.batch.rejects[3].reason.find("batch[4]: event is larger than max_event"), std::string::npos);
  EXPECT_EQ(d.batch.rejects[0].data, R"({"type":"track","userId":"u"})");
}

TEST(SegmentTracking, BatchLevelProblemsFailTheRequest) {
  auto cfg = tracking_cfg();
  cfg.max_batch_events = 2;
  EXPECT_EQ(decode(cfg, segment::Call::batch, R"({"batch":{}})").error->message, "batch must be an array of events");
  EXPECT_EQ(decode(cfg, segment::Call::batch, R"({})").error->message, "batch must be an array of events");
  const auto d = decode(cfg, segment::Call::batch, R"({"batch":[{},{},{}]})");
  EXPECT_EQ(d.error->message, "batch has 3 events; the limit is 2 (max_batch_events)");
  EXPECT_EQ(decode(cfg, segment::Call::batch, R"({"batch":[],"context":7})").error->message,
            "context must be an object");
  EXPECT_EQ(decode(cfg, segment::Call::batch, R"({"batch":[],"sentAt":"soon"})").error->status, 400);
}
