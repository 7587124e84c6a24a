#pragma once
#include <boost/asio/thread_pool.hpp>

#include "app/write.hpp"
#include "http/server.hpp"
#include "sources/webhook/webhook.hpp"

namespace hydrant::app {

// `[[webhook]]`: method → signature over the raw bytes → documents → sink.
class WebhookEndpoint final : public http::Endpoint {
 public:
  WebhookEndpoint(const config::Webhook& cfg, sink::MongoSink& sink, boost::asio::thread_pool& workers);
  const std::string& name() const override { return cfg_.path; }
  std::optional<http::Response> precheck(const http::Request& head, http::RequestLog& log) override;
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;
  http::Response error(const http::Request& head, int status, std::string_view message,
                       http::RequestLog& log) override;

 private:
  bool allowed(const std::string& method) const;

  config::Webhook cfg_;
  std::string allow_;  // the Allow header of a 405
  sink::Target target_;
  Writer writer_;
};

}  // namespace hydrant::app
