#include <gtest/gtest.h>

#include "test_support.hpp"

#include <bson/bson.h>
#include <simdjson.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "codec/bson_ptr.hpp"
#include "codec/json_bson.hpp"

using hydrant::codec::BsonPtr;
using hydrant::codec::Conversions;
using hydrant::codec::JsonToBson;
using hydrant::codec::make_bson;

namespace {

using hydrant_test::crash_signal;
using hydrant_test::find;
using hydrant_test::type_at;

struct Result {
  bool ok = false;
  std::string error;
  BsonPtr doc;
};


Result convert_here(const std::string& json, const Conversions& conv, std::string_view skip) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  Result r;
  r.doc = make_bson();
  const auto rc = parser.parse(json).get(obj);
  EXPECT_EQ(rc, simdjson::SUCCESS) << json;
  if (rc != simdjson::SUCCESS) return r;
  JsonToBson conv2(conv);
  r.ok = conv2.append_object(r.doc.get(), obj, r.error, skip);
  return r;
}

Result convert(const std::string& json, const Conversions& conv = Conversions(), std::string_view skip = {}) {
  if (const int sig = crash_signal([&] { convert_here(json, conv, skip); })) {
    ADD_FAILURE() << "JsonToBson::append_object crashed (signal " << sig << ") on: " << json.substr(0, 200);
    Result r;
    r.doc = make_bson();
    r.error = "<crashed>";
    return r;
  }
  return convert_here(json, conv, skip);
}

std::string canonical(const bson_t* b) {
  size_t len = 0;
  char* s = bson_as_canonical_extended_json(b, &len);
  std::string out = s ? std::string(s, len) : std::string("<null>");
  bson_free(s);
  return out;
}

// libbson's own Extended JSON parser as the oracle.
std::string libbson_canonical(const std::string& json) {
  bson_error_t err;
  bson_t* b = bson_new_from_json(reinterpret_cast<const uint8_t*>(json.data()), static_cast<ssize_t>(json.size()), &err);
  EXPECT_NE(b, nullptr) << json << ": " << err.message;
  if (!b) return "<libbson error>";
  std::string out = canonical(b);
  bson_destroy(b);
  return out;
}


int64_t date_at(const bson_t* b, const char* path) {
  bson_iter_t it;
  EXPECT_TRUE(find(b, path, it)) << path;
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_DATE_TIME) << path;
  return bson_iter_date_time(&it);
}

std::string oid_at(const bson_t* b, const char* path) {
  bson_iter_t it;
  if (!find(b, path, it) || bson_iter_type(&it) != BSON_TYPE_OID) return "<not an oid>";
  char hex[25];
  bson_oid_to_string(bson_iter_oid(&it), hex);
  return hex;
}

std::string nested(int levels, const char* open, const char* close, const char* leaf) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += open;
  s += leaf;
  for (int i = 0; i < levels; ++i) s += close;
  return s;
}

const char* kOid = "65a1b2c3d4e5f6a7b8c9d0e1";
constexpr int64_t kBase = 1704164645000;  // 2024-01-02T03:04:05Z

}  // namespace

TEST(JsonToBson, ScalarTypes) {
  auto r = convert(R"({"s":"x","t":true,"f":false,"n":null,"d":1.5,"e":1e3,"z":0,"neg":-7})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(type_at(r.doc.get(), "s"), BSON_TYPE_UTF8);
  EXPECT_EQ(type_at(r.doc.get(), "t"), BSON_TYPE_BOOL);
  EXPECT_EQ(type_at(r.doc.get(), "f"), BSON_TYPE_BOOL);
  EXPECT_EQ(type_at(r.doc.get(), "n"), BSON_TYPE_NULL);
  EXPECT_EQ(type_at(r.doc.get(), "d"), BSON_TYPE_DOUBLE);
  EXPECT_EQ(type_at(r.doc.get(), "e"), BSON_TYPE_DOUBLE);
  EXPECT_EQ(type_at(r.doc.get(), "z"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(r.doc.get(), "neg"), BSON_TYPE_INT32);
  bson_iter_t it;
  ASSERT_TRUE(find(r.doc.get(), "t", it));
  EXPECT_TRUE(bson_iter_bool(&it));
  ASSERT_TRUE(find(r.doc.get(), "f", it));
  EXPECT_FALSE(bson_iter_bool(&it));
  ASSERT_TRUE(find(r.doc.get(), "d", it));
  EXPECT_EQ(bson_iter_double(&it), 1.5);
  ASSERT_TRUE(find(r.doc.get(), "e", it));
  EXPECT_EQ(bson_iter_double(&it), 1000.0);
  ASSERT_TRUE(find(r.doc.get(), "neg", it));
  EXPECT_EQ(bson_iter_int32(&it), -7);
}

TEST(JsonToBson, IntegerWidthBoundaries) {
  auto r = convert(R"({"a":2147483647,"b":2147483648,"c":-2147483648,"d":-2147483649,)"
                   R"("e":9223372036854775807,"f":-9223372036854775808,"g":18446744073709551615})");
  ASSERT_TRUE(r.ok) << r.error;
  bson_iter_t it;
  ASSERT_TRUE(find(r.doc.get(), "a", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT32);
  EXPECT_EQ(bson_iter_int32(&it), 2147483647);
  ASSERT_TRUE(find(r.doc.get(), "b", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
  EXPECT_EQ(bson_iter_int64(&it), 2147483648LL);
  ASSERT_TRUE(find(r.doc.get(), "c", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT32);
  EXPECT_EQ(bson_iter_int32(&it), INT32_MIN);
  ASSERT_TRUE(find(r.doc.get(), "d", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
  EXPECT_EQ(bson_iter_int64(&it), -2147483649LL);
  ASSERT_TRUE(find(r.doc.get(), "e", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
  EXPECT_EQ(bson_iter_int64(&it), INT64_MAX);
  ASSERT_TRUE(find(r.doc.get(), "f", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
  EXPECT_EQ(bson_iter_int64(&it), INT64_MIN);
  ASSERT_TRUE(find(r.doc.get(), "g", it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_DOUBLE);
  EXPECT_EQ(bson_iter_double(&it), 18446744073709551615.0);
}

TEST(JsonToBson, ArraysDoNotCrash) {
  auto r = convert(R"({"a":[1,2,3]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(type_at(r.doc.get(), "a"), BSON_TYPE_ARRAY);
  EXPECT_EQ(type_at(r.doc.get(), "a.2"), BSON_TYPE_INT32);
}

TEST(JsonToBson, ArraysUnderConvertedFieldsDoNotCrash) {
  const Conversions conv({}, {"at"});
  auto r = convert(R"({"at":[0,1000]})", conv);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(date_at(r.doc.get(), "at.1"), 1000);
}

TEST(JsonToBson, NestedDocumentsAndArrays) {
  auto r = convert(R"({"a":{"b":{"c":[1,"two",{"d":[]},[true,null]]}},"e":[],"f":{}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(canonical(r.doc.get()), libbson_canonical(R"({"a":{"b":{"c":[1,"two",{"d":[]},[true,null]]}},"e":[],"f":{}})"));
  EXPECT_EQ(type_at(r.doc.get(), "a.b.c"), BSON_TYPE_ARRAY);
  EXPECT_EQ(type_at(r.doc.get(), "a.b.c.2"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(type_at(r.doc.get(), "a.b.c.3.1"), BSON_TYPE_NULL);
  EXPECT_EQ(type_at(r.doc.get(), "e"), BSON_TYPE_ARRAY);
  EXPECT_EQ(type_at(r.doc.get(), "f"), BSON_TYPE_DOCUMENT);
}

TEST(JsonToBson, FieldOrderIsKept) {
  auto r = convert(R"({"z":1,"a":2,"m":3})");
  ASSERT_TRUE(r.ok);
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, r.doc.get()));
  std::string keys;
  while (bson_iter_next(&it)) keys += bson_iter_key(&it);
  EXPECT_EQ(keys, "zam");
}

TEST(JsonToBson, UnicodeStrings) {
  auto r = convert(R"({"s":"h\u00e9llo \ud83d\ude00 日本","k\u00e9y":1,"esc":"a\"b\\c\n","nul":"a\u0000b"})");
  ASSERT_TRUE(r.ok) << r.error;
  bson_iter_t it;
  ASSERT_TRUE(find(r.doc.get(), "s", it));
  uint32_t len = 0;
  const char* s = bson_iter_utf8(&it, &len);
  EXPECT_EQ(std::string(s, len), "h\xc3\xa9llo \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_EQ(type_at(r.doc.get(), "k\xc3\xa9y"), BSON_TYPE_INT32);
  ASSERT_TRUE(find(r.doc.get(), "esc", it));
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "a\"b\\c\n");
  ASSERT_TRUE(find(r.doc.get(), "nul", it));
  s = bson_iter_utf8(&it, &len);
  EXPECT_EQ(std::string(s, len), std::string("a\0b", 3));
}

TEST(JsonToBson, KeyWithNulIsRefused) {
  auto r = convert(R"({"a\u0000b":1})");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

TEST(JsonToBson, ExtendedJsonMatchesLibbson) {
  const std::vector<std::string> cases = {
      std::string(R"({"x":{"$oid":")") + kOid + R"("}})",
      R"({"x":{"$date":"2024-01-02T03:04:05.678Z"}})",
      R"({"x":{"$date":{"$numberLong":"1704164645678"}}})",
      R"({"x":{"$date":{"$numberLong":"-1"}}})",
      R"({"x":{"$numberLong":"9223372036854775807"}})",
      R"({"x":{"$numberLong":"-42"}})",
      R"({"x":{"$numberInt":"-2147483648"}})",
      R"({"x":{"$numberDouble":"1.25"}})",
      R"({"x":{"$numberDouble":"-Infinity"}})",
      R"({"x":{"$numberDecimal":"1234.5678"}})",
      R"({"x":{"$numberDecimal":"-1E+10"}})",
      R"({"x":{"$binary":{"base64":"AQIDBA==","subType":"00"}}})",
      R"({"x":{"$binary":{"base64":"","subType":"80"}}})",
      R"({"x":{"$timestamp":{"t":1704164645,"i":7}}})",
      R"({"x":{"$regularExpression":{"pattern":"^a.*b$","options":"i"}}})",
      R"({"x":{"$minKey":1}})",
      R"({"x":{"$maxKey":1}})",
      R"({"x":[{"$numberLong":"1"},{"$oid":"000000000000000000000000"}],"y":{"z":{"$numberInt":"5"}}})",
  };
  for (const auto& json : cases) {
    auto r = convert(json);
    ASSERT_TRUE(r.ok) << json << ": " << r.error;
    EXPECT_EQ(canonical(r.doc.get()), libbson_canonical(json)) << json;
  }
}

TEST(JsonToBson, ExtendedJsonTypes) {
  auto r = convert(std::string(R"({"oid":{"$oid":")") + kOid + R"("},)" +
                   R"("d1":{"$date":"2024-01-02T03:04:05Z"},"d2":{"$date":1704164645000},)"
                   R"("d3":{"$date":{"$numberLong":"1704164645000"}},"d4":{"$date":"2024-01-02T04:04:05+01:00"},)"
                   R"("l":{"$numberLong":"5"},"i":{"$numberInt":"5"},"db":{"$numberDouble":"5"},)"
                   R"("dec":{"$numberDecimal":"0.1"},"mn":{"$minKey":1},"mx":{"$maxKey":1}})");
  ASSERT_TRUE(r.ok) << r.error;
  const bson_t* d = r.doc.get();
  EXPECT_EQ(oid_at(d, "oid"), kOid);
  EXPECT_EQ(date_at(d, "d1"), kBase);
  EXPECT_EQ(date_at(d, "d2"), kBase);
  EXPECT_EQ(date_at(d, "d3"), kBase);
  EXPECT_EQ(date_at(d, "d4"), kBase);
  EXPECT_EQ(type_at(d, "l"), BSON_TYPE_INT64);
  EXPECT_EQ(type_at(d, "i"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(d, "db"), BSON_TYPE_DOUBLE);
  EXPECT_EQ(type_at(d, "dec"), BSON_TYPE_DECIMAL128);
  EXPECT_EQ(type_at(d, "mn"), BSON_TYPE_MINKEY);
  EXPECT_EQ(type_at(d, "mx"), BSON_TYPE_MAXKEY);
}

TEST(JsonToBson, NumberDoubleSpecialValues) {
  auto r = convert(R"({"a":{"$numberDouble":"Infinity"},"b":{"$numberDouble":"-Infinity"},"c":{"$numberDouble":"NaN"},"d":{"$numberDouble":"-0.0"}})");
  ASSERT_TRUE(r.ok) << r.error;
  bson_iter_t it;
  ASSERT_TRUE(find(r.doc.get(), "a", it));
  EXPECT_TRUE(std::isinf(bson_iter_double(&it)) && bson_iter_double(&it) > 0);
  ASSERT_TRUE(find(r.doc.get(), "b", it));
  EXPECT_TRUE(std::isinf(bson_iter_double(&it)) && bson_iter_double(&it) < 0);
  ASSERT_TRUE(find(r.doc.get(), "c", it));
  EXPECT_TRUE(std::isnan(bson_iter_double(&it)));
  ASSERT_TRUE(find(r.doc.get(), "d", it));
  EXPECT_EQ(bson_iter_double(&it), 0.0);
  EXPECT_TRUE(std::signbit(bson_iter_double(&it)));
}

TEST(JsonToBson, BinaryCanonicalAndLegacy) {
  auto r = convert(R"({"a":{"$binary":{"base64":"AQID","subType":"00"}},"b":{"$binary":"AQID","$type":"80"},)"
                   R"("c":{"$type":"5","$binary":"/w=="}})");
  ASSERT_TRUE(r.ok) << r.error;
  for (const auto& [path, sub, bytes] : {std::tuple{"a", BSON_SUBTYPE_BINARY, std::string("\x01\x02\x03")},
                                        std::tuple{"b", BSON_SUBTYPE_USER, std::string("\x01\x02\x03")},
                                        std::tuple{"c", BSON_SUBTYPE_MD5, std::string("\xff")}}) {
    bson_iter_t it;
    ASSERT_TRUE(find(r.doc.get(), path, it)) << path;
    ASSERT_EQ(bson_iter_type(&it), BSON_TYPE_BINARY) << path;
    bson_subtype_t got_sub;
    uint32_t len;
    const uint8_t* data;
    bson_iter_binary(&it, &got_sub, &len, &data);
    EXPECT_EQ(got_sub, sub) << path;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(data), len), bytes) << path;
  }
}

TEST(JsonToBson, Uuid) {
  auto r = convert(R"({"u":{"$uuid":"123e4567-e89b-12d3-a456-426614174000"}})");
  ASSERT_TRUE(r.ok) << r.error;
  bson_iter_t it;
  ASSERT_TRUE(find(r.doc.get(), "u", it));
  ASSERT_EQ(bson_iter_type(&it), BSON_TYPE_BINARY);
  bson_subtype_t sub;
  uint32_t len;
  const uint8_t* data;
  bson_iter_binary(&it, &sub, &len, &data);
  EXPECT_EQ(sub, BSON_SUBTYPE_UUID);
  ASSERT_EQ(len, 16u);
  const uint8_t want[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                            0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
  EXPECT_EQ(std::memcmp(data, want, 16), 0);
}

TEST(JsonToBson, TimestampAndRegex) {
  auto r = convert(R"({"t":{"$timestamp":{"t":4294967295,"i":1}},"r":{"$regularExpression":{"pattern":"a+","options":"mi"}}})");
  ASSERT_TRUE(r.ok) << r.error;
  bson_iter_t it;
  ASSERT_TRUE(find(r.doc.get(), "t", it));
  ASSERT_EQ(bson_iter_type(&it), BSON_TYPE_TIMESTAMP);
  uint32_t ts, inc;
  bson_iter_timestamp(&it, &ts, &inc);
  EXPECT_EQ(ts, 4294967295u);
  EXPECT_EQ(inc, 1u);
  ASSERT_TRUE(find(r.doc.get(), "r", it));
  ASSERT_EQ(bson_iter_type(&it), BSON_TYPE_REGEX);
  const char* opts = nullptr;
  EXPECT_STREQ(bson_iter_regex(&it, &opts), "a+");
  ASSERT_NE(opts, nullptr);
  EXPECT_NE(std::string(opts).find('m'), std::string::npos);
  EXPECT_NE(std::string(opts).find('i'), std::string::npos);
}

TEST(JsonToBson, InvalidWrappersNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"myfield":{"$oid":"xyz"}})", "$oid"},
      {R"({"myfield":{"$oid":"65a1b2c3d4e5f6a7b8c9d0eZ"}})", "$oid"},
      {R"({"myfield":{"$oid":"65a1b2c3d4e5f6a7b8c9d0e1ff"}})", "$oid"},
      {R"({"myfield":{"$oid":12}})", "$oid"},
      {R"({"myfield":{"$date":"yesterday"}})", "$date"},
      {R"({"myfield":{"$date":true}})", "$date"},
      {R"({"myfield":{"$date":18446744073709551615}})", "$date"},
      {R"({"myfield":{"$date":1e300}})", "$date"},
      {R"({"myfield":{"$date":{"$numberLong":"12x"}}})", "$date"},
      {R"({"myfield":{"$numberLong":"12x"}})", "$numberLong"},
      {R"({"myfield":{"$numberLong":"99999999999999999999"}})", "$numberLong"},
      {R"({"myfield":{"$numberLong":5}})", "$numberLong"},
      {R"({"myfield":{"$numberInt":"3000000000"}})", "$numberInt"},
      {R"({"myfield":{"$numberInt":"1.5"}})", "$numberInt"},
      {R"({"myfield":{"$numberDouble":"abc"}})", "$numberDouble"},
      {R"({"myfield":{"$numberDouble":""}})", "$numberDouble"},
      {R"({"myfield":{"$numberDecimal":"abc"}})", "$numberDecimal"},
      {R"({"myfield":{"$binary":{"base64":"!!!!","subType":"00"}}})", "$binary"},
      {R"({"myfield":{"$binary":{"base64":"AQID","subType":"xyz"}}})", "$binary"},
      {R"({"myfield":{"$binary":{"base64":"AQID"}}})", "$binary"},
      {R"({"myfield":{"$binary":"!!!!","$type":"00"}})", "$binary"},
      {R"({"myfield":{"$uuid":"123e4567"}})", "$uuid"},
      {R"({"myfield":{"$uuid":"123e4567-e89b-12d3-a456-42661417400g"}})", "$uuid"},
      {R"({"myfield":{"$timestamp":{"t":-1,"i":0}}})", "$timestamp"},
      {R"({"myfield":{"$timestamp":{"t":4294967296,"i":0}}})", "$timestamp"},
      {R"({"myfield":{"$timestamp":{"t":1}}})", "$timestamp"},
      {R"({"myfield":{"$regularExpression":{"pattern":"a"}}})", "$regularExpression"},
      {R"({"myfield":{"$minKey":2}})", "$minKey"},
      {R"({"myfield":{"$maxKey":"1"}})", "$maxKey"},
  };
  for (const auto& [json, what] : cases) {
    auto r = convert(json);
    EXPECT_FALSE(r.ok) << json;
    EXPECT_NE(r.error.find("myfield"), std::string::npos) << json << ": " << r.error;
    EXPECT_NE(r.error.find(what), std::string::npos) << json << ": " << r.error;
  }
}

TEST(JsonToBson, InvalidWrapperNestedNamesItsKey) {
  auto r = convert(R"({"outer":{"inner":{"$oid":"nope"}}})");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("inner"), std::string::npos) << r.error;
}

TEST(JsonToBson, DollarKeysThatAreNotWrappersStayObjects) {
  auto r = convert(std::string(R"({"a":{"$foo":1},"b":{"$oid":")") + kOid + R"(","extra":1},"c":{"$gt":5,"$lt":9},)" +
                   R"("d":{"x":1,"$oid":"abc"}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(type_at(r.doc.get(), "a"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(type_at(r.doc.get(), "a.$foo"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(r.doc.get(), "b"), BSON_TYPE_DOCUMENT);
  EXPECT_EQ(type_at(r.doc.get(), "b.$oid"), BSON_TYPE_UTF8);
  EXPECT_EQ(type_at(r.doc.get(), "b.extra"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(r.doc.get(), "c.$gt"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(r.doc.get(), "d.$oid"), BSON_TYPE_UTF8);
}

TEST(JsonToBson, ConversionsObjectIdsAndDates) {
  const Conversions conv({"_id", "ref.owner"}, {"recordedAt", "events.at"});
  auto r = convert(std::string(R"({"_id":")") + kOid + R"(","ref":{"owner":"000000000000000000000001","other":")" +
                       kOid + R"("},"owner":")" + kOid + R"(","recordedAt":"2024-01-02T03:04:05Z",)" +
                       R"("events":[{"at":1704164645000},{"at":"2024-01-02T04:04:05+01:00"},{"x":1},)" +
                       R"({"at":{"$date":"2024-01-02T03:04:05Z"}},{"at":null}],"at":"2024-01-02"})",
                   conv);
  ASSERT_TRUE(r.ok) << r.error;
  const bson_t* d = r.doc.get();
  EXPECT_EQ(oid_at(d, "_id"), kOid);
  EXPECT_EQ(oid_at(d, "ref.owner"), "000000000000000000000001");
  EXPECT_EQ(type_at(d, "ref.other"), BSON_TYPE_UTF8);  // not configured
  EXPECT_EQ(type_at(d, "owner"), BSON_TYPE_UTF8);      // only ref.owner is
  EXPECT_EQ(date_at(d, "recordedAt"), kBase);
  EXPECT_EQ(date_at(d, "events.0.at"), kBase);
  EXPECT_EQ(date_at(d, "events.1.at"), kBase);
  EXPECT_EQ(type_at(d, "events.2.x"), BSON_TYPE_INT32);
  EXPECT_EQ(date_at(d, "events.3.at"), kBase);
  EXPECT_EQ(type_at(d, "events.4.at"), BSON_TYPE_NULL);
  EXPECT_EQ(type_at(d, "at"), BSON_TYPE_UTF8);  // only events.at is
}

TEST(JsonToBson, ConversionsApplyToArraysOfValues) {
  const Conversions conv({"ids"}, {"when"});
  auto r = convert(std::string(R"({"ids":[")") + kOid + R"(",["000000000000000000000002"]],"when":[0,"1970-01-01T00:00:01Z"]})",
                   conv);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(oid_at(r.doc.get(), "ids.0"), kOid);
  EXPECT_EQ(oid_at(r.doc.get(), "ids.1.0"), "000000000000000000000002");
  EXPECT_EQ(date_at(r.doc.get(), "when.0"), 0);
  EXPECT_EQ(date_at(r.doc.get(), "when.1"), 1000);
}

TEST(JsonToBson, ConversionsAcceptExtendedJsonAlready) {
  const Conversions conv({"_id"}, {"at"});
  auto r = convert(std::string(R"({"_id":{"$oid":")") + kOid + R"("},"at":{"$numberLong":"1704164645000"}})", conv);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(oid_at(r.doc.get(), "_id"), kOid);
  EXPECT_EQ(date_at(r.doc.get(), "at"), kBase);
}

TEST(JsonToBson, ConversionFailureNamesThePath) {
  const Conversions conv({"_id", "ref.owner"}, {"recordedAt", "events.at"});
  const std::pair<std::string, std::string> cases[] = {
      {R"({"_id":"not-hex"})", "_id"},
      {R"({"_id":12345})", "_id"},
      {R"({"_id":{"a":1}})", "_id"},
      {R"({"ref":{"owner":true}})", "ref.owner"},
      {R"({"ref":{"owner":["65a1b2c3d4e5f6a7b8c9d0e1","zz"]}})", "ref.owner"},
      {R"({"recordedAt":"last tuesday"})", "recordedAt"},
      {R"({"recordedAt":true})", "recordedAt"},
      {R"({"recordedAt":{"x":1}})", "recordedAt"},
      {R"({"events":[{"at":"2024-01-02"},{"at":false}]})", "events.at"},
  };
  for (const auto& [json, path] : cases) {
    auto r = convert(json, conv);
    EXPECT_FALSE(r.ok) << json;
    EXPECT_NE(r.error.find("'" + path + "'"), std::string::npos) << json << ": " << r.error;
  }
}

TEST(JsonToBson, DepthLimit) {
  auto ok = convert(nested(50, R"({"a":)", "}", "1"));
  EXPECT_TRUE(ok.ok) << ok.error;
  auto deep = convert(nested(150, R"({"a":)", "}", "1"));
  EXPECT_FALSE(deep.ok);
  EXPECT_NE(deep.error.find("100"), std::string::npos) << deep.error;
  auto arrays = convert(R"({"a":)" + nested(150, "[", "]", "1") + "}");
  EXPECT_FALSE(arrays.ok);
  EXPECT_NE(arrays.error.find("100"), std::string::npos) << arrays.error;
}

TEST(JsonToBson, DepthLimitBoundary) {
  // The top-level document's fields are at depth 1; kMaxDepth levels are allowed.
  auto at_limit = convert(nested(hydrant::codec::kMaxDepth, R"({"a":)", "}", "1"));
  EXPECT_TRUE(at_limit.ok) << at_limit.error;
  auto over = convert(nested(hydrant::codec::kMaxDepth + 1, R"({"a":)", "}", "1"));
  EXPECT_FALSE(over.ok);
}

TEST(JsonToBson, DepthLimitAppliesUnderConvertedFields) {
  // A configured `dates` field holding deeply nested arrays must not escape the depth limit.
  const Conversions conv({}, {"d"});
  auto r = convert(R"({"d":)" + nested(150, "[", "]", "null") + "}", conv);
  EXPECT_FALSE(r.ok) << "150 nested arrays under a converted field were accepted";
}

TEST(JsonToBson, SkipKeyOnlyAtTopLevel) {
  auto r = convert(R"({"keep":1,"_firehose":{"x":1},"sub":{"_firehose":2}})", Conversions(), "_firehose");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(type_at(r.doc.get(), "keep"), BSON_TYPE_INT32);
  EXPECT_EQ(type_at(r.doc.get(), "_firehose"), BSON_TYPE_EOD);
  EXPECT_EQ(type_at(r.doc.get(), "sub._firehose"), BSON_TYPE_INT32);
}

TEST(JsonToBson, ConversionsRoot) {
  EXPECT_EQ(Conversions().root(), nullptr);
  const Conversions conv({"a.b"}, {"c"});
  ASSERT_NE(conv.root(), nullptr);
  const auto* a = conv.root()->child("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kind, Conversions::Kind::none);
  const auto* b = a->child("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->kind, Conversions::Kind::object_id);
  EXPECT_EQ(b->path, "a.b");
  ASSERT_NE(conv.root()->child("c"), nullptr);
  EXPECT_EQ(conv.root()->child("c")->kind, Conversions::Kind::date);
  EXPECT_EQ(conv.root()->child("x"), nullptr);
}

TEST(JsonToBson, ValidKey) {
  EXPECT_TRUE(hydrant::codec::valid_key("abc"));
  EXPECT_TRUE(hydrant::codec::valid_key(""));
  EXPECT_FALSE(hydrant::codec::valid_key(std::string_view("a\0b", 3)));
}
