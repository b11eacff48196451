// Base64 (RFC 4648, standard alphabet, with '=' padding): how images travel
// inside the JSON bodies of the hosted providers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imgbackfill {

std::string Base64Encode(std::string_view bytes);
// nullopt for a character outside the alphabet, a length that is not a
// multiple of four, or misplaced padding. No whitespace is accepted.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace imgbackfill
