// Log setup for the command line: text or JSON lines on stderr.
#pragma once

#include <string>

namespace imgbackfill::cli {

// format: "text" or "json"; level: trace, debug, info, warn, error.
void SetupLogging(const std::string& format, const std::string& level);

}  // namespace imgbackfill::cli
