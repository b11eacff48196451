#include "phash_sides.h"

#include <sys/resource.h>
#include <vips/vips.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "bench_util.h"

namespace imgbackfill::bench {
namespace fs = std::filesystem;

namespace {

double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string ImageDir(const std::string& data_dir) {
  return Format("%s/phash/%dx%d-s%d-g%d", data_dir.c_str(), kWidth, kHeight, kImageSeed,
                kImageGeneratorVersion);
}

struct Unref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

[[noreturn]] void ThrowVips(const std::string& path) {
  const std::string reason = vips_error_buffer();
  vips_error_clear();
  throw std::runtime_error("libvips cannot hash " + path + ": " + reason);
}

}  // namespace

PhashPaths ParsePhashOptions(int* argc, char** argv) {
  PhashPaths setup;
  // Debian's interpreter, where python3-pil, -numpy and -scipy install; a
  // python3 earlier on PATH (pyenv) may lack them.
  setup.python = IMGBACKFILL_BENCH_PYTHON;
  setup.scripts = IMGBACKFILL_BENCH_SCRIPTS;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--images" && i + 1 < *argc) {
      setup.images = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--python" && i + 1 < *argc) {
      setup.python = argv[++i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return setup;
}

void SetUpSingleThreadedVips() {
  if (VIPS_INIT("bench_phash") != 0) ThrowVips("(start-up)");
  // "Per core": libvips would otherwise run a pipeline on a pool as large as
  // the machine. The worker parallelises across jobs, not within an image.
  vips_concurrency_set(1);
  // libvips caches operations by their arguments, the file name included, so
  // a later round would find earlier rounds' thumbnails there. The worker
  // never hashes one file twice; nor may the benchmark.
  vips_cache_set_max(0);
}

std::vector<std::string> EnsureImages(const PhashPaths& setup, const std::string& data_dir) {
  const std::string dir = ImageDir(data_dir);
  std::vector<std::string> paths;
  bool complete = true;
  for (int i = 0; i < setup.images; ++i) {
    paths.push_back(Format("%s/img-%05d.jpg", dir.c_str(), i));
    complete = complete && fs::exists(paths.back());
  }
  if (complete) return paths;

  fs::create_directories(dir);
  const std::string log = dir + "/../generate.log";
  std::printf("generating %d images into %s (about 0.3 s each) ...\n", setup.images, dir.c_str());
  std::fflush(stdout);
  Stopwatch clock;
  const ChildResult r =
      RunChild({setup.python, setup.scripts + "/phash_images.py", "--out", dir, "--count",
                std::to_string(setup.images), "--width", std::to_string(kWidth), "--height",
                std::to_string(kHeight), "--seed", std::to_string(kImageSeed)},
               log);
  if (r.exit_code != 0) {
    throw std::runtime_error("generating the images failed (exit " + std::to_string(r.exit_code) +
                             "); see " + log);
  }
  std::printf("generated in %.0f s\n", clock.Seconds());
  return paths;
}

void WarmUp(const std::vector<std::string>& paths, GrayLoader loader) {
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) throw std::runtime_error("cannot read " + path);
  }
  PerceptualHash(loader(paths.front()));
}

SideResult RunOurs(const std::vector<std::string>& paths, GrayLoader loader) {
  SideResult r;
  r.hashes.reserve(paths.size());
  const double cpu = ProcessCpuSeconds();
  Stopwatch clock;
  for (const std::string& path : paths) r.hashes.push_back(PerceptualHash(loader(path)));
  r.timing.wall_seconds = clock.Seconds();
  r.timing.cpu_seconds = ProcessCpuSeconds() - cpu;
  r.timing.images = static_cast<int>(paths.size());
  return r;
}

SideResult RunPython(const PhashPaths& setup, const std::vector<std::string>& paths, bool draft) {
  const std::string base = fs::path(paths.front()).parent_path().parent_path().string();
  const std::string list = Format("%s/list-%zu.txt", base.c_str(), paths.size());
  {
    std::ofstream out(list, std::ios::trunc);
    for (const std::string& path : paths) out << path << '\n';
  }
  const std::string log = base + (draft ? "/python-draft.log" : "/python-full.log");
  std::vector<std::string> argv = {setup.python, setup.scripts + "/phash_reference.py"};
  if (!draft) argv.push_back("--no-draft");
  argv.push_back(list);
  // numpy's BLAS would start a thread per core at import; the hash uses no
  // BLAS, but "single-threaded" should hold for the whole process.
  const ChildResult child = RunChild(argv, log, {"OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1"});
  if (child.exit_code != 0) {
    throw std::runtime_error("phash_reference.py failed (exit " + std::to_string(child.exit_code) +
                             "); see " + log);
  }

  SideResult r;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string tag;
    std::getline(fields, tag, '\t');
    if (tag == "hash") {
      std::string hex, path;
      std::getline(fields, hex, '\t');
      std::getline(fields, path);
      if (r.hashes.size() >= paths.size() || path != paths[r.hashes.size()]) {
        throw std::runtime_error("phash_reference.py answered out of order; see " + log);
      }
      r.hashes.push_back(std::stoull(hex, nullptr, 16));
    } else if (tag == "timing") {
      fields >> r.timing.images >> r.timing.cpu_seconds >> r.timing.wall_seconds;
    }
  }
  if (r.hashes.size() != paths.size() || r.timing.images != static_cast<int>(paths.size())) {
    throw std::runtime_error("phash_reference.py printed no complete answer; see " + log);
  }
  return r;
}

namespace {

// sRGB, 8 bits, then Pillow's "L" (ITU-R 601-2 luma, Pillow's fixed-point
// rounding), as the library's DecodeImage computes it.
Gray32 LumaOf32x32(ImagePtr thumb, const std::string& path) {
  VipsImage* raw = nullptr;
  if (vips_colourspace(thumb.get(), &raw, VIPS_INTERPRETATION_sRGB, nullptr) != 0) ThrowVips(path);
  ImagePtr srgb(raw);
  if (vips_cast_uchar(srgb.get(), &raw, nullptr) != 0) ThrowVips(path);
  ImagePtr u8(raw);
  size_t size = 0;
  std::unique_ptr<unsigned char, decltype(&g_free)> bytes(
      static_cast<unsigned char*>(vips_image_write_to_memory(u8.get(), &size)), &g_free);
  const int bands = vips_image_get_bands(u8.get());
  if (bytes == nullptr || bands < 3 || size != static_cast<size_t>(32 * 32 * bands)) {
    ThrowVips(path);
  }
  Gray32 gray{};
  for (int i = 0; i < 32 * 32; ++i) {
    const unsigned char* p = bytes.get() + static_cast<size_t>(i) * bands;
    gray[i] = static_cast<float>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return gray;
}

}  // namespace

Gray32 FullDecodeGray32(const std::string& path) {
  VipsImage* raw = vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL,
                                            "fail_on", VIPS_FAIL_ON_ERROR, nullptr);
  if (raw == nullptr) ThrowVips(path);
  ImagePtr full(raw);
  // vips_thumbnail_image is vips_thumbnail minus the loader: the same
  // resize, and no shrink-on-load, by its documentation.
  if (vips_thumbnail_image(full.get(), &raw, 32, "height", 32, "size", VIPS_SIZE_FORCE, nullptr)) {
    ThrowVips(path);
  }
  return LumaOf32x32(ImagePtr(raw), path);
}

Gray32 FileThumbnailGray32(const std::string& path) {
  VipsImage* raw = nullptr;
  if (vips_thumbnail(path.c_str(), &raw, 32, "height", 32, "size", VIPS_SIZE_FORCE, "fail_on",
                     VIPS_FAIL_ON_ERROR, nullptr) != 0) {
    ThrowVips(path);
  }
  return LumaOf32x32(ImagePtr(raw), path);
}

Distances Compare(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  Distances d;
  double total = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const int bits = std::popcount(a[i] ^ b[i]);
    total += bits;
    d.histogram[bits]++;
    if (bits == 0) d.identical++;
    if (bits > d.max) {
      d.max = bits;
      d.worst = i;
    }
  }
  d.mean = a.empty() ? 0 : total / static_cast<double>(a.size());
  return d;
}

}  // namespace imgbackfill::bench
