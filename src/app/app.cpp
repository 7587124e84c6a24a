#include "app/app.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <unistd.h>
#include <vector>

#include "app/firehose_endpoint.hpp"
#include "app/segment_endpoints.hpp"
#include "app/webhook_endpoint.hpp"
#include "app/ops_endpoints.hpp"
#include "observe/log.hpp"
#include "trigger/runner.hpp"
#include "trigger/state.hpp"

namespace hydrant::app {

namespace asio = boost::asio;

namespace {

// Blocking MongoDB calls run here; the pool size bounds concurrent writes.
constexpr size_t kWorkers = 8;

std::optional<config::Config> load(const std::string& path) {
  auto r = config::load_file(path);
  for (const auto& e : r.errors) std::cerr << e << "\n";
  return r.config;
}

}  // namespace

int serve(const std::string& config_path) {
  observe::log_init();
  auto cfg = load(config_path);
  if (!cfg) return 1;
  std::signal(SIGPIPE, SIG_IGN);

  try {
    sink::MongoSink sink(cfg->mongodb, kWorkers + 2);
    asio::thread_pool workers(kWorkers);
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> iocs;
    std::vector<asio::io_context*> io_ptrs;
    using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
    std::vector<Guard> guards;  // keeps the other loops alive until the drain ends
    for (unsigned i = 0; i < threads; ++i) {
      iocs.push_back(std::make_unique<asio::io_context>(1));
      io_ptrs.push_back(iocs.back().get());
      if (i > 0) guards.emplace_back(iocs.back()->get_executor());
    }
    asio::io_context& ioc = *iocs[0];
    if (cfg->server.max_inflight < 3 * cfg->server.max_body)
      observe::log_warn("max_inflight is below 3 x max_body: the largest bodies will always get 503",
                        {{"max_inflight", static_cast<int64_t>(cfg->server.max_inflight)},
                         {"max_body", static_cast<int64_t>(cfg->server.max_body)}});
    http::Server server(io_ptrs, cfg->server);

    std::vector<std::unique_ptr<http::Endpoint>> endpoints;
    auto add = [&](const std::string& path, std::unique_ptr<http::Endpoint> ep) {
      server.route(path, ep.get());
      endpoints.push_back(std::move(ep));
    };
    add("/healthz", std::make_unique<HealthEndpoint>());
    add("/readyz", std::make_unique<ReadyEndpoint>(sink, workers));
    add("/metrics", std::make_unique<MetricsEndpoint>());
    for (const auto& f : cfg->firehose)
      add(f.path, std::make_unique<FirehoseEndpoint>(f, cfg->server.max_body, sink, workers));
    for (const auto& s : cfg->segment) {
      if (s.kind == config::Segment::Kind::webhook)
        add(s.path, std::make_unique<SegmentWebhookEndpoint>(s, sink, workers));
      else
        add(s.path, std::make_unique<TrackingApiEndpoint>(s, sink, workers));
    }
    for (const auto& w : cfg->webhook) add(w.path, std::make_unique<WebhookEndpoint>(w, sink, workers));

    const uint16_t port = server.start();
    // Triggers: each on threads of its own; the instance id names this process in leases.
    std::vector<std::unique_ptr<trigger::Runner>> triggers;
    {
      char host_name[256] = "host";
      gethostname(host_name, sizeof host_name - 1);
      std::random_device rd;
      const std::string instance = std::string(host_name) + ":" + std::to_string(getpid()) + ":" +
                                   std::to_string(rd() % 1000000);
      for (const auto& t : cfg->trigger) {
        triggers.push_back(std::make_unique<trigger::Runner>(*cfg, t, instance));
        triggers.back()->start();
      }
    }
    const std::string host = cfg->server.host.find(':') != std::string::npos ? "[" + cfg->server.host + "]"
                                                                              : cfg->server.host;
    observe::log_info("listening", {{"address", host + ":" + std::to_string(port)},
                                    {"tls", cfg->server.tls()},
                                    {"endpoints", static_cast<int64_t>(cfg->endpoints())},
                                    {"triggers", static_cast<int64_t>(cfg->trigger.size())},
                                    {"version", std::string(HYDRANT_VERSION)}});

    // The IO loop is never stopped with work pending: drain ends every
    // connection and the signal wait, and run() then returns by itself.
    // (Destroying suspended coroutines with the io_context is not safe.)
    asio::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      observe::log_info("draining", {{"signal", static_cast<int64_t>(sig)}});
      // (not stop(): joining here would block this IO thread, and a trigger's call
      // may be waiting for this very server, e.g. http into its own [[firehose]])
      for (auto& t : triggers) t->request_stop();
      server.drain([&](bool clean) {
        if (!clean) {
          // A request stuck past every deadline (a MongoDB call that does not
          // return): its sender will retry; leave without unwinding it.
          observe::log_warn("drain incomplete; exiting anyway");
          std::fflush(stdout);
          std::_Exit(0);
        }
        signals.cancel();
        for (auto& g : guards) g.reset();
      });
    });

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([io = iocs[i].get()] { io->run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    for (auto& t : triggers) t->stop();
    workers.join();
    observe::log_info("stopped");
    return 0;
  } catch (const std::exception& e) {
    observe::log_error("fatal", {{"error", std::string(e.what())}});
    std::cerr << "hydrant: " << e.what() << "\n";
    return 1;
  }
}

int check(const std::string& config_path, bool connect) {
  auto cfg = load(config_path);
  if (!cfg) return 1;
  std::cout << "config OK: " << cfg->firehose.size() << " firehose endpoint(s), " << cfg->segment.size()
            << " segment endpoint(s), " << cfg->webhook.size() << " webhook endpoint(s), " << cfg->trigger.size()
            << " trigger(s)\n";
  if (!connect) return 0;
  try {
    sink::MongoSink sink(cfg->mongodb, 1);
    std::string error;
    if (!sink.ping(error)) {
      std::cerr << "MongoDB is not reachable: " << error << "\n";
      return 1;
    }
    std::cout << "MongoDB reachable\n";
    for (const auto& t : cfg->trigger) {
      if (t.uri.empty()) continue;
      if (!trigger::ping(t.uri, error)) {
        std::cerr << "trigger " << t.name << ": the deployment it watches is not reachable: " << error << "\n";
        return 1;
      }
      std::cout << "trigger " << t.name << ": the deployment it watches is reachable\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

}  // namespace hydrant::app
