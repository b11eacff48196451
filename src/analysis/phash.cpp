#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "imgbackfill/phash.h"

namespace imgbackfill {
namespace {

constexpr int kSide = 32;
constexpr int kKept = 8;

// cos((2x + 1) u pi / 2N) for the DCT-II; the unnormalised transform of
// scipy.fftpack.dct differs by a constant factor, which the median cancels.
const std::array<double, kKept * kSide>& CosineTable() {
  static const auto table = [] {
    std::array<double, kKept * kSide> t{};
    for (int u = 0; u < kKept; ++u) {
      for (int x = 0; x < kSide; ++x) {
        t[u * kSide + x] = std::cos((2 * x + 1) * u * std::numbers::pi / (2 * kSide));
      }
    }
    return t;
  }();
  return table;
}

}  // namespace

uint64_t PerceptualHash(const Gray32& pixels) {
  const auto& cosine = CosineTable();
  // Only the 8x8 low-frequency corner is needed: rows first, then columns.
  std::array<double, kKept * kSide> rows{};  // [u][x]: DCT along y for column x
  for (int u = 0; u < kKept; ++u) {
    for (int x = 0; x < kSide; ++x) {
      double sum = 0;
      for (int y = 0; y < kSide; ++y) sum += pixels[y * kSide + x] * cosine[u * kSide + y];
      rows[u * kSide + x] = sum;
    }
  }
  std::array<double, kKept * kKept> low{};
  for (int u = 0; u < kKept; ++u) {
    for (int v = 0; v < kKept; ++v) {
      double sum = 0;
      for (int x = 0; x < kSide; ++x) sum += rows[u * kSide + x] * cosine[v * kSide + x];
      low[u * kKept + v] = sum;
    }
  }
  std::array<double, kKept * kKept> sorted = low;
  std::sort(sorted.begin(), sorted.end());
  const double median = (sorted[31] + sorted[32]) / 2;  // numpy.median of 64 values
  uint64_t hash = 0;
  for (int i = 0; i < kKept * kKept; ++i) hash = (hash << 1) | (low[i] > median ? 1 : 0);
  return hash;
}

std::string PerceptualHashHex(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace imgbackfill
