#include "destinations/kinesis.hpp"

#include <simdjson.h>

#include "codec/base64.hpp"
#include "codec/json_text.hpp"
#include "common/hmac.hpp"

namespace hydrant::kinesis {

namespace {

// Kinesis (a Java service) counts a key's characters in UTF-16 code units: a
// character beyond U+FFFF (4 bytes in UTF-8, an emoji) counts twice.
size_t utf16_units(std::string_view s) {
  size_t n = 0;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b & 0xC0) != 0x80) n += b >= 0xF0 ? 2 : 1;
  }
  return n;
}

// Per-record codes worth retrying; anything else (KMS access or state errors,
// validation) will not get better by itself.
bool retryable_code(std::string_view code) {
  return code == "ProvisionedThroughputExceededException" || code == "InternalFailure" ||
         code == "KMSThrottlingException" || code == "ServiceUnavailable";
}

}  // namespace

std::string partition_key(std::string_view key) {
  if (key.empty()) return "null";
  if (utf16_units(key) <= kMaxPartitionKeyChars) return std::string(key);
  return "sha256:" + sha256_hex(key);
}

std::string put_records_body(const std::string& stream, const std::vector<Entry>& entries) {
  size_t n = 64 + stream.size();
  for (const auto& e : entries) n += e.data.size() * 4 / 3 + e.partition_key.size() + 40;
  std::string out;
  out.reserve(n);
  out += stream.rfind("arn:", 0) == 0 ? "{\"StreamARN\":" : "{\"StreamName\":";
  codec::append_json_string(out, stream);
  out += ",\"Records\":[";
  bool first = true;
  for (const auto& e : entries) {
    if (!first) out += ',';
    first = false;
    out += "{\"Data\":\"";
    out += codec::base64_encode(e.data);
    out += "\",\"PartitionKey\":";
    codec::append_json_string(out, e.partition_key);
    out += '}';
  }
  out += "]}";
  return out;
}

Answer parse_answer(int status, std::string_view body, const std::string& transport_error, size_t records) {
  Answer a;
  if (status == 0) {
    a.kind = Answer::Kind::retry;
    a.message = "no answer: " + transport_error;
    return a;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const bool json = parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS && root.is_object();
  if (status != 200) {
    std::string type, message;
    if (json) {
      std::string_view v;
      if (root["__type"].get_string().get(v) == simdjson::SUCCESS) type = v.substr(v.rfind('#') + 1);
      if (root["message"].get_string().get(v) == simdjson::SUCCESS || root["Message"].get_string().get(v) == simdjson::SUCCESS)
        message = v;
    }
    a.message = "HTTP " + std::to_string(status) + (type.empty() ? "" : " " + type) + (message.empty() ? "" : ": " + message);
    if (type == "ProvisionedThroughputExceededException" || type == "LimitExceededException" ||
        type == "ThrottlingException" || type == "KMSThrottlingException" || status == 429)
      a.kind = Answer::Kind::throttled;
    else if (status >= 500)
      a.kind = status == 503 ? Answer::Kind::throttled : Answer::Kind::retry;
    else if (status == 403 || status == 401 || type == "AccessDeniedException" || type == "ResourceNotFoundException" ||
             type == "UnrecognizedClientException" || type == "InvalidSignatureException" ||
             type == "ExpiredTokenException" || type == "IncompleteSignature" || type == "MissingAuthenticationToken" ||
             type == "ResourceInUseException" || type.rfind("KMS", 0) == 0)
      a.kind = Answer::Kind::denied;
    else if (status == 400 || status == 413)
      a.kind = Answer::Kind::invalid;
    else
      a.kind = Answer::Kind::retry;
    return a;
  }
  simdjson::dom::array arr;
  if (!json || root["Records"].get_array().get(arr) != simdjson::SUCCESS || arr.size() != records) {
    a.kind = Answer::Kind::retry;
    a.message = "PutRecords answered 200 without one result per record";
    return a;
  }
  a.failed.resize(records);
  a.retryable.resize(records, false);
  size_t i = 0;
  for (simdjson::dom::element rec : arr) {
    std::string_view code;
    if (rec["ErrorCode"].get_string().get(code) == simdjson::SUCCESS && !code.empty()) {
      std::string_view msg;
      a.failed[i] = std::string(code);
      if (rec["ErrorMessage"].get_string().get(msg) == simdjson::SUCCESS && !msg.empty()) a.failed[i] += ": " + std::string(msg);
      a.retryable[i] = retryable_code(code);
      ++a.failed_count;
    }
    ++i;
  }
  return a;
}

}  // namespace hydrant::kinesis
