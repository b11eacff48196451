// Small text helpers shared by the importer's parts.
#pragma once

#include <cctype>
#include <string>

namespace imgbackfill {

inline std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// `text` cut to `limit` bytes with "..." appended, so that one absurd field
// cannot flood a message.
inline std::string Abbreviate(const std::string& text, size_t limit = 80) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

}  // namespace imgbackfill
