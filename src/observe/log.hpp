#pragma once
// Structured logging: one JSON object per line on stdout.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hydrant::observe {

using Value = std::variant<std::string, int64_t, double, bool>;
using Fields = std::vector<std::pair<std::string_view, Value>>;

void log_init();
void log_info(std::string_view msg, const Fields& fields = {});
void log_warn(std::string_view msg, const Fields& fields = {});
void log_error(std::string_view msg, const Fields& fields = {});

}  // namespace hydrant::observe
