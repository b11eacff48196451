#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/time_text.h"
#include "imgbackfill/backfill.h"
#include "imgbackfill/error.h"
#include "imgbackfill/models.h"

namespace imgbackfill::cli {
namespace {

struct RunFlags {
  int64_t limit = 5000;
  bool product_images_only = false;
  bool include_dead = false;
  std::string model{DefaultEmbeddingModel()};
  bool dry_run = false;
  bool restart = false;
  std::string max_runtime;
};

void PrintDryRun(const BackfillOutcome& out) {
  const RunParams& p = out.params;
  if (out.resumed) {
    std::printf(
        "dry run: would resume run with model %s, limit %lld (%lld queued so far) from "
        "group %d after image %lld\n",
        p.model.c_str(), static_cast<long long>(p.limit), static_cast<long long>(out.queued_total),
        out.cursor.group, static_cast<long long>(out.cursor.last_id));
  } else {
    std::printf("dry run: would start a run with model %s, limit %lld, %s\n", p.model.c_str(),
                static_cast<long long>(p.limit),
                p.product_images_only ? "product images only" : "all groups");
  }
  std::printf("candidates in group 0 (product primary images): %lld\n",
              static_cast<long long>(out.candidates.group0));
  if (p.product_images_only) {
    std::printf("candidates in group 1 (other images): not walked (--product-images-only)\n");
  } else {
    std::printf("candidates in group 1 (other images): %lld\n",
                static_cast<long long>(out.candidates.group1));
  }
  std::printf("first %zu it would queue (group:id):", out.preview.size());
  for (const Candidate& c : out.preview) {
    std::printf(" %d:%lld", c.group, static_cast<long long>(c.image_id));
  }
  std::printf("\nnothing was written\n");
}

}  // namespace

void AddRunCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Queue analysis for images lacking the target model's embedding (resumable)");
  auto* limit = cmd->add_option("--limit", flags->limit, "Queue at most this many images per run")
                    ->check(PositiveInteger())
                    ->capture_default_str();
  auto* product = cmd->add_flag("--product-images-only", flags->product_images_only,
                                "Walk only product primary images (group 0)");
  auto* model =
      cmd->add_option("--model", flags->model, "Target embedding model id")->capture_default_str();
  auto* include_dead =
      cmd->add_flag("--include-dead", flags->include_dead,
                    "Also take images whose latest job ended dead (they are left out by default)");
  cmd->add_flag("--dry-run", flags->dry_run,
                "Print the candidate counts and the first ids it would queue; write nothing");
  cmd->add_option("--max-runtime", flags->max_runtime,
                  "Stop (resumably, exit 75) after this long, e.g. 45m")
      ->check(Duration());
  cmd->add_flag("--restart", flags->restart,
                "Abandon an interrupted run instead of resuming it, and start afresh");

  cmd->callback([&global, &action, flags, limit, product, model, include_dead] {
    const bool params_explicit =
        limit->count() + product->count() + model->count() + include_dead->count() > 0;
    action = [&global, flags, params_explicit] {
      if (!FindEmbeddingModel(flags->model)) {
        throw Error(ErrorKind::kUsage, "--model " + flags->model +
                                           " is not a known embedding model; known models: " +
                                           KnownEmbeddingModelIds());
      }
      auto store = OpenCurrentStore(global);
      BackfillOptions options;
      options.params = {flags->model, flags->limit, flags->product_images_only,
                        flags->include_dead};
      options.params_explicit = params_explicit;
      options.dry_run = flags->dry_run;
      options.restart = flags->restart;
      if (!flags->max_runtime.empty()) options.max_runtime = ParseDuration(flags->max_runtime);
      options.progress_bar = global.log_format == "text" && ::isatty(STDERR_FILENO) == 1;

      InstallStopSignals();
      BackfillEnvironment env;
      env.stop_requested = StopRequested;
      env.me = CurrentProcessHolder();
      const BackfillOutcome out = RunBackfill(*store, options, env);
      switch (out.ending) {
        case BackfillEnding::kDryRun:
          PrintDryRun(out);
          return 0;
        case BackfillEnding::kInterrupted:
          return exit_code::kTryAgain;
        case BackfillEnding::kCompleted:
        case BackfillEnding::kNothingToDo:
          return 0;
      }
      return 0;
    };
  });
}

}  // namespace imgbackfill::cli
