#include <spdlog/spdlog.h>
#include <vips/vips.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>

#include "imgbackfill/failure.h"
#include "imgbackfill/http.h"
#include "imgbackfill/image.h"
#include "imgbackfill/phash.h"

namespace imgbackfill {
namespace {

// libvips is initialised once per process, on first use.
void InitVips() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("imgbackfill") != 0) {
      throw Error(ErrorKind::kFailed, std::string("cannot start libvips: ") + vips_error_buffer());
    }
    // The bytes come from anywhere (catalog paths, URLs): loaders libvips
    // marks untrusted (ImageMagick, MATLAB, ...) are not exposed to them.
    vips_block_untrusted_set(TRUE);
    // libvips warns on stderr for every damaged tile ("error in tile 0 x
    // 80", "IDAT: CRC error"), dozens per bad file, from its own threads.
    // The failure itself reaches the user as an AnalysisError; the detail
    // goes to the debug log.
    g_log_set_handler(
        "VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
        [](const gchar*, GLogLevelFlags, const gchar* message, gpointer) {
          spdlog::debug("libvips: {}", message);
        },
        nullptr);
  });
}

struct Unref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

[[noreturn]] void Permanent(const std::string& message) {
  throw AnalysisError(Failure::Permanent(message));
}

// libvips' error buffer is process-wide; copying and clearing it in one
// call keeps one image's reason out of the next image's message.
[[noreturn]] void ThrowVips(const std::string& name) {
  std::unique_ptr<char, decltype(&g_free)> copy(vips_error_buffer_copy(), &g_free);
  std::string reason;
  std::string_view rest = copy ? copy.get() : "";
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    // "VipsJpeg: Premature end of JPEG file": the domain is library noise.
    if (const size_t colon = line.find(": ");
        colon != std::string_view::npos && line.substr(0, colon).find(' ') == line.npos) {
      line.remove_prefix(colon + 2);
    }
    if (line.empty() || reason.find(line) != std::string::npos) continue;
    reason += (reason.empty() ? "" : "; ") + std::string(line);
  }
  Permanent("cannot decode " + name + ": " + (reason.empty() ? "not a readable image" : reason) +
            "; the image data is damaged");
}

// "magickload_buffer (load buffer with ImageMagick)" for a loader blocked
// for untrusted input, or empty: libvips still sniffs such formats, and would otherwise
// fail with a bare "operation is blocked".
std::string BlockedLoader(const char* type_name) {
  const GType type = g_type_from_name(type_name);
  if (type == 0) return "";
  gpointer klass = g_type_class_ref(type);
  std::string nickname;
  if (VIPS_OPERATION_CLASS(klass)->flags & VIPS_OPERATION_BLOCKED) {
    nickname = std::string(VIPS_OBJECT_CLASS(klass)->nickname) + " (" +
               VIPS_OBJECT_CLASS(klass)->description + ")";
  }
  g_type_class_unref(klass);
  return nickname;
}

std::string Megapixels(int64_t pixels) {
  char text[48];
  if (pixels < 100'000) {
    std::snprintf(text, sizeof text, "%lld pixels", static_cast<long long>(pixels));
  } else {
    std::snprintf(text, sizeof text, "%.1f megapixels", static_cast<double>(pixels) / 1e6);
  }
  return text;
}

// Shrink-on-load to a box of width x height: libvips picks the cheapest
// decode (a JPEG at 1/8 scale, ...) before its Lanczos-3 resize.
// fail_on=error makes a truncated or corrupt file an error rather than gray
// pixels. It goes in the loader's option string: thumbnail_buffer accepts a
// "fail_on" argument but does not pass it on to the loader
// (libvips/libvips#5195; the file form does).
ImagePtr Thumbnail(std::string_view bytes, const std::string& name, int width, int height,
                   VipsSize size) {
  VipsImage* out = nullptr;
  if (vips_thumbnail_buffer(const_cast<char*>(bytes.data()), bytes.size(), &out, width, "height",
                            height, "size", size, "option_string", "[fail_on=error]", "fail_on",
                            VIPS_FAIL_ON_ERROR, nullptr) != 0) {
    ThrowVips(name);
  }
  return ImagePtr(out);
}

// 8-bit sRGB, alpha flattened on white: what a provider or the descriptor
// should see of a transparent PNG.
ImagePtr ToSrgb8(ImagePtr image, const std::string& name, bool flatten) {
  VipsImage* out = nullptr;
  if (vips_colourspace(image.get(), &out, VIPS_INTERPRETATION_sRGB, nullptr) != 0) ThrowVips(name);
  image.reset(out);
  if (flatten && vips_image_hasalpha(image.get())) {
    VipsArrayDouble* white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
    const int failed = vips_flatten(image.get(), &out, "background", white, nullptr);
    vips_area_unref(VIPS_AREA(white));
    if (failed != 0) ThrowVips(name);
    image.reset(out);
  }
  if (vips_cast_uchar(image.get(), &out, nullptr) != 0) ThrowVips(name);
  image.reset(out);
  return image;
}

// Decodes the pixels (the only step where a truncated file is noticed).
std::unique_ptr<unsigned char, decltype(&g_free)> Pixels(VipsImage* image,
                                                         const std::string& name) {
  size_t size = 0;
  void* memory = vips_image_write_to_memory(image, &size);
  if (memory == nullptr) ThrowVips(name);
  return {static_cast<unsigned char*>(memory), &g_free};
}

Gray32 Gray(std::string_view bytes, const std::string& name) {
  // "force" ignores the aspect ratio, as imagehash does.
  ImagePtr thumb = ToSrgb8(Thumbnail(bytes, name, 32, 32, VIPS_SIZE_FORCE), name, false);
  const int bands = vips_image_get_bands(thumb.get());
  if (vips_image_get_width(thumb.get()) != 32 || vips_image_get_height(thumb.get()) != 32 ||
      bands < 3) {
    Permanent("cannot decode " + name + ": unexpected thumbnail shape");
  }
  const auto pixels = Pixels(thumb.get(), name);
  Gray32 gray{};
  for (int i = 0; i < 32 * 32; ++i) {
    const unsigned char* p = pixels.get() + static_cast<size_t>(i) * bands;
    // PIL's "L" (ITU-R 601-2 luma), with Pillow's own fixed-point rounding.
    gray[i] = static_cast<float>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return gray;
}

std::vector<uint8_t> Rgb(std::string_view bytes, const std::string& name) {
  constexpr int kSide = kDescriptorSide;
  ImagePtr thumb = ToSrgb8(Thumbnail(bytes, name, kSide, kSide, VIPS_SIZE_FORCE), name, true);
  const int bands = vips_image_get_bands(thumb.get());
  if (vips_image_get_width(thumb.get()) != kSide || vips_image_get_height(thumb.get()) != kSide ||
      bands != 3) {
    Permanent("cannot decode " + name + ": unexpected thumbnail shape");
  }
  const auto pixels = Pixels(thumb.get(), name);
  return {pixels.get(), pixels.get() + static_cast<size_t>(kSide) * kSide * 3};
}

std::string Jpeg(std::string_view bytes, const std::string& name, int max_side) {
  // VIPS_SIZE_DOWN: fit the long side in the box, never enlarge.
  ImagePtr thumb = ToSrgb8(Thumbnail(bytes, name, max_side, max_side, VIPS_SIZE_DOWN), name, true);
  void* buffer = nullptr;
  size_t length = 0;
  if (vips_jpegsave_buffer(thumb.get(), &buffer, &length, "Q", 85, "strip", TRUE, nullptr) != 0) {
    ThrowVips(name);
  }
  std::unique_ptr<void, decltype(&g_free)> owned(buffer, &g_free);
  return {static_cast<const char*>(buffer), length};
}

// Whether a JPEG's header holds nothing but what is needed to decode it:
// JFIF (APP0), quantization and Huffman tables, restart interval and a
// baseline, extended or progressive frame. Any other segment (EXIF, XMP,
// ICC, Adobe, a comment) may carry metadata to strip or colour to convert.
// libvips does not report every one of them (comments), so the markers are
// read here.
bool PlainJpeg(std::string_view bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;
  size_t pos = 2;
  while (pos + 4 <= size) {
    if (b[pos] != 0xFF) return false;
    const unsigned char marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xDA) return true;  // start of scan: the header is over
    switch (marker) {
      case 0xE0:
      case 0xDB:
      case 0xC4:
      case 0xDD:
      case 0xC0:
      case 0xC1:
      case 0xC2:
        break;
      default:
        return false;
    }
    const size_t length = (size_t{b[pos + 2]} << 8) | b[pos + 3];
    if (length < 2) return false;
    pos += 2 + length;
  }
  return false;
}

}  // namespace

DecodedImage DecodeImage(std::string_view bytes, const std::string& name,
                         const DecodeOptions& options) {
  InitVips();
  if (bytes.empty()) Permanent("cannot decode " + name + ": it is empty (0 bytes)");
  const char* loader = vips_foreign_find_load_buffer(bytes.data(), bytes.size());
  if (loader == nullptr) {
    vips_error_clear();
    Permanent("cannot decode " + name + ": not a known image format");
  }
  if (const std::string blocked = BlockedLoader(loader); !blocked.empty()) {
    Permanent("cannot decode " + name + ": only libvips' " + blocked +
              " reads this format, and it is blocked for untrusted images; convert the image to "
              "JPEG, PNG or WebP");
  }
  // The header alone: the pixel limit is checked before a single pixel of a
  // decompression bomb is decoded.
  DecodedImage decoded;
  int bands = 0;
  VipsInterpretation interpretation = VIPS_INTERPRETATION_ERROR;
  {
    VipsImage* raw = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access",
                                                VIPS_ACCESS_SEQUENTIAL, nullptr);
    if (raw == nullptr) ThrowVips(name);
    ImagePtr header(raw);
    decoded.width = vips_image_get_width(header.get());
    decoded.height = vips_image_get_height(header.get());
    bands = vips_image_get_bands(header.get());
    interpretation = vips_image_get_interpretation(header.get());
    const char* used = nullptr;
    if (vips_image_get_string(header.get(), VIPS_META_LOADER, &used) == 0 && used) {
      const std::string_view nickname = used;  // "jpegload_buffer"
      decoded.format = nickname.substr(0, nickname.find("load"));
    }
  }
  const int64_t pixels = int64_t{decoded.width} * decoded.height;
  if (pixels > options.max_pixels) {
    Permanent(name + " claims " + std::to_string(decoded.width) + "x" +
              std::to_string(decoded.height) + " pixels (" + Megapixels(pixels) +
              "), over the limit of " + Megapixels(options.max_pixels) + " (--max-pixels)");
  }
  decoded.gray = Gray(bytes, name);
  if (options.want_rgb) decoded.rgb = Rgb(bytes, name);
  if (options.encode_max_side > 0) {
    const bool fits =
        decoded.width <= options.encode_max_side && decoded.height <= options.encode_max_side;
    const bool plain_colour = (bands == 1 && interpretation == VIPS_INTERPRETATION_B_W) ||
                              (bands == 3 && interpretation == VIPS_INTERPRETATION_sRGB);
    // One byte per pixel is about four times what quality 85 takes.
    const bool compact = bytes.size() <= static_cast<size_t>(std::max<int64_t>(pixels, 16384));
    if (decoded.format == "jpeg" && fits && plain_colour && compact && PlainJpeg(bytes)) {
      decoded.encoded = std::string(bytes);  // already decoded whole by Gray: not truncated
    } else {
      decoded.encoded = Jpeg(bytes, name, options.encode_max_side);
    }
  }
  return decoded;
}

Gray32 LoadGray32(const std::string& path) {
  // Through the worker's own path, so that `hash` and the worker agree on
  // what loads and what is refused. The transport is only used for URLs.
  static const std::unique_ptr<HttpTransport> http = MakeCurlTransport();
  const LoadLimits limits;
  DecodeOptions options;
  options.max_pixels = limits.max_pixels;
  return DecodeImage(LoadImageBytes(path, limits, *http), path, options).gray;
}

}  // namespace imgbackfill
