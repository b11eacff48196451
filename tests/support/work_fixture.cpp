#include "support/work_fixture.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/bad_images.h"
#include "support/catalog.h"
#include "support/fake_provider_server.h"

namespace imgbackfill::testing {

namespace fs = std::filesystem;

WorkCatalog::WorkCatalog(int count, uint32_t seed) {
  MakeSqliteCatalog(db, CatalogSpec{.images = 0});
  fs::create_directories(dir.path() / "images");
  for (int i = 0; i < count; ++i) {
    const fs::path file = dir.path() / "images" / (std::to_string(i + 1) + ".jpg");
    WriteJpeg(file, 48 + static_cast<int>((seed + i) % 32),
              32 + static_cast<int>((seed * 7 + i) % 32), seed * 1000 + static_cast<uint32_t>(i));
    AddImage(file.string());
  }
}

int64_t WorkCatalog::AddImage(const std::string& location) {
  const int64_t id = next_id++;
  std::string quoted;
  for (char c : location) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  Exec(db, "INSERT INTO images (id, location) VALUES (" + std::to_string(id) + ", '" + quoted +
               "'); INSERT INTO jobs (image_id) VALUES (" + std::to_string(id) + ")");
  return id;
}

std::vector<std::string> WorkCatalog::WorkArgv(const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {"work", "--db", db};
  args.insert(args.end(), extra.begin(), extra.end());
  return ImgbackfillArgv(args);
}

ProcessResult WorkCatalog::Work(const std::vector<std::string>& extra,
                                const std::map<std::string, std::string>& env) const {
  std::vector<std::string> args = {"--until-empty"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunProcess(WorkArgv(args), env);
}

int64_t WorkCatalog::JobsIn(const std::string& state) const {
  return QueryInt(db, "SELECT count(*) FROM jobs WHERE state = '" + state + "'");
}

std::string WorkCatalog::JobState(int64_t image_id) const {
  return QueryText(db, "SELECT state FROM jobs WHERE image_id = " + std::to_string(image_id) +
                           " ORDER BY id DESC LIMIT 1");
}

std::string WorkCatalog::JobError(int64_t image_id) const {
  return QueryText(db, "SELECT last_error FROM jobs WHERE image_id = " + std::to_string(image_id) +
                           " ORDER BY id DESC LIMIT 1");
}

int64_t WorkCatalog::JobAttempt(int64_t image_id) const {
  return QueryInt(db, "SELECT attempt FROM jobs WHERE image_id = " + std::to_string(image_id) +
                          " ORDER BY id DESC LIMIT 1");
}

std::map<std::string, std::string> FakeKeys() {
  return {{"GEMINI_API_KEY", FakeProviderServer::kGeminiKey},
          {"OPENAI_API_KEY", FakeProviderServer::kOpenAiKey}};
}

}  // namespace imgbackfill::testing
