// `imgbackfill work` given wrong flags, a wrong model or provider, a missing
// key or a bad config file: the exit code and the message a user sees, and
// no job touched.
#include <catch2/catch.hpp>

#include "support/cli_fixture.h"
#include "support/work_fixture.h"

namespace imgbackfill {
namespace {

using Catch::Contains;
using testing::ProcessResult;
using testing::RunProcess;
using testing::WorkCatalog;

struct BadFlag {
  std::vector<std::string> args;
  int exit_code;
  std::vector<std::string> message;  // parts of stderr
};

TEST_CASE("work refuses out-of-range and malformed flags with exit 2 and the flag named",
          "[cli][work]") {
  WorkCatalog catalog(1);
  const std::vector<BadFlag> cases = {
      {{"--concurrency", "0"}, 2, {"--concurrency", "not in range"}},
      {{"--batch-size", "0"}, 2, {"--batch-size", "not in range"}},
      {{"--batch-size", "5000"}, 2, {"--batch-size", "not in range"}},
      {{"--batch-window", "soon"}, 2, {"--batch-window", "positive duration"}},
      {{"--rate", "-1"}, 2, {"--rate", "not in range"}},
      {{"--max-attempts", "0"}, 2, {"--max-attempts", "not in range"}},
      {{"--max-jobs", "0"}, 2, {"--max-jobs", "at least 1"}},
      {{"--max-pixels", "-5"}, 2, {"--max-pixels", "at least 1"}},
      {{"--lease", "0s"}, 2, {"--lease", "positive duration"}},
      {{"--provider", "azure"}, 2, {"--provider", "azure"}},
      {{"--model", "clip-vit"}, 2, {"--model clip-vit is not a known embedding model",
                                    "local-descriptor-v1"}},
      {{"--model", "gemini-embedding-001", "--provider", "openai"},
       2,
       {"served by the gemini provider, not --provider openai"}},
  };
  for (const BadFlag& bad : cases) {
    const ProcessResult r = RunProcess(catalog.WorkArgv(bad.args));
    INFO(bad.args[0] << " " << bad.args[1] << ": " << r.err);
    CHECK(r.exit_code == bad.exit_code);
    for (const std::string& part : bad.message) CHECK_THAT(r.err, Contains(part));
  }
  CHECK(catalog.JobState(1) == "available");
  CHECK(catalog.JobAttempt(1) == 0);
}

TEST_CASE("work takes its flags from the [work] table of a config file", "[cli][work]") {
  WorkCatalog catalog(5);
  const std::string config = (catalog.dir.path() / "imgbackfill.toml").string();
  testing::WriteBytes(config, "[work]\nmax-jobs = 2\nbatch-size = 2\n");
  const ProcessResult r =
      RunProcess(testing::ImgbackfillArgv({"--config", config, "work", "--db", catalog.db}));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 2);
  testing::WriteBytes(config, "[work]\nbatch-sise = 2\n");
  const ProcessResult typo =
      RunProcess(testing::ImgbackfillArgv({"--config", config, "work", "--db", catalog.db}));
  CHECK(typo.exit_code == 78);
  CHECK_THAT(typo.err, Contains("unknown key 'work.batch-sise'"));
}

TEST_CASE("work on a database that is missing or not migrated exits with what to do",
          "[cli][work]") {
  testing::TempDir dir;
  const ProcessResult missing = testing::RunImgbackfill(
      {"work", "--db", (dir.path() / "nope.db").string(), "--until-empty"});
  CHECK(missing.exit_code == 69);
  CHECK_THAT(missing.err, Contains("does not exist") && Contains("imgbackfill migrate"));
}

}  // namespace
}  // namespace imgbackfill
