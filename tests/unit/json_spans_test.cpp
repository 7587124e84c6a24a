// Source spans of JSON values: what rejects store and what Segment signs.
#include <gtest/gtest.h>

#include "codec/json_spans.hpp"

using hydrant::codec::json_array_elements;
using hydrant::codec::json_member;

TEST(JsonSpans, ArrayElementsKeepTheirBytes) {
  const auto e = json_array_elements(" [ {\"a\": [1, {\"b\":\"]}\\\"\"}]} ,\n1.50 ,\"caf\\u00e9\",[1, 2],null ] ");
  ASSERT_TRUE(e.has_value());
  ASSERT_EQ(e->size(), 5u);
  EXPECT_EQ((*e)[0], "{\"a\": [1, {\"b\":\"]}\\\"\"}]}");
  EXPECT_EQ((*e)[1], "1.50");
  EXPECT_EQ((*e)[2], "\"caf\\u00e9\"");
  EXPECT_EQ((*e)[3], "[1, 2]");
  EXPECT_EQ((*e)[4], "null");
  EXPECT_TRUE(json_array_elements("[]")->empty());
}

TEST(JsonSpans, MalformedInputHasNoSpans) {
  for (const char* bad : {"", "{}", "[1,", "[1 2]", "[\"open", "[{\"a\":1]", "[1,]x"}) {
    EXPECT_FALSE(json_array_elements(bad).has_value()) << bad;
  }
}

TEST(JsonSpans, MemberOfAnObject) {
  const std::string body = R"({"writeKey":"k", "context" : {"batch":[0]}, "batch" :[ {"x":1} ]})";
  EXPECT_EQ(json_member(body, "batch").value_or("<none>"), "[ {\"x\":1} ]");
  EXPECT_EQ(json_member(body, "context").value_or("<none>"), "{\"batch\":[0]}");
  EXPECT_FALSE(json_member(body, "nope").has_value());
  EXPECT_FALSE(json_member("[1]", "batch").has_value());
}
