#include "imgbackfill/error.h"

namespace imgbackfill {

int ExitCodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage:
      return exit_code::kUsage;
    case ErrorKind::kUnavailable:
      return exit_code::kUnavailable;
    case ErrorKind::kTryAgain:
      return exit_code::kTryAgain;
    case ErrorKind::kConfig:
      return exit_code::kConfig;
    case ErrorKind::kFailed:
      return exit_code::kFailed;
  }
  return exit_code::kFailed;
}

}  // namespace imgbackfill
