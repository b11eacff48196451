// The local provider's analysis: offline, deterministic, no semantic claims.
// docs/local-provider.md explains it for users; this comment is the
// contract the code keeps.
//
// Embedding "local-descriptor-v1": 256 floats from DecodedImage::rgb
// (kDescriptorSide x kDescriptorSide = 64x64 sRGB, aspect ratio ignored) and
// DecodedImage::gray (32x32 ITU-R 601 luma). Three blocks, in this order:
//
//   [0, 64)     colour. Joint RGB histogram with 4 levels per channel, bin
//               (r/64)*16 + (g/64)*4 + (b/64), counted over the 4096 pixels,
//               divided by 4096, then square-rooted: the block has unit norm
//               and the dot product of two blocks is the Bhattacharyya
//               coefficient of their histograms.
//   [64, 128)   structure. Orthonormal 2-D DCT-II of the 32x32 luma (0..255);
//               coefficients 1..64 in JPEG zigzag order (the DC term, mean
//               brightness, is left out: the colour block carries it).
//   [128, 256)  gradients. Luma of the 64x64 RGB (0.299 R + 0.587 G +
//               0.114 B); central differences, edges replicated; a 4x4 grid
//               of 16x16-pixel cells, row-major; in each cell 8 bins of
//               unsigned orientation over [0, pi), bin i centred on
//               (i + 0.5) pi/8, each pixel's magnitude split linearly between
//               its two nearest bins (wrapping around).
//
// Each block is scaled to unit L2 norm (a block that is all zeros, as the
// structure and gradient blocks of a flat image are, stays zero) and
// multiplied by the square root of its weight: colour 0.4, structure 0.3,
// gradients 0.3. The whole vector is then scaled to unit L2 norm. So when no
// block is zero, the cosine similarity of two descriptors is
// 0.4 cos(colour) + 0.3 cos(structure) + 0.3 cos(gradients).
//
// Vision "local-vision-v1": a JSON object
//   {"width": W, "height": H,                   (of the original image)
//    "orientation": "landscape" | "portrait" | "square",   (W > H, H > W, W == H)
//    "dominant_colors": [{"hex": "#rrggbb", "fraction": 0.62}, ...],
//    "brightness": 0.48,                         (mean of the 32x32 luma / 255)
//    "provider": "local"}
// dominant_colors: the colour histogram's bins (as above) that hold at least
// 5% of the pixels, largest first (ties: lower bin first), at most 3; each
// is the mean colour of its pixels. Fractions and brightness are rounded to
// 3 decimals.
#pragma once

#include <string>
#include <vector>

#include "imgbackfill/image.h"

namespace imgbackfill {

inline constexpr int kLocalDescriptorDimension = 256;
inline constexpr const char* kLocalDescriptorModel = "local-descriptor-v1";
inline constexpr const char* kLocalVisionModel = "local-vision-v1";

// True when `image` carries the RGB thumbnail the local analysis reads.
bool HasDescriptorThumbnail(const DecodedImage& image);

// The descriptor above. Requires HasDescriptorThumbnail(image).
std::vector<float> LocalDescriptor(const DecodedImage& image);

// The vision object above, as compact JSON text. Requires
// HasDescriptorThumbnail(image).
std::string LocalVisionJson(const DecodedImage& image);

}  // namespace imgbackfill
