#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

#include "config/config.hpp"
#include "config/size.hpp"
#include "test_support.hpp"

using hydrant::config::Config;
using hydrant::config::load_file;
using hydrant::config::load_string;
using hydrant::config::LoadResult;
using hydrant::config::parse_size;
using hydrant::config::RecordFormat;

namespace {

using hydrant_test::has_error;

std::string dump(const LoadResult& r) { return hydrant_test::dump_errors(r); }

// A minimal valid endpoint, appended to configs that test something else.
const char* kEndpoint = R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
)";

}  // namespace

TEST(Config, FullSpecExampleParses) {
  setenv("HYDRANT_TEST_URI", "mongodb://db.example:27018/?replicaSet=rs0", 1);
  setenv("HYDRANT_TEST_KEY", "s3cret-key", 1);
  const std::string toml = R"([server]
listen = "127.0.0.1:9443"
max_body = "10MiB"
max_inflight = "2GiB"

[mongodb]
uri = "${HYDRANT_TEST_URI}"
write_concern = "majority"

[[firehose]]
path = "/firehose/monitors"
access_keys = ["${HYDRANT_TEST_KEY}", "literal-old-key"]
database = "monitors"
collection = "firehose"
id = "_id"
object_ids = ["_id", "ref.owner"]
dates = ["recordedAt"]
records = "json"
rejects = "firehose_rejects"
metadata = "_firehose"

[[firehose]]
path = "/logs"
database = "logs"
collection = "cw"
records = "cloudwatch-logs"
)";
  const LoadResult r = load_string(toml, "test.toml");
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_TRUE(r.errors.empty());
  const Config& c = *r.config;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 9443);
  EXPECT_EQ(c.server.max_body, 10ull << 20);
  EXPECT_EQ(c.server.max_inflight, 2ull << 30);
  EXPECT_FALSE(c.server.tls());
  EXPECT_EQ(c.mongodb.uri, "mongodb://db.example:27018/?replicaSet=rs0");
  EXPECT_TRUE(c.mongodb.write_concern.majority);
  ASSERT_EQ(c.firehose.size(), 2u);
  const auto& f = c.firehose[0];
  EXPECT_EQ(f.path, "/firehose/monitors");
  EXPECT_EQ(f.access_keys, (std::vector<std::string>{"s3cret-key", "literal-old-key"}));
  EXPECT_EQ(f.database, "monitors");
  EXPECT_EQ(f.collection, "firehose");
  EXPECT_EQ(f.id, "_id");
  EXPECT_EQ(f.object_ids, (std::vector<std::string>{"_id", "ref.owner"}));
  EXPECT_EQ(f.dates, (std::vector<std::string>{"recordedAt"}));
  EXPECT_EQ(f.records, RecordFormat::json);
  EXPECT_EQ(f.rejects, "firehose_rejects");
  EXPECT_EQ(f.metadata, "_firehose");
  const auto& g = c.firehose[1];
  EXPECT_EQ(g.records, RecordFormat::cloudwatch_logs);
  EXPECT_EQ(g.rejects, "cw_rejects");
  EXPECT_TRUE(g.access_keys.empty());
  EXPECT_TRUE(g.metadata.empty());
}

TEST(Config, DefaultsWhenSectionsAreOmitted) {
  const LoadResult r = load_string(kEndpoint);
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.max_body, 80ull * 1024 * 1024);
  EXPECT_EQ(c.server.max_inflight, 1ull << 30);
  EXPECT_TRUE(c.server.tls_cert.empty());
  EXPECT_EQ(c.mongodb.uri, "mongodb://127.0.0.1:27017");
  EXPECT_TRUE(c.mongodb.write_concern.majority);
  ASSERT_EQ(c.firehose.size(), 1u);
  const auto& f = c.firehose[0];
  EXPECT_EQ(f.id, "_id");
  EXPECT_EQ(f.records, RecordFormat::json);
  EXPECT_EQ(f.rejects, "c_rejects");
  EXPECT_TRUE(f.object_ids.empty());
  EXPECT_TRUE(f.dates.empty());
  EXPECT_TRUE(f.metadata.empty());
}

TEST(Config, TextRecordsAndIdPath) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/t"
database = "db"
collection = "c"
records = "text"
id = "messageId"
access_keys = []
)");
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_EQ(r.config->firehose[0].records, RecordFormat::text);
  EXPECT_EQ(r.config->firehose[0].id, "messageId");
  EXPECT_TRUE(r.config->firehose[0].access_keys.empty());
}

TEST(Config, NumericWriteConcern) {
  const LoadResult r = load_string(std::string("[mongodb]\nwrite_concern = 2\n") + kEndpoint);
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_FALSE(r.config->mongodb.write_concern.majority);
  EXPECT_EQ(r.config->mongodb.write_concern.w, 2);
}

TEST(Config, WriteConcernOutOfRange) {
  const LoadResult r = load_string(std::string("[mongodb]\nwrite_concern = 0\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"mongodb.write_concern", "line 2"})) << dump(r);
}

TEST(Config, MaxBodyAsInteger) {
  const LoadResult r = load_string(std::string("[server]\nmax_body = 1048576\n") + kEndpoint);
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_EQ(r.config->server.max_body, 1048576u);
}

TEST(Config, IPv6Listen) {
  const LoadResult r = load_string(std::string("[server]\nlisten = \"[::1]:8443\"\n") + kEndpoint);
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_EQ(r.config->server.host, "::1");
  EXPECT_EQ(r.config->server.port, 8443);
}

TEST(Config, TlsCertAndKeyTogether) {
  const std::string file = std::string(HYDRANT_SOURCE_DIR) + "/CMakeLists.txt";
  const LoadResult r = load_string("[server]\ntls_cert = \"" + file + "\"\ntls_key = \"" + file + "\"\n" + kEndpoint);
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_TRUE(r.config->server.tls());
  EXPECT_EQ(r.config->server.tls_cert, file);
  EXPECT_EQ(r.config->server.tls_key, file);
}

TEST(Config, TlsCertWithoutKey) {
  const std::string file = std::string(HYDRANT_SOURCE_DIR) + "/CMakeLists.txt";
  const LoadResult r = load_string("[server]\nlisten = \"0.0.0.0:443\"\ntls_cert = \"" + file + "\"\n" + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"tls_cert", "tls_key", "line 3"})) << dump(r);
}

TEST(Config, TlsKeyWithoutCert) {
  const std::string file = std::string(HYDRANT_SOURCE_DIR) + "/CMakeLists.txt";
  const LoadResult r = load_string("[server]\ntls_key = \"" + file + "\"\n" + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"tls_cert", "tls_key", "line 2"})) << dump(r);
}

TEST(Config, TlsFileMustBeReadable) {
  const LoadResult r = load_string(
      std::string("[server]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"server.tls_cert", "line 2", "/nonexistent/cert.pem"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"server.tls_key", "line 3"})) << dump(r);
}

TEST(Config, EnvInterpolationInStringsAndArrays) {
  setenv("HYDRANT_T_DB", "mydb", 1);
  setenv("HYDRANT_T_K1", "key-one", 1);
  setenv("HYDRANT_T_K2", "two", 1);
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/in/${HYDRANT_T_DB}"
database = "${HYDRANT_T_DB}"
collection = "pre_${HYDRANT_T_DB}_post"
access_keys = ["${HYDRANT_T_K1}", "x${HYDRANT_T_K2}${HYDRANT_T_K2}y"]
)");
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  const auto& f = r.config->firehose[0];
  EXPECT_EQ(f.path, "/in/mydb");
  EXPECT_EQ(f.database, "mydb");
  EXPECT_EQ(f.collection, "pre_mydb_post");
  EXPECT_EQ(f.access_keys, (std::vector<std::string>{"key-one", "xtwotwoy"}));
  EXPECT_EQ(f.rejects, "pre_mydb_post_rejects");
}

TEST(Config, EnvValueIsNotInterpolatedAgain) {
  setenv("HYDRANT_T_NESTED", "${HYDRANT_T_SURELY_UNSET_XYZ}", 1);
  unsetenv("HYDRANT_T_SURELY_UNSET_XYZ");
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
access_keys = ["${HYDRANT_T_NESTED}"]
)");
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_EQ(r.config->firehose[0].access_keys[0], "${HYDRANT_T_SURELY_UNSET_XYZ}");
}

TEST(Config, UnsetVariableNamesVariableKeyAndLine) {
  unsetenv("HYDRANT_T_UNSET_ONE");
  const LoadResult r = load_string(R"([mongodb]
uri = "${HYDRANT_T_UNSET_ONE}"
)" + std::string(kEndpoint));
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"HYDRANT_T_UNSET_ONE", "mongodb.uri", "line 2"})) << dump(r);
}

TEST(Config, UnsetVariableInArrayNamesVariableKeyAndLine) {
  unsetenv("HYDRANT_T_UNSET_TWO");
  setenv("HYDRANT_T_SET", "ok", 1);
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
access_keys = [
  "${HYDRANT_T_SET}",
  "${HYDRANT_T_UNSET_TWO}",
]
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"HYDRANT_T_UNSET_TWO", "firehose[0].access_keys", "line 8"})) << dump(r);
}

TEST(Config, UnterminatedInterpolation) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "${OOPS"
collection = "c"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].database", "line 4"})) << dump(r);
}

TEST(Config, EnvInterpolationInWriteConcern) {
  // SPEC §1: "Any string value may contain ${NAME}".
  setenv("HYDRANT_T_WC", "majority", 1);
  const LoadResult r = load_string(std::string("[mongodb]\nwrite_concern = \"${HYDRANT_T_WC}\"\n") + kEndpoint);
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  EXPECT_TRUE(r.config->mongodb.write_concern.majority);
}

TEST(Config, UnknownKeyAtTopLevel) {
  const LoadResult r = load_string(std::string("bogus = 1\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"bogus", "unknown key", "line 1"})) << dump(r);
}

TEST(Config, UnknownTopLevelTable) {
  const LoadResult r = load_string(std::string(kEndpoint) + "\n[extra]\nx = 1\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"extra", "unknown key"})) << dump(r);
}

TEST(Config, UnknownKeyInServer) {
  const LoadResult r = load_string(std::string("[server]\nlisten = \"0.0.0.0:1\"\nlistne = \"x\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"server.listne", "unknown key", "line 3"})) << dump(r);
}

TEST(Config, UnknownKeyInMongodb) {
  const LoadResult r = load_string(std::string("[mongodb]\n\nurl = \"mongodb://x\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"mongodb.url", "unknown key", "line 3"})) << dump(r);
}

TEST(Config, UnknownKeyInFirehose) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/a"
database = "db"
collection = "c"

[[firehose]]
path = "/b"
database = "db"
collection = "c"
colection = "typo"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[1].colection", "unknown key", "line 11"})) << dump(r);
}

TEST(Config, RecordsWrongType) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
records = 5
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].records", "line 6"})) << dump(r);
}

TEST(Config, RecordsUnknownMode) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
records = "xml"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].records", "line 6", "json"})) << dump(r);
}

TEST(Config, WriteConcernBadString) {
  const LoadResult r = load_string(std::string("[mongodb]\nwrite_concern = \"some\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"mongodb.write_concern", "line 2"})) << dump(r);
}

TEST(Config, ListenWithoutPort) {
  for (const char* listen : {"0.0.0.0", "0.0.0.0:", "0.0.0.0:http", "0.0.0.0:70000", ":8080"}) {
    const LoadResult r = load_string(std::string("\n[server]\nlisten = \"") + listen + "\"\n" + kEndpoint);
    EXPECT_FALSE(r.config.has_value()) << listen;
    EXPECT_TRUE(has_error(r, {"server.listen", "line 3"})) << listen << "\n" << dump(r);
  }
}

TEST(Config, ListenWrongType) {
  const LoadResult r = load_string(std::string("[server]\nlisten = 8080\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"server.listen", "line 2"})) << dump(r);
}

TEST(Config, MaxBodyNotASize) {
  const LoadResult r = load_string(std::string("[server]\nmax_body = \"ten\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"server.max_body", "line 2"})) << dump(r);
}

TEST(Config, MaxBodyZeroOrNegative) {
  for (const char* v : {"0", "-5", "\"0MiB\""}) {
    const LoadResult r = load_string(std::string("[server]\nmax_inflight = ") + v + "\n" + kEndpoint);
    EXPECT_FALSE(r.config.has_value()) << v;
    EXPECT_TRUE(has_error(r, {"server.max_inflight", "line 2"})) << v << "\n" << dump(r);
  }
}

TEST(Config, MaxBodyWrongType) {
  const LoadResult r = load_string(std::string("[server]\nmax_body = true\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"server.max_body", "line 2"})) << dump(r);
}

TEST(Config, AccessKeysMustBeStrings) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
access_keys = "not-a-list"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].access_keys", "line 6"})) << dump(r);

  const LoadResult r2 = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
object_ids = ["_id", 3]
)");
  EXPECT_FALSE(r2.config.has_value());
  EXPECT_TRUE(has_error(r2, {"firehose[0].object_ids", "line 6"})) << dump(r2);
}

TEST(Config, EmptyAccessKeyRefused) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
access_keys = [""]
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].access_keys", "line 6"})) << dump(r);
}

TEST(Config, ErrorsDoNotEchoSecrets) {
  setenv("HYDRANT_T_LONGKEY", std::string(5000, 'k').c_str(), 1);
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
access_keys = ["${HYDRANT_T_LONGKEY}"]
)");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_FALSE(r.errors.empty());
  for (const auto& e : r.errors) EXPECT_EQ(e.find("kkkkkkkk"), std::string::npos) << e;
}

TEST(Config, DuplicatePaths) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/same"
database = "db"
collection = "a"

[[firehose]]
path = "/same"
database = "db"
collection = "b"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[1].path", "/same", "line 8"})) << dump(r);
}

TEST(Config, PathClashesWithOperationalEndpoint) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/metrics"
database = "db"
collection = "a"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].path", "/metrics", "line 3"})) << dump(r);
}

TEST(Config, PathMustStartWithSlash) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "firehose"
database = "db"
collection = "a"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].path", "line 3", "/"})) << dump(r);
}

TEST(Config, RequiredKeysMissing) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].database", "required"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"firehose[0].collection", "required"})) << dump(r);
}

TEST(Config, InvalidNamesAndMetadata) {
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "d$b"
collection = "c"
metadata = "a.b"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].database", "line 4"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"firehose[0].metadata", "line 6"})) << dump(r);

  const LoadResult r2 = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
metadata = "_id"
)");
  EXPECT_FALSE(r2.config.has_value());
  EXPECT_TRUE(has_error(r2, {"firehose[0].metadata", "line 6"})) << dump(r2);
}

TEST(Config, RejectsCollectionNameIsValidatedLikeCollection) {
  // `collection = "d$b"` is refused; the rejects collection is a collection name too.
  const LoadResult r = load_string(R"(
[[firehose]]
path = "/f"
database = "db"
collection = "c"
rejects = "bad$name"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose[0].rejects", "line 6"})) << dump(r);
}

TEST(Config, UriMustBeMongodb) {
  const LoadResult r = load_string(std::string("[mongodb]\nuri = \"http://localhost\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"mongodb.uri", "line 2"})) << dump(r);
}

TEST(Config, NoFirehoseEndpoint) {
  const LoadResult r = load_string("[server]\nlisten = \"0.0.0.0:8080\"\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"[[firehose]]"})) << dump(r);
}

TEST(Config, FirehoseAsPlainTable) {
  const LoadResult r = load_string("[firehose]\npath = \"/f\"\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"firehose", "line 1"})) << dump(r);
}

TEST(Config, SectionOfWrongType) {
  const LoadResult r = load_string(std::string("server = \"x\"\n") + kEndpoint);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"server", "line 1"})) << dump(r);
}

TEST(Config, TomlSyntaxErrorGivesLine) {
  const LoadResult r = load_string("[server]\nlisten = \"0.0.0.0:1\"\nmax_body = \"80MiB\n[[firehose]]\n", "bad.toml");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(has_error(r, {"bad.toml", "line 3"})) << dump(r);

  const LoadResult r2 = load_string("\n\n\n[[firehose]]\npath = = 3\n");
  EXPECT_FALSE(r2.config.has_value());
  EXPECT_TRUE(has_error(r2, {"line 5"})) << dump(r2);
}

TEST(Config, DuplicateTomlKeyIsSyntaxError) {
  const LoadResult r = load_string("[server]\nlisten = \"0.0.0.0:1\"\nlisten = \"0.0.0.0:2\"\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"line 3"})) << dump(r);
}

TEST(Config, ErrorsAreCollectedNotStoppedAtFirst) {
  const LoadResult r = load_string(R"([server]
listen = "nope"
max_body = "ten"

[[firehose]]
path = "/f"
database = "db"
collection = "c"
records = 5
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_GE(r.errors.size(), 3u) << dump(r);
  EXPECT_TRUE(has_error(r, {"server.listen", "line 2"}));
  EXPECT_TRUE(has_error(r, {"server.max_body", "line 3"}));
  EXPECT_TRUE(has_error(r, {"firehose[0].records", "line 9"}));
}

TEST(Config, LoadFileMissing) {
  const LoadResult r = load_file("/nonexistent/hydrant.toml");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"/nonexistent/hydrant.toml"})) << dump(r);
}

TEST(ParseSize, Units) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("4096B"), 4096u);
  EXPECT_EQ(parse_size("4096b"), 4096u);
  EXPECT_EQ(parse_size("10KB"), 10000u);
  EXPECT_EQ(parse_size("10MB"), 10000000u);
  EXPECT_EQ(parse_size("2GB"), 2000000000u);
  EXPECT_EQ(parse_size("512KiB"), 512u * 1024);
  EXPECT_EQ(parse_size("80MiB"), 80ull * 1024 * 1024);
  EXPECT_EQ(parse_size("80mib"), 80ull * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_size("64 MiB"), 64ull << 20);
  EXPECT_EQ(parse_size("  7KiB  "), 7u * 1024);
  EXPECT_EQ(parse_size("16384GiB"), 16384ull << 30);
}

TEST(ParseSize, Invalid) {
  for (const char* bad : {"", " ", "ten", "MiB", "-1", "-1MiB", "1.5GiB", "10XB", "10 MiBs", "0x10", "10TiB",
                          "99999999999999999999", "18446744073709551615GiB"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

// ---- [[segment]] ----------------------------------------------------------------------

TEST(ConfigSegment, BothKindsWithDefaults) {
  const LoadResult r = load_string(R"(
[[segment]]
kind = "webhook"
path = "/segment"
shared_secret = "s"
database = "segment"
collection = "events"

[[segment]]
kind = "tracking-api"
path = "/v1"
write_keys = ["a", "b"]
database = "segment"
collection = "events"
cors_origins = ["*"]
max_event = "16KiB"
max_batch_events = 100
)");
  ASSERT_TRUE(r.config.has_value()) << dump(r);
  ASSERT_EQ(r.config->segment.size(), 2u);
  const auto& w = r.config->segment[0];
  EXPECT_EQ(w.kind, hydrant::config::Segment::Kind::webhook);
  EXPECT_EQ(w.shared_secret, "s");
  EXPECT_EQ(w.rejects, "events_rejects");
  EXPECT_FALSE(w.respond_with_result);
  const auto& t = r.config->segment[1];
  EXPECT_EQ(t.kind, hydrant::config::Segment::Kind::tracking_api);
  EXPECT_EQ(t.write_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.max_event, 16u * 1024);
  EXPECT_EQ(t.max_batch, 500u * 1024);
  EXPECT_EQ(t.max_batch_events, 100u);
  EXPECT_EQ(r.config->endpoints(), 2u);
}

TEST(ConfigSegment, WebhookNeedsASecret) {
  const LoadResult r = load_string("[[segment]]\nkind = \"webhook\"\npath = \"/s\"\ndatabase = \"d\"\ncollection = \"c\"\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"segment[0]", "shared_secret", "query_secret"})) << dump(r);
}

TEST(ConfigSegment, KeysOfTheOtherKindAreNamed) {
  const LoadResult r = load_string(R"(
[[segment]]
kind = "webhook"
path = "/s"
shared_secret = "x"
write_keys = ["k"]
database = "d"
collection = "c"
colection = "typo"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"segment[0].write_keys", "line 6", "only for kind = \"tracking-api\""})) << dump(r);
  EXPECT_TRUE(has_error(r, {"segment[0].colection", "line 9", "unknown key"})) << dump(r);
}

TEST(ConfigSegment, BadKindAndValues) {
  const LoadResult r = load_string(R"(
[[segment]]
kind = "webhooks"
path = "/s"
database = "d"
collection = "c"

[[segment]]
kind = "tracking-api"
path = "v1"
database = "d"
collection = "c"
max_batch_events = 0
max_batch = "lots"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"segment[0].kind", "line 3", "tracking-api"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"segment[1].path", "must start with /"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"segment[1].max_batch_events", "line 13"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"segment[1].max_batch", "line 14"})) << dump(r);
}

TEST(ConfigSegment, PathsAreUniqueAcrossEndpointKinds) {
  const LoadResult r = load_string(std::string(kEndpoint) + R"(
[[segment]]
kind = "tracking-api"
path = "/f"
database = "d"
collection = "c"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"segment[0].path", "already used"})) << dump(r);
}
