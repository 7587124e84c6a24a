#pragma once
// Process-wide metrics in the Prometheus text format. Debian 12 ships no
// prometheus-cpp, and what is needed here is a few counters, one gauge and one
// histogram, so this is a small registry of its own.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hydrant::observe {

// One trigger's figures; the trigger's threads update them, /metrics and /readyz read them.
struct TriggerStats {
  std::atomic<uint64_t> read{0}, delivered{0}, retried{0}, rejected{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> lag_ms{0};
  std::atomic<int> state{0};  // trigger::State
  std::atomic<bool> leased{false};
  mutable std::mutex mu;
  std::string state_name = "starting";
  std::string error;  // why it is backing off or failed
  std::string owner;  // the instance holding the lease, when known
  void set_state(int s, const char* name, const std::string& why) {
    std::lock_guard lock(mu);
    state = s;
    state_name = name;
    error = why;
  }
  std::pair<std::string, std::string> describe() const {
    std::lock_guard lock(mu);
    return {state_name, error};
  }
};

class Metrics {
 public:
  // The figures of the trigger `name` (made on first use; they live as long as the process).
  TriggerStats& trigger(const std::string& name);
  std::vector<std::pair<std::string, const TriggerStats*>> triggers() const;

  static Metrics& get();

  void request(const std::string& endpoint, int status);
  void records(const std::string& endpoint, uint64_t written, uint64_t rejected);
  void bytes_in(const std::string& endpoint, uint64_t n);
  void write_seconds(double s);
  void inflight_add(int64_t delta) { inflight_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t inflight() const { return inflight_.load(std::memory_order_relaxed); }

  std::string render() const;

  static constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10,   30};

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> written_, rejected_, bytes_;
  std::array<uint64_t, kBuckets.size()> buckets_{};
  uint64_t write_count_ = 0;
  double write_sum_ = 0;
  std::atomic<int64_t> inflight_{0};
  std::map<std::string, std::unique_ptr<TriggerStats>> triggers_;
};

}  // namespace hydrant::observe
