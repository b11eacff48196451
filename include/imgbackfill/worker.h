// The analysis worker: drains the job queue that `run` fills. Claims jobs
// under a lease (extended by a heartbeat while they are worked), loads and
// decodes each image once, computes its pHash, batches embeddings across
// jobs, describes each image (vision) concurrently, and writes each job's
// results together with its completion. See ../../docs/architecture.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "imgbackfill/http.h"
#include "imgbackfill/image.h"
#include "imgbackfill/provider.h"
#include "imgbackfill/store.h"

namespace imgbackfill {

struct WorkerOptions {
  int concurrency = 4;                           // provider requests in flight at once
  int batch_size = 50;                           // images per embedding request
  std::chrono::milliseconds batch_window{1500};  // a partial batch waits at most this long
  int max_attempts = 3;
  bool until_empty = false;  // exit once no job is open
  int64_t max_jobs = 0;      // 0: no limit; else claim at most this many
  std::optional<std::chrono::milliseconds> max_runtime;
  std::chrono::milliseconds lease{60'000};         // renewed every third of it
  std::chrono::milliseconds poll_interval{1'000};  // idle wait before claiming again
  // First retry after about this long, doubling per attempt (+-25% jitter),
  // never sooner than a Retry-After, never later than max_retry_delay.
  std::chrono::milliseconds retry_delay{30'000};
  std::chrono::milliseconds max_retry_delay{3'600'000};
  LoadLimits load;
  int log_every = 500;  // progress line every N jobs finished
};

struct WorkerEnvironment {
  std::string owner;  // lease owner, unique per process: "host:pid:nonce"
  // Polled between steps; true stops claiming, finishes or releases what is
  // in flight, and returns.
  std::function<bool()> stop_requested = [] { return false; };
  // Uniform in [0, 1): retry jitter. Tests give a fixed sequence.
  std::function<double()> random;
  // The provider's pacer, closed at shutdown so that requests still waiting
  // for their turn give up at once (their jobs are released). May be null.
  RequestPacer* pacer = nullptr;
};

struct WorkerSummary {
  int64_t claimed = 0;
  int64_t completed = 0;
  int64_t retried = 0;
  int64_t dead = 0;
  int64_t released = 0;   // given back unfinished at shutdown
  int64_t lost = 0;       // lease taken over by another worker; nothing written
  int64_t cancelled = 0;  // the image was deactivated after the job was queued
  bool stopped = false;   // by stop_requested or max_runtime
};

// Works until stopped, until --max-jobs jobs are finished, or (until_empty)
// until no job is open. Store errors propagate (the caller exits 69/75);
// everything about one image ends in that image's job.
WorkerSummary RunWorker(Store& store, Provider& provider, HttpTransport& http,
                        const WorkerOptions& options, const WorkerEnvironment& env);

// "host:pid:nonce" for this process.
std::string MakeWorkerOwner();

}  // namespace imgbackfill
