#pragma once
// JSON (simdjson DOM) → BSON, with MongoDB Extended JSON (canonical and relaxed)
// and the configured per-field conversions (`object_ids`, `dates`).
#include <bson/bson.h>
#include <simdjson.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::codec {

// Field paths to convert, as a trie over dot-separated keys. Arrays are
// transparent: a path names the field, and every element of an array there is converted.
class Conversions {
 public:
  enum class Kind { none, object_id, date };
  struct Node {
    Kind kind = Kind::none;
    std::string path;
    std::map<std::string, Node, std::less<>> children;
    const Node* child(std::string_view key) const {
      // Usually a handful of children: comparing sizes first skips most memcmp calls.
      if (children.size() <= 8) {
        for (const auto& [k, v] : children)
          if (k.size() == key.size() && k == key) return &v;
        return nullptr;
      }
      auto it = children.find(key);
      return it == children.end() ? nullptr : &it->second;
    }
  };

  Conversions() = default;
  Conversions(const std::vector<std::string>& object_ids, const std::vector<std::string>& dates);
  const Node* root() const { return root_.children.empty() ? nullptr : &root_; }

 private:
  void add(const std::string& path, Kind kind);
  Node root_;
};

constexpr int kMaxDepth = 100;  // MongoDB refuses documents nested deeper

class JsonToBson {
 public:
  explicit JsonToBson(const Conversions& conv) : conv_(conv) {}

  // Appends the fields of `obj` to `out`. `skip_key` (if not empty) names a
  // top-level field left out, e.g. one hydrant fills in itself. On failure returns
  // false and sets `error` to a reason fit for a reject record.
  bool append_object(bson_t* out, simdjson::dom::object obj, std::string& error,
                     std::string_view skip_key = {}) const;

  // Appends one value under `key`, with the conversions that apply at `node`.
  bool append_value(bson_t* out, std::string_view key, simdjson::dom::element el,
                    const Conversions::Node* node, int depth, std::string& error) const;

  const Conversions::Node* root() const { return conv_.root(); }

 private:
  bool append_fields(bson_t* out, simdjson::dom::object obj, const Conversions::Node* node, int depth,
                     std::string& error, std::string_view skip_key) const;
  bool append_converted(bson_t* out, std::string_view key, simdjson::dom::element el,
                        const Conversions::Node& node, int depth, std::string& error) const;
  // Extended JSON wrapper ({"$oid": ...} and friends): 1 appended, 0 not a wrapper, -1 error.
  int append_extended(bson_t* out, std::string_view key, simdjson::dom::object obj, std::string& error) const;

  const Conversions& conv_;
};

bool valid_key(std::string_view key);

}  // namespace hydrant::codec
