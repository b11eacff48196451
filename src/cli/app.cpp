#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>

#include "cli/commands.h"
#include "cli/logging.h"
#include "common/time_text.h"
#include "imgbackfill/error.h"

namespace imgbackfill::cli {

CLI::Validator PositiveInteger() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        long long value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < 1) {
          return "must be a whole number of at least 1, got '" + text + "'";
        }
        return {};
      },
      "INT>=1");
}

CLI::Validator Duration() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto d = ParseDuration(text);
        if (!d || d->count() <= 0) {
          return "must be a positive duration such as 90s, 15m, 2h or 1h30m, got '" + text + "'";
        }
        return {};
      },
      "DURATION");
}

namespace {

// CLI11 reports an unknown key as "INI was not able to parse run.limt" (and
// an unknown table as "bogus.++"), which names neither the file nor the fix.
std::string DescribeConfigError(const CLI::ParseError& e, CLI::App& app) {
  std::string file;
  if (const CLI::Option* config = app.get_config_ptr(); config && config->count() > 0) {
    file = config->as<std::string>();
  }
  const std::string message = e.what();
  const std::string unknown = "INI was not able to parse ";
  if (file.empty() || message.rfind(unknown, 0) != 0) return message;
  std::string key = message.substr(unknown.size());
  std::string what = "unknown key '" + key + "'";
  if (key.size() > 3 && key.ends_with(".++")) {
    what = "unknown table [" + key.substr(0, key.size() - 3) + "]";
  }
  return file + ": " + what +
         ". Keys are the long flag names without the leading dashes (db, log-format, log-level); a "
         "subcommand's flags go in its table, e.g. [run] limit = 3";
}

}  // namespace

std::unique_ptr<Store> OpenCurrentStore(const GlobalOptions& global) {
  auto store = OpenStore(global.db);
  store->RequireCurrentSchema();
  return store;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "imgbackfill: keeps an image catalog's AI analysis current.\n"
      "Walks the images lacking the current model's embedding, in priority order,\n"
      "and queues their analysis, resumably.",
      "imgbackfill"};
  app.set_version_flag("--version", std::string("imgbackfill ") + IMGBACKFILL_VERSION);
  app.set_config("--config", "",
                 "Read any of these flags from a TOML file ([run] etc. for "
                 "subcommands)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.require_subcommand(1, 1);
  app.fallthrough();

  GlobalOptions global;
  app.add_option("--db", global.db,
                 "Database: a SQLite file path, sqlite:///path or postgresql://...")
      ->envname("DATABASE_URL");
  app.add_option("--log-format", global.log_format, "Log format on stderr")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", global.log_level, "Least severe level logged")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();

  Action action;
  AddMigrateCommand(app, global, action);
  AddImportCommand(app, global, action);
  AddRunCommand(app, global, action);
  AddWorkCommand(app, global, action);
  AddStatusCommand(app, global, action);
  AddHashCommand(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    const bool config = dynamic_cast<const CLI::ConfigError*>(&e) != nullptr ||
                        dynamic_cast<const CLI::FileError*>(&e) != nullptr;
    std::fprintf(stderr, "imgbackfill: %s%s\n", config ? "configuration error: " : "",
                 config ? DescribeConfigError(e, app).c_str() : e.what());
    if (!config) std::fprintf(stderr, "Run 'imgbackfill --help' for usage.\n");
    return config ? exit_code::kConfig : exit_code::kUsage;
  }

  SetupLogging(global.log_format, global.log_level);
  try {
    return action();
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    return exit_code::kFailed;
  }
}

}  // namespace imgbackfill::cli
