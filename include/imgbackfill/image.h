// Loading and decoding an image for analysis: the one code path that both
// the worker and `imgbackfill hash` use.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "imgbackfill/http.h"
#include "imgbackfill/phash.h"

namespace imgbackfill {

struct LoadLimits {
  size_t max_bytes = 50u << 20;               // file or download size
  std::chrono::milliseconds timeout{30'000};  // a URL download, whole
  int64_t max_pixels = 100'000'000;           // width x height from the header
};

// The bytes of the image at `location`: a local path, or an http(s) URL
// fetched through `http` (redirects only within the same scheme, at most 5).
// Throws AnalysisError whose message starts with the location (or "cannot
// decode LOCATION"): permanent for a missing, unreadable, empty or oversized
// file, a directory, a 4xx, a refused redirect, a bad URL or another scheme
// (file:// included); transient for a timeout, a broken connection or
// truncated download, a 5xx, 408 or 429 (with its Retry-After).
std::string LoadImageBytes(const std::string& location, const LoadLimits& limits,
                           HttpTransport& http);

// Side of the square RGB thumbnail the local descriptor reads.
inline constexpr int kDescriptorSide = 64;

struct DecodeOptions {
  int64_t max_pixels = 100'000'000;
  bool want_rgb = false;    // fill DecodedImage::rgb
  int encode_max_side = 0;  // >0: fill DecodedImage::encoded (JPEG, long side <= this)
};

struct DecodedImage {
  int width = 0;  // of the original, from its header
  int height = 0;
  std::string format;  // libvips' loader, e.g. "jpeg", "png", "webp"
  Gray32 gray{};       // 32x32 luma for the pHash (aspect ratio ignored)
  // kDescriptorSide^2 x 3 sRGB bytes, row-major (aspect ratio ignored,
  // alpha flattened on white).
  std::vector<uint8_t> rgb;
  // The image as a hosted provider receives it: a JPEG (quality 85, sRGB,
  // alpha flattened on white, metadata stripped, EXIF orientation applied)
  // whose long side is at most encode_max_side (never upscaled). A source
  // that already is such a JPEG (within the box, gray or sRGB, no segment
  // but JFIF, tables and frame, at most one byte per pixel) is sent as its
  // own bytes: re-encoding it would cost more CPU than the rest of its
  // decode and change nothing a provider needs.
  std::string encoded;
  std::string encoded_mime = "image/jpeg";
};

// Decodes `bytes` with libvips (initialised once per process; shrink-on-load;
// fail_on=error; loaders libvips marks untrusted are blocked). `name` is the
// location, for messages. Thread-safe. Throws AnalysisError (permanent) for
// an empty, truncated, corrupt or non-image input, and for one whose header
// claims more than max_pixels (a decompression bomb is refused before any
// pixel is decoded). The thumbnails and the encoded copy are each made from
// `bytes` by their own shrink-on-load, so `gray` does not depend on the
// other options.
DecodedImage DecodeImage(std::string_view bytes, const std::string& name,
                         const DecodeOptions& options);

}  // namespace imgbackfill
