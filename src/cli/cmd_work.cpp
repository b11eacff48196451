#include <spdlog/spdlog.h>

#include <cstdlib>
#include <random>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/time_text.h"
#include "imgbackfill/error.h"
#include "imgbackfill/models.h"
#include "imgbackfill/worker.h"

namespace imgbackfill::cli {
namespace {

struct WorkFlags {
  int concurrency = 4;
  int batch_size = 50;
  std::string batch_window = "1500ms";
  double rate = 0;
  int max_attempts = 3;
  bool until_empty = false;
  int64_t max_jobs = 0;
  std::string max_runtime;
  std::string lease = "60s";
  std::string retry_delay = "30s";
  std::string poll_interval = "1s";
  std::string model{DefaultEmbeddingModel()};
  std::string provider;
  std::string vision_model;
  std::string gemini_base_url;
  std::string openai_base_url;
  std::string request_timeout = "60s";
  std::string download_timeout = "30s";
  int64_t max_image_bytes = 50ll << 20;
  int64_t max_pixels = 100'000'000;
  int image_max_side = 1024;
};

std::chrono::milliseconds DurationFlag(const std::string& text) {
  // The validator has already refused anything ParseDuration rejects.
  return ParseDuration(text).value_or(std::chrono::milliseconds(0));
}

ProviderConfig MakeProviderConfig(const WorkFlags& flags) {
  const auto model = FindEmbeddingModel(flags.model);
  if (!model) {
    throw Error(ErrorKind::kUsage,
                "--model " + flags.model +
                    " is not a known embedding model; known models: " + KnownEmbeddingModelIds());
  }
  ProviderConfig config;
  config.provider = flags.provider.empty() ? std::string(model->provider) : flags.provider;
  if (config.provider != model->provider) {
    throw Error(ErrorKind::kUsage, "--model " + flags.model + " is served by the " +
                                       std::string(model->provider) + " provider, not --provider " +
                                       config.provider);
  }
  config.embedding_model = flags.model;
  config.dimension = model->dimension;
  config.vision_model = flags.vision_model.empty()
                            ? std::string(DefaultVisionModelFor(config.provider))
                            : flags.vision_model;
  config.request_timeout = DurationFlag(flags.request_timeout);
  config.image_max_side = flags.image_max_side;
  const char* key_variable = nullptr;
  if (config.provider == "gemini") {
    config.base_url = flags.gemini_base_url;
    key_variable = "GEMINI_API_KEY";
  } else if (config.provider == "openai") {
    config.base_url = flags.openai_base_url;
    key_variable = "OPENAI_API_KEY";
  }
  if (key_variable != nullptr) {
    const char* key = std::getenv(key_variable);
    // Self-hosted OpenAI-compatible servers often take no key at all.
    const bool key_optional = config.provider == "openai" && !config.base_url.empty();
    if ((key == nullptr || *key == '\0') && !key_optional) {
      throw Error(ErrorKind::kConfig, std::string(key_variable) +
                                          " is not set: export it with the " + config.provider +
                                          " API key, or use a local model (--model " +
                                          std::string(DefaultEmbeddingModel()) + ")");
    }
    if (key != nullptr) config.api_key = key;
  }
  return config;
}

}  // namespace

void AddWorkCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto flags = std::make_shared<WorkFlags>();
  CLI::App* cmd = app.add_subcommand(
      "work", "Drain the analysis queue: pHash, embedding and vision for each queued image");
  cmd->add_option("--concurrency", flags->concurrency, "Provider requests in flight at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--batch-size", flags->batch_size, "Images per embedding request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--batch-window", flags->batch_window,
                  "Send a partial embedding batch after it waited this long")
      ->check(Duration())
      ->capture_default_str();
  cmd->add_option("--rate", flags->rate,
                  "Requests per minute to the provider, all kinds together (0: no limit)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--max-attempts", flags->max_attempts,
                  "Attempts before a job that keeps failing transiently ends dead")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--until-empty", flags->until_empty,
                "Exit once no job is open (waits for retries and expired leases)");
  cmd->add_option("--max-jobs", flags->max_jobs, "Claim at most this many jobs, then exit")
      ->check(PositiveInteger());
  cmd->add_option("--max-runtime", flags->max_runtime,
                  "Stop claiming after this long, finish what is in flight, exit 0")
      ->check(Duration());
  cmd->add_option("--model", flags->model, "Embedding model id (decides the provider)")
      ->capture_default_str();
  cmd->add_option("--provider", flags->provider,
                  "local, gemini or openai (default: the one serving --model)")
      ->check(CLI::IsMember({"local", "gemini", "openai"}));
  cmd->add_option("--vision-model", flags->vision_model,
                  "Vision model id (default: the provider's default)");
  cmd->add_option("--gemini-base-url", flags->gemini_base_url,
                  "Gemini API base URL (default https://generativelanguage.googleapis.com/v1beta)");
  cmd->add_option("--openai-base-url", flags->openai_base_url,
                  "OpenAI-compatible API base URL (default https://api.openai.com/v1)");
  cmd->add_option("--request-timeout", flags->request_timeout, "Timeout of one provider request")
      ->check(Duration())
      ->capture_default_str();
  cmd->add_option("--download-timeout", flags->download_timeout,
                  "Timeout of one image download (http(s) locations)")
      ->check(Duration())
      ->capture_default_str();
  cmd->add_option("--max-image-bytes", flags->max_image_bytes,
                  "Refuse image files or downloads larger than this")
      ->check(PositiveInteger())
      ->capture_default_str();
  cmd->add_option("--max-pixels", flags->max_pixels,
                  "Refuse images whose header claims more pixels (decompression bombs)")
      ->check(PositiveInteger())
      ->capture_default_str();
  cmd->add_option("--image-max-side", flags->image_max_side,
                  "Hosted providers get a JPEG at most this many pixels on its long side")
      ->check(CLI::Range(64, 8192))
      ->capture_default_str();
  cmd->add_option("--lease", flags->lease,
                  "How long a claimed job stays ours without a heartbeat (renewed every third)")
      ->check(Duration())
      ->capture_default_str();
  cmd->add_option("--retry-delay", flags->retry_delay,
                  "First retry delay; doubles per attempt, +-25% jitter. Also the first pause "
                  "of every request after 5 failures in a row (an outage)")
      ->check(Duration())
      ->capture_default_str();
  cmd->add_option("--poll-interval", flags->poll_interval,
                  "Idle wait before looking for jobs again")
      ->check(Duration())
      ->capture_default_str();

  cmd->callback([&global, &action, flags] {
    action = [&global, flags] {
      const ProviderConfig provider_config = MakeProviderConfig(*flags);
      auto store = OpenCurrentStore(global);
      auto http = MakeCurlTransport();
      PacerOptions pacing;
      pacing.provider = provider_config.provider;
      pacing.requests_per_minute = flags->rate;
      // An outage's first pause is a job's first retry delay: both say how
      // soon a failed provider is worth asking again.
      pacing.outage_pause = DurationFlag(flags->retry_delay);
      auto pacer = MakeRequestPacer(pacing);
      auto provider = MakeProvider(provider_config, *http, *pacer);

      WorkerOptions options;
      options.concurrency = flags->concurrency;
      options.batch_size = flags->batch_size;
      options.batch_window = DurationFlag(flags->batch_window);
      options.max_attempts = flags->max_attempts;
      options.until_empty = flags->until_empty;
      options.max_jobs = flags->max_jobs;
      if (!flags->max_runtime.empty()) options.max_runtime = DurationFlag(flags->max_runtime);
      options.lease = DurationFlag(flags->lease);
      options.retry_delay = DurationFlag(flags->retry_delay);
      options.poll_interval = DurationFlag(flags->poll_interval);
      options.load.max_bytes = static_cast<size_t>(flags->max_image_bytes);
      options.load.max_pixels = flags->max_pixels;
      options.load.timeout = DurationFlag(flags->download_timeout);

      InstallStopSignals();
      WorkerEnvironment env;
      env.owner = MakeWorkerOwner();
      env.stop_requested = StopRequested;
      env.pacer = pacer.get();
      auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
      env.random = [engine] { return std::uniform_real_distribution<double>(0, 1)(*engine); };

      spdlog::info(
          "worker {} on {}: provider {} (embedding {}, vision {}), concurrency {}, batch {} "
          "within {} ms, rate {}",
          env.owner, store->Describe(), provider->name(), provider->embedding_model(),
          provider->vision_model(), options.concurrency, options.batch_size,
          options.batch_window.count(),
          flags->rate > 0 ? std::to_string(static_cast<int64_t>(flags->rate)) + "/min"
                          : std::string("unlimited"));
      const WorkerSummary summary = RunWorker(*store, *provider, *http, options, env);
      spdlog::info(
          "worker done: {} claimed, {} completed, {} to retry, {} dead, {} released, "
          "{} lost to other workers, {} cancelled (image deactivated){}",
          summary.claimed, summary.completed, summary.retried, summary.dead, summary.released,
          summary.lost, summary.cancelled, summary.stopped ? " (stopped)" : "");
      return exit_code::kOk;
    };
  });
}

}  // namespace imgbackfill::cli
