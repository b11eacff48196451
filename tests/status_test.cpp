// `imgbackfill status`, text and --json, driven through the real executable
// on a seeded catalog after real runs. Every number is checked against an
// independent count made here with plain SQL (the group computed from
// product_id and is_primary, not from the store's generated column), and the
// numbers the setup fixes by construction are checked as literals too.
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/catalog.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using Catch::Matchers::Contains;
using testing::CatalogSpec;
using testing::Exec;
using testing::kCurrentModel;
using testing::kOldModel;
using testing::MakeSqliteCatalog;
using testing::ProcessResult;
using testing::QueryInt;
using testing::RunImgbackfill;
using testing::TempDir;

const std::string kGroup =
    "(CASE WHEN product_id IS NOT NULL AND is_primary = 1 THEN 0 ELSE 1 END)";

struct Expected {
  int64_t active, current_model, other_model, missing, dead;
  double percent() const { return active == 0 ? 100.0 : 100.0 * current_model / active; }
};

// Coverage of `group` (0, 1, or -1 for all) against `model`, by plain SQL.
Expected Count(const std::string& db, int group, const std::string& model) {
  const std::string in_group =
      " FROM images i WHERE active = 1" +
      (group < 0 ? std::string() : " AND " + kGroup + " = " + std::to_string(group));
  const std::string m = "'" + model + "'";
  Expected e{};
  e.active = QueryInt(db, "SELECT count(*)" + in_group);
  e.current_model = QueryInt(db, "SELECT count(*)" + in_group + " AND embedding_model = " + m);
  e.other_model = QueryInt(db, "SELECT count(*)" + in_group +
                                   " AND embedding_model IS NOT NULL AND embedding_model <> " + m);
  e.missing = QueryInt(db, "SELECT count(*)" + in_group + " AND embedding_model IS NULL");
  // A dead job with no later job of the same image.
  e.dead = QueryInt(db, "SELECT count(*)" + in_group + " AND embedding_model IS NOT " + m +
                            " AND EXISTS (SELECT 1 FROM jobs d WHERE d.image_id = i.id AND"
                            " d.state = 'dead' AND NOT EXISTS (SELECT 1 FROM jobs n"
                            " WHERE n.image_id = i.id AND n.id > d.id))");
  return e;
}

void CheckCoverageJson(const nlohmann::json& j, const Expected& e) {
  INFO(j.dump());
  CHECK(j.at("active") == e.active);
  CHECK(j.at("current_model") == e.current_model);
  CHECK(j.at("other_model") == e.other_model);
  CHECK(j.at("missing") == e.missing);
  CHECK(j.at("dead") == e.dead);
  CHECK(j.at("percent").get<double>() == Approx(e.percent()));
}

// The whitespace-separated words of the first line of `text` that starts
// with `prefix` (after indentation), without the prefix.
std::vector<std::string> Words(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string::npos || line.compare(start, prefix.size(), prefix) != 0) continue;
    std::istringstream rest(line.substr(start + prefix.size()));
    std::vector<std::string> words;
    for (std::string w; rest >> w;) words.push_back(w);
    return words;
  }
  FAIL("no line starting with '" << prefix << "' in:\n" << text);
  return {};
}

std::string Percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", value);
  return text;
}

void CheckCoverageRow(const std::string& out, const std::string& name, const Expected& e) {
  INFO(out);
  const auto words = Words(out, name);
  REQUIRE(words.size() == 6);
  CHECK(words[0] == std::to_string(e.active));
  CHECK(words[1] == std::to_string(e.current_model));
  CHECK(words[2] == std::to_string(e.other_model));
  CHECK(words[3] == std::to_string(e.missing));
  CHECK(words[4] == std::to_string(e.dead));
  CHECK(words[5] == Percent(e.percent()));
}

const std::vector<std::string> kJobStates = {"available", "running", "retryable",
                                             "completed", "dead",    "cancelled"};

// Marks the first `n` candidate images of `group` (by id) with a dead job.
void AddDeadJobs(const std::string& db, int group, int n) {
  Exec(db,
       "INSERT INTO jobs (image_id, state, last_error) SELECT id, 'dead', 'corrupt JPEG'"
       " FROM images WHERE active = 1 AND " +
           kGroup + " = " + std::to_string(group) + " AND embedding_model IS NOT '" +
           kCurrentModel +
           "' AND id NOT IN"
           " (SELECT image_id FROM jobs) ORDER BY id LIMIT " +
           std::to_string(n));
}

// A seeded catalog of 2,000 images, with:
// - dead jobs on 2 group-0 and 5 group-1 candidates (counted as dead);
// - a dead job followed by a completed one (not dead: the latest counts);
// - a dead job on an inactive image and on a current-model image (neither
//   counted: they need no backfill);
// then two completed runs (limits 100 and 400), after which the workers
// are simulated: 3 of the queued jobs died, others moved to every state.
std::string MakeStatusCatalog(const TempDir& tmp) {
  const std::string db = tmp / "catalog.db";
  MakeSqliteCatalog(db, CatalogSpec{.images = 2000, .seed = 20261123});
  AddDeadJobs(db, 0, 2);
  AddDeadJobs(db, 1, 5);
  const std::string next_candidate =
      "(SELECT id FROM images WHERE active = 1 AND embedding_model IS NOT '" +
      std::string(kCurrentModel) +
      "' AND id NOT IN (SELECT image_id FROM jobs) ORDER BY id"
      " LIMIT 1)";
  Exec(db, "INSERT INTO jobs (image_id, state) VALUES (" + next_candidate + ", 'dead')");
  Exec(db,
       "INSERT INTO jobs (image_id, state)"
       " SELECT image_id, 'completed' FROM jobs ORDER BY id DESC LIMIT 1");
  Exec(db,
       "INSERT INTO jobs (image_id, state) SELECT min(id), 'dead' FROM images"
       " WHERE active = 0");
  Exec(db,
       "INSERT INTO jobs (image_id, state) SELECT min(id), 'dead' FROM images"
       " WHERE active = 1 AND embedding_model = '" +
           std::string(kCurrentModel) + "'");
  REQUIRE(QueryInt(db, "SELECT count(*) FROM jobs") == 11);

  REQUIRE(RunImgbackfill({"run", "--db", db, "--limit", "100"}).exit_code == 0);
  REQUIRE(RunImgbackfill({"run", "--db", db, "--limit", "400"}).exit_code == 0);
  REQUIRE(QueryInt(db, "SELECT count(*) FROM jobs WHERE state = 'available'") == 500);

  // The three oldest queued jobs (group 0: runs walk it first) died.
  Exec(db,
       "UPDATE jobs SET state = 'dead', last_error = 'HTTP 404' WHERE id IN (SELECT id FROM"
       " jobs WHERE state = 'available' ORDER BY id LIMIT 3)");
  Exec(db, "UPDATE jobs SET state = 'completed' WHERE state = 'available' AND id % 5 = 0");
  Exec(db, "UPDATE jobs SET state = 'running' WHERE state = 'available' AND id % 5 = 1");
  Exec(db, "UPDATE jobs SET state = 'retryable' WHERE state = 'available' AND id % 5 = 2");
  Exec(db, "UPDATE jobs SET state = 'cancelled' WHERE state = 'available' AND id % 7 = 3");
  return db;
}

TEST_CASE("status --json matches independent SQL counts of coverage, jobs and runs", "[status]") {
  // Given the status catalog (see MakeStatusCatalog), `status --json`
  // reports, per group and in total, active images, current model, other
  // model, missing, dead and percent = current / active * 100, jobs by
  // state and the runs newest first with state, cursor and queued: each
  // equal to a count made with plain SQL.
  TempDir tmp;
  const std::string db = MakeStatusCatalog(tmp);
  const ProcessResult r = RunImgbackfill({"status", "--json", "--db", db});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);

  CHECK(doc.at("model") == kCurrentModel);
  const auto& groups = doc.at("coverage").at("groups");
  REQUIRE(groups.size() == 2);
  for (int g : {0, 1}) {
    INFO("group " << g);
    CHECK(groups[g].at("group") == g);
    CheckCoverageJson(groups[g], Count(db, g, kCurrentModel));
  }
  CheckCoverageJson(doc.at("coverage").at("total"), Count(db, -1, kCurrentModel));
  // By construction: 2 + 3 dead in group 0, 5 in group 1.
  CHECK(groups[0].at("dead") == 5);
  CHECK(groups[1].at("dead") == 5);
  // Every active image is current, other or missing.
  for (int g : {0, 1}) {
    CHECK(groups[g].at("active").get<int64_t>() == groups[g].at("current_model").get<int64_t>() +
                                                       groups[g].at("other_model").get<int64_t>() +
                                                       groups[g].at("missing").get<int64_t>());
  }

  const auto& jobs = doc.at("jobs");
  CHECK(jobs.size() == kJobStates.size());
  for (const auto& state : kJobStates) {
    INFO("jobs " << state);
    CHECK(jobs.at(state) ==
          QueryInt(db, "SELECT count(*) FROM jobs WHERE state = '" + state + "'"));
  }
  CHECK(jobs.at("dead") == 13);  // 10 set up before the runs, 3 died after
  int64_t total = 0;
  for (const auto& state : kJobStates) total += jobs.at(state).get<int64_t>();
  CHECK(total == 511);

  // Runs, newest first; the cursor of each is the (group, image) of the last
  // job it queued, found from the jobs the runs wrote (args force=false).
  const auto& runs = doc.at("runs");
  REQUIRE(runs.size() == 2);
  const std::string run_job =
      "SELECT i.id FROM jobs j JOIN images i ON i.id = j.image_id"
      " WHERE j.args = '{\"force\":false}' ORDER BY j.id";
  const int64_t last1 = QueryInt(db, run_job + " LIMIT 1 OFFSET 99");
  const int64_t last2 = QueryInt(db, run_job + " LIMIT 1 OFFSET 499");
  const auto group_of = [&](int64_t id) {
    return QueryInt(db, "SELECT " + kGroup + " FROM images WHERE id = " + std::to_string(id));
  };
  for (size_t k = 0; k < runs.size(); ++k) {
    const int64_t id = static_cast<int64_t>(runs.size() - k);  // newest first
    const std::string row = " FROM backfill_runs WHERE id = " + std::to_string(id);
    INFO("run " << id << ": " << runs[k].dump());
    CHECK(runs[k].at("id") == id);
    CHECK(runs[k].at("state") == "completed");
    CHECK(QueryInt(db, "SELECT state = 'completed'" + row) == 1);
    CHECK(runs[k].at("queued") == QueryInt(db, "SELECT queued" + row));
    CHECK(runs[k].at("limit") == QueryInt(db, "SELECT limit_count" + row));
    CHECK(runs[k].at("cursor").at("group") == QueryInt(db, "SELECT cursor_group" + row));
    CHECK(runs[k].at("cursor").at("last_id") == QueryInt(db, "SELECT cursor_id" + row));
  }
  CHECK(runs[1].at("queued") == 100);
  CHECK(runs[0].at("queued") == 400);
  CHECK(runs[1].at("cursor").at("last_id") == last1);
  CHECK(runs[1].at("cursor").at("group") == group_of(last1));
  CHECK(runs[0].at("cursor").at("last_id") == last2);
  CHECK(runs[0].at("cursor").at("group") == group_of(last2));
  CHECK(runs[0].at("cursor").at("group") == 1);  // the second run crossed into group 1
}

TEST_CASE("status prints coverage per group, jobs by state and recent runs", "[status]") {
  // Given the status catalog, the text report has one row per group and
  // one for all, whose numbers equal the SQL counts, the percent to one
  // decimal, the job counts by state, and each run's state, count and
  // cursor.
  TempDir tmp;
  const std::string db = MakeStatusCatalog(tmp);
  const ProcessResult r = RunImgbackfill({"status", "--db", db});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(std::string("Coverage for model ") + kCurrentModel));
  CheckCoverageRow(r.out, "0 product primary images", Count(db, 0, kCurrentModel));
  CheckCoverageRow(r.out, "1 other images", Count(db, 1, kCurrentModel));
  CheckCoverageRow(r.out, "all", Count(db, -1, kCurrentModel));

  const auto jobs = Words(r.out, "Jobs:");
  REQUIRE(jobs.size() == 2 * kJobStates.size());
  for (size_t k = 0; k < jobs.size(); k += 2) {
    INFO("jobs " << jobs[k]);
    CHECK(jobs[k + 1] == std::to_string(QueryInt(
                             db, "SELECT count(*) FROM jobs WHERE state = '" + jobs[k] + "'")));
  }

  for (int64_t id : {1, 2}) {
    const std::string row = " FROM backfill_runs WHERE id = " + std::to_string(id);
    const auto words = Words(r.out, "#" + std::to_string(id) + " ");
    const std::string text = [&] {
      std::string joined;
      for (const auto& w : words) joined += w + " ";
      return joined;
    }();
    INFO(text);
    REQUIRE_FALSE(words.empty());
    CHECK(words[0] == "completed");
    CHECK_THAT(text, Contains("queued " + std::to_string(QueryInt(db, "SELECT queued" + row)) +
                              "/" + std::to_string(QueryInt(db, "SELECT limit_count" + row))));
    CHECK_THAT(
        text, Contains("cursor group " + std::to_string(QueryInt(db, "SELECT cursor_group" + row)) +
                       " id " + std::to_string(QueryInt(db, "SELECT cursor_id" + row))));
  }
  CHECK_THAT(r.out, Contains("queued 100/100") && Contains("queued 400/400"));
}

TEST_CASE("status --model measures coverage against another model", "[status]") {
  // Given the status catalog, `status --json --model <old model>` counts
  // the old model's images as current and the default model's as other.
  TempDir tmp;
  const std::string db = MakeStatusCatalog(tmp);
  const ProcessResult r = RunImgbackfill({"status", "--json", "--db", db, "--model", kOldModel});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc.at("model") == kOldModel);
  for (int g : {0, 1}) {
    INFO("group " << g);
    CheckCoverageJson(doc.at("coverage").at("groups")[g], Count(db, g, kOldModel));
  }
  CheckCoverageJson(doc.at("coverage").at("total"), Count(db, -1, kOldModel));
  CHECK(doc.at("coverage").at("total").at("current_model") ==
        QueryInt(db, "SELECT count(*) FROM images WHERE active = 1 AND embedding_model = '" +
                         std::string(kOldModel) + "'"));
}

TEST_CASE("status on a new empty catalog reports zero images, zero jobs and no runs", "[status]") {
  // Given a freshly migrated catalog, status exits 0; text says there are
  // no runs yet and JSON has zero counts and an empty run list.
  TempDir tmp;
  const std::string db = tmp / "new.db";
  REQUIRE(RunImgbackfill({"migrate", "--db", db}).exit_code == 0);
  const ProcessResult text = RunImgbackfill({"status", "--db", db});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("Recent backfill runs:\n  none yet"));
  const ProcessResult json = RunImgbackfill({"status", "--json", "--db", db});
  REQUIRE(json.exit_code == 0);
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc.at("coverage").at("total").at("active") == 0);
  CHECK(doc.at("runs").empty());
  for (const auto& state : kJobStates) CHECK(doc.at("jobs").at(state) == 0);
}

}  // namespace
}  // namespace imgbackfill
