#pragma once
// Plain request/response values passed between the HTTP server and the
// endpoints. No sockets here: protocols see only these.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydrant::http {

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

struct Request {
  std::string method;
  std::string target;  // as sent: path + query
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;         // after Content-Encoding decoding; capacity leaves room for simdjson padding
  uint64_t wire_bytes = 0;  // body bytes as received
  std::string remote;
  // During Endpoint::handle: counts `bytes` more against max_inflight for this
  // request (what decoding will hold beyond ~3x the body); false when over it.
  std::function<bool(uint64_t bytes)> reserve;

  // First header with this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (iequals(k, name)) return &v;
    return nullptr;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What an endpoint tells the access log about a request.
struct RequestLog {
  std::string request_id;
  uint64_t records = 0;
  uint64_t written = 0;
  uint64_t rejected = 0;
  std::string error;
};

}  // namespace hydrant::http
