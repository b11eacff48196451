// The subcommands of the imgbackfill executable. Each Add*Command registers
// its flags on `app` and, when chosen, stores in `action` what to run once
// parsing and log setup are done.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "imgbackfill/store.h"

namespace imgbackfill::cli {

struct GlobalOptions {
  std::string db;
  std::string log_format = "text";
  std::string log_level = "info";
};

using Action = std::function<int()>;

void AddMigrateCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddImportCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddRunCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddStatusCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddWorkCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddHashCommand(CLI::App& app, Action& action);

// Opens --db and checks that its schema is this binary's.
std::unique_ptr<Store> OpenCurrentStore(const GlobalOptions& global);

// Validators with the messages users see.
CLI::Validator PositiveInteger();
CLI::Validator Duration();

int Main(int argc, char** argv);

}  // namespace imgbackfill::cli
