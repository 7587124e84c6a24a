#include "app/webhook_endpoint.hpp"

#include <algorithm>

#include "codec/datetime.hpp"

namespace hydrant::app {

WebhookEndpoint::WebhookEndpoint(const config::Webhook& cfg, sink::MongoSink& sink, boost::asio::thread_pool& workers)
    : cfg_(cfg), target_{cfg.path, cfg.database, cfg.collection, cfg.rejects}, writer_{sink, workers} {
  for (const auto& m : cfg_.methods) allow_ += (allow_.empty() ? "" : ", ") + m;
}

bool WebhookEndpoint::allowed(const std::string& method) const {
  return std::find(cfg_.methods.begin(), cfg_.methods.end(), method) != cfg_.methods.end();
}

http::Response WebhookEndpoint::error(const http::Request&, int status, std::string_view message,
                                      http::RequestLog& log) {
  log.error = std::string(message);
  http::Response r;
  r.status = status;
  r.body = segment::error_json({}, message);
  return r;
}

std::optional<http::Response> WebhookEndpoint::precheck(const http::Request& head, http::RequestLog& log) {
  if (!allowed(head.method)) return std::nullopt;  // handle() answers 405
  if (auto err = webhook::check_head(cfg_, head, codec::now_ms() / 1000))
    return error(head, err->status, err->message, log);
  return std::nullopt;
}

boost::asio::awaitable<http::Response> WebhookEndpoint::handle(http::Request& req, http::RequestLog& log) {
  if (!allowed(req.method)) {
    auto r = error(req, 405, "method not allowed: use " + allow_, log);
    r.headers.emplace_back("Allow", allow_);
    co_return r;
  }
  const int64_t received_at = codec::now_ms();
  if (auto err = webhook::verify(cfg_, req, received_at / 1000)) co_return error(req, err->status, err->message, log);

  webhook::Decoded decoded;
  if (auto err = webhook::decode(cfg_, req, received_at, decoded)) co_return error(req, err->status, err->message, log);
  Batch& batch = decoded.batch;
  log.request_id = batch.request_id;

  sink::RawRecord raw = [&decoded](uint32_t i) {
    return decoded.parsed.events.empty() ? decoded.raw_body : decoded.parsed.raw(i);
  };
  const sink::Outcome out = co_await writer_.write(target_, batch, raw, received_at, log);
  if (auto fault = fault_status(out)) co_return error(req, fault->first, fault->second, log);

  co_return inserted_response(cfg_.respond_with_result, batch, out,
                              [](const Document& d) { return webhook::id_json(d.doc.get()); });
}

}  // namespace hydrant::app
