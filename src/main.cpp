// hydrant: Firehose and webhooks into MongoDB.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/app.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"hydrant: a self-hosted data-integration server for MongoDB"};
  cli.set_version_flag("--version", std::string("hydrant ") + HYDRANT_VERSION);
  cli.require_subcommand(1);

  std::string serve_config = "hydrant.toml";
  auto* serve = cli.add_subcommand("serve", "Run the server");
  serve->add_option("-c,--config", serve_config, "Config file (TOML)")->capture_default_str();

  std::string check_config = "hydrant.toml";
  bool connect = false;
  auto* check = cli.add_subcommand("check", "Validate a config file");
  check->add_option("-c,--config", check_config, "Config file (TOML)")->capture_default_str();
  check->add_flag("--connect", connect, "Also prove that MongoDB is reachable");

  CLI11_PARSE(cli, argc, argv);
  if (*serve) return hydrant::app::serve(serve_config);
  if (*check) return hydrant::app::check(check_config, connect);
  return 0;
}
