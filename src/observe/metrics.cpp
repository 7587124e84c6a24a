#include "observe/metrics.hpp"

#include <fmt/format.h>

namespace hydrant::observe {
namespace {

std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Metrics& Metrics::get() {
  static Metrics m;
  return m;
}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::records(const std::string& endpoint, uint64_t written, uint64_t rejected) {
  std::lock_guard lock(mu_);
  written_[endpoint] += written;
  rejected_[endpoint] += rejected;
}

void Metrics::bytes_in(const std::string& endpoint, uint64_t n) {
  std::lock_guard lock(mu_);
  bytes_[endpoint] += n;
}

void Metrics::write_seconds(double s) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (s <= kBuckets[i]) ++buckets_[i];
  ++write_count_;
  write_sum_ += s;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string o;
  o += "# HELP hydrant_requests_total HTTP requests by endpoint and status.\n# TYPE hydrant_requests_total counter\n";
  for (const auto& [k, v] : requests_)
    o += fmt::format("hydrant_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", label(k.first), k.second, v);
  auto counter = [&](const char* name, const char* help, const std::map<std::string, uint64_t>& m) {
    o += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [k, v] : m) o += fmt::format("{}{{endpoint=\"{}\"}} {}\n", name, label(k), v);
  };
  counter("hydrant_records_written_total", "Documents written to MongoDB.", written_);
  counter("hydrant_records_rejected_total", "Records stored in a rejects collection.", rejected_);
  counter("hydrant_bytes_in_total", "Request body bytes received (before decompression).", bytes_);
  o += "# HELP hydrant_mongodb_write_seconds Time of one batch write to MongoDB.\n"
       "# TYPE hydrant_mongodb_write_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i)
    o += fmt::format("hydrant_mongodb_write_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[i], buckets_[i]);
  o += fmt::format("hydrant_mongodb_write_seconds_bucket{{le=\"+Inf\"}} {}\n", write_count_);
  o += fmt::format("hydrant_mongodb_write_seconds_sum {}\nhydrant_mongodb_write_seconds_count {}\n", write_sum_,
                   write_count_);
  o += fmt::format(
      "# HELP hydrant_inflight_bytes Bytes of requests being processed.\n# TYPE hydrant_inflight_bytes gauge\n"
      "hydrant_inflight_bytes {}\n",
      inflight());
  return o;
}

}  // namespace hydrant::observe
