#include "destinations/firehose_http.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "codec/base64.hpp"
#include "codec/json_text.hpp"

namespace hydrant::firehose_out {

std::string envelope(const std::string& request_id, int64_t timestamp_ms, const std::vector<std::string_view>& records) {
  size_t n = 96;
  for (const auto r : records) n += r.size() * 4 / 3 + 16;
  std::string out;
  out.reserve(n);
  out += "{\"requestId\":";
  codec::append_json_string(out, request_id);
  out += ",\"timestamp\":" + std::to_string(timestamp_ms) + ",\"records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) out += ',';
    out += "{\"data\":\"";
    out += codec::base64_encode(records[i]);
    out += "\"}";
  }
  out += "]}";
  return out;
}

std::vector<std::pair<std::string, std::string>> headers(
    const std::string& request_id, const std::string& source_arn, const std::string& access_key,
    const std::vector<std::pair<std::string, std::string>>& common_attributes, bool gzip) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"Content-Type", "application/json"},
      {"X-Amz-Firehose-Protocol-Version", "1.0"},
      {"X-Amz-Firehose-Request-Id", request_id},
      {"X-Amz-Firehose-Source-Arn", source_arn},
      {"User-Agent", "hydrant"},
  };
  if (!access_key.empty()) h.emplace_back("X-Amz-Firehose-Access-Key", access_key);
  if (!common_attributes.empty()) {
    std::string v = "{\"commonAttributes\":{";
    for (size_t i = 0; i < common_attributes.size(); ++i) {
      if (i) v += ',';
      codec::append_json_string(v, common_attributes[i].first);
      v += ':';
      codec::append_json_string(v, common_attributes[i].second);
    }
    v += "}}";
    h.emplace_back("X-Amz-Firehose-Common-Attributes", v);
  }
  if (gzip) h.emplace_back("Content-Encoding", "gzip");
  return h;
}

Answer parse_answer(int status, std::string_view body, const std::string& transport_error, const std::string& request_id) {
  Answer a;
  if (status == 0) {
    a.message = "no answer: " + transport_error;
    return a;
  }
  std::string detail;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view id, err;
  if (parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS && root.is_object()) {
    if (root["requestId"].get_string().get(id) != simdjson::SUCCESS) id = {};
    if (root["errorMessage"].get_string().get(err) == simdjson::SUCCESS) detail = std::string(err);
  }
  if (status == 200) {
    if (id == request_id) {
      a.kind = Answer::Kind::ok;
      return a;
    }
    a.message = "HTTP 200 without the request id in a JSON body";
    return a;
  }
  a.kind = status == 413 ? Answer::Kind::too_large : Answer::Kind::retry;
  a.message = "HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail);
  return a;
}

int64_t backoff_ms(uint32_t attempt, std::mt19937_64& rng) {
  const double base = std::min(120000.0, 1000.0 * std::pow(2.0, std::min<uint32_t>(attempt, 20)));
  std::uniform_real_distribution<double> jitter(0.85, 1.15);
  return std::min<int64_t>(120000, static_cast<int64_t>(base * jitter(rng)));
}

}  // namespace hydrant::firehose_out
