// Store: everything imgbackfill keeps, behind one interface with one
// implementation per backend (SQLite now, PostgreSQL later). The backfill,
// import and status logic talk only to this interface.
//
// Contract, for every backend:
// - A Store is one connection. It is not thread-safe: give each thread its
//   own (OpenStore is cheap). Several processes may share one database.
// - Each method is atomic: it commits all of its writes or none of them.
// - Failures throw imgbackfill::Error whose message names the operation and
//   the database, with the backend's own code; a busy or locked database is
//   ErrorKind::kTryAgain, a missing or read-only one kUnavailable.
// - A method given an id that does not exist says so in its result (or
//   throws kFailed where noted); it never creates the row.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "imgbackfill/types.h"

namespace imgbackfill {

// An exclusive, process-lifetime hold on "the one backfill run of this
// database". Released when destroyed, and by the operating system or the
// database server when the holding process dies, however it dies.
class RunLock {
 public:
  virtual ~RunLock() = default;
};

struct LockAttempt {
  std::unique_ptr<RunLock> lock;  // set when acquired
  Holder holder;                  // when refused: who holds it
};

class Store {
 public:
  virtual ~Store() = default;

  // Where this store lives, for messages ("sqlite:/srv/catalog.db").
  virtual std::string Describe() const = 0;

  // ---- Schema -------------------------------------------------------------
  // Applies every migration newer than the database's version, each in its
  // own transaction. Idempotent. Throws kConfig if the database's schema is
  // newer than this binary knows.
  virtual MigrationReport Migrate() = 0;
  // Throws kConfig unless the schema is exactly the binary's version, with a
  // message that says to run `imgbackfill migrate` or to upgrade.
  virtual void RequireCurrentSchema() = 0;

  // ---- Images -------------------------------------------------------------
  // Upserts a batch in one transaction. A row with an id is upserted by id;
  // a row without one keeps the id of the image already at its location, or
  // gets a new id. Results are in the order of the rows.
  virtual std::vector<UpsertResult> UpsertImages(std::span<const ImageUpsert> rows) = 0;
  virtual std::optional<Image> FindImage(int64_t id) = 0;

  // ---- Backfill runs ------------------------------------------------------
  virtual LockAttempt TryLockBackfill(const Holder& me) = 0;
  // The run left running (its process died) or interrupted, if any. There is
  // at most one: the schema refuses a second.
  virtual std::optional<BackfillRun> FindUnfinishedRun() = 0;
  // Creates a run in state running, held by `holder`, cursor at the start.
  virtual BackfillRun CreateRun(const RunParams& params, const Holder& holder,
                                int64_t candidates_at_start) = 0;
  // Marks an unfinished run running again under a new holder (resume).
  virtual void AdoptRun(int64_t run_id, const Holder& holder) = 0;
  // Ends a run: completed, interrupted or failed (with `error`).
  virtual void FinishRun(int64_t run_id, RunState state, const std::string& error) = 0;
  virtual std::optional<BackfillRun> FindRun(int64_t run_id) = 0;
  virtual std::vector<BackfillRun> ListRecentRuns(int count) = 0;

  // ---- Backfill scope -----------------------------------------------------
  // Counts the images in scope, per group (see Scope).
  virtual ScopeCounts CountCandidates(const Scope& scope) = 0;
  // Up to `limit` images in scope after `after` in (group, id) order, all of
  // one group (the first group after the cursor that has any). Cost follows
  // the page: keyset reads on an index, never OFFSET.
  virtual std::vector<Candidate> ListCandidates(const Scope& scope, const Cursor& after,
                                                int limit) = 0;
  // In one transaction: enqueues the candidate's analysis job unless the
  // image left scope since it was listed (embedded, queued, deactivated or
  // regrouped meanwhile), and moves the run's cursor to the candidate,
  // counting it only when queued. The crash-safety of `run` rests on this.
  virtual EnqueueOutcome EnqueueAndCheckpoint(int64_t run_id, const Scope& scope,
                                              const Candidate& candidate) = 0;

  // ---- Jobs ---------------------------------------------------------------
  // Jobs of one image, oldest first (tests, `status`, debugging).
  virtual std::vector<Job> ListJobsForImage(int64_t image_id) = 0;

  // Claims up to `limit` jobs by priority then id, among the due ones
  // (available, or retryable whose run_at has come) and the running ones
  // whose lease expired (their worker died). Each is marked running under
  // `owner` with a lease of lease_ms from the database's clock, its attempt
  // counted. A job whose lease expired on its last attempt is not claimed
  // but ended dead ("the worker ... stopped"): a file that crashes every
  // worker must not be retried forever. Safe against concurrent claimers:
  // a job is claimed by one of them only.
  virtual std::vector<ClaimedJob> ClaimJobs(const ClaimParams& params) = 0;
  // Extends the leases `owner` still holds among `job_ids` to lease_ms from
  // now. Returns the ids it no longer holds (taken by another worker after
  // an expiry, or cancelled): their results must not be written.
  virtual std::vector<int64_t> ExtendLeases(const std::string& owner,
                                            std::span<const int64_t> job_ids, int64_t lease_ms) = 0;
  // In one transaction: writes the results (a new embedding replaces the
  // image's previous one and retags images.embedding_model) and marks the
  // job completed. Only while `owner` holds the job; false (nothing written)
  // when the lease was lost.
  virtual bool CompleteJob(int64_t job_id, const std::string& owner,
                           const AnalysisResults& results) = 0;
  // In one transaction: writes the partial results and makes the job
  // retryable at now + retry_in_ms, dead, or cancelled; last_error keeps
  // the error.
  // Only while `owner` holds the job; false when the lease was lost.
  virtual bool FailJob(int64_t job_id, const std::string& owner,
                       const JobFailureParams& params) = 0;
  // Gives unfinished jobs back (shutdown): available again, the attempt
  // uncounted, the lease cleared. Returns how many were released.
  virtual int64_t ReleaseJobs(const std::string& owner, std::span<const int64_t> job_ids) = 0;
  virtual QueueOutlook ReadQueueOutlook() = 0;
  // The stored results of one image (tests, debugging).
  virtual AnalysisResults ReadResults(int64_t image_id) = 0;

  // ---- Status -------------------------------------------------------------
  virtual Coverage ReadCoverage(const std::string& model) = 0;
  virtual std::map<std::string, int64_t> CountJobsByState() = 0;
};

// Opens the store a --db value or DATABASE_URL names: a path, sqlite:///path,
// or postgresql://... `create` allows a SQLite file that does not exist yet
// (only `migrate` passes it). Throws kConfig for a malformed URL, kUnavailable
// for a database that cannot be opened.
struct OpenOptions {
  bool create = false;
};
std::unique_ptr<Store> OpenStore(const std::string& url, const OpenOptions& options = {});

}  // namespace imgbackfill
