#pragma once
// The Amazon Data Firehose HTTP endpoint delivery protocol, from the sending
// side: hydrant delivers like a delivery stream does, to its own [[firehose]]
// endpoint or any third-party Firehose HTTP destination. No I/O here.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydrant::firehose_out {

// {"requestId": ..., "timestamp": ms, "records": [{"data": base64}, ...]}
std::string envelope(const std::string& request_id, int64_t timestamp_ms, const std::vector<std::string_view>& records);

// Every X-Amz-Firehose-* header a delivery stream sends (the access key only when set).
std::vector<std::pair<std::string, std::string>> headers(
    const std::string& request_id, const std::string& source_arn, const std::string& access_key,
    const std::vector<std::pair<std::string, std::string>>& common_attributes, bool gzip);

struct Answer {
  enum class Kind { ok, too_large, retry };
  Kind kind = Kind::retry;
  std::string message;
};

// Firehose counts a delivery as done only on 200 with a JSON body that echoes the
// request id; 413 is never retried; everything else is retried.
Answer parse_answer(int status, std::string_view body, const std::string& transport_error, const std::string& request_id);

// Firehose's back-off before retry `attempt` (0-based): 1 s x 2^attempt, +-15 % jitter, at most 120 s.
int64_t backoff_ms(uint32_t attempt, std::mt19937_64& rng);

}  // namespace hydrant::firehose_out
