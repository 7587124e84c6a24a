#include "config/config.hpp"

#include <cstdlib>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "config/size.hpp"

namespace hydrant::config {

const std::map<std::string, std::set<std::string>>& known_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"", {"server", "mongodb", "firehose", "segment", "webhook"}},
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
    std::string records;
    if (get_string(t, where, "records", records)) {
      if (records == "json") f.records = RecordFormat::json;
      else if (records == "text") f.records = RecordFormat::text;
      else if (records == "cloudwatch-logs") f.records = RecordFormat::cloudwatch_logs;
      else error(t.get("records"), where + ".records", "must be one of json | text | cloudwatch-logs");
    }
    get_string(t, where, "metadata", f.metadata);
    if (f.id.empty()) error(t.get("id"), where + ".id", "must be a field path");
    if (!f.metadata.empty() && (f.metadata.find('.') != std::string::npos || f.metadata[0] == '$' || f.metadata == "_id"))
      error(t.get("metadata"), where + ".metadata", "must be a top-level field name (no dots, not _id, no leading $)");
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
    std::set<std::string> paths = {"/healthz", "/readyz", "/metrics"};
    unique_paths(root, "firehose", c.firehose, paths);
    unique_paths(root, "segment", c.segment, paths);
    unique_paths(root, "webhook", c.webhook, paths);
    if (c.endpoints() == 0)
      errors.push_back(source_ + ": no endpoints configured: add at least one [[firehose]] or [[segment]]");
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
