// The configuration reference in docs/operations.md against the code: every key it
// documents is one the loader accepts, and every key the loader accepts is documented
// (hydrant::config::known_keys() is the loader's own list).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// "| a | b |" -> {"a", "b"}
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '|' && row[i - 1] != '\\') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += row[i];
    }
  }
  return out;
}

// Which table of known_keys() a "### ..." heading of the reference is about: "Top level",
// or the table in backticks (`[server]`, `[[firehose]]`), for [[segment]] with its
// `kind = "..."` (-> "segment.webhook").
std::optional<std::string> table_of(const std::string& heading) {
  if (contains(heading, "Top level")) return "";
  const size_t open = heading.find("`[");
  if (open == std::string::npos) return std::nullopt;
  const size_t close = heading.find(']', open);
  if (close == std::string::npos) return std::nullopt;
  std::string name = heading.substr(open + 1, close - open - 1);
  while (!name.empty() && name.front() == '[') name.erase(0, 1);
  if (name.empty()) return std::nullopt;
  // `kind = "..."` ([[segment]]) or `type = "..."` ([trigger.destination]) picks the variant
  size_t kind = heading.find("kind = \"");
  if (kind == std::string::npos) kind = heading.find("type = \"");
  if (kind != std::string::npos) {
    const size_t start = kind + 8, end = heading.find('"', start);
    if (end == std::string::npos) return std::nullopt;
    name += "." + heading.substr(start, end - start);
  }
  return name;
}

struct Reference {
  std::map<std::string, std::vector<std::string>> keys;  // table -> documented keys, in order
  std::vector<std::string> problems;
};

// Parses the "## Configuration reference" section: a "### " heading per table, then a
// markdown table whose rows name a key in backticks in the first column, followed by
// its type, default and meaning.
Reference parse_reference(const std::string& markdown) {
  Reference ref;
  const auto lines = lines_of(markdown);
  bool in_section = false, in_code = false;
  std::optional<std::string> table;
  bool after_separator = false;
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    const std::string where = "docs/operations.md:" + std::to_string(n + 1) + ": ";
    if (starts_with(line, "```")) in_code = !in_code;
    if (in_code) continue;
    if (starts_with(line, "## ")) {
      if (in_section) break;
      in_section = line == "## Configuration reference";
      continue;
    }
    if (!in_section) continue;
    if (starts_with(line, "### ")) {
      table = table_of(line);
      after_separator = false;
      if (!table) ref.problems.push_back(where + "a heading that names no config table: " + line);
      else if (ref.keys.count(*table)) ref.problems.push_back(where + "a second section for " + line);
      else ref.keys[*table];
      continue;
    }
    if (!starts_with(line, "|")) {
      after_separator = false;
      continue;
    }
    if (starts_with(line, "|---") || starts_with(line, "| ---")) {
      after_separator = true;
      continue;
    }
    if (!after_separator) continue;  // the header row
    if (!table) {
      ref.problems.push_back(where + "a table row outside a config table's section");
      continue;
    }
    const auto c = cells(line);
    if (c.size() != 4) {
      ref.problems.push_back(where + "a row needs 4 cells (key, type, default, meaning): " + line);
      continue;
    }
    for (const auto& cell : c)
      if (cell.empty()) ref.problems.push_back(where + "an empty cell: " + line);
    const size_t open = c[0].find('`');
    const size_t close = open == std::string::npos ? open : c[0].find('`', open + 1);
    if (close == std::string::npos) {
      ref.problems.push_back(where + "the first cell names no key in backticks: " + line);
      continue;
    }
    std::string key = c[0].substr(open + 1, close - open - 1);
    while (!key.empty() && key.front() == '[') key.erase(0, 1);
    while (!key.empty() && key.back() == ']') key.pop_back();
    ref.keys[*table].push_back(key);
  }
  if (!in_section) ref.problems.push_back("docs/operations.md has no \"## Configuration reference\" section");
  return ref;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& k : s) out += (out.empty() ? "" : ", ") + (k.empty() ? std::string("(top level)") : k);
  return out.empty() ? "(none)" : out;
}

}  // namespace

TEST(Docs, ConfigReferenceMatchesTheLoader) {
  const std::string path = std::string(HYDRANT_SOURCE_DIR) + "/docs/operations.md";
  const std::string md = read_file(path);
  ASSERT_FALSE(md.empty()) << "cannot read " << path;
  const Reference ref = parse_reference(md);
  for (const auto& p : ref.problems) ADD_FAILURE() << p;

  const auto& known = hydrant::config::known_keys();
  for (const auto& [table, keys] : known) {
    const std::string name = table.empty() ? "the top level" : "[" + table + "]";
    auto it = ref.keys.find(table);
    if (it == ref.keys.end()) {
      ADD_FAILURE() << "docs/operations.md has no reference section for " << name << " (keys: " << join(keys)
                    << ")";
      continue;
    }
    const std::set<std::string> documented(it->second.begin(), it->second.end());
    EXPECT_EQ(documented.size(), it->second.size()) << name << ": a key is documented twice";
    std::set<std::string> missing, unknown;
    for (const auto& k : keys)
      if (!documented.count(k)) missing.insert(k);
    for (const auto& k : documented)
      if (!keys.count(k)) unknown.insert(k);
    EXPECT_TRUE(missing.empty()) << name << ": accepted by hydrant but not documented: " << join(missing);
    EXPECT_TRUE(unknown.empty()) << name << ": documented but not a key hydrant accepts: " << join(unknown);
  }
  for (const auto& [table, keys] : ref.keys)
    EXPECT_TRUE(known.count(table)) << "docs/operations.md documents a table hydrant does not have: " << table;
}

// The parser itself: it must see the keys, the tables and a mistake.
TEST(Docs, ReferenceParserFindsKeysAndMistakes) {
  const std::string md =
      "# x\n\n## Configuration reference\n\n```toml\n### `[server]`\n| `nope` | a | b | c |\n```\n\n"
      "### `[server]`\n\n| key | type | default | meaning |\n|---|---|---|---|\n"
      "| `listen` | string | `\"0.0.0.0:8080\"` | where |\n| `max_body` | size | `\"80MiB\"` | a \\| b |\n\n"
      "### Top level\n\n| key | type | default | meaning |\n|---|---|---|---|\n| `[[firehose]]` | t | d | m |\n"
      "| no key here | t | d | m |\n\n### `[[segment]]` with `kind = \"tracking-api\"`\n\n| key | type | default | meaning |\n"
      "|---|---|---|---|\n| `max_batch` | size | `\"500KiB\"` | m |\n\n## Metrics\n\n### `[mongodb]`\n|---|\n| `uri` | a | b | c |\n";
  const Reference ref = parse_reference(md);
  ASSERT_EQ(ref.keys.size(), 3u);
  EXPECT_EQ(ref.keys.at("segment.tracking-api"), (std::vector<std::string>{"max_batch"}));
  EXPECT_EQ(ref.keys.at("server"), (std::vector<std::string>{"listen", "max_body"}));
  EXPECT_EQ(ref.keys.at(""), (std::vector<std::string>{"firehose"}));
  ASSERT_EQ(ref.problems.size(), 1u);
  EXPECT_NE(ref.problems[0].find("no key in backticks"), std::string::npos) << ref.problems[0];
}
