#include "config/config.hpp"

#include <cstdlib>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <bson/bson.h>
#include <toml++/toml.h>

#include "config/size.hpp"

namespace hydrant::config {

const std::map<std::string, std::set<std::string>>& known_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"", {"server", "mongodb", "firehose", "segment", "webhook", "triggers", "trigger"}},
      {"server", {"listen", "tls_cert", "tls_key", "max_body", "max_inflight"}},
      {"mongodb", {"uri", "write_concern"}},
      {"firehose",
       {"path", "access_keys", "database", "collection", "id", "object_ids", "dates", "records", "rejects", "metadata"}},
      {"segment.webhook",
       {"kind", "path", "database", "collection", "rejects", "query_secret", "shared_secret", "respond_with_result"}},
      {"segment.tracking-api",
       {"kind", "path", "database", "collection", "rejects", "write_keys", "cors_origins", "max_event", "max_batch",
        "max_batch_events"}},
      {"webhook",
       {"path", "methods", "verify", "secret", "id", "headers", "database", "collection", "rejects",
        "respond_with_result", "signature_header", "algorithm", "encoding", "prefix", "tolerance"}},
      {"triggers", {"state_database", "lease"}},
      {"trigger",
       {"name", "uri", "database", "collection", "operation_types", "match", "project", "full_document", "format",
        "ordered", "max_latency", "max_in_flight", "on_history_lost", "destination"}},
      {"trigger.destination.kinesis",
       {"type", "stream", "region", "partition_key", "partition_key_value", "endpoint", "access_key_id",
        "secret_access_key", "session_token"}},
      {"trigger.destination.http",
       {"type", "url", "access_key", "source_arn", "content_encoding", "buffer_size", "buffer_interval",
        "retry_duration", "common_attributes"}},
  };
  return keys;
}

namespace {

class Loader {
 public:
  explicit Loader(std::string source) : source_(std::move(source)) {}

  std::vector<std::string> errors;

  void error(const toml::node* node, const std::string& key, const std::string& msg) {
    std::ostringstream os;
    os << source_;
    if (node && node->source().begin.line) os << ": line " << node->source().begin.line;
    os << ": " << key << ": " << msg;
    errors.push_back(os.str());
  }

  // Replaces ${NAME} from the environment; an unset variable is an error.
  std::optional<std::string> interpolate(const toml::node& node, const std::string& key, std::string s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      const size_t start = s.find("${", i);
      if (start == std::string::npos) {
        out.append(s, i);
        break;
      }
      const size_t end = s.find('}', start + 2);
      if (end == std::string::npos) {
        error(&node, key, "unterminated ${ in value");
        return std::nullopt;
      }
      out.append(s, i, start - i);
      const std::string name = s.substr(start + 2, end - start - 2);
      const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
      if (!v) {
        error(&node, key, "environment variable " + (name.empty() ? std::string("(empty name)") : name) + " is not set");
        return std::nullopt;
      }
      out += v;
      i = end + 1;
    }
    return out;
  }

  void check_keys(const toml::table& t, const std::string& where, const std::set<std::string>& known) {
    for (const auto& [k, v] : t) {
      if (!known.count(std::string(k.str())))
        error(&v, where.empty() ? std::string(k.str()) : where + "." + std::string(k.str()), "unknown key");
    }
  }

  bool get_string(const toml::table& t, const std::string& where, const char* key, std::string& out,
                  bool required = false) {
    const toml::node* n = t.get(key);
    const std::string full = where + "." + key;
    if (!n) {
      if (required) error(&t, full, "is required");
      return false;
    }
    const auto* s = n->as_string();
    if (!s) {
      error(n, full, "must be a string");
      return false;
    }
    auto v = interpolate(*n, full, s->get());
    if (!v) return false;
    out = *v;
    return true;
  }

  void get_bool(const toml::table& t, const std::string& where, const char* key, bool& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (const auto* b = n->as_boolean()) out = b->get();
    else error(n, where + "." + key, "must be true or false");
  }

  // One of a fixed set of strings, each naming a value; false when absent or not one of them.
  template <class E>
  bool get_choice(const toml::table& t, const std::string& where, const char* key,
                  std::initializer_list<std::pair<const char*, E>> choices, E& out) {
    std::string v;
    if (!get_string(t, where, key, v)) return false;
    std::string names;
    for (const auto& [name, value] : choices) {
      if (v == name) {
        out = value;
        return true;
      }
      names += (names.empty() ? "" : " | ") + std::string(name);
    }
    error(t.get(key), where + "." + key, "must be one of " + names);
    return false;
  }

  void get_string_list(const toml::table& t, const std::string& where, const char* key, std::vector<std::string>& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const std::string full = where + "." + key;
    const auto* arr = n->as_array();
    if (!arr) {
      error(n, full, "must be an array of strings");
      return;
    }
    out.clear();
    for (const auto& item : *arr) {
      const auto* s = item.as_string();
      if (!s) {
        error(&item, full, "must be an array of strings");
        continue;
      }
      if (auto v = interpolate(item, full, s->get())) out.push_back(*v);
    }
  }

  void get_size(const toml::table& t, const std::string& where, const char* key, uint64_t& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const std::string full = where + "." + key;
    if (const auto* i = n->as_integer()) {
      if (i->get() <= 0) error(n, full, "must be a positive size");
      else out = static_cast<uint64_t>(i->get());
      return;
    }
    std::string s;
    if (!get_string(t, where, key, s)) return;
    auto v = parse_size(s);
    if (!v || *v == 0) error(n, full, "must be a size such as \"64MiB\" (units B, KB, MB, GB, KiB, MiB, GiB)");
    else out = *v;
  }

  void server(const toml::table& t, Server& s) {
    check_keys(t, "server", known_keys().at("server"));
    std::string listen;
    if (get_string(t, "server", "listen", listen)) {
      const size_t colon = listen.rfind(':');
      std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
      const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      char* end = nullptr;
      const long p = port.empty() ? -1 : std::strtol(port.c_str(), &end, 10);
      if (host.empty() || p < 0 || p > 65535 || *end != '\0')
        error(t.get("listen"), "server.listen", "must be host:port, e.g. \"0.0.0.0:8080\"");
      else {
        s.host = host;
        s.port = static_cast<uint16_t>(p);
      }
    }
    get_string(t, "server", "tls_cert", s.tls_cert);
    get_string(t, "server", "tls_key", s.tls_key);
    if (s.tls_cert.empty() != s.tls_key.empty())
      error(t.get(s.tls_cert.empty() ? "tls_key" : "tls_cert"), "server.tls_cert",
            "tls_cert and tls_key must be set together");
    for (const auto* key : {"tls_cert", "tls_key"}) {
      const std::string& f = std::string(key) == "tls_cert" ? s.tls_cert : s.tls_key;
      if (!f.empty() && !std::ifstream(f).good()) error(t.get(key), std::string("server.") + key, "cannot read file " + f);
    }
    get_size(t, "server", "max_body", s.max_body);
    get_size(t, "server", "max_inflight", s.max_inflight);
  }

  void mongodb(const toml::table& t, MongoDB& m) {
    check_keys(t, "mongodb", known_keys().at("mongodb"));
    if (get_string(t, "mongodb", "uri", m.uri) && m.uri.rfind("mongodb", 0) != 0)
      error(t.get("uri"), "mongodb.uri", "must start with mongodb:// or mongodb+srv://");
    if (const toml::node* wc = t.get("write_concern")) {
      if (const auto* i = wc->as_integer()) {
        if (i->get() < 1 || i->get() > 1000) error(wc, "mongodb.write_concern", "must be \"majority\" or a number >= 1");
        else m.write_concern = {false, static_cast<int32_t>(i->get())};
      } else if (const auto* s = wc->as_string()) {
        auto v = interpolate(*wc, "mongodb.write_concern", s->get());
        if (!v) return;
        char* end = nullptr;
        const long n = std::strtol(v->c_str(), &end, 10);
        if (*v == "majority") m.write_concern = {true, 1};
        else if (!v->empty() && *end == '\0' && n >= 1 && n <= 1000) m.write_concern = {false, static_cast<int32_t>(n)};
        else error(wc, "mongodb.write_concern", "must be \"majority\" or a number >= 1");
      } else {
        error(wc, "mongodb.write_concern", "must be \"majority\" or a number >= 1");
      }
    }
  }

  // database, collection and rejects (as given, after ${} interpolation) must be usable MongoDB names.
  void check_names(const toml::table& t, const std::string& where, const std::string& database,
                   const std::string& collection, const std::string& rejects) {
    const std::pair<const char*, const std::string*> names[] = {
        {"database", &database}, {"collection", &collection}, {"rejects", &rejects}};
    for (const auto& [key, v] : names) {
      const toml::node* n = t.get(key);
      if (!n || !n->is_string()) continue;
      if (v->empty() || v->find('\0') != std::string::npos || v->find('$') != std::string::npos)
        error(n, where + "." + key, "must be a non-empty name without $");
    }
  }

  void path(const toml::table& t, const std::string& where, std::string& out) {
    if (get_string(t, where, "path", out, true) && (out.empty() || out[0] != '/'))
      error(t.get("path"), where + ".path", "must start with /");
  }

  // What every endpoint has: path, database, collection, rejects (default <collection>_rejects).
  template <class Endpoint>
  void destination(const toml::table& t, const std::string& where, Endpoint& e) {
    path(t, where, e.path);
    get_string(t, where, "database", e.database, true);
    get_string(t, where, "collection", e.collection, true);
    get_string(t, where, "rejects", e.rejects);
    if (e.rejects.empty()) e.rejects = e.collection + "_rejects";
    check_names(t, where, e.database, e.collection, e.rejects);
  }

  void segment(const toml::table& t, const std::string& where, Segment& s) {
    std::string kind;
    if (!get_string(t, where, "kind", kind, true)) return;
    const std::set<std::string>& webhook_keys = known_keys().at("segment.webhook");
    const std::set<std::string>& tracking_keys = known_keys().at("segment.tracking-api");
    const std::set<std::string>* own;
    const std::set<std::string>* other;
    if (kind == "webhook") {
      s.kind = Segment::Kind::webhook;
      own = &webhook_keys;
      other = &tracking_keys;
    } else if (kind == "tracking-api") {
      s.kind = Segment::Kind::tracking_api;
      own = &tracking_keys;
      other = &webhook_keys;
    } else {
      error(t.get("kind"), where + ".kind", "must be \"webhook\" or \"tracking-api\"");
      return;
    }
    for (const auto& [k, v] : t) {
      const std::string key(k.str());
      if (own->count(key)) continue;
      if (other->count(key))
        error(&v, where + "." + key, "is only for kind = \"" +
                                         std::string(kind == "webhook" ? "tracking-api" : "webhook") + "\"");
      else
        error(&v, where + "." + key, "unknown key");
    }
    destination(t, where, s);
    if (s.kind == Segment::Kind::webhook) {
      get_string(t, where, "query_secret", s.query_secret);
      get_string(t, where, "shared_secret", s.shared_secret);
      get_bool(t, where, "respond_with_result", s.respond_with_result);
      if (s.query_secret.empty() && s.shared_secret.empty())
        error(&t, where, "set shared_secret (X-Signature) or query_secret (?secret=): "
                         "an endpoint without either would store anything anyone sends");
      return;
    }
    get_string_list(t, where, "write_keys", s.write_keys);
    for (const auto& k : s.write_keys)
      if (k.empty()) error(t.get("write_keys"), where + ".write_keys", "keys must not be empty");
    get_string_list(t, where, "cors_origins", s.cors_origins);
    get_size(t, where, "max_event", s.max_event);
    get_size(t, where, "max_batch", s.max_batch);
    if (const toml::node* n = t.get("max_batch_events")) {
      const auto* i = n->as_integer();
      if (!i || i->get() < 1) error(n, where + ".max_batch_events", "must be a number >= 1");
      else s.max_batch_events = static_cast<uint64_t>(i->get());
    }
  }

  void webhook(const toml::table& t, const std::string& where, Webhook& w) {
    using V = Webhook::Verify;
    check_keys(t, where, known_keys().at("webhook"));
    destination(t, where, w);
    get_string_list(t, where, "methods", w.methods);
    static const std::set<std::string> kMethods = {"POST", "PUT", "PATCH", "GET", "DELETE"};
    for (auto& m : w.methods) {
      for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!kMethods.count(m)) error(t.get("methods"), where + ".methods", "must be among POST, PUT, PATCH, GET, DELETE");
    }
    if (w.methods.empty()) error(t.get("methods"), where + ".methods", "must name at least one method");
    get_string(t, where, "secret", w.secret);
    get_string(t, where, "id", w.id);
    if (w.id == "header:" || (!w.id.empty() && w.id.rfind("header:", 0) != 0 && w.id.back() == '.'))
      error(t.get("id"), where + ".id", "must be a body field path or header:NAME");
    get_string_list(t, where, "headers", w.headers);
    get_bool(t, where, "respond_with_result", w.respond_with_result);
    if (const toml::node* n = t.get("tolerance")) {
      const auto* i = n->as_integer();
      if (!i || i->get() < 1) error(n, where + ".tolerance", "must be a number of seconds >= 1");
      else w.tolerance_s = i->get();
    }

    std::string verify = "none";
    get_string(t, where, "verify", verify);
    static const std::map<std::string, V> kVerify = {
        {"none", V::none},       {"query-secret", V::query_secret}, {"hmac", V::hmac},
        {"github", V::github},   {"stripe", V::stripe},             {"slack", V::slack},
        {"shopify", V::shopify}, {"app-services", V::app_services}};
    const auto it = kVerify.find(verify);
    if (it == kVerify.end()) {
      error(t.get("verify"), where + ".verify",
            "must be one of none | query-secret | hmac | github | stripe | slack | shopify | app-services");
      return;
    }
    w.verify = it->second;
    if (w.verify != V::none && w.secret.empty())
      error(t.get("secret") ? t.get("secret") : &t, where + ".secret", "is required with verify = \"" + verify + "\"");

    // The general HMAC settings: only for verify = "hmac"; the presets set their own.
    const bool general = w.verify == V::hmac;
    for (const char* key : {"signature_header", "algorithm", "encoding", "prefix"})
      if (!general && t.get(key)) error(t.get(key), where + "." + key, "is only for verify = \"hmac\"");
    if (t.get("tolerance") && w.verify != V::stripe && w.verify != V::slack)
      error(t.get("tolerance"), where + ".tolerance", "is only for verify = \"stripe\" or \"slack\"");
    switch (w.verify) {
      case V::hmac: {
        get_string(t, where, "signature_header", w.signature_header, true);
        std::string algorithm = "sha256", encoding = "hex";
        get_string(t, where, "algorithm", algorithm);
        get_string(t, where, "encoding", encoding);
        get_string(t, where, "prefix", w.prefix);
        if (algorithm == "sha1") w.algorithm = Webhook::Algorithm::sha1;
        else if (algorithm == "sha256") w.algorithm = Webhook::Algorithm::sha256;
        else if (algorithm == "sha512") w.algorithm = Webhook::Algorithm::sha512;
        else error(t.get("algorithm"), where + ".algorithm", "must be one of sha1 | sha256 | sha512");
        if (encoding == "hex") w.encoding = Webhook::Encoding::hex;
        else if (encoding == "base64") w.encoding = Webhook::Encoding::base64;
        else error(t.get("encoding"), where + ".encoding", "must be hex or base64");
        break;
      }
      case V::github: w.signature_header = "X-Hub-Signature-256"; w.prefix = "sha256="; break;
      case V::app_services: w.signature_header = "Endpoint-Signature"; w.prefix = "sha256="; break;
      case V::shopify:
        w.signature_header = "X-Shopify-Hmac-Sha256";
        w.encoding = Webhook::Encoding::base64;
        break;
      case V::stripe: w.signature_header = "Stripe-Signature"; break;
      case V::slack: w.signature_header = "X-Slack-Signature"; w.prefix = "v0="; break;
      case V::none:
      case V::query_secret: break;
    }
  }

  void firehose(const toml::table& t, const std::string& where, Firehose& f) {
    check_keys(t, where, known_keys().at("firehose"));
    destination(t, where, f);
    get_string_list(t, where, "access_keys", f.access_keys);
    for (const auto& k : f.access_keys)
      if (k.empty() || k.size() > 4096) error(t.get("access_keys"), where + ".access_keys", "keys must be 1 to 4096 bytes");
    get_string(t, where, "id", f.id);
    get_string_list(t, where, "object_ids", f.object_ids);
    get_string_list(t, where, "dates", f.dates);
    get_choice(t, where, "records",
               {{"json", RecordFormat::json}, {"text", RecordFormat::text},
                {"cloudwatch-logs", RecordFormat::cloudwatch_logs}},
               f.records);
    get_string(t, where, "metadata", f.metadata);
    if (f.id.empty()) error(t.get("id"), where + ".id", "must be a field path");
    if (!f.metadata.empty() && (f.metadata.find('.') != std::string::npos || f.metadata[0] == '$' || f.metadata == "_id"))
      error(t.get("metadata"), where + ".metadata", "must be a top-level field name (no dots, not _id, no leading $)");
  }


  // A duration with its unit ("200ms", "10s"); false when absent.
  bool get_duration(const toml::table& t, const std::string& where, const char* key, int64_t& out_ms,
                    int64_t min_ms, int64_t max_ms) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    const std::string full = where + "." + key;
    std::string s;
    if (!n->is_string()) {
      error(n, full, "must be a duration with its unit, such as \"200ms\", \"10s\" or \"5m\"");
      return false;
    }
    if (!get_string(t, where, key, s)) return false;
    auto v = parse_duration_ms(s);
    if (!v) error(n, full, "must be a duration with its unit, such as \"200ms\", \"10s\" or \"5m\"");
    else if (*v < min_ms || *v > max_ms)
      error(n, full, "must be between " + std::to_string(min_ms) + " ms and " + std::to_string(max_ms / 1000) + " s");
    else {
      out_ms = *v;
      return true;
    }
    return false;
  }

  // Extended JSON of one pipeline stage's argument: an object, or an error naming the key.
  void get_stage(const toml::table& t, const std::string& where, const char* key, std::string& out) {
    if (!get_string(t, where, key, out) || out.empty()) return;
    bson_error_t err;
    bson_t* b = bson_new_from_json(reinterpret_cast<const uint8_t*>(out.data()), static_cast<ssize_t>(out.size()), &err);
    if (!b) error(t.get(key), where + "." + key, std::string("is not a valid Extended JSON object: ") + err.message);
    else bson_destroy(b);
  }

  void triggers(const toml::table& t, Triggers& tr) {
    check_keys(t, "triggers", known_keys().at("triggers"));
    get_string(t, "triggers", "state_database", tr.state_database);
    if (tr.state_database.empty() || tr.state_database.find_first_of("$/\\. \"") != std::string::npos)
      error(t.get("state_database"), "triggers.state_database", "must be a database name");
    get_duration(t, "triggers", "lease", tr.lease_ms, 1000, 600000);
  }

  void trigger(const toml::table& t, const std::string& where, Trigger& tr) {
    using F = Trigger::Format;
    check_keys(t, where, known_keys().at("trigger"));
    if (get_string(t, where, "name", tr.name, true) && tr.name.empty()) error(t.get("name"), where + ".name", "must not be empty");
    if (get_string(t, where, "uri", tr.uri) && tr.uri.rfind("mongodb", 0) != 0)
      error(t.get("uri"), where + ".uri", "must start with mongodb:// or mongodb+srv://");
    get_string(t, where, "database", tr.database, true);
    get_string(t, where, "collection", tr.collection);
    check_names(t, where, tr.database, tr.collection, "-");
    if (t.get("operation_types")) {
      get_string_list(t, where, "operation_types", tr.operation_types);
      static const std::set<std::string> kOps = {"insert", "update", "replace", "delete"};
      for (const auto& op : tr.operation_types)
        if (!kOps.count(op))
          error(t.get("operation_types"), where + ".operation_types",
                "\"" + op + "\" is not one of insert | update | replace | delete");
      if (tr.operation_types.empty())
        error(t.get("operation_types"), where + ".operation_types", "must name at least one operation type");
    }
    get_stage(t, where, "match", tr.match);
    get_stage(t, where, "project", tr.project);
    if (get_string(t, where, "full_document", tr.full_document)) {
      static const std::set<std::string> kFull = {"default", "updateLookup", "whenAvailable", "required"};
      if (!kFull.count(tr.full_document))
        error(t.get("full_document"), where + ".full_document",
              "must be one of default | updateLookup | whenAvailable | required");
    }
    get_choice(t, where, "format",
               {{"document", F::document}, {"event", F::event}, {"event-canonical", F::event_canonical}}, tr.format);
    const bool updates = std::find(tr.operation_types.begin(), tr.operation_types.end(), "update") != tr.operation_types.end();
    if (tr.format == F::document && updates && tr.full_document == "default")
      error(t.get("full_document"), where + ".full_document",
            "format = \"document\" sends the full document, which update events carry only with full_document = "
            "\"updateLookup\", \"whenAvailable\" or \"required\"");
    get_bool(t, where, "ordered", tr.ordered);
    get_duration(t, where, "max_latency", tr.max_latency_ms, 0, 60000);
    if (const toml::node* n = t.get("max_in_flight")) {
      const auto* i = n->as_integer();
      if (!i || i->get() < 1 || i->get() > 64) error(n, where + ".max_in_flight", "must be a number from 1 to 64");
      else tr.max_in_flight = static_cast<uint32_t>(i->get());
    }
    get_choice(t, where, "on_history_lost",
               {{"fail", Trigger::OnHistoryLost::fail}, {"restart-now", Trigger::OnHistoryLost::restart_now}},
               tr.on_history_lost);
    const toml::node* d = t.get("destination");
    if (!d) {
      error(&t, where + ".destination", "is required: a [trigger.destination] table");
      return;
    }
    if (!d->as_table()) {
      error(d, where + ".destination", "must be a table [trigger.destination]");
      return;
    }
    destination_of(*d->as_table(), where + ".destination", tr);
  }

  // A partition key path must start at a field change events have, and survive `project`.
  void check_key_path(const toml::table& t, const std::string& where, const Trigger& tr, const std::string& path) {
    static const std::set<std::string> kFields = {"_id", "operationType", "clusterTime", "wallTime", "ns",
                                                  "documentKey", "fullDocument", "updateDescription",
                                                  "fullDocumentBeforeChange", "txnNumber", "lsid", "to",
                                                  "collectionUUID"};
    // The default key has no line of its own: name the destination table's.
    const toml::node* at = t.get("partition_key") ? t.get("partition_key") : static_cast<const toml::node*>(&t);
    const std::string top = path.substr(0, path.find('.'));
    if (path.empty() || path.front() == '.' || path.back() == '.' || path.find("..") != std::string::npos ||
        !kFields.count(top)) {
      error(at, where + ".partition_key",
            "\"" + path + "\" cannot exist in a change event: a path starts at one of _id, operationType, "
            "clusterTime, wallTime, ns, documentKey, fullDocument, updateDescription, fullDocumentBeforeChange");
      return;
    }
    if (top == "fullDocument" && tr.full_document == "default" &&
        std::find(tr.operation_types.begin(), tr.operation_types.end(), "update") != tr.operation_types.end())
      error(at, where + ".partition_key",
            "\"" + path + "\" is missing from update events with full_document = \"default\"");
    if (top == "fullDocument" && tr.operation_types.size() == 1 && tr.operation_types[0] == "delete")
      error(at, where + ".partition_key", "\"" + path + "\" is missing from delete events");
    if (tr.project.empty()) return;
    bson_t* p = bson_new_from_json(reinterpret_cast<const uint8_t*>(tr.project.data()),
                                   static_cast<ssize_t>(tr.project.size()), nullptr);
    if (!p) return;
    bson_iter_t it;
    bool inclusion = false;
    std::string excluded;
    if (bson_iter_init(&it, p)) {
      while (bson_iter_next(&it)) {
        const std::string k = bson_iter_key(&it);
        const bool zero = (BSON_ITER_HOLDS_INT32(&it) && bson_iter_int32(&it) == 0) ||
                          (BSON_ITER_HOLDS_INT64(&it) && bson_iter_int64(&it) == 0) ||
                          (BSON_ITER_HOLDS_BOOL(&it) && !bson_iter_bool(&it)) ||
                          (BSON_ITER_HOLDS_DOUBLE(&it) && bson_iter_double(&it) == 0);
        if (k == "_id") continue;
        if (zero && (path == k || path.rfind(k + ".", 0) == 0)) excluded = k;
        if (!zero) inclusion = true;
      }
    }
    bool kept = !inclusion;
    if (inclusion && bson_iter_init(&it, p)) {
      while (bson_iter_next(&it)) {
        const std::string k = bson_iter_key(&it);
        if (path == k || path.rfind(k + ".", 0) == 0 || k.rfind(path + ".", 0) == 0) kept = true;
      }
      if (top == "_id") kept = true;
    }
    bson_destroy(p);
    if (!excluded.empty() || !kept)
      error(at, where + ".partition_key",
            "\"" + path + "\" is removed by project" + (excluded.empty() ? "" : " (" + excluded + ": 0)"));
  }

  void destination_of(const toml::table& t, const std::string& where, Trigger& tr) {
    TriggerDestination& d = tr.destination;
    std::string type;
    if (!get_string(t, where, "type", type, true)) return;
    if (type == "kinesis") d.type = TriggerDestination::Type::kinesis;
    else if (type == "http") d.type = TriggerDestination::Type::http;
    else {
      error(t.get("type"), where + ".type", "must be \"kinesis\" or \"http\"");
      return;
    }
    const auto& own = known_keys().at("trigger.destination." + type);
    const auto& other = known_keys().at(std::string("trigger.destination.") + (type == "kinesis" ? "http" : "kinesis"));
    for (const auto& [k, v] : t) {
      const std::string key(k.str());
      if (own.count(key)) continue;
      if (other.count(key))
        error(&v, where + "." + key, std::string("is only for type = \"") + (type == "kinesis" ? "http" : "kinesis") + "\"");
      else
        error(&v, where + "." + key, "unknown key");
    }
    if (d.type == TriggerDestination::Type::http) {
      if (get_string(t, where, "url", d.url, true) && d.url.rfind("http://", 0) != 0 && d.url.rfind("https://", 0) != 0)
        error(t.get("url"), where + ".url", "must start with http:// or https://");
      get_string(t, where, "access_key", d.access_key);
      if (d.access_key.size() > 4096) error(t.get("access_key"), where + ".access_key", "must be at most 4096 bytes");
      get_string(t, where, "source_arn", d.source_arn);
      if (d.source_arn.empty()) d.source_arn = "arn:aws:firehose:hydrant:000000000000:deliverystream/" + tr.name;
      std::string enc;
      if (get_string(t, where, "content_encoding", enc)) {
        if (enc == "gzip") d.gzip = true;
        else if (enc != "none") error(t.get("content_encoding"), where + ".content_encoding", "must be \"gzip\" or \"none\"");
      }
      get_size(t, where, "buffer_size", d.buffer_size);
      if (t.get("buffer_size") && (d.buffer_size < (1ull << 20) || d.buffer_size > (64ull << 20)))
        error(t.get("buffer_size"), where + ".buffer_size", "must be from 1MiB to 64MiB");
      get_duration(t, where, "buffer_interval", d.buffer_interval_ms, 0, 900000);
      int64_t retry_ms = d.retry_duration_s * 1000;
      if (get_duration(t, where, "retry_duration", retry_ms, 0, 7200000)) d.retry_duration_s = retry_ms / 1000;
      if (const toml::node* n = t.get("common_attributes")) {
        const auto* ca = n->as_table();
        if (!ca) error(n, where + ".common_attributes", "must be a table of strings");
        else {
          for (const auto& [k, v] : *ca) {
            const auto* s = v.as_string();
            if (!s) {
              error(&v, where + ".common_attributes." + std::string(k.str()), "must be a string");
              continue;
            }
            if (auto val = interpolate(v, where + ".common_attributes", s->get()))
              d.common_attributes.emplace_back(std::string(k.str()), *val);
          }
          if (d.common_attributes.size() > 50)
            error(n, where + ".common_attributes", "must hold at most 50 attributes (Firehose's limit)");
        }
      }
      return;
    }
    // kinesis
    get_string(t, where, "stream", d.stream, true);
    get_string(t, where, "region", d.region);
    get_string(t, where, "partition_key", d.partition_key);
    get_string(t, where, "partition_key_value", d.partition_key_value);
    get_string(t, where, "endpoint", d.endpoint);
    get_string(t, where, "access_key_id", d.access_key_id);
    get_string(t, where, "secret_access_key", d.secret_access_key);
    get_string(t, where, "session_token", d.session_token);
    if (t.get("partition_key") && t.get("partition_key_value"))
      error(t.get("partition_key_value"), where + ".partition_key_value", "set partition_key or partition_key_value, not both");
    if (!t.get("partition_key") && !t.get("partition_key_value")) d.partition_key = "documentKey._id";
    if (t.get("partition_key_value") && (d.partition_key_value.empty()))
      error(t.get("partition_key_value"), where + ".partition_key_value", "must not be empty");
    if (!d.partition_key.empty() || (t.get("partition_key") && t.get("partition_key")->is_string()))
      check_key_path(t, where, tr, d.partition_key);
    if (!d.endpoint.empty() && d.endpoint.rfind("http://", 0) != 0 && d.endpoint.rfind("https://", 0) != 0)
      error(t.get("endpoint"), where + ".endpoint", "must start with http:// or https://");
    // A stream ARN names its region: arn:aws:kinesis:REGION:ACCOUNT:stream/NAME
    if (d.stream.rfind("arn:", 0) == 0) {
      std::vector<std::string> parts;
      size_t i = 0;
      for (int k = 0; k < 5; ++k) {
        const size_t j = d.stream.find(':', i);
        if (j == std::string::npos) break;
        parts.push_back(d.stream.substr(i, j - i));
        i = j + 1;
      }
      if (parts.size() != 5 || parts[2] != "kinesis" || d.stream.compare(i, 7, "stream/") != 0)
        error(t.get("stream"), where + ".stream", "is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)");
      else if (d.region.empty())
        d.region = parts[3];
    }
    auto env = [](const char* name) -> std::string {
      const char* v = std::getenv(name);
      return v ? v : "";
    };
    if (d.region.empty()) d.region = env("AWS_REGION");
    if (d.region.empty()) d.region = env("AWS_DEFAULT_REGION");
    if (d.region.empty())
      error(&t, where + ".region", "is required (or a stream ARN, or AWS_REGION in the environment)");
    if (d.access_key_id.empty() && d.secret_access_key.empty()) {
      d.access_key_id = env("AWS_ACCESS_KEY_ID");
      d.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
      if (d.session_token.empty()) d.session_token = env("AWS_SESSION_TOKEN");
    }
    if (d.access_key_id.empty() || d.secret_access_key.empty())
      error(t.get("access_key_id") ? t.get("access_key_id") : &t, where + ".access_key_id",
            "missing credentials: set access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY in the environment");
    if (d.endpoint.empty()) d.endpoint = "https://kinesis." + d.region + ".amazonaws.com";
  }

  // [[name]]: each table parsed by `parse` into `out`.
  template <class T, class Parse>
  void tables(const toml::table& root, const char* name, std::vector<T>& out, Parse parse) {
    const toml::node* n = root.get(name);
    if (!n) return;
    const auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      error(n, name, std::string("must be an array of tables [[") + name + "]]");
      return;
    }
    size_t i = 0;
    for (const auto& item : *arr) {
      T v;
      (this->*parse)(*item.as_table(), std::string(name) + "[" + std::to_string(i++) + "]", v);
      out.push_back(std::move(v));
    }
  }

  // Every endpoint needs a path of its own.
  template <class T>
  void unique_paths(const toml::table& root, const char* name, const std::vector<T>& eps, std::set<std::string>& used) {
    for (size_t i = 0; i < eps.size(); ++i) {
      if (eps[i].path.empty() || used.insert(eps[i].path).second) continue;
      const auto* tbl = root.get(name)->as_array()->get(i);
      error(tbl->as_table()->get("path"), std::string(name) + "[" + std::to_string(i) + "].path",
            "path " + eps[i].path + " is already used by another endpoint");
    }
  }

  Config load(const toml::table& root) {
    Config c;
    check_keys(root, "", known_keys().at(""));
    if (const toml::node* n = root.get("server")) {
      if (const auto* t = n->as_table()) server(*t, c.server);
      else error(n, "server", "must be a table [server]");
    }
    if (const toml::node* n = root.get("mongodb")) {
      if (const auto* t = n->as_table()) mongodb(*t, c.mongodb);
      else error(n, "mongodb", "must be a table [mongodb]");
    }
    tables(root, "firehose", c.firehose, &Loader::firehose);
    tables(root, "segment", c.segment, &Loader::segment);
    tables(root, "webhook", c.webhook, &Loader::webhook);
    if (const toml::node* n = root.get("triggers")) {
      if (const auto* t = n->as_table()) triggers(*t, c.triggers);
      else error(n, "triggers", "must be a table [triggers]");
    }
    tables(root, "trigger", c.trigger, &Loader::trigger);
    std::set<std::string> names;
    for (size_t i = 0; i < c.trigger.size(); ++i) {
      if (c.trigger[i].name.empty() || names.insert(c.trigger[i].name).second) continue;
      error(root.get("trigger")->as_array()->get(i)->as_table()->get("name"), "trigger[" + std::to_string(i) + "].name",
            "name " + c.trigger[i].name + " is already used by another trigger");
    }
    std::set<std::string> paths = {"/healthz", "/readyz", "/metrics"};
    unique_paths(root, "firehose", c.firehose, paths);
    unique_paths(root, "segment", c.segment, paths);
    unique_paths(root, "webhook", c.webhook, paths);
    if (c.endpoints() == 0 && c.trigger.empty())
      errors.push_back(source_ + ": nothing configured: add at least one [[firehose]], [[segment]], [[webhook]] or [[trigger]]");
    return c;
  }

 private:
  std::string source_;
};

LoadResult parse(const std::string& text, const std::string& source) {
  LoadResult r;
  Loader l(source);
  try {
    toml::table root = toml::parse(text, source);
    Config c = l.load(root);
    if (l.errors.empty()) r.config = std::move(c);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source << ": line " << e.source().begin.line << ": " << e.description();
    l.errors.push_back(os.str());
  }
  r.errors = std::move(l.errors);
  return r;
}

}  // namespace

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(path + ": cannot open the config file");
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

LoadResult load_string(const std::string& toml, const std::string& source_name) { return parse(toml, source_name); }

}  // namespace hydrant::config
