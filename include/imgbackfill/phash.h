// The perceptual hash (pHash) as the widely used DCT definition computes it,
// so that hashes compare with Python's imagehash.phash on the same image:
// grayscale (ITU-R 601-2 luma, as PIL's "L"), resized to 32x32, 2-D DCT-II,
// the top-left 8x8 coefficients including DC, each bit set where the
// coefficient is above their median, bits row-major, most significant first.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace imgbackfill {

// 32x32 gray levels, row-major, 0..255.
using Gray32 = std::array<float, 32 * 32>;

uint64_t PerceptualHash(const Gray32& pixels);
// 16 lowercase hex digits.
std::string PerceptualHashHex(uint64_t hash);

// Loads and decodes the image at `path` as the worker does (LoadImageBytes
// with default LoadLimits, then DecodeImage; shrink-on-load: a JPEG is
// decoded at reduced scale when only 32x32 is needed) and returns its 32x32
// grayscale thumbnail. Throws AnalysisError (an Error of kind kFailed)
// naming the file and the reason for a missing, unreadable, truncated,
// oversized or non-image file.
Gray32 LoadGray32(const std::string& path);

}  // namespace imgbackfill
