#include <cstdio>

#include "cli/commands.h"
#include "imgbackfill/error.h"
#include "imgbackfill/phash.h"

namespace imgbackfill::cli {

void AddHashCommand(CLI::App& app, Action& action) {
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "hash", "Print each image file's perceptual hash (pHash, 16 hex digits)");
  cmd->add_option("files", *files, "Image files")->type_name("FILE")->required();
  cmd->footer("Prints \"HASH  FILE\" per file, or an error per file on stderr (exit 1 if any).");
  cmd->callback([&action, files] {
    action = [files] {
      bool all_ok = true;
      for (const std::string& file : *files) {
        try {
          const uint64_t hash = PerceptualHash(LoadGray32(file));
          std::printf("%s  %s\n", PerceptualHashHex(hash).c_str(), file.c_str());
        } catch (const Error& e) {
          std::fflush(stdout);
          std::fprintf(stderr, "imgbackfill: %s\n", e.what());
          all_ok = false;
        }
      }
      return all_ok ? exit_code::kOk : exit_code::kFailed;
    };
  });
}

}  // namespace imgbackfill::cli
