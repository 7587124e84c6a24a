// type = "kinesis": PutRecords, only failed records retried, per-key order kept.
#include <algorithm>
#include <future>
#include <random>
#include <unordered_set>

#include "destinations/kinesis.hpp"
#include "observe/log.hpp"
#include "outbound/http_client.hpp"
#include "trigger/destination.hpp"

namespace hydrant::trigger {
namespace {

// Exponential back-off with jitter: 100 ms x 2^attempt, at most `cap_ms`, then a
// random point in its upper half.
int64_t backoff(uint32_t attempt, int64_t cap_ms, std::mt19937_64& rng) {
  const int64_t base = std::min<int64_t>(cap_ms, 100ll << std::min<uint32_t>(attempt, 16));
  return std::uniform_int_distribution<int64_t>(base / 2, base)(rng);
}

class KinesisDestination : public Destination {
 public:
  explicit KinesisDestination(const config::Trigger& t)
      : d_(t.destination), ordered_(t.ordered), calls_(t.ordered ? 1 : t.max_in_flight), rng_(std::random_device{}()) {
    sign_.region = d_.region;
    sign_.service = "kinesis";
    sign_.access_key_id = d_.access_key_id;
    sign_.secret_access_key = d_.secret_access_key;
    sign_.session_token = d_.session_token;
    for (size_t i = 0; i < calls_; ++i) clients_.push_back(std::make_unique<outbound::HttpClient>());
  }

  size_t max_records() const override { return kinesis::kMaxRecords * calls_; }
  size_t max_bytes() const override { return kinesis::kMaxRequestBytes * calls_; }
  size_t max_record_bytes() const override { return kinesis::kMaxRecordBytes; }
  bool uses_keys() const override { return true; }
  std::string describe() const override { return "kinesis " + d_.stream; }

  bool deliver(const std::vector<Record>& batch, std::vector<Rejection>& rejected, Control& ctl) override {
    std::vector<size_t> pending(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) pending[i] = i;
    uint32_t attempt = 0;
    size_t cap = kinesis::kMaxRecords;  // shrinks when AWS refuses a call as invalid
    while (!pending.empty()) {
      if (!ctl.keep_going()) return false;
      std::vector<std::vector<size_t>> calls = plan(batch, pending, cap);
      std::vector<kinesis::Answer> answers(calls.size());
      ctl.in_flight(static_cast<int64_t>(pending.size()));
      if (calls.size() == 1) {
        answers[0] = call(*clients_[0], batch, calls[0]);
      } else {
        std::vector<std::future<kinesis::Answer>> futures;
        for (size_t c = 0; c < calls.size(); ++c)
          futures.push_back(std::async(std::launch::async, [&, c] { return call(*clients_[c], batch, calls[c]); }));
        for (size_t c = 0; c < calls.size(); ++c) answers[c] = futures[c].get();
      }
      std::unordered_set<size_t> done;
      bool throttled = false, denied = false;
      std::string why;
      for (size_t c = 0; c < calls.size(); ++c) {
        const auto& a = answers[c];
        const auto& idx = calls[c];
        switch (a.kind) {
          case kinesis::Answer::Kind::ok:
            for (size_t k = 0; k < idx.size(); ++k) {
              if (a.failed[k].empty()) {
                done.insert(idx[k]);
              } else if (!a.retryable[k]) {
                rejected.push_back({idx[k], "Kinesis refused the record: " + a.failed[k]});
                done.insert(idx[k]);
              } else {
                throttled = true;
                why = a.failed[k];
              }
            }
            if (a.failed_count) ctl.retried(a.failed_count);
            break;
          case kinesis::Answer::Kind::invalid:
            if (idx.size() == 1) {
              rejected.push_back({idx[0], "Kinesis refused the record: " + a.message});
              done.insert(idx[0]);
            } else {
              cap = std::max<size_t>(1, idx.size() / 2);  // find the record it refuses
              why = a.message;
            }
            break;
          case kinesis::Answer::Kind::denied:
            denied = true;
            why = a.message;
            ctl.retried(idx.size());
            break;
          case kinesis::Answer::Kind::throttled:
          case kinesis::Answer::Kind::retry:
            throttled = true;
            why = a.message;
            ctl.retried(idx.size());
            break;
        }
      }
      std::erase_if(pending, [&](size_t i) { return done.count(i) > 0; });
      if (pending.empty()) break;
      if (!throttled && !denied) {  // only a split: go on at once
        attempt = 0;
        continue;
      }
      // A call that stored some records shows there is throughput: the back-off
      // grows only while nothing gets through.
      if (!done.empty() && !denied) attempt = 0;
      const int64_t wait = backoff(attempt++, denied ? 30000 : 10000, rng_);
      ctl.state(State::backing_off, why);
      if (denied || attempt == 1 || attempt % 10 == 0)
        (denied ? observe::log_error : observe::log_warn)(
            "kinesis: retrying", {{"stream", d_.stream}, {"records", static_cast<int64_t>(pending.size())},
                                  {"attempt", static_cast<int64_t>(attempt)}, {"wait_ms", wait}, {"error", why}});
      ctl.sleep_ms(wait);
    }
    ctl.in_flight(0);
    ctl.state(State::running, "");
    return true;
  }

 private:
  // The next calls: records in change-stream order, within the API's limits.
  // Ordered: one call, and at most one record per partition key in it (Kinesis
  // does not stop at a failed record, so two of one key in one call could land
  // out of order); a key's later records wait for its earlier ones.
  std::vector<std::vector<size_t>> plan(const std::vector<Record>& batch, const std::vector<size_t>& pending,
                                        size_t cap) const {
    std::vector<std::vector<size_t>> calls(1);
    size_t bytes = 0;
    std::unordered_set<std::string_view> keys;
    for (size_t i : pending) {
      const size_t size = batch[i].data.size() + batch[i].key.size();
      if (ordered_ && !keys.insert(batch[i].key).second) continue;
      if (calls.back().size() >= cap || bytes + size > kinesis::kMaxRequestBytes) {
        if (calls.size() >= calls_) break;
        calls.emplace_back();
        bytes = 0;
      }
      calls.back().push_back(i);
      bytes += size;
    }
    return calls;
  }

  kinesis::Answer call(outbound::HttpClient& client, const std::vector<Record>& batch, const std::vector<size_t>& idx) {
    std::vector<kinesis::Entry> entries;
    entries.reserve(idx.size());
    for (size_t i : idx) entries.push_back({batch[i].data, batch[i].key});
    outbound::Request req;
    req.url = d_.endpoint;
    req.headers = {{"Content-Type", kinesis::kContentType}, {"X-Amz-Target", kinesis::kTarget}};
    req.body = kinesis::put_records_body(d_.stream, entries);
    req.sign = &sign_;
    req.timeout_ms = 30000;
    const auto r = client.post(req);
    return kinesis::parse_answer(r.status, r.body, r.error, idx.size());
  }

  config::TriggerDestination d_;
  bool ordered_;
  size_t calls_;
  outbound::AwsSigning sign_;
  std::vector<std::unique_ptr<outbound::HttpClient>> clients_;
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<Destination> make_kinesis_destination(const config::Trigger& t) {
  return std::make_unique<KinesisDestination>(t);
}

}  // namespace hydrant::trigger
