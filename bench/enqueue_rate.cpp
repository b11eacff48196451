// Figure 1: the enqueue rate of `run` against the floor SQLite sets.
//
// On a freshly imported (dense) catalog, two copies of the same cached file
// are each walked to the end, one transaction per record:
//   run  imgbackfill::RunBackfill, the code path of `imgbackfill run`
//        (lock, count, keyset pages of 500, EnqueueAndCheckpoint per record);
//   raw  a loop over the sqlite3 C API executing the same statements per
//        record (BEGIN IMMEDIATE, kEnqueueIfInScope, kCheckpoint, COMMIT) on a
//        connection with the store's pragmas; its candidate ids are read
//        before its clock starts.
// A full walk of a million images takes minutes here, so rather than whole
// walks the two alternate in chunks over the same ids (raw chunk 1, run chunk
// 1, run chunk 2, raw chunk 2, raw chunk 3, ...: ABBA): drift in the
// machine's load falls on both, and each chunk's ratio compares the same
// records measured moments apart. `run` ends each chunk the way a signal or
// --max-runtime would (interrupted) and the next chunk resumes it, so its
// chunks include resuming and recounting; the figure without those starts is
// printed too.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "catalog_gen.h"
#include "imgbackfill/backfill.h"
#include "imgbackfill/store.h"
#include "raw_sqlite.h"
#include "store/sqlite/queries.h"

namespace imgbackfill::bench {
namespace {

namespace q = sqlite_sql;

// CPU time of this process (user + system): unlike wall time, it barely
// moves when other work on the machine delays this one's fsyncs or takes
// its core, so the CPU ratio shows the code's own overhead.
double CpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Chunk {
  int64_t queued = 0;
  double cpu_seconds = 0;
  double seconds = 0;        // for run: the whole RunBackfill call
  double start_seconds = 0;  // run only: until its first record (lock, resume, count, page)
  double Rate() const { return static_cast<double>(queued) / seconds; }
  double CpuPerRecordUs() const { return cpu_seconds * 1e6 / static_cast<double>(queued); }
};

// The baseline: EnqueueAndCheckpoint's statements and nothing else.
class RawLoop {
 public:
  RawLoop(const std::string& path, int64_t limit)
      : db_(path, SQLITE_OPEN_READWRITE),
        begin_(Prepare("BEGIN IMMEDIATE")),
        enqueue_(Prepare(q::kEnqueueIfInScope)),
        checkpoint_(Prepare(q::kCheckpoint)),
        commit_(Prepare("COMMIT")) {
    sqlite3_busy_timeout(db_.get(), 5000);
    RawStatement(db_.get(), q::kJournalModeWal).Exec();
    db_.Exec(q::kPragmas);

    RawStatement insert_run(db_.get(), q::kInsertRun);
    sqlite3_bind_text(insert_run.get(), 1, kTargetModel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert_run.get(), 2, limit);
    sqlite3_bind_int(insert_run.get(), 3, 0);
    sqlite3_bind_int(insert_run.get(), 4, 0);
    sqlite3_bind_int64(insert_run.get(), 5, 0);
    sqlite3_bind_text(insert_run.get(), 6, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert_run.get(), 7, ::getpid());
    insert_run.Exec();
    run_id_ = sqlite3_last_insert_rowid(db_.get());

    // No job exists yet in a dense catalog, so scope is simply "active and
    // not on the target model".
    RawStatement list(db_.get(),
                      "SELECT backfill_group, id FROM images WHERE active = 1"
                      " AND embedding_model IS NOT ?1 ORDER BY backfill_group, id LIMIT ?2");
    sqlite3_bind_text(list.get(), 1, kTargetModel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(list.get(), 2, limit);
    while (list.Step()) {
      candidates_.emplace_back(sqlite3_column_int(list.get(), 0),
                               sqlite3_column_int64(list.get(), 1));
    }
  }

  int64_t candidates() const { return static_cast<int64_t>(candidates_.size()); }

  Chunk Next(int64_t records) {
    Chunk chunk;
    const double cpu = CpuSeconds();
    Stopwatch clock;
    const size_t end = std::min(candidates_.size(), next_ + static_cast<size_t>(records));
    for (; next_ < end; ++next_) {
      const auto [group, id] = candidates_[next_];
      begin_->Exec();
      sqlite3_bind_int64(enqueue_->get(), 1, id);
      sqlite3_bind_int(enqueue_->get(), 2, group);
      sqlite3_bind_text(enqueue_->get(), 3, kTargetModel, -1, SQLITE_STATIC);
      sqlite3_bind_text(enqueue_->get(), 9, "dead", -1, SQLITE_STATIC);
      const bool queued = enqueue_->Exec() == 1;
      sqlite3_bind_int(checkpoint_->get(), 1, group);
      sqlite3_bind_int64(checkpoint_->get(), 2, id);
      sqlite3_bind_int(checkpoint_->get(), 3, queued ? 1 : 0);
      sqlite3_bind_int(checkpoint_->get(), 4, queued ? 0 : 1);
      sqlite3_bind_int64(checkpoint_->get(), 5, run_id_);
      if (checkpoint_->Exec() != 1) throw std::runtime_error("raw loop: checkpoint missed the run");
      commit_->Exec();
      if (queued) ++chunk.queued;
    }
    chunk.seconds = clock.Seconds();
    chunk.cpu_seconds = CpuSeconds() - cpu;
    return chunk;
  }

 private:
  std::unique_ptr<RawStatement> Prepare(const char* sql) {
    return std::make_unique<RawStatement>(db_.get(), sql);
  }

  RawDatabase db_;
  std::unique_ptr<RawStatement> begin_, enqueue_, checkpoint_, commit_;
  int64_t run_id_ = 0;
  std::vector<std::pair<int, int64_t>> candidates_;
  size_t next_ = 0;
};

// One invocation of the run (a new one, or a resume of the interrupted one)
// that stops after `records` records, as --max-runtime would stop it.
Chunk RunChunk(const std::string& path, int64_t limit, int64_t records) {
  auto store = OpenStore(path);
  store->RequireCurrentSchema();
  BackfillOptions options;
  options.params = RunParams{kTargetModel, limit, false, false};
  options.params_explicit = true;
  BackfillEnvironment env;
  env.me = CurrentProcessHolder();
  Chunk chunk;
  int64_t polls = 0;
  const double cpu = CpuSeconds();
  Stopwatch clock;
  // Polled once before each record: its first call marks the end of the start.
  env.stop_requested = [&] {
    if (polls == 0) chunk.start_seconds = clock.Seconds();
    return polls++ >= records;
  };
  const BackfillOutcome out = RunBackfill(*store, options, env);
  chunk.seconds = clock.Seconds();
  chunk.cpu_seconds = CpuSeconds() - cpu;
  chunk.queued = out.queued_now;
  return chunk;
}

std::string Label(int64_t images) {
  return images >= 1000000 ? Format("%lldM", static_cast<long long>(images / 1000000))
                           : Format("%lldk", static_cast<long long>(images / 1000));
}

// Records per second over all chunks; with `records_only`, leaving out each
// chunk's start (for run: lock, resume, recount, first page).
double TotalRate(const std::vector<Chunk>& chunks, bool records_only = false) {
  int64_t queued = 0;
  double seconds = 0;
  for (const Chunk& c : chunks) {
    queued += c.queued;
    seconds += c.seconds - (records_only ? c.start_seconds : 0);
  }
  return static_cast<double>(queued) / seconds;
}

void MeasureCatalog(const BenchOptions& options, int64_t images, int chunk_count) {
  const std::string master = EnsureCatalog(DenseCatalog(images), options.data_dir);
  const std::string label = Label(images);
  TrialCopy raw_copy(master, options.data_dir, "enqueue-raw");
  TrialCopy run_copy(master, options.data_dir, "enqueue-run");
  RawLoop raw(raw_copy.path(), images);
  const int64_t per_chunk = (raw.candidates() + chunk_count - 1) / chunk_count;
  std::printf(
      "%s images (dense), %lld candidates, %d chunks of up to %lld records, "
      "alternating raw and run (ABBA)\n",
      label.c_str(), static_cast<long long>(raw.candidates()), chunk_count,
      static_cast<long long>(per_chunk));
  std::vector<Chunk> raw_chunks, run_chunks;
  std::vector<double> ratios, starts;
  for (int i = 0; i < chunk_count; ++i) {
    // ABBA order (raw first in odd chunks, run first in even ones), so that
    // whatever favours the first or the second of a pair cancels out.
    Chunk r, b;
    if (i % 2 == 0) {
      r = raw.Next(per_chunk);
      b = RunChunk(run_copy.path(), images, per_chunk);
    } else {
      b = RunChunk(run_copy.path(), images, per_chunk);
      r = raw.Next(per_chunk);
    }
    std::printf(
        "  chunk %d: raw %lld in %.1f s = %.0f/s (CPU %.0f us/record); run %lld in "
        "%.1f s = %.0f/s (CPU %.0f us/record, start %.0f ms); run/raw %.3f\n",
        i + 1, static_cast<long long>(r.queued), r.seconds, r.Rate(), r.CpuPerRecordUs(),
        static_cast<long long>(b.queued), b.seconds, b.Rate(), b.CpuPerRecordUs(),
        b.start_seconds * 1000, b.Rate() / r.Rate());
    std::fflush(stdout);
    if (r.queued != b.queued) {
      std::printf("  WARNING: raw and run queued different counts in this chunk\n");
    }
    raw_chunks.push_back(r);
    run_chunks.push_back(b);
    ratios.push_back(b.Rate() / r.Rate());
    starts.push_back(b.start_seconds * 1000);
  }
  const double raw_rate = TotalRate(raw_chunks), run_rate = TotalRate(run_chunks);
  const double run_records_rate = TotalRate(run_chunks, /*records_only=*/true);
  double raw_cpu = 0, run_cpu = 0;
  for (const Chunk& c : raw_chunks) raw_cpu += c.cpu_seconds;
  for (const Chunk& c : run_chunks) run_cpu += c.cpu_seconds;
  // Same records on both sides, so the CPU ratio is per record; >1 means run costs more.
  const double cpu_ratio = run_cpu / raw_cpu;
  std::printf(
      "%s images: raw %.0f records/s, run %.0f records/s, run/raw %.3f "
      "(median of chunk ratios %.3f, range %.3f-%.3f); without run's starts "
      "(median %.0f ms each) run %.0f records/s, run/raw %.3f; CPU per record "
      "raw %.0f us, run %.0f us, run/raw %.3f\n\n",
      label.c_str(), raw_rate, run_rate, run_rate / raw_rate, Median(ratios), Min(ratios),
      Max(ratios), Median(starts), run_records_rate, run_records_rate / raw_rate,
      raw_cpu * 1e6 / static_cast<double>(raw.candidates()),
      run_cpu * 1e6 / static_cast<double>(raw.candidates()), cpu_ratio);
  const std::string what = label + " dense";
  Summary("enqueue_rate", "raw loop records/s, " + what, Format("%.0f", raw_rate));
  Summary("enqueue_rate", "run records/s, " + what, Format("%.0f", run_rate));
  Summary("enqueue_rate", "run/raw, " + what,
          Format("%.3f (chunks %.3f-%.3f)", run_rate / raw_rate, Min(ratios), Max(ratios)));
  Summary("enqueue_rate", "run/raw without run's starts, " + what,
          Format("%.3f", run_records_rate / raw_rate));
  Summary("enqueue_rate", "CPU time per record run/raw, " + what, Format("%.3f", cpu_ratio));
  Summary("enqueue_rate", "run start/resume ms (median), " + what, Format("%.0f", Median(starts)));
}

}  // namespace
}  // namespace imgbackfill::bench

int main(int argc, char** argv) {
  using namespace imgbackfill::bench;
  const BenchOptions options = ParseOptions(argc, argv);
  DisableHeapTrimming();
  QuietLibraryLogs();
  const int chunks = options.trials > 0 ? options.trials : 8;
  try {
    if (options.quick) {
      MeasureCatalog(options, 20000, chunks);
    } else {
      MeasureCatalog(options, 100000, chunks);
      MeasureCatalog(options, 1000000, chunks);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_enqueue_rate: %s\n", e.what());
    return 1;
  }
  return 0;
}
