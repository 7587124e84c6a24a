#pragma once
// The part every ingest endpoint shares after decoding: the batch goes to the
// sink on the worker pool, the outcome goes to the metrics and the access log,
// and a fault becomes a status the sender retries.
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "app/blocking.hpp"
#include "http/message.hpp"
#include "sink/mongo_sink.hpp"

namespace hydrant::app {

struct Writer {
  sink::MongoSink& sink;
  asio::thread_pool& workers;

  asio::awaitable<sink::Outcome> write(const sink::Target& target, Batch& batch, const sink::RawRecord& raw,
                                       int64_t received_at_ms, http::RequestLog& log) const;
};

// The webhook answer: 204, or with `respond_with_result` 200
// {"inserted": n, "ids": [...]} listing the documents stored (not the rejects);
// `id_json` renders a document's `_id`.
http::Response inserted_response(bool respond_with_result, const Batch& batch, const sink::Outcome& out,
                                 const std::function<std::string(const Document&)>& id_json);

// 503 (MongoDB unreachable) or 500 (any other write failure) with a message,
// or nullopt when everything was stored.
std::optional<std::pair<int, std::string>> fault_status(const sink::Outcome& out);

}  // namespace hydrant::app
