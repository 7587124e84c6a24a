#include "app/segment_endpoints.hpp"

#include "codec/datetime.hpp"
#include "codec/json_text.hpp"

namespace hydrant::app {

namespace {

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::Response method_not_allowed(http::Endpoint& ep, const http::Request& req, const char* allow,
                                  http::RequestLog& log) {
  auto r = ep.error(req, 405, std::string("method not allowed: use ") + allow, log);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

// ---- webhook ---------------------------------------------------------------------

SegmentWebhookEndpoint::SegmentWebhookEndpoint(const config::Segment& cfg, sink::MongoSink& sink,
                                               boost::asio::thread_pool& workers)
    : cfg_(cfg), target_{cfg.path, cfg.database, cfg.collection, cfg.rejects}, writer_{sink, workers} {}

http::Response SegmentWebhookEndpoint::error(const http::Request&, int status, std::string_view message,
                                             http::RequestLog& log) {
  log.error = std::string(message);
  return json_response(status, segment::error_json({}, message));
}

std::optional<http::Response> SegmentWebhookEndpoint::precheck(const http::Request& head, http::RequestLog& log) {
  if (head.method != "POST") return std::nullopt;
  if (auto err = segment::check_webhook_head(cfg_, head)) return error(head, err->status, err->message, log);
  return std::nullopt;
}

boost::asio::awaitable<http::Response> SegmentWebhookEndpoint::handle(http::Request& req, http::RequestLog& log) {
  if (req.method != "POST") co_return method_not_allowed(*this, req, "POST", log);
  if (auto err = segment::check_webhook_head(cfg_, req)) co_return error(req, err->status, err->message, log);
  if (auto err = segment::check_signature(cfg_, req)) co_return error(req, err->status, err->message, log);

  const int64_t received_at = codec::now_ms();
  segment::Parsed parsed;
  Batch batch;
  std::vector<std::string> ids;
  if (auto err = segment::decode_webhook(req.body, received_at, parsed, batch, ids))
    co_return error(req, err->status, err->message, log);
  log.request_id = ids.size() == 1 ? ids[0] : batch.request_id;

  sink::RawRecord raw = [&parsed](uint32_t i) { return parsed.raw(i); };
  const sink::Outcome out = co_await writer_.write(target_, batch, raw, received_at, log);
  if (auto fault = fault_status(out)) co_return error(req, fault->first, fault->second, log);

  co_return inserted_response(cfg_.respond_with_result, batch, out, [&ids](const Document& d) {
    std::string json;
    codec::append_json_string(json, ids[d.record]);
    return json;
  });
}

// ---- tracking API ----------------------------------------------------------------

TrackingApiEndpoint::TrackingApiEndpoint(const config::Segment& cfg, sink::MongoSink& sink,
                                         boost::asio::thread_pool& workers)
    : cfg_(cfg), decoder_(cfg_), target_{cfg.path, cfg.database, cfg.collection, cfg.rejects}, writer_{sink, workers} {}

std::optional<segment::Call> TrackingApiEndpoint::call(const http::Request& req) const {
  if (req.path.size() < cfg_.path.size()) return std::nullopt;
  return segment::route(std::string_view(req.path).substr(cfg_.path.size()));
}

bool TrackingApiEndpoint::cors(const http::Request& req, http::Response& res) const {
  const std::string* origin = req.header("Origin");
  if (!origin) return true;
  bool allowed = false;
  for (const auto& o : cfg_.cors_origins) allowed |= o == "*" || o == *origin;
  if (!allowed) return false;
  res.headers.emplace_back("Access-Control-Allow-Origin", *origin);
  res.headers.emplace_back("Vary", "Origin");
  return true;
}

http::Response TrackingApiEndpoint::preflight(const http::Request& req) const {
  http::Response res;
  if (!req.header("Origin") || !cors(req, res)) {
    res = json_response(403, segment::error_json("\"success\":false,", "origin not allowed by cors_origins"));
    return res;
  }
  res.status = 204;
  res.content_type.clear();
  res.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
  const std::string* asked = req.header("Access-Control-Request-Headers");
  res.headers.emplace_back("Access-Control-Allow-Headers",
                           asked ? *asked : std::string("Content-Type, Content-Encoding, Authorization, X-Write-Key"));
  res.headers.emplace_back("Access-Control-Max-Age", "86400");
  return res;
}

http::Response TrackingApiEndpoint::error(const http::Request& head, int status, std::string_view message,
                                          http::RequestLog& log) {
  std::string text(message);
  if (status == 413) {
    // Segment answers an oversize body with 400 and the limit.
    status = 400;
    const auto c = call(head);
    text = c && *c != segment::Call::batch
               ? "event is larger than max_event (" + std::to_string(cfg_.max_event) + " bytes)"
               : "batch is larger than max_batch (" + std::to_string(cfg_.max_batch) + " bytes)";
  }
  log.error = text;
  auto res = json_response(status, segment::error_json("\"success\":false,", text));
  cors(head, res);
  return res;
}

uint64_t TrackingApiEndpoint::body_limit(const http::Request& head) const {
  const auto c = call(head);
  return c && *c != segment::Call::batch ? cfg_.max_event : cfg_.max_batch;
}

std::optional<http::Response> TrackingApiEndpoint::precheck(const http::Request& head, http::RequestLog& log) {
  if (head.method != "POST") return std::nullopt;
  if (!call(head)) return std::nullopt;  // handle() answers 404
  bool found = false;
  if (auto err = segment::check_header_key(cfg_, head, found)) return error(head, err->status, err->message, log);
  return std::nullopt;
}

boost::asio::awaitable<http::Response> TrackingApiEndpoint::handle(http::Request& req, http::RequestLog& log) {
  if (req.method == "OPTIONS") co_return preflight(req);
  const auto c = call(req);
  if (!c)
    co_return error(req, 404,
                    "no such route " + req.path + ": use " + cfg_.path +
                        "/track, /identify, /page, /screen, /group, /alias, /batch or /import (or /t /i /p /s /g /a /b)",
                    log);
  if (req.method != "POST") co_return method_not_allowed(*this, req, "POST, OPTIONS", log);
  bool key_found = false;
  if (auto err = segment::check_header_key(cfg_, req, key_found)) co_return error(req, err->status, err->message, log);

  const int64_t received_at = codec::now_ms();
  segment::Parsed parsed;
  Batch batch;
  if (auto err = decoder_.decode(*c, req.body, key_found, received_at, parsed, batch))
    co_return error(req, err->status, err->message, log);
  log.request_id = batch.request_id;

  sink::RawRecord raw = [&parsed](uint32_t i) { return parsed.raw(i); };
  const sink::Outcome out = co_await writer_.write(target_, batch, raw, received_at, log);
  if (auto fault = fault_status(out)) co_return error(req, fault->first, fault->second, log);

  std::string body = "{\"success\":true";
  if (!out.rejects.empty()) {
    body += ",\"rejected\":[";
    for (size_t i = 0; i < out.rejects.size(); ++i) {
      if (i) body += ',';
      body += "{\"index\":" + std::to_string(out.rejects[i].record) + ",\"error\":";
      codec::append_json_string(body, out.rejects[i].reason);
      body += '}';
    }
    body += ']';
  }
  body += '}';
  auto res = json_response(200, std::move(body));
  cors(req, res);
  co_return res;
}

}  // namespace hydrant::app
