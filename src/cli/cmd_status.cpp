#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "imgbackfill/models.h"

namespace imgbackfill::cli {
namespace {

const char* GroupName(int group) {
  return group == kGroupProductPrimary ? "product primary images" : "other images";
}

nlohmann::json CoverageJson(const GroupCoverage& g) {
  return {{"active", g.active},
          {"current_model", g.current_model},
          {"other_model", g.other_model},
          {"missing", g.missing},
          {"dead", g.dead},
          {"percent", g.percent()}};
}

nlohmann::json RunJson(const BackfillRun& r) {
  nlohmann::json j = {{"id", r.id},
                      {"state", ToString(r.state)},
                      {"model", r.params.model},
                      {"limit", r.params.limit},
                      {"product_images_only", r.params.product_images_only},
                      {"include_dead", r.params.include_dead},
                      {"cursor", {{"group", r.cursor.group}, {"last_id", r.cursor.last_id}}},
                      {"queued", r.queued},
                      {"skipped", r.skipped},
                      {"holder", {{"host", r.holder.host}, {"pid", r.holder.pid}}},
                      {"heartbeat_at", r.heartbeat_at},
                      {"started_at", r.started_at}};
  j["candidates_at_start"] =
      r.candidates_at_start ? nlohmann::json(*r.candidates_at_start) : nlohmann::json(nullptr);
  j["finished_at"] = r.finished_at ? nlohmann::json(*r.finished_at) : nlohmann::json(nullptr);
  j["last_error"] = r.last_error ? nlohmann::json(*r.last_error) : nlohmann::json(nullptr);
  return j;
}

GroupCoverage Total(const Coverage& c) {
  GroupCoverage t{-1};
  for (const auto& g : c.groups) {
    t.active += g.active;
    t.current_model += g.current_model;
    t.other_model += g.other_model;
    t.missing += g.missing;
    t.dead += g.dead;
  }
  return t;
}

void PrintText(const Coverage& coverage, const std::map<std::string, int64_t>& jobs,
               const std::vector<BackfillRun>& runs) {
  std::printf("Coverage for model %s\n", coverage.model.c_str());
  std::printf("  %-26s %10s %10s %10s %10s %8s %8s\n", "group", "active", "current", "other",
              "missing", "dead", "percent");
  auto row = [](const std::string& name, const GroupCoverage& g) {
    std::printf("  %-26s %10lld %10lld %10lld %10lld %8lld %7.1f%%\n", name.c_str(),
                static_cast<long long>(g.active), static_cast<long long>(g.current_model),
                static_cast<long long>(g.other_model), static_cast<long long>(g.missing),
                static_cast<long long>(g.dead), g.percent());
  };
  for (const auto& g : coverage.groups) {
    row(std::to_string(g.group) + " " + GroupName(g.group), g);
  }
  row("all", Total(coverage));
  std::printf("Jobs:");
  for (const auto& [state, count] : jobs) {
    std::printf(" %s %lld", state.c_str(), static_cast<long long>(count));
  }
  std::printf("\nRecent backfill runs:\n");
  if (runs.empty()) std::printf("  none yet\n");
  for (const auto& r : runs) {
    std::printf("  #%lld %-11s started %s  model %s  queued %lld/%lld  cursor group %d id %lld%s\n",
                static_cast<long long>(r.id), ToString(r.state), r.started_at.c_str(),
                r.params.model.c_str(), static_cast<long long>(r.queued),
                static_cast<long long>(r.params.limit), r.cursor.group,
                static_cast<long long>(r.cursor.last_id),
                r.last_error ? ("  error: " + *r.last_error).c_str() : "");
  }
}

}  // namespace

void AddStatusCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Flags {
    bool json = false;
    std::string model{DefaultEmbeddingModel()};
    int runs = 5;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("status", "Show coverage, the queue and recent runs");
  cmd->add_flag("--json", flags->json, "Print one JSON document for machines");
  cmd->add_option("--model", flags->model, "Model to measure coverage against")
      ->capture_default_str();
  cmd->add_option("--runs", flags->runs, "How many recent runs to list")
      ->check(PositiveInteger())
      ->capture_default_str();
  cmd->callback([&global, &action, flags] {
    action = [&global, flags] {
      auto store = OpenCurrentStore(global);
      const Coverage coverage = store->ReadCoverage(flags->model);
      const auto jobs = store->CountJobsByState();
      const auto runs = store->ListRecentRuns(flags->runs);
      if (!flags->json) {
        PrintText(coverage, jobs, runs);
        return 0;
      }
      nlohmann::json doc;
      doc["model"] = coverage.model;
      doc["database"] = store->Describe();
      for (const auto& g : coverage.groups) {
        auto j = CoverageJson(g);
        j["group"] = g.group;
        j["name"] = GroupName(g.group);
        doc["coverage"]["groups"].push_back(j);
      }
      doc["coverage"]["total"] = CoverageJson(Total(coverage));
      doc["jobs"] = jobs;
      doc["runs"] = nlohmann::json::array();
      for (const auto& r : runs) doc["runs"].push_back(RunJson(r));
      std::printf("%s\n", doc.dump(2).c_str());
      return 0;
    };
  });
}

}  // namespace imgbackfill::cli
