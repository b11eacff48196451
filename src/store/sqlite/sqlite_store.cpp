#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include "store/file_lock.h"
#include "store/migrations.h"
#include "store/sqlite/queries.h"
#include "store/sqlite/sqlite_errors.h"
#include "store/sqlite/write_transaction.h"

namespace imgbackfill {

namespace q = sqlite_sql;
namespace fs = std::filesystem;

namespace {

// The value bound to ?9 of the eligibility check: a state that excludes
// images whose latest job is dead, or one no job has, to include them.
const char* DeadStateFilter(bool include_dead) { return include_dead ? "-" : "dead"; }

std::optional<std::string> OptionalText(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getString();
}

void BindOptional(SQLite::Statement& st, int index, const std::optional<std::string>& value) {
  if (value) {
    st.bind(index, *value);
  } else {
    st.bind(index);
  }
}

BackfillRun ReadRun(SQLite::Statement& st) {
  BackfillRun run;
  run.id = st.getColumn(0).getInt64();
  run.params.model = st.getColumn(1).getString();
  run.params.limit = st.getColumn(2).getInt64();
  run.params.product_images_only = st.getColumn(3).getInt() != 0;
  run.params.include_dead = st.getColumn(4).getInt() != 0;
  run.state = ParseRunState(st.getColumn(5).getString()).value_or(RunState::kFailed);
  run.cursor.group = st.getColumn(6).getInt();
  run.cursor.last_id = st.getColumn(7).getInt64();
  run.queued = st.getColumn(8).getInt64();
  run.skipped = st.getColumn(9).getInt64();
  if (!st.getColumn(10).isNull()) run.candidates_at_start = st.getColumn(10).getInt64();
  run.holder.host = st.getColumn(11).getString();
  run.holder.pid = st.getColumn(12).getInt64();
  run.heartbeat_at = st.getColumn(13).getString();
  run.holder.since = run.heartbeat_at;
  run.started_at = st.getColumn(14).getString();
  run.finished_at = OptionalText(st.getColumn(15));
  run.last_error = OptionalText(st.getColumn(16));
  return run;
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, bool create) : path_(path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Error(ErrorKind::kConfig, "--db " + path + " is a directory, not a SQLite database file");
  }
  if (!create && !fs::exists(path, ec)) {
    throw Error(
        ErrorKind::kUnavailable,
        "database " + path + " does not exist. Create it with: imgbackfill migrate --db " + path);
  }
  WithSqliteErrors(Describe(), "open", [&] {
    int flags = SQLite::OPEN_READWRITE | (create ? SQLite::OPEN_CREATE : 0);
    db_ = std::make_unique<SQLite::Database>(path, flags, /*busyTimeoutMs=*/5000);
    if (sqlite3_db_readonly(db_->getHandle(), "main") == 1) {
      throw Error(ErrorKind::kUnavailable,
                  "database " + path +
                      " is read-only: imgbackfill needs write access to the file and its "
                      "directory (check their permissions)");
    }
    // The first read: a file that is not a database fails here with
    // SQLITE_NOTADB. Switching to WAL is a lasting change to the file, so a
    // database that imgbackfill never migrated (an empty file, another
    // program's database) is left exactly as it was when only opened:
    // RequireCurrentSchema refuses it anyway.
    const bool migrated = db_->execAndGet(q::kSchemaTableExists).getInt() != 0;
    if (create || migrated) {
      SQLite::Statement wal(*db_, q::kJournalModeWal);
      wal.executeStep();
    }
    db_->exec(q::kPragmas);
  });
}

SqliteStore::~SqliteStore() = default;

SQLite::Statement& SqliteStore::Prepared(std::unique_ptr<SQLite::Statement>& slot,
                                         const char* sql) {
  if (!slot) slot = std::make_unique<SQLite::Statement>(*db_, sql);
  slot->reset();
  return *slot;
}

// ---- Schema -----------------------------------------------------------------

int SqliteStore::SchemaVersion() {
  SQLite::Statement exists(*db_, q::kSchemaTableExists);
  exists.executeStep();
  if (exists.getColumn(0).getInt() == 0) return 0;
  SQLite::Statement version(*db_, q::kSchemaVersion);
  version.executeStep();
  return version.getColumn(0).getInt();
}

MigrationReport SqliteStore::Migrate() {
  return WithSqliteErrors(Describe(), "migrate", [&] {
    const auto& migrations = EmbeddedMigrations_sqlite();
    const int latest = LatestVersion(migrations);
    MigrationReport report;
    db_->exec(q::kCreateSchemaTable);
    report.from_version = SchemaVersion();
    if (report.from_version > latest) {
      throw Error(ErrorKind::kConfig, "database " + path_ + " has schema version " +
                                          std::to_string(report.from_version) +
                                          ", newer than this imgbackfill (" + IMGBACKFILL_VERSION +
                                          ", schema " + std::to_string(latest) +
                                          "): upgrade imgbackfill; the database was not changed");
    }
    for (const Migration& m : migrations) {
      WriteTransaction tx(*db_);
      // Re-read inside the write lock: a concurrent migrate may have won.
      if (SchemaVersion() >= m.version) continue;
      db_->exec(m.sql);
      SQLite::Statement record(*db_, q::kRecordMigration);
      record.bind(1, m.version);
      record.bind(2, m.name);
      record.exec();
      tx.Commit();
      report.applied.emplace_back(m.name);
    }
    report.to_version = SchemaVersion();
    return report;
  });
}

void SqliteStore::RequireCurrentSchema() {
  const int latest = LatestVersion(EmbeddedMigrations_sqlite());
  const int version =
      WithSqliteErrors(Describe(), "read schema version", [&] { return SchemaVersion(); });
  if (version > latest) {
    throw Error(ErrorKind::kConfig,
                "database " + path_ + " has schema version " + std::to_string(version) +
                    ", newer than this imgbackfill (" + IMGBACKFILL_VERSION + ", schema " +
                    std::to_string(latest) + "): upgrade imgbackfill");
  }
  if (version == 0) {
    throw Error(ErrorKind::kConfig,
                "database " + path_ +
                    " has no imgbackfill schema (it was never migrated, or is another "
                    "program's database): create the schema with: imgbackfill migrate --db " +
                    path_);
  }
  if (version < latest) {
    throw Error(ErrorKind::kConfig, "database " + path_ + " has schema version " +
                                        std::to_string(version) + ", this imgbackfill needs " +
                                        std::to_string(latest) + ": run imgbackfill migrate --db " +
                                        path_);
  }
}

// ---- Images -----------------------------------------------------------------

std::vector<UpsertResult> SqliteStore::UpsertImages(std::span<const ImageUpsert> rows) {
  return WithSqliteErrors(Describe(), "import images", [&] {
    std::vector<UpsertResult> results;
    results.reserve(rows.size());
    WriteTransaction tx(*db_);
    SQLite::Statement by_location(*db_, q::kFindImageIdByLocation);
    SQLite::Statement existing(*db_, q::kFindImageForUpsert);
    SQLite::Statement insert(*db_, q::kInsertImage);
    SQLite::Statement update(*db_, q::kUpdateImage);
    for (const ImageUpsert& row : rows) {
      std::optional<int64_t> id = row.id;
      if (!id) {
        by_location.reset();
        by_location.bind(1, row.location);
        if (by_location.executeStep()) id = by_location.getColumn(0).getInt64();
      }
      UpsertResult result;
      bool found = false;
      if (id) {
        existing.reset();
        existing.bind(1, *id);
        if (existing.executeStep()) {
          found = true;
          const bool same =
              row.keep_existing || (existing.getColumn(0).getString() == row.location &&
                                    OptionalText(existing.getColumn(1)) == row.product_id &&
                                    (existing.getColumn(2).getInt() != 0) == row.is_primary &&
                                    (existing.getColumn(3).getInt() != 0) == row.active);
          result = {*id, same ? UpsertOutcome::kUnchanged : UpsertOutcome::kUpdated};
          if (!same) {
            update.reset();
            update.bind(1, *id);
            update.bind(2, row.location);
            BindOptional(update, 3, row.product_id);
            update.bind(4, row.is_primary ? 1 : 0);
            update.bind(5, row.active ? 1 : 0);
            update.exec();
          }
        }
      }
      if (!found) {
        insert.reset();
        if (id) {
          insert.bind(1, *id);
        } else {
          insert.bind(1);
        }
        insert.bind(2, row.location);
        BindOptional(insert, 3, row.product_id);
        insert.bind(4, row.is_primary ? 1 : 0);
        insert.bind(5, row.active ? 1 : 0);
        insert.exec();
        result = {db_->getLastInsertRowid(), UpsertOutcome::kInserted};
      }
      results.push_back(result);
    }
    tx.Commit();
    return results;
  });
}

std::optional<Image> SqliteStore::FindImage(int64_t id) {
  return WithSqliteErrors(Describe(), "read image", [&]() -> std::optional<Image> {
    SQLite::Statement st(*db_, q::kFindImage);
    st.bind(1, id);
    if (!st.executeStep()) return std::nullopt;
    Image image;
    image.id = st.getColumn(0).getInt64();
    image.product_id = OptionalText(st.getColumn(1));
    image.is_primary = st.getColumn(2).getInt() != 0;
    image.active = st.getColumn(3).getInt() != 0;
    image.location = st.getColumn(4).getString();
    image.content_hash = OptionalText(st.getColumn(5));
    image.embedding_model = OptionalText(st.getColumn(6));
    image.group = st.getColumn(7).getInt();
    return image;
  });
}

// ---- Backfill runs ----------------------------------------------------------

LockAttempt SqliteStore::TryLockBackfill(const Holder& me) {
  // The lock lives beside the database, not in it: a flock dies with its
  // process, so a crashed run can never wedge the next one, and no stale-
  // heartbeat guesswork is needed on one machine.
  return TryLockFile(path_ + ".backfill-lock", me);
}

std::optional<BackfillRun> SqliteStore::FindUnfinishedRun() {
  return WithSqliteErrors(Describe(), "find unfinished run", [&]() -> std::optional<BackfillRun> {
    SQLite::Statement st(*db_, q::kFindUnfinishedRun);
    if (!st.executeStep()) return std::nullopt;
    return ReadRun(st);
  });
}

BackfillRun SqliteStore::CreateRun(const RunParams& params, const Holder& holder,
                                   int64_t candidates_at_start) {
  const int64_t id = WithSqliteErrors(Describe(), "create backfill run", [&] {
    SQLite::Statement st(*db_, q::kInsertRun);
    st.bind(1, params.model);
    st.bind(2, params.limit);
    st.bind(3, params.product_images_only ? 1 : 0);
    st.bind(4, params.include_dead ? 1 : 0);
    st.bind(5, candidates_at_start);
    st.bind(6, holder.host);
    st.bind(7, holder.pid);
    st.exec();
    return db_->getLastInsertRowid();
  });
  return FindRun(id).value();
}

void SqliteStore::AdoptRun(int64_t run_id, const Holder& holder) {
  WithSqliteErrors(Describe(), "resume backfill run", [&] {
    SQLite::Statement st(*db_, q::kAdoptRun);
    st.bind(1, holder.host);
    st.bind(2, holder.pid);
    st.bind(3, run_id);
    if (st.exec() != 1) {
      throw Error(ErrorKind::kFailed,
                  "backfill run " + std::to_string(run_id) + " is no longer unfinished");
    }
  });
}

void SqliteStore::FinishRun(int64_t run_id, RunState state, const std::string& error) {
  WithSqliteErrors(Describe(), "end backfill run", [&] {
    SQLite::Statement st(*db_, q::kFinishRun);
    st.bind(1, ToString(state));
    st.bind(2, error);
    st.bind(3, run_id);
    st.exec();
  });
}

std::optional<BackfillRun> SqliteStore::FindRun(int64_t run_id) {
  return WithSqliteErrors(Describe(), "read backfill run", [&]() -> std::optional<BackfillRun> {
    SQLite::Statement st(*db_, q::kFindRun);
    st.bind(1, run_id);
    if (!st.executeStep()) return std::nullopt;
    return ReadRun(st);
  });
}

std::vector<BackfillRun> SqliteStore::ListRecentRuns(int count) {
  return WithSqliteErrors(Describe(), "list backfill runs", [&] {
    std::vector<BackfillRun> runs;
    SQLite::Statement st(*db_, q::kRecentRuns);
    st.bind(1, count);
    while (st.executeStep()) runs.push_back(ReadRun(st));
    return runs;
  });
}

// ---- Backfill scope ---------------------------------------------------------

std::vector<std::optional<std::string>> SqliteStore::ScopeStreams(const std::string& target) {
  std::vector<std::optional<std::string>> streams{std::nullopt};
  SQLite::Statement& next = Prepared(next_model_, q::kNextEmbeddingModel);
  std::string previous;
  for (;;) {
    next.reset();
    next.bind(1, previous);
    if (!next.executeStep()) break;
    previous = next.getColumn(0).getString();
    if (previous != target) streams.emplace_back(previous);
  }
  return streams;
}

ScopeCounts SqliteStore::CountCandidates(const Scope& scope) {
  return WithSqliteErrors(Describe(), "count backfill candidates", [&] {
    ScopeCounts counts;
    SQLite::Statement st(*db_, q::kCountStream);
    for (const auto& model : ScopeStreams(scope.model)) {
      for (int group : {kGroupProductPrimary, kGroupOther}) {
        if (group == kGroupOther && scope.product_images_only) continue;
        st.reset();
        BindOptional(st, 1, model);
        st.bind(2, group);
        st.bind(9, DeadStateFilter(scope.include_dead));
        st.executeStep();
        (group == kGroupProductPrimary ? counts.group0 : counts.group1) +=
            st.getColumn(0).getInt64();
      }
    }
    return counts;
  });
}

std::vector<Candidate> SqliteStore::ListCandidates(const Scope& scope, const Cursor& after,
                                                   int limit) {
  return WithSqliteErrors(Describe(), "list backfill candidates", [&] {
    const auto streams = ScopeStreams(scope.model);
    const int last_group = scope.product_images_only ? kGroupProductPrimary : kGroupOther;
    std::vector<Candidate> page;
    for (int group = after.group; group <= last_group && page.empty(); ++group) {
      const int64_t after_id = group == after.group ? after.last_id : 0;
      // Each stream is in id order on the index; the first `limit` ids of the
      // union are among the first `limit` of each stream.
      std::vector<int64_t> ids;
      SQLite::Statement& st = Prepared(list_stream_, q::kListStream);
      for (const auto& model : streams) {
        st.reset();
        BindOptional(st, 1, model);
        st.bind(2, group);
        st.bind(3, after_id);
        st.bind(4, limit);
        st.bind(9, DeadStateFilter(scope.include_dead));
        while (st.executeStep()) ids.push_back(st.getColumn(0).getInt64());
      }
      std::sort(ids.begin(), ids.end());
      if (ids.size() > static_cast<size_t>(limit)) ids.resize(static_cast<size_t>(limit));
      for (int64_t id : ids) page.push_back({group, id});
    }
    return page;
  });
}

EnqueueOutcome SqliteStore::EnqueueAndCheckpoint(int64_t run_id, const Scope& scope,
                                                 const Candidate& candidate) {
  try {
    Prepared(begin_, "BEGIN IMMEDIATE").exec();
    try {
      SQLite::Statement& enqueue = Prepared(enqueue_, q::kEnqueueIfInScope);
      enqueue.bind(1, candidate.image_id);
      enqueue.bind(2, candidate.group);
      enqueue.bind(3, scope.model);
      enqueue.bind(9, DeadStateFilter(scope.include_dead));
      const bool queued = enqueue.exec() == 1;

      SQLite::Statement& checkpoint = Prepared(checkpoint_, q::kCheckpoint);
      checkpoint.bind(1, candidate.group);
      checkpoint.bind(2, candidate.image_id);
      checkpoint.bind(3, queued ? 1 : 0);
      checkpoint.bind(4, queued ? 0 : 1);
      checkpoint.bind(5, run_id);
      if (checkpoint.exec() != 1) {
        throw Error(ErrorKind::kFailed, "backfill run " + std::to_string(run_id) +
                                            " is no longer running (was it ended by another "
                                            "process?); nothing was enqueued");
      }
      Prepared(commit_, "COMMIT").exec();
      return queued ? EnqueueOutcome::kQueued : EnqueueOutcome::kSkippedChanged;
    } catch (...) {
      db_->tryExec("ROLLBACK");
      throw;
    }
  } catch (const SQLite::Exception& e) {
    throw TranslateSqliteError(e, "enqueue image " + std::to_string(candidate.image_id),
                               Describe());
  }
}

// ---- Jobs and status --------------------------------------------------------

std::vector<Job> SqliteStore::ListJobsForImage(int64_t image_id) {
  return WithSqliteErrors(Describe(), "list jobs", [&] {
    std::vector<Job> jobs;
    SQLite::Statement st(*db_, q::kJobsForImage);
    st.bind(1, image_id);
    while (st.executeStep()) {
      Job job;
      job.id = st.getColumn(0).getInt64();
      job.image_id = st.getColumn(1).getInt64();
      job.kind = st.getColumn(2).getString();
      job.args = st.getColumn(3).getString();
      job.state = ParseJobState(st.getColumn(4).getString()).value_or(JobState::kDead);
      job.priority = st.getColumn(5).getInt();
      job.attempt = st.getColumn(6).getInt();
      job.max_attempts = st.getColumn(7).getInt();
      job.last_error = OptionalText(st.getColumn(8));
      jobs.push_back(std::move(job));
    }
    return jobs;
  });
}

Coverage SqliteStore::ReadCoverage(const std::string& model) {
  return WithSqliteErrors(Describe(), "read coverage", [&] {
    Coverage coverage;
    coverage.model = model;
    coverage.groups = {GroupCoverage{kGroupProductPrimary}, GroupCoverage{kGroupOther}};
    SQLite::Statement st(*db_, q::kCoverage);
    st.bind(1, model);
    while (st.executeStep()) {
      GroupCoverage& g = coverage.groups.at(static_cast<size_t>(st.getColumn(0).getInt()));
      g.active = st.getColumn(1).getInt64();
      g.current_model = static_cast<int64_t>(st.getColumn(2).getDouble());
      g.other_model = static_cast<int64_t>(st.getColumn(3).getDouble());
      g.missing = static_cast<int64_t>(st.getColumn(4).getDouble());
    }
    SQLite::Statement dead(*db_, q::kDeadImagesPerGroup);
    dead.bind(1, model);
    while (dead.executeStep()) {
      coverage.groups.at(static_cast<size_t>(dead.getColumn(0).getInt())).dead =
          dead.getColumn(1).getInt64();
    }
    return coverage;
  });
}

std::map<std::string, int64_t> SqliteStore::CountJobsByState() {
  return WithSqliteErrors(Describe(), "count jobs", [&] {
    std::map<std::string, int64_t> counts;
    for (auto state : {JobState::kAvailable, JobState::kRunning, JobState::kRetryable,
                       JobState::kCompleted, JobState::kDead, JobState::kCancelled}) {
      counts[ToString(state)] = 0;
    }
    SQLite::Statement st(*db_, q::kJobsByState);
    while (st.executeStep()) counts[st.getColumn(0).getString()] = st.getColumn(1).getInt64();
    return counts;
  });
}

}  // namespace imgbackfill
