// `imgbackfill import`: directories and manifests (CSV, JSON lines) become
// catalog rows, idempotently. In-process tests drive ImportPath against a
// real SQLite file; end-to-end tests run the executable and assert what a
// user sees (the exit code, the summary on stdout, FILE:LINE on stderr) and
// what landed in the database.
#include "imgbackfill/import.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "imgbackfill/error.h"
#include "imgbackfill/store.h"
#include "support/catalog.h"
#include "support/cli_fixture.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using testing::ProcessResult;
using testing::QueryInt;
using testing::ReadImages;
using testing::RunImgbackfill;
using testing::TempDir;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::unique_ptr<Store> NewCatalog(const std::string& db) {
  auto store = OpenStore(db, OpenOptions{.create = true});
  store->Migrate();
  return store;
}

std::optional<Error> ErrorFrom(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

Image Stored(Store& store, int64_t id) {
  const std::optional<Image> image = store.FindImage(id);
  REQUIRE(image.has_value());
  return *image;
}

std::string Normal(const fs::path& path) { return path.lexically_normal().string(); }

// ---- Manifests, in process ------------------------------------------------

TEST_CASE("import of a manifest upserts by id and is idempotent") {
  // Given a CSV manifest of three images with ids, the first import inserts
  // them under those ids; the second changes nothing; an edited row updates
  // that image alone.
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "products.csv";
  WriteFile(manifest,
            "id,location,product_id,is_primary,active\n"
            "7,/srv/img/7.jpg,SKU-1,1,1\n"
            "3,/srv/img/3.jpg,SKU-1,0,\n"
            "42,https://cdn.example.com/42.png,,,0\n");

  const ImportReport first = ImportPath(*store, manifest);
  CHECK(first.clean());
  CHECK(first.inserted == 3);
  CHECK(first.updated == 0);
  CHECK(first.unchanged == 0);
  const Image seven = Stored(*store, 7);
  CHECK(seven.location == "/srv/img/7.jpg");
  CHECK(seven.product_id == "SKU-1");
  CHECK(seven.is_primary);
  CHECK(seven.active);
  CHECK(seven.group == kGroupProductPrimary);
  CHECK_FALSE(Stored(*store, 3).is_primary);
  CHECK(Stored(*store, 42).product_id == std::nullopt);
  CHECK_FALSE(Stored(*store, 42).active);

  const ImportReport second = ImportPath(*store, manifest);
  CHECK(second.clean());
  CHECK(second.inserted == 0);
  CHECK(second.updated == 0);
  CHECK(second.unchanged == 3);

  WriteFile(manifest,
            "active,location,id\n"  // columns in another order, some left out
            "0,/srv/img/7.jpg,7\n");
  const ImportReport edit = ImportPath(*store, manifest);
  CHECK(edit.updated == 1);
  CHECK_FALSE(Stored(*store, 7).active);
  CHECK(Stored(*store, 7).product_id == std::nullopt);  // a left-out column means its default
  CHECK(ReadImages(dir / "catalog.db").size() == 3);
}

TEST_CASE("import keeps the id of the image at the location of a manifest row without an id") {
  // Given images registered from a directory, a manifest naming one of them
  // by path (no id) attaches a product to that same image, and a path not
  // yet known gets the next new id.
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  WriteFile(dir.path() / "photos/a.jpg", "");
  WriteFile(dir.path() / "photos/b.jpg", "");
  REQUIRE(ImportPath(*store, dir.path() / "photos").inserted == 2);

  const fs::path manifest = dir.path() / "photos/products.csv";
  WriteFile(manifest,
            "location,product_id,is_primary\n"
            "b.jpg,SKU-9,yes\n"
            "c.jpg,,\n");
  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.clean());
  CHECK(report.updated == 1);
  CHECK(report.inserted == 1);
  const Image b = Stored(*store, 2);
  CHECK(b.location == Normal(dir.path() / "photos/b.jpg"));
  CHECK(b.product_id == "SKU-9");
  CHECK(b.is_primary);
  CHECK(Stored(*store, 3).location == Normal(dir.path() / "photos/c.jpg"));
}

TEST_CASE("import resolves relative locations against the manifest's directory and keeps URLs") {
  // Given a manifest in a subdirectory with relative paths, the stored
  // locations are absolute and normalised against the manifest's directory
  // (not the working directory); URLs stay as written; other schemes are
  // rejected rows.
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "shop/manifests/m.csv";
  WriteFile(manifest,
            "id,location\n"
            "1,img/a.jpg\n"
            "2,./img/../../shared/b.jpg\n"
            "3,HTTPS://CDN.example.com/Path/C.JPG?x=1\n"
            "4,ftp://files.example.com/d.jpg\n"
            "5,file:///srv/e.jpg\n"
            "6,/abs/./f.jpg\n");

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.inserted == 4);
  CHECK(Stored(*store, 1).location == Normal(dir.path() / "shop/manifests/img/a.jpg"));
  CHECK(Stored(*store, 2).location == Normal(dir.path() / "shop/shared/b.jpg"));
  CHECK(Stored(*store, 3).location == "HTTPS://CDN.example.com/Path/C.JPG?x=1");
  CHECK(Stored(*store, 6).location == "/abs/f.jpg");
  CHECK_FALSE(store->FindImage(4).has_value());
  CHECK_FALSE(store->FindImage(5).has_value());
  REQUIRE(report.rejected == 2);
  CHECK(report.problems[0].line == 5);
  CHECK_THAT(report.problems[0].message, Contains("unsupported scheme ftp://"));
  CHECK(report.problems[1].line == 6);
  CHECK_THAT(report.problems[1].message, Contains("give the local path itself"));
}

TEST_CASE("import reads quoted CSV fields with commas, doubled quotes and line breaks") {
  // Given RFC 4180 quoting (and a BOM, CRLF line ends, a blank line), the
  // fields arrive intact and a row after a multi-line field reports the line
  // it starts on.
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "quoted.csv";
  WriteFile(manifest,
            "\xEF\xBB\xBFid,location,product_id\r\n"
            "1,\"/img/a, b.jpg\",\"SKU \"\"big\"\"\"\r\n"
            "\r\n"
            "2, \"/img/two\nlines.jpg\" ,  SKU-2  \r\n"
            "3,\"/img/c.jpg\"x,\r\n"
            "4,/img/d.jpg,\r\n");

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.inserted == 3);
  CHECK(Stored(*store, 1).location == "/img/a, b.jpg");
  CHECK(Stored(*store, 1).product_id == "SKU \"big\"");
  CHECK(Stored(*store, 2).location == "/img/two\nlines.jpg");
  CHECK(Stored(*store, 2).product_id == "SKU-2");
  CHECK(Stored(*store, 4).location == "/img/d.jpg");
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].line == 6);
  CHECK_THAT(report.problems[0].message, Contains("text after the closing quote of field 2"));
}

TEST_CASE("import refuses a whole CSV file with an unknown column, naming the column") {
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "typo.csv";
  WriteFile(manifest,
            "id,location,colour\n"
            "1,/img/a.jpg,red\n");

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.refused);
  CHECK(report.total() == 0);
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].line == 1);
  CHECK_THAT(report.problems[0].message, Contains("unknown column 'colour'"));
  CHECK_THAT(report.problems[0].message, Contains("nothing was imported from this file"));
  CHECK(QueryInt(dir / "catalog.db", "SELECT count(*) FROM images") == 0);

  SECTION("so do a missing location column, a repeated column and an empty file") {
    WriteFile(manifest, "id,product_id\n1,SKU\n");
    CHECK_THAT(ImportPath(*store, manifest).problems.at(0).message,
               Contains("no 'location' column"));
    WriteFile(manifest, "location,ID,id\n/a.jpg,1,1\n");
    CHECK_THAT(ImportPath(*store, manifest).problems.at(0).message,
               Contains("column 'id' appears twice"));
    WriteFile(manifest, "");
    const ImportReport empty = ImportPath(*store, manifest);
    CHECK(empty.refused);
    CHECK_THAT(empty.problems.at(0).message, Contains("the file is empty"));
    CHECK(QueryInt(dir / "catalog.db", "SELECT count(*) FROM images") == 0);
  }
}

TEST_CASE("import reports bad CSV rows with their line and lands the good rows of the file") {
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "mixed.csv";
  WriteFile(manifest,
            "id,location,product_id,is_primary,active\n"
            "1,/img/1.jpg,P1,TRUE,Yes\n"  // 2: good
            "x,/img/2.jpg,,,\n"           // 3: bad id
            "0,/img/3.jpg,,,\n"           // 4: id must be positive
            "4,/img/4.jpg,,,maybe\n"      // 5: bad boolean
            "5,/img/5.jpg,,t,\n"          // 6: primary without product
            "6,,P6,,\n"                   // 7: no location
            "7,/img/7.jpg,P7\n"           // 8: too few fields
            "8,/img/8.jpg,P8,f,N0\n"      // 9: bad boolean (zero vs letter O)
            "9,/img/9.jpg,P9,F,no\n");    // 10: good

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.inserted == 2);
  CHECK(report.rejected == 7);
  const auto rows = ReadImages(dir / "catalog.db");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == 1);
  CHECK(rows[0].is_primary);
  CHECK(rows[0].active);
  CHECK(rows[1].id == 9);
  CHECK_FALSE(rows[1].is_primary);
  CHECK_FALSE(rows[1].active);

  REQUIRE(report.problems.size() == 7);
  for (const ImportProblem& problem : report.problems) CHECK(problem.file == manifest.string());
  CHECK(report.problems[0].line == 3);
  CHECK_THAT(report.problems[0].message, Contains("id must be a positive whole number"));
  CHECK(report.problems[1].line == 4);
  CHECK(report.problems[2].line == 5);
  CHECK_THAT(report.problems[2].message, Contains("active must be 1/0, true/false"));
  CHECK(report.problems[3].line == 6);
  CHECK_THAT(report.problems[3].message, Contains("a primary image must belong to a product"));
  CHECK(report.problems[4].line == 7);
  CHECK_THAT(report.problems[4].message, Contains("no location"));
  CHECK(report.problems[5].line == 8);
  CHECK_THAT(report.problems[5].message,
             Contains("expected 5 fields as the header names, found 3"));
  CHECK(report.problems[6].line == 9);
}

TEST_CASE("import of a manifest repeating a key keeps the first row and rejects the later one") {
  // Given rows repeating an id (far apart, in different batches) and a
  // location without an id, only the first of each lands, the later ones are
  // reported naming the first's line, and a re-import is idempotent.
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "dups.csv";
  std::string text = "id,location\n";
  for (int k = 1; k <= 2500; ++k) {
    const int id = k == 2400 ? 5 : k;
    text += std::to_string(id) + ",/img/" + std::to_string(k) + ".jpg\n";
  }
  text += ",/img/x.jpg\n,/img/x.jpg\n";  // lines 2502 and 2503
  WriteFile(manifest, text);

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.inserted == 2500);  // 2499 with ids, one by location
  CHECK(report.rejected == 2);
  REQUIRE(report.problems.size() == 2);
  CHECK(report.problems[0].line == 2401);
  CHECK_THAT(report.problems[0].message, Contains("duplicate id 5: line 6 already gives it"));
  CHECK(report.problems[1].line == 2503);
  CHECK_THAT(report.problems[1].message, Contains("line 2502 already gives it"));
  CHECK(Stored(*store, 5).location == "/img/5.jpg");
  CHECK(QueryInt(dir / "catalog.db", "SELECT count(*) FROM images") == 2500);

  const ImportReport again = ImportPath(*store, manifest);
  CHECK(again.inserted == 0);
  CHECK(again.updated == 0);
  CHECK(again.unchanged == 2500);
}

TEST_CASE("JSON lines import the same fields and report a malformed line by its number") {
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "feed.ndjson";
  WriteFile(manifest,
            "{\"id\": 1, \"location\": \"img/a.jpg\", \"product_id\": \"SKU-1\", "
            "\"is_primary\": true}\n"
            "\n"
            "{\"id\": 2, \"location\": \"https://cdn.example.com/b.jpg\", \"product_id\": 77,"
            " \"is_primary\": 1, \"active\": 0}\n"
            "{\"id\": 3, \"location\": \"img/c.jpg\"\n"                        // 4: malformed
            "[1, 2]\n"                                                         // 5: not an object
            "{\"location\": \"img/d.jpg\", \"colour\": \"red\"}\n"             // 6: unknown key
            "{\"id\": 2.5, \"location\": \"img/e.jpg\"}\n"                     // 7: id not whole
            "{\"id\": 8, \"location\": \"img/f.jpg\", \"active\": \"yes\"}\n"  // 8: wrong type
            "{\"id\": 9, \"location\": \"img/g.jpg\", \"product_id\": null}\r\n");

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.inserted == 3);
  CHECK(Stored(*store, 1).location == Normal(dir.path() / "img/a.jpg"));
  CHECK(Stored(*store, 1).is_primary);
  CHECK(Stored(*store, 2).product_id == "77");
  CHECK(Stored(*store, 2).is_primary);
  CHECK_FALSE(Stored(*store, 2).active);
  CHECK(Stored(*store, 9).product_id == std::nullopt);

  REQUIRE(report.problems.size() == 5);
  CHECK(report.problems[0].line == 4);
  CHECK_THAT(report.problems[0].message, Contains("malformed JSON at column"));
  CHECK(report.problems[1].line == 5);
  CHECK_THAT(report.problems[1].message, Contains("expected a JSON object"));
  CHECK(report.problems[2].line == 6);
  CHECK_THAT(report.problems[2].message, Contains("unknown key 'colour'"));
  CHECK(report.problems[3].line == 7);
  CHECK_THAT(report.problems[3].message, Contains("id must be a positive whole number"));
  CHECK(report.problems[4].line == 8);
  CHECK_THAT(report.problems[4].message, Contains("active must be true, false, 0, 1 or null"));
}

TEST_CASE("import keeps the first 1000 problems of a file and counts every rejected row") {
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path manifest = dir.path() / "bad.jsonl";
  std::string text;
  for (int k = 0; k < 1005; ++k) text += "{\"location\": 5}\n";
  text += "{\"location\": \"/img/ok.jpg\"}\n";
  WriteFile(manifest, text);

  const ImportReport report = ImportPath(*store, manifest);
  CHECK(report.rejected == 1005);
  CHECK(report.problems.size() == kImportProblemsKept);
  CHECK(report.problems.back().line == 1000);
  CHECK(report.inserted == 1);
}

// ---- Directories, in process ----------------------------------------------

TEST_CASE("a directory import registers image files in sorted path order, skipping hidden ones") {
  // Given a tree with images, hidden files, hidden directories and other
  // files, the images get ids in sorted path order; a re-scan adds nothing;
  // a file added later gets the next id while the others keep theirs.
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  const fs::path photos = dir.path() / "photos";
  for (const char* name : {"zeta.jpg", "alpha/two.png", "alpha/one.JPG", "Beta.webp", "mid.jpeg",
                           ".hidden.jpg", ".cache/x.jpg", "notes.txt", "alpha/raw.cr2"}) {
    WriteFile(photos / name, "not really an image");
  }

  const ImportReport first = ImportPath(*store, photos);
  CHECK(first.clean());
  CHECK(first.inserted == 5);
  const char* expected[] = {"Beta.webp", "alpha/one.JPG", "alpha/two.png", "mid.jpeg", "zeta.jpg"};
  for (int64_t id = 1; id <= 5; ++id) {
    const Image image = Stored(*store, id);
    CHECK(image.location == Normal(photos / expected[id - 1]));
    CHECK(image.product_id == std::nullopt);
    CHECK(image.active);
  }

  const ImportReport second = ImportPath(*store, photos);
  CHECK(second.inserted == 0);
  CHECK(second.unchanged == 5);

  WriteFile(photos / "alpha/aaa.gif", "");
  const ImportReport third = ImportPath(*store, photos);
  CHECK(third.inserted == 1);
  CHECK(third.unchanged == 5);
  CHECK(Stored(*store, 6).location == Normal(photos / "alpha/aaa.gif"));
  CHECK(Stored(*store, 2).location == Normal(photos / "alpha/one.JPG"));
}

TEST_CASE("a directory re-import keeps the product and active flag a manifest gave") {
  TempDir dir;
  auto store = NewCatalog(dir / "catalog.db");
  WriteFile(dir.path() / "photos/a.jpg", "");
  REQUIRE(ImportPath(*store, dir.path() / "photos").inserted == 1);
  WriteFile(dir.path() / "photos/m.csv", "location,product_id,is_primary,active\na.jpg,P,1,0\n");
  REQUIRE(ImportPath(*store, dir.path() / "photos/m.csv").updated == 1);

  const ImportReport rescan = ImportPath(*store, dir.path() / "photos");
  CHECK(rescan.unchanged == 1);
  CHECK(rescan.updated == 0);
  const Image a = Stored(*store, 1);
  CHECK(a.product_id == "P");
  CHECK(a.is_primary);
  CHECK_FALSE(a.active);
}

TEST_CASE("a directory import reports an unreadable subdirectory and imports the rest") {
  // Given photos/ with a subdirectory its user may not read, import lands the
  // two readable files, names the locked directory, and exits 1. Root reads
  // any directory, so the import runs as an unprivileged user (see
  // RunImgbackfillUnprivileged).
  TempDir dir;
  testing::Chmod(dir.path(), fs::perms::all);
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  testing::Chmod(db, fs::perms::all & ~fs::perms::owner_exec & ~fs::perms::group_exec &
                         ~fs::perms::others_exec);
  WriteFile(dir.path() / "photos/a.jpg", "");
  WriteFile(dir.path() / "photos/locked/b.jpg", "");
  WriteFile(dir.path() / "photos/z.jpg", "");
  testing::Chmod(dir / "photos/locked", fs::perms::none);

  const ProcessResult result =
      testing::RunImgbackfillUnprivileged({"--db", db, "import", dir / "photos"});
  testing::Chmod(dir / "photos/locked", fs::perms::owner_all);

  CHECK(result.exit_code == exit_code::kFailed);
  CHECK_THAT(result.err,
             Contains(Normal(dir.path() / "photos/locked")) && Contains("cannot read directory"));
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 2);
}

TEST_CASE("import refuses a path that does not exist or is not a manifest before reading it") {
  TempDir dir;
  WriteFile(dir.path() / "notes.txt", "hello");
  WriteFile(dir.path() / "one.jpg", "");

  auto missing = ErrorFrom([&] { CheckImportPath(dir.path() / "nope.csv"); });
  REQUIRE(missing);
  CHECK(missing->kind() == ErrorKind::kUsage);
  CHECK(std::string(missing->what()) ==
        "cannot import " + (dir.path() / "nope.csv").string() + ": no such file or directory");

  auto other = ErrorFrom([&] { CheckImportPath(dir.path() / "notes.txt"); });
  REQUIRE(other);
  CHECK(other->kind() == ErrorKind::kUsage);
  CHECK_THAT(other->what(), Contains("a manifest ending in .csv, .jsonl or .ndjson"));

  auto image = ErrorFrom([&] { CheckImportPath(dir.path() / "one.jpg"); });
  REQUIRE(image);
  CHECK_THAT(image->what(), Contains("import the directory they are in"));

  CHECK(CheckImportPath(dir.path()) == ImportSource::kDirectory);
  WriteFile(dir.path() / "m.JSONL", "");
  CHECK(CheckImportPath(dir.path() / "m.JSONL") == ImportSource::kJsonLines);
}

// ---- The executable ---------------------------------------------------------

TEST_CASE("imgbackfill import prints a summary per path and exits 0 when everything lands") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  WriteFile(dir.path() / "photos/a.jpg", "");
  WriteFile(dir.path() / "photos/b.png", "");
  const std::string manifest = dir / "products.csv";
  WriteFile(manifest, "id,location,product_id,is_primary\n10,photos/c.jpg,P,1\n11,x.jpg,,\n");
  const std::string photos = dir / "photos";

  const ProcessResult first = RunImgbackfill({"--db", db, "import", photos, manifest});
  CHECK(first.exit_code == 0);
  CHECK(first.out == "imported " + photos + ": 2 new, 0 updated, 0 unchanged\n" + "imported " +
                         manifest + ": 2 new, 0 updated, 0 unchanged\n");
  CHECK(first.err.empty());
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 4);

  const ProcessResult second = RunImgbackfill({"--db", db, "import", photos, manifest});
  CHECK(second.exit_code == 0);
  CHECK(second.out == "imported " + photos + ": 0 new, 0 updated, 2 unchanged\n" + "imported " +
                          manifest + ": 0 new, 0 updated, 2 unchanged\n");
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 4);
}

TEST_CASE("imgbackfill import lists each rejected row as FILE:LINE, exits 1 and lands good rows") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  const std::string manifest = dir / "products.csv";
  WriteFile(manifest,
            "id,location,product_id,is_primary\n"
            "1,/img/1.jpg,P1,1\n"
            "2,/img/2.jpg,,yes\n"
            "3,ftp://host/3.jpg,,\n"
            "4,/img/4.jpg,,\n");

  const ProcessResult result = RunImgbackfill({"--db", db, "import", manifest});
  CHECK(result.exit_code == exit_code::kFailed);
  CHECK(result.out ==
        "imported " + manifest + ": 2 new, 0 updated, 0 unchanged, 2 rows rejected\n");
  CHECK_THAT(result.err, Contains(" error " + manifest +
                                  ":3: is_primary is set but product_id is empty: a primary image "
                                  "must belong to a product\n"));
  CHECK_THAT(result.err, Contains(" error " + manifest +
                                  ":4: location 'ftp://host/3.jpg': "
                                  "unsupported scheme ftp://"));
  CHECK(QueryInt(db, "SELECT count(*) FROM images WHERE id IN (1, 4)") == 2);
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 2);
}

TEST_CASE("imgbackfill import reports a malformed JSON line by file and line number") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  const std::string manifest = dir / "feed.jsonl";
  WriteFile(manifest, "{\"location\": \"/img/a.jpg\"}\n{\"location\": /img/b.jpg}\n");

  const ProcessResult result = RunImgbackfill({"--db", db, "import", manifest});
  CHECK(result.exit_code == exit_code::kFailed);
  CHECK(result.out == "imported " + manifest + ": 1 new, 0 updated, 0 unchanged, 1 row rejected\n");
  CHECK_THAT(result.err, Contains(" error " + manifest + ":2: malformed JSON at column "));
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 1);
}

TEST_CASE("imgbackfill import refuses a manifest with an unknown column, naming it") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  const std::string manifest = dir / "typo.csv";
  WriteFile(manifest, "id,locaton\n1,/img/1.jpg\n");

  const ProcessResult result = RunImgbackfill({"--db", db, "import", manifest});
  CHECK(result.exit_code == exit_code::kFailed);
  CHECK(result.out == "refused " + manifest + ": nothing imported\n");
  CHECK_THAT(result.err, Contains(" error " + manifest +
                                  ":1: unknown column 'locaton' in the header row; the known "
                                  "columns are id, location, product_id, is_primary, active; "
                                  "nothing was imported from this file\n"));
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 0);
}

TEST_CASE("imgbackfill import of a missing path exits 2 naming it, and imports nothing") {
  // Given a good manifest and a mistyped second path, nothing is imported:
  // every path is checked first.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  const std::string good = dir / "good.csv";
  WriteFile(good, "location\n/img/1.jpg\n");
  const std::string missing = dir / "mising.csv";

  const ProcessResult result = RunImgbackfill({"--db", db, "import", good, missing});
  CHECK(result.exit_code == exit_code::kUsage);
  CHECK(result.out.empty());
  CHECK_THAT(result.err,
             Contains(" error cannot import " + missing + ": no such file or directory\n"));
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 0);

  SECTION("a file that is not a manifest is a usage error too") {
    const std::string notes = dir / "notes.txt";
    WriteFile(notes, "");
    const ProcessResult other = RunImgbackfill({"--db", db, "import", notes});
    CHECK(other.exit_code == exit_code::kUsage);
    CHECK_THAT(other.err, Contains("cannot import " + notes + ": not a directory or a manifest"));
  }
  SECTION("no path at all is a usage error") {
    const ProcessResult none = RunImgbackfill({"--db", db, "import"});
    CHECK(none.exit_code == exit_code::kUsage);
    CHECK_THAT(none.err, Contains("imgbackfill: import: give at least one FILE|DIR: a directory of "
                                  "images, or a manifest ending in .csv, .jsonl or .ndjson\n"));
  }
}

TEST_CASE("imgbackfill import of an unreadable manifest exits 69 naming it") {
  // Root reads any file, so the import runs as an unprivileged user who may
  // write the catalog but not read the manifest.
  TempDir dir;
  testing::Chmod(dir.path(), fs::perms::all);
  const std::string db = dir / "catalog.db";
  NewCatalog(db);
  testing::Chmod(db, fs::perms::all & ~fs::perms::owner_exec & ~fs::perms::group_exec &
                         ~fs::perms::others_exec);
  const std::string manifest = dir / "secret.csv";
  WriteFile(manifest, "location\n/img/1.jpg\n");
  testing::Chmod(manifest, fs::perms::none);

  const ProcessResult result =
      testing::RunImgbackfillUnprivileged({"--db", db, "import", manifest});
  CHECK(result.exit_code == exit_code::kUnavailable);
  CHECK_THAT(result.err, Contains("cannot read " + manifest + ": Permission denied"));
  CHECK(QueryInt(db, "SELECT count(*) FROM images") == 0);
}

}  // namespace
}  // namespace imgbackfill
