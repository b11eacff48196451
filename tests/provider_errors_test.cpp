// What a provider's error body becomes in a failure message: the
// provider's own words, on one line, short, whole characters, no key.
#include <catch2/catch.hpp>
#include <string>

#include "providers/http_outcome.h"

namespace imgbackfill {
namespace {

TEST_CASE("the provider's message is read from each provider's error shape", "[provider]") {
  CHECK(
      ProviderErrorMessage(
          R"({"error":{"code":400,"message":"Unable to process input image.","status":"INVALID_ARGUMENT"}})") ==
      "Unable to process input image.");
  CHECK(
      ProviderErrorMessage(
          R"({"error":{"message":"Invalid image.","type":"invalid_request_error","param":null,"code":null}})") ==
      "Invalid image.");
  CHECK(ProviderErrorMessage(R"({"object":"error","message":"model not found"})") ==
        "model not found");
  CHECK(ProviderErrorMessage(R"({"detail":"Not authenticated"})") == "Not authenticated");
  // A proxy's HTML page: its text, on one line.
  CHECK(ProviderErrorMessage("<html>\r\n  <h1>502 Bad Gateway</h1>\n</html>") ==
        "<html> <h1>502 Bad Gateway</h1> </html>");
  CHECK(ProviderErrorMessage("").empty());
}

TEST_CASE("a long message is cut near 300 bytes without splitting a character", "[provider]") {
  // Given a message of 200 two-byte characters (400 bytes), the cut keeps
  // whole characters only and marks the cut.
  std::string long_message;
  for (int i = 0; i < 200; ++i) long_message += "\xc3\xa9";  // é
  const std::string cut =
      ProviderErrorMessage(R"({"error":{"message":")" + long_message + R"("}})");
  CHECK(cut.size() <= 303);
  CHECK(cut.size() >= 290);
  CHECK(cut.substr(cut.size() - 3) == "...");
  const std::string body = cut.substr(0, cut.size() - 3);
  CHECK(body.size() % 2 == 0);
  CHECK(body == long_message.substr(0, body.size()));
}

TEST_CASE("a key is redacted wherever it appears", "[provider]") {
  CHECK(Redact("Incorrect API key provided: sk-123. Use sk-123 again", "sk-123") ==
        "Incorrect API key provided: [redacted]. Use [redacted] again");
  CHECK(Redact("nothing to hide", "") == "nothing to hide");
}

}  // namespace
}  // namespace imgbackfill
