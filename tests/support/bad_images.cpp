#include "support/bad_images.h"

#include <vips/vips.h>

#include <array>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace imgbackfill::testing {
namespace {

void InitVips() {
  // vips_init() returns at once after the first call, whoever made it.
  if (VIPS_INIT("imgbackfill-tests") != 0) throw std::runtime_error("cannot start libvips");
}

void WriteBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

// A width x height x bands pattern: smooth gradients plus rectangles whose
// places and colors come from the seed.
std::vector<uint8_t> Pattern(int width, int height, int bands, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * bands);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &pixels[(static_cast<size_t>(y) * width + x) * bands];
      p[0] = static_cast<uint8_t>(255 * x / std::max(1, width - 1));
      p[1] = static_cast<uint8_t>(255 * y / std::max(1, height - 1));
      p[2] = static_cast<uint8_t>((x + y + seed) % 256);
      if (bands == 4) p[3] = x < width / 2 ? 0 : 255;
    }
  }
  for (int r = 0; r < 6; ++r) {
    const int x0 = static_cast<int>(random() % width), y0 = static_cast<int>(random() % height);
    const int x1 = std::min(width, x0 + 1 + static_cast<int>(random() % (width / 2 + 1)));
    const int y1 = std::min(height, y0 + 1 + static_cast<int>(random() % (height / 2 + 1)));
    const std::array<uint8_t, 3> color = {static_cast<uint8_t>(random()),
                                          static_cast<uint8_t>(random()),
                                          static_cast<uint8_t>(random())};
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        std::copy(color.begin(), color.end(),
                  &pixels[(static_cast<size_t>(y) * width + x) * bands]);
      }
    }
  }
  return pixels;
}

std::string Save(int width, int height, uint32_t seed, bool png, bool alpha) {
  InitVips();
  const int bands = alpha ? 4 : 3;
  const std::vector<uint8_t> pixels = Pattern(width, height, bands, seed);
  VipsImage* image = vips_image_new_from_memory(pixels.data(), pixels.size(), width, height, bands,
                                                VIPS_FORMAT_UCHAR);
  if (image == nullptr) throw std::runtime_error(vips_error_buffer());
  void* buffer = nullptr;
  size_t length = 0;
  const int failed = png ? vips_pngsave_buffer(image, &buffer, &length, nullptr)
                         : vips_jpegsave_buffer(image, &buffer, &length, "Q", 90, nullptr);
  g_object_unref(image);
  if (failed != 0) throw std::runtime_error(vips_error_buffer());
  std::string bytes(static_cast<const char*>(buffer), length);
  g_free(buffer);
  return bytes;
}

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xffffffffu;
  for (const char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string BigEndian32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string PngChunk(const std::string& type, const std::string& data) {
  return BigEndian32(static_cast<uint32_t>(data.size())) + type + data +
         BigEndian32(Crc32(type + data));
}

// A valid PNG header for a 30000x30000 8-bit gray image, followed by one
// zlib stream of 4 KB of zeros (a stored, uncompressed deflate block): the
// file is well-formed as far as a header reader looks, and would need 900
// MB of pixels to decode.
std::string PixelBomb() {
  const std::string ihdr =
      BigEndian32(30000) + BigEndian32(30000) + std::string("\x08\x00\x00\x00\x00", 5);
  constexpr uint16_t kStored = 4096;
  std::string zlib = "\x78\x01";
  zlib += '\x01';  // BFINAL=1, BTYPE=00 (stored)
  zlib += {static_cast<char>(kStored & 0xff), static_cast<char>(kStored >> 8),
           static_cast<char>(~kStored & 0xff), static_cast<char>((~kStored >> 8) & 0xff)};
  zlib += std::string(kStored, '\0');
  // Adler-32 of 4096 zero bytes: a = 1, b = 4096.
  zlib += BigEndian32((uint32_t{kStored} << 16) | 1u);
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + PngChunk("IDAT", zlib) +
         PngChunk("IEND", "");
}

// The IDAT chunk's stored CRC has one bit pattern flipped: the pixel data
// still inflates, so only the checksum can tell. (Flipping a data byte
// instead breaks the deflate stream first, a different failure.)
std::string PngWithBadCrc() {
  std::string png = EncodePng(64, 48, 7);
  const size_t type = png.find("IDAT");
  if (type == std::string::npos || type < 4) throw std::runtime_error("no IDAT in the PNG");
  uint32_t length = 0;
  for (size_t i = type - 4; i < type; ++i) length = (length << 8) | static_cast<uint8_t>(png[i]);
  png[type + 4 + length + 3] ^= 0x5a;  // the last byte of the CRC after the data
  return png;
}

}  // namespace

std::string EncodeJpeg(int width, int height, uint32_t seed) {
  return Save(width, height, seed, false, false);
}

std::string EncodePng(int width, int height, uint32_t seed, bool alpha) {
  return Save(width, height, seed, true, alpha);
}

void WriteJpeg(const std::filesystem::path& path, int width, int height, uint32_t seed) {
  WriteBytes(path, EncodeJpeg(width, height, seed));
}

void WritePng(const std::filesystem::path& path, int width, int height, uint32_t seed, bool alpha) {
  WriteBytes(path, EncodePng(width, height, seed, alpha));
}

std::filesystem::path WriteBadImage(const std::filesystem::path& dir, BadImage kind) {
  switch (kind) {
    case BadImage::kEmpty:
      WriteBytes(dir / "empty.jpg", "");
      return dir / "empty.jpg";
    case BadImage::kTruncatedJpeg: {
      const std::string jpeg = EncodeJpeg(256, 192, 3);
      WriteBytes(dir / "truncated.jpg", jpeg.substr(0, jpeg.size() / 2));
      return dir / "truncated.jpg";
    }
    case BadImage::kTextNamedJpeg:
      WriteBytes(dir / "text.jpg", "This is a shopping list, not a photo.\n");
      return dir / "text.jpg";
    case BadImage::kPngBadCrc:
      WriteBytes(dir / "bad-crc.png", PngWithBadCrc());
      return dir / "bad-crc.png";
    case BadImage::kPixelBomb:
      WriteBytes(dir / "bomb.png", PixelBomb());
      return dir / "bomb.png";
  }
  throw std::invalid_argument("unknown BadImage");
}

std::string ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace imgbackfill::testing
