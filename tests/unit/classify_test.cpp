#include <gtest/gtest.h>

#include <mongoc/mongoc.h>

#include <cstring>
#include <string>

#include "sink/classify.hpp"

using hydrant::sink::classify_code;
using hydrant::sink::classify_error;
using hydrant::sink::ErrorClass;

namespace {

bson_error_t make_error(uint32_t domain, uint32_t code, const char* message) {
  bson_error_t e;
  std::memset(&e, 0, sizeof e);
  e.domain = domain;
  e.code = code;
  bson_strncpy(e.message, message, sizeof e.message);
  return e;
}

struct Reply {
  bson_t* b;
  explicit Reply(const char* json) {
    bson_error_t err;
    b = bson_new_from_json(reinterpret_cast<const uint8_t*>(json), -1, &err);
    EXPECT_NE(b, nullptr) << err.message;
  }
  ~Reply() { bson_destroy(b); }
};

const char* kDupId = "E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: \"rid:0\" }";

}  // namespace

TEST(Classify, TransientCodes) {
  for (int32_t code : {6, 7, 24, 50, 64, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11601, 11602, 13435, 13436})
    EXPECT_EQ(classify_code(code, "some message"), ErrorClass::transient) << code;
}

TEST(Classify, PermanentCodes) {
  for (int32_t code : {2, 10334, 121, 17419, 16755, 52, 0, 1})
    EXPECT_EQ(classify_code(code, "some message"), ErrorClass::permanent) << code;
}

TEST(Classify, DuplicateKeyOnId) {
  EXPECT_EQ(classify_code(11000, kDupId), ErrorClass::duplicate_id);
  EXPECT_EQ(classify_code(11000, "E11000 duplicate key error index: db.c.$_id_ dup key: { : \"x\" }"),
            ErrorClass::duplicate_id);
  EXPECT_EQ(classify_code(11001, kDupId), ErrorClass::duplicate_id);
}

TEST(Classify, DuplicateKeyOnOtherIndexIsPermanent) {
  EXPECT_EQ(classify_code(11000, "E11000 duplicate key error collection: db.c index: email_1 dup key: { email: \"a@b\" }"),
            ErrorClass::permanent);
  EXPECT_EQ(classify_code(11000, "E11000 duplicate key error collection: db.c index: sku_1_region_1 dup key: { sku: 1, region: 2 }"),
            ErrorClass::permanent);
}

TEST(Classify, DuplicateKeyOnIndexWhoseNameContainsIdIsPermanent) {
  // A unique index on `user_id` is named `user_id_1`: a clash on it is a
  // permanent per-record fault (SPEC §3), not a concurrent upsert on _id.
  EXPECT_EQ(classify_code(11000, "E11000 duplicate key error collection: db.c index: user_id_1 dup key: { user_id: 5 }"),
            ErrorClass::permanent);
  EXPECT_EQ(classify_code(11000, "E11000 duplicate key error collection: db.c index: order_id_1 dup key: { order_id: \"o-1\" }"),
            ErrorClass::permanent);
}

TEST(Classify, DuplicateKeyValueMentioningIdIsPermanent) {
  EXPECT_EQ(classify_code(11000, "E11000 duplicate key error collection: db.c index: email_1 dup key: { email: \"my_id_x@b\" }"),
            ErrorClass::permanent);
}

TEST(Classify, ValidationFailureIsPermanent) {
  EXPECT_EQ(classify_code(121, "Document failed validation"), ErrorClass::permanent);
}

TEST(Classify, ErrorDomains) {
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, "socket error"), nullptr),
            ErrorClass::unavailable);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, "connection refused"), nullptr),
            ErrorClass::unavailable);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE,
                                      "No suitable servers found"),
                           nullptr),
            ErrorClass::unavailable);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_WRITE_CONCERN, 64, "waiting for replication timed out"), nullptr),
            ErrorClass::transient);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID, "invalid document"), nullptr),
            ErrorClass::permanent);
}

TEST(Classify, ServerDomainUsesTheCode) {
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 10107, "not primary"), nullptr), ErrorClass::transient);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 91, "shutdown in progress"), nullptr), ErrorClass::transient);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 121, "Document failed validation"), nullptr),
            ErrorClass::permanent);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 11000, kDupId), nullptr), ErrorClass::duplicate_id);
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 11000,
                                      "E11000 duplicate key error collection: db.c index: email_1 dup key: { email: 1 }"),
                           nullptr),
            ErrorClass::permanent);
}

TEST(Classify, RetryableLabelIsTransient) {
  Reply reply(R"({"ok":0,"code":121,"errmsg":"x","errorLabels":["RetryableWriteError"]})");
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 121, "x"), reply.b), ErrorClass::transient);
  Reply reply2(R"({"ok":0,"errorLabels":["Something","TransientTransactionError"]})");
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 121, "x"), reply2.b), ErrorClass::transient);
}

TEST(Classify, OtherLabelsDoNotMakeItTransient) {
  Reply reply(R"({"ok":0,"errorLabels":["NoWritesPerformed"]})");
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 121, "x"), reply.b), ErrorClass::permanent);
  Reply empty(R"({"ok":0,"errorLabels":[]})");
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 121, "x"), empty.b), ErrorClass::permanent);
  Reply wrong_type(R"({"ok":0,"errorLabels":"RetryableWriteError"})");
  EXPECT_EQ(classify_error(make_error(MONGOC_ERROR_SERVER, 121, "x"), wrong_type.b), ErrorClass::permanent);
}
