// The `local` provider: the descriptor and the basic vision description of
// local_descriptor.h, computed in-process. Nothing is sent anywhere, so it
// takes no pacer and cannot fail but for a missing thumbnail.
#include <memory>
#include <string>
#include <vector>

#include "providers/local_descriptor.h"
#include "providers/providers.h"

namespace imgbackfill {
namespace {

Failure NoThumbnail() {
  return Failure::Permanent("the local provider needs the image's " +
                            std::to_string(kDescriptorSide) + "x" +
                            std::to_string(kDescriptorSide) + " RGB thumbnail; none was prepared");
}

class LocalProvider : public Provider {
 public:
  std::string name() const override { return "local"; }
  std::string embedding_model() const override { return kLocalDescriptorModel; }
  std::string vision_model() const override { return kLocalVisionModel; }
  int image_max_side() const override { return 0; }

  std::vector<EmbedOutcome> Embed(std::span<const PreparedImage* const> images) override {
    std::vector<EmbedOutcome> results;
    results.reserve(images.size());
    for (const PreparedImage* image : images) {
      if (HasDescriptorThumbnail(image->decoded)) {
        results.emplace_back(LocalDescriptor(image->decoded));
      } else {
        results.emplace_back(NoThumbnail());
      }
    }
    return results;
  }

  VisionOutcome Describe(const PreparedImage& image) override {
    if (!HasDescriptorThumbnail(image.decoded)) return NoThumbnail();
    return LocalVisionJson(image.decoded);
  }
};

}  // namespace

std::unique_ptr<Provider> MakeLocalProvider() { return std::make_unique<LocalProvider>(); }

}  // namespace imgbackfill
