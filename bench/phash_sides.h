// The pieces of bench/phash.cpp: the test images, each side of the
// comparison (ours in this process, the Python reference as a child), and
// comparing their hashes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "imgbackfill/phash.h"

namespace imgbackfill::bench {

inline constexpr int kWidth = 1920;
inline constexpr int kHeight = 1080;
inline constexpr int kImageSeed = 20240601;
// Bump when bench/phash_images.py changes what it draws: the cache
// directory is named by it.
inline constexpr int kImageGeneratorVersion = 1;

struct PhashPaths {
  int images = 0;       // 0: the program's default
  std::string python;   // an interpreter with Pillow, numpy and scipy
  std::string scripts;  // the directory of phash_images.py and phash_reference.py
};

// Takes `--images N` and `--python PATH` out of argv (shifting the rest down
// and lowering *argc) so that ParseOptions sees only the common options.
PhashPaths ParsePhashOptions(int* argc, char** argv);

// One thread in libvips' pool and no operation cache: see the .cpp.
void SetUpSingleThreadedVips();

// The paths of images 0..images-1, generating whichever are missing (once:
// later runs reuse them) into DATA_DIR/phash/.
std::vector<std::string> EnsureImages(const PhashPaths& setup, const std::string& data_dir);

using GrayLoader = Gray32 (*)(const std::string& path);

// Reads every file once, so that no side pays for the disk, and hashes the
// first image, so that libvips' start-up is not in the first round.
void WarmUp(const std::vector<std::string>& paths, GrayLoader loader);

struct Timing {
  int images = 0;
  double cpu_seconds = 0;  // the whole process's, all threads
  double wall_seconds = 0;
  double CpuRate() const { return images / cpu_seconds; }
  double WallRate() const { return images / wall_seconds; }
};

struct SideResult {
  std::vector<uint64_t> hashes;  // in the order of the paths
  Timing timing;
};

SideResult RunOurs(const std::vector<std::string>& paths, GrayLoader loader);

// Runs bench/phash_reference.py over `paths` (with --no-draft unless
// `draft`) and reads back its hashes and its own timing of its loop.
SideResult RunPython(const PhashPaths& setup, const std::vector<std::string>& paths, bool draft);

// The libvips pipeline of DecodeImage's gray thumbnail (thumbnail to 32x32
// ignoring the aspect ratio, sRGB, Pillow's luma) on a fully decoded image:
// the cost of decoding every pixel, without shrink-on-load.
Gray32 FullDecodeGray32(const std::string& path);

// The same pipeline with shrink-on-load, but libvips reading the file itself
// (vips_thumbnail on the path): the library's path before LoadImageBytes +
// DecodeImage (until commit f8339a4), kept to measure what reading the bytes first
// and decoding from memory changed.
Gray32 FileThumbnailGray32(const std::string& path);

struct Distances {
  double mean = 0;
  int max = 0;
  int identical = 0;
  size_t worst = 0;  // index of an image at the max
  std::array<int, 65> histogram{};
};
Distances Compare(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

}  // namespace imgbackfill::bench
