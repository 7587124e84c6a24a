#pragma once
// Helpers shared by the unit tests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bson/bson.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace hydrant_test {

// The bytes of a file; a file that cannot be opened fails the test (and reads as "").
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A path under tests/fixtures/, the test data from public sources (see tests/fixtures/SOURCES.md).
inline std::filesystem::path fixture_path(const std::string& relative) {
  return std::filesystem::path(HYDRANT_SOURCE_DIR) / "tests" / "fixtures" / relative;
}

// Compresses `in` as one gzip member with zlib.
inline std::string gzip(const std::string& in, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Runs `f` in a child process and returns the signal that killed it (0 if none),
// so that a crash in the code under test fails one test instead of the whole run.
inline int crash_signal(const std::function<void()>& f) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    f();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

// The value at a dotted path of `b`, if any.
inline bool find(const bson_t* b, const char* path, bson_iter_t& out) {
  bson_iter_t it;
  return bson_iter_init(&it, b) && bson_iter_find_descendant(&it, path, &out);
}

inline bson_type_t type_at(const bson_t* b, const char* path) {
  bson_iter_t it;
  return find(b, path, it) ? bson_iter_type(&it) : BSON_TYPE_EOD;
}

}  // namespace hydrant_test

#include <cstdlib>
#include <initializer_list>
#include <optional>

namespace hydrant_test {

// True if one of `r.errors` contains every one of `parts` (a config LoadResult).
template <class Result>
bool has_error(const Result& r, std::initializer_list<std::string> parts) {
  for (const auto& e : r.errors) {
    bool all = true;
    for (const auto& p : parts)
      if (e.find(p) == std::string::npos) all = false;
    if (all) return true;
  }
  return false;
}

// Every error of a config LoadResult, a line each (for failure messages).
template <class Result>
std::string dump_errors(const Result& r) {
  std::string s;
  for (const auto& e : r.errors) s += e + "\n";
  return s;
}

// "line N" for the first line of `text` that contains `needle` (1-based), as config errors name it.
inline std::string line_of(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  size_t line = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i)
    if (text[i] == '\n') ++line;
  return "line " + std::to_string(line);
}

// Sets (or, with nullptr, unsets) an environment variable for one scope and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_.c_str(), old_->c_str(), 1);
    else unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace hydrant_test
