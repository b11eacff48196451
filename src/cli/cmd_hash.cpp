#include <cstdio>

#include "cli/commands.h"
#include "imgbackfill/error.h"
#include "imgbackfill/http.h"
#include "imgbackfill/image.h"
#include "imgbackfill/phash.h"

namespace imgbackfill::cli {

void AddHashCommand(CLI::App& app, Action& action) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto max_pixels = std::make_shared<int64_t>(LoadLimits{}.max_pixels);
  CLI::App* cmd =
      app.add_subcommand("hash", "Print each image's perceptual hash (pHash, 16 hex digits)");
  cmd->add_option("files", *files, "Image files or http(s) URLs")
      ->type_name("FILE|URL")
      ->required();
  cmd->add_option("--max-pixels", *max_pixels,
                  "Refuse an image whose header claims more pixels (a decompression bomb)")
      ->check(PositiveInteger())
      ->capture_default_str();
  cmd->footer("Prints \"HASH  FILE\" per file, or an error per file on stderr (exit 1 if any).");
  cmd->callback([&action, files, max_pixels] {
    action = [files, max_pixels] {
      bool all_ok = true;
      // The worker's own loading and decoding: the same refusals.
      const std::unique_ptr<HttpTransport> http = MakeCurlTransport();
      LoadLimits limits;
      limits.max_pixels = *max_pixels;
      DecodeOptions options;
      options.max_pixels = limits.max_pixels;
      for (const std::string& file : *files) {
        try {
          const DecodedImage image =
              DecodeImage(LoadImageBytes(file, limits, *http), file, options);
          const uint64_t hash = PerceptualHash(image.gray);
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
