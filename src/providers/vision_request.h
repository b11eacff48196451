// What the hosted providers are asked about an image, and the shape their
// answer must take. The stored vision result is that JSON object:
//   {"caption": "one factual sentence", "tags": ["short", "keywords"]}
// Both fields are required; the schema is kept small so that every model
// that accepts a response schema can follow it.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace imgbackfill {

// The instruction sent with the image.
std::string_view VisionPrompt();

// The schema as Gemini's generationConfig.responseSchema takes it (its
// OpenAPI subset: upper-case type names).
nlohmann::json GeminiVisionSchema();

// The schema as OpenAI's response_format {"type":"json_schema"} takes it
// (strict mode: every property required, no additional properties).
nlohmann::json OpenAiVisionResponseFormat();

}  // namespace imgbackfill
