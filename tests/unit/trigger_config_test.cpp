// [[trigger]], [trigger.destination] and [triggers] in the configuration.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/size.hpp"
#include "test_support.hpp"

using hydrant::config::load_string;
using hydrant::config::LoadResult;
using hydrant::config::parse_duration_ms;
using hydrant::config::Trigger;
using hydrant::config::TriggerDestination;
using hydrant_test::dump_errors;
using hydrant_test::has_error;
using hydrant_test::line_of;
using hydrant_test::ScopedEnv;

namespace {

// No AWS_* variable of the test's environment leaks into a test.
struct NoAwsEnv {
  ScopedEnv id{"AWS_ACCESS_KEY_ID", nullptr};
  ScopedEnv secret{"AWS_SECRET_ACCESS_KEY", nullptr};
  ScopedEnv token{"AWS_SESSION_TOKEN", nullptr};
  ScopedEnv region{"AWS_REGION", nullptr};
  ScopedEnv default_region{"AWS_DEFAULT_REGION", nullptr};
};

// A kinesis trigger: `trig` goes into [[trigger]], `dest` into its [trigger.destination].
std::string kinesis(const std::string& trig = "", const std::string& dest = "",
                    const std::string& creds = "region = \"us-east-1\"\naccess_key_id = \"AK\"\nsecret_access_key = \"SK\"\n") {
  return "[[trigger]]\nname = \"t\"\ndatabase = \"db\"\n" + trig + "[trigger.destination]\ntype = \"kinesis\"\nstream = \"s\"\n" +
         creds + dest;
}

std::string http(const std::string& trig = "", const std::string& dest = "") {
  return "[[trigger]]\nname = \"h\"\ndatabase = \"db\"\n" + trig +
         "[trigger.destination]\ntype = \"http\"\nurl = \"http://127.0.0.1:8080/f\"\n" + dest;
}

// Loads `toml` and expects it refused with an error naming `key` at the line holding `needle`.
void expect_error(const std::string& toml, const std::string& key, const std::string& needle,
                  const std::string& words = "") {
  const LoadResult r = load_string(toml);
  EXPECT_FALSE(r.config.has_value()) << toml;
  EXPECT_TRUE(has_error(r, {key, line_of(toml, needle), words})) << toml << "\n" << dump_errors(r);
}

const Trigger& only_trigger(const LoadResult& r) {
  EXPECT_TRUE(r.config.has_value()) << dump_errors(r);
  EXPECT_EQ(r.config ? r.config->trigger.size() : 0u, 1u);
  return r.config->trigger.at(0);
}

}  // namespace

TEST(TriggerConfig, FullValidConfigWithBothDestinationTypes) {
  NoAwsEnv clean;
  ScopedEnv secret("HYDRANT_TT_SECRET", "from-env");
  const std::string toml = R"([triggers]
state_database = "hydrant_state"
lease = "30s"

[[trigger]]
name = "readings-out"
uri = "mongodb://other:27017"
database = "monitors"
collection = "reports"
operation_types = ["insert", "update", "replace"]
match = '{"fullDocument.nodeName": {"$regex": "^raspberrypi-"}}'
project = '{"fullDocument.secret": 0}'
full_document = "whenAvailable"
format = "event-canonical"
ordered = false
max_latency = "1s"
max_in_flight = 16
on_history_lost = "restart-now"

[trigger.destination]
type = "kinesis"
stream = "readings"
region = "eu-west-1"
partition_key = "fullDocument.nodeName"
endpoint = "http://127.0.0.1:4566"
access_key_id = "AKID"
secret_access_key = "${HYDRANT_TT_SECRET}"
session_token = "TOKEN"

[[trigger]]
name = "loop"
database = "monitors"

[trigger.destination]
type = "http"
url = "https://example.com/firehose"
access_key = "k"
source_arn = "arn:aws:firehose:us-east-1:1:deliverystream/x"
content_encoding = "gzip"
buffer_size = "2MiB"
buffer_interval = "60s"
retry_duration = "10m"
common_attributes = { env = "prod", team = "data" }
)";
  const LoadResult r = load_string(toml);
  ASSERT_TRUE(r.config.has_value()) << dump_errors(r);
  const auto& c = *r.config;
  EXPECT_EQ(c.endpoints(), 0u);
  EXPECT_EQ(c.triggers.state_database, "hydrant_state");
  EXPECT_EQ(c.triggers.lease_ms, 30000);
  ASSERT_EQ(c.trigger.size(), 2u);
  const Trigger& k = c.trigger[0];
  EXPECT_EQ(k.name, "readings-out");
  EXPECT_EQ(k.uri, "mongodb://other:27017");
  EXPECT_EQ(k.database, "monitors");
  EXPECT_EQ(k.collection, "reports");
  EXPECT_EQ(k.operation_types, (std::vector<std::string>{"insert", "update", "replace"}));
  EXPECT_EQ(k.match, R"({"fullDocument.nodeName": {"$regex": "^raspberrypi-"}})");
  EXPECT_EQ(k.project, R"({"fullDocument.secret": 0})");
  EXPECT_EQ(k.full_document, "whenAvailable");
  EXPECT_EQ(k.format, Trigger::Format::event_canonical);
  EXPECT_FALSE(k.ordered);
  EXPECT_EQ(k.max_latency_ms, 1000);
  EXPECT_EQ(k.max_in_flight, 16u);
  EXPECT_EQ(k.on_history_lost, Trigger::OnHistoryLost::restart_now);
  const TriggerDestination& kd = k.destination;
  EXPECT_EQ(kd.type, TriggerDestination::Type::kinesis);
  EXPECT_EQ(kd.stream, "readings");
  EXPECT_EQ(kd.region, "eu-west-1");
  EXPECT_EQ(kd.partition_key, "fullDocument.nodeName");
  EXPECT_TRUE(kd.partition_key_value.empty());
  EXPECT_EQ(kd.endpoint, "http://127.0.0.1:4566");
  EXPECT_EQ(kd.access_key_id, "AKID");
  EXPECT_EQ(kd.secret_access_key, "from-env");
  EXPECT_EQ(kd.session_token, "TOKEN");

  const Trigger& h = c.trigger[1];
  EXPECT_EQ(h.name, "loop");
  const TriggerDestination& hd = h.destination;
  EXPECT_EQ(hd.type, TriggerDestination::Type::http);
  EXPECT_EQ(hd.url, "https://example.com/firehose");
  EXPECT_EQ(hd.access_key, "k");
  EXPECT_EQ(hd.source_arn, "arn:aws:firehose:us-east-1:1:deliverystream/x");
  EXPECT_TRUE(hd.gzip);
  EXPECT_EQ(hd.buffer_size, 2ull << 20);
  EXPECT_EQ(hd.buffer_interval_ms, 60000);
  EXPECT_EQ(hd.retry_duration_s, 600);
  EXPECT_EQ(hd.common_attributes,
            (std::vector<std::pair<std::string, std::string>>{{"env", "prod"}, {"team", "data"}}));
}

TEST(TriggerConfig, Defaults) {
  NoAwsEnv clean;
  const std::string toml = kinesis() + http();
  const LoadResult r = load_string(toml);
  ASSERT_TRUE(r.config.has_value()) << dump_errors(r);
  const auto& c = *r.config;
  EXPECT_EQ(c.triggers.state_database, "hydrant");
  EXPECT_EQ(c.triggers.lease_ms, 10000);
  ASSERT_EQ(c.trigger.size(), 2u);
  for (const Trigger& t : c.trigger) {
    EXPECT_TRUE(t.uri.empty());
    EXPECT_TRUE(t.collection.empty());
    EXPECT_EQ(t.operation_types, (std::vector<std::string>{"insert", "update", "replace", "delete"}));
    EXPECT_TRUE(t.match.empty());
    EXPECT_TRUE(t.project.empty());
    EXPECT_EQ(t.full_document, "updateLookup");
    EXPECT_EQ(t.format, Trigger::Format::document);
    EXPECT_TRUE(t.ordered);
    EXPECT_EQ(t.max_latency_ms, 200);
    EXPECT_EQ(t.max_in_flight, 4u);
    EXPECT_EQ(t.on_history_lost, Trigger::OnHistoryLost::fail);
  }
  const TriggerDestination& kd = c.trigger[0].destination;
  EXPECT_EQ(kd.partition_key, "documentKey._id");
  EXPECT_TRUE(kd.partition_key_value.empty());
  EXPECT_EQ(kd.endpoint, "https://kinesis.us-east-1.amazonaws.com");
  EXPECT_TRUE(kd.session_token.empty());
  const TriggerDestination& hd = c.trigger[1].destination;
  EXPECT_TRUE(hd.access_key.empty());
  EXPECT_EQ(hd.source_arn, "arn:aws:firehose:hydrant:000000000000:deliverystream/h");
  EXPECT_FALSE(hd.gzip);
  EXPECT_EQ(hd.buffer_size, 5ull << 20);
  EXPECT_EQ(hd.buffer_interval_ms, -1);
  EXPECT_EQ(hd.retry_duration_s, 300);
  EXPECT_TRUE(hd.common_attributes.empty());
}

TEST(TriggerConfig, PartitionKeyValueConstant) {
  const LoadResult r = load_string(kinesis("", "partition_key_value = \"all\"\n"));
  const Trigger& t = only_trigger(r);
  EXPECT_TRUE(t.destination.partition_key.empty());
  EXPECT_EQ(t.destination.partition_key_value, "all");
}

TEST(TriggerConfig, UnknownKeyInTrigger) {
  expect_error(kinesis("bogus = 1\n"), "trigger[0].bogus", "bogus =", "unknown key");
}

TEST(TriggerConfig, UnknownKeyInDestination) {
  expect_error(kinesis("", "colour = \"red\"\n"), "trigger[0].destination.colour", "colour =", "unknown key");
  expect_error(http("", "colour = \"red\"\n"), "trigger[0].destination.colour", "colour =", "unknown key");
}

TEST(TriggerConfig, KeyOfTheOtherDestinationType) {
  expect_error(http("", "stream = \"s\"\n"), "trigger[0].destination.stream", "stream =", "is only for type = \"kinesis\"");
  expect_error(kinesis("", "url = \"http://x/\"\n"), "trigger[0].destination.url", "url =", "is only for type = \"http\"");
}

TEST(TriggerConfig, DestinationTypeAndTable) {
  expect_error("[[trigger]]\nname = \"t\"\ndatabase = \"db\"\n[trigger.destination]\ntype = \"sqs\"\n",
               "trigger[0].destination.type", "type =", "kinesis");
  const std::string missing = "[[trigger]]\nname = \"t\"\ndatabase = \"db\"\n";
  expect_error(missing, "trigger[0].destination", "[[trigger]]", "is required");
}

TEST(TriggerConfig, MatchAndProjectMustBeExtendedJson) {
  expect_error(kinesis("match = '{\"a\": '\n"), "trigger[0].match", "match =", "Extended JSON");
  expect_error(kinesis("match = 'not json'\n"), "trigger[0].match", "match =", "Extended JSON");
  expect_error(kinesis("match = '{\"x\": {\"$oid\": \"zz\"}}'\n"), "trigger[0].match", "match =", "Extended JSON");
  expect_error(kinesis("project = '{\"a\": 1'\n"), "trigger[0].project", "project =", "Extended JSON");
}

TEST(TriggerConfig, PartitionKeyPathsThatCannotExist) {
  for (const char* path : {"foo.bar", "", "fullDocument.", ".fullDocument", "fullDocument..a", "full"}) {
    SCOPED_TRACE(path);
    expect_error(kinesis("", std::string("partition_key = \"") + path + "\"\n"), "trigger[0].destination.partition_key",
                 "partition_key =", "cannot exist");
  }
}

TEST(TriggerConfig, PartitionKeyPathsThatExist) {
  for (const char* path : {"documentKey._id", "fullDocument.a.b", "ns.coll", "operationType", "_id"}) {
    SCOPED_TRACE(path);
    const LoadResult r = load_string(kinesis("", std::string("partition_key = \"") + path + "\"\n"));
    EXPECT_EQ(only_trigger(r).destination.partition_key, path);
  }
}

TEST(TriggerConfig, PartitionKeyMissingFromSomeEvents) {
  expect_error(kinesis("operation_types = [\"delete\"]\n", "partition_key = \"fullDocument.a\"\n"),
               "trigger[0].destination.partition_key", "partition_key =", "delete events");
  expect_error(kinesis("full_document = \"default\"\nformat = \"event\"\n", "partition_key = \"fullDocument.a\"\n"),
               "trigger[0].destination.partition_key", "partition_key =", "full_document = \"default\"");
}

TEST(TriggerConfig, PartitionKeyRemovedByProject) {
  expect_error(kinesis("project = '{\"fullDocument\": 0}'\n", "partition_key = \"fullDocument.a\"\n"),
               "trigger[0].destination.partition_key", "partition_key =", "removed by project");
  // An inclusion projection that keeps other fields only.
  expect_error(kinesis("project = '{\"operationType\": 1, \"fullDocument.b\": 1}'\n"),
               "trigger[0].destination.partition_key", "[trigger.destination]", "removed by project");
  // Kept: the path itself, a parent, or an exclusion of something else.
  for (const char* project : {"{\"documentKey\": 1}", "{\"documentKey._id\": 1}", "{\"fullDocument\": 0}",
                              "{\"documentKey\": true, \"ns\": 1}"}) {
    SCOPED_TRACE(project);
    const LoadResult r = load_string(kinesis(std::string("project = '") + project + "'\n"));
    EXPECT_TRUE(r.config.has_value()) << dump_errors(r);
  }
}

TEST(TriggerConfig, PartitionKeyAndValueTogether) {
  expect_error(kinesis("", "partition_key = \"documentKey._id\"\npartition_key_value = \"k\"\n"),
               "trigger[0].destination.partition_key_value", "partition_key_value =", "not both");
  expect_error(kinesis("", "partition_key_value = \"\"\n"), "trigger[0].destination.partition_key_value",
               "partition_key_value =", "must not be empty");
}

TEST(TriggerConfig, MissingCredentials) {
  NoAwsEnv clean;
  const std::string toml = kinesis("", "", "region = \"us-east-1\"\n");
  expect_error(toml, "trigger[0].destination.access_key_id", "[trigger.destination]", "missing credentials");
  // Half of a pair is not enough, and the error points at the key that is there.
  const std::string half = kinesis("", "", "region = \"us-east-1\"\naccess_key_id = \"AK\"\n");
  expect_error(half, "trigger[0].destination.access_key_id", "access_key_id =", "missing credentials");
  ScopedEnv id("AWS_ACCESS_KEY_ID", "ENVKEY");
  expect_error(toml, "trigger[0].destination.access_key_id", "[trigger.destination]", "missing credentials");
}

TEST(TriggerConfig, CredentialsFromTheEnvironment) {
  NoAwsEnv clean;
  ScopedEnv id("AWS_ACCESS_KEY_ID", "ENVKEY");
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "ENVSECRET");
  ScopedEnv token("AWS_SESSION_TOKEN", "ENVTOKEN");
  ScopedEnv region("AWS_REGION", "ap-south-1");
  const LoadResult r = load_string(kinesis("", "", ""));
  const TriggerDestination& d = only_trigger(r).destination;
  EXPECT_EQ(d.access_key_id, "ENVKEY");
  EXPECT_EQ(d.secret_access_key, "ENVSECRET");
  EXPECT_EQ(d.session_token, "ENVTOKEN");
  EXPECT_EQ(d.region, "ap-south-1");
  EXPECT_EQ(d.endpoint, "https://kinesis.ap-south-1.amazonaws.com");
  // Keys in the file win over the environment, and the environment's token is not mixed in.
  const LoadResult own = load_string(kinesis());
  const TriggerDestination& o = only_trigger(own).destination;
  EXPECT_EQ(o.access_key_id, "AK");
  EXPECT_EQ(o.secret_access_key, "SK");
  EXPECT_TRUE(o.session_token.empty());
  EXPECT_EQ(o.region, "us-east-1");
}

TEST(TriggerConfig, RegionFromAwsDefaultRegionAndMissing) {
  NoAwsEnv clean;
  const std::string creds = "access_key_id = \"AK\"\nsecret_access_key = \"SK\"\n";
  expect_error(kinesis("", "", creds), "trigger[0].destination.region", "[trigger.destination]", "is required");
  ScopedEnv region("AWS_DEFAULT_REGION", "ca-central-1");
  EXPECT_EQ(only_trigger(load_string(kinesis("", "", creds))).destination.region, "ca-central-1");
}

TEST(TriggerConfig, RegionFromStreamArn) {
  NoAwsEnv clean;
  ScopedEnv region("AWS_REGION", "us-west-2");  // the ARN's region comes first
  const std::string toml =
      "[[trigger]]\nname = \"t\"\ndatabase = \"db\"\n[trigger.destination]\ntype = \"kinesis\"\n"
      "stream = \"arn:aws:kinesis:eu-central-1:123456789012:stream/readings\"\n"
      "access_key_id = \"AK\"\nsecret_access_key = \"SK\"\n";
  const LoadResult r = load_string(toml);
  const TriggerDestination& d = only_trigger(r).destination;
  EXPECT_EQ(d.stream, "arn:aws:kinesis:eu-central-1:123456789012:stream/readings");
  EXPECT_EQ(d.region, "eu-central-1");
  EXPECT_EQ(d.endpoint, "https://kinesis.eu-central-1.amazonaws.com");
}

TEST(TriggerConfig, BadStreamArn) {
  for (const char* arn : {"arn:aws:firehose:us-east-1:123456789012:deliverystream/x",
                          "arn:aws:kinesis:us-east-1:123456789012:table/x", "arn:aws:kinesis:us-east-1"}) {
    SCOPED_TRACE(arn);
    const std::string toml = "[[trigger]]\nname = \"t\"\ndatabase = \"db\"\n[trigger.destination]\ntype = \"kinesis\"\n"
                             "region = \"us-east-1\"\naccess_key_id = \"AK\"\nsecret_access_key = \"SK\"\n"
                             "stream = \"" + std::string(arn) + "\"\n";
    expect_error(toml, "trigger[0].destination.stream", "stream =", "not a Kinesis stream ARN");
  }
}

TEST(TriggerConfig, ParseDurations) {
  EXPECT_EQ(parse_duration_ms("200ms"), 200);
  EXPECT_EQ(parse_duration_ms("10s"), 10000);
  EXPECT_EQ(parse_duration_ms("5m"), 300000);
  EXPECT_EQ(parse_duration_ms("2h"), 7200000);
  EXPECT_EQ(parse_duration_ms(" 0s "), 0);
  for (const char* bad : {"10", "", "s", "-5s", "1.5s", "10 s", "10S", "5d", "9223372036854775807h"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_duration_ms(bad).has_value());
  }
}

TEST(TriggerConfig, DurationsInTheConfig) {
  EXPECT_EQ(only_trigger(load_string(kinesis("max_latency = \"0ms\"\n"))).max_latency_ms, 0);
  EXPECT_EQ(only_trigger(load_string(kinesis("max_latency = \"1m\"\n"))).max_latency_ms, 60000);
  expect_error(kinesis("max_latency = 200\n"), "trigger[0].max_latency", "max_latency =", "with its unit");
  expect_error(kinesis("max_latency = \"200\"\n"), "trigger[0].max_latency", "max_latency =", "with its unit");
  expect_error(kinesis("max_latency = \"61s\"\n"), "trigger[0].max_latency", "max_latency =", "must be between");
  expect_error(http("", "buffer_interval = \"16m\"\n"), "trigger[0].destination.buffer_interval", "buffer_interval =",
               "must be between");
  expect_error(http("", "buffer_interval = 60\n"), "trigger[0].destination.buffer_interval", "buffer_interval =",
               "with its unit");
}

TEST(TriggerConfig, BufferSizeRange) {
  EXPECT_EQ(only_trigger(load_string(http("", "buffer_size = \"1MiB\"\n"))).destination.buffer_size, 1ull << 20);
  EXPECT_EQ(only_trigger(load_string(http("", "buffer_size = \"64MiB\"\n"))).destination.buffer_size, 64ull << 20);
  EXPECT_EQ(only_trigger(load_string(http("", "buffer_size = 1048576\n"))).destination.buffer_size, 1ull << 20);
  for (const char* bad : {"\"1023KiB\"", "\"65MiB\"", "\"1MB\"", "0"}) {
    SCOPED_TRACE(bad);
    expect_error(http("", std::string("buffer_size = ") + bad + "\n"), "trigger[0].destination.buffer_size",
                 "buffer_size =");
  }
}

TEST(TriggerConfig, RetryDurationRange) {
  EXPECT_EQ(only_trigger(load_string(http("", "retry_duration = \"0s\"\n"))).destination.retry_duration_s, 0);
  EXPECT_EQ(only_trigger(load_string(http("", "retry_duration = \"7200s\"\n"))).destination.retry_duration_s, 7200);
  EXPECT_EQ(only_trigger(load_string(http("", "retry_duration = \"2h\"\n"))).destination.retry_duration_s, 7200);
  expect_error(http("", "retry_duration = \"7201s\"\n"), "trigger[0].destination.retry_duration", "retry_duration =",
               "must be between");
  expect_error(http("", "retry_duration = 300\n"), "trigger[0].destination.retry_duration", "retry_duration =",
               "with its unit");
}

TEST(TriggerConfig, CommonAttributes) {
  std::string fifty = "common_attributes = { ";
  for (int i = 0; i < 50; ++i) fifty += (i ? ", a" : "a") + std::to_string(i) + " = \"v\"";
  EXPECT_EQ(only_trigger(load_string(http("", fifty + " }\n"))).destination.common_attributes.size(), 50u);
  expect_error(http("", fifty + ", a50 = \"v\" }\n"), "trigger[0].destination.common_attributes", "common_attributes =",
               "at most 50");
  expect_error(http("", "common_attributes = { n = 1 }\n"), "trigger[0].destination.common_attributes.n",
               "common_attributes =", "must be a string");
  expect_error(http("", "common_attributes = \"x\"\n"), "trigger[0].destination.common_attributes",
               "common_attributes =", "table of strings");
}

TEST(TriggerConfig, HttpUrlAndEncoding) {
  expect_error(http("", "content_encoding = \"br\"\n"), "trigger[0].destination.content_encoding", "content_encoding =");
  EXPECT_FALSE(only_trigger(load_string(http("", "content_encoding = \"none\"\n"))).destination.gzip);
  const std::string ftp = "[[trigger]]\nname = \"h\"\ndatabase = \"db\"\n[trigger.destination]\ntype = \"http\"\n"
                          "url = \"ftp://x/\"\n";
  expect_error(ftp, "trigger[0].destination.url", "url =", "http://");
}

TEST(TriggerConfig, DuplicateNames) {
  const std::string toml = kinesis() + kinesis();  // 9 lines each: the second name is on line 11
  const LoadResult r = load_string(toml);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, {"trigger[1].name", "line 11", "already used"})) << dump_errors(r);
  EXPECT_FALSE(has_error(r, {"trigger[0].name"})) << dump_errors(r);
}

TEST(TriggerConfig, DocumentFormatNeedsFullDocumentForUpdates) {
  expect_error(kinesis("full_document = \"default\"\n"), "trigger[0].full_document", "full_document =",
               "format = \"document\"");
  // Without updates, or with the whole event, "default" is fine.
  EXPECT_EQ(only_trigger(load_string(kinesis("full_document = \"default\"\noperation_types = [\"insert\", \"delete\"]\n")))
                .full_document,
            "default");
  EXPECT_EQ(only_trigger(load_string(kinesis("full_document = \"default\"\nformat = \"event\"\n"))).format,
            Trigger::Format::event);
  expect_error(kinesis("full_document = \"always\"\n"), "trigger[0].full_document", "full_document =", "must be one of");
  expect_error(kinesis("format = \"bson\"\n"), "trigger[0].format", "format =", "must be one of");
}

TEST(TriggerConfig, OperationTypes) {
  expect_error(kinesis("operation_types = [\"insert\", \"drop\"]\n"), "trigger[0].operation_types", "operation_types =",
               "\"drop\" is not one of");
  expect_error(kinesis("operation_types = []\n"), "trigger[0].operation_types", "operation_types =", "at least one");
}

TEST(TriggerConfig, OtherTriggerKeys) {
  expect_error(kinesis("max_in_flight = 65\n"), "trigger[0].max_in_flight", "max_in_flight =");
  expect_error(kinesis("on_history_lost = \"skip\"\n"), "trigger[0].on_history_lost", "on_history_lost =");
  expect_error(kinesis("uri = \"postgres://x\"\n"), "trigger[0].uri", "uri =");
  expect_error(kinesis("collection = \"a$b\"\n"), "trigger[0].collection", "collection =");
  expect_error("[[trigger]]\nname = \"\"\ndatabase = \"db\"\n[trigger.destination]\ntype = \"http\"\nurl = \"http://x/\"\n",
               "trigger[0].name", "name =", "must not be empty");
}

TEST(TriggerConfig, OnlyTriggersIsAValidConfig) {
  const LoadResult r = load_string(http());
  ASSERT_TRUE(r.config.has_value()) << dump_errors(r);
  EXPECT_EQ(r.config->endpoints(), 0u);
  EXPECT_EQ(r.config->trigger.size(), 1u);
  const LoadResult nothing = load_string("[triggers]\nlease = \"5s\"\n");
  EXPECT_FALSE(nothing.config.has_value());
  EXPECT_TRUE(has_error(nothing, {"nothing configured", "[[trigger]]"})) << dump_errors(nothing);
}

TEST(TriggerConfig, TriggersTable) {
  expect_error("[triggers]\nlease = \"500ms\"\n" + http(), "triggers.lease", "lease =", "must be between");
  expect_error("[triggers]\nlease = \"11m\"\n" + http(), "triggers.lease", "lease =", "must be between");
  expect_error("[triggers]\nlease = 10\n" + http(), "triggers.lease", "lease =", "with its unit");
  expect_error("[triggers]\nstate_database = \"a.b\"\n" + http(), "triggers.state_database", "state_database =",
               "database name");
  expect_error("[triggers]\nstate_database = \"\"\n" + http(), "triggers.state_database", "state_database =");
  expect_error("[triggers]\nbogus = 1\n" + http(), "triggers.bogus", "bogus =", "unknown key");
  expect_error("triggers = 1\n" + http(), "triggers", "triggers =", "must be a table");
  const LoadResult r = load_string("[triggers]\nstate_database = \"st\"\nlease = \"1m\"\n" + http());
  ASSERT_TRUE(r.config.has_value()) << dump_errors(r);
  EXPECT_EQ(r.config->triggers.state_database, "st");
  EXPECT_EQ(r.config->triggers.lease_ms, 60000);
}
