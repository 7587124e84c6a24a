#pragma once
// gzip decoding with a hard cap on the decoded size, so a small "bomb"
// costs at most `limit` bytes of memory before it is refused.
#include <zlib.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace hydrant::codec {

inline bool has_gzip_magic(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

enum class InflateStatus { ok, too_large, corrupt };

// Streaming gzip decoder: feed compressed chunks, decoded bytes are appended to `out`.
// Concatenated gzip members (as `cat a.gz b.gz` makes) are decoded as one stream.
class GzipDecoder {
 public:
  explicit GzipDecoder(size_t limit);
  ~GzipDecoder();
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  InflateStatus feed(std::string_view chunk, std::string& out);
  // True when the last member ended cleanly (no truncated tail).
  bool finished() const { return finished_; }
  const std::string& error() const { return error_; }

 private:
  z_stream zs_{};
  size_t limit_;
  bool finished_ = false;
  bool initialised_ = false;
  std::string error_;
};

// Whole-buffer convenience: decodes `in` into `out` (replacing its content).
InflateStatus gunzip(std::string_view in, std::string& out, size_t limit, std::string* error = nullptr);

// gzip encoding of a whole buffer (what an outbound Content-Encoding: gzip body needs).
std::string gzip(std::string_view in, int level = 6);

}  // namespace hydrant::codec
