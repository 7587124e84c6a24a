#pragma once
#include <boost/asio/thread_pool.hpp>

#include "app/write.hpp"
#include "http/server.hpp"
#include "sources/segment/tracking.hpp"
#include "sources/segment/webhook.hpp"

namespace hydrant::app {

// `[[segment]] kind = "webhook"`: secret and signature → events → sink.
class SegmentWebhookEndpoint final : public http::Endpoint {
 public:
  SegmentWebhookEndpoint(const config::Segment& cfg, sink::MongoSink& sink, boost::asio::thread_pool& workers);
  const std::string& name() const override { return cfg_.path; }
  std::optional<http::Response> precheck(const http::Request& head, http::RequestLog& log) override;
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;
  http::Response error(const http::Request& head, int status, std::string_view message,
                       http::RequestLog& log) override;

 private:
  config::Segment cfg_;
  sink::Target target_;
  Writer writer_;
};

// `[[segment]] kind = "tracking-api"`: Segment's HTTP Tracking API for its SDKs.
class TrackingApiEndpoint final : public http::Endpoint {
 public:
  TrackingApiEndpoint(const config::Segment& cfg, sink::MongoSink& sink, boost::asio::thread_pool& workers);
  const std::string& name() const override { return cfg_.path; }
  std::optional<http::Response> precheck(const http::Request& head, http::RequestLog& log) override;
  uint64_t body_limit(const http::Request& head) const override;
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;
  http::Response error(const http::Request& head, int status, std::string_view message,
                       http::RequestLog& log) override;

 private:
  std::optional<segment::Call> call(const http::Request& req) const;
  // Access-Control-Allow-Origin for an allowed Origin; false when the origin is not allowed.
  bool cors(const http::Request& req, http::Response& res) const;
  http::Response preflight(const http::Request& req) const;

  config::Segment cfg_;
  segment::TrackingDecoder decoder_;
  sink::Target target_;
  Writer writer_;
};

}  // namespace hydrant::app
