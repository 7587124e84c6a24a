#include "observe/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace hydrant::observe {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l;
  return l;
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

std::string render(std::string_view msg, const Fields& fields) {
  std::string out = "\"msg\":";
  json_string(out, msg);
  for (const auto& [k, v] : fields) {
    out += ',';
    json_string(out, k);
    out += ':';
    if (const auto* s = std::get_if<std::string>(&v)) json_string(out, *s);
    else if (const auto* i = std::get_if<int64_t>(&v)) out += std::to_string(*i);
    else if (const auto* d = std::get_if<double>(&v)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", *d);
      out += buf;
    } else out += std::get<bool>(v) ? "true" : "false";
  }
  return out;
}

void emit(spdlog::level::level_enum lvl, std::string_view msg, const Fields& fields) {
  if (!logger()) log_init();
  logger()->log(lvl, "{}", render(msg, fields));
}

}  // namespace

void log_init() {
  if (logger()) return;
  auto l = spdlog::stdout_logger_mt("hydrant");
  l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  l->flush_on(spdlog::level::info);
  logger() = l;
}

void log_info(std::string_view msg, const Fields& fields) { emit(spdlog::level::info, msg, fields); }
void log_warn(std::string_view msg, const Fields& fields) { emit(spdlog::level::warn, msg, fields); }
void log_error(std::string_view msg, const Fields& fields) { emit(spdlog::level::err, msg, fields); }

}  // namespace hydrant::observe
