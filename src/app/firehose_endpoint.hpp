#pragma once
#include <boost/asio/thread_pool.hpp>

#include "app/write.hpp"
#include "http/server.hpp"
#include "sink/mongo_sink.hpp"
#include "sources/firehose/decode.hpp"

namespace hydrant::app {

// `[[firehose]]`: protocol checks → decode → sink → the protocol's response.
class FirehoseEndpoint final : public http::Endpoint {
 public:
  FirehoseEndpoint(const config::Firehose& cfg, size_t max_body, sink::MongoSink& sink,
                   boost::asio::thread_pool& workers);
  const std::string& name() const override { return cfg_.path; }
  std::optional<http::Response> precheck(const http::Request& head, http::RequestLog& log) override;
  boost::asio::awaitable<http::Response> handle(http::Request& req, http::RequestLog& log) override;
  http::Response error(const http::Request& head, int status, std::string_view message,
                       http::RequestLog& log) override;

 private:
  config::Firehose cfg_;
  firehose::Decoder decoder_;
  sink::Target target_;
  Writer writer_;
};

}  // namespace hydrant::app
