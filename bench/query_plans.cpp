// The query plans behind "cost follows the work": on the 10M-image sparse
// catalog (10,000 candidates), EXPLAIN QUERY PLAN for each statement `run`
// executes, then each scope query run once with SQLite's own counters of what
// it did: virtual-machine steps, and rows stepped through by a full scan
// (which must be zero). The cached catalog is opened immutable and read-only:
// nothing is written.
#include <cstdio>
#include <string>

#include "bench_util.h"
#include "catalog_gen.h"
#include "raw_sqlite.h"
#include "store/sqlite/queries.h"

namespace imgbackfill::bench {
namespace {

// Prints the plan and returns whether any line scans `images` without an index.
bool PrintPlan(sqlite3* db, const char* name, const char* sql) {
  RawStatement plan(db, ("EXPLAIN QUERY PLAN " + std::string(sql)).c_str());
  std::printf("%s\n", name);
  bool full_scan = false;
  while (plan.Step()) {
    const std::string detail = reinterpret_cast<const char*>(sqlite3_column_text(plan.get(), 3));
    std::printf("    %s\n", detail.c_str());
    if (detail.rfind("SCAN images", 0) == 0 && detail.find("INDEX") == std::string::npos) {
      full_scan = true;
    }
  }
  return full_scan;
}

struct Counters {
  int64_t rows = 0;
  int vm_steps = 0;
  int fullscan_steps = 0;
  int pages_read = 0;  // pages missed in SQLite's cache: read from the file (or disk, cold)
  double ms = 0;
};

// Runs a scope query for one stream (model NULL: images with no embedding).
Counters RunStream(sqlite3* db, const char* sql, int group, bool list) {
  RawStatement st(db, sql);
  sqlite3_bind_null(st.get(), 1);
  sqlite3_bind_int(st.get(), 2, group);
  if (list) {
    sqlite3_bind_int64(st.get(), 3, 0);
    sqlite3_bind_int(st.get(), 4, 500);
  }
  sqlite3_bind_text(st.get(), 9, "dead", -1, SQLITE_STATIC);
  Counters c;
  int current = 0, highwater = 0;
  sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &current, &highwater, /*reset=*/1);
  Stopwatch clock;
  while (st.Step()) c.rows = list ? c.rows + 1 : sqlite3_column_int64(st.get(), 0);
  c.ms = clock.Millis();
  c.vm_steps = sqlite3_stmt_status(st.get(), SQLITE_STMTSTATUS_VM_STEP, 0);
  c.fullscan_steps = sqlite3_stmt_status(st.get(), SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
  sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &c.pages_read, &highwater, 0);
  return c;
}

}  // namespace
}  // namespace imgbackfill::bench

int main(int argc, char** argv) {
  using namespace imgbackfill::bench;
  namespace q = imgbackfill::sqlite_sql;
  const BenchOptions options = ParseOptions(argc, argv);
  DisableHeapTrimming();
  try {
    const int64_t images = options.quick ? 1000000 : 10000000;
    const std::string master = EnsureCatalog(SparseCatalog(images, 10000), options.data_dir);
    RawDatabase db("file:" + master + "?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    std::printf("query plans on %s (SQLite %s)\n\n", master.c_str(), sqlite3_libversion());
    bool full_scan = false;
    full_scan |= PrintPlan(db.get(), "kNextEmbeddingModel (the streams of the scope)",
                           q::kNextEmbeddingModel);
    full_scan |= PrintPlan(db.get(), "kCountStream (CountCandidates, per stream and group)",
                           q::kCountStream);
    full_scan |= PrintPlan(db.get(), "kListStream (ListCandidates, per stream)", q::kListStream);
    full_scan |= PrintPlan(db.get(), "kEnqueueIfInScope (per record)", q::kEnqueueIfInScope);
    full_scan |= PrintPlan(db.get(), "kCheckpoint (per record)", q::kCheckpoint);
    std::printf("\n");

    int64_t counted = 0;
    int pages = 0;
    for (int group : {0, 1}) {
      for (bool list : {false, true}) {
        const Counters c =
            RunStream(db.get(), list ? q::kListStream : q::kCountStream, group, list);
        std::printf(
            "%s, no-embedding stream, group %d: %lld %s in %.2f ms, %d VM steps, "
            "%d full-scan steps, %d pages read\n",
            list ? "kListStream (first page)" : "kCountStream", group,
            static_cast<long long>(c.rows), list ? "ids" : "counted", c.ms, c.vm_steps,
            c.fullscan_steps, c.pages_read);
        if (!list) {
          counted += c.rows;
          pages += c.pages_read;
        }
        if (c.fullscan_steps != 0) full_scan = true;
      }
    }
    std::printf("\n%s: %s\n\n", full_scan ? "FULL SCAN FOUND" : "no full scan of images",
                full_scan ? "a scope query walks the whole table"
                          : "every scope query reads images_backfill_scope ranges only");
    Summary("query_plans",
            Format("scope queries on %lldM images", static_cast<long long>(images / 1000000)),
            full_scan ? "FULL SCAN" : "images_backfill_scope, no full scan");
    Summary("query_plans", "candidates counted by kCountStream",
            Format("%lld (%d pages read)", static_cast<long long>(counted), pages));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_query_plans: %s\n", e.what());
    return 1;
  }
  return 0;
}
