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

TriggerStats& Metrics::trigger(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& t = triggers_[name];
  if (!t) t = std::make_unique<TriggerStats>();
  return *t;
}

std::vector<std::pair<std::string, const TriggerStats*>> Metrics::triggers() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, const TriggerStats*>> out;
  for (const auto& [k, v] : triggers_) out.emplace_back(k, v.get());
  return out;
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
  auto per_trigger = [&](const char* name, const char* type, const char* help, auto value) {
    o += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [k, t] : triggers_) o += fmt::format("{}{{trigger=\"{}\"}} {}\n", name, label(k), value(*t));
  };
  per_trigger("hydrant_trigger_events_read_total", "counter", "Change events read from the change stream.",
              [](const TriggerStats& t) { return t.read.load(); });
  per_trigger("hydrant_trigger_events_delivered_total", "counter", "Change events the destination acknowledged.",
              [](const TriggerStats& t) { return t.delivered.load(); });
  per_trigger("hydrant_trigger_events_retried_total", "counter", "Events sent again after a failure.",
              [](const TriggerStats& t) { return t.retried.load(); });
  per_trigger("hydrant_trigger_events_rejected_total", "counter", "Events stored in trigger_rejects instead.",
              [](const TriggerStats& t) { return t.rejected.load(); });
  per_trigger("hydrant_trigger_events_in_flight", "gauge", "Events read and not yet acknowledged.",
              [](const TriggerStats& t) { return t.in_flight.load(); });
  per_trigger("hydrant_trigger_lag_seconds", "gauge",
              "Now minus the time of the last delivered event; 0 when the stream is caught up.",
              [](const TriggerStats& t) { return static_cast<double>(t.lag_ms.load()) / 1000.0; });
  per_trigger("hydrant_trigger_lease_held", "gauge", "1 when this instance holds the trigger's lease.",
              [](const TriggerStats& t) { return t.leased.load() ? 1 : 0; });
  o += "# HELP hydrant_trigger_state The trigger's state (1 for the current one).\n# TYPE hydrant_trigger_state gauge\n";
  for (const auto& [k, t] : triggers_) {
    const std::string current = t->describe().first;
    for (const char* st : {"starting", "running", "backing_off", "failed", "standby", "stopped"})
      o += fmt::format("hydrant_trigger_state{{trigger=\"{}\",state=\"{}\"}} {}\n", label(k), st, current == st ? 1 : 0);
  }
  return o;
}

}  // namespace hydrant::observe
