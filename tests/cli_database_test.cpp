// Wrong databases, through the real executable: missing, unreadable,
// read-only, not SQLite, never migrated, too new, busy, malformed URLs.
#include <SQLiteCpp/SQLiteCpp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "imgbackfill/models.h"
#include "support/cli_fixture.h"

namespace imgbackfill {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using testing::CatalogSpec;
using testing::Chmod;
using testing::Exec;
using testing::FileNames;
using testing::Jobs;
using testing::MakeSqliteCatalog;
using testing::ProcessResult;
using testing::QueryInt;
using testing::ReadBytes;
using testing::RunImgbackfill;
using testing::RunImgbackfillUnprivileged;
using testing::RunProcess;
using testing::Runs;
using testing::SeededCatalog;
using testing::TempDir;
using testing::WriteBytes;

// ---- Database paths --------------------------------------------------------

TEST_CASE("run and status on a missing database exit 69, say how to create it, create nothing",
          "[cli]") {
  // Given a path where no file exists, as a path and as a sqlite:/// URL,
  // run and status exit 69 saying it does not exist and giving the migrate
  // command; the directory stays empty (no database, -wal, -shm or lock).
  TempDir tmp;
  const std::string db = tmp / "missing.db";
  for (const std::string command : {"run", "status"}) {
    for (const std::string& url : {db, "sqlite://" + db}) {
      const ProcessResult r = RunImgbackfill({command, "--db", url});
      INFO(command << " --db " << url << ": " << r.err);
      CHECK(r.exit_code == 69);
      CHECK_THAT(r.err, Contains("database " + db + " does not exist") &&
                            Contains("imgbackfill migrate --db " + db));
    }
  }
  CHECK(FileNames(tmp.path()).empty());
}

TEST_CASE("a database path under a regular file exits 69 for run and status", "[cli]") {
  // Given --db file.txt/catalog.db (a parent that is a file, not a
  // directory), run says the database does not exist; nothing is created.
  TempDir tmp;
  const std::string parent = tmp / "file.txt";
  WriteBytes(parent, "not a directory\n");
  const std::string db = parent + "/catalog.db";
  const ProcessResult r = RunImgbackfill({"run", "--db", db});
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Contains("does not exist"));
  const ProcessResult m = RunImgbackfill({"migrate", "--db", db});
  CHECK(m.exit_code == 69);
  CHECK_THAT(m.err, Contains("unable to open database file"));
  CHECK(ReadBytes(parent) == "not a directory\n");
  CHECK(FileNames(tmp.path()) == std::set<std::string>{"file.txt"});
}

TEST_CASE("a directory as --db exits 78 and says it is a directory", "[cli]") {
  // Given --db naming a directory, every command refuses it as bad
  // configuration and leaves the directory empty.
  TempDir tmp;
  const std::string dir = tmp / "catalogs";
  fs::create_directory(dir);
  for (const std::string command : {"run", "status", "migrate"}) {
    const ProcessResult r = RunImgbackfill({command, "--db", dir});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Contains("--db " + dir + " is a directory, not a SQLite database file"));
  }
  CHECK(fs::is_empty(dir));
}

TEST_CASE("a file that is not a SQLite database exits 78 and is left unchanged", "[cli]") {
  // Given a text file and a file that starts like a JPEG, each command says
  // it is not a SQLite database (78); the bytes are unchanged and no -wal,
  // -shm, -journal or lock file appears beside it.
  TempDir tmp;
  std::string jpeg = "\xFF\xD8\xFF\xE0";
  jpeg += std::string("\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 16);
  for (int i = 0; i < 4000; ++i) jpeg += static_cast<char>((i * 7919) % 251);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"notes.db", "id,location\n1,/srv/a.jpg\n"}, {"photo.db", jpeg}};
  for (const auto& [name, bytes] : files) {
    const std::string path = tmp / name;
    WriteBytes(path, bytes);
    for (const std::string command : {"run", "status", "migrate"}) {
      const ProcessResult r = RunImgbackfill({command, "--db", path});
      INFO(command << " --db " << name << ": " << r.err);
      CHECK(r.exit_code == 78);
      CHECK_THAT(r.err, Contains("file is not a database") &&
                            Contains("The file is not a SQLite database: check --db"));
    }
    CHECK(ReadBytes(path) == bytes);
  }
  CHECK(FileNames(tmp.path()) == std::set<std::string>{"notes.db", "photo.db"});
}

TEST_CASE("a database never migrated exits 78, says to run migrate, and is left unchanged",
          "[cli]") {
  // Given an empty file and a SQLite database made by another program (a
  // table of its own, rollback journal), run and status exit 78 with the
  // migrate command to run, and leave both files byte for byte as they were
  // (in particular not switched to WAL).
  TempDir tmp;
  const std::string empty = tmp / "empty.db";
  WriteBytes(empty, "");
  const std::string foreign = tmp / "foreign.db";
  {
    SQLite::Database db(foreign, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
        "INSERT INTO notes (body) VALUES ('keep me')");
  }
  for (const std::string& path : {empty, foreign}) {
    const std::string before = ReadBytes(path);
    for (const std::string command : {"run", "status"}) {
      const ProcessResult r = RunImgbackfill({command, "--db", path});
      INFO(command << " --db " << path << ": " << r.err);
      CHECK(r.exit_code == 78);
      CHECK_THAT(r.err, Contains("has no imgbackfill schema") &&
                            Contains("imgbackfill migrate --db " + path));
    }
    CHECK(ReadBytes(path) == before);
  }
  CHECK(FileNames(tmp.path()) == std::set<std::string>{"empty.db", "foreign.db"});

  // migrate then makes the foreign database usable and keeps its data.
  CHECK(RunImgbackfill({"migrate", "--db", foreign}).exit_code == 0);
  CHECK(RunImgbackfill({"status", "--db", foreign}).exit_code == 0);
  CHECK(QueryInt(foreign, "SELECT count(*) FROM notes WHERE body = 'keep me'") == 1);
}

TEST_CASE("a schema newer than the binary exits 78 for migrate, run and status, changing nothing",
          "[cli]") {
  // Given a catalog whose schema_migrations records version 999, migrate,
  // run and status each exit 78 saying the schema is newer and to upgrade
  // imgbackfill; the file's bytes are unchanged and no run or job appears.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  Exec(db,
       "INSERT INTO schema_migrations (version, name, applied_at)"
       " VALUES (999, '999_future', '2030-01-01T00:00:00Z')");
  const std::string before = ReadBytes(db);
  for (const std::string command : {"migrate", "run", "status"}) {
    const ProcessResult r = RunImgbackfill({command, "--db", db});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Contains("has schema version 999, newer than this imgbackfill") &&
                          Contains("upgrade imgbackfill"));
  }
  CHECK(ReadBytes(db) == before);
  CHECK(QueryInt(db, "SELECT max(version) FROM schema_migrations") == 999);
  CHECK(Runs(db) == 0);
  CHECK(Jobs(db) == 0);
}

TEST_CASE("migrate is idempotent on a current database", "[cli]") {
  // Given a fresh path, the first migrate creates the schema and the second
  // says there is nothing to do; both exit 0.
  TempDir tmp;
  const std::string db = tmp / "new.db";
  const ProcessResult first = RunImgbackfill({"migrate", "--db", db});
  CHECK(first.exit_code == 0);
  CHECK_THAT(first.out, Contains("schema migrated from version 0 to 2"));
  const ProcessResult second = RunImgbackfill({"migrate", "--db", db});
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.out, Contains("schema already at version 2, nothing to do"));
}

TEST_CASE("a malformed database URL exits 78 and shows the accepted forms", "[cli]") {
  // Given URLs with an unknown scheme, an empty sqlite:// path, query
  // parameters, or a scheme missing its slashes, each command exits 78 and
  // nothing is created.
  TempDir tmp;
  const std::string query = "sqlite://" + (tmp / "x.db") + "?mode=ro";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mysql://x", "unsupported database URL scheme 'mysql'"},
      {"sqlite://", "malformed database URL 'sqlite://'"},
      {query, "malformed database URL '" + query + "'"},
      {"sqlite:" + (tmp / "x.db"), "malformed database URL 'sqlite:" + (tmp / "x.db") + "'"},
  };
  for (const auto& [url, message] : cases) {
    for (const std::string command : {"run", "status", "migrate"}) {
      const ProcessResult r = RunImgbackfill({command, "--db", url});
      INFO(command << " --db " << url << ": " << r.err);
      CHECK(r.exit_code == 78);
      CHECK_THAT(r.err, Contains(message) && Contains("sqlite:///"));
    }
  }
  CHECK(FileNames(tmp.path()).empty());
}

TEST_CASE("a PostgreSQL URL exits 78 saying this build has no PostgreSQL backend yet", "[cli]") {
  // Given postgresql:// and postgres:// URLs, each command exits 78 with a
  // message naming the missing backend (it lands in a later release).
  for (const std::string url : {"postgresql://imgbackfill@127.0.0.1:1/catalog",
                                "postgres://imgbackfill@127.0.0.1:1/catalog"}) {
    for (const std::string command : {"run", "status", "migrate"}) {
      const ProcessResult r = RunImgbackfill({command, "--db", url});
      INFO(command << " --db " << url << ": " << r.err);
      CHECK(r.exit_code == 78);
      CHECK_THAT(r.err, Contains("no PostgreSQL backend yet") && Contains("SQLite"));
    }
  }
}

// ---- Permissions -----------------------------------------------------------

TEST_CASE("an unreadable database file exits 69 and says to check its permissions", "[cli]") {
  // Given a migrated catalog with mode 000 in a directory anyone may write,
  // run and status exit 69 and tell the user to check access; a readable copy
  // beside it works for the same (unprivileged) user, so the failure is the
  // permission and nothing else.
  TempDir tmp;
  Chmod(tmp.path(), fs::perms::all);
  const std::string db = SeededCatalog(tmp);
  const std::string copy = tmp / "copy.db";
  fs::copy_file(db, copy);
  Chmod(copy, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                  fs::perms::group_write | fs::perms::others_read | fs::perms::others_write);
  Chmod(db, fs::perms::none);
  const std::string before = ReadBytes(db);

  for (const std::string command : {"run", "status", "migrate"}) {
    const ProcessResult r = RunImgbackfillUnprivileged({command, "--db", db});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 69);
    CHECK_THAT(r.err, Contains("unable to open database file") &&
                          Contains("Check that the path exists and is readable and writable"));
  }
  CHECK(ReadBytes(db) == before);
  CHECK(RunImgbackfillUnprivileged({"status", "--db", copy}).exit_code == 0);
}

TEST_CASE("a read-only database file exits 69 and says it needs write access", "[cli]") {
  // Given a migrated catalog with mode 444, run, status and migrate exit 69
  // saying it is read-only; the file is unchanged and no job was queued.
  TempDir tmp;
  Chmod(tmp.path(), fs::perms::all);
  const std::string db = SeededCatalog(tmp);
  Chmod(db, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string before = ReadBytes(db);
  for (const std::string command : {"run", "status", "migrate"}) {
    const ProcessResult r = RunImgbackfillUnprivileged({command, "--db", db});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 69);
    CHECK_THAT(r.err,
               Contains("database " + db + " is read-only") && Contains("needs write access"));
  }
  CHECK(ReadBytes(db) == before);
  CHECK(Jobs(db) == 0);
}

TEST_CASE("a database in a read-only directory exits 69 and names the -wal and -shm files",
          "[cli]") {
  // Given a writable catalog file in a directory the user cannot write (so
  // SQLite cannot create the WAL's -wal and -shm files), run exits 69 saying
  // the database is read-only and why; no job is queued.
  TempDir tmp;
  const std::string dir = tmp / "ro";
  fs::create_directory(dir);
  const std::string db = dir + "/catalog.db";
  MakeSqliteCatalog(db, CatalogSpec{.images = 30, .seed = 7});
  Chmod(tmp.path(), fs::perms::all);
  Chmod(db, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::group_write | fs::perms::others_read | fs::perms::others_write);
  Chmod(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                 fs::perms::others_read | fs::perms::others_exec);
  if (::geteuid() != 0) Chmod(dir, fs::perms::owner_read | fs::perms::owner_exec);

  const ProcessResult r = RunImgbackfillUnprivileged({"run", "--db", db});
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Contains("attempt to write a readonly database") &&
                        Contains("The database is read-only") && Contains("-wal and -shm"));
  Chmod(dir, fs::perms::owner_all);
  CHECK(Jobs(db) == 0);
}

// ---- Busy database ---------------------------------------------------------

TEST_CASE("a database locked by another writer makes run wait, then exit 75, safe to retry",
          "[cli]") {
  // Given another connection holding the write lock (BEGIN IMMEDIATE) for
  // as long as the binary runs, `run` waits out the busy timeout (5 s), then
  // exits 75 saying the database is busy and it is safe to run again, having
  // queued nothing. Once the lock is released, the same command queues every
  // candidate.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  const int64_t candidates =
      QueryInt(db,
               "SELECT count(*) FROM images WHERE active = 1 AND"
               " (embedding_model IS NULL OR embedding_model <> 'local-descriptor-v1')");
  REQUIRE(candidates > 0);
  {
    SQLite::Database other(db, SQLite::OPEN_READWRITE);
    other.exec("BEGIN IMMEDIATE");

    // Readers are not blocked by a writer in WAL mode.
    const ProcessResult status = RunImgbackfill({"status", "--db", db});
    CHECK(status.exit_code == 0);

    const auto start = std::chrono::steady_clock::now();
    const ProcessResult r = RunImgbackfill({"run", "--db", db});
    const auto waited = std::chrono::steady_clock::now() - start;
    other.exec("ROLLBACK");

    CHECK(r.exit_code == 75);
    CHECK_THAT(r.err, Contains("database is locked") && Contains("The database is busy") &&
                          Contains("safe to run the command again"));
    CHECK(waited >= std::chrono::milliseconds(4500));
  }
  CHECK(Jobs(db) == 0);
  const ProcessResult again = RunImgbackfill({"run", "--db", db});
  CHECK(again.exit_code == 0);
  CHECK(Jobs(db) == candidates);
}

}  // namespace
}  // namespace imgbackfill
