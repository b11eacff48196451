// Loading and decoding an image as the worker does (LoadImageBytes, then
// DecodeImage): what a good file gives, and the failure, permanent or
// transient, and the message a user reads, for every kind of bad input.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "imgbackfill/failure.h"
#include "imgbackfill/image.h"
#include "support/bad_images.h"
#include "support/cli_fixture.h"
#include "support/fake_http_server.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using testing::BadImage;
using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::TempDir;
using namespace std::chrono_literals;

// Load then decode, as the worker does; returns the failure it threw.
Failure LoadAndDecodeFailure(const std::string& location, HttpTransport& http,
                             const LoadLimits& limits = {}) {
  try {
    DecodeOptions options;
    options.max_pixels = limits.max_pixels;
    DecodeImage(LoadImageBytes(location, limits, http), location, options);
  } catch (const AnalysisError& e) {
    return e.failure();
  }
  FAIL("no failure for " << location);
  return {};
}

DecodedImage Decode(const std::string& bytes, int encode_max_side = 0) {
  DecodeOptions options;
  options.want_rgb = true;
  options.encode_max_side = encode_max_side;
  return DecodeImage(bytes, "test image", options);
}

TEST_CASE("each bad local file is a permanent failure whose message names it and why", "[image]") {
  // Given the usual broken files, then each is refused permanently, and the
  // message starts with the path and says what is wrong with it.
  TempDir dir;
  auto http = MakeCurlTransport();
  const auto path = [&](BadImage kind) { return WriteBadImage(dir.path(), kind).string(); };
  const std::string missing = dir / "missing.jpg";
  const std::string empty = path(BadImage::kEmpty);
  const std::string truncated = path(BadImage::kTruncatedJpeg);
  const std::string text = path(BadImage::kTextNamedJpeg);
  const std::string bad_crc = path(BadImage::kPngBadCrc);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {missing, missing + ": no such file"},
      {dir.path().string(), dir.path().string() + ": is a directory, not an image file"},
      {empty, empty + ": is empty (0 bytes)"},
      {truncated, "cannot decode " + truncated + ": Premature end of input file"},
      {text, "cannot decode " + text + ": not a known image format"},
      {bad_crc, "cannot decode " + bad_crc + ": libpng read error"},
  };
  for (const auto& [location, message] : expected) {
    const Failure failure = LoadAndDecodeFailure(location, *http);
    INFO(failure.message);
    CHECK_FALSE(failure.transient);
    CHECK_THAT(failure.message, Catch::StartsWith(message));
  }
}

TEST_CASE("a file over max_bytes is refused before it is read", "[image]") {
  TempDir dir;
  const std::string jpeg = dir / "big.jpg";
  testing::WriteJpeg(jpeg, 200, 200, 1);
  LoadLimits limits;
  limits.max_bytes = 1000;
  const Failure failure = LoadAndDecodeFailure(jpeg, *MakeCurlTransport(), limits);
  CHECK_FALSE(failure.transient);
  CHECK(failure.message == jpeg + ": larger than the limit of 0.0 MiB (1000 bytes)");
}

TEST_CASE("an unreadable file is a permanent permission failure", "[image]") {
  // Root reads any file, so the loader runs as `nobody` (through
  // `imgbackfill hash`, the same code path) for the permission bits to hold.
  TempDir dir;
  const std::string jpeg = dir / "secret.jpg";
  testing::WriteJpeg(jpeg, 16, 16, 1);
  testing::Chmod(dir.path().string(), std::filesystem::perms(0755));
  testing::Chmod(jpeg, std::filesystem::perms::none);
  const auto result = testing::RunImgbackfillUnprivileged({"hash", jpeg});
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::StartsWith("imgbackfill: " + jpeg + ": permission denied"));
}

TEST_CASE("a decompression bomb is refused by its header, before any pixel is decoded", "[image]") {
  // Given a 4 KB PNG whose header claims 30000x30000, then the pixel limit
  // refuses it. Raising the limit shows that decoding would have failed
  // differently: the refusal came from the header alone.
  TempDir dir;
  const std::string bomb = WriteBadImage(dir.path(), BadImage::kPixelBomb).string();
  auto http = MakeCurlTransport();
  const Failure failure = LoadAndDecodeFailure(bomb, *http);
  CHECK_FALSE(failure.transient);
  CHECK(failure.message == bomb +
                               " claims 30000x30000 pixels (900.0 megapixels), over the limit of "
                               "100.0 megapixels (--max-pixels)");
  LoadLimits unlimited;
  unlimited.max_pixels = 1'000'000'000;
  CHECK_THAT(LoadAndDecodeFailure(bomb, *http, unlimited).message,
             Catch::StartsWith("cannot decode " + bomb + ": "));
}

TEST_CASE("a format only ImageMagick reads is refused with what to do about it", "[image]") {
  // Given a valid BMP (libvips has no loader of its own for BMP), then it is
  // refused permanently: ImageMagick is blocked for untrusted input.
  TempDir dir;
  const std::string bmp = WriteBadImage(dir.path(), BadImage::kBmp).string();
  const Failure failure = LoadAndDecodeFailure(bmp, *MakeCurlTransport());
  CHECK_FALSE(failure.transient);
  CHECK(failure.message == "cannot decode " + bmp +
                               ": only libvips' magickload_buffer (load buffer with ImageMagick) "
                               "reads this format, and it is blocked for untrusted images; convert "
                               "the image to JPEG, PNG or WebP");
}

TEST_CASE("a good JPEG and PNG decode with their size, format and thumbnails", "[image]") {
  const DecodedImage jpeg = Decode(testing::EncodeJpeg(640, 480, 5), 256);
  CHECK(jpeg.width == 640);
  CHECK(jpeg.height == 480);
  CHECK(jpeg.format == "jpeg");
  CHECK(jpeg.rgb.size() == size_t{kDescriptorSide} * kDescriptorSide * 3);
  CHECK(jpeg.encoded_mime == "image/jpeg");
  // The encoded copy fits 256 on its long side and keeps the aspect ratio.
  const DecodedImage encoded = Decode(jpeg.encoded);
  CHECK(encoded.format == "jpeg");
  CHECK(encoded.width == 256);
  CHECK(encoded.height == 192);

  const DecodedImage png = Decode(testing::EncodePng(100, 50, 6, /*alpha=*/true), 256);
  CHECK(png.width == 100);
  CHECK(png.height == 50);
  CHECK(png.format == "png");
  CHECK(png.rgb.size() == size_t{kDescriptorSide} * kDescriptorSide * 3);
  // Never upscaled; the transparent half is flattened on white.
  const DecodedImage small = Decode(png.encoded);
  CHECK(small.format == "jpeg");
  CHECK(small.width == 100);
  CHECK(small.height == 50);
  CHECK(png.rgb[0] >= 250);  // top-left pixel, in the transparent half
  CHECK(png.rgb[1] >= 250);
  CHECK(png.rgb[2] >= 250);

  CHECK(Decode(testing::EncodeJpeg(64, 64, 1)).encoded.empty());  // not asked for
}

// `jpeg` with one more segment (marker, payload) right after its SOI.
std::string WithSegment(const std::string& jpeg, unsigned char marker, const std::string& payload) {
  const size_t length = payload.size() + 2;
  std::string segment = {'\xFF', static_cast<char>(marker), static_cast<char>(length >> 8),
                         static_cast<char>(length & 0xFF)};
  return jpeg.substr(0, 2) + segment + payload + jpeg.substr(2);
}

TEST_CASE("a fitting JPEG with nothing to strip is sent as it is, and metadata makes a fresh copy",
          "[image]") {
  // Given a 320x240 JPEG of only tables and frame (EncodeJpeg's file, which
  // carries libvips' EXIF, through the worker's own re-encode, which strips
  // it) and a 1024 box, the provider gets the file's own bytes. The same
  // file with an EXIF segment (an empty IFD) or a comment, or too large for
  // a 256 box, is re-encoded: the copy is a JPEG without the segment's text.
  const std::string with_exif = testing::EncodeJpeg(320, 240, 3);
  REQUIRE(with_exif.find("Exif") != std::string::npos);
  const std::string plain = Decode(with_exif, 1024).encoded;
  REQUIRE(plain.find("Exif") == std::string::npos);
  CHECK(Decode(plain, 1024).encoded == plain);

  const std::string exif =
      WithSegment(plain, 0xE1, std::string("Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0", 20));
  const std::string comment = WithSegment(plain, 0xFE, "GPS 41.8781 N 87.6298 W");
  for (const std::string& source : {exif, comment}) {
    const DecodedImage decoded = Decode(source, 1024);
    CHECK(decoded.encoded != source);
    CHECK(decoded.encoded.find("Exif") == std::string::npos);
    CHECK(decoded.encoded.find("GPS") == std::string::npos);
    CHECK(Decode(decoded.encoded).width == 320);
  }
  const DecodedImage shrunk = Decode(plain, 256);
  CHECK(shrunk.encoded != plain);
  CHECK(Decode(shrunk.encoded).width == 256);
  // The pHash does not depend on which way the provider's copy was made.
  CHECK(Decode(exif, 1024).gray == Decode(plain, 1024).gray);
}

TEST_CASE("different images hash differently and the same bytes hash the same", "[image]") {
  const std::string a = testing::EncodeJpeg(300, 200, 1);
  CHECK(a == testing::EncodeJpeg(300, 200, 1));  // the generator is deterministic
  const uint64_t hash_a = PerceptualHash(Decode(a).gray);
  CHECK(PerceptualHash(Decode(a).gray) == hash_a);
  CHECK(PerceptualHash(Decode(testing::EncodeJpeg(300, 200, 2)).gray) != hash_a);
}

TEST_CASE("image URLs: a 200 decodes, and each HTTP failure is transient or permanent", "[image]") {
  // Given a server with one good image and one path per failure, then the
  // worker gets the image, or a failure of the right kind naming the URL.
  const std::string image = testing::EncodeJpeg(120, 80, 9);
  FakeHttpServer server([&image](const FakeRequest& request) {
    FakeResponse response = FakeResponse::Bytes(image, "image/jpeg");
    if (request.path == "/missing.jpg") return FakeResponse::Json(404, "{}");
    if (request.path == "/forbidden.jpg") return FakeResponse::Json(403, "{}");
    if (request.path == "/busy.jpg") {
      response = FakeResponse::Json(503, "{}");
      response.headers.emplace_back("Retry-After", "30");
    }
    if (request.path == "/slow.jpg") response.delay = 30s;
    if (request.path == "/moved.jpg") return FakeResponse::Redirect(302, "/a.jpg");
    if (request.path == "/elsewhere.jpg") return FakeResponse::Redirect(302, "ftp://host/a.jpg");
    if (request.path == "/truncated.jpg") response.truncate_body_at = 100;
    return response;
  });
  auto http = MakeCurlTransport();
  const auto url = [&server](const std::string& path) { return server.base_url() + path; };

  const DecodedImage decoded = Decode(LoadImageBytes(url("/a.jpg"), {}, *http));
  CHECK(decoded.width == 120);
  CHECK(decoded.height == 80);
  CHECK(LoadImageBytes(url("/moved.jpg"), {}, *http) == image);

  LoadLimits limits;
  limits.timeout = 300ms;
  const auto failure = [&](const std::string& path) {
    return LoadAndDecodeFailure(url(path), *http, limits);
  };
  const Failure missing = failure("/missing.jpg");
  CHECK_FALSE(missing.transient);
  CHECK(missing.message == url("/missing.jpg") +
                               ": the server answered HTTP 404 (not found); fix the image's "
                               "location or deactivate it");
  CHECK_FALSE(failure("/forbidden.jpg").transient);

  const Failure busy = failure("/busy.jpg");
  CHECK(busy.transient);
  CHECK(busy.retry_after == 30s);
  CHECK(busy.message == url("/busy.jpg") + ": the server answered HTTP 503; will retry");

  const Failure slow = failure("/slow.jpg");
  CHECK(slow.transient);
  CHECK_THAT(slow.message,
             Catch::StartsWith(url("/slow.jpg") + ": ") && Catch::Contains("(timeout)"));

  const Failure elsewhere = failure("/elsewhere.jpg");
  CHECK_FALSE(elsewhere.transient);
  CHECK(elsewhere.message == url("/elsewhere.jpg") +
                                 " redirected to ftp://host/a.jpg: refused, a redirect may not "
                                 "change the scheme");

  const Failure truncated = failure("/truncated.jpg");
  CHECK(truncated.transient);  // a broken connection: the next try may get it all
  CHECK_THAT(truncated.message, Catch::StartsWith(url("/truncated.jpg") + ": ") &&
                                    Catch::Contains("before the answer was complete"));

  limits.max_bytes = image.size() - 1;
  const Failure big = failure("/a.jpg");
  CHECK_FALSE(big.transient);
  CHECK_THAT(big.message, Catch::StartsWith(url("/a.jpg") + ": larger than the limit of "));
}

TEST_CASE("locations with another scheme are refused permanently", "[image]") {
  auto http = MakeCurlTransport();
  for (const std::string location : {"file:///etc/hosts", "ftp://example.com/a.jpg"}) {
    const Failure failure = LoadAndDecodeFailure(location, *http);
    CHECK_FALSE(failure.transient);
    CHECK_THAT(failure.message,
               Catch::StartsWith(location + ": unsupported scheme") &&
                   Catch::EndsWith("; a location is a local path or an http(s) URL"));
  }
}

}  // namespace
}  // namespace imgbackfill
