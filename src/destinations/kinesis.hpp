#pragma once
// Amazon Kinesis Data Streams' PutRecords (JSON protocol 1.1): the request body,
// the limits, and what an answer means. No I/O and no MongoDB here.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::kinesis {

constexpr size_t kMaxRecords = 500;                   // records per PutRecords call
constexpr size_t kMaxRequestBytes = 5u << 20;          // data + partition keys per call
constexpr size_t kMaxRecordBytes = 1u << 20;           // data + partition key per record
constexpr size_t kMaxPartitionKeyChars = 256;          // characters, in UTF-16 code units
constexpr const char* kTarget = "Kinesis_20131202.PutRecords";
constexpr const char* kContentType = "application/x-amz-json-1.1";

// A partition key Kinesis accepts: keys over 256 characters become
// "sha256:" + 64 hex digits of the key (the same key always maps the same way);
// an empty key becomes "null" (Kinesis needs at least one character).
std::string partition_key(std::string_view key);

struct Entry {
  std::string_view data;
  std::string_view partition_key;
};

// The record's size as Kinesis counts it against kMaxRecordBytes / kMaxRequestBytes.
inline size_t entry_size(const Entry& e) { return e.data.size() + e.partition_key.size(); }

// {"StreamName"|"StreamARN": ..., "Records": [{"Data": base64, "PartitionKey": ...}, ...]}
std::string put_records_body(const std::string& stream, const std::vector<Entry>& entries);

// What one PutRecords answer means.
struct Answer {
  enum class Kind {
    ok,         // every record stored (see failed for per-record failures)
    throttled,  // the whole call was refused for throughput: slow down, retry all
    retry,      // a server or transport problem: retry all with back-off
    denied,     // credentials, signature, permissions, missing stream: retry with back-off, loudly
    invalid,    // the request itself was refused (validation): split it, or reject a single record
  };
  Kind kind = Kind::ok;
  std::string message;  // why, for logs (no secrets: AWS answers do not echo them)
  // For kind == ok: per record, empty when stored, else its ErrorCode: ErrorMessage.
  std::vector<std::string> failed;
  std::vector<bool> retryable;  // per failed record: worth retrying (throughput, internal failure)
  size_t failed_count = 0;
};

// `status` 0 means no HTTP answer (transport error in `transport_error`).
Answer parse_answer(int status, std::string_view body, const std::string& transport_error, size_t records);

}  // namespace hydrant::kinesis
