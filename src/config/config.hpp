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

// `[trigger.destination]`: where a trigger's events go.
struct TriggerDestination {
  enum class Type { kinesis, http };
  Type type = Type::kinesis;
  // kinesis
  std::string stream;               // a name, or an ARN (sent as StreamARN)
  std::string region;               // default: from the ARN, AWS_REGION or AWS_DEFAULT_REGION
  std::string partition_key;        // a path in the change event; empty: partition_key_value
  std::string partition_key_value;  // a constant key
  std::string endpoint;             // default https://kinesis.<region>.amazonaws.com
  std::string access_key_id;        // default: AWS_ACCESS_KEY_ID (and the two below from AWS_*)
  std::string secret_access_key;
  std::string session_token;
  // http (the Firehose HTTP endpoint protocol)
  std::string url;
  std::string access_key;
  std::string source_arn;  // X-Amz-Firehose-Source-Arn; default names the trigger
  bool gzip = false;       // content_encoding = "gzip"
  uint64_t buffer_size = 5ull << 20;
  int64_t buffer_interval_ms = -1;  // -1: the trigger's max_latency
  int64_t retry_duration_s = 300;
  std::vector<std::pair<std::string, std::string>> common_attributes;
};

// `[[trigger]]`: a change stream delivered to a destination.
struct Trigger {
  enum class Format { document, event, event_canonical };
  enum class OnHistoryLost { fail, restart_now };
  std::string name;
  std::string uri;  // empty: [mongodb]'s
  std::string database;
  std::string collection;  // empty: the whole database
  std::vector<std::string> operation_types = {"insert", "update", "replace", "delete"};
  std::string match;    // Extended JSON of a $match stage on the change event; empty: none
  std::string project;  // Extended JSON of a $project stage; empty: none
  std::string full_document = "updateLookup";
  Format format = Format::document;
  bool ordered = true;
  int64_t max_latency_ms = 200;
  uint32_t max_in_flight = 4;  // ordered = false: calls at once
  OnHistoryLost on_history_lost = OnHistoryLost::fail;
  TriggerDestination destination;
};

// `[triggers]`: what every trigger shares.
struct Triggers {
  std::string state_database = "hydrant";
  int64_t lease_ms = 10000;
};

struct Config {
  Server server;
  MongoDB mongodb;
  std::vector<Firehose> firehose;
  std::vector<Segment> segment;
  std::vector<Webhook> webhook;
  Triggers triggers;
  std::vector<Trigger> trigger;
  size_t endpoints() const { return firehose.size() + segment.size() + webhook.size(); }
};

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // each names the key and its line
};

// Every key the loader accepts, by table: "" (the top level), "server", "mongodb",
// "firehose", "segment.webhook", "segment.tracking-api", "webhook",
// "triggers", "trigger", "trigger.destination.kinesis", "trigger.destination.http". The docs are checked against it.
const std::map<std::string, std::set<std::string>>& known_keys();

// Parses and validates; `${NAME}` in any string is replaced from the environment.
LoadResult load_file(const std::string& path);
LoadResult load_string(const std::string& toml, const std::string& source_name = "config");

}  // namespace hydrant::config
