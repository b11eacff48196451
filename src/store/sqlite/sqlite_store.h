// The SQLite backend of Store: one file, WAL mode, foreign keys on, a busy
// timeout, and a page cache sized for per-record commits.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <memory>
#include <string>

#include "imgbackfill/store.h"

namespace imgbackfill {

class SqliteStore : public Store {
 public:
  // Opens `path`; with `create`, makes the file if it does not exist.
  SqliteStore(const std::string& path, bool create);
  ~SqliteStore() override;

  std::string Describe() const override { return "sqlite:" + path_; }

  MigrationReport Migrate() override;
  void RequireCurrentSchema() override;

  std::vector<UpsertResult> UpsertImages(std::span<const ImageUpsert> rows) override;
  std::optional<Image> FindImage(int64_t id) override;

  LockAttempt TryLockBackfill(const Holder& me) override;
  std::optional<BackfillRun> FindUnfinishedRun() override;
  BackfillRun CreateRun(const RunParams& params, const Holder& holder,
                        int64_t candidates_at_start) override;
  void AdoptRun(int64_t run_id, const Holder& holder) override;
  void FinishRun(int64_t run_id, RunState state, const std::string& error) override;
  std::optional<BackfillRun> FindRun(int64_t run_id) override;
  std::vector<BackfillRun> ListRecentRuns(int count) override;

  ScopeCounts CountCandidates(const Scope& scope) override;
  std::vector<Candidate> ListCandidates(const Scope& scope, const Cursor& after,
                                        int limit) override;
  EnqueueOutcome EnqueueAndCheckpoint(int64_t run_id, const Scope& scope,
                                      const Candidate& candidate) override;

  std::vector<Job> ListJobsForImage(int64_t image_id) override;
  std::vector<ClaimedJob> ClaimJobs(const ClaimParams& params) override;
  std::vector<int64_t> ExtendLeases(const std::string& owner, std::span<const int64_t> job_ids,
                                    int64_t lease_ms) override;
  bool CompleteJob(int64_t job_id, const std::string& owner,
                   const AnalysisResults& results) override;
  bool FailJob(int64_t job_id, const std::string& owner, const JobFailureParams& params) override;
  int64_t ReleaseJobs(const std::string& owner, std::span<const int64_t> job_ids) override;
  QueueOutlook ReadQueueOutlook() override;
  AnalysisResults ReadResults(int64_t image_id) override;

  Coverage ReadCoverage(const std::string& model) override;
  std::map<std::string, int64_t> CountJobsByState() override;

  // The raw connection, for tests and benchmarks that inspect the file.
  SQLite::Database& database() { return *db_; }

 private:
  int SchemaVersion();
  // The embedding models present, other than `target`, plus "no embedding"
  // (nullopt): each names one stream of the scope.
  std::vector<std::optional<std::string>> ScopeStreams(const std::string& target);
  void WriteResults(int64_t image_id, const AnalysisResults& results);
  SQLite::Statement& Prepared(std::unique_ptr<SQLite::Statement>& slot, const char* sql);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  // Statements of the per-record path, prepared once.
  std::unique_ptr<SQLite::Statement> begin_, commit_, enqueue_, checkpoint_, list_stream_,
      next_model_, complete_, fail_, upsert_phash_, upsert_embedding_, tag_embedding_,
      upsert_vision_;
};

}  // namespace imgbackfill
