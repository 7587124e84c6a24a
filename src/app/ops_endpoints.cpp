#include "app/ops_endpoints.hpp"

#include "app/blocking.hpp"
#include "observe/metrics.hpp"
#include "sources/firehose/protocol.hpp"

namespace hydrant::app {

namespace {
std::optional<http::Response> only_get(const http::Request& req) {
  if (req.method == "GET" || req.method == "HEAD") return std::nullopt;
  http::Response r;
  r.status = 405;
  r.headers.emplace_back("Allow", "GET");
  r.body = R"({"error":"method not allowed: use GET"})";
  return r;
}
}  // namespace

boost::asio::awaitable<http::Response> HealthEndpoint::handle(http::Request& req, http::RequestLog&) {
  if (auto r = only_get(req)) co_return *r;
  http::Response r;
  r.body = R"({"status":"ok"})";
  co_return r;
}

boost::asio::awaitable<http::Response> ReadyEndpoint::handle(http::Request& req, http::RequestLog& log) {
  if (auto r = only_get(req)) co_return *r;
  struct Ping {
    bool ok = false;
    std::string error;
  };
  const Ping p = co_await run_blocking(workers_, [this] {
    Ping p;
    p.ok = sink_.ping(p.error);
    return p;
  });
  http::Response r;
  // Triggers are shown, not judged: a failed trigger stops alone and must not
  // take the ingest endpoints out of a load balancer.
  std::string triggers;
  for (const auto& [name, t] : observe::Metrics::get().triggers()) {
    const auto [state, error] = t->describe();
    triggers += triggers.empty() ? ",\"triggers\":{" : ",";
    firehose::append_json_string(triggers, name);
    triggers += ":{\"state\":";
    firehose::append_json_string(triggers, state);
    triggers += t->leased ? ",\"lease\":true" : ",\"lease\":false";
    if (!error.empty()) {
      triggers += ",\"error\":";
      firehose::append_json_string(triggers, error);
    }
    triggers += "}";
  }
  if (!triggers.empty()) triggers += "}";
  if (p.ok) {
    r.body = R"({"status":"ready")" + triggers + "}";
  } else {
    r.status = 503;
    log.error = p.error;
    r.body = "{\"status\":\"MongoDB unavailable\",\"error\":";
    firehose::append_json_string(r.body, p.error);
    r.body += triggers + "}";
  }
  co_return r;
}

boost::asio::awaitable<http::Response> MetricsEndpoint::handle(http::Request& req, http::RequestLog&) {
  if (auto r = only_get(req)) co_return *r;
  http::Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = observe::Metrics::get().render();
  co_return r;
}

}  // namespace hydrant::app
