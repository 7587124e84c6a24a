#include "app/write.hpp"

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

std::optional<std::pair<int, std::string>> fault_status(const sink::Outcome& out) {
  if (out.fault == sink::Fault::unavailable) return std::pair{503, "MongoDB is unavailable: " + out.message};
  if (out.fault == sink::Fault::error) return std::pair{500, "MongoDB write failed: " + out.message};
  return std::nullopt;
}

}  // namespace hydrant::app
