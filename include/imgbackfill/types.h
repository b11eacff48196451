// Plain records exchanged with the Store. No behaviour lives here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace imgbackfill {

// ---- Images ----------------------------------------------------------------

// Backfill priority groups: a product's primary image first, then the rest.
inline constexpr int kGroupProductPrimary = 0;
inline constexpr int kGroupOther = 1;

struct Image {
  int64_t id = 0;
  std::optional<std::string> product_id;
  bool is_primary = false;
  bool active = true;
  std::string location;
  std::optional<std::string> content_hash;
  std::optional<std::string> embedding_model;
  int group = kGroupOther;
};

struct ImageUpsert {
  std::optional<int64_t> id;  // absent: keep the id of the image at `location`
  std::string location;
  std::optional<std::string> product_id;
  bool is_primary = false;
  bool active = true;
  // Register only: an image already at this id (or location) is left as it
  // is and reported kUnchanged. A directory import sets it so that a re-scan
  // never clears the product or the active flag a manifest gave.
  bool keep_existing = false;
};

enum class UpsertOutcome { kInserted, kUpdated, kUnchanged };

struct UpsertResult {
  int64_t id = 0;
  UpsertOutcome outcome = UpsertOutcome::kUnchanged;
};

// ---- Jobs ------------------------------------------------------------------

enum class JobState { kAvailable, kRunning, kRetryable, kCompleted, kDead, kCancelled };
const char* ToString(JobState state);
std::optional<JobState> ParseJobState(const std::string& text);

struct Job {
  int64_t id = 0;
  int64_t image_id = 0;
  std::string kind;
  std::string args;  // JSON, e.g. {"force":false}
  JobState state = JobState::kAvailable;
  int priority = 0;
  int attempt = 0;
  int max_attempts = 0;
  std::optional<std::string> last_error;
};

// ---- The worker's side of the queue -----------------------------------------

// What an image already has, read when its job is claimed, so that a job
// with force=false skips the stages whose result is current.
struct AnalysisState {
  bool has_phash = false;
  std::optional<std::string> embedding_model;
  std::optional<std::string> vision_model;
};

struct ClaimedJob {
  Job job;
  Image image;
  AnalysisState current;
  bool force = false;  // from the job's args
};

struct ClaimParams {
  std::string owner;  // lease owner: "host:pid:nonce"
  int limit = 1;
  int64_t lease_ms = 60'000;
  // Written into each claimed job: the attempt that reaches it is the last.
  int max_attempts = 3;
};

struct EmbeddingResult {
  std::string model;
  std::vector<float> vector;
};

struct VisionResult {
  std::string model;
  std::string json;  // a JSON object
};

// What one job produced; a stage left empty is not written.
struct AnalysisResults {
  std::optional<uint64_t> phash;
  std::optional<EmbeddingResult> embedding;
  std::optional<VisionResult> vision;
  bool empty() const { return !phash && !embedding && !vision; }
};

// kCancel: the job is moot (its image was deactivated after it was queued):
// cancelled, with `error` saying why; neither a failure nor a result.
enum class FailureAction { kRetry, kDead, kCancel };

struct JobFailureParams {
  FailureAction action = FailureAction::kRetry;
  std::string error;
  int64_t retry_in_ms = 0;  // kRetry: run_at = now + this
  // Stages that did succeed are kept, so a retry with force=false skips them.
  AnalysisResults partial;
};

// Enough to decide whether to wait or stop (`work --until-empty`).
struct QueueOutlook {
  int64_t open = 0;     // available + running + retryable
  int64_t due_now = 0;  // claimable this instant (due, or lease expired)
  // Milliseconds until the next job becomes claimable, when open > due_now.
  std::optional<int64_t> next_due_in_ms;
};

// ---- Backfill runs ---------------------------------------------------------

enum class RunState { kRunning, kInterrupted, kCompleted, kFailed };
const char* ToString(RunState state);
std::optional<RunState> ParseRunState(const std::string& text);

// Position of a run: every candidate at or before (group, last_id) in
// (group, id) order has been dealt with. The start is (0, 0).
struct Cursor {
  int group = kGroupProductPrimary;
  int64_t last_id = 0;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

struct RunParams {
  std::string model;
  int64_t limit = 5000;
  bool product_images_only = false;
  bool include_dead = false;
  friend bool operator==(const RunParams&, const RunParams&) = default;
};

// Who holds (or held) the backfill lock.
struct Holder {
  std::string host;
  int64_t pid = 0;
  std::string since;  // UTC ISO-8601, when known
};

struct BackfillRun {
  int64_t id = 0;
  RunParams params;
  RunState state = RunState::kRunning;
  Cursor cursor;
  int64_t queued = 0;
  int64_t skipped = 0;
  std::optional<int64_t> candidates_at_start;
  Holder holder;
  std::string heartbeat_at;
  std::string started_at;
  std::optional<std::string> finished_at;
  std::optional<std::string> last_error;
};

// ---- Scope -----------------------------------------------------------------

// Which images a run walks: active ones whose embedding is missing or from a
// model other than `model`, with no open job, and (unless include_dead) whose
// latest job did not end dead.
struct Scope {
  std::string model;
  bool product_images_only = false;
  bool include_dead = false;
};

struct Candidate {
  int group = kGroupOther;
  int64_t image_id = 0;
};

struct ScopeCounts {
  int64_t group0 = 0;
  int64_t group1 = 0;  // zero when the scope is product images only
  int64_t total() const { return group0 + group1; }
};

enum class EnqueueOutcome { kQueued, kSkippedChanged };

// ---- Status ----------------------------------------------------------------

struct GroupCoverage {
  int group = 0;
  int64_t active = 0;
  int64_t current_model = 0;
  int64_t other_model = 0;
  int64_t missing = 0;
  // Active images left out of scope because their latest job ended dead.
  int64_t dead = 0;
  double percent() const {
    return active == 0 ? 100.0
                       : 100.0 * static_cast<double>(current_model) / static_cast<double>(active);
  }
};

struct Coverage {
  std::string model;
  std::vector<GroupCoverage> groups;  // group 0, then group 1
};

// ---- Schema ----------------------------------------------------------------

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;  // names of the migrations applied now
};

}  // namespace imgbackfill
