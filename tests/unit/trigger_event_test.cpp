// A change event (BSON) into what a trigger's destination receives.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "codec/bson_ptr.hpp"
#include "trigger/event.hpp"

using hydrant::codec::BsonPtr;
using hydrant::trigger::format_event;
using hydrant::trigger::key_at;
using hydrant::trigger::meta_of;
using Format = hydrant::config::Trigger::Format;

namespace {

// BSON from (canonical) Extended JSON; invalid JSON fails the test.
BsonPtr bson(const std::string& json) {
  bson_error_t err{};
  BsonPtr b(bson_new_from_json(reinterpret_cast<const uint8_t*>(json.data()), static_cast<ssize_t>(json.size()), &err));
  EXPECT_TRUE(b) << err.message << "\n" << json;
  return b;
}

// A change event of `op` with `rest` (",\"fullDocument\": ..." and the like) after its common fields.
std::string event_json(const std::string& op, const std::string& rest) {
  return R"({"_id": {"_data": "8265A1B2C3000000012B022C0100296E5A1004"}, "operationType": ")" + op +
         R"(", "clusterTime": {"$timestamp": {"t": 1700000000, "i": 3}}, "wallTime": {"$date": {"$numberLong": "1700000000123"}}, "ns": {"db": "monitors", "coll": "reports"}, "documentKey": {"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}})" +
         rest + "}";
}

// format = "document" of an insert whose fullDocument is `doc`.
std::string document_of(const std::string& doc) {
  const BsonPtr e = bson(event_json("insert", ", \"fullDocument\": " + doc));
  if (!e) return "";
  const auto f = format_event(e.get(), Format::document);
  EXPECT_TRUE(f.error.empty()) << f.error;
  return f.data;
}

// The string at `field` of the JSON object `json`; the JSON must parse.
std::string string_field(const std::string& json, const char* field) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  std::string_view v;
  EXPECT_EQ(root[field].get_string().get(v), simdjson::SUCCESS) << json;
  return std::string(v);
}

}  // namespace

TEST(TriggerEvent, DocumentFormatOfAnInsert) {
  const std::string doc = R"({"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "s": "x", "i": {"$numberInt": "-5"},
    "l": {"$numberLong": "9223372036854775807"}, "ln": {"$numberLong": "-9007199254740993"},
    "d1": {"$numberDouble": "2.0"}, "d2": {"$numberDouble": "0.1"}, "d3": {"$numberDouble": "-1.5e-7"},
    "nan": {"$numberDouble": "NaN"}, "inf": {"$numberDouble": "-Infinity"}, "t": true, "f": false, "n": null,
    "at": {"$date": {"$numberLong": "1700000000123"}}, "epoch": {"$date": {"$numberLong": "0"}},
    "nested": {"a": {"b": [1, {"c": "d"}, []]}, "e": {}},
    "bin": {"$binary": {"base64": "AAEC/w==", "subType": "00"}}})";
  EXPECT_EQ(document_of(doc),
            R"({"_id":"65a1b2c3d4e5f60718293a4b","s":"x","i":-5,"l":9223372036854775807,"ln":-9007199254740993,)"
            R"("d1":2,"d2":0.1,"d3":-1.5e-7,"nan":null,"inf":null,"t":true,"f":false,"n":null,)"
            R"("at":"2023-11-14T22:13:20.123Z","epoch":"1970-01-01T00:00:00.000Z",)"
            R"("nested":{"a":{"b":[1,{"c":"d"},[]]},"e":{}},"bin":"AAEC/w=="})");
}

TEST(TriggerEvent, DoublesAsJavaScriptWritesThem) {
  // What JSON.stringify writes for each (ECMAScript Number::toString).
  const struct {
    double d;
    const char* js;
  } cases[] = {
      {2.0, "2"},
      {-1.5, "-1.5"},
      {0.1, "0.1"},
      {0.5, "0.5"},
      {123456.789, "123456.789"},
      {1e6, "1000000"},
      {9.5e18, "9500000000000000000"},
      {1e19, "1e+19"},  // JSON.stringify: "10000000000000000000", which 64-bit parsers refuse from 2^64 on
      {1.25e20, "1.25e+20"},
      {1e21, "1e+21"},
      {1.5e300, "1.5e+300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.000001, "0.000001"},
      {1.5e-6, "0.0000015"},
      {1e-7, "1e-7"},
      {-1.23e-18, "-1.23e-18"},
      {5e-324, "5e-324"},
      {9007199254740993.0, "9007199254740992"},
      {-0.0, "0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.js);
    BsonPtr doc(bson_new());
    BSON_APPEND_DOUBLE(doc.get(), "v", c.d);
    std::string out;
    hydrant::trigger::append_plain_json(out, doc.get());
    EXPECT_EQ(out, std::string("{\"v\":") + c.js + "}");
    double back = 0;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(out).get(root), simdjson::SUCCESS) << out;
    ASSERT_EQ(root["v"].get_double().get(back), simdjson::SUCCESS) << out;
    EXPECT_EQ(back, c.d) << out;
  }
}

TEST(TriggerEvent, DatesBefore1970AndMilliseconds) {
  const struct {
    const char* ms;
    const char* iso;
  } cases[] = {
      {"-1", "1969-12-31T23:59:59.999Z"},          {"-1000", "1969-12-31T23:59:59.000Z"},
      {"-1500", "1969-12-31T23:59:58.500Z"},       {"-86400000", "1969-12-31T00:00:00.000Z"},
      {"-2208988800001", "1899-12-31T23:59:59.999Z"}, {"1", "1970-01-01T00:00:00.001Z"},
      {"951782400999", "2000-02-29T00:00:00.999Z"},  {"253402300799999", "9999-12-31T23:59:59.999Z"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ms);
    const std::string out = document_of(std::string(R"({"d": {"$date": {"$numberLong": ")") + c.ms + "\"}}}");
    EXPECT_EQ(out, std::string("{\"d\":\"") + c.iso + "\"}");
  }
}

TEST(TriggerEvent, RelaxedExtendedJsonForTheRest) {
  const std::string out = document_of(R"({"dec": {"$numberDecimal": "1.50"},
    "ts": {"$timestamp": {"t": 5, "i": 6}},
    "re": {"$regularExpression": {"pattern": "^a\"b", "options": "i"}},
    "min": {"$minKey": 1}})");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(out).get(root), simdjson::SUCCESS) << out;
  std::string_view s;
  EXPECT_EQ(root["dec"]["$numberDecimal"].get_string().get(s), simdjson::SUCCESS) << out;
  EXPECT_EQ(s, "1.50");
  uint64_t t = 0, i = 0;
  EXPECT_EQ(root["ts"]["$timestamp"]["t"].get_uint64().get(t), simdjson::SUCCESS) << out;
  EXPECT_EQ(root["ts"]["$timestamp"]["i"].get_uint64().get(i), simdjson::SUCCESS) << out;
  EXPECT_EQ(t, 5u);
  EXPECT_EQ(i, 6u);
  EXPECT_EQ(root["re"]["$regularExpression"]["pattern"].get_string().get(s), simdjson::SUCCESS) << out;
  EXPECT_EQ(s, "^a\"b");
  EXPECT_EQ(root["re"]["$regularExpression"]["options"].get_string().get(s), simdjson::SUCCESS) << out;
  EXPECT_EQ(s, "i");
  int64_t one = 0;
  EXPECT_EQ(root["min"]["$minKey"].get_int64().get(one), simdjson::SUCCESS) << out;
  EXPECT_EQ(one, 1);
}

TEST(TriggerEvent, StringsAreEscaped) {
  for (const std::string& s : {std::string("q\"uote"), std::string("back\\slash"), std::string("tab\tnl\ncr\r"),
                              std::string("ctl\x01\x1f\x7f", 6), std::string("nul\0x", 5), std::string("é😀中"),
                              std::string("</script>\u2028")}) {
    SCOPED_TRACE(s);
    BsonPtr doc(bson_new());
    BSON_APPEND_UTF8(doc.get(), "_id", "k");
    bson_append_utf8(doc.get(), "v", 1, s.data(), static_cast<int>(s.size()));
    // The key is escaped the same way.
    bson_append_utf8(doc.get(), "k\"ey", 4, "x", 1);
    BsonPtr event(bson_new());
    BSON_APPEND_UTF8(event.get(), "operationType", "insert");
    BSON_APPEND_DOCUMENT(event.get(), "fullDocument", doc.get());
    const auto f = format_event(event.get(), Format::document);
    ASSERT_TRUE(f.error.empty()) << f.error;
    EXPECT_EQ(string_field(f.data, "v"), s) << f.data;
    EXPECT_EQ(string_field(f.data, "k\"ey"), "x") << f.data;
  }
}

TEST(TriggerEvent, UpdateAndReplaceSendTheFullDocument) {
  for (const char* op : {"update", "replace"}) {
    SCOPED_TRACE(op);
    const std::string rest =
        std::string(R"(, "fullDocument": {"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "v": {"$numberInt": "2"}})") +
        (std::string(op) == "update"
             ? R"(, "updateDescription": {"updatedFields": {"v": {"$numberInt": "2"}}, "removedFields": []})"
             : "");
    const BsonPtr e = bson(event_json(op, rest));
    ASSERT_TRUE(e);
    const auto f = format_event(e.get(), Format::document);
    EXPECT_TRUE(f.error.empty()) << f.error;
    EXPECT_EQ(f.data, R"({"_id":"65a1b2c3d4e5f60718293a4b","v":2})");
  }
}

TEST(TriggerEvent, DeleteIsItsKeyWithAMarker) {
  const BsonPtr e = bson(event_json("delete", ""));
  ASSERT_TRUE(e);
  const auto f = format_event(e.get(), Format::document);
  EXPECT_TRUE(f.error.empty()) << f.error;
  EXPECT_EQ(f.data, R"({"_id":"65a1b2c3d4e5f60718293a4b","_deleted":true})");
  const BsonPtr composite =
      bson(R"({"operationType": "delete", "documentKey": {"shard": "a", "_id": {"a": 1, "b": "x\"y"}}})");
  ASSERT_TRUE(composite);
  EXPECT_EQ(format_event(composite.get(), Format::document).data, R"({"_id":{"a":1,"b":"x\"y"},"_deleted":true})");
}

TEST(TriggerEvent, EventsWithNothingToSend) {
  const BsonPtr no_key = bson(R"({"operationType": "delete", "documentKey": {"shard": "a"}})");
  ASSERT_TRUE(no_key);
  auto f = format_event(no_key.get(), Format::document);
  EXPECT_TRUE(f.data.empty());
  EXPECT_NE(f.error.find("documentKey._id"), std::string::npos) << f.error;
  const BsonPtr no_doc_key = bson(R"({"operationType": "delete"})");
  ASSERT_TRUE(no_doc_key);
  EXPECT_FALSE(format_event(no_doc_key.get(), Format::document).error.empty());
  for (const char* rest : {"", ", \"fullDocument\": null"}) {
    SCOPED_TRACE(rest);
    const BsonPtr update = bson(event_json("update", rest));
    ASSERT_TRUE(update);
    f = format_event(update.get(), Format::document);
    EXPECT_TRUE(f.data.empty());
    EXPECT_NE(f.error.find("no fullDocument"), std::string::npos) << f.error;
  }
}

TEST(TriggerEvent, EventFormatsRoundTrip) {
  // Relaxed Extended JSON keeps every value here (no int64 that fits in 32 bits, no dates out of 1970..9999).
  const std::string relaxed_safe = event_json(
      "update", R"(, "fullDocument": {"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "s": "é\"\n", "i": {"$numberInt": "7"},
      "d": {"$numberDouble": "2.5"}, "at": {"$date": {"$numberLong": "1700000000123"}},
      "bin": {"$binary": {"base64": "AAEC/w==", "subType": "04"}}, "dec": {"$numberDecimal": "1.50"},
      "arr": [{"$numberInt": "1"}, {"x": null}]}, "updateDescription": {"updatedFields": {"s": "é\"\n"}, "removedFields": ["z"]})");
  const std::string with_int64 = event_json(
      "insert", R"(, "fullDocument": {"_id": {"$numberLong": "1"}, "d": {"$numberDouble": "2.0"}, "old": {"$date": {"$numberLong": "-62135596800001"}}})");
  const struct {
    const std::string* json;
    Format format;
  } cases[] = {{&relaxed_safe, Format::event}, {&relaxed_safe, Format::event_canonical}, {&with_int64, Format::event_canonical}};
  for (const auto& c : cases) {
    const BsonPtr original = bson(*c.json);
    ASSERT_TRUE(original);
    const auto f = format_event(original.get(), c.format);
    ASSERT_TRUE(f.error.empty()) << f.error;
    const BsonPtr back = bson(f.data);
    ASSERT_TRUE(back) << f.data;
    EXPECT_TRUE(bson_equal(original.get(), back.get())) << f.data;
  }
  // Relaxed writes an int64 as a plain number, canonical keeps its type.
  const BsonPtr e = bson(with_int64);
  ASSERT_TRUE(e);
  EXPECT_NE(format_event(e.get(), Format::event).data.find("\"_id\" : 1"), std::string::npos);
  EXPECT_NE(format_event(e.get(), Format::event_canonical).data.find("\"$numberLong\" : \"1\""), std::string::npos);
}

TEST(TriggerEvent, KeyAt) {
  const BsonPtr e = bson(R"({"operationType": "insert", "documentKey": {"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}},
    "fullDocument": {"s": "node-1", "i": {"$numberInt": "42"}, "l": {"$numberLong": "-9000000000"}, "b": true,
      "n": null, "d": {"$numberDouble": "1.5"}, "at": {"$date": {"$numberLong": "0"}}, "e": "",
      "a": {"b": {"c": "deep"}}, "o": {"x": "y\"z"}, "arr": ["p", "q"]}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(key_at(e.get(), "documentKey._id"), "65a1b2c3d4e5f60718293a4b");
  EXPECT_EQ(key_at(e.get(), "fullDocument.s"), "node-1");
  EXPECT_EQ(key_at(e.get(), "fullDocument.i"), "42");
  EXPECT_EQ(key_at(e.get(), "fullDocument.l"), "-9000000000");
  EXPECT_EQ(key_at(e.get(), "fullDocument.b"), "true");
  EXPECT_EQ(key_at(e.get(), "fullDocument.d"), "1.5");
  EXPECT_EQ(key_at(e.get(), "fullDocument.at"), "\"1970-01-01T00:00:00.000Z\"");
  EXPECT_EQ(key_at(e.get(), "fullDocument.e"), "");
  EXPECT_EQ(key_at(e.get(), "fullDocument.a.b.c"), "deep");
  EXPECT_EQ(key_at(e.get(), "fullDocument.o"), R"({"x":"y\"z"})");
  EXPECT_EQ(key_at(e.get(), "fullDocument.arr.1"), "q");
  EXPECT_EQ(key_at(e.get(), "fullDocument.n"), std::nullopt);
  EXPECT_EQ(key_at(e.get(), "fullDocument.missing"), std::nullopt);
  EXPECT_EQ(key_at(e.get(), "fullDocument.s.deeper"), std::nullopt);
  EXPECT_EQ(key_at(e.get(), "nothing.at.all"), std::nullopt);
}

TEST(TriggerEvent, MetaOf) {
  const BsonPtr with_wall = bson(event_json("replace", ""));
  ASSERT_TRUE(with_wall);
  auto m = meta_of(with_wall.get());
  EXPECT_EQ(m.operation_type, "replace");
  EXPECT_EQ(m.cluster_time.t, 1700000000u);
  EXPECT_EQ(m.cluster_time.i, 3u);
  EXPECT_EQ(m.wall_ms, 1700000000123);

  const BsonPtr no_wall = bson(R"({"operationType": "delete", "clusterTime": {"$timestamp": {"t": 1600000000, "i": 9}}})");
  ASSERT_TRUE(no_wall);
  m = meta_of(no_wall.get());
  EXPECT_EQ(m.operation_type, "delete");
  EXPECT_EQ(m.cluster_time.i, 9u);
  EXPECT_EQ(m.wall_ms, 1600000000000);

  // A wallTime of the wrong type does not count; neither field: 0.
  const BsonPtr bad_wall = bson(R"({"clusterTime": {"$timestamp": {"t": 10, "i": 1}}, "wallTime": "yesterday"})");
  ASSERT_TRUE(bad_wall);
  EXPECT_EQ(meta_of(bad_wall.get()).wall_ms, 10000);
  const BsonPtr empty = bson("{}");
  ASSERT_TRUE(empty);
  m = meta_of(empty.get());
  EXPECT_TRUE(m.operation_type.empty());
  EXPECT_EQ(m.cluster_time.t, 0u);
  EXPECT_EQ(m.wall_ms, 0);
}
