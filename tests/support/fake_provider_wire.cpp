#include "support/fake_provider_wire.h"

#include <cstdint>
#include <map>
#include <string>

#include "providers/base64.h"

namespace imgbackfill::testing::fake_wire {
namespace {

using nlohmann::json;

json GeminiError(int status, const std::string& message) {
  static const std::map<int, const char*> kStatus = {
      {400, "INVALID_ARGUMENT"},   {401, "UNAUTHENTICATED"}, {404, "NOT_FOUND"},
      {429, "RESOURCE_EXHAUSTED"}, {500, "INTERNAL"},        {503, "UNAVAILABLE"}};
  const auto it = kStatus.find(status);
  return {{"error",
           {{"code", status},
            {"message", message},
            {"status", it == kStatus.end() ? "UNKNOWN" : it->second}}}};
}

json OpenAiError(int status, const std::string& message) {
  const char* type = status == 429   ? "requests"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
}

std::string DecodeBase64(const std::string& text, const std::string& where) {
  std::optional<std::string> bytes = Base64Decode(text);
  if (!bytes) throw BadRequest("Invalid base64 data at " + where);
  return *bytes;
}

}  // namespace

std::pair<int, int> ImageSize(const std::string& bytes) {
  const auto byte = [&](size_t i) { return i < bytes.size() ? static_cast<uint8_t>(bytes[i]) : 0; };
  const auto be16 = [&](size_t i) { return (byte(i) << 8) | byte(i + 1); };
  if (bytes.size() >= 24 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
    const auto be32 = [&](size_t i) { return (be16(i) << 16) | be16(i + 2); };
    return {be32(16), be32(20)};
  }
  if (byte(0) != 0xFF || byte(1) != 0xD8) return {0, 0};
  for (size_t at = 2; at + 9 < bytes.size();) {
    if (byte(at) != 0xFF) return {0, 0};
    const int marker = byte(at + 1);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      return {be16(at + 7), be16(at + 5)};
    }
    at += 2 + static_cast<size_t>(be16(at + 2));
  }
  return {0, 0};
}

FakeResponse Refuse(Api api, int status, const std::string& message) {
  const json body =
      api == Api::kGemini ? GeminiError(status, message) : OpenAiError(status, message);
  return FakeResponse::Json(status, body.dump());
}

std::string DecodeDataUrl(const json& url, const std::string& where) {
  if (!url.is_string()) throw BadRequest(where + " is not a string");
  const std::string text = url.get<std::string>();
  const size_t comma = text.find(',');
  if (text.rfind("data:image/", 0) != 0 || comma == std::string::npos ||
      text.compare(comma - 7, 7, ";base64") != 0) {
    throw BadRequest(where + " is not a base64 image data URL");
  }
  return DecodeBase64(text.substr(comma + 1), where);
}

std::optional<std::string> GeminiImage(const json& part, const std::string& where) {
  for (const char* key : {"inline_data", "inlineData"}) {
    if (part.is_object() && part.contains(key) && part[key].is_object() &&
        part[key].contains("data") && part[key]["data"].is_string()) {
      return DecodeBase64(part[key]["data"].get<std::string>(), where);
    }
  }
  return std::nullopt;
}

std::string Description(const std::string& image) {
  const auto [width, height] = ImageSize(image);
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  return json{{"caption", "a test image of " + size + " pixels"}, {"tags", {"test", size}}}.dump();
}

}  // namespace imgbackfill::testing::fake_wire
