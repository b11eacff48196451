// Placeholder until the importer lands (replaced in the same issue).
#include "cli/commands.h"
#include "imgbackfill/error.h"

namespace imgbackfill::cli {

void AddImportCommand(CLI::App& app, const GlobalOptions&, Action& action) {
  CLI::App* cmd = app.add_subcommand("import", "Register images (not implemented yet)");
  cmd->callback([&action] {
    action = [] { throw Error(ErrorKind::kFailed, "import is not implemented yet"); return 1; };
  });
}

}  // namespace imgbackfill::cli
