#pragma once
// Outbound HTTP(S) POSTs with libcurl, optionally signed with AWS Signature V4
// by libcurl itself (CURLOPT_AWS_SIGV4). Blocking: one client per thread.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hydrant::outbound {

struct AwsSigning {
  std::string region;
  std::string service;  // "kinesis", "events", "firehose"
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // sent as X-Amz-Security-Token (libcurl does not add it)
};

struct Request {
  std::string method = "POST";  // "GET" sends no body; any other with CURLOPT_CUSTOMREQUEST
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  const AwsSigning* sign = nullptr;  // null: not signed
  long timeout_ms = 30000;
};

struct Response {
  int status = 0;       // 0: no HTTP answer (see error)
  std::string error;    // transport error: refused, reset, timeout, TLS
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  double seconds = 0;
  const std::string* header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Keeps the connection for the next call (keep-alive).
  Response post(const Request& req);

 private:
  void* curl_;  // CURL*
};

}  // namespace hydrant::outbound
