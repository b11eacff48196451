// Figure 4: pHash images per second per core, ours against a Python
// reference computing the same hash, and how far apart their hashes are.
//
// N photo-like 1920x1080 JPEGs (bench/phash_images.py, fixed seed, cached in
// DATA_DIR/phash/) are hashed, single-threaded, by
//   ours         the worker's code path (OursGray32 below) + PerceptualHash:
//                LoadImageBytes, then DecodeImage from memory (libvips
//                thumbnail_buffer with shrink-on-load: JPEG decoded at 1/8);
//   python       bench/phash_reference.py: imagehash.phash's definition on
//                Pillow with draft mode (libjpeg decodes at 1/8, to gray);
// and, for scale, the same two without reduced-scale decoding:
//   ours-full    the same libvips pipeline on a fully decoded image;
//   python-full  imagehash.phash(Image.open(f)) exactly as its users call it;
// and the library's previous path, to measure what changed:
//   ours-file    libvips thumbnail on the file name (shrink-on-load too).
// All four run in every round, in alternating order (forward, then
// backward, ...), so drift in the machine's load falls on all of them; each
// round's ratio compares runs made moments apart, and the figure is the
// median of those ratios. Python times its own loop (no interpreter start-up
// or imports) and prints its hashes; ours is timed in this process. The rate
// "per core" is images per CPU-second of the whole process: with one thread
// it is what a core delivers, and it hardly moves when another process takes
// the core for a while; the wall-clock rate is printed beside it.
#include "imgbackfill/phash.h"

#include <vips/vips.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.h"
#include "imgbackfill/http.h"
#include "imgbackfill/image.h"
#include "phash_sides.h"

namespace imgbackfill::bench {
namespace {

// The transport LoadImageBytes takes (it is only used for http(s)
// locations): made once, before any timed loop.
std::unique_ptr<HttpTransport> g_http;

// The worker's path from a location to the pHash's input (JobPipeline::
// Prepare, and LoadGray32 for `imgbackfill hash`): read the bytes, then
// decode them from memory, with the default limits. DecodeImage also reads
// the header for the pixel limit, which costs a little of what decoding from
// memory gains.
Gray32 OursGray32(const std::string& path) {
  const std::string bytes = LoadImageBytes(path, {}, *g_http);
  return DecodeImage(bytes, path, {}).gray;
}

struct Variant {
  const char* name;
  const char* what;
  bool python;
  bool reduced;       // shrink-on-load or draft (python)
  GrayLoader loader;  // ours only
  std::vector<uint64_t> hashes;
  std::vector<Timing> rounds;
};

Timing RunVariant(Variant& v, const std::vector<std::string>& paths, const PhashPaths& setup) {
  SideResult r = v.python ? RunPython(setup, paths, /*draft=*/v.reduced) : RunOurs(paths, v.loader);
  if (v.hashes.empty()) {
    v.hashes = r.hashes;
  } else if (v.hashes != r.hashes) {
    std::printf("  WARNING: %s gave different hashes than in its first round\n", v.name);
  }
  v.rounds.push_back(r.timing);
  return r.timing;
}

// Per-round ratio a/b of images per CPU-second (or per wall-second).
std::vector<double> Ratios(const Variant& a, const Variant& b, bool cpu) {
  std::vector<double> out;
  for (size_t i = 0; i < a.rounds.size(); ++i) {
    out.push_back(cpu ? a.rounds[i].CpuRate() / b.rounds[i].CpuRate()
                      : a.rounds[i].WallRate() / b.rounds[i].WallRate());
  }
  return out;
}

std::vector<double> Rates(const Variant& v, bool cpu) {
  std::vector<double> out;
  for (const Timing& t : v.rounds) out.push_back(cpu ? t.CpuRate() : t.WallRate());
  return out;
}

void ReportSpeed(const Variant& a, const Variant& b) {
  const std::vector<double> cpu = Ratios(a, b, true);
  const std::vector<double> wall = Ratios(a, b, false);
  std::printf("%s/%s: %.2f by CPU time (rounds %.2f to %.2f), %.2f by wall time (%.2f to %.2f)\n",
              a.name, b.name, Median(cpu), Min(cpu), Max(cpu), Median(wall), Min(wall), Max(wall));
  Summary("phash", Format("%s/%s images per CPU-second", a.name, b.name),
          Format("%.2f", Median(cpu)));
  Summary("phash", Format("%s/%s images per wall-second", a.name, b.name),
          Format("%.2f", Median(wall)));
}

void ReportDistance(const Variant& a, const Variant& b, const std::vector<std::string>& paths) {
  const Distances d = Compare(a.hashes, b.hashes);
  std::printf("Hamming %s vs %s over %zu images: mean %.3f, max %d, identical %d (%.0f%%);", a.name,
              b.name, paths.size(), d.mean, d.max, d.identical,
              100.0 * d.identical / static_cast<double>(paths.size()));
  std::printf(" histogram");
  for (size_t bits = 0; bits < d.histogram.size(); ++bits) {
    if (d.histogram[bits] > 0) std::printf(" %zu:%d", bits, d.histogram[bits]);
  }
  std::printf("\n");
  if (d.max > 0) {
    std::printf("  largest: %s %s %s\n", std::filesystem::path(paths[d.worst]).filename().c_str(),
                PerceptualHashHex(a.hashes[d.worst]).c_str(),
                PerceptualHashHex(b.hashes[d.worst]).c_str());
  }
  Summary("phash", Format("Hamming %s vs %s, mean / max bits", a.name, b.name),
          Format("%.3f / %d", d.mean, d.max));
}

}  // namespace
}  // namespace imgbackfill::bench

int main(int argc, char** argv) {
  using namespace imgbackfill::bench;
  try {
    PhashPaths setup = ParsePhashOptions(&argc, argv);
    const BenchOptions options = ParseOptions(argc, argv);
    const int rounds = options.trials > 0 ? options.trials : (options.quick ? 3 : 5);
    if (setup.images == 0) setup.images = options.quick ? 20 : 200;
    DisableHeapTrimming();  // as the executable's main() does (finding A)
    SetUpSingleThreadedVips();
    g_http = imgbackfill::MakeCurlTransport();
    const std::vector<std::string> paths = EnsureImages(setup, options.data_dir);
    WarmUp(paths, OursGray32);

    std::vector<Variant> variants = {
        {"ours",
         "LoadImageBytes + DecodeImage(bytes).gray (libvips, shrink-on-load)",
         false,
         true,
         OursGray32,
         {},
         {}},
        {"python", "imagehash.phash definition, Pillow draft mode", true, true, nullptr, {}, {}},
        {"ours-full", "libvips without shrink-on-load", false, false, FullDecodeGray32, {}, {}},
        {"python-full", "imagehash.phash(Image.open(f)), no draft", true, false, nullptr, {}, {}},
        {"ours-file",
         "libvips thumbnail on the file name (the hash path before f8339a4)",
         false,
         true,
         FileThumbnailGray32,
         {},
         {}},
    };
    std::printf("pHash of %zu %dx%d JPEGs, single-threaded, %d rounds; %s\n", paths.size(), kWidth,
                kHeight, rounds, setup.python.c_str());
    for (int round = 0; round < rounds; ++round) {
      std::printf("round %d:", round + 1);
      for (size_t k = 0; k < variants.size(); ++k) {
        Variant& v = variants[round % 2 == 0 ? k : variants.size() - 1 - k];
        const Timing t = RunVariant(v, paths, setup);
        std::printf("  %s %.0f/s cpu %.0f/s wall", v.name, t.CpuRate(), t.WallRate());
        std::fflush(stdout);
      }
      std::printf("\n");
    }

    std::printf("\nmedian images/s per core (per CPU-second; per wall-second):\n");
    for (const Variant& v : variants) {
      const double cpu = Median(Rates(v, true));
      const double wall = Median(Rates(v, false));
      std::printf("  %-12s %7.1f  %7.1f   %s\n", v.name, cpu, wall, v.what);
      Summary("phash", Format("%s images per CPU-second", v.name), Format("%.1f", cpu));
    }
    ReportSpeed(variants[0], variants[1]);
    ReportSpeed(variants[2], variants[3]);
    ReportSpeed(variants[0], variants[2]);
    ReportSpeed(variants[0], variants[4]);
    std::printf("\n");
    ReportDistance(variants[0], variants[1], paths);
    ReportDistance(variants[0], variants[3], paths);
    ReportDistance(variants[2], variants[3], paths);
    ReportDistance(variants[1], variants[3], paths);
    ReportDistance(variants[0], variants[4], paths);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_phash: %s\n", e.what());
    return 1;
  }
  return 0;
}
