#pragma once
// The HTTP/1.1 (optionally TLS) server: connections, limits, body decoding,
// routing to endpoints. It knows nothing about protocols or MongoDB.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"

namespace hydrant::http {

namespace asio = boost::asio;

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual const std::string& name() const = 0;  // label in logs and metrics
  // After the headers, before the body is read: refuse early (auth, headers).
  virtual std::optional<Response> precheck(const Request& head, RequestLog& log);
  // A body limit below the server's max_body for this request (0: max_body).
  // Over it, the server fails the request with 413 through error().
  virtual uint64_t body_limit(const Request& head) const;
  virtual asio::awaitable<Response> handle(Request& req, RequestLog& log) = 0;
  // A failure found by the server itself (413, 503, bad encoding, ...), in the protocol's format.
  virtual Response error(const Request& head, int status, std::string_view message, RequestLog& log);
};

struct Timeouts {
  std::chrono::seconds header{30};     // to receive a complete header (also keep-alive idle)
  std::chrono::seconds body_idle{30};  // between two body reads
  std::chrono::seconds body_total{120};
  std::chrono::seconds drain{30};
};

// Tracks bytes of requests in flight against `max_inflight`.
class Admission {
 public:
  explicit Admission(uint64_t limit) : limit_(limit) {}
  bool try_add(uint64_t n);
  void release(uint64_t n);
  uint64_t used() const { return used_.load(); }

 private:
  uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

class Server {
 public:
  // One io_context per IO thread, each run by exactly one thread: a connection
  // lives on one of them, so it needs no strand. The first also runs the
  // acceptor and the drain.
  Server(std::vector<asio::io_context*> iocs, const config::Server& cfg, Timeouts timeouts = {});
  ~Server();

  // Exact paths; a path also serves its sub-paths (`/v1` serves `/v1/track`).
  void route(const std::string& path, Endpoint* endpoint);

  // Binds and starts accepting; throws on failure. Returns the bound port.
  uint16_t start();
  // Stops accepting, closes idle connections, lets requests in progress finish
  // (at most the drain timeout, then they are closed too), then calls `done` on
  // an IO thread with whether every connection ended.
  void drain(std::function<void(bool clean)> done);

  const config::Server& config() const { return cfg_; }
  Admission& admission() { return admission_; }
  Endpoint* find(const std::string& path) const;
  const Timeouts& timeouts() const { return timeouts_; }
  bool draining() const { return draining_.load(); }

  struct Connection {
    std::atomic<bool> idle{true};
    // Posts a close to the connection's executor; without `force` only while idle.
    std::function<void(bool force)> close;
  };
  std::list<std::shared_ptr<Connection>>::iterator attach(std::shared_ptr<Connection> c);
  void detach(std::list<std::shared_ptr<Connection>>::iterator it);

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> drain_loop(std::function<void(bool clean)> done);

  std::vector<asio::io_context*> iocs_;
  asio::io_context& ioc_;
  size_t next_ = 0;
  config::Server cfg_;
  Timeouts timeouts_;
  Admission admission_;
  std::vector<std::pair<std::string, Endpoint*>> routes_;
  std::unique_ptr<asio::ssl::context> tls_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> draining_{false};
  std::mutex mu_;
  std::list<std::shared_ptr<Connection>> connections_;
};

}  // namespace hydrant::http
