#include "providers/vision_request.h"

namespace imgbackfill {

std::string_view VisionPrompt() {
  // Catalog search wants what is visible, not guesses: no brands, names or
  // text the model cannot read.
  return "Describe this catalog image for search. caption: one factual sentence about what is "
         "visible. tags: up to 10 short lowercase keywords for the objects, materials, colours "
         "and setting. Do not guess brands, identities of people, or text you cannot read.";
}

nlohmann::json GeminiVisionSchema() {
  return {
      {"type", "OBJECT"},
      {"properties",
       {{"caption", {{"type", "STRING"}}},
        {"tags", {{"type", "ARRAY"}, {"items", {{"type", "STRING"}}}}}}},
      {"required", {"caption", "tags"}},
  };
}

nlohmann::json OpenAiVisionResponseFormat() {
  return {
      {"type", "json_schema"},
      {"json_schema",
       {{"name", "image_description"},
        {"strict", true},
        {"schema",
         {{"type", "object"},
          {"properties",
           {{"caption", {{"type", "string"}}},
            {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
          {"required", {"caption", "tags"}},
          {"additionalProperties", false}}}}},
  };
}

}  // namespace imgbackfill
