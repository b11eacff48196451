#include "providers/local_descriptor.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <numbers>
#include <utility>

namespace imgbackfill {
namespace {

constexpr int kSide = kDescriptorSide;
constexpr int kPixels = kSide * kSide;
constexpr int kColourBins = 64;
constexpr int kDctCoefficients = 64;
constexpr int kGridCells = 4;  // per side
constexpr int kOrientationBins = 8;
static_assert(kColourBins + kDctCoefficients + kGridCells * kGridCells * kOrientationBins ==
              kLocalDescriptorDimension);
static_assert(kSide % kGridCells == 0);

int ColourBin(const uint8_t* rgb) { return (rgb[0] / 64) * 16 + (rgb[1] / 64) * 4 + rgb[2] / 64; }

std::array<int, kColourBins> ColourCounts(const std::vector<uint8_t>& rgb) {
  std::array<int, kColourBins> counts{};
  for (int i = 0; i < kPixels; ++i) ++counts[ColourBin(&rgb[static_cast<size_t>(i) * 3])];
  return counts;
}

void ColourBlock(const std::vector<uint8_t>& rgb, float* out) {
  const std::array<int, kColourBins> counts = ColourCounts(rgb);
  for (int bin = 0; bin < kColourBins; ++bin) {
    out[bin] = static_cast<float>(std::sqrt(static_cast<double>(counts[bin]) / kPixels));
  }
}

// (row, column) of the JPEG zigzag walk over an n x n grid, for the first
// `count` positions; the walk never reaches the far edges here, so no
// clipping is needed for count <= n(n+1)/2.
std::vector<std::pair<int, int>> Zigzag(int count) {
  std::vector<std::pair<int, int>> order;
  for (int diagonal = 0; static_cast<int>(order.size()) < count; ++diagonal) {
    for (int step = 0; step <= diagonal && static_cast<int>(order.size()) < count; ++step) {
      // Odd diagonals run down-left (row grows), even ones up-right.
      const int row = diagonal % 2 == 1 ? step : diagonal - step;
      order.emplace_back(row, diagonal - row);
    }
  }
  return order;
}

void DctBlock(const Gray32& gray, float* out) {
  constexpr int n = 32;
  // basis[k][x] = a(k) cos(pi (2x + 1) k / 2n): the orthonormal DCT-II.
  static const auto basis = [] {
    std::array<std::array<double, n>, n> b{};
    for (int k = 0; k < n; ++k) {
      const double scale = k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
      for (int x = 0; x < n; ++x) {
        b[k][x] = scale * std::cos(std::numbers::pi * (2 * x + 1) * k / (2.0 * n));
      }
    }
    return b;
  }();
  static const std::vector<std::pair<int, int>> order = Zigzag(kDctCoefficients + 1);

  // Rows first (horizontal frequencies), then columns for the few needed.
  std::array<std::array<double, n>, n> rows{};
  for (int y = 0; y < n; ++y) {
    for (int u = 0; u < n; ++u) {
      double sum = 0;
      for (int x = 0; x < n; ++x) sum += basis[u][x] * gray[y * n + x];
      rows[y][u] = sum;
    }
  }
  for (int i = 0; i < kDctCoefficients; ++i) {
    const auto [v, u] = order[i + 1];  // skip DC
    double sum = 0;
    for (int y = 0; y < n; ++y) sum += basis[v][y] * rows[y][u];
    out[i] = static_cast<float>(sum);
  }
}

void GradientBlock(const std::vector<uint8_t>& rgb, float* out) {
  std::array<float, kPixels> luma{};
  for (int i = 0; i < kPixels; ++i) {
    const uint8_t* p = &rgb[static_cast<size_t>(i) * 3];
    luma[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
  }
  const auto at = [&](int x, int y) {
    return luma[std::clamp(y, 0, kSide - 1) * kSide + std::clamp(x, 0, kSide - 1)];
  };
  constexpr int cell_side = kSide / kGridCells;
  constexpr double bin_width = std::numbers::pi / kOrientationBins;
  std::fill(out, out + kGridCells * kGridCells * kOrientationBins, 0.0f);
  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      const double gx = at(x + 1, y) - at(x - 1, y);
      const double gy = at(x, y + 1) - at(x, y - 1);
      const double magnitude = std::hypot(gx, gy);
      if (magnitude == 0) continue;
      double angle = std::atan2(gy, gx);
      if (angle < 0) angle += std::numbers::pi;
      if (angle >= std::numbers::pi) angle -= std::numbers::pi;
      const double position = angle / bin_width - 0.5;
      const double lower = std::floor(position);
      const double upper_share = position - lower;
      const int bin0 = (static_cast<int>(lower) + kOrientationBins) % kOrientationBins;
      const int bin1 = (bin0 + 1) % kOrientationBins;
      float* cell = out + ((y / cell_side) * kGridCells + x / cell_side) * kOrientationBins;
      cell[bin0] += static_cast<float>(magnitude * (1 - upper_share));
      cell[bin1] += static_cast<float>(magnitude * upper_share);
    }
  }
}

// Scales values[0, size) to unit norm times sqrt(weight); leaves zeros alone.
void Weight(float* values, int size, double weight) {
  double sum = 0;
  for (int i = 0; i < size; ++i) sum += static_cast<double>(values[i]) * values[i];
  if (sum <= 0) return;
  const double scale = std::sqrt(weight / sum);
  for (int i = 0; i < size; ++i) values[i] = static_cast<float>(values[i] * scale);
}

std::string Hex(int r, int g, int b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex = "#";
  for (int channel : {r, g, b}) {
    hex += kDigits[channel / 16];
    hex += kDigits[channel % 16];
  }
  return hex;
}

double Round3(double value) { return std::round(value * 1000) / 1000; }

}  // namespace

bool HasDescriptorThumbnail(const DecodedImage& image) {
  return image.rgb.size() == static_cast<size_t>(kPixels) * 3;
}

std::vector<float> LocalDescriptor(const DecodedImage& image) {
  std::vector<float> descriptor(kLocalDescriptorDimension, 0.0f);
  float* colour = descriptor.data();
  float* structure = colour + kColourBins;
  float* gradients = structure + kDctCoefficients;
  ColourBlock(image.rgb, colour);
  DctBlock(image.gray, structure);
  GradientBlock(image.rgb, gradients);
  Weight(colour, kColourBins, 0.4);
  Weight(structure, kDctCoefficients, 0.3);
  Weight(gradients, kLocalDescriptorDimension - kColourBins - kDctCoefficients, 0.3);
  Weight(descriptor.data(), kLocalDescriptorDimension, 1.0);
  return descriptor;
}

std::string LocalVisionJson(const DecodedImage& image) {
  std::array<int, kColourBins> counts{};
  std::array<std::array<long, 3>, kColourBins> sums{};
  for (int i = 0; i < kPixels; ++i) {
    const uint8_t* p = &image.rgb[static_cast<size_t>(i) * 3];
    const int bin = ColourBin(p);
    ++counts[bin];
    for (int c = 0; c < 3; ++c) sums[bin][c] += p[c];
  }
  std::array<int, kColourBins> bins{};
  for (int i = 0; i < kColourBins; ++i) bins[i] = i;
  std::stable_sort(bins.begin(), bins.end(), [&](int a, int b) { return counts[a] > counts[b]; });

  nlohmann::json colours = nlohmann::json::array();
  for (int bin : bins) {
    if (colours.size() == 3 || counts[bin] * 20 < kPixels) break;  // under 5%
    const auto mean = [&](int c) {
      return static_cast<int>(std::lround(static_cast<double>(sums[bin][c]) / counts[bin]));
    };
    colours.push_back({{"hex", Hex(mean(0), mean(1), mean(2))},
                       {"fraction", Round3(static_cast<double>(counts[bin]) / kPixels)}});
  }
  double luma = 0;
  for (float level : image.gray) luma += level;
  luma /= static_cast<double>(image.gray.size()) * 255.0;

  const char* orientation = image.width > image.height   ? "landscape"
                            : image.height > image.width ? "portrait"
                                                         : "square";
  const nlohmann::json result = {
      {"width", image.width},       {"height", image.height},
      {"orientation", orientation}, {"dominant_colors", std::move(colours)},
      {"brightness", Round3(luma)}, {"provider", "local"},
  };
  return result.dump();
}

}  // namespace imgbackfill
