// Every wrong input a user can give `migrate`, `run` and `status`, driven
// through the real executable: each test asserts the exit code (SPEC: 0 done,
// 2 usage, 69 database unreachable, 75 busy or interrupted, 78 bad
// configuration) and the words the user reads on stderr, and, where the
// input was a file, that the file is left as it was.
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
#include "support/catalog.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using testing::CatalogSpec;
using testing::Exec;
using testing::MakeSqliteCatalog;
using testing::ProcessResult;
using testing::QueryInt;
using testing::RunImgbackfill;
using testing::RunProcess;
using testing::TempDir;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::set<std::string> FileNames(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// A small seeded catalog, migrated, as a user would have after import.
std::string SeededCatalog(const TempDir& tmp, int64_t images = 60) {
  const std::string db = tmp / "catalog.db";
  MakeSqliteCatalog(db, CatalogSpec{.images = images, .seed = 7});
  return db;
}

int64_t Jobs(const std::string& db) { return QueryInt(db, "SELECT count(*) FROM jobs"); }
int64_t Runs(const std::string& db) { return QueryInt(db, "SELECT count(*) FROM backfill_runs"); }

// Root ignores permission bits, so a test about an unreadable or read-only
// file would prove nothing as root. Under root the binary runs as `nobody`
// (setpriv, util-linux), for whom the bits hold; otherwise as the caller.
ProcessResult RunImgbackfillUnprivileged(const std::vector<std::string>& args) {
  if (::geteuid() != 0) return RunImgbackfill(args);
  REQUIRE(fs::exists("/usr/bin/setpriv"));
  std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups"};
  for (const auto& arg : testing::ImgbackfillArgv(args)) argv.push_back(arg);
  return RunProcess(argv);
}

void Chmod(const std::string& path, fs::perms perms) {
  fs::permissions(path, perms, fs::perm_options::replace);
}

// ---- Flags -----------------------------------------------------------------

TEST_CASE("an unknown flag exits 2 and names the flag", "[cli]") {
  // Given a flag no command has, on each command and before the command,
  // the binary refuses it as a usage error (2) and names it.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"run", "--bogus"},
                                               {"status", "--bogus"},
                                               {"migrate", "--bogus"},
                                               {"--bogus", "status"}}) {
    const ProcessResult r = RunImgbackfill(args);
    INFO(args[0] << " " << args[1] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err,
               Contains("--bogus") && Contains("not expected") && Contains("imgbackfill --help"));
  }
}

TEST_CASE("an unexpected positional argument exits 2 and names it", "[cli]") {
  // Given `run` followed by a stray word, it is a usage error naming it.
  const ProcessResult r = RunImgbackfill({"run", "catalog.db"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("catalog.db") && Contains("not expected"));
}

TEST_CASE("a --limit below 1 or not a whole number exits 2 and echoes the value", "[cli]") {
  // Given a catalog and each malformed --limit, run refuses before touching
  // the database: exit 2, the rule stated and the value echoed.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  for (const std::string value : {"0", "-5", "abc", "1.5", ""}) {
    const ProcessResult r = RunImgbackfill({"run", "--db", db, "--limit", value});
    INFO("--limit '" << value << "': " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("--limit") &&
                          Contains("must be a whole number of at least 1, got '" + value + "'"));
  }
  const ProcessResult equals = RunImgbackfill({"run", "--db", db, "--limit=-5"});
  CHECK(equals.exit_code == 2);
  CHECK_THAT(equals.err, Contains("got '-5'"));
  CHECK(Jobs(db) == 0);
  CHECK(Runs(db) == 0);
}

TEST_CASE("status --runs below 1 exits 2 and echoes the value", "[cli]") {
  // Given `status --runs 0`, it is a usage error with the rule and value.
  TempDir tmp;
  const ProcessResult r = RunImgbackfill({"status", "--db", SeededCatalog(tmp), "--runs", "0"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--runs") && Contains("at least 1, got '0'"));
}

TEST_CASE("a --max-runtime that is not a positive duration exits 2", "[cli]") {
  // Given each malformed or non-positive duration, run refuses it (2),
  // echoes it, and shows what a duration looks like.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  for (const std::string value : {"abc", "0s", "-1m", "10x", "1h-5m"}) {
    const ProcessResult r = RunImgbackfill({"run", "--db", db, "--max-runtime", value});
    INFO("--max-runtime '" << value << "': " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("--max-runtime: must be a positive duration such as 90s") &&
                          Contains("got '" + value + "'"));
  }
  CHECK(Runs(db) == 0);
}

TEST_CASE("an unknown --model exits 2 and lists every known model", "[cli]") {
  // Given `run --model nonexistent` on a good catalog, it exits 2, names the
  // model, lists every id of the registry, and writes nothing.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  const ProcessResult r = RunImgbackfill({"run", "--db", db, "--model", "nonexistent"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--model nonexistent is not a known embedding model") &&
                        Contains("known models:"));
  for (const EmbeddingModel& model : EmbeddingModels()) {
    CHECK_THAT(r.err, Contains(std::string(model.id)));
  }
  CHECK(Jobs(db) == 0);
  CHECK(Runs(db) == 0);
}

TEST_CASE("an unknown --log-format or --log-level exits 2 and names the choices", "[cli]") {
  // Given a log format or level outside the allowed set, it is a usage error
  // that lists what is allowed.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  const ProcessResult format = RunImgbackfill({"--log-format", "xml", "status", "--db", db});
  CHECK(format.exit_code == 2);
  CHECK_THAT(format.err, Contains("--log-format") && Contains("xml") && Contains("json"));
  const ProcessResult level = RunImgbackfill({"--log-level", "loud", "status", "--db", db});
  CHECK(level.exit_code == 2);
  CHECK_THAT(level.err, Contains("--log-level") && Contains("loud") && Contains("debug"));
}

TEST_CASE("no subcommand exits 2 and says one is required", "[cli]") {
  // Given no arguments at all, the binary asks for a subcommand (2).
  const ProcessResult r = RunImgbackfill({});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("A subcommand is required") && Contains("imgbackfill --help"));
}

TEST_CASE("no --db and no DATABASE_URL exits 2 and says how to name a database", "[cli]") {
  // Given each command without --db, with DATABASE_URL unset (the test
  // harness clears it), the message names both ways to give one.
  for (const std::string command : {"run", "status", "migrate"}) {
    const ProcessResult r = RunImgbackfill({command});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err,
               Contains("no database given") && Contains("--db") && Contains("DATABASE_URL"));
  }
}

TEST_CASE("DATABASE_URL names the database when --db is absent, and --db wins over it", "[cli]") {
  // Given DATABASE_URL pointing at a seeded catalog and no --db, `run
  // --limit 4` queues exactly 4 jobs in that catalog.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  const ProcessResult r = RunImgbackfill({"run", "--limit", "4"}, {{"DATABASE_URL", db}});
  CHECK(r.exit_code == 0);
  CHECK(Jobs(db) == 4);

  // DATABASE_URL is really read: a missing file there is reported by name.
  const std::string missing = tmp / "missing.db";
  const ProcessResult env_missing = RunImgbackfill({"status"}, {{"DATABASE_URL", missing}});
  CHECK(env_missing.exit_code == 69);
  CHECK_THAT(env_missing.err, Contains("database " + missing + " does not exist"));

  // --db overrides it.
  const ProcessResult override_env =
      RunImgbackfill({"status", "--json", "--db", db}, {{"DATABASE_URL", missing}});
  CHECK(override_env.exit_code == 0);
  CHECK(nlohmann::json::parse(override_env.out)["jobs"]["available"] == 4);
  CHECK_FALSE(fs::exists(missing));
}

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
  CHECK_THAT(first.out, Contains("schema migrated from version 0 to 1"));
  const ProcessResult second = RunImgbackfill({"migrate", "--db", db});
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.out, Contains("schema already at version 1, nothing to do"));
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

// ---- Config file -----------------------------------------------------------

TEST_CASE("a missing --config file exits 78 and names the file", "[cli]") {
  // Given --config naming no file, the binary stops before doing anything.
  TempDir tmp;
  const std::string config = tmp / "imgbackfill.toml";
  const std::string db = SeededCatalog(tmp);
  const ProcessResult r = RunImgbackfill({"--config", config, "run", "--db", db});
  CHECK(r.exit_code == 78);
  CHECK_THAT(r.err,
             Contains("configuration error") && Contains(config) && Contains("not readable"));
  CHECK(Runs(db) == 0);
}

TEST_CASE("a config file with an unknown key exits 78 and names the key and the file", "[cli]") {
  // Given config files with a misspelt top-level key, a misspelt key under
  // [run], and an unknown table, each exits 78 naming the file and the key.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  const std::string config = tmp / "imgbackfill.toml";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"db = \"" + db + "\"\nlog_format = \"json\"\n", "unknown key 'log_format'"},
      {"db = \"" + db + "\"\n[run]\nlimt = 3\n", "unknown key 'run.limt'"},
      {"db = \"" + db + "\"\n[runn]\nlimit = 3\n", "unknown table [runn]"},
  };
  for (const auto& [text, message] : cases) {
    WriteBytes(config, text);
    const ProcessResult r = RunImgbackfill({"--config", config, "run"});
    INFO(text << r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Contains("configuration error: " + config + ": " + message) &&
                          Contains("[run] limit = 3"));
  }
  CHECK(Runs(db) == 0);
}

TEST_CASE("a config file sets the database and run's limit, and flags override it", "[cli]") {
  // Given a config with db and [run] limit = 3, `run` alone queues exactly
  // 3 jobs in that database; a later `run --limit 5` from the command line
  // queues 5 more (the command line wins over the file).
  TempDir tmp;
  const std::string db = SeededCatalog(tmp);
  const std::string config = tmp / "imgbackfill.toml";
  WriteBytes(config, "db = \"" + db + "\"\nlog-level = \"warn\"\n\n[run]\nlimit = 3\n");

  const ProcessResult r = RunImgbackfill({"--config", config, "run"});
  CHECK(r.exit_code == 0);
  CHECK(Jobs(db) == 3);
  CHECK(QueryInt(db, "SELECT limit_count FROM backfill_runs WHERE id = 1") == 3);
  CHECK(r.err.empty());  // log-level = "warn" from the file silences the info lines

  const ProcessResult flag = RunImgbackfill({"--config", config, "run", "--limit", "5"});
  CHECK(flag.exit_code == 0);
  CHECK(Jobs(db) == 8);
  CHECK(QueryInt(db, "SELECT limit_count FROM backfill_runs WHERE id = 2") == 5);
}

// ---- Logs, help, version ---------------------------------------------------

void CheckJsonLines(const std::string& err, size_t at_least) {
  std::istringstream lines(err);
  std::string line;
  size_t count = 0;
  while (std::getline(lines, line)) {
    INFO("stderr line: " << line);
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    REQUIRE(j.is_object());
    CHECK(j.size() == 3);
    REQUIRE(j.contains("time"));
    REQUIRE(j.contains("level"));
    REQUIRE(j.contains("msg"));
    CHECK(j["time"].is_string());
    CHECK(j["time"].get<std::string>().size() == 24);  // 2026-11-23T02:30:00.123Z
    CHECK(j["time"].get<std::string>().back() == 'Z');
    CHECK(j["level"].is_string());
    CHECK(j["msg"].is_string());
    ++count;
  }
  CHECK(count >= at_least);
}

TEST_CASE("with --log-format json every stderr line of a run is a JSON object", "[cli]") {
  // Given a seeded catalog of 1,200 images (about 900 candidates, so the
  // every-500 progress line appears too), a json-logged run writes only
  // JSON objects with time, level and msg on stderr; errors too.
  TempDir tmp;
  const std::string db = SeededCatalog(tmp, 1200);
  const ProcessResult r = RunImgbackfill({"--log-format", "json", "run", "--db", db});
  CHECK(r.exit_code == 0);
  CheckJsonLines(r.err, 3);
  CHECK_THAT(r.err, Contains("\"level\":\"info\"") && Contains("candidates in scope") &&
                        Contains("queued 500") && Contains("completed"));

  const ProcessResult error =
      RunImgbackfill({"--log-format", "json", "status", "--db", tmp / "missing.db"});
  CHECK(error.exit_code == 69);
  CheckJsonLines(error.err, 1);
  CHECK_THAT(error.err, Contains("\"level\":\"error\"") && Contains("does not exist"));
}

TEST_CASE("help and version flags exit 0 and print usage and the version", "[cli]") {
  // Given --help at the top and on each command, and --version, each exits
  // 0 and prints to stdout.
  const ProcessResult help = RunImgbackfill({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("Usage: imgbackfill") && Contains("--db") && Contains("--config") &&
                           Contains("status"));
  const ProcessResult run_help = RunImgbackfill({"run", "--help"});
  CHECK(run_help.exit_code == 0);
  CHECK_THAT(run_help.out,
             Contains("--limit") && Contains("--max-runtime") && Contains("--dry-run"));
  for (const std::string command : {"status", "migrate"}) {
    const ProcessResult r = RunImgbackfill({command, "--help"});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("Usage: imgbackfill " + command));
  }
  const ProcessResult version = RunImgbackfill({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out == std::string("imgbackfill ") + IMGBACKFILL_VERSION + "\n");
}

}  // namespace
}  // namespace imgbackfill
