// [[webhook]]: the config, every signature preset (against published vectors
// and HMACs computed here), and the body → documents rules.
#include <gtest/gtest.h>

#include "codec/base64.hpp"
#include "common/hmac.hpp"
#include "config/config.hpp"
#include "sources/webhook/webhook.hpp"
#include "test_support.hpp"

using namespace hydrant;
using hydrant_test::find;
using hydrant_test::type_at;

namespace {

config::Webhook load(const std::string& body) {
  const auto r = config::load_string("[[webhook]]\npath = \"/h\"\ndatabase = \"d\"\ncollection = \"c\"\n" + body);
  EXPECT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0]);
  return r.config ? r.config->webhook.at(0) : config::Webhook{};
}

http::Request post(std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Request r;
  r.method = "POST";
  r.path = "/h";
  r.body = std::move(body);
  r.body.reserve(r.body.size() + 64);
  r.headers = std::move(headers);
  return r;
}

std::string hex256(const std::string& key, const std::string& data) {
  return hex_lower(hmac(HmacAlgorithm::sha256, key, data));
}

std::string str(const bson_t* b, const char* path) {
  bson_iter_t it;
  if (!find(b, path, it) || !BSON_ITER_HOLDS_UTF8(&it)) return "<none>";
  return bson_iter_utf8(&it, nullptr);
}

constexpr int64_t kNow = 1700000000;

}  // namespace

TEST(WebhookConfig, PresetsFillTheHmacSettings) {
  auto w = load("verify = \"github\"\nsecret = \"s\"\n");
  EXPECT_EQ(w.signature_header, "X-Hub-Signature-256");
  EXPECT_EQ(w.prefix, "sha256=");
  EXPECT_EQ(w.methods, std::vector<std::string>{"POST"});
  w = load("verify = \"shopify\"\nsecret = \"s\"\n");
  EXPECT_EQ(w.encoding, config::Webhook::Encoding::base64);
  w = load("verify = \"hmac\"\nsecret = \"s\"\nsignature_header = \"X-Sig\"\nalgorithm = \"sha1\"\nprefix = \"x=\"\n"
           "methods = [\"put\", \"POST\"]\nid = \"header:X-Id\"\nheaders = [\"X-Event\"]\n");
  EXPECT_EQ(w.algorithm, config::Webhook::Algorithm::sha1);
  EXPECT_EQ(w.methods, (std::vector<std::string>{"PUT", "POST"}));
  EXPECT_EQ(w.rejects, "c_rejects");
}

TEST(WebhookConfig, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"verify = \"github\"\n", "webhook[0].secret"},
      {"verify = \"githb\"\nsecret = \"s\"\n", "webhook[0].verify"},
      {"verify = \"github\"\nsecret = \"s\"\nsignature_header = \"X\"\n", "only for verify = \"hmac\""},
      {"verify = \"hmac\"\nsecret = \"s\"\n", "webhook[0].signature_header"},
      {"verify = \"hmac\"\nsecret = \"s\"\nsignature_header = \"X\"\nencoding = \"b32\"\n", "webhook[0].encoding"},
      {"verify = \"github\"\nsecret = \"s\"\ntolerance = 10\n", "only for verify = \"stripe\""},
      {"methods = [\"FETCH\"]\n", "webhook[0].methods"},
      {"verfy = \"none\"\n", "webhook[0].verfy"},
  };
  for (const auto& [toml, expected] : cases) {
    const auto r = config::load_string("[[webhook]]\npath = \"/h\"\ndatabase = \"d\"\ncollection = \"c\"\n" +
                                       std::string(toml));
    EXPECT_FALSE(r.config.has_value()) << toml;
    bool found = false;
    for (const auto& e : r.errors) found |= e.find(expected) != std::string::npos;
    EXPECT_TRUE(found) << toml << " → " << (r.errors.empty() ? "" : r.errors[0]);
  }
}

TEST(WebhookVerify, GithubPublishedVector) {
  const auto w = load("verify = \"github\"\nsecret = \"It's a Secret to Everybody\"\n");
  auto req = post("Hello, World!", {{"X-Hub-Signature-256",
                                     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}});
  EXPECT_FALSE(webhook::verify(w, req, kNow).has_value());
  req.body = "Hello, World?";
  EXPECT_EQ(webhook::verify(w, req, kNow)->status, 401);
  req.headers.clear();
  EXPECT_EQ(webhook::check_head(w, req, kNow)->message, "missing X-Hub-Signature-256 header");
}

TEST(WebhookVerify, AppServicesPublishedVectorAndLegacyHeader) {
  const auto w = load("verify = \"app-services\"\nsecret = \"12345\"\n");
  const std::string sig = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862";
  EXPECT_FALSE(webhook::verify(w, post(R"({"message":"MESSAGE"})", {{"Endpoint-Signature", sig}}), kNow));
  EXPECT_FALSE(webhook::verify(w, post(R"({"message":"MESSAGE"})", {{"X-Hook-Signature", sig}}), kNow));
  EXPECT_TRUE(webhook::verify(w, post(R"({"message":"MESSAGE"} )", {{"Endpoint-Signature", sig}}), kNow));
}

TEST(WebhookVerify, ShopifyIsBase64) {
  const auto w = load("verify = \"shopify\"\nsecret = \"shh\"\n");
  const std::string body = R"({"id":1})";
  const std::string sig = codec::base64_encode(hmac(HmacAlgorithm::sha256, "shh", body));
  EXPECT_FALSE(webhook::verify(w, post(body, {{"X-Shopify-Hmac-Sha256", sig}}), kNow));
  EXPECT_TRUE(webhook::verify(w, post(body, {{"X-Shopify-Hmac-Sha256", hex256("shh", body)}}), kNow));
}

TEST(WebhookVerify, StripeTimestampAndSeveralSignatures) {
  const auto w = load("verify = \"stripe\"\nsecret = \"whsec_x\"\n");
  const std::string body = R"({"id":"evt_1"})";
  const std::string t = std::to_string(kNow - 10);
  const std::string good = hex256("whsec_x", t + "." + body);
  const std::string old_secret = hex256("whsec_old", t + "." + body);
  EXPECT_FALSE(webhook::verify(w, post(body, {{"Stripe-Signature", "t=" + t + ",v1=" + old_secret + ",v1=" + good}}),
                               kNow));
  EXPECT_TRUE(webhook::verify(w, post(body, {{"Stripe-Signature", "t=" + t + ",v1=" + old_secret}}), kNow));
  EXPECT_TRUE(webhook::verify(w, post(body, {{"Stripe-Signature", "t=" + t + ",v0=" + good}}), kNow));
  // Five minutes and a bit later, the same header is a replay.
  const auto late = webhook::check_head(w, post(body, {{"Stripe-Signature", "t=" + t + ",v1=" + good}}), kNow + 301);
  ASSERT_TRUE(late.has_value());
  EXPECT_NE(late->message.find("replay"), std::string::npos);
  EXPECT_TRUE(webhook::check_head(w, post(body, {{"Stripe-Signature", "v1=" + good}}), kNow).has_value());
}

TEST(WebhookVerify, SlackSignsVersionTimestampAndBody) {
  const auto w = load("verify = \"slack\"\nsecret = \"8f742231b10e8888abcd99yyyzzz85a5\"\ntolerance = 60\n");
  const std::string body = "token=xyz&command=%2Fweather&text=94070";
  const std::string ts = std::to_string(kNow);
  const std::string sig = "v0=" + hex256("8f742231b10e8888abcd99yyyzzz85a5", "v0:" + ts + ":" + body);
  EXPECT_FALSE(
      webhook::verify(w, post(body, {{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", sig}}), kNow + 59));
  EXPECT_TRUE(
      webhook::verify(w, post(body, {{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", sig}}), kNow + 61));
  EXPECT_TRUE(webhook::verify(w, post(body, {{"X-Slack-Signature", sig}}), kNow).has_value());
}

TEST(WebhookVerify, QuerySecretAndGeneralHmac) {
  auto w = load("verify = \"query-secret\"\nsecret = \"a b\"\n");
  auto req = post("{}");
  req.query = "secret=a+b";
  EXPECT_FALSE(webhook::verify(w, req, kNow));
  req.query = "secret=a";
  EXPECT_TRUE(webhook::verify(w, req, kNow));
  w = load("verify = \"hmac\"\nsecret = \"k\"\nsignature_header = \"X-Sig\"\nalgorithm = \"sha512\"\n"
           "encoding = \"base64\"\nprefix = \"sha512=\"\n");
  const std::string sig = "sha512=" + codec::base64_encode(hmac(HmacAlgorithm::sha512, "k", "payload"));
  EXPECT_FALSE(webhook::verify(w, post("payload", {{"x-sig", sig}}), kNow));
  EXPECT_TRUE(webhook::verify(w, post("payload", {{"x-sig", sig.substr(7)}}), kNow)) << "the prefix is required";
}

TEST(WebhookDecode, ObjectsArraysFormsAndText) {
  const auto w = load("id = \"header:X-Delivery\"\nheaders = [\"X-Event\"]\n");
  webhook::Decoded d;
  ASSERT_FALSE(webhook::decode(w, post(R"([{"a":1},7,{"_id":"theirs","b":2}])",
                                       {{"X-Delivery", "d-1"}, {"X-Event", "push"}}),
                               1700000000123, d));
  EXPECT_EQ(d.batch.records, 3u);
  ASSERT_EQ(d.batch.docs.size(), 2u);
  EXPECT_EQ(str(d.batch.docs[0].doc.get(), "_id"), "d-1:0");
  EXPECT_EQ(str(d.batch.docs[1].doc.get(), "_id"), "d-1:2");
  EXPECT_EQ(str(d.batch.docs[0].doc.get(), "_headers.X-Event"), "push");
  EXPECT_EQ(type_at(d.batch.docs[0].doc.get(), "_receivedAt"), BSON_TYPE_DATE_TIME);
  ASSERT_EQ(d.batch.rejects.size(), 1u);
  EXPECT_EQ(d.batch.rejects[0].data, "7");

  webhook::Decoded form;
  ASSERT_FALSE(webhook::decode(w, post("a=1&b=x+y&a=2", {{"Content-Type", "application/x-www-form-urlencoded"}}), 1,
                               form));
  ASSERT_EQ(form.batch.docs.size(), 1u);
  const bson_t* f = form.batch.docs[0].doc.get();
  EXPECT_EQ(type_at(f, "a"), BSON_TYPE_ARRAY);
  EXPECT_EQ(str(f, "a.1"), "2");
  EXPECT_EQ(str(f, "b"), "x y");
  EXPECT_EQ(str(f, "_id").rfind("sha256:", 0), 0u) << "the id header is missing: a content hash";

  webhook::Decoded text;
  ASSERT_FALSE(webhook::decode(w, post("{not json", {{"X-Delivery", "d-2"}}), 1, text));
  EXPECT_EQ(str(text.batch.docs[0].doc.get(), "data"), "{not json");
  webhook::Decoded bytes;
  ASSERT_FALSE(webhook::decode(w, post(std::string("\xff\x00\x01", 3), {{"X-Delivery", "d-3"}}), 1, bytes));
  EXPECT_EQ(type_at(bytes.batch.docs[0].doc.get(), "data"), BSON_TYPE_BINARY);
  EXPECT_TRUE(webhook::decode(w, post("a=%zz", {{"Content-Type", "application/x-www-form-urlencoded"}}), 1, text));
}

TEST(WebhookDecode, IdFromABodyPathOrANewObjectId) {
  auto w = load("id = \"data.object.id\"\n");
  webhook::Decoded d;
  ASSERT_FALSE(webhook::decode(w, post(R"({"id":"evt_1","data":{"object":{"id":"pi_9"}}})"), 1, d));
  EXPECT_EQ(str(d.batch.docs[0].doc.get(), "_id"), "pi_9");
  EXPECT_EQ(webhook::id_json(d.batch.docs[0].doc.get()), "\"pi_9\"");
  w = load("");
  webhook::Decoded a, b;
  ASSERT_FALSE(webhook::decode(w, post(R"({"x":1})"), 1, a));
  ASSERT_FALSE(webhook::decode(w, post(R"({"x":1})"), 1, b));
  EXPECT_EQ(type_at(a.batch.docs[0].doc.get(), "_id"), BSON_TYPE_OID);
  EXPECT_NE(webhook::id_json(a.batch.docs[0].doc.get()), webhook::id_json(b.batch.docs[0].doc.get()));
  w = load("id = \"n\"\n");
  webhook::Decoded n;
  ASSERT_FALSE(webhook::decode(w, post(R"({"n":42})"), 1, n));
  EXPECT_EQ(webhook::id_json(n.batch.docs[0].doc.get()), "42");
}
