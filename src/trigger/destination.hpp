#pragma once
// Where a trigger's events go. A destination delivers a whole batch, retrying
// what failed for as long as the trigger lets it, and names the events it gave
// up on (permanent errors) so they go to the rejects.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec/bson_ptr.hpp"
#include "config/config.hpp"
#include "trigger/event.hpp"

namespace hydrant::trigger {

struct Record {
  std::string data;         // what the destination receives
  std::string key;          // partition key (Kinesis), empty otherwise
  codec::BsonPtr document_key;
  Meta meta;
};

struct Rejection {
  size_t record;
  std::string reason;
};

enum class State { starting, running, backing_off, failed, standby, stopped };
const char* state_name(State s);

// What the trigger lets a destination know and do while it delivers.
class Control {
 public:
  virtual ~Control() = default;
  // false once the trigger stops or loses its lease: give up the batch.
  virtual bool keep_going() = 0;
  // Waits up to ms, or less when keep_going() turns false.
  virtual void sleep_ms(int64_t ms) = 0;
  virtual void state(State s, const std::string& why) = 0;
  virtual void retried(uint64_t records) = 0;
  virtual void in_flight(int64_t records) = 0;
};

class Destination {
 public:
  virtual ~Destination() = default;
  // Limits of one batch, and of one record (bigger events are rejected before delivery).
  virtual size_t max_records() const = 0;
  virtual size_t max_bytes() const = 0;
  virtual size_t max_record_bytes() const = 0;
  virtual bool uses_keys() const { return false; }
  virtual std::string describe() const = 0;

  // Delivers every record of `batch`, in order per key when the trigger is ordered.
  // Returns false when interrupted (Control::keep_going() turned false) before
  // every record was delivered or rejected; `rejected` lists the ones given up on.
  virtual bool deliver(const std::vector<Record>& batch, std::vector<Rejection>& rejected, Control& ctl) = 0;
};

std::unique_ptr<Destination> make_destination(const config::Trigger& trigger);

}  // namespace hydrant::trigger
