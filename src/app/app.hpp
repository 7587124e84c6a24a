#pragma once
#include <string>

namespace hydrant::app {

// `hydrant serve`: runs until SIGTERM/SIGINT, then drains; returns the exit code.
int serve(const std::string& config_path);

// `hydrant check`: validates the config (and with `connect`, pings MongoDB).
int check(const std::string& config_path, bool connect);

}  // namespace hydrant::app
