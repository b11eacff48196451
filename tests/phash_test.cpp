// pHash against an independent implementation: tests/support/phash_reference.py
// generates images with PIL and numpy (fixed seed) and hashes them the way
// Python's imagehash.phash does (PIL "L", Lanczos to 32x32, DCT-II written
// out in numpy, median of the 8x8 corner). Our hashes come from the same
// code path as `imgbackfill hash` (libvips decode, our DCT).
#include <catch2/catch.hpp>
#include <bit>
#include <fstream>
#include <sstream>

#include "imgbackfill/error.h"
#include "imgbackfill/phash.h"
#include "support/bad_images.h"
#include "support/fake_http_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using testing::RunImgbackfill;
using testing::RunProcess;
using testing::TempDir;

struct Reference {
  std::string file;
  uint64_t hash;
};

std::vector<Reference> MakeReferenceImages(const TempDir& dir) {
  const auto result = RunProcess(
      {"/usr/bin/python3", IMGBACKFILL_SOURCE_DIR "/tests/support/phash_reference.py", "make",
       dir.path().string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  std::vector<Reference> refs;
  std::istringstream lines(result.out);
  std::string hex, file;
  while (lines >> hex >> file) refs.push_back({file, std::stoull(hex, nullptr, 16)});
  REQUIRE(refs.size() == 18);
  return refs;
}

int Distance(uint64_t a, uint64_t b) { return std::popcount(a ^ b); }

TEST_CASE("pHash equals the imagehash-style reference on generated images", "[phash]") {
  // 32x32 grayscale images need no resizing: the DCT, median and bit order
  // must agree exactly. Larger PNGs are resized by two different Lanczos
  // implementations; JPEGs are also decoded differently (libvips shrinks on
  // load in the DCT domain): a bit or two may differ near the median.
  TempDir dir;
  int total = 0;
  for (const Reference& ref : MakeReferenceImages(dir)) {
    const uint64_t ours = PerceptualHash(LoadGray32(ref.file));
    const int distance = Distance(ours, ref.hash);
    INFO(ref.file << ": ours " << PerceptualHashHex(ours) << ", reference "
                  << PerceptualHashHex(ref.hash));
    if (ref.file.find("gray32-") != std::string::npos) {
      CHECK(distance == 0);
    } else if (ref.file.ends_with(".png")) {
      CHECK(distance <= 2);
    } else {
      CHECK(distance <= 4);
    }
    total += distance;
  }
  CHECK(total <= 8);  // measured: 4 over 18 images
}

TEST_CASE("imgbackfill hash prints each file's hash and an error per bad file", "[phash]") {
  TempDir dir;
  const auto refs = MakeReferenceImages(dir);
  const std::string missing = dir / "missing.jpg";
  const std::string text = dir / "notes.jpg";
  { std::ofstream(text) << "not an image"; }

  const auto result = RunImgbackfill({"hash", refs[0].file, missing, text});
  CHECK(result.exit_code == 1);
  CHECK(result.out == PerceptualHashHex(PerceptualHash(LoadGray32(refs[0].file))) + "  " +
                          refs[0].file + "\n");
  CHECK_THAT(result.err, Catch::Contains("imgbackfill: " + missing + ": no such file\n"));
  CHECK_THAT(result.err, Catch::Contains("imgbackfill: cannot decode " + text +
                                         ": not a known image format\n"));
}

TEST_CASE("a truncated JPEG is an error, not a hash of gray pixels", "[phash]") {
  TempDir dir;
  const auto refs = MakeReferenceImages(dir);
  std::string jpeg;
  for (const auto& ref : refs) {
    if (ref.file.ends_with(".jpg")) jpeg = ref.file;
  }
  std::ifstream in(jpeg, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string truncated = dir / "truncated.jpg";
  { std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2); }

  try {
    LoadGray32(truncated);
    FAIL("a truncated JPEG decoded");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("cannot decode " + truncated));
  }
}

TEST_CASE("imgbackfill hash reads http URLs and honours --max-pixels", "[phash]") {
  // Given a reference image served over HTTP, then hash prints the same
  // hash as for the file; with --max-pixels below its size, it refuses it.
  TempDir dir;
  const auto refs = MakeReferenceImages(dir);
  const std::string bytes = testing::ReadFileBytes(refs[0].file);
  testing::FakeHttpServer server([&bytes](const testing::FakeRequest&) {
    return testing::FakeResponse::Bytes(bytes, "image/png");
  });
  const std::string url = server.base_url() + "/image";
  const auto result = RunImgbackfill({"hash", url});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out == PerceptualHashHex(refs[0].hash) + "  " + url + "\n");

  const auto limited = RunImgbackfill({"hash", "--max-pixels", "100", refs[0].file});
  CHECK(limited.exit_code == 1);
  CHECK_THAT(limited.err,
             Catch::Contains(refs[0].file + " claims ") &&
                 Catch::Contains("(1024 pixels), over the limit of 100 pixels (--max-pixels)"));
}

}  // namespace
}  // namespace imgbackfill
