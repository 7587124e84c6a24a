#include "trigger/runner.hpp"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <vector>

#include "destinations/kinesis.hpp"
#include "observe/log.hpp"
#include "trigger/destination.hpp"
#include "trigger/event.hpp"
#include "trigger/state.hpp"

namespace hydrant::trigger {
namespace {

using Clock = std::chrono::steady_clock;

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The server's way of saying the position is older than its history: 286
// ChangeStreamHistoryLost, 280 ChangeStreamFatalError (token not found), 260
// InvalidResumeToken, 136 CappedPositionLost.
bool history_lost(uint32_t code) { return code == 286 || code == 280 || code == 260 || code == 136; }

// Idle streams: the post-batch token is stored at most this often.
constexpr auto kIdleSave = std::chrono::seconds(5);

struct StreamPtr {
  mongoc_change_stream_t* s = nullptr;
  ~StreamPtr() { reset(); }
  void reset() {
    if (s) mongoc_change_stream_destroy(s);
    s = nullptr;
  }
};

}  // namespace

struct Runner::Impl : Control {
  Impl(const config::Config& c, const config::Trigger& t, std::string instance)
      : cfg(c), trig(t), instance_id(std::move(instance)), stats(observe::Metrics::get().trigger(t.name)),
        rng(std::random_device{}()) {}

  config::Config cfg;
  config::Trigger trig;
  std::string instance_id;
  observe::TriggerStats& stats;
  std::unique_ptr<Destination> dest;
  std::thread main, renewer;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::atomic<bool> lease_lost{false};
  std::atomic<bool> holding{false};
  std::string owner;  // set by the main thread while it does not hold the lease
  std::mt19937_64 rng;
  uint64_t takings = 0;

  // --- Control -------------------------------------------------------------
  bool keep_going() override {
    std::lock_guard lock(mu);
    return !stopping && !lease_lost;
  }
  void sleep_ms(int64_t ms) override {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping || lease_lost; });
  }
  // (called from a destination's concurrent calls too: ordered = false)
  void state(State s, const std::string& why) override {
    std::lock_guard lock(state_mu);
    if (s == current_state && why == current_why) return;
    current_state = s;
    current_why = why;
    stats.set_state(static_cast<int>(s), state_name(s), why);
  }
  State state_now() {
    std::lock_guard lock(state_mu);
    return current_state;
  }
  std::mutex state_mu;
  void retried(uint64_t n) override { stats.retried += n; }
  void in_flight(int64_t n) override { stats.in_flight = n; }
  State current_state = State::starting;  // guarded by state_mu
  std::string current_why;

  std::string owner_now() {
    std::lock_guard lock(mu);
    return owner;
  }
  bool stopped() {
    std::lock_guard lock(mu);
    return stopping;
  }
  void wait(int64_t ms) {  // unlike sleep_ms, lease_lost does not cut it short
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
  }

  // --- the lease ------------------------------------------------------------
  // Renews every third of the lease; a failed renewal marks the lease lost, and
  // deliveries stop at the next check (fencing keeps their positions out).
  void renew_loop() {
    std::unique_ptr<StateStore> store;
    while (!stopped()) {
      wait(std::max<int64_t>(200, cfg.triggers.lease_ms / 3));
      if (!holding || lease_lost) continue;
      const std::string me = owner_now();
      try {
        if (!store) store = std::make_unique<StateStore>(cfg, trig.name);
        if (!store->renew(me, cfg.triggers.lease_ms)) lose_lease("another instance holds the lease now");
      } catch (const std::exception& e) {
        // Cannot tell: keep going until the lease would have run out.
        observe::log_warn("trigger: cannot renew the lease", {{"trigger", trig.name}, {"error", std::string(e.what())}});
        store.reset();
      }
    }
  }
  void lose_lease(const std::string& why) {
    {
      std::lock_guard lock(mu);
      lease_lost = true;
    }
    cv.notify_all();
    stats.leased = false;
    observe::log_warn("trigger: lease lost", {{"trigger", trig.name}, {"reason", why}});
  }

  // --- the main loop ----------------------------------------------------------
  void run() {
    uint32_t failures = 0;
    std::unique_ptr<StateStore> store;
    while (!stopped()) {
      try {
        if (!store) store = std::make_unique<StateStore>(cfg, trig.name);
        if (!holding) {
          std::string candidate = instance_id + "/" + std::to_string(++takings);
          if (!store->acquire(candidate, cfg.triggers.lease_ms)) {
            if (state_now() != State::standby) observe::log_info("trigger: standby (another instance holds the lease)", {{"trigger", trig.name}});
            state(State::standby, "another instance holds the lease");
            wait(std::max<int64_t>(200, cfg.triggers.lease_ms / 4));
            continue;
          }
          {
            std::lock_guard lock(mu);
            owner = candidate;
            lease_lost = false;
          }
          holding = true;
          stats.leased = true;
          observe::log_info("trigger: lease taken", {{"trigger", trig.name}, {"owner", candidate}});
        }
        follow(*store);
        failures = 0;
      } catch (const std::exception& e) {
        store.reset();
        const int64_t wait_ms = std::min<int64_t>(30000, 500ll << std::min<uint32_t>(failures++, 6));
        state(State::backing_off, e.what());
        observe::log_error("trigger: error, retrying", {{"trigger", trig.name}, {"error", std::string(e.what())},
                                                         {"wait_ms", wait_ms}});
        wait(wait_ms);
      }
      if (lease_lost) holding = false;
      if (state_now() == State::failed) {
        // History lost with on_history_lost = "fail": stays failed until restarted.
        while (!stopped()) wait(1000);
      }
    }
    if (holding && !lease_lost) {
      try {
        const std::string me = owner_now();
        if (!store) store = std::make_unique<StateStore>(cfg, trig.name);
        store->release(me);
      } catch (const std::exception&) {
      }
    }
    stats.leased = false;
    state(State::stopped, "");
  }

  // Opens the stream at `pos` (or the present) with the trigger's pipeline.
  mongoc_change_stream_t* open(mongoc_client_t* client, const Position* pos) {
    bson_t pipeline = BSON_INITIALIZER, stages, stage, m, in, ops;
    BSON_APPEND_ARRAY_BEGIN(&pipeline, "pipeline", &stages);
    BSON_APPEND_DOCUMENT_BEGIN(&stages, "0", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &m);
    BSON_APPEND_DOCUMENT_BEGIN(&m, "operationType", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ops);
    size_t n = 0;
    for (const auto& op : trig.operation_types) {
      const std::string k = std::to_string(n++);
      BSON_APPEND_UTF8(&ops, k.c_str(), op.c_str());
    }
    const std::string last = std::to_string(n);
    BSON_APPEND_UTF8(&ops, last.c_str(), "invalidate");
    bson_append_array_end(&in, &ops);
    bson_append_document_end(&m, &in);
    bson_append_document_end(&stage, &m);
    bson_append_document_end(&stages, &stage);
    int idx = 1;
    auto add_stage = [&](const char* op, const std::string& json) {
      if (json.empty()) return;
      bson_t* arg = bson_new_from_json(reinterpret_cast<const uint8_t*>(json.data()), static_cast<ssize_t>(json.size()), nullptr);
      if (!arg) return;  // checked at load
      bson_t st;
      const std::string k = std::to_string(idx++);
      BSON_APPEND_DOCUMENT_BEGIN(&stages, k.c_str(), &st);
      BSON_APPEND_DOCUMENT(&st, op, arg);
      bson_append_document_end(&stages, &st);
      bson_destroy(arg);
    };
    add_stage("$match", trig.match);
    add_stage("$project", trig.project);
    bson_append_array_end(&pipeline, &stages);

    bson_t opts = BSON_INITIALIZER;
    if (trig.full_document != "default") BSON_APPEND_UTF8(&opts, "fullDocument", trig.full_document.c_str());
    BSON_APPEND_INT64(&opts, "maxAwaitTimeMS", max_await_ms());
    if (pos && pos->token) BSON_APPEND_DOCUMENT(&opts, pos->start_after ? "startAfter" : "resumeAfter", pos->token.get());
    mongoc_change_stream_t* s;
    if (trig.collection.empty()) {
      mongoc_database_t* db = mongoc_client_get_database(client, trig.database.c_str());
      s = mongoc_database_watch(db, &pipeline, &opts);
      mongoc_database_destroy(db);
    } else {
      mongoc_collection_t* c = mongoc_client_get_collection(client, trig.database.c_str(), trig.collection.c_str());
      s = mongoc_collection_watch(c, &pipeline, &opts);
      mongoc_collection_destroy(c);
    }
    bson_destroy(&opts);
    bson_destroy(&pipeline);
    return s;
  }

  // How long a batch may wait to fill: http's buffer_interval when set, else max_latency.
  int64_t latency_ms() const {
    const auto& d = trig.destination;
    if (d.type == config::TriggerDestination::Type::http && d.buffer_interval_ms >= 0) return d.buffer_interval_ms;
    return trig.max_latency_ms;
  }
  int64_t max_await_ms() const { return std::clamp<int64_t>(latency_ms(), 100, 1000); }

  // The stream's error, if any: code and message.
  static std::optional<std::pair<uint32_t, std::string>> stream_error(mongoc_change_stream_t* s) {
    bson_error_t err;
    const bson_t* reply = nullptr;
    if (!mongoc_change_stream_error_document(s, &err, &reply)) return std::nullopt;
    return std::make_pair(err.code, std::string(err.message));
  }

  static codec::BsonPtr token_of(mongoc_change_stream_t* s) {
    const bson_t* t = mongoc_change_stream_get_resume_token(s);
    return t ? codec::BsonPtr(bson_copy(t)) : nullptr;
  }

  // Follows the stream while the lease is held. Throws on MongoDB errors (the
  // caller backs off and calls again, from the stored position).
  void follow(StateStore& store) {
    const std::string me = owner_now();
    Client watch_client(trig.uri.empty() ? cfg.mongodb.uri : trig.uri, static_cast<int32_t>(max_await_ms() + 30000));
    std::optional<Position> pos = store.load();
    StreamPtr stream;
    stream.s = open(watch_client.get(), pos ? &*pos : nullptr);
    if (auto err = stream_error(stream.s)) {
      if (!history_lost(err->first)) throw std::runtime_error("opening the change stream: " + err->second);
      if (!handle_history_lost(store, me, watch_client, stream, pos, err->second)) return;
    }
    if (state_now() != State::running) state(State::running, "");
    if (!pos) {  // the first start: remember where it began
      if (auto t = token_of(stream.s)) {
        if (!store.save(me, cfg.triggers.lease_ms, t.get(), false, std::nullopt)) return lose_lease("fenced");
        observe::log_info("trigger: started at the present", {{"trigger", trig.name}});
      }
    } else {
      observe::log_info("trigger: resumed from the stored position",
                        {{"trigger", trig.name}, {"cluster_time", static_cast<int64_t>(pos->cluster_time.t)}});
    }
    auto last_save = Clock::now();
    codec::BsonPtr saved_token = token_of(stream.s);
    while (keep_going()) {
      std::vector<Record> batch;
      std::vector<codec::BsonPtr> reject_events;  // per record: the event, when it cannot be sent
      std::vector<std::string> reasons;
      bool invalidated = false;
      const bool caught_up = fill(stream.s, batch, reject_events, reasons, invalidated);
      auto err = stream_error(stream.s);
      if (err && history_lost(err->first) && batch.empty()) {
        if (!handle_history_lost(store, me, watch_client, stream, pos, err->second)) return;
        continue;
      }
      codec::BsonPtr token = token_of(stream.s);
      if (!batch.empty()) {
        std::vector<Rejection> rejected;
        std::vector<size_t> sendable;
        for (size_t i = 0; i < batch.size(); ++i)
          if (reasons[i].empty()) sendable.push_back(i);
        bool complete = true;
        if (sendable.size() == batch.size()) {
          complete = dest->deliver(batch, rejected, *this);
        } else if (!sendable.empty()) {
          std::vector<Record> subset;
          for (size_t i : sendable) subset.push_back(std::move(batch[i]));
          complete = dest->deliver(subset, rejected, *this);
          for (auto& r : rejected) r.record = sendable[r.record];
          for (size_t k = 0; k < sendable.size(); ++k) batch[sendable[k]] = std::move(subset[k]);
        }
        if (!complete) return;  // stopped or lease lost: the position stays where it was
        for (size_t i = 0; i < batch.size(); ++i)
          if (!reasons[i].empty()) rejected.push_back({i, reasons[i]});
        for (const auto& r : rejected) {
          const Record& rec = batch[r.record];
          store.reject(rec.document_key.get(), rec.meta, r.reason, rec.data, reject_events[r.record].get());
          observe::log_warn("trigger: event rejected", {{"trigger", trig.name}, {"reason", r.reason},
                                                       {"operation", rec.meta.operation_type}});
        }
        stats.rejected += rejected.size();
        stats.delivered += batch.size() - rejected.size();
        const Meta& last = batch.back().meta;
        if (token && !store.save(me, cfg.triggers.lease_ms, token.get(), invalidated, last)) return lose_lease("fenced");
        stats.lag_ms = caught_up ? 0 : std::max<int64_t>(0, wall_now_ms() - last.wall_ms);
        saved_token = std::move(token);
        last_save = Clock::now();
      } else if (token && (!saved_token || !bson_equal(token.get(), saved_token.get())) &&
                 Clock::now() - last_save >= kIdleSave) {
        // Idle: follow the post-batch token, so it never ages out of the oplog.
        if (!store.save(me, cfg.triggers.lease_ms, token.get(), false, std::nullopt)) return lose_lease("fenced");
        saved_token = std::move(token);
        last_save = Clock::now();
      }
      if (caught_up && batch.empty()) stats.lag_ms = 0;
      if (invalidated) {
        observe::log_warn("trigger: the stream was invalidated (collection dropped or renamed); reopening after it",
                          {{"trigger", trig.name}});
        return;
      }
      if (err) throw std::runtime_error("change stream: " + err->second);
    }
  }

  // on_history_lost: "fail" stops this trigger; "restart-now" records the gap and
  // opens the stream at the present. false: stop following.
  bool handle_history_lost(StateStore& store, const std::string& me, Client& client, StreamPtr& stream,
                           std::optional<Position>& pos, const std::string& message) {
    if (trig.on_history_lost == config::Trigger::OnHistoryLost::fail) {
      state(State::failed, "change stream history lost: " + message);
      observe::log_error("trigger: FAILED: the stored position is no longer in the oplog (history lost); "
                         "on_history_lost = \"fail\" stops this trigger",
                         {{"trigger", trig.name}, {"error", message}});
      return false;
    }
    store.record_gap(pos ? &*pos : nullptr, "history lost: " + message);
    observe::log_error("trigger: HISTORY LOST: restarting at the present; the changes in between are NOT delivered "
                       "(recorded in trigger_gaps)",
                       {{"trigger", trig.name}, {"error", message},
                        {"from_cluster_time", static_cast<int64_t>(pos ? pos->cluster_time.t : 0)}});
    stream.reset();
    stream.s = open(client.get(), nullptr);
    if (auto err = stream_error(stream.s)) throw std::runtime_error("reopening the change stream: " + err->second);
    if (auto t = token_of(stream.s)) {
      if (!store.save(me, cfg.triggers.lease_ms, t.get(), false, std::nullopt)) {
        lose_lease("fenced");
        return false;
      }
    }
    pos.reset();
    return true;
  }

  // Reads events until the batch is full, max_latency has passed since the
  // first, or the stream has nothing more (then true: caught up).
  bool fill(mongoc_change_stream_t* s, std::vector<Record>& batch, std::vector<codec::BsonPtr>& reject_events,
            std::vector<std::string>& reasons, bool& invalidated) {
    size_t bytes = 0;
    Clock::time_point deadline{};
    const size_t max_records = dest->max_records(), max_bytes = dest->max_bytes();
    const auto& d = trig.destination;
    while (keep_going()) {
      const bson_t* ev = nullptr;
      const auto t0 = Clock::now();
      if (!mongoc_change_stream_next(s, &ev)) {
        if (stream_error(s)) return false;
        if (batch.empty()) {
          // A server that ignores maxAwaitTimeMS must not make this spin.
          const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
          if (took < max_await_ms() / 2) sleep_ms(max_await_ms() - took);
          return true;
        }
        if (Clock::now() >= deadline) return true;
        continue;
      }
      Meta meta = meta_of(ev);
      ++stats.read;
      if (meta.operation_type == "invalidate") {
        invalidated = true;
        return false;
      }
      if (batch.empty()) deadline = Clock::now() + std::chrono::milliseconds(latency_ms());
      Record r;
      r.meta = std::move(meta);
      bson_iter_t it;
      if (bson_iter_init_find(&it, ev, "documentKey") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len = 0;
        const uint8_t* data = nullptr;
        bson_iter_document(&it, &len, &data);
        r.document_key = codec::BsonPtr(bson_new_from_data(data, len));
      }
      Formatted f = format_event(ev, trig.format);
      std::string reason = std::move(f.error);
      r.data = std::move(f.data);
      if (dest->uses_keys()) {
        if (d.partition_key.empty()) r.key = kinesis::partition_key(d.partition_key_value);
        else r.key = kinesis::partition_key(key_at(ev, d.partition_key).value_or(""));
      }
      const size_t size = r.data.size() + r.key.size();
      if (reason.empty() && size > dest->max_record_bytes())
        reason = "the event is " + std::to_string(size) + " bytes; " + dest->describe() + " takes at most " +
                 std::to_string(dest->max_record_bytes()) + " per record";
      codec::BsonPtr keep;
      if (!reason.empty()) {
        keep = codec::BsonPtr(bson_copy(ev));
        r.data.clear();
      }
      bytes += r.data.size() + r.key.size();
      batch.push_back(std::move(r));
      reject_events.push_back(std::move(keep));
      reasons.push_back(std::move(reason));
      if (batch.size() >= max_records || bytes >= max_bytes || Clock::now() >= deadline)
        return false;
    }
    return false;
  }
};

Runner::Runner(const config::Config& cfg, const config::Trigger& trigger, std::string instance_id)
    : impl_(std::make_unique<Impl>(cfg, trigger, std::move(instance_id))) {
  impl_->dest = make_destination(trigger);
}

Runner::~Runner() { stop(); }

void Runner::start() {
  observe::log_info("trigger: starting", {{"trigger", impl_->trig.name},
                                          {"watch", impl_->trig.database + (impl_->trig.collection.empty() ? "" : "." + impl_->trig.collection)},
                                          {"destination", impl_->dest->describe()}});
  impl_->main = std::thread([this] { impl_->run(); });
  impl_->renewer = std::thread([this] { impl_->renew_loop(); });
}

void Runner::request_stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

void Runner::stop() {
  request_stop();
  if (impl_->main.joinable()) impl_->main.join();
  if (impl_->renewer.joinable()) impl_->renewer.join();
}

}  // namespace hydrant::trigger
