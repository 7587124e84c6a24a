#include "sink/mongo_sink.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "observe/metrics.hpp"
#include "sink/classify.hpp"

namespace hydrant::sink {
namespace {

std::once_flag g_init;

// A whole request must finish well within Firehose's 3-minute wait.
constexpr auto kDeadline = std::chrono::seconds(100);

// Bytes of documents per bulk command: bounds the driver's message buffers.
constexpr size_t kMaxBulkBytes = 8u << 20;
constexpr size_t kMaxStatements = 100000;  // MongoDB's maxWriteBatchSize
// FerretDB v1 holds one SQLite connection per statement until an `update`
// command ends (a defer inside its loop, msg_update.go) and has 100: more
// statements than that in one command deadlock it; its replaces also cost
// time in proportion to the collection, so keep each command short.
constexpr size_t kFerretStatements = 16;  // short commands: its replaces are slow on big collections

// MongoDB's document size limit. Bigger documents are refused here: libmongoc
// would refuse them too, but reports them with an index into its own sub-batch,
// which cannot be mapped back to the record.
constexpr uint32_t kMaxDocumentBytes = 16u << 20;

// Asks the server who it is; FerretDB says so in buildInfo (ferretdbVersion).
size_t detect_max_statements(mongoc_client_t* client) {
  bson_t cmd = BSON_INITIALIZER, reply;
  BSON_APPEND_INT32(&cmd, "buildInfo", 1);
  bson_error_t err;
  size_t result = 0;
  if (mongoc_client_command_simple(client, "admin", &cmd, nullptr, &reply, &err)) {
    bson_iter_t it;
    result = bson_iter_init_find(&it, &reply, "ferretdbVersion") ? kFerretStatements : kMaxStatements;
  }
  bson_destroy(&reply);
  bson_destroy(&cmd);
  return result;
}

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
             std::chrono::steady_clock::time_point deadline, size_t max_replace)
      : coll_(coll),
        wc_(wc),
        out_(out),
        deadline_(deadline),
        max_replace_(max_replace),
        update_indexes_reliable_(max_replace != kFerretStatements) {}

  struct Refused {
    size_t item;
    std::string reason;
  };
  std::vector<Refused> refused;
  uint64_t written = 0;

  // Upserts docs[i] for every i in `items`; false on a fault that fails the request.
  //
  // Most records are new, so they are inserted first, which is one cheap
  // statement each; only those whose `_id` already exists (a retried delivery)
  // are written again as replace-upserts. The result is the same as upserting
  // everything, at a fraction of the cost (300x on FerretDB, whose upserts
  // scan).
  bool write(const std::vector<const bson_t*>& docs, const std::vector<size_t>& items) {
    if (items.empty()) return true;
    std::vector<size_t> existing;
    if (!insert(docs, items, existing)) return false;
    for (size_t start = 0; start < existing.size(); start += max_replace_) {
      const size_t end = std::min(existing.size(), start + max_replace_);
      std::vector<size_t> part(existing.begin() + static_cast<long>(start), existing.begin() + static_cast<long>(end));
      if (!replace(docs, part)) return false;
    }
    return true;
  }

 private:
  std::unique_ptr<mongoc_bulk_operation_t, void (*)(mongoc_bulk_operation_t*)> new_bulk() {
    BsonStack opts;
    BSON_APPEND_BOOL(&opts.b, "ordered", false);
    mongoc_write_concern_append(const_cast<mongoc_write_concern_t*>(wc_), &opts.b);
    return {mongoc_collection_create_bulk_operation_with_opts(coll_, &opts.b), mongoc_bulk_operation_destroy};
  }

  bool execute(mongoc_bulk_operation_t* bulk, bson_t* reply, bson_error_t* error) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = mongoc_bulk_operation_execute(bulk, reply, error) != 0;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    observe::Metrics::get().write_seconds(secs);
    out_.seconds += secs;
    return ok;
  }

  // Executes `bulk` of `n` statements: true when all were written, false on a
  // fault that fails the request, nullopt when `reply` holds per-statement errors
  // (or the command failed as a whole with `whole`) for the caller to sort out.
  std::optional<bool> run(mongoc_bulk_operation_t* bulk, size_t n, bson_t* reply, bson_error_t* error,
                          ErrorClass& whole) {
    if (execute(bulk, reply, error)) {
      written += n;
      return true;
    }
    whole = classify_error(*error, reply);
    if (whole == ErrorClass::unavailable) return fail(Fault::unavailable, error->message);
    if (has_array(reply, "writeConcernErrors")) return fail(Fault::error, std::string("write concern: ") + error->message);
    return std::nullopt;
  }

  // Inserts; items whose `_id` exists already go to `existing`.
  bool insert(const std::vector<const bson_t*>& docs, const std::vector<size_t>& items, std::vector<size_t>& existing) {
    if (std::chrono::steady_clock::now() > deadline_) return fail(Fault::error, "MongoDB write timed out");
    auto bulk = new_bulk();
    BsonStack opts;
    BSON_APPEND_BOOL(&opts.b, "validate", false);  // the server judges field names
    std::vector<size_t> appended;
    appended.reserve(items.size());
    for (size_t i : items) {
      if (docs[i]->len > kMaxDocumentBytes) {
        refused.push_back({i, "document is " + std::to_string(docs[i]->len) + " bytes, more than MongoDB's 16 MiB limit"});
        continue;
      }
      bson_error_t err;
      if (!mongoc_bulk_operation_insert_with_opts(bulk.get(), docs[i], &opts.b, &err)) {
        refused.push_back({i, err.message});
        continue;
      }
      appended.push_back(i);
    }
    if (appended.empty()) return true;
    BsonStack reply;
    bson_error_t error;
    ErrorClass whole;
    if (auto done = run(bulk.get(), appended.size(), &reply.b, &error, whole)) return *done;
    std::vector<WriteError> errors = write_errors(&reply.b);
    if (errors.empty()) {
      if (whole == ErrorClass::transient) return fail(Fault::error, error.message);
      // Refused as a whole without details: the upsert path isolates the culprit.
      existing.insert(existing.end(), appended.begin(), appended.end());
      return true;
    }
    for (const auto& we : errors) {
      if (we.index >= appended.size()) return fail(Fault::error, we.message);
      const size_t item = appended[we.index];
      if (we.code == 11000 || we.code == 11001) {
        existing.push_back(item);  // exists (or a unique index clash, which the upsert will tell)
        continue;
      }
      switch (classify_code(we.code, we.message)) {
        case ErrorClass::unavailable: return fail(Fault::unavailable, we.message);
        case ErrorClass::transient: return fail(Fault::error, we.message);
        default: refused.push_back({item, we.message});
      }
    }
    written += appended.size() - errors.size();
    return true;
  }

  // Replace-upserts on `_id`, isolating records the server refuses.
  bool replace(const std::vector<const bson_t*>& docs, const std::vector<size_t>& items, bool retried = false) {
    if (items.empty()) return true;
    if (std::chrono::steady_clock::now() > deadline_) return fail(Fault::error, "MongoDB write timed out");
    auto bulk = new_bulk();
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
      if (!mongoc_bulk_operation_replace_one_with_opts(bulk.get(), &filter.b, docs[i], &upsert.b, &err)) {
        refused.push_back({i, err.message});
        continue;
      }
      appended.push_back(i);
    }
    if (appended.empty()) return true;

    BsonStack reply;
    bson_error_t error;
    ErrorClass whole;
    if (auto done = run(bulk.get(), appended.size(), &reply.b, &error, whole)) return *done;

    std::vector<WriteError> errors = write_errors(&reply.b);
    // FerretDB numbers a failed update statement 0 whatever its position: there,
    // a multi-statement failure is isolated by halving instead.
    if (!errors.empty() && !update_indexes_reliable_ && appended.size() > 1) {
      for (const auto& we : errors) {
        const ErrorClass c = classify_code(we.code, we.message);
        if (c == ErrorClass::transient || c == ErrorClass::unavailable)
          return fail(c == ErrorClass::unavailable ? Fault::unavailable : Fault::error, we.message);
      }
      errors.clear();
      whole = ErrorClass::permanent;
    }
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
        return replace(docs, dupes, true);
      }
      return true;
    }

    // The whole command failed without saying which statement (FerretDB does
    // this): a passing fault fails the request; otherwise halve the batch until
    // the records that can never be written are found.
    if (whole == ErrorClass::transient) return fail(Fault::error, error.message);
    if (whole == ErrorClass::duplicate_id && !retried) return replace(docs, appended, true);
    if (appended.size() == 1) {
      refused.push_back({appended[0], error.message});
      return true;
    }
    const size_t mid = appended.size() / 2;
    std::vector<size_t> left(appended.begin(), appended.begin() + static_cast<long>(mid));
    std::vector<size_t> right(appended.begin() + static_cast<long>(mid), appended.end());
    return replace(docs, left, retried) && replace(docs, right, retried);
  }

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
  size_t max_replace_;
  bool update_indexes_reliable_;  // false on FerretDB
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
  // Statements per bulk command; 0 until the server has been identified.
  std::atomic<size_t> max_statements{0};
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
    size_t max_statements = pool_->max_statements.load();
    if (max_statements == 0) {
      max_statements = detect_max_statements(lease.client);
      if (max_statements) pool_->max_statements = max_statements;
      else max_statements = kFerretStatements;  // unknown yet: the safe size
    }
    BulkWriter writer(coll.c, write_concern_, out, deadline, max_statements);
    std::vector<const bson_t*> docs;
    std::vector<size_t> items;
    docs.reserve(batch.docs.size());
    items.reserve(batch.docs.size());
    size_t bytes = 0;
    for (size_t i = 0; i < batch.docs.size(); ++i) {
      docs.push_back(batch.docs[i].doc.get());
      items.push_back(i);
      bytes += batch.docs[i].doc->len;
      if (items.size() >= kMaxStatements || bytes >= kMaxBulkBytes || i + 1 == batch.docs.size()) {
        if (!writer.write(docs, items)) return out;
        items.clear();
        bytes = 0;
      }
    }
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
    BulkWriter writer(coll.c, write_concern_, rej_out, deadline,
                      std::max<size_t>(pool_->max_statements.load(), kFerretStatements));
    std::vector<codec::BsonPtr> owned;
    std::vector<const bson_t*> docs;
    std::vector<size_t> items;
    bool ok = true;
    size_t bytes = 0;
    for (size_t i = 0; i < rejects.size() && ok; ++i) {
      owned.push_back(reject_doc(target, batch.request_id, rejects[i], received_at_ms));
      docs.push_back(owned.back().get());
      items.push_back(i);
      bytes += owned.back()->len;
      if (items.size() >= kMaxStatements || bytes >= kMaxBulkBytes || i + 1 == rejects.size()) {
        ok = writer.write(docs, items);
        items.clear();
        bytes = 0;
      }
    }
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
    out.rejects.reserve(rejects.size());
    for (auto& r : rejects) out.rejects.push_back({r.record, std::move(r.reason)});
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
