// The local provider on images decoded by the worker's own DecodeImage:
// the descriptor's shape and behaviour, and the basic vision result.
#include <vips/vips.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "imgbackfill/image.h"
#include "imgbackfill/provider.h"
#include "support/bad_images.h"

namespace imgbackfill {
namespace {

using testing::EncodeJpeg;

// A JPEG of one colour, made with libvips.
std::string SolidJpeg(int width, int height, double r, double g, double b) {
  REQUIRE(VIPS_INIT("imgbackfill-tests") == 0);
  VipsImage* black = nullptr;
  REQUIRE(vips_black(&black, width, height, "bands", 3, nullptr) == 0);
  const double scale[] = {1, 1, 1};
  const double offset[] = {r, g, b};
  VipsImage* coloured = nullptr;
  REQUIRE(vips_linear(black, &coloured, scale, offset, 3, "uchar", TRUE, nullptr) == 0);
  g_object_unref(black);
  void* buffer = nullptr;
  size_t size = 0;
  REQUIRE(vips_jpegsave_buffer(coloured, &buffer, &size, "Q", 95, nullptr) == 0);
  g_object_unref(coloured);
  std::string bytes(static_cast<const char*>(buffer), size);
  g_free(buffer);
  return bytes;
}

PreparedImage Prepare(const std::string& bytes, const std::string& name) {
  DecodeOptions options;
  options.want_rgb = true;
  PreparedImage image;
  image.location = name;
  image.decoded = DecodeImage(bytes, name, options);
  return image;
}

std::vector<float> Embed(Provider& provider, const PreparedImage& image) {
  const PreparedImage* batch[] = {&image};
  std::vector<EmbedOutcome> results = provider.Embed(batch);
  REQUIRE(results.size() == 1);
  REQUIRE(std::holds_alternative<std::vector<float>>(results[0]));
  return std::get<std::vector<float>>(results[0]);
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

struct Local {
  std::unique_ptr<HttpTransport> http = MakeCurlTransport();
  std::unique_ptr<RequestPacer> pacer = MakeRequestPacer(0);
  std::unique_ptr<Provider> provider = MakeProvider(ProviderConfig{}, *http, *pacer);
};

TEST_CASE("the local descriptor is 256 floats of unit length, the same for the same image",
          "[provider]") {
  Local local;
  const std::string bytes = EncodeJpeg(320, 240, 11);
  const std::vector<float> first = Embed(*local.provider, Prepare(bytes, "a.jpg"));
  const std::vector<float> again = Embed(*local.provider, Prepare(bytes, "a-again.jpg"));
  REQUIRE(first.size() == 256);
  CHECK(std::sqrt(Dot(first, first)) == Approx(1.0).margin(1e-5));
  CHECK(first == again);  // bit for bit
}

TEST_CASE("a slightly noised image stays closer than an unrelated one", "[provider]") {
  // Given an image, the same pixels with mild noise (+-6 levels, fixed
  // seed), and an image of another seed: the noised copy is more similar to
  // the original than the unrelated image is, and no two are identical.
  Local local;
  const PreparedImage original = Prepare(EncodeJpeg(320, 240, 21), "original.jpg");
  PreparedImage noised = original;
  std::mt19937 random(1234);
  std::uniform_int_distribution<int> noise(-6, 6);
  for (uint8_t& level : noised.decoded.rgb) {
    level = static_cast<uint8_t>(std::clamp(level + noise(random), 0, 255));
  }
  for (float& level : noised.decoded.gray) {
    level = std::clamp(level + static_cast<float>(noise(random)), 0.0f, 255.0f);
  }
  const PreparedImage unrelated = Prepare(EncodeJpeg(320, 240, 22), "unrelated.jpg");

  const std::vector<float> a = Embed(*local.provider, original);
  const std::vector<float> b = Embed(*local.provider, noised);
  const std::vector<float> c = Embed(*local.provider, unrelated);
  CHECK(a != b);
  CHECK(a != c);
  CHECK(Dot(a, b) > Dot(a, c));
  CHECK(Dot(a, b) > 0.9);
}

TEST_CASE("the local vision result of a wide red image names its size, shape and colour",
          "[provider]") {
  Local local;
  const VisionOutcome outcome =
      local.provider->Describe(Prepare(SolidJpeg(400, 200, 220, 20, 20), "red.jpg"));
  REQUIRE(std::holds_alternative<std::string>(outcome));
  const auto result = nlohmann::json::parse(std::get<std::string>(outcome));
  CHECK(result["width"] == 400);
  CHECK(result["height"] == 200);
  CHECK(result["orientation"] == "landscape");
  CHECK(result["provider"] == "local");
  REQUIRE(result["dominant_colors"].size() == 1);
  const std::string hex = result["dominant_colors"][0]["hex"];
  CHECK(hex.size() == 7);
  // Red stays dominantly red through JPEG: the red channel well above the others.
  const int red = std::stoi(hex.substr(1, 2), nullptr, 16);
  const int green = std::stoi(hex.substr(3, 2), nullptr, 16);
  CHECK(red > 180);
  CHECK(green < 60);
  CHECK(result["dominant_colors"][0]["fraction"] == Approx(1.0));
  // PIL luma of (220, 20, 20) is about 79/255.
  CHECK(result["brightness"].get<double>() == Approx(79.0 / 255).margin(0.03));
}

TEST_CASE("the local provider names its own models and fails an image without its thumbnail",
          "[provider]") {
  Local local;
  CHECK(local.provider->name() == "local");
  CHECK(local.provider->embedding_model() == "local-descriptor-v1");
  CHECK(local.provider->vision_model() == "local-vision-v1");
  CHECK(local.provider->image_max_side() == 0);

  PreparedImage bare;  // decoded without want_rgb
  const PreparedImage* batch[] = {&bare};
  const std::vector<EmbedOutcome> results = local.provider->Embed(batch);
  REQUIRE(std::holds_alternative<Failure>(results[0]));
  CHECK_FALSE(std::get<Failure>(results[0]).transient);
  CHECK_THAT(std::get<Failure>(results[0]).message, Catch::Matchers::Contains("RGB thumbnail"));
}

}  // namespace
}  // namespace imgbackfill
