#pragma once
// Writes batches into MongoDB: unordered bulk replace-upserts on `_id`,
// results classified per record, refused records stored as rejects (SPEC §3).
// Every call blocks: run it on the worker pool, never on an IO thread.
#include <mongoc/mongoc.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/batch.hpp"
#include "config/config.hpp"

namespace hydrant::sink {

struct Target {
  std::string endpoint;  // stored in rejects and used as a metrics label
  std::string database;
  std::string collection;
  std::string rejects;
};

enum class Fault { none, unavailable, error };

struct Outcome {
  Fault fault = Fault::none;
  std::string message;    // why, when fault != none
  uint64_t written = 0;   // documents upserted
  uint64_t rejected = 0;  // rejects stored (decode failures + records MongoDB refused)
  struct Rejected {
    uint32_t record;
    std::string reason;
  };
  std::vector<Rejected> rejects;  // which records those are, and why
  double seconds = 0;
};

// Raw bytes of a record, for a reject built from a document MongoDB refused.
using RawRecord = std::function<std::string(uint32_t record)>;

class MongoSink {
 public:
  // Throws std::runtime_error on an invalid URI.
  MongoSink(const config::MongoDB& cfg, size_t max_clients);
  ~MongoSink();
  MongoSink(const MongoSink&) = delete;
  MongoSink& operator=(const MongoSink&) = delete;

  Outcome write(const Target& target, Batch& batch, const RawRecord& raw, int64_t received_at_ms);

  // A `ping` round trip; false with a reason when MongoDB does not answer.
  bool ping(std::string& error);

 private:
  struct Pool;
  std::unique_ptr<Pool> pool_;
  mongoc_write_concern_t* write_concern_ = nullptr;
};

}  // namespace hydrant::sink
