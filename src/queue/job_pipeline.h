// The in-process half of the worker: what happens to a claimed job between
// its claim and the transaction that records its outcome. Three stages run
// on two thread pools: load+decode+pHash on the decode pool (CPU), embedding
// batches and vision requests on the request pool (--concurrency threads,
// mostly waiting on the network). Finished jobs are handed back to the
// worker's main thread, the only one that talks to the Store.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "imgbackfill/failure.h"
#include "imgbackfill/provider.h"
#include "imgbackfill/types.h"
#include "queue/embed_batcher.h"
#include "queue/thread_pool.h"

namespace imgbackfill {

// One claimed job on its way through the stages.
struct JobWork {
  ClaimedJob claimed;
  bool moot = false;  // the image was deactivated after the job was queued
  bool need_phash = false;
  bool need_embedding = false;
  bool need_vision = false;
  PreparedImage image;

  std::mutex mu;  // guards what follows, written by the stages
  int pending = 0;
  AnalysisResults results;
  // The failure that decides the job: a permanent one wins over transient
  // ones; among transient ones the longest Retry-After wins.
  std::optional<Failure> failure;
  bool lost = false;  // the lease went to another worker
};

struct PipelineOptions {
  int concurrency = 4;
  int batch_size = 50;
  std::chrono::milliseconds batch_window{1500};
  LoadLimits load;
};

class JobPipeline {
 public:
  // `pacer` (may be null) is the provider's: a partial batch waits for its
  // next turn rather than for a request slot behind it.
  JobPipeline(Provider& provider, HttpTransport& http, const PipelineOptions& options,
              RequestPacer* pacer);
  // Waits for every submitted job to finish its stages.
  ~JobPipeline();

  // Decides the stages the job needs (force=false skips current ones) and
  // starts it. Never blocks on the network.
  void Submit(ClaimedJob claimed);
  // Jobs done with all their stages; waits until there is one or `until`.
  std::vector<std::shared_ptr<JobWork>> TakeFinished(std::chrono::steady_clock::time_point until);
  // Partial embedding batches go out now instead of waiting their window.
  void FlushBatches();
  // Whether the worker found the queue drained: then no image will join a
  // partial batch but those being prepared, so it goes out as soon as they
  // are (an --until-empty pass does not wait out --batch-window at its end).
  void SetDraining(bool draining);
  void Wake();

 private:
  void Prepare(const std::shared_ptr<JobWork>& work);
  void EmbedBatch(std::vector<std::shared_ptr<JobWork>> batch);
  void Describe(const std::shared_ptr<JobWork>& work);
  void StageFailed(JobWork& work, const char* stage, Failure failure);
  void StageDone(const std::shared_ptr<JobWork>& work);
  void Finish(const std::shared_ptr<JobWork>& work);
  // Runs `task` on the request pool, counting it until it has run.
  void PostRequest(std::function<void()> task);
  std::chrono::steady_clock::time_point RequestCouldGo();

  Provider& provider_;
  HttpTransport& http_;
  const PipelineOptions options_;
  RequestPacer* const pacer_;
  std::atomic<int> requests_outstanding_{0};  // posted and not yet run to the end
  std::atomic<int> preparing_{0};             // submitted to the decoders, not yet through
  std::atomic<bool> draining_{false};

  std::mutex finished_mu_;
  std::condition_variable finished_ready_;
  std::deque<std::shared_ptr<JobWork>> finished_;
  bool woken_ = false;

  // Constructed in this order (the batcher posts into the request pool);
  // the destructor closes them decoders first (see there).
  ThreadPool requests_;
  EmbedBatcher<std::shared_ptr<JobWork>> batcher_;
  ThreadPool decoders_;
};

}  // namespace imgbackfill
