#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "observe/metrics.hpp"

using hydrant::observe::Metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (l == line) return true;
  return false;
}

// The value of the sample line starting with `prefix` followed by a space, or -1.
double value_of(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (l.size() > prefix.size() && l.compare(0, prefix.size(), prefix) == 0 && l[prefix.size()] == ' ')
      return std::stod(l.substr(prefix.size() + 1));
  return -1;
}

}  // namespace

TEST(Metrics, SingletonIsShared) { EXPECT_EQ(&Metrics::get(), &Metrics::get()); }

TEST(Metrics, RequestsByEndpointAndStatus) {
  auto& m = Metrics::get();
  m.request("/unit/requests", 200);
  m.request("/unit/requests", 200);
  m.request("/unit/requests", 200);
  m.request("/unit/requests", 503);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE hydrant_requests_total counter")) << text;
  EXPECT_TRUE(has_line(text, R"(hydrant_requests_total{endpoint="/unit/requests",status="200"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(hydrant_requests_total{endpoint="/unit/requests",status="503"} 1)")) << text;
  EXPECT_FALSE(has_line(text, R"(hydrant_requests_total{endpoint="/unit/requests",status="400"} 0)"));
}

TEST(Metrics, RecordsAndBytes) {
  auto& m = Metrics::get();
  m.records("/unit/records", 10, 2);
  m.records("/unit/records", 5, 0);
  m.bytes_in("/unit/records", 1000);
  m.bytes_in("/unit/records", 24);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE hydrant_records_written_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE hydrant_records_rejected_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE hydrant_bytes_in_total counter"));
  EXPECT_TRUE(has_line(text, R"(hydrant_records_written_total{endpoint="/unit/records"} 15)")) << text;
  EXPECT_TRUE(has_line(text, R"(hydrant_records_rejected_total{endpoint="/unit/records"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(hydrant_bytes_in_total{endpoint="/unit/records"} 1024)")) << text;
}

TEST(Metrics, LabelValuesAreEscaped) {
  auto& m = Metrics::get();
  m.request("/unit/q\"b\\s\nn", 400);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(hydrant_requests_total{endpoint="/unit/q\"b\\s\nn",status="400"} 1)")) << text;
}

TEST(Metrics, WriteLatencyHistogram) {
  auto& m = Metrics::get();
  const std::string before = m.render();
  m.write_seconds(0.003);
  m.write_seconds(0.2);
  m.write_seconds(100);
  const std::string after = m.render();
  EXPECT_TRUE(has_line(after, "# TYPE hydrant_mongodb_write_seconds histogram"));
  auto delta = [&](const std::string& series) {
    const double a = value_of(after, series), b = value_of(before, series);
    EXPECT_GE(a, 0) << series << "\n" << after;
    EXPECT_GE(b, 0) << series;
    return a - b;
  };
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="0.001"})"), 0);
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="0.0025"})"), 0);
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="0.005"})"), 1);
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="0.1"})"), 1);
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="0.25"})"), 2);
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="30"})"), 2);
  EXPECT_EQ(delta(R"(hydrant_mongodb_write_seconds_bucket{le="+Inf"})"), 3);
  EXPECT_EQ(delta("hydrant_mongodb_write_seconds_count"), 3);
  EXPECT_NEAR(delta("hydrant_mongodb_write_seconds_sum"), 100.203, 1e-6);
}

TEST(Metrics, HistogramBucketsAreCumulativeAndOrdered) {
  auto& m = Metrics::get();
  m.write_seconds(0.0001);
  const std::string text = m.render();
  double prev = -1;
  for (double le : Metrics::kBuckets) {
    std::ostringstream key;
    key << "hydrant_mongodb_write_seconds_bucket{le=\"" << le << "\"}";
    const double v = value_of(text, key.str());
    ASSERT_GE(v, 0) << key.str() << "\n" << text;
    EXPECT_GE(v, prev) << key.str();
    prev = v;
  }
  EXPECT_GE(value_of(text, R"(hydrant_mongodb_write_seconds_bucket{le="+Inf"})"), prev);
  EXPECT_EQ(value_of(text, R"(hydrant_mongodb_write_seconds_bucket{le="+Inf"})"),
            value_of(text, "hydrant_mongodb_write_seconds_count"));
}

TEST(Metrics, InflightGauge) {
  auto& m = Metrics::get();
  const int64_t base = m.inflight();
  m.inflight_add(12345);
  EXPECT_EQ(m.inflight(), base + 12345);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE hydrant_inflight_bytes gauge"));
  EXPECT_TRUE(has_line(text, "hydrant_inflight_bytes " + std::to_string(base + 12345))) << text;
  m.inflight_add(-12345);
  EXPECT_EQ(m.inflight(), base);
  text = m.render();
  EXPECT_TRUE(has_line(text, "hydrant_inflight_bytes " + std::to_string(base))) << text;
}

TEST(Metrics, EveryLineIsCommentOrSample) {
  auto& m = Metrics::get();
  m.request("/unit/format", 200);
  const std::string text = m.render();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    ASSERT_FALSE(l.empty());
    if (l[0] == '#') {
      EXPECT_TRUE(l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) << l;
      continue;
    }
    EXPECT_EQ(l.rfind("hydrant_", 0), 0u) << l;
    const size_t sp = l.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << l;
    size_t used = 0;
    std::stod(l.substr(sp + 1), &used);
    EXPECT_EQ(used, l.size() - sp - 1) << l;
  }
}
