#pragma once
// The TOML configuration (SPEC §1) as typed values.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hydrant::config {

struct Server {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;
  std::string tls_cert;
  std::string tls_key;
  uint64_t max_body = 80ull << 20;
  uint64_t max_inflight = 1ull << 30;
  bool tls() const { return !tls_cert.empty(); }
};

struct WriteConcern {
  bool majority = true;
  int32_t w = 1;  // when !majority
};

struct MongoDB {
  std::string uri = "mongodb://127.0.0.1:27017";
  WriteConcern write_concern;
};

enum class RecordFormat { json, text, cloudwatch_logs };

struct Firehose {
  std::string path;
  std::vector<std::string> access_keys;
  std::string database;
  std::string collection;
  std::string id = "_id";
  std::vector<std::string> object_ids;
  std::vector<std::string> dates;
  RecordFormat records = RecordFormat::json;
  std::string rejects;   // default: <collection>_rejects
  std::string metadata;  // empty: no metadata field
};

struct Segment {
  enum class Kind { webhook, tracking_api };
  Kind kind = Kind::webhook;
  std::string path;
  std::string database;
  std::string collection;
  std::string rejects;  // default: <collection>_rejects
  // webhook
  std::string query_secret;   // empty: no ?secret= check
  std::string shared_secret;  // empty: no X-Signature check
  bool respond_with_result = false;
  // tracking-api
  std::vector<std::string> write_keys;  // empty: any key
  std::vector<std::string> cors_origins;
  uint64_t max_event = 32ull << 10;
  uint64_t max_batch = 500ull << 10;
  uint64_t max_batch_events = 2500;
};

// `[[webhook]]` (SPEC §4b): any signed webhook.
struct Webhook {
  enum class Verify { none, query_secret, hmac, github, stripe, slack, shopify, app_services };
  enum class Algorithm { sha1, sha256, sha512 };
  enum class Encoding { hex, base64 };
  std::string path;
  std::vector<std::string> methods = {"POST"};
  Verify verify = Verify::none;
  std::string secret;
  std::string id;                    // body field path, or "header:NAME"; empty: a new ObjectId
  std::vector<std::string> headers;  // request headers stored with each document
  std::string database;
  std::string collection;
  std::string rejects;  // default: <collection>_rejects
  bool respond_with_result = false;
  // verify = "hmac" (the presets fill these in)
  std::string signature_header;
  Algorithm algorithm = Algorithm::sha256;
  Encoding encoding = Encoding::hex;
  std::string prefix;
  int64_t tolerance_s = 300;  // stripe, slack: the oldest timestamp accepted
};

struct Config {
  Server server;
  MongoDB mongodb;
  std::vector<Firehose> firehose;
  std::vector<Segment> segment;
  std::vector<Webhook> webhook;
  size_t endpoints() const { return firehose.size() + segment.size() + webhook.size(); }
};

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // each names the key and its line
};

// Every key the loader accepts, by table: "" (the top level), "server", "mongodb",
// "firehose", "segment.webhook", "segment.tracking-api", "webhook". The docs are checked against it.
const std::map<std::string, std::set<std::string>>& known_keys();

// Parses and validates; `${NAME}` in any string is replaced from the environment.
LoadResult load_file(const std::string& path);
LoadResult load_string(const std::string& toml, const std::string& source_name = "config");

}  // namespace hydrant::config
