// The worker's main thread: the only one that talks to the Store. It claims
// jobs while there is room, renews their leases, and records each finished
// job in one transaction; the stages run in JobPipeline.
#include "imgbackfill/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>

#include "queue/job_pipeline.h"
#include "queue/retry_policy.h"

namespace imgbackfill {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string JobName(const ClaimedJob& claimed) {
  return "job " + std::to_string(claimed.job.id) + " (image " + std::to_string(claimed.image.id) +
         ", " + claimed.image.location + ")";
}

class Worker {
 public:
  Worker(Store& store, Provider& provider, HttpTransport& http, const WorkerOptions& options,
         const WorkerEnvironment& env)
      : store_(store),
        options_(options),
        env_(env),
        pipeline_(provider, http,
                  PipelineOptions{options.concurrency, options.batch_size, options.batch_window,
                                  options.load},
                  env.pacer),
        started_(Clock::now()) {
    policy_.max_attempts = options.max_attempts;
    policy_.base_delay = options.retry_delay;
    policy_.max_delay = options.max_retry_delay;
  }

  WorkerSummary Run();

 private:
  int Capacity() const {
    // Every request slot's full batch, and one batch more: when an answer
    // comes back, the next batch is decoded and waiting for its slot rather
    // than claimed only then (docs/benchmarks.md, finding G). The jobs held
    // ahead wait one request's latency, far inside their lease.
    return std::max(1, (options_.concurrency + 1) * options_.batch_size);
  }
  // How many jobs to claim now: the free capacity (within --max-jobs), or
  // 0 while that is less than a batch and jobs are in hand. Claims come a
  // batch at a time, not a job at a time as results are recorded one by
  // one: a transaction per batch rather than per job.
  int ClaimSize() const {
    int want = Capacity() - static_cast<int>(in_flight_.size());
    int enough = options_.batch_size;
    if (options_.max_jobs > 0) {
      const int64_t left = options_.max_jobs - summary_.claimed;
      want = static_cast<int>(std::min<int64_t>(want, left));
      enough = static_cast<int>(std::min<int64_t>(enough, left));
    }
    if (want <= 0 || (want < enough && !in_flight_.empty())) return 0;
    return want;
  }
  bool ShouldStop();
  void BeginStopping();
  // Claims up to the free capacity; returns whether the queue had as many
  // due jobs as were asked for (false: it is drained for now).
  bool Claim();
  void Heartbeat();
  void Record(const std::shared_ptr<JobWork>& work);
  void LogProgress();

  Store& store_;
  const WorkerOptions& options_;
  const WorkerEnvironment& env_;
  RetryPolicy policy_;
  JobPipeline pipeline_;
  struct Held {
    std::string name;   // for messages
    bool lost = false;  // the heartbeat found the lease gone
  };
  std::map<int64_t, Held> in_flight_;  // by job id
  WorkerSummary summary_;
  bool stopping_ = false;
  Clock::time_point started_;
  Clock::time_point next_heartbeat_;
  int64_t finished_ = 0;
};

bool Worker::ShouldStop() {
  if (env_.stop_requested()) return true;
  return options_.max_runtime && Clock::now() - started_ >= *options_.max_runtime;
}

void Worker::BeginStopping() {
  if (stopping_) return;
  stopping_ = true;
  summary_.stopped = true;
  spdlog::info("stopping: finishing {} job(s) in flight, claiming no more", in_flight_.size());
  // Requests still waiting for the rate limit give up at once; their jobs
  // are released rather than failed.
  if (env_.pacer != nullptr) env_.pacer->Close();
  pipeline_.FlushBatches();
}

bool Worker::Claim() {
  const int want = ClaimSize();
  if (want == 0) return true;
  std::vector<ClaimedJob> jobs = store_.ClaimJobs(
      ClaimParams{env_.owner, want, options_.lease.count(), options_.max_attempts});
  summary_.claimed += static_cast<int64_t>(jobs.size());
  const bool full = static_cast<int>(jobs.size()) == want;
  for (ClaimedJob& claimed : jobs) {
    const int64_t id = claimed.job.id;
    spdlog::debug("claimed {} attempt {} of {}", JobName(claimed), claimed.job.attempt,
                  claimed.job.max_attempts);
    in_flight_[id] = Held{JobName(claimed), false};
    pipeline_.Submit(std::move(claimed));
  }
  return full;
}

void Worker::Heartbeat() {
  const auto now = Clock::now();
  if (now < next_heartbeat_) return;
  next_heartbeat_ = now + options_.lease / 3;
  if (in_flight_.empty()) return;
  std::vector<int64_t> ids;
  ids.reserve(in_flight_.size());
  for (const auto& [id, held] : in_flight_) ids.push_back(id);
  for (int64_t id : store_.ExtendLeases(env_.owner, ids, options_.lease.count())) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) continue;
    spdlog::warn(
        "lost the lease on {}: another worker took it over or it was cancelled; "
        "its results will not be written",
        it->second.name);
    it->second.lost = true;
  }
}

void Worker::Record(const std::shared_ptr<JobWork>& work) {
  const ClaimedJob& claimed = work->claimed;
  const int64_t id = claimed.job.id;
  auto it = in_flight_.find(id);
  const bool lost = it != in_flight_.end() && it->second.lost;
  in_flight_.erase(id);
  ++finished_;
  bool held = !lost;
  if (held && work->moot) {
    JobFailureParams params;
    params.action = FailureAction::kCancel;
    params.error = "image " + std::to_string(claimed.image.id) +
                   " was deactivated after this job was queued; not analyzed";
    held = store_.FailJob(id, env_.owner, params);
    if (held) {
      ++summary_.cancelled;
      spdlog::info("{}: cancelled, the image was deactivated after it was queued",
                   JobName(claimed));
    }
  } else if (held && !work->failure) {
    held = store_.CompleteJob(id, env_.owner, work->results);
    if (held) {
      ++summary_.completed;
      spdlog::debug("completed {}", JobName(claimed));
    }
  } else if (held && stopping_ && work->failure->transient) {
    held = store_.ReleaseJobs(env_.owner, std::vector<int64_t>{id}) == 1;
    if (held) ++summary_.released;
  } else if (held) {
    const double random = env_.random ? env_.random() : 0.5;
    JobFailureParams params = DecideFailure(*work->failure, claimed.job.attempt, policy_, random);
    params.partial = work->results;
    held = store_.FailJob(id, env_.owner, params);
    if (held && params.action == FailureAction::kDead) {
      ++summary_.dead;
      spdlog::warn("{} is dead: {}", JobName(claimed), params.error);
    } else if (held) {
      ++summary_.retried;
      spdlog::info("{} will be retried in {:.1f}s (attempt {} of {} failed): {}", JobName(claimed),
                   static_cast<double>(params.retry_in_ms) / 1000.0, claimed.job.attempt,
                   claimed.job.max_attempts, params.error);
    }
  }
  if (!held) {
    ++summary_.lost;
    spdlog::warn("{}: lease lost before its outcome was written; another worker has it",
                 JobName(claimed));
  }
  if (options_.log_every > 0 && finished_ % options_.log_every == 0) LogProgress();
}

void Worker::LogProgress() {
  const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  spdlog::info("{} jobs finished: {} completed, {} to retry, {} dead ({:.1f} jobs/s)", finished_,
               summary_.completed, summary_.retried, summary_.dead,
               seconds > 0 ? static_cast<double>(finished_) / seconds : 0.0);
}

WorkerSummary Worker::Run() {
  bool queue_drained = false;
  Clock::time_point next_claim = Clock::now();
  for (;;) {
    if (!stopping_ && ShouldStop()) BeginStopping();
    const bool max_jobs_reached = options_.max_jobs > 0 && summary_.claimed >= options_.max_jobs;
    if ((stopping_ || max_jobs_reached) && in_flight_.empty()) break;
    if (max_jobs_reached) pipeline_.SetDraining(true);  // nothing more will be claimed

    if (!stopping_ && !max_jobs_reached && Clock::now() >= next_claim) {
      queue_drained = !Claim();
      pipeline_.SetDraining(queue_drained);
      if (queue_drained && in_flight_.empty()) {
        const QueueOutlook outlook = store_.ReadQueueOutlook();
        if (outlook.open == 0 && options_.until_empty) {
          spdlog::info("the queue is empty");
          break;
        }
        // Sleep until the next retry or lease expiry, polling at least
        // every poll_interval for jobs that other processes enqueue.
        milliseconds wait = options_.poll_interval;
        if (outlook.next_due_in_ms) {
          wait = std::clamp(milliseconds(*outlook.next_due_in_ms + 5), milliseconds(1), wait);
        }
        next_claim = Clock::now() + wait;
      } else if (queue_drained) {
        next_claim = Clock::now() + options_.poll_interval;
      }
    }
    Heartbeat();

    Clock::time_point wake = next_heartbeat_;
    if (!stopping_ && !max_jobs_reached) {
      if (ClaimSize() > 0) wake = std::min(wake, next_claim);
    }
    // Signals are polled at least this often.
    wake = std::min(wake, Clock::now() + milliseconds(100));
    const bool had_work = !in_flight_.empty();
    for (const auto& work : pipeline_.TakeFinished(wake)) Record(work);
    // The last job in hand is recorded: look at the queue again now rather
    // than a poll interval later (an --until-empty pass ends at once).
    if (had_work && in_flight_.empty()) next_claim = Clock::now();
  }
  if (finished_ > 0) LogProgress();
  return summary_;
}

}  // namespace

WorkerSummary RunWorker(Store& store, Provider& provider, HttpTransport& http,
                        const WorkerOptions& options, const WorkerEnvironment& env) {
  Worker worker(store, provider, http, options, env);
  return worker.Run();
}

std::string MakeWorkerOwner() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  std::random_device device;
  char nonce[9];
  std::snprintf(nonce, sizeof nonce, "%08x", device());
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + nonce;
}

}  // namespace imgbackfill
