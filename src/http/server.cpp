#include "http/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "codec/gzip.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"

namespace hydrant::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

constexpr size_t kPadding = 64;  // room for simdjson to read past the end
constexpr size_t kChunk = 64 * 1024;
// While a request is decoded and written, hydrant holds its body, the parsed
// JSON and the BSON documents made from it: about three times the body
// (measured: 217 MiB peak for one 64 MiB delivery). max_inflight counts that.
constexpr uint64_t kProcessingFactor = 3;

std::optional<Response> Endpoint::precheck(const Request&, RequestLog&) { return std::nullopt; }

uint64_t Endpoint::body_limit(const Request&) const { return 0; }

Response Endpoint::error(const Request&, int status, std::string_view message, RequestLog& log) {
  log.error = std::string(message);
  Response r;
  r.status = status;
  r.body = "{\"error\":\"" + std::string(message) + "\"}";
  return r;
}

bool Admission::try_add(uint64_t n) {
  uint64_t cur = used_.load();
  do {
    if (cur + n > limit_ && n > 0) return false;
  } while (!used_.compare_exchange_weak(cur, cur + n));
  observe::Metrics::get().inflight_add(static_cast<int64_t>(n));
  return true;
}

void Admission::release(uint64_t n) {
  used_.fetch_sub(n);
  observe::Metrics::get().inflight_add(-static_cast<int64_t>(n));
}

namespace {

// Bytes admitted for one request; released when the request ends.
class Reservation {
 public:
  explicit Reservation(Admission& a) : a_(a) {}
  ~Reservation() {
    if (n_) a_.release(n_);
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  // Grows the reservation to `total` bytes; false when over max_inflight.
  bool grow_to(uint64_t total) {
    if (total <= n_) return true;
    if (!a_.try_add(total - n_)) return false;
    n_ = total;
    return true;
  }
  bool grow_by(uint64_t more) { return grow_to(n_ + more); }

 private:
  Admission& a_;
  uint64_t n_ = 0;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Response plain_error(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.body = "{\"error\":\"" + std::string(message) + "\"}";
  return r;
}

template <class Stream>
class Session {
 public:
  Session(Server& server, Stream& stream, std::string remote, std::shared_ptr<Server::Connection> conn)
      : server_(server), stream_(stream), remote_(std::move(remote)), conn_(std::move(conn)) {}

  asio::awaitable<void> run() {
    beast::flat_buffer buffer;
    std::vector<char> chunk;  // allocated only while a body is read: idle connections stay small
    for (;;) {
      if (server_.draining()) break;
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.header_limit(64 * 1024);
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // the decoded size is checked against max_body below
      beast::error_code ec;
      lowest().expires_after(server_.timeouts().header);
      conn_->idle = true;
      co_await bhttp::async_read_header(stream_, buffer, parser, asio::redirect_error(use_awaitable, ec));
      conn_->idle = false;
      if (ec == bhttp::error::need_buffer) ec = {};  // the body began in the same read
      if (ec) {
        const bool http_error = &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
        if (ec == bhttp::error::header_limit)
          co_await write(plain_error(431, "request header fields too large"), false);
        else if (http_error && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
          co_await write(plain_error(400, "malformed HTTP request: " + ec.message()), false);
        break;
      }
      const bool keep = co_await serve_one(parser, buffer, chunk);
      if (!keep) break;
    }
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // Serves one request whose header is in `parser`; returns whether to keep the connection.
  asio::awaitable<bool> serve_one(bhttp::request_parser<bhttp::buffer_body>& parser, beast::flat_buffer& buffer,
                                  std::vector<char>& chunk) {
    const auto started = std::chrono::steady_clock::now();
    auto& head = parser.get();
    Request req;
    req.method = std::string(head.method_string());
    req.target = std::string(head.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.remote = remote_;
    for (const auto& f : head) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    bool keep_alive = head.keep_alive();

    RequestLog log;
    Response res;
    Endpoint* ep = server_.find(req.path);
    const auto& cfg = server_.config();
    Reservation reservation(server_.admission());
    bool body_done = parser.is_done();

    auto fail = [&](int status, std::string_view msg) {
      res = ep ? ep->error(req, status, msg, log) : plain_error(status, msg);
    };

    if (!ep) {
      res = plain_error(404, "no endpoint at this path");
    } else {
      const std::string encoding = lower(head[bhttp::field::content_encoding]);
      const bool gzip = encoding == "gzip" || encoding == "x-gzip";
      const auto length = parser.content_length();
      const uint64_t own_limit = ep->body_limit(req);
      const uint64_t limit = own_limit ? std::min<uint64_t>(own_limit, cfg.max_body) : cfg.max_body;
      const std::string too_large = limit == cfg.max_body
                                        ? std::string("request body is larger than max_body")
                                        : "request body is larger than " + std::to_string(limit) + " bytes";
      bool ok = true;
      if (!gzip && !encoding.empty() && encoding != "identity") {
        fail(415, "unsupported Content-Encoding (only gzip)");
        ok = false;
      } else if (length && *length > limit) {
        fail(413, too_large);
        ok = false;
      } else if (auto early = ep->precheck(req, log)) {
        res = std::move(*early);
        ok = false;
      } else if (!reservation.grow_to(length.value_or(0) * kProcessingFactor)) {
        fail(503, "server is over max_inflight; retry later");
        ok = false;
      }
      if (ok && !body_done) {
        if (lower(head[bhttp::field::expect]) == "100-continue") {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          beast::error_code ec;
          co_await bhttp::async_write(stream_, cont, asio::redirect_error(use_awaitable, ec));
        }
        if (length && !gzip) req.body.reserve(*length + kPadding);
        ok = co_await read_body(parser, buffer, chunk, req, gzip, limit, too_large, reservation, started, fail);
        body_done = parser.is_done();
      }
      if (ok && !reservation.grow_to(std::max<uint64_t>(req.body.size(), req.wire_bytes) * kProcessingFactor)) {
        fail(503, "server is over max_inflight; retry later");
        ok = false;
      }
      if (ok) {
        req.body.reserve(req.body.size() + kPadding);
        observe::Metrics::get().bytes_in(ep->name(), req.wire_bytes);
        req.reserve = [&reservation](uint64_t more) { return reservation.grow_by(more); };
        res = co_await ep->handle(req, log);
        req.reserve = nullptr;
      }
    }

    if (!body_done) keep_alive = false;  // the rest of the body is still on the wire
    if (server_.draining()) keep_alive = false;
    co_await write(res, keep_alive);
    if (!body_done) co_await linger();

    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    const std::string& name = ep ? ep->name() : req.path;
    observe::Metrics::get().request(ep ? ep->name() : std::string("(none)"), res.status);
    observe::Fields fields = {{"endpoint", name},
                              {"method", req.method},
                              {"requestId", log.request_id},
                              {"status", static_cast<int64_t>(res.status)},
                              {"records", static_cast<int64_t>(log.records)},
                              {"written", static_cast<int64_t>(log.written)},
                              {"rejected", static_cast<int64_t>(log.rejected)},
                              {"bytes", static_cast<int64_t>(req.wire_bytes)},
                              {"ms", ms},
                              {"remote", remote_}};
    if (!log.error.empty()) fields.emplace_back("error", log.error);
    if (res.status >= 500) observe::log_warn("request", fields);
    else observe::log_info("request", fields);
    co_return keep_alive;
  }

  template <class Fail>
  asio::awaitable<bool> read_body(bhttp::request_parser<bhttp::buffer_body>& parser, beast::flat_buffer& buffer,
                                  std::vector<char>& chunk, Request& req, bool gzip, uint64_t limit,
                                  const std::string& too_large, Reservation& reservation,
                                  std::chrono::steady_clock::time_point started, Fail& fail) {
    std::optional<codec::GzipDecoder> decoder;
    if (gzip) decoder.emplace(limit);
    chunk.resize(kChunk);
    // Beast reads into `buffer` as much as its free capacity (at least 512
    // bytes): left at its header size, a 200 KB body took ~400 reads, each with
    // its epoll wait and timer update. Room for a whole chunk while the body
    // arrives, given back afterwards so idle connections stay small.
    buffer.reserve(kChunk);
    struct Release {
      std::vector<char>& c;
      beast::flat_buffer& b;
      ~Release() {
        std::vector<char>().swap(c);
        b.shrink_to_fit();
      }
    } release{chunk, buffer};
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::error_code ec;
      lowest().expires_after(server_.timeouts().body_idle);
      co_await bhttp::async_read(stream_, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      const size_t n = chunk.size() - parser.get().body().size;
      if (ec) {
        fail(ec == beast::error::timeout ? 408 : 400,
             ec == beast::error::timeout ? "timed out reading the request body" : "incomplete request body");
        co_return false;
      }
      req.wire_bytes += n;
      if (req.wire_bytes > limit) {
        fail(413, too_large);
        co_return false;
      }
      if (decoder) {
        const auto st = decoder->feed({chunk.data(), n}, req.body);
        if (st == codec::InflateStatus::too_large) {
          fail(413, too_large + " after gzip decoding");
          co_return false;
        }
        if (st == codec::InflateStatus::corrupt) {
          fail(400, "request body is not valid gzip: " + decoder->error());
          co_return false;
        }
      } else {
        req.body.append(chunk.data(), n);
      }
      if (!reservation.grow_to(std::max<uint64_t>(req.body.size(), req.wire_bytes))) {
        fail(503, "server is over max_inflight; retry later");
        co_return false;
      }
      if (std::chrono::steady_clock::now() - started > server_.timeouts().body_total) {
        fail(408, "the request body took too long to arrive");
        co_return false;
      }
    }
    if (decoder && !decoder->finished() && !(req.wire_bytes == 0)) {
      fail(400, "request body is truncated gzip");
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> write(const Response& r, bool keep_alive) {
    bhttp::response<bhttp::string_body> msg{static_cast<bhttp::status>(r.status), 11};
    msg.set(bhttp::field::server, "hydrant");
    if (!r.content_type.empty()) msg.set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) msg.set(k, v);
    // Every 503 is passing (over max_inflight, MongoDB away): say when to come back.
    if (r.status == 503 && msg.find(bhttp::field::retry_after) == msg.end()) msg.set(bhttp::field::retry_after, "1");
    msg.body() = r.body;
    msg.keep_alive(keep_alive);
    msg.prepare_payload();
    beast::error_code ec;
    lowest().expires_after(std::chrono::seconds(30));
    co_await bhttp::async_write(stream_, msg, asio::redirect_error(use_awaitable, ec));
  }

  // After answering early, read and discard what the client is still sending
  // for a moment, so closing does not reset the connection before it reads the answer.
  asio::awaitable<void> linger() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    std::vector<char> sink(kChunk);
    size_t total = 0;
    lowest().expires_after(std::chrono::seconds(2));
    while (total < (256u << 20)) {
      const size_t n = co_await lowest().async_read_some(asio::buffer(sink), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      total += n;
    }
  }

  Server& server_;
  Stream& stream_;
  std::string remote_;
  std::shared_ptr<Server::Connection> conn_;
};

template <class Stream>
asio::awaitable<void> run_session(Server& server, Stream& stream, std::string remote) {
  // `alive` and the stream are only touched on this connection's strand.
  struct State {
    bool alive = true;
    beast::tcp_stream* lowest;
  };
  auto state = std::make_shared<State>(State{true, &beast::get_lowest_layer(stream)});
  auto conn = std::make_shared<Server::Connection>();
  auto ex = co_await asio::this_coro::executor;
  conn->close = [ex, state, weak = std::weak_ptr<Server::Connection>(conn)](bool force) {
    asio::post(ex, [state, weak, force] {
      auto c = weak.lock();
      if (!c || !state->alive || (!force && !c->idle.load())) return;
      beast::error_code ec;
      state->lowest->socket().shutdown(tcp::socket::shutdown_both, ec);
      state->lowest->cancel();
    });
  };
  auto it = server.attach(conn);
  Session<Stream> session(server, stream, std::move(remote), conn);
  co_await session.run();
  state->alive = false;
  server.detach(it);
}

asio::awaitable<void> plain_connection(Server& server, tcp::socket socket, std::string remote) {
  beast::tcp_stream stream(std::move(socket));
  co_await run_session(server, stream, std::move(remote));
}

asio::awaitable<void> tls_connection(Server& server, tcp::socket socket, asio::ssl::context& ctx, std::string remote) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), ctx);
  beast::get_lowest_layer(stream).expires_after(server.timeouts().header);
  beast::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  co_await run_session(server, stream, std::move(remote));
}

}  // namespace

Server::Server(std::vector<asio::io_context*> iocs, const config::Server& cfg, Timeouts timeouts)
    : iocs_(std::move(iocs)),
      ioc_(*iocs_.at(0)),
      cfg_(cfg),
      timeouts_(timeouts),
      admission_(cfg.max_inflight),
      acceptor_(ioc_) {
  if (cfg_.tls()) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls_->use_certificate_chain_file(cfg_.tls_cert);
    tls_->use_private_key_file(cfg_.tls_key, asio::ssl::context::pem);
  }
}

Server::~Server() = default;

void Server::route(const std::string& path, Endpoint* endpoint) { routes_.emplace_back(path, endpoint); }

Endpoint* Server::find(const std::string& path) const {
  Endpoint* best = nullptr;
  size_t best_len = 0;
  for (const auto& [p, ep] : routes_) {
    if (path == p) return ep;
    if (path.size() > p.size() && path.compare(0, p.size(), p) == 0 && (p.back() == '/' || path[p.size()] == '/') &&
        p.size() > best_len) {
      best = ep;
      best_len = p.size();
    }
  }
  return best;
}

uint16_t Server::start() {
  const auto address = asio::ip::make_address(cfg_.host);
  tcp::endpoint endpoint(address, cfg_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(ioc_, accept_loop(), asio::detached);
  return acceptor_.local_endpoint().port();
}

asio::awaitable<void> Server::accept_loop() {
  for (;;) {
    beast::error_code ec;
    asio::io_context& home = *iocs_[next_++ % iocs_.size()];
    tcp::socket socket = co_await acceptor_.async_accept(home, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      observe::log_warn("accept failed", {{"error", ec.message()}});
      // Out of file descriptors and the like: wait a moment instead of spinning.
      asio::steady_timer t(ioc_, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::string remote;
    auto rep = socket.remote_endpoint(ec);
    if (!ec) remote = rep.address().to_string() + ":" + std::to_string(rep.port());
    auto ex = socket.get_executor();
    if (tls_)
      asio::co_spawn(ex, tls_connection(*this, std::move(socket), *tls_, std::move(remote)), asio::detached);
    else
      asio::co_spawn(ex, plain_connection(*this, std::move(socket), std::move(remote)), asio::detached);
  }
}

std::list<std::shared_ptr<Server::Connection>>::iterator Server::attach(std::shared_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  connections_.push_front(std::move(c));
  return connections_.begin();
}

void Server::detach(std::list<std::shared_ptr<Connection>>::iterator it) {
  std::lock_guard lock(mu_);
  connections_.erase(it);
}

void Server::drain(std::function<void(bool clean)> done) {
  draining_ = true;
  asio::co_spawn(ioc_, drain_loop(std::move(done)), asio::detached);
}

asio::awaitable<void> Server::drain_loop(std::function<void(bool clean)> done) {
  beast::error_code ec;
  acceptor_.close(ec);
  const auto deadline = std::chrono::steady_clock::now() + timeouts_.drain;
  const auto hard_deadline = deadline + std::chrono::seconds(5);
  asio::steady_timer timer(ioc_);
  bool warned = false;
  for (;;) {
    size_t open;
    const auto now = std::chrono::steady_clock::now();
    const bool force = now > deadline;
    {
      std::lock_guard lock(mu_);
      open = connections_.size();
      // Idle connections (waiting for a request) are closed at once; busy ones
      // finish their request first, or are closed at the deadline.
      for (auto& c : connections_) c->close(force);
    }
    if (open == 0) break;
    if (force && !warned) {
      observe::log_warn("drain timed out; closing busy connections", {{"open_connections", static_cast<int64_t>(open)}});
      warned = true;
    }
    if (now > hard_deadline) {
      done(false);
      co_return;
    }
    timer.expires_after(std::chrono::milliseconds(25));
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  done(true);
}

}  // namespace hydrant::http
