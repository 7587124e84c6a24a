#include "trigger/state.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>

namespace hydrant::trigger {
namespace {

constexpr const char* kTriggers = "triggers";
constexpr const char* kGaps = "trigger_gaps";
constexpr const char* kRejects = "trigger_rejects";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Bson {
  bson_t b = BSON_INITIALIZER;
  Bson() = default;
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  ~Bson() { bson_destroy(&b); }
  bson_t* operator&() { return &b; }
};

struct Coll {
  mongoc_collection_t* c;
  ~Coll() { mongoc_collection_destroy(c); }
};

[[noreturn]] void fail(const char* what, const bson_error_t& err) {
  throw std::runtime_error(std::string(what) + ": " + err.message);
}

// matchedCount of an update reply.
int64_t matched(const bson_t* reply) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, reply, "matchedCount") && BSON_ITER_HOLDS_NUMBER(&it)) return bson_iter_as_int64(&it);
  return 0;
}
int64_t upserted(const bson_t* reply) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, reply, "upsertedCount") && BSON_ITER_HOLDS_NUMBER(&it)) return bson_iter_as_int64(&it);
  return 0;
}

void append_time(bson_t* doc, const char* ts_key, const char* wall_key, const ClusterTime& ct, int64_t wall_ms) {
  if (ct.t) bson_append_timestamp(doc, ts_key, -1, ct.t, ct.i);
  if (wall_ms) bson_append_date_time(doc, wall_key, -1, wall_ms);
}

}  // namespace

Client::Client(const std::string& uri, int32_t socket_timeout_ms) {
  mongoc_init();  // once per process; libmongoc guards it
  bson_error_t err;
  uri_ = mongoc_uri_new_with_error(uri.c_str(), &err);
  if (!uri_) throw std::runtime_error(std::string("invalid MongoDB URI: ") + err.message);
  if (!mongoc_uri_has_option(uri_, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri_, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
  if (!mongoc_uri_has_option(uri_, MONGOC_URI_SOCKETTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri_, MONGOC_URI_SOCKETTIMEOUTMS, socket_timeout_ms);
  if (!mongoc_uri_has_option(uri_, MONGOC_URI_APPNAME)) mongoc_uri_set_option_as_utf8(uri_, MONGOC_URI_APPNAME, "hydrant");
  client_ = mongoc_client_new_from_uri_with_error(uri_, &err);
  if (!client_) {
    mongoc_uri_destroy(uri_);
    throw std::runtime_error(std::string("cannot create a MongoDB client: ") + err.message);
  }
  mongoc_client_set_error_api(client_, MONGOC_ERROR_API_VERSION_2);
}

Client::~Client() {
  mongoc_client_destroy(client_);
  mongoc_uri_destroy(uri_);
}

bool ping(const std::string& uri, std::string& error) {
  try {
    Client c(uri, 10000);
    Bson cmd, reply;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bson_error_t err;
    if (mongoc_client_command_simple(c.get(), "admin", &cmd.b, nullptr, &reply.b, &err)) return true;
    error = err.message;
  } catch (const std::exception& e) {
    error = e.what();
  }
  return false;
}

StateStore::StateStore(const config::Config& cfg, const std::string& trigger)
    : name_(trigger), db_(cfg.triggers.state_database), client_(cfg.mongodb.uri, 30000) {
  wc_ = mongoc_write_concern_new();
  if (cfg.mongodb.write_concern.majority) mongoc_write_concern_set_wmajority(wc_, 30000);
  else mongoc_write_concern_set_w(wc_, cfg.mongodb.write_concern.w);
}

StateStore::~StateStore() { mongoc_write_concern_destroy(wc_); }

mongoc_collection_t* StateStore::collection(const char* name) {
  mongoc_collection_t* c = mongoc_client_get_collection(client_.get(), db_.c_str(), name);
  mongoc_collection_set_write_concern(c, wc_);
  return c;
}

std::optional<Position> StateStore::load() {
  Coll coll{collection(kTriggers)};
  Bson filter;
  BSON_APPEND_UTF8(&filter, "_id", name_.c_str());
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(coll.c, &filter, nullptr, nullptr);
  const bson_t* doc = nullptr;
  std::optional<Position> pos;
  if (mongoc_cursor_next(cur, &doc)) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "token") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&it, &len, &data);
      Position p;
      p.token = codec::BsonPtr(bson_new_from_data(data, len));
      if (bson_iter_init_find(&it, doc, "startAfter") && BSON_ITER_HOLDS_BOOL(&it)) p.start_after = bson_iter_bool(&it);
      if (bson_iter_init_find(&it, doc, "clusterTime") && BSON_ITER_HOLDS_TIMESTAMP(&it))
        bson_iter_timestamp(&it, &p.cluster_time.t, &p.cluster_time.i);
      if (bson_iter_init_find(&it, doc, "wallTime") && BSON_ITER_HOLDS_DATE_TIME(&it)) p.wall_ms = bson_iter_date_time(&it);
      if (p.token) pos = std::move(p);
    }
  }
  bson_error_t err;
  const bool failed = mongoc_cursor_error(cur, &err);
  mongoc_cursor_destroy(cur);
  if (failed) fail("reading the trigger's position", err);
  return pos;
}

bool StateStore::acquire(const std::string& owner, int64_t lease_ms) {
  Coll coll{collection(kTriggers)};
  const int64_t now = now_ms();
  // Free (released or expired) or never taken: the upsert inserts it. When
  // another instance holds it, the filter misses and the upsert's insert hits
  // the existing _id: a duplicate key, which means "not yours".
  Bson filter, update, opts, reply;
  BSON_APPEND_UTF8(&filter, "_id", name_.c_str());
  bson_t cond;
  BSON_APPEND_DOCUMENT_BEGIN(&filter, "leaseUntil", &cond);
  BSON_APPEND_DATE_TIME(&cond, "$lt", now);
  bson_append_document_end(&filter.b, &cond);
  bson_t set;
  BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
  BSON_APPEND_UTF8(&set, "owner", owner.c_str());
  BSON_APPEND_DATE_TIME(&set, "leaseUntil", now + lease_ms);
  BSON_APPEND_DATE_TIME(&set, "leaseTakenAt", now);
  bson_append_document_end(&update.b, &set);
  BSON_APPEND_BOOL(&opts, "upsert", true);
  bson_error_t err;
  if (!mongoc_collection_update_one(coll.c, &filter, &update, &opts, &reply, &err)) {
    if (err.code == 11000) return false;
    fail("taking the trigger's lease", err);
  }
  return matched(&reply.b) + upserted(&reply.b) > 0;
}

bool StateStore::renew(const std::string& owner, int64_t lease_ms) {
  Coll coll{collection(kTriggers)};
  Bson filter, update, reply;
  BSON_APPEND_UTF8(&filter, "_id", name_.c_str());
  BSON_APPEND_UTF8(&filter, "owner", owner.c_str());
  bson_t set;
  BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
  BSON_APPEND_DATE_TIME(&set, "leaseUntil", now_ms() + lease_ms);
  bson_append_document_end(&update.b, &set);
  bson_error_t err;
  if (!mongoc_collection_update_one(coll.c, &filter, &update, nullptr, &reply, &err)) fail("renewing the lease", err);
  return matched(&reply.b) > 0;
}

void StateStore::release(const std::string& owner) {
  Coll coll{collection(kTriggers)};
  Bson filter, update;
  BSON_APPEND_UTF8(&filter, "_id", name_.c_str());
  BSON_APPEND_UTF8(&filter, "owner", owner.c_str());
  bson_t set;
  BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
  BSON_APPEND_DATE_TIME(&set, "leaseUntil", 0);
  bson_append_document_end(&update.b, &set);
  mongoc_collection_update_one(coll.c, &filter, &update, nullptr, nullptr, nullptr);
}

bool StateStore::save(const std::string& owner, int64_t lease_ms, const bson_t* token, bool start_after,
                      const std::optional<Meta>& last) {
  Coll coll{collection(kTriggers)};
  Bson filter, update, reply;
  BSON_APPEND_UTF8(&filter, "_id", name_.c_str());
  BSON_APPEND_UTF8(&filter, "owner", owner.c_str());
  bson_t set;
  const int64_t now = now_ms();
  BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
  BSON_APPEND_DOCUMENT(&set, "token", token);
  BSON_APPEND_BOOL(&set, "startAfter", start_after);
  if (last) append_time(&set, "clusterTime", "wallTime", last->cluster_time, last->wall_ms);
  BSON_APPEND_DATE_TIME(&set, "updatedAt", now);
  BSON_APPEND_DATE_TIME(&set, "leaseUntil", now + lease_ms);
  bson_append_document_end(&update.b, &set);
  bson_error_t err;
  if (!mongoc_collection_update_one(coll.c, &filter, &update, nullptr, &reply, &err)) fail("storing the position", err);
  return matched(&reply.b) > 0;
}

void StateStore::record_gap(const Position* from, const std::string& reason) {
  Coll coll{collection(kGaps)};
  Bson doc;
  BSON_APPEND_UTF8(&doc, "trigger", name_.c_str());
  bson_t f;
  BSON_APPEND_DOCUMENT_BEGIN(&doc, "from", &f);
  if (from) {
    append_time(&f, "clusterTime", "wallTime", from->cluster_time, from->wall_ms);
    if (from->token) BSON_APPEND_DOCUMENT(&f, "token", from->token.get());
  }
  bson_append_document_end(&doc.b, &f);
  bson_t t;
  BSON_APPEND_DOCUMENT_BEGIN(&doc, "to", &t);
  BSON_APPEND_DATE_TIME(&t, "wallTime", now_ms());
  bson_append_document_end(&doc.b, &t);
  BSON_APPEND_UTF8(&doc, "reason", reason.c_str());
  BSON_APPEND_DATE_TIME(&doc, "at", now_ms());
  bson_error_t err;
  if (!mongoc_collection_insert_one(coll.c, &doc.b, nullptr, nullptr, &err)) fail("recording the gap", err);
}

void StateStore::reject(const bson_t* document_key, const Meta& meta, const std::string& reason, std::string_view data,
                        const bson_t* event) {
  Coll coll{collection(kRejects)};
  auto build = [&](bool with_event) {
    auto doc = codec::make_bson();
    BSON_APPEND_UTF8(doc.get(), "trigger", name_.c_str());
    if (document_key) BSON_APPEND_DOCUMENT(doc.get(), "documentKey", document_key);
    append_time(doc.get(), "clusterTime", "wallTime", meta.cluster_time, meta.wall_ms);
    BSON_APPEND_UTF8(doc.get(), "operationType", meta.operation_type.c_str());
    BSON_APPEND_UTF8(doc.get(), "reason", reason.c_str());
    BSON_APPEND_DATE_TIME(doc.get(), "at", now_ms());
    if (with_event) {
      if (event) BSON_APPEND_DOCUMENT(doc.get(), "event", event);
      else bson_append_utf8(doc.get(), "data", -1, data.data(), static_cast<int>(data.size()));
    }
    return doc;
  };
  bson_error_t err;
  auto doc = build(true);
  if (doc->len < (16u << 20) - 1024 && mongoc_collection_insert_one(coll.c, doc.get(), nullptr, nullptr, &err)) return;
  // Too large to keep whole (or refused): keep the reason and the key at least.
  auto small = build(false);
  if (!mongoc_collection_insert_one(coll.c, small.get(), nullptr, nullptr, &err)) fail("storing a trigger reject", err);
}

}  // namespace hydrant::trigger
