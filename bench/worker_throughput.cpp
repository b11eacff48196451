// Figure 5: the worker's throughput against a hosted provider, as a fraction
// of what the provider allows.
//
// The scenario is the one the product exists for, "just switched embedding
// models": every image of a SQLite catalog already has a current pHash and a
// current vision result (gemini-2.5-flash), an embedding from the old model
// (text-embedding-3-small, 1536 floats), and one available job; the worker
// only has to embed, with gemini-embedding-001 (3072 floats). The images are
// real 64x48 JPEG files (seeded, cached in DATA_DIR/worker/).
//
// The provider is FakeProviderServer (tests/support/) in this process,
// speaking Gemini's wire format with 3072-float vectors and answering every
// request after a fixed latency (200 ms). The real executable runs as a
// child:
//   imgbackfill --db COPY work --until-empty --model gemini-embedding-001
//     --gemini-base-url FAKE --concurrency C --batch-size B --batch-window W
//     [--rate R]
// and is timed from spawn to exit. The bound is what a perfect worker could
// get out of this provider:
//   min(rate limit in images/s, C x B / latency)
// = min(R/60 x B, C x B / 0.2 s). The whole-run fraction is (jobs / wall
// time) / bound: it includes the process start, opening the store, the first
// claim and decode, and the tail. The steady-state fraction leaves those
// out: jobs / (last embedding answer - first embedding request) / bound,
// with the request times sampled from the fake every millisecond (an answer
// leaves `latency` after its body is made, which is when it is counted).
//
// Two more figures say where the time goes: "slots busy" is the mean number
// of embedding requests at the fake over the steady window divided by the
// concurrency (1: the worker always had a request out on every slot), and
// "refill" the median time from an answer leaving the fake to the next
// request arriving (how long a freed slot waits for the next batch).
//
// Configurations (4 to 50 images per request, 200 ms, so bounds of 100 and
// 1000 images/s): c4-b50 and c2-b10 without a rate limit, and c4-b50 at
// --rate 120 (2 requests/s) with a 100 ms and with the default 1500 ms batch
// window. Job counts are multiples of the batch size, so no partial batch
// has to wait out the window at the end.
//
// A thousand images per second is CPU work on both sides of the socket on a
// 2-core machine: the child decodes and re-encodes every image and parses
// 3072 floats of JSON per image; the fake base64-decodes the images and
// prints the floats. Both CPU times are printed, per image, to tell a
// CPU-bound run from a worker that waits.
//
// Options besides the common ones: --only NAME (one configuration),
// --log-level LEVEL (the child's; debug logs every claim and completion),
// --binary PATH (another build of imgbackfill, to compare a change).
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "catalog_gen.h"
#include "imgbackfill/store.h"
#include "support/bad_images.h"
#include "support/fake_provider_server.h"

namespace imgbackfill::bench {
namespace {

namespace fs = std::filesystem;
using testing::FakeProviderServer;

constexpr int kImageWidth = 64;
constexpr int kImageHeight = 48;
constexpr uint32_t kImageSeed = 20261123;
constexpr int kDimension = 3072;  // gemini-embedding-001
constexpr auto kLatency = std::chrono::milliseconds(200);
constexpr const char* kNewModel = "gemini-embedding-001";
constexpr const char* kOldModel = "text-embedding-3-small";
constexpr int kOldDimension = 1536;
constexpr const char* kVisionModel = "gemini-2.5-flash";  // gemini's default vision model

struct Config {
  std::string name;
  int concurrency = 0;
  int batch_size = 0;
  double rate = 0;  // requests per minute; 0: no limit
  int jobs = 0;
  std::string window = "100ms";  // --batch-window

  double Bound() const {
    const double latency = std::chrono::duration<double>(kLatency).count();
    double bound = concurrency * batch_size / latency;
    if (rate > 0) bound = std::min(bound, rate / 60.0 * batch_size);
    return bound;
  }
  // The least time a perfect worker needs for `requests` requests: the
  // concurrency allows C at a time, each taking the latency; the pacer lets
  // one go every 60/R s, the first at once. Compare with the steady window.
  double IdealWindow(int requests) const {
    const double latency = std::chrono::duration<double>(kLatency).count();
    double t = std::ceil(static_cast<double>(requests) / concurrency) * latency;
    if (rate > 0) t = std::max(t, (requests - 1) * 60.0 / rate + latency);
    return t;
  }
};

struct Trial {
  double wall = 0;           // spawn to exit
  double first_request = 0;  // spawn to the first embedding request's arrival
  double last_answer = 0;    // spawn to the last embedding answer leaving the fake
  int requests = 0;
  int images_embedded = 0;         // in requests answered 200
  std::map<int, int> batch_sizes;  // size -> requests
  // Mean number of embedding requests at the fake (arrived, not yet
  // answered) over the steady window, divided by the concurrency: how much
  // of the time the worker kept its request slots busy.
  double slots_busy = 0;
  // Median time from an answer leaving the fake to the next request
  // arriving: how long a freed request slot waits for the worker's next batch.
  double refill = 0;
  double child_cpu = 0;
  double fake_cpu = 0;  // this process during the run: the fake server (and the sampler)
  double JobsPerSecond(int jobs) const { return jobs / wall; }
  double SteadyWindow() const { return last_answer - first_request; }
};

// The fake's counters, sampled every millisecond while the child runs.
struct Sample {
  double t;      // seconds since spawn
  int arrived;   // embedding requests received
  int answered;  // embedding answers made (they leave kLatency later)
};

double SelfCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The cached JPEGs 0..count-1 (the same seed, the same bytes, on every run).
std::vector<std::string> EnsureImages(const std::string& data_dir, int count) {
  const std::string dir =
      Format("%s/worker/jpeg-%dx%d-s%u", data_dir.c_str(), kImageWidth, kImageHeight, kImageSeed);
  fs::create_directories(dir);
  std::vector<std::string> paths;
  int made = 0;
  for (int i = 0; i < count; ++i) {
    paths.push_back(Format("%s/%05d.jpg", dir.c_str(), i));
    if (!fs::exists(paths.back())) {
      testing::WriteJpeg(paths.back(), kImageWidth, kImageHeight,
                         kImageSeed + static_cast<uint32_t>(i));
      ++made;
    }
  }
  if (made > 0)
    std::printf("generated %d %dx%d JPEGs in %s\n", made, kImageWidth, kImageHeight, dir.c_str());
  return paths;
}

// A fresh master catalog for `paths` (remade on every run: it takes well
// under a second, and is then always of this binary's schema). Each trial
// runs on a TrialCopy of it.
std::string MakeMaster(const std::string& data_dir, const std::vector<std::string>& paths) {
  const std::string path =
      Format("%s/worker/switched-models-%zu.db", data_dir.c_str(), paths.size());
  RemoveDatabase(path);
  OpenStore(path, {.create = true})->Migrate();
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  SQLite::Transaction tx(db);
  SQLite::Statement image(db,
                          "INSERT INTO images (id, location, embedding_model) VALUES (?1, ?2, ?3)");
  SQLite::Statement phash(db,
                          "INSERT INTO image_phash (image_id, phash, computed_at)"
                          " VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  SQLite::Statement embedding(
      db,
      "INSERT INTO image_embeddings (image_id, model, dimension, vector, computed_at)"
      " VALUES (?1, ?2, ?3, zeroblob(4 * ?3), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  SQLite::Statement vision(db,
                           "INSERT INTO image_vision (image_id, model, result, computed_at)"
                           " VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  SQLite::Statement job(db, "INSERT INTO jobs (image_id) VALUES (?1)");
  for (size_t i = 0; i < paths.size(); ++i) {
    const int64_t id = static_cast<int64_t>(i) + 1;
    image.bind(1, id);
    image.bind(2, paths[i]);
    image.bind(3, kOldModel);
    image.exec();
    image.reset();
    phash.bind(1, id);
    phash.bind(2, static_cast<int64_t>(0x5a5a5a5a5a5a5a5all ^ id));
    phash.exec();
    phash.reset();
    embedding.bind(1, id);
    embedding.bind(2, kOldModel);
    embedding.bind(3, kOldDimension);
    embedding.exec();
    embedding.reset();
    vision.bind(1, id);
    vision.bind(2, kVisionModel);
    vision.bind(3, R"({"caption":"a product photo","tags":["product"]})");
    vision.exec();
    vision.reset();
    job.bind(1, id);
    job.exec();
    job.reset();
  }
  tx.commit();
  return path;
}

struct Check {
  int64_t completed = 0;
  int64_t embedded = 0;  // rows of image_embeddings with the new model and its dimension
  int64_t vision_current = 0;
};

Check ReadOutcome(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  Check c;
  c.completed = db.execAndGet("SELECT count(*) FROM jobs WHERE state = 'completed'").getInt64();
  c.embedded = db.execAndGet(Format("SELECT count(*) FROM image_embeddings WHERE model = '%s'"
                                    " AND dimension = %d AND length(vector) = %d",
                                    kNewModel, kDimension, 4 * kDimension))
                   .getInt64();
  c.vision_current =
      db.execAndGet(Format("SELECT count(*) FROM image_vision WHERE model = '%s'", kVisionModel))
          .getInt64();
  return c;
}

Trial RunTrial(const Config& config, const std::string& master, const BenchOptions& options,
               const std::string& binary, const std::string& log_level, int index) {
  TrialCopy copy(master, options.data_dir, "worker");
  FakeProviderServer fake;
  fake.SetLatency(kLatency);
  fake.SetDimension(kDimension);

  std::vector<std::string> argv = {binary,
                                   "--db",
                                   copy.path(),
                                   "--log-format",
                                   "text",
                                   "--log-level",
                                   log_level,
                                   "work",
                                   "--until-empty",
                                   "--model",
                                   kNewModel,
                                   "--gemini-base-url",
                                   fake.gemini_base_url(),
                                   "--concurrency",
                                   std::to_string(config.concurrency),
                                   "--batch-size",
                                   std::to_string(config.batch_size),
                                   "--batch-window",
                                   config.window};
  if (config.rate > 0) {
    argv.push_back("--rate");
    argv.push_back(Format("%g", config.rate));
  }
  const std::string log =
      Format("%s/worker/%s-trial%d.log", options.data_dir.c_str(), config.name.c_str(), index);

  // Samples the fake's counters every millisecond: when embedding requests
  // arrive, and when their answers are made.
  std::atomic<bool> done{false};
  std::vector<Sample> samples;
  samples.reserve(1 << 16);
  const auto start = std::chrono::steady_clock::now();
  std::thread sampler([&] {
    while (!done.load()) {
      const int arrived = fake.embed_requests();
      const int answered = static_cast<int>(fake.embed_batch_sizes().size());
      const double t =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (samples.empty() || samples.back().arrived != arrived ||
          samples.back().answered != answered) {
        samples.push_back({t, arrived, answered});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const double cpu_before = SelfCpuSeconds();
  ChildResult child;
  try {
    child = RunChild(argv, log, {std::string("GEMINI_API_KEY=") + FakeProviderServer::kGeminiKey});
  } catch (...) {
    done = true;
    sampler.join();
    throw;
  }
  done = true;
  sampler.join();

  Trial t;
  t.wall = child.wall_seconds;
  t.fake_cpu = SelfCpuSeconds() - cpu_before;
  t.child_cpu = child.user_seconds + child.system_seconds;
  t.requests = fake.embed_requests();
  for (int size : fake.embed_batch_sizes()) {
    t.images_embedded += size;
    t.batch_sizes[size]++;
  }
  const double latency = std::chrono::duration<double>(kLatency).count();
  // Requests at the fake over time: +1 at each arrival, -1 when its answer
  // leaves (kLatency after it was made).
  std::vector<std::pair<double, int>> steps;
  for (size_t i = 0; i < samples.size(); ++i) {
    const int before_arrived = i == 0 ? 0 : samples[i - 1].arrived;
    const int before_answered = i == 0 ? 0 : samples[i - 1].answered;
    if (samples[i].arrived > before_arrived) {
      if (before_arrived == 0) t.first_request = samples[i].t;
      steps.emplace_back(samples[i].t, samples[i].arrived - before_arrived);
    }
    if (samples[i].answered > before_answered) {
      t.last_answer = samples[i].t + latency;
      steps.emplace_back(samples[i].t + latency, before_answered - samples[i].answered);
    }
  }
  std::sort(steps.begin(), steps.end());
  std::vector<double> refills;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].second >= 0) continue;  // not an answer leaving
    for (size_t j = i + 1; j < steps.size(); ++j) {
      if (steps[j].second > 0) {
        refills.push_back(steps[j].first - steps[i].first);
        break;
      }
    }
  }
  t.refill = Median(refills);
  double busy = 0;
  int in_flight = 0;
  double at = t.first_request;
  for (const auto& [when, change] : steps) {
    busy += in_flight * (when - at);
    in_flight += change;
    at = when;
  }
  t.slots_busy = busy / (t.SteadyWindow() * config.concurrency);

  if (child.exit_code != 0) {
    throw std::runtime_error(
        Format("imgbackfill work exited %d; see %s", child.exit_code, log.c_str()));
  }
  const Check check = ReadOutcome(copy.path());
  if (check.completed != config.jobs || check.embedded != config.jobs ||
      t.images_embedded != config.jobs || fake.vision_requests() != 0 ||
      check.vision_current != config.jobs) {
    throw std::runtime_error(Format(
        "%s: expected %d jobs completed and embedded by %s, no vision request; got %lld completed, "
        "%lld embedded, %d images sent, %d vision requests, %lld vision rows still current; see %s",
        config.name.c_str(), config.jobs, kNewModel, static_cast<long long>(check.completed),
        static_cast<long long>(check.embedded), t.images_embedded, fake.vision_requests(),
        static_cast<long long>(check.vision_current), log.c_str()));
  }
  return t;
}

std::string Sizes(const std::map<int, int>& sizes) {
  std::string text;
  for (const auto& [size, count] : sizes) {
    text += Format("%s%dx%d", text.empty() ? "" : " ", count, size);
  }
  return text;
}

}  // namespace
}  // namespace imgbackfill::bench

int main(int argc, char** argv) {
  using namespace imgbackfill::bench;
  // --only NAME: run one configuration (for profiling); the rest of argv is
  // the common options.
  // --log-level LEVEL: the child's (default info; debug logs every claim and
  // completion, at some cost). --binary PATH: another build of imgbackfill
  // (to measure it instead of this one). --baseline PATH: another build
  // measured side by side with this one, each trial running both in
  // alternating order, with the ratio of their jobs/s.
  std::string only;
  std::string log_level = "info";
  std::string binary = IMGBACKFILL_BINARY;
  std::string baseline;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (std::string(argv[i]) == "--log-level" && i + 1 < argc) {
      log_level = argv[++i];
    } else if (std::string(argv[i]) == "--binary" && i + 1 < argc) {
      binary = argv[++i];
    } else if (std::string(argv[i]) == "--baseline" && i + 1 < argc) {
      baseline = argv[++i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  const BenchOptions options = ParseOptions(argc, argv);
  DisableHeapTrimming();  // this process: the fake server; the child runs as users run it
  QuietLibraryLogs();
  const int trials = options.trials > 0 ? options.trials : (options.quick ? 1 : 3);
  try {
    // Job counts are multiples of the batch size: no partial batch at the end.
    std::vector<Config> configs = {
        {"c4-b50-w100", 4, 50, 0, options.quick ? 1000 : 4000, "100ms"},
        {"c2-b10-w100", 2, 10, 0, options.quick ? 200 : 600, "100ms"},
        {"c4-b50-rate120-w100", 4, 50, 120, options.quick ? 300 : 600, "100ms"},
        // The same with the default window: under a rate limit, a short
        // window spends a request on every partial batch.
        {"c4-b50-rate120-w1500", 4, 50, 120, options.quick ? 300 : 600, "1500ms"},
    };
    if (!only.empty()) {
      std::erase_if(configs, [&](const Config& c) { return c.name != only; });
      if (configs.empty()) throw std::runtime_error("--only: no configuration named " + only);
    }
    int most = 0;
    for (const Config& c : configs) most = std::max(most, c.jobs);
    const std::vector<std::string> images = EnsureImages(options.data_dir, most);
    std::map<int, std::string> masters;
    for (const Config& c : configs) {
      if (!masters.count(c.jobs)) {
        masters[c.jobs] = MakeMaster(
            options.data_dir, std::vector<std::string>(images.begin(), images.begin() + c.jobs));
      }
    }

    std::printf(
        "worker throughput: imgbackfill work against the fake Gemini (%lld ms latency, %d-float "
        "vectors), %dx%d JPEGs, %d trial(s) per configuration, alternating\n",
        static_cast<long long>(kLatency.count()), kDimension, kImageWidth, kImageHeight, trials);
    // Each side is a binary measured; the baseline's rows carry its label.
    std::vector<std::pair<std::string, std::string>> sides = {{"", binary}};
    if (!baseline.empty()) {
      sides.emplace_back("-baseline", baseline);
      std::printf("baseline: %s, measured alternately with %s\n", baseline.c_str(), binary.c_str());
    }
    std::map<std::string, std::vector<Trial>> results;
    for (int i = 0; i < trials; ++i) {
      for (size_t k = 0; k < configs.size(); ++k) {
        const Config& c = configs[i % 2 == 0 ? k : configs.size() - 1 - k];
        for (size_t n = 0; n < sides.size(); ++n) {
          const auto& [suffix, path] = sides[(i + k + n) % sides.size()];
          const Trial t = RunTrial(c, masters[c.jobs], options, path, log_level, i + 1);
          results[c.name + suffix].push_back(t);
          std::printf(
              "  %-30s trial %d: %5d jobs in %6.2f s = %6.1f jobs/s (bound %4.0f: %.2f); first "
              "request at %.3f s, last answer at %.3f s, exit at %.3f s; steady %.2f, slots busy "
              "%.2f, refill %.0f ms; %d requests (%s); CPU per image: worker %.2f ms, fake %.2f "
              "ms\n",
              (c.name + suffix).c_str(), i + 1, c.jobs, t.wall, t.JobsPerSecond(c.jobs), c.Bound(),
              t.JobsPerSecond(c.jobs) / c.Bound(), t.first_request, t.last_answer, t.wall,
              c.jobs / t.SteadyWindow() / c.Bound(), t.slots_busy, 1000 * t.refill, t.requests,
              Sizes(t.batch_sizes).c_str(), 1000 * t.child_cpu / c.jobs,
              1000 * t.fake_cpu / c.jobs);
          std::fflush(stdout);
        }
      }
    }

    std::printf(
        "\nmedians per configuration (bound = min(rate x batch, concurrency x batch / "
        "latency)):\n");
    std::printf("  %-30s %5s %5s %6s %5s %7s %6s %6s %5s %5s %6s %5s %6s %6s\n", "config", "jobs",
                "bound", "jobs/s", "whole", "start s", "tail s", "steady", "ideal", "busy",
                "refill", "batch", "cpu ms", "fake ms");
    for (const Config& c : configs) {
      for (const auto& [suffix, path] : sides) {
        const std::string name = c.name + suffix;
        const std::vector<Trial>& ts = results[name];
        std::vector<double> rate, whole, steady, start, tail, busy, refill, batch, child_cpu,
            fake_cpu;
        for (const Trial& t : ts) {
          rate.push_back(t.JobsPerSecond(c.jobs));
          whole.push_back(t.JobsPerSecond(c.jobs) / c.Bound());
          steady.push_back(c.jobs / t.SteadyWindow() / c.Bound());
          busy.push_back(t.slots_busy);
          refill.push_back(1000 * t.refill);
          batch.push_back(static_cast<double>(t.images_embedded) / t.requests);
          start.push_back(t.first_request);
          tail.push_back(t.wall - t.last_answer);
          child_cpu.push_back(1000 * t.child_cpu / c.jobs);
          fake_cpu.push_back(1000 * t.fake_cpu / c.jobs);
        }
        // A perfect worker: full batches, sent as soon as the concurrency
        // and the rate allow.
        const double ideal = c.jobs / c.IdealWindow(c.jobs / c.batch_size) / c.Bound();
        std::printf(
            "  %-30s %5d %5.0f %6.1f %5.2f %7.3f %6.3f %6.2f %5.2f %5.2f %6.0f %5.1f %6.2f %6.2f\n",
            name.c_str(), c.jobs, c.Bound(), Median(rate), Median(whole), Median(start),
            Median(tail), Median(steady), ideal, Median(busy), Median(refill), Median(batch),
            Median(child_cpu), Median(fake_cpu));
        const std::string label = Format("%s, bound %.0f/s:", name.c_str(), c.Bound());
        Summary("worker_throughput", label + " jobs/s", Format("%.1f", Median(rate)));
        Summary("worker_throughput", label + " fraction, whole run",
                Format("%.2f (%.2f to %.2f)", Median(whole), Min(whole), Max(whole)));
        Summary("worker_throughput", label + " fraction, steady",
                Format("%.2f (ideal %.2f; slots busy %.2f; %.1f images per request)",
                       Median(steady), ideal, Median(busy), Median(batch)));
      }
      if (!baseline.empty()) {
        // Trial by trial (the two ran back to back), then the median.
        std::vector<double> ratios;
        const auto& ours = results[c.name];
        const auto& base = results[c.name + "-baseline"];
        for (size_t t = 0; t < ours.size() && t < base.size(); ++t) {
          ratios.push_back(base[t].wall / ours[t].wall);
        }
        Summary("worker_throughput", c.name + ": jobs/s, this build / baseline",
                Format("%.2f (%.2f to %.2f)", Median(ratios), Min(ratios), Max(ratios)));
      }
    }
    std::printf(
        "whole: (jobs / wall time) / bound. start: spawn to the first embedding request. tail: "
        "last answer to exit. steady: jobs / (last answer - first request) / bound; ideal: the "
        "same for a perfect worker (full batches sent as soon as allowed; above 1 where the rate "
        "limit lets the first request go at once). busy: mean requests at the provider / "
        "concurrency over that window. refill: median ms from an answer leaving to the next "
        "request arriving. batch: images per request. cpu/fake: CPU per image of "
        "the worker process and of the fake server.\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_worker_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
