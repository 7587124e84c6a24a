// type = "http": hydrant delivers the way a Firehose delivery stream does.
#include <chrono>
#include <deque>
#include <future>
#include <random>

#include "codec/gzip.hpp"
#include "common/uuid.hpp"
#include "destinations/firehose_http.hpp"
#include "observe/log.hpp"
#include "outbound/http_client.hpp"
#include "trigger/destination.hpp"

namespace hydrant::trigger {
namespace {

constexpr size_t kMaxRecordsPerRequest = 10000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class HttpDestination : public Destination {
 public:
  explicit HttpDestination(const config::Trigger& t)
      : d_(t.destination), calls_(t.ordered ? 1 : t.max_in_flight), rng_(std::random_device{}()) {
    for (size_t i = 0; i < calls_; ++i) clients_.push_back(std::make_unique<outbound::HttpClient>());
  }

  size_t max_records() const override { return kMaxRecordsPerRequest * calls_; }
  size_t max_bytes() const override { return d_.buffer_size * calls_; }
  size_t max_record_bytes() const override { return d_.buffer_size; }
  std::string describe() const override { return "http " + d_.url; }

  bool deliver(const std::vector<Record>& batch, std::vector<Rejection>& rejected, Control& ctl) override {
    // Requests in order, each within buffer_size; ordered: one at a time.
    std::deque<Delivery> queue;
    size_t i = 0;
    while (i < batch.size()) {
      Delivery d;
      size_t bytes = 0;
      while (i < batch.size() && d.records.size() < kMaxRecordsPerRequest &&
             (d.records.empty() || bytes + batch[i].data.size() <= d_.buffer_size)) {
        bytes += batch[i].data.size();
        d.records.push_back(i++);
      }
      queue.push_back(std::move(d));
    }
    ctl.in_flight(static_cast<int64_t>(batch.size()));
    while (!queue.empty()) {
      if (!ctl.keep_going()) return false;
      std::vector<Delivery> round;
      while (!queue.empty() && round.size() < calls_) {
        round.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      std::vector<std::future<void>> futures;
      for (size_t c = 1; c < round.size(); ++c)
        futures.push_back(std::async(std::launch::async, [&, c] { send(*clients_[c], batch, round[c], rejected, ctl); }));
      send(*clients_[0], batch, round[0], rejected, ctl);
      for (auto& f : futures) f.get();
      for (auto it = round.rbegin(); it != round.rend(); ++it) {
        if (!it->done) {
          if (!ctl.keep_going()) return false;
          // A 413 split it: its halves go first, in order.
          for (auto h = it->split.rbegin(); h != it->split.rend(); ++h) queue.push_front(std::move(*h));
        }
      }
    }
    ctl.in_flight(0);
    ctl.state(State::running, "");
    return true;
  }

 private:
  struct Delivery {
    std::vector<size_t> records;
    bool done = false;
    std::vector<Delivery> split;
  };

  // One request, retried with the same request id until it is delivered,
  // retry_duration runs out (its records become rejects), or a 413 splits it.
  void send(outbound::HttpClient& client, const std::vector<Record>& batch, Delivery& d,
            std::vector<Rejection>& rejected, Control& ctl) {
    const std::string request_id = uuid4();
    std::vector<std::string_view> data;
    data.reserve(d.records.size());
    for (size_t i : d.records) data.push_back(batch[i].data);
    const int64_t first = now_ms();
    outbound::Request req;
    req.url = d_.url;
    req.headers = firehose_out::headers(request_id, d_.source_arn, d_.access_key, d_.common_attributes, d_.gzip);
    req.timeout_ms = 60000;
    for (uint32_t attempt = 0;; ++attempt) {
      // Each attempt carries its own timestamp, as Firehose's do; the id stays.
      std::string body = firehose_out::envelope(request_id, now_ms(), data);
      req.body = d_.gzip ? codec::gzip(body) : std::move(body);
      const auto r = client.post(req);
      const auto a = firehose_out::parse_answer(r.status, r.body, r.error, request_id);
      if (a.kind == firehose_out::Answer::Kind::ok) {
        d.done = true;
        return;
      }
      if (a.kind == firehose_out::Answer::Kind::too_large) {
        std::lock_guard lock(mu_);
        if (d.records.size() == 1) {
          rejected.push_back({d.records[0], "the endpoint refused the record as too large (" + a.message + ")"});
          d.done = true;
        } else {  // never retried as it was: sent again in two halves
          const size_t half = d.records.size() / 2;
          d.split.resize(2);
          d.split[0].records.assign(d.records.begin(), d.records.begin() + static_cast<long>(half));
          d.split[1].records.assign(d.records.begin() + static_cast<long>(half), d.records.end());
        }
        return;
      }
      const int64_t elapsed = now_ms() - first;
      if (elapsed >= d_.retry_duration_s * 1000) {
        std::lock_guard lock(mu_);
        for (size_t i : d.records)
          rejected.push_back({i, "not delivered within retry_duration (" + std::to_string(d_.retry_duration_s) +
                                     " s): " + a.message});
        d.done = true;
        observe::log_error("http: giving up on a delivery after retry_duration",
                           {{"url", d_.url}, {"request_id", request_id},
                            {"records", static_cast<int64_t>(d.records.size())}, {"error", a.message}});
        return;
      }
      int64_t wait;
      {
        std::lock_guard lock(mu_);
        wait = firehose_out::backoff_ms(attempt, rng_);
      }
      wait = std::min(wait, d_.retry_duration_s * 1000 - elapsed);
      ctl.retried(d.records.size());
      ctl.state(State::backing_off, a.message);
      observe::log_warn("http: retrying", {{"url", d_.url}, {"request_id", request_id},
                                           {"attempt", static_cast<int64_t>(attempt + 1)}, {"wait_ms", wait},
                                           {"error", a.message}});
      ctl.sleep_ms(wait);
      if (!ctl.keep_going()) return;
    }
  }

  config::TriggerDestination d_;
  size_t calls_;
  std::vector<std::unique_ptr<outbound::HttpClient>> clients_;
  std::mutex mu_;  // rng_ and `rejected` across concurrent sends
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<Destination> make_kinesis_destination(const config::Trigger& t);

std::unique_ptr<Destination> make_destination(const config::Trigger& t) {
  if (t.destination.type == config::TriggerDestination::Type::http) return std::make_unique<HttpDestination>(t);
  return make_kinesis_destination(t);
}

const char* state_name(State s) {
  switch (s) {
    case State::starting: return "starting";
    case State::running: return "running";
    case State::backing_off: return "backing_off";
    case State::failed: return "failed";
    case State::standby: return "standby";
    case State::stopped: return "stopped";
  }
  return "unknown";
}

}  // namespace hydrant::trigger
