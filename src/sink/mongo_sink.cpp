#include "sink/mongo_sink.hpp"

#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "observe/metrics.hpp"
#include "sink/classify.hpp"

namespace hydrant::sink {
namespace {

std::once_flag g_init;

// A whole request must finish well within Firehose's 3-minute wait.
constexpr auto kDeadline = std::chrono::seconds(100);

struct ClientLease {
  mongoc_client_pool_t* pool;
  mongoc_client_t* client;
  explicit ClientLease(mongoc_client_pool_t* p) : pool(p), client(mongoc_client_pool_pop(p)) {}
  ~ClientLease() { mongoc_client_pool_push(pool, client); }
  ClientLease(const ClientLease&) = delete;
  ClientLease& operator=(const ClientLease&) = delete;
};

struct CollectionPtr {
  mongoc_collection_t* c;
  ~CollectionPtr() { mongoc_collection_destroy(c); }
};

struct BulkPtr {
  mongoc_bulk_operation_t* b;
  ~BulkPtr() { mongoc_bulk_operation_destroy(b); }
};

struct BsonStack {
  bson_t b = BSON_INITIALIZER;
  ~BsonStack() { bson_destroy(&b); }
};

struct WriteError {
  uint32_t index;
  int32_t code;
  std::string message;
};

// One writer per call: the collection, the result so far, the deadline.
class BulkWriter {
 public:
  BulkWriter(mongoc_collection_t* coll, const mongoc_write_concern_t* wc, Outcome& out,
             std::chrono::steady_clock::time_point deadline)
      : coll_(coll), wc_(wc), out_(out), deadline_(deadline) {}

  struct Refused {
    size_t item;
    std::string reason;
  };
  std::vector<Refused> refused;
  uint64_t written = 0;

  // Upserts docs[i] for every i in `items`; false on a fault that fails the request.
  bool write(const std::vector<const bson_t*>& docs, const std::vector<size_t>& items, bool retried = false) {
    if (items.empty()) return true;
    if (std::chrono::steady_clock::now() > deadline_) return fail(Fault::error, "MongoDB write timed out");
    BsonStack opts;
    BSON_APPEND_BOOL(&opts.b, "ordered", false);
    if (!mongoc_write_concern_append(const_cast<mongoc_write_concern_t*>(wc_), &opts.b))
      return fail(Fault::error, "invalid write concern");
    BulkPtr bulk{mongoc_collection_create_bulk_operation_with_opts(coll_, &opts.b)};
    BsonStack upsert;
    BSON_APPEND_BOOL(&upsert.b, "upsert", true);
    // The server judges field names (dots and $ are legal in places since 5.0).
    BSON_APPEND_BOOL(&upsert.b, "validate", false);

    std::vector<size_t> appended;
    appended.reserve(items.size());
    for (size_t i : items) {
      bson_iter_t it;
      BsonStack filter;
      if (!bson_iter_init_find(&it, docs[i], "_id")) {
        refused.push_back({i, "document has no _id"});
        continue;
      }
      bson_append_iter(&filter.b, "_id", 3, &it);
      bson_error_t err;
      if (!mongoc_bulk_operation_replace_one_with_opts(bulk.b, &filter.b, docs[i], &upsert.b, &err)) {
        refused.push_back({i, err.message});
        continue;
      }
      appended.push_back(i);
    }
    if (appended.empty()) return true;

    BsonStack reply;
    bson_error_t error;
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = mongoc_bulk_operation_execute(bulk.b, &reply.b, &error) != 0;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    observe::Metrics::get().write_seconds(secs);
    out_.seconds += secs;
    if (ok) {
      written += appended.size();
      return true;
    }

    const ErrorClass whole = classify_error(error, &reply.b);
    if (whole == ErrorClass::unavailable) return fail(Fault::unavailable, error.message);
    if (has_array(&reply.b, "writeConcernErrors")) return fail(Fault::error, std::string("write concern: ") + error.message);

    std::vector<WriteError> errors = write_errors(&reply.b);
    if (!errors.empty()) {
      std::vector<size_t> dupes;
      std::unordered_set<size_t> failed;
      for (const auto& we : errors) {
        if (we.index >= appended.size()) return fail(Fault::error, we.message);
        const size_t item = appended[we.index];
        failed.insert(item);
        switch (classify_code(we.code, we.message)) {
          case ErrorClass::unavailable: return fail(Fault::unavailable, we.message);
          case ErrorClass::transient: return fail(Fault::error, we.message);
          case ErrorClass::duplicate_id: dupes.push_back(item); break;
          case ErrorClass::permanent: refused.push_back({item, we.message}); break;
        }
      }
      written += appended.size() - failed.size();
      if (!dupes.empty()) {
        if (retried) return fail(Fault::error, "duplicate key on _id persists after a retry");
        return write(docs, dupes, true);
      }
      return true;
    }

    // The whole command failed without saying which statement (FerretDB does
    // this): a passing fault fails the request; otherwise halve the batch until
    // the records that can never be written are found.
    if (whole == ErrorClass::transient) return fail(Fault::error, error.message);
    if (whole == ErrorClass::duplicate_id && !retried) return write(docs, appended, true);
    if (appended.size() == 1) {
      refused.push_back({appended[0], error.message});
      return true;
    }
    const size_t mid = appended.size() / 2;
    std::vector<size_t> left(appended.begin(), appended.begin() + static_cast<long>(mid));
    std::vector<size_t> right(appended.begin() + static_cast<long>(mid), appended.end());
    return write(docs, left, retried) && write(docs, right, retried);
  }

 private:
  bool fail(Fault f, std::string message) {
    out_.fault = f;
    out_.message = std::move(message);
    return false;
  }

  static bool has_array(const bson_t* reply, const char* key) {
    bson_iter_t it;
    uint32_t len = 0;
    const uint8_t* data;
    if (!bson_iter_init_find(&it, reply, key) || !BSON_ITER_HOLDS_ARRAY(&it)) return false;
    bson_iter_array(&it, &len, &data);
    return len > 5;  // an empty BSON array is 5 bytes
  }

  static std::vector<WriteError> write_errors(const bson_t* reply) {
    std::vector<WriteError> out;
    bson_iter_t it, arr, doc;
    if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
      return out;
    while (bson_iter_next(&arr)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &doc)) continue;
      WriteError we{0, 0, "write error"};
      while (bson_iter_next(&doc)) {
        const std::string_view k = bson_iter_key(&doc);
        if (k == "index") we.index = static_cast<uint32_t>(bson_iter_as_int64(&doc));
        else if (k == "code") we.code = static_cast<int32_t>(bson_iter_as_int64(&doc));
        else if (k == "errmsg" && BSON_ITER_HOLDS_UTF8(&doc)) we.message = bson_iter_utf8(&doc, nullptr);
      }
      out.push_back(std::move(we));
    }
    return out;
  }

  mongoc_collection_t* coll_;
  const mongoc_write_concern_t* wc_;
  Outcome& out_;
  std::chrono::steady_clock::time_point deadline_;
};

codec::BsonPtr reject_doc(const Target& target, const std::string& request_id, const Reject& r, int64_t received_at) {
  auto doc = codec::make_bson();
  const std::string id = request_id + ":" + std::to_string(r.record);
  bson_append_utf8(doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
  bson_append_utf8(doc.get(), "endpoint", 8, target.endpoint.data(), static_cast<int>(target.endpoint.size()));
  bson_append_utf8(doc.get(), "requestId", 9, request_id.data(), static_cast<int>(request_id.size()));
  BSON_APPEND_INT32(doc.get(), "index", static_cast<int32_t>(r.record));
  // Reasons may quote server messages; keep them valid UTF-8.
  const std::string reason = bson_utf8_validate(r.reason.data(), r.reason.size(), false) ? r.reason : "invalid record";
  bson_append_utf8(doc.get(), "reason", 6, reason.data(), static_cast<int>(reason.size()));
  bson_append_binary(doc.get(), "data", 4, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(r.data.data()),
                     static_cast<uint32_t>(r.data.size()));
  BSON_APPEND_DATE_TIME(doc.get(), "receivedAt", received_at);
  return doc;
}

}  // namespace

struct MongoSink::Pool {
  mongoc_uri_t* uri = nullptr;
  mongoc_client_pool_t* pool = nullptr;
  ~Pool() {
    if (pool) mongoc_client_pool_destroy(pool);
    if (uri) mongoc_uri_destroy(uri);
  }
};

MongoSink::MongoSink(const config::MongoDB& cfg, size_t max_clients) : pool_(std::make_unique<Pool>()) {
  std::call_once(g_init, [] { mongoc_init(); });
  bson_error_t err;
  pool_->uri = mongoc_uri_new_with_error(cfg.uri.c_str(), &err);
  if (!pool_->uri) throw std::runtime_error(std::string("invalid mongodb.uri: ") + err.message);
  // Fail fast enough for Firehose's 3-minute wait unless the URI says otherwise.
  if (!mongoc_uri_has_option(pool_->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
    mongoc_uri_set_option_as_int32(pool_->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000);
  if (!mongoc_uri_has_option(pool_->uri, MONGOC_URI_SOCKETTIMEOUTMS))
    mongoc_uri_set_option_as_int32(pool_->uri, MONGOC_URI_SOCKETTIMEOUTMS, 60000);
  if (!mongoc_uri_has_option(pool_->uri, MONGOC_URI_MAXPOOLSIZE))
    mongoc_uri_set_option_as_int32(pool_->uri, MONGOC_URI_MAXPOOLSIZE, static_cast<int32_t>(max_clients));
  if (!mongoc_uri_has_option(pool_->uri, MONGOC_URI_APPNAME))
    mongoc_uri_set_option_as_utf8(pool_->uri, MONGOC_URI_APPNAME, "hydrant");
  pool_->pool = mongoc_client_pool_new(pool_->uri);
  if (!pool_->pool) throw std::runtime_error("cannot create a MongoDB client pool for mongodb.uri");
  mongoc_client_pool_set_error_api(pool_->pool, MONGOC_ERROR_API_VERSION_2);

  write_concern_ = mongoc_write_concern_new();
  if (cfg.write_concern.majority) mongoc_write_concern_set_wmajority(write_concern_, 60000);
  else {
    mongoc_write_concern_set_w(write_concern_, cfg.write_concern.w);
    mongoc_write_concern_set_wtimeout_int64(write_concern_, 60000);
  }
}

MongoSink::~MongoSink() { mongoc_write_concern_destroy(write_concern_); }

Outcome MongoSink::write(const Target& target, Batch& batch, const RawRecord& raw, int64_t received_at_ms) {
  Outcome out;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  ClientLease lease(pool_->pool);

  std::vector<Reject> rejects = std::move(batch.rejects);
  if (!batch.docs.empty()) {
    CollectionPtr coll{mongoc_client_get_collection(lease.client, target.database.c_str(), target.collection.c_str())};
    BulkWriter writer(coll.c, write_concern_, out, deadline);
    std::vector<const bson_t*> docs;
    std::vector<size_t> items;
    docs.reserve(batch.docs.size());
    items.reserve(batch.docs.size());
    for (size_t i = 0; i < batch.docs.size(); ++i) {
      docs.push_back(batch.docs[i].doc.get());
      items.push_back(i);
    }
    if (!writer.write(docs, items)) return out;
    out.written = writer.written;
    // A record is one reject however many of its documents were refused.
    std::unordered_set<uint32_t> seen;
    for (const auto& r : rejects) seen.insert(r.record);
    for (const auto& f : writer.refused) {
      const uint32_t record = batch.docs[f.item].record;
      if (seen.insert(record).second) rejects.push_back({record, "MongoDB refused the document: " + f.reason, raw(record)});
    }
  }
  if (!rejects.empty()) {
    CollectionPtr coll{mongoc_client_get_collection(lease.client, target.database.c_str(), target.rejects.c_str())};
    Outcome rej_out;
    BulkWriter writer(coll.c, write_concern_, rej_out, deadline);
    std::vector<codec::BsonPtr> owned;
    std::vector<const bson_t*> docs;
    std::vector<size_t> items;
    for (size_t i = 0; i < rejects.size(); ++i) {
      owned.push_back(reject_doc(target, batch.request_id, rejects[i], received_at_ms));
      docs.push_back(owned.back().get());
      items.push_back(i);
    }
    const bool ok = writer.write(docs, items);
    out.seconds += rej_out.seconds;
    if (!ok) {
      out.fault = rej_out.fault;
      out.message = "storing rejects: " + rej_out.message;
      return out;
    }
    if (!writer.refused.empty()) {
      // Nowhere left to put it: fail the request so the sender keeps the data.
      out.fault = Fault::error;
      out.message = "MongoDB refused a reject record: " + writer.refused.front().reason;
      return out;
    }
    out.rejected = rejects.size();
  }
  return out;
}

bool MongoSink::ping(std::string& error) {
  ClientLease lease(pool_->pool);
  BsonStack cmd, reply;
  BSON_APPEND_INT32(&cmd.b, "ping", 1);
  bson_error_t err;
  if (!mongoc_client_command_simple(lease.client, "admin", &cmd.b, nullptr, &reply.b, &err)) {
    error = err.message;
    return false;
  }
  return true;
}

}  // namespace hydrant::sink
