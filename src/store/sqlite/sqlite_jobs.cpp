// The worker's side of the queue on SQLite: claims, leases, completions.
// SQLite has one writer at a time, so a claim (one UPDATE ... RETURNING in
// a write transaction) can never hand a job to two workers.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "store/sqlite/queries.h"
#include "store/sqlite/sqlite_errors.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/write_transaction.h"

namespace imgbackfill {

namespace q = sqlite_sql;

namespace {

// SQLite's datetime modifiers take fractional seconds: "+1.500 seconds".
std::string SecondsModifier(int64_t ms) {
  char text[48];
  std::snprintf(text, sizeof text, "%+.3f seconds", static_cast<double>(ms) / 1000.0);
  return text;
}

std::optional<std::string> OptionalColumn(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getString();
}

ClaimedJob ReadClaimedJob(SQLite::Statement& st) {
  ClaimedJob claimed;
  Job& job = claimed.job;
  job.id = st.getColumn(0).getInt64();
  job.image_id = st.getColumn(1).getInt64();
  job.kind = st.getColumn(2).getString();
  job.args = st.getColumn(3).getString();
  job.state = JobState::kRunning;
  job.priority = st.getColumn(4).getInt();
  job.attempt = st.getColumn(5).getInt();
  job.max_attempts = st.getColumn(6).getInt();
  job.last_error = OptionalColumn(st.getColumn(7));
  Image& image = claimed.image;
  image.id = job.image_id;
  image.product_id = OptionalColumn(st.getColumn(8));
  image.is_primary = st.getColumn(9).getInt() != 0;
  image.active = st.getColumn(10).getInt() != 0;
  image.location = st.getColumn(11).getString();
  image.content_hash = OptionalColumn(st.getColumn(12));
  image.embedding_model = OptionalColumn(st.getColumn(13));
  image.group = st.getColumn(14).getInt();
  claimed.current.has_phash = st.getColumn(15).getInt() != 0;
  claimed.current.embedding_model = OptionalColumn(st.getColumn(16));
  claimed.current.vision_model = OptionalColumn(st.getColumn(17));
  claimed.force = st.getColumn(18).getInt() != 0;
  return claimed;
}

}  // namespace

std::vector<ClaimedJob> SqliteStore::ClaimJobs(const ClaimParams& params) {
  return WithSqliteErrors(Describe(), "claim jobs", [&] {
    WriteTransaction tx(*db_);
    db_->exec(q::kBuryExpiredLastAttempts);
    std::vector<int64_t> ids;
    {
      SQLite::Statement claim(*db_, q::kClaim);
      claim.bind(1, params.owner);
      claim.bind(2, params.max_attempts);
      claim.bind(3, SecondsModifier(params.lease_ms));
      claim.bind(4, params.limit);
      while (claim.executeStep()) ids.push_back(claim.getColumn(0).getInt64());
    }
    // RETURNING gives no order; workers take jobs by priority then id.
    std::vector<ClaimedJob> jobs;
    jobs.reserve(ids.size());
    SQLite::Statement read(*db_, q::kClaimedJob);
    for (int64_t id : ids) {
      read.reset();
      read.bind(1, id);
      if (read.executeStep()) jobs.push_back(ReadClaimedJob(read));
    }
    tx.Commit();
    std::sort(jobs.begin(), jobs.end(), [](const ClaimedJob& a, const ClaimedJob& b) {
      return std::pair(a.job.priority, a.job.id) < std::pair(b.job.priority, b.job.id);
    });
    return jobs;
  });
}

std::vector<int64_t> SqliteStore::ExtendLeases(const std::string& owner,
                                               std::span<const int64_t> job_ids, int64_t lease_ms) {
  return WithSqliteErrors(Describe(), "extend leases", [&] {
    std::vector<int64_t> lost;
    WriteTransaction tx(*db_);
    SQLite::Statement extend(*db_, q::kExtendLease);
    const std::string later = SecondsModifier(lease_ms);
    for (int64_t id : job_ids) {
      extend.reset();
      extend.bind(1, later);
      extend.bind(2, id);
      extend.bind(3, owner);
      if (extend.exec() == 0) lost.push_back(id);
    }
    tx.Commit();
    return lost;
  });
}

void SqliteStore::WriteResults(int64_t image_id, const AnalysisResults& results) {
  if (results.phash) {
    SQLite::Statement& st = Prepared(upsert_phash_, q::kUpsertPhash);
    st.bind(1, image_id);
    // The 64 bits as SQLite's signed INTEGER; read back with the same cast.
    st.bind(2, std::bit_cast<int64_t>(*results.phash));
    st.exec();
  }
  if (results.embedding) {
    const auto& vector = results.embedding->vector;
    SQLite::Statement& st = Prepared(upsert_embedding_, q::kUpsertEmbedding);
    st.bind(1, image_id);
    st.bind(2, results.embedding->model);
    st.bind(3, static_cast<int64_t>(vector.size()));
    // Little-endian float32, the layout vector extensions read directly.
    st.bind(4, vector.data(), static_cast<int>(vector.size() * sizeof(float)));
    st.exec();
    SQLite::Statement& tag = Prepared(tag_embedding_, q::kTagEmbedding);
    tag.bind(1, image_id);
    tag.bind(2, results.embedding->model);
    tag.exec();
  }
  if (results.vision) {
    SQLite::Statement& st = Prepared(upsert_vision_, q::kUpsertVision);
    st.bind(1, image_id);
    st.bind(2, results.vision->model);
    st.bind(3, results.vision->json);
    st.exec();
  }
}

bool SqliteStore::CompleteJob(int64_t job_id, const std::string& owner,
                              const AnalysisResults& results) {
  return WithSqliteErrors(Describe(), "complete a job", [&] {
    WriteTransaction tx(*db_);
    SQLite::Statement& complete = Prepared(complete_, q::kCompleteJob);
    complete.bind(1, job_id);
    complete.bind(2, owner);
    if (!complete.executeStep()) return false;  // lease lost: write nothing
    const int64_t image_id = complete.getColumn(0).getInt64();
    complete.reset();
    WriteResults(image_id, results);
    tx.Commit();
    return true;
  });
}

bool SqliteStore::FailJob(int64_t job_id, const std::string& owner,
                          const JobFailureParams& params) {
  return WithSqliteErrors(Describe(), "record a job's failure", [&] {
    WriteTransaction tx(*db_);
    SQLite::Statement& fail = Prepared(fail_, q::kFailJob);
    fail.bind(1, job_id);
    fail.bind(2, owner);
    fail.bind(3, params.action == FailureAction::kRetry  ? "retryable"
                 : params.action == FailureAction::kDead ? "dead"
                                                         : "cancelled");
    fail.bind(4, params.error);
    fail.bind(5, SecondsModifier(params.retry_in_ms));
    if (!fail.executeStep()) return false;
    const int64_t image_id = fail.getColumn(0).getInt64();
    fail.reset();
    WriteResults(image_id, params.partial);
    tx.Commit();
    return true;
  });
}

int64_t SqliteStore::ReleaseJobs(const std::string& owner, std::span<const int64_t> job_ids) {
  return WithSqliteErrors(Describe(), "release jobs", [&] {
    int64_t released = 0;
    WriteTransaction tx(*db_);
    SQLite::Statement release(*db_, q::kReleaseJob);
    for (int64_t id : job_ids) {
      release.reset();
      release.bind(1, id);
      release.bind(2, owner);
      released += release.exec();
    }
    tx.Commit();
    return released;
  });
}

QueueOutlook SqliteStore::ReadQueueOutlook() {
  return WithSqliteErrors(Describe(), "read the queue", [&] {
    SQLite::Statement st(*db_, q::kQueueOutlook);
    st.executeStep();
    QueueOutlook outlook;
    outlook.open = st.getColumn(0).getInt64();
    outlook.due_now = st.getColumn(1).getInt64();
    if (!st.getColumn(2).isNull()) {
      outlook.next_due_in_ms = std::max<int64_t>(0, st.getColumn(2).getInt64());
    }
    return outlook;
  });
}

AnalysisResults SqliteStore::ReadResults(int64_t image_id) {
  return WithSqliteErrors(Describe(), "read results", [&] {
    SQLite::Statement st(*db_, q::kReadResults);
    st.bind(1, image_id);
    st.executeStep();
    AnalysisResults results;
    if (!st.getColumn(0).isNull()) {
      results.phash = std::bit_cast<uint64_t>(st.getColumn(0).getInt64());
    }
    if (!st.getColumn(1).isNull()) {
      EmbeddingResult embedding{st.getColumn(1).getString(), {}};
      const SQLite::Column blob = st.getColumn(2);
      embedding.vector.resize(static_cast<size_t>(blob.getBytes()) / sizeof(float));
      std::memcpy(embedding.vector.data(), blob.getBlob(), embedding.vector.size() * sizeof(float));
      results.embedding = std::move(embedding);
    }
    if (!st.getColumn(3).isNull()) {
      results.vision = VisionResult{st.getColumn(3).getString(), st.getColumn(4).getString()};
    }
    return results;
  });
}

}  // namespace imgbackfill
