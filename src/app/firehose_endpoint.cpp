#include "app/firehose_endpoint.hpp"

#include "app/write.hpp"
#include "codec/datetime.hpp"

namespace hydrant::app {

namespace {

// What each record's document costs beyond ~3x the body, which the server has
// reserved already: the bson_t, its allocations, the driver's copy. Measured
// about 650 bytes for 300-byte records (bench/RESULTS.md); small records are
// where it matters.
constexpr uint64_t kMemoryPerRecord = 1024;

std::string header_id(const http::Request& req) {
  const std::string* id = req.header("X-Amz-Firehose-Request-Id");
  return id ? *id : std::string();
}
}  // namespace

FirehoseEndpoint::FirehoseEndpoint(const config::Firehose& cfg, size_t max_body, sink::MongoSink& sink,
                                   boost::asio::thread_pool& workers)
    : cfg_(cfg),
      decoder_(cfg_, max_body),
      target_{cfg.path, cfg.database, cfg.collection, cfg.rejects},
      writer_{sink, workers} {}

http::Response FirehoseEndpoint::error(const http::Request& head, int status, std::string_view message,
                                       http::RequestLog& log) {
  log.request_id = header_id(head);
  log.error = std::string(message);
  return firehose::render(status, log.request_id, message);
}

std::optional<http::Response> FirehoseEndpoint::precheck(const http::Request& head, http::RequestLog& log) {
  if (head.method != "POST") return std::nullopt;
  firehose::Head h;
  if (auto err = firehose::check_head(cfg_, head, h)) return error(head, err->status, err->message, log);
  return std::nullopt;
}

boost::asio::awaitable<http::Response> FirehoseEndpoint::handle(http::Request& req, http::RequestLog& log) {
  log.request_id = header_id(req);
  if (req.method == "GET" || req.method == "HEAD") co_return firehose::render(200, log.request_id);
  if (req.method != "POST") {
    auto r = error(req, 405, "method not allowed: use POST", log);
    r.headers.emplace_back("Allow", "POST, GET");
    co_return r;
  }
  firehose::Head head;
  if (auto err = firehose::check_head(cfg_, req, head)) co_return error(req, err->status, err->message, log);

  firehose::Envelope env;
  if (auto err = firehose::parse_envelope(req.body, env)) co_return error(req, err->status, err->message, log);
  if (env.request_id != head.request_id)
    co_return error(req, 400, "body requestId differs from the X-Amz-Firehose-Request-Id header", log);
  if (req.reserve && !req.reserve(env.data.size() * kMemoryPerRecord))
    co_return error(req, 503, "server is over max_inflight; retry later", log);

  const int64_t received_at = codec::now_ms();
  Batch batch = decoder_.decode(env, head, received_at);
  sink::RawRecord raw = [this, &env](uint32_t i) { return decoder_.raw_record(env, i); };
  const sink::Outcome out = co_await writer_.write(target_, batch, raw, received_at, log);
  if (auto fault = fault_status(out)) co_return error(req, fault->first, fault->second, log);
  co_return firehose::render(200, log.request_id);
}

}  // namespace hydrant::app
