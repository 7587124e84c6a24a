#include "app/write.hpp"

#include <unordered_set>

#include "observe/metrics.hpp"

namespace hydrant::app {

asio::awaitable<sink::Outcome> Writer::write(const sink::Target& target, Batch& batch, const sink::RawRecord& raw,
                                             int64_t received_at_ms, http::RequestLog& log) const {
  log.records = batch.records;
  sink::Outcome out =
      co_await run_blocking(workers, [&] { return sink.write(target, batch, raw, received_at_ms); });
  log.written = out.written;
  log.rejected = out.rejected;
  observe::Metrics::get().records(target.endpoint, out.written, out.rejected);
  co_return out;
}

http::Response inserted_response(bool respond_with_result, const Batch& batch, const sink::Outcome& out,
                                 const std::function<std::string(const Document&)>& id_json) {
  http::Response res;
  if (!respond_with_result) {
    res.status = 204;
    res.content_type.clear();
    return res;
  }
  std::unordered_set<uint32_t> refused;
  for (const auto& r : out.rejects) refused.insert(r.record);
  res.body = "{\"inserted\":" + std::to_string(out.written) + ",\"ids\":[";
  bool first = true;
  for (const auto& d : batch.docs) {
    if (refused.count(d.record)) continue;
    if (!first) res.body += ',';
    first = false;
    res.body += id_json(d);
  }
  res.body += "]}";
  return res;
}

std::optional<std::pair<int, std::string>> fault_status(const sink::Outcome& out) {
  if (out.fault == sink::Fault::unavailable) return std::pair{503, "MongoDB is unavailable: " + out.message};
  if (out.fault == sink::Fault::error) return std::pair{500, "MongoDB write failed: " + out.message};
  return std::nullopt;
}

}  // namespace hydrant::app
