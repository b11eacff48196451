// The wire details FakeProviderServer needs, apart from its routing: image
// sizes read from JPEG and PNG headers, the images inside Gemini parts and
// OpenAI data URLs, and each provider's error body.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "support/fake_http_server.h"

namespace imgbackfill::testing::fake_wire {

enum class Api { kGemini, kOpenAi };

// Width and height from a JPEG's start-of-frame or a PNG's IHDR; 0x0 when
// the bytes are neither.
std::pair<int, int> ImageSize(const std::string& bytes);

// An error answer in the provider's own shape: Gemini's
// {"error":{"code","message","status"}}, OpenAI's
// {"error":{"message","type","param","code"}}.
FakeResponse Refuse(Api api, int status, const std::string& message);

// A request the fake cannot read: answered 400 like a real provider would.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "data:image/jpeg;base64,...." -> the bytes. Throws BadRequest.
std::string DecodeDataUrl(const nlohmann::json& url, const std::string& where);

// The image of a Gemini part, {"inline_data":{"mime_type","data"}} or the
// camelCase spelling the API also takes; nullopt for a part without one.
// Throws BadRequest for bad base64.
std::optional<std::string> GeminiImage(const nlohmann::json& part, const std::string& where);

// The fake model's description of an image, as JSON text:
// {"caption":"a test image of WxH pixels","tags":["test","WxH"]}.
std::string Description(const std::string& image);

}  // namespace imgbackfill::testing::fake_wire
