#include <cstdio>

#include "cli/commands.h"

namespace imgbackfill::cli {

void AddMigrateCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  CLI::App* cmd = app.add_subcommand(
      "migrate", "Create the database or bring its schema up to date (idempotent)");
  cmd->callback([&global, &action] {
    action = [&global] {
      auto store = OpenStore(global.db, OpenOptions{.create = true});
      const MigrationReport report = store->Migrate();
      if (report.applied.empty()) {
        std::printf("%s: schema already at version %d, nothing to do\n", store->Describe().c_str(),
                    report.to_version);
      } else {
        std::printf("%s: schema migrated from version %d to %d (applied", store->Describe().c_str(),
                    report.from_version, report.to_version);
        for (const auto& name : report.applied) std::printf(" %s", name.c_str());
        std::printf(")\n");
      }
      return 0;
    };
  });
}

}  // namespace imgbackfill::cli
