#include <vips/vips.h>

#include <memory>
#include <mutex>

#include "imgbackfill/error.h"
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
  });
}

struct Unref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

[[noreturn]] void ThrowVips(const std::string& path) {
  std::string reason = vips_error_buffer();
  vips_error_clear();
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  throw Error(ErrorKind::kFailed, "cannot decode " + path + ": " +
                                      (reason.empty() ? "not a readable image" : reason));
}

}  // namespace

Gray32 LoadGray32(const std::string& path) {
  InitVips();
  // thumbnail picks shrink-on-load (JPEG at 1/8, WebP, ...) and then
  // Lanczos-3; "force" ignores the aspect ratio, as imagehash does.
  // fail_on=error turns a truncated file into an error, not gray pixels.
  VipsImage* raw = nullptr;
  if (vips_thumbnail(path.c_str(), &raw, 32, "height", 32, "size", VIPS_SIZE_FORCE, "fail_on",
                     VIPS_FAIL_ON_ERROR, nullptr) != 0) {
    ThrowVips(path);
  }
  ImagePtr thumb(raw);
  VipsImage* srgb_raw = nullptr;
  if (vips_colourspace(thumb.get(), &srgb_raw, VIPS_INTERPRETATION_sRGB, nullptr) != 0) {
    ThrowVips(path);
  }
  ImagePtr srgb(srgb_raw);
  VipsImage* u8_raw = nullptr;
  if (vips_cast_uchar(srgb.get(), &u8_raw, nullptr) != 0) ThrowVips(path);
  ImagePtr u8(u8_raw);
  if (vips_image_get_width(u8.get()) != 32 || vips_image_get_height(u8.get()) != 32 ||
      vips_image_get_bands(u8.get()) < 3) {
    throw Error(ErrorKind::kFailed, "cannot decode " + path + ": unexpected thumbnail shape");
  }
  size_t size = 0;
  void* memory = vips_image_write_to_memory(u8.get(), &size);
  if (memory == nullptr) ThrowVips(path);
  std::unique_ptr<unsigned char, decltype(&g_free)> bytes(static_cast<unsigned char*>(memory),
                                                          &g_free);
  const int bands = vips_image_get_bands(u8.get());
  Gray32 gray{};
  for (int i = 0; i < 32 * 32; ++i) {
    const unsigned char* p = bytes.get() + static_cast<size_t>(i) * bands;
    // PIL's "L" (ITU-R 601-2 luma), with Pillow's own fixed-point rounding.
    gray[i] = static_cast<float>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return gray;
}

}  // namespace imgbackfill
