#pragma once
// Amazon Data Firehose HTTP endpoint protocol, version 1.0 (SPEC §2):
// the request model, its validation and the response format. No I/O here.
#include <cstdint>
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/json_text.hpp"
#include "config/config.hpp"
#include "http/message.hpp"

namespace hydrant::firehose {

constexpr size_t kMaxRecords = 10000;
constexpr size_t kMaxErrorMessage = 8192;

// Every protocol failure maps to exactly one status and message here.
struct Error {
  int status;
  std::string message;
};

struct Head {
  std::string request_id;
  std::string source_arn;
  std::vector<std::pair<std::string, std::string>> common_attributes;
};

// Header checks, done before the body is read: protocol version, request id,
// source ARN, access key (constant time) and common attributes.
std::optional<Error> check_head(const config::Firehose& cfg, const http::Request& req, Head& head);

struct Envelope {
  std::string request_id;
  int64_t timestamp = 0;
  std::vector<std::string_view> data;  // base64 text of each record, owned by `parser`
  std::unique_ptr<simdjson::dom::parser> parser;
};

// Parses `{"requestId", "timestamp", "records": [{"data"}...]}`. `body` must have
// simdjson padding available in its capacity (the server reserves it).
std::optional<Error> parse_envelope(const std::string& body, Envelope& env);

// The protocol's response body: {"requestId": ..., "timestamp": ...[, "errorMessage": ...]}.
std::string render_body(std::string_view request_id, int64_t timestamp_ms, std::string_view error_message = {});
http::Response render(int status, std::string_view request_id, std::string_view error_message = {});

using codec::append_json_string;

}  // namespace hydrant::firehose
