#include "codec/gzip.hpp"

#include <new>
#include <stdexcept>

#include <algorithm>

namespace hydrant::codec {

GzipDecoder::GzipDecoder(size_t limit) : limit_(limit) {
  // 16 + MAX_WBITS: gzip wrapper only.
  initialised_ = inflateInit2(&zs_, 16 + MAX_WBITS) == Z_OK;
  if (!initialised_) error_ = "cannot initialise zlib";
}

GzipDecoder::~GzipDecoder() {
  if (initialised_) inflateEnd(&zs_);
}

InflateStatus GzipDecoder::feed(std::string_view chunk, std::string& out) {
  if (!initialised_) return InflateStatus::corrupt;
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
  zs_.avail_in = static_cast<uInt>(chunk.size());
  bool output_full = false;  // zlib may hold more output even with no input left
  while (zs_.avail_in > 0 || (output_full && !finished_)) {
    if (finished_) {
      // Another gzip member follows; anything else after the end is corrupt.
      if (!has_gzip_magic({reinterpret_cast<char*>(zs_.next_in), zs_.avail_in}) && zs_.avail_in >= 2) {
        error_ = "trailing bytes after gzip stream";
        return InflateStatus::corrupt;
      }
      inflateReset(&zs_);
      finished_ = false;
    }
    if (out.size() >= limit_) {
      error_ = "decoded size exceeds limit";
      return InflateStatus::too_large;
    }
    // Decode in bounded steps so the output never overshoots the limit by much.
    const size_t step = std::min<size_t>(limit_ - out.size() + 1, 256 * 1024);
    const size_t before = out.size();
    out.resize(before + step);
    zs_.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    zs_.avail_out = static_cast<uInt>(step);
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    output_full = zs_.avail_out == 0;
    out.resize(before + (step - zs_.avail_out));
    if (rc == Z_STREAM_END) {
      finished_ = true;
    } else if (rc == Z_BUF_ERROR) {
      // No progress possible with the input given: wait for more.
      if (!output_full) break;
    } else if (rc != Z_OK) {
      error_ = zs_.msg ? zs_.msg : "invalid gzip data";
      return InflateStatus::corrupt;
    }
    if (out.size() > limit_) {
      error_ = "decoded size exceeds limit";
      return InflateStatus::too_large;
    }
  }
  return InflateStatus::ok;
}

InflateStatus gunzip(std::string_view in, std::string& out, size_t limit, std::string* error) {
  out.clear();
  GzipDecoder dec(limit);
  auto st = dec.feed(in, out);
  if (st == InflateStatus::ok && !dec.finished()) {
    st = InflateStatus::corrupt;
    if (error) *error = "truncated gzip data";
    return st;
  }
  if (st != InflateStatus::ok && error) *error = dec.error();
  return st;
}

std::string gzip(std::string_view in, int level) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  return out;
}

}  // namespace hydrant::codec
