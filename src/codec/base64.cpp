#include "codec/base64.hpp"

#include <array>

namespace hydrant::codec {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

// kShifted[k][c]: the 6 bits of character c already moved to their place in a
// 24-bit group for position k of 4; an invalid character sets bit 31.
constexpr std::array<std::array<uint32_t, 256>, 4> make_shifted() {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 256; ++c)
      t[k][c] = kTable[c] == 0xff ? 0x80000000u : static_cast<uint32_t>(kTable[c]) << (18 - 6 * k);
  return t;
}
constexpr auto kShifted = make_shifted();

}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  // Padding: at most two '=' at the very end, and only where they belong.
  size_t len = in.size();
  size_t pad = 0;
  while (len > 0 && in[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  if (pad > 0 && (len + pad) % 4 != 0) return false;
  if (len % 4 == 1) return false;

  const size_t start = out.size();
  out.resize(start + len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
  auto* dst = reinterpret_cast<uint8_t*>(out.data() + start);
  const auto* src = reinterpret_cast<const uint8_t*>(in.data());

  size_t i = 0;
  uint32_t invalid = 0;
  for (; i + 4 <= len; i += 4) {
    const uint32_t v = kShifted[0][src[i]] | kShifted[1][src[i + 1]] | kShifted[2][src[i + 2]] |
                       kShifted[3][src[i + 3]];
    invalid |= v;
    dst[0] = static_cast<uint8_t>(v >> 16);
    dst[1] = static_cast<uint8_t>(v >> 8);
    dst[2] = static_cast<uint8_t>(v);
    dst += 3;
  }
  if (invalid & 0x80000000u) return false;
  const size_t rest = len - i;
  if (rest >= 2) {
    const uint32_t a = kTable[src[i]], b = kTable[src[i + 1]];
    const uint32_t c = rest == 3 ? kTable[src[i + 2]] : 0;
    if ((a | b | c) & 0x80) return false;
    const uint32_t v = a << 18 | b << 12 | c << 6;
    // Non-canonical trailing bits are a sign of a truncated or corrupt value.
    if (rest == 2 && (b & 0x0f)) return false;
    if (rest == 3 && (c & 0x03)) return false;
    *dst++ = static_cast<uint8_t>(v >> 16);
    if (rest == 3) *dst++ = static_cast<uint8_t>(v >> 8);
  }
  return true;
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  const auto* s = reinterpret_cast<const uint8_t*>(in.data());
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = s[i] << 16 | s[i + 1] << 8 | s[i + 2];
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = s[i] << 16;
    if (i + 1 < in.size()) v |= s[i + 1] << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < in.size() ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace hydrant::codec
