#pragma once
#include <boost/asio/thread_pool.hpp>

#include "http/server.hpp"
#include "sink/mongo_sink.hpp"

namespace hydrant::app {

// GET /healthz: 200 while the process serves.
class HealthEndpoint final : public http::Endpoint {
 public:
  const std::string& name() const override { return name_; }
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;

 private:
  std::string name_ = "/healthz";
};

// GET /readyz: 200 only when MongoDB answers a ping.
class ReadyEndpoint final : public http::Endpoint {
 public:
  ReadyEndpoint(sink::MongoSink& sink, boost::asio::thread_pool& workers) : sink_(sink), workers_(workers) {}
  const std::string& name() const override { return name_; }
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;

 private:
  std::string name_ = "/readyz";
  sink::MongoSink& sink_;
  boost::asio::thread_pool& workers_;
};

// GET /metrics: Prometheus text format.
class MetricsEndpoint final : public http::Endpoint {
 public:
  const std::string& name() const override { return name_; }
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;

 private:
  std::string name_ = "/metrics";
};

}  // namespace hydrant::app
