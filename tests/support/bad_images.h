// Image files for tests: good JPEGs and PNGs generated from a seed (same
// seed, same bytes), and the broken files a catalog meets in the wild.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace imgbackfill::testing {

enum class BadImage {
  kEmpty,          // empty.jpg: zero bytes
  kTruncatedJpeg,  // truncated.jpg: a real 256x192 JPEG cut in half
  kTextNamedJpeg,  // text.jpg: a line of text
  kPngBadCrc,      // bad-crc.png: a real PNG whose IDAT chunk fails its CRC
  kPixelBomb,      // bomb.png: ~4 KB whose valid IHDR claims 30000x30000 gray pixels
};

// Writes the file into `dir` (under the name above) and returns its path.
std::filesystem::path WriteBadImage(const std::filesystem::path& dir, BadImage kind);

// The bytes of a JPEG (Q 90) or PNG of width x height showing a pattern
// derived from `seed`: gradients and a few colored rectangles, so that
// different seeds give different perceptual hashes. `alpha` adds a
// transparency channel to the PNG (a transparent left half).
std::string EncodeJpeg(int width, int height, uint32_t seed);
std::string EncodePng(int width, int height, uint32_t seed, bool alpha = false);

// The same, written to `path`.
void WriteJpeg(const std::filesystem::path& path, int width, int height, uint32_t seed);
void WritePng(const std::filesystem::path& path, int width, int height, uint32_t seed,
              bool alpha = false);

// The whole file, for serving it from a FakeHttpServer.
std::string ReadFileBytes(const std::filesystem::path& path);

}  // namespace imgbackfill::testing
