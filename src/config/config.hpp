#pragma once
// The TOML configuration (SPEC §1) as typed values.
#include <cstdint>
#include <optional>
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

struct Config {
  Server server;
  MongoDB mongodb;
  std::vector<Firehose> firehose;
};

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // each names the key and its line
};

// Parses and validates; `${NAME}` in any string is replaced from the environment.
LoadResult load_file(const std::string& path);
LoadResult load_string(const std::string& toml, const std::string& source_name = "config");

}  // namespace hydrant::config
