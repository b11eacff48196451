// Wrong flags, config files and log formats, through the real executable: the
// exit code and the message a user sees.
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
