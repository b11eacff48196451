// Every SQL statement the SQLite backend runs from C++, in one place. The
// schema itself lives in sql/sqlite/.
#pragma once

namespace imgbackfill::sqlite_sql {

// SQL reads better wrapped by clause than by column count.
// clang-format off

#define IMGBACKFILL_SQLITE_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

// ---- Connection and schema -------------------------------------------------
// 64 MiB of page cache: a per-record-commit loop over 100k images runs about
// five times faster than with the 2 MiB default. synchronous=NORMAL in WAL
// mode keeps every commit across a process crash; a power loss may roll back
// the last few commits, and since a job and its cursor move commit together
// that loses no consistency (docs/architecture.md).
inline constexpr const char* kPragmas =
    "PRAGMA foreign_keys = ON;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA cache_size = -65536;";
inline constexpr const char* kJournalModeWal = "PRAGMA journal_mode = WAL";
inline constexpr const char* kCreateSchemaTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
inline constexpr const char* kSchemaTableExists =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
inline constexpr const char* kSchemaVersion =
    "SELECT coalesce(max(version), 0) FROM schema_migrations";
inline constexpr const char* kRecordMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, " IMGBACKFILL_SQLITE_NOW ")";

// ---- Images ----------------------------------------------------------------
inline constexpr const char* kFindImage =
    "SELECT id, product_id, is_primary, active, location, content_hash, embedding_model,"
    " backfill_group FROM images WHERE id = ?";
inline constexpr const char* kFindImageIdByLocation =
    "SELECT id FROM images WHERE location = ? ORDER BY id LIMIT 1";
inline constexpr const char* kFindImageForUpsert =
    "SELECT location, product_id, is_primary, active FROM images WHERE id = ?";
inline constexpr const char* kInsertImage =
    "INSERT INTO images (id, location, product_id, is_primary, active) VALUES (?, ?, ?, ?, ?)";
// A changed location means the bytes may differ: the old analysis no longer
// describes the image, so its embedding tag is cleared and it re-enters scope.
inline constexpr const char* kUpdateImage =
    "UPDATE images SET location = ?2, product_id = ?3, is_primary = ?4, active = ?5,"
    " embedding_model = CASE WHEN location = ?2 THEN embedding_model END,"
    " content_hash = CASE WHEN location = ?2 THEN content_hash END,"
    " updated_at = " IMGBACKFILL_SQLITE_NOW " WHERE id = ?1";

// ---- Backfill scope --------------------------------------------------------
// An image is eligible when its latest job is not open and, unless
// include_dead, did not end dead. ?9 is 'dead' to exclude dead images or a
// value no state has to include them. Jobs of one image are few; the lookup
// is one probe of jobs_image.
#define IMGBACKFILL_SQLITE_ELIGIBLE                                                   \
  " AND coalesce((SELECT j.state FROM jobs j WHERE j.image_id = images.id"           \
  " ORDER BY j.id DESC LIMIT 1), 'none')"                                             \
  " NOT IN ('available', 'running', 'retryable', ?9)"

// The distinct embedding models present among active images, one index probe
// each (a loose index scan): start with '' and feed back each answer.
inline constexpr const char* kNextEmbeddingModel =
    "SELECT embedding_model FROM images INDEXED BY images_backfill_scope"
    " WHERE active = 1 AND embedding_model > ? ORDER BY embedding_model LIMIT 1";

// One stream of the scope: images of one (embedding model, group) pair, a
// contiguous range of images_backfill_scope in id order. ?1 is the model
// (NULL for images with no embedding), ?2 the group, ?3 the id to start after.
inline constexpr const char* kListStream =
    "SELECT id FROM images INDEXED BY images_backfill_scope"
    " WHERE active = 1 AND embedding_model IS ?1 AND backfill_group = ?2 AND id > ?3"
    IMGBACKFILL_SQLITE_ELIGIBLE " ORDER BY id LIMIT ?4";
// The count reads the stream's index range without looking at a single job
// (cheap whatever the catalog's size), then subtracts the images in it whose
// latest job is open or (?9) dead, found from the jobs side through
// jobs_state: its cost follows the queue, not the catalog. Probing jobs per
// image instead took over a second on a cold 10M catalog (docs/benchmarks.md).
inline constexpr const char* kCountStream =
    "SELECT (SELECT count(*) FROM images INDEXED BY images_backfill_scope"
    "        WHERE active = 1 AND embedding_model IS ?1 AND backfill_group = ?2)"
    " - (SELECT count(*) FROM jobs j INDEXED BY jobs_state JOIN images i ON i.id = j.image_id"
    "    WHERE j.state IN ('available', 'running', 'retryable', ?9)"
    "    AND i.active = 1 AND i.embedding_model IS ?1 AND i.backfill_group = ?2"
    "    AND j.id = (SELECT max(id) FROM jobs WHERE image_id = j.image_id))";

// Enqueue only if the image is still in scope: this is the skip-if-changed
// check, made inside the same transaction as the insert. ?1 image, ?2 group,
// ?3 target model, ?9 as above.
inline constexpr const char* kEnqueueIfInScope =
    "INSERT INTO jobs (image_id, kind, args, state, priority)"
    " SELECT id, 'analyze', '{\"force\":false}', 'available', backfill_group FROM images"
    " WHERE id = ?1 AND active = 1 AND backfill_group = ?2"
    " AND (embedding_model IS NULL OR embedding_model <> ?3)" IMGBACKFILL_SQLITE_ELIGIBLE;
inline constexpr const char* kCheckpoint =
    "UPDATE backfill_runs SET cursor_group = ?, cursor_id = ?, queued = queued + ?,"
    " skipped = skipped + ?, heartbeat_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id = ? AND state = 'running'";

// ---- Backfill runs ---------------------------------------------------------
#define IMGBACKFILL_SQLITE_RUN_COLUMNS                                                 \
  "id, model, limit_count, product_images_only, include_dead, state, cursor_group,"   \
  " cursor_id, queued, skipped, candidates_at_start, holder_host, holder_pid,"        \
  " heartbeat_at, started_at, finished_at, last_error"
inline constexpr const char* kFindUnfinishedRun =
    "SELECT " IMGBACKFILL_SQLITE_RUN_COLUMNS
    " FROM backfill_runs WHERE state IN ('running', 'interrupted') ORDER BY id DESC LIMIT 1";
inline constexpr const char* kFindRun =
    "SELECT " IMGBACKFILL_SQLITE_RUN_COLUMNS " FROM backfill_runs WHERE id = ?";
inline constexpr const char* kRecentRuns =
    "SELECT " IMGBACKFILL_SQLITE_RUN_COLUMNS " FROM backfill_runs ORDER BY id DESC LIMIT ?";
inline constexpr const char* kInsertRun =
    "INSERT INTO backfill_runs (model, limit_count, product_images_only, include_dead, state,"
    " candidates_at_start, holder_host, holder_pid, heartbeat_at)"
    " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, " IMGBACKFILL_SQLITE_NOW ")";
inline constexpr const char* kAdoptRun =
    "UPDATE backfill_runs SET state = 'running', holder_host = ?, holder_pid = ?,"
    " heartbeat_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id = ? AND state IN ('running', 'interrupted')";
inline constexpr const char* kFinishRun =
    "UPDATE backfill_runs SET state = ?1, last_error = nullif(?2, ''), heartbeat_at = "
    IMGBACKFILL_SQLITE_NOW ", finished_at = CASE WHEN ?1 IN ('completed', 'failed') THEN "
    IMGBACKFILL_SQLITE_NOW " END WHERE id = ?3";

// ---- Jobs ------------------------------------------------------------------
inline constexpr const char* kJobsForImage =
    "SELECT id, image_id, kind, args, state, priority, attempt, max_attempts, last_error"
    " FROM jobs WHERE image_id = ? ORDER BY id";

// ---- Status ----------------------------------------------------------------
inline constexpr const char* kCoverage =
    "SELECT backfill_group, count(*), total(embedding_model = ?1),"
    " total(embedding_model IS NOT NULL AND embedding_model <> ?1),"
    " total(embedding_model IS NULL)"
    " FROM images WHERE active = 1 GROUP BY backfill_group ORDER BY backfill_group";
// Active images not on the target model whose latest job ended dead.
inline constexpr const char* kDeadImagesPerGroup =
    "SELECT i.backfill_group, count(*) FROM jobs j JOIN images i ON i.id = j.image_id"
    " WHERE j.state = 'dead' AND i.active = 1 AND i.embedding_model IS NOT ?1"
    " AND j.id = (SELECT max(id) FROM jobs WHERE image_id = j.image_id)"
    " GROUP BY i.backfill_group";
inline constexpr const char* kJobsByState = "SELECT state, count(*) FROM jobs GROUP BY state";

// ---- The worker's side of the queue ----------------------------------------
// Lease arithmetic uses the database's clock ("+1.500 seconds" bound as ?),
// so workers on machines with skewed clocks still agree on expiry.
#define IMGBACKFILL_SQLITE_LATER(param) "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', " param ")"

inline constexpr const char* kBuryExpiredLastAttempts =
    "UPDATE jobs SET state = 'dead', finished_at = " IMGBACKFILL_SQLITE_NOW ","
    " updated_at = " IMGBACKFILL_SQLITE_NOW ", lease_expires_at = NULL,"
    " last_error = 'the worker ' || coalesce(lease_owner, '?') || ' stopped while holding it"
    " on attempt ' || attempt || ' of ' || max_attempts || ' (its lease expired): if this"
    " repeats, the image may crash the worker', lease_owner = NULL"
    " WHERE state = 'running' AND lease_expires_at < " IMGBACKFILL_SQLITE_NOW
    " AND attempt >= max_attempts";
// Due jobs by the claim index, plus expired leases by the lease index; each
// side is limited before the union so neither scans the whole queue.
inline constexpr const char* kClaim =
    "UPDATE jobs SET state = 'running', attempt = attempt + 1, max_attempts = ?2,"
    " lease_owner = ?1, lease_expires_at = " IMGBACKFILL_SQLITE_LATER("?3") ","
    " updated_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id IN (SELECT id FROM ("
    "   SELECT * FROM (SELECT priority, id FROM jobs"
    "     WHERE state IN ('available', 'retryable') AND run_at <= " IMGBACKFILL_SQLITE_NOW
    "     ORDER BY priority, id LIMIT ?4)"
    "   UNION ALL"
    "   SELECT * FROM (SELECT priority, id FROM jobs"
    "     WHERE state = 'running' AND lease_expires_at < " IMGBACKFILL_SQLITE_NOW
    "     ORDER BY lease_expires_at LIMIT ?4))"
    "  ORDER BY priority, id LIMIT ?4)"
    " RETURNING id";
inline constexpr const char* kClaimedJob =
    "SELECT j.id, j.image_id, j.kind, j.args, j.priority, j.attempt, j.max_attempts,"
    " j.last_error, i.product_id, i.is_primary, i.active, i.location, i.content_hash,"
    " i.embedding_model, i.backfill_group,"
    " EXISTS (SELECT 1 FROM image_phash p WHERE p.image_id = i.id), e.model, v.model,"
    " coalesce(json_extract(j.args, '$.force'), 0)"
    " FROM jobs j JOIN images i ON i.id = j.image_id"
    " LEFT JOIN image_embeddings e ON e.image_id = i.id"
    " LEFT JOIN image_vision v ON v.image_id = i.id"
    " WHERE j.id = ?";
inline constexpr const char* kExtendLease =
    "UPDATE jobs SET lease_expires_at = " IMGBACKFILL_SQLITE_LATER("?1") ","
    " updated_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id = ?2 AND state = 'running' AND lease_owner = ?3";
inline constexpr const char* kCompleteJob =
    "UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_expires_at = NULL,"
    " finished_at = " IMGBACKFILL_SQLITE_NOW ", updated_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 RETURNING image_id";
inline constexpr const char* kFailJob =
    "UPDATE jobs SET state = ?3, last_error = ?4, lease_owner = NULL, lease_expires_at = NULL,"
    " run_at = CASE WHEN ?3 = 'retryable' THEN " IMGBACKFILL_SQLITE_LATER("?5") " ELSE run_at END,"
    " finished_at = CASE WHEN ?3 IN ('dead', 'cancelled') THEN " IMGBACKFILL_SQLITE_NOW " END,"
    " updated_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 RETURNING image_id";
inline constexpr const char* kReleaseJob =
    "UPDATE jobs SET state = 'available', attempt = max(attempt - 1, 0), lease_owner = NULL,"
    " lease_expires_at = NULL, updated_at = " IMGBACKFILL_SQLITE_NOW
    " WHERE id = ?1 AND state = 'running' AND lease_owner = ?2";
inline constexpr const char* kUpsertPhash =
    "INSERT INTO image_phash (image_id, phash, computed_at) VALUES (?1, ?2, " IMGBACKFILL_SQLITE_NOW ")"
    " ON CONFLICT (image_id) DO UPDATE SET phash = excluded.phash, computed_at = excluded.computed_at";
inline constexpr const char* kUpsertEmbedding =
    "INSERT INTO image_embeddings (image_id, model, dimension, vector, computed_at)"
    " VALUES (?1, ?2, ?3, ?4, " IMGBACKFILL_SQLITE_NOW ")"
    " ON CONFLICT (image_id) DO UPDATE SET model = excluded.model, dimension = excluded.dimension,"
    " vector = excluded.vector, computed_at = excluded.computed_at";
inline constexpr const char* kTagEmbedding =
    "UPDATE images SET embedding_model = ?2, updated_at = " IMGBACKFILL_SQLITE_NOW " WHERE id = ?1";
inline constexpr const char* kUpsertVision =
    "INSERT INTO image_vision (image_id, model, result, computed_at)"
    " VALUES (?1, ?2, ?3, " IMGBACKFILL_SQLITE_NOW ")"
    " ON CONFLICT (image_id) DO UPDATE SET model = excluded.model, result = excluded.result,"
    " computed_at = excluded.computed_at";
inline constexpr const char* kQueueOutlook =
    "SELECT"
    " (SELECT count(*) FROM jobs WHERE state IN ('available', 'running', 'retryable')),"
    " (SELECT count(*) FROM jobs WHERE state IN ('available', 'retryable')"
    "   AND run_at <= " IMGBACKFILL_SQLITE_NOW ")"
    " + (SELECT count(*) FROM jobs WHERE state = 'running'"
    "   AND lease_expires_at < " IMGBACKFILL_SQLITE_NOW "),"
    " (SELECT CAST((julianday(min(t)) - julianday('now')) * 86400000 AS INTEGER) FROM ("
    "   SELECT min(run_at) AS t FROM jobs WHERE state IN ('available', 'retryable')"
    "   UNION ALL SELECT min(lease_expires_at) FROM jobs WHERE state = 'running'))";
inline constexpr const char* kReadResults =
    "SELECT (SELECT phash FROM image_phash WHERE image_id = ?1),"
    " (SELECT model FROM image_embeddings WHERE image_id = ?1),"
    " (SELECT vector FROM image_embeddings WHERE image_id = ?1),"
    " (SELECT model FROM image_vision WHERE image_id = ?1),"
    " (SELECT result FROM image_vision WHERE image_id = ?1)";

// clang-format on

}  // namespace imgbackfill::sqlite_sql
