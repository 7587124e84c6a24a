#pragma once
// Process-wide metrics in the Prometheus text format. Debian 12 ships no
// prometheus-cpp, and what is needed here is a few counters, one gauge and one
// histogram, so this is a small registry of its own.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace hydrant::observe {

class Metrics {
 public:
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
};

}  // namespace hydrant::observe
