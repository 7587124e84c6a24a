#pragma once
// What a trigger keeps in MongoDB (`[triggers] state_database`): its position,
// its lease, the gaps it recorded and its rejects. Blocking calls; each object
// is used by one thread at a time (it holds one client of its own).
#include <mongoc/mongoc.h>

#include <cstdint>
#include <optional>
#include <string>

#include "codec/bson_ptr.hpp"
#include "config/config.hpp"
#include "trigger/event.hpp"

namespace hydrant::trigger {

// A client of its own (not pooled): a trigger's threads each have one.
class Client {
 public:
  // Throws std::runtime_error on an invalid URI.
  Client(const std::string& uri, int32_t socket_timeout_ms);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  mongoc_client_t* get() const { return client_; }

 private:
  mongoc_uri_t* uri_ = nullptr;
  mongoc_client_t* client_ = nullptr;
};

// A `ping` round trip to `uri`; false with a reason when it does not answer.
bool ping(const std::string& uri, std::string& error);

struct Position {
  codec::BsonPtr token;        // the resume token
  bool start_after = false;    // the token is an invalidate event's: open with startAfter
  ClusterTime cluster_time;    // of the last delivered event (0 when unknown)
  int64_t wall_ms = 0;
};

class StateStore {
 public:
  StateStore(const config::Config& cfg, const std::string& trigger);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // The stored position; nullopt when there is none. Throws on a MongoDB error.
  std::optional<Position> load();

  // Takes the lease when it is free or expired, for `owner` (unique per taking).
  // false when another instance holds it; throws on a MongoDB error.
  bool acquire(const std::string& owner, int64_t lease_ms);
  // Extends the lease; false when `owner` no longer holds it.
  bool renew(const std::string& owner, int64_t lease_ms);
  // Gives the lease up (at shutdown), so another instance takes over at once.
  void release(const std::string& owner);
  // Stores the position, only while `owner` holds the lease (fencing); false when it does not.
  bool save(const std::string& owner, int64_t lease_ms, const bson_t* token, bool start_after,
            const std::optional<Meta>& last);

  // A gap in the stream (history lost, restarted at the present).
  void record_gap(const Position* from, const std::string& reason);
  // One event the destination will never get.
  void reject(const bson_t* document_key, const Meta& meta, const std::string& reason, std::string_view data,
              const bson_t* event);

 private:
  mongoc_collection_t* collection(const char* name);
  std::string name_;
  std::string db_;
  Client client_;
  mongoc_write_concern_t* wc_ = nullptr;
};

}  // namespace hydrant::trigger
