// An exclusive advisory lock on a file (flock), held for the life of the
// object. The kernel drops it when the process dies, however it dies, so a
// crashed holder never blocks the next run. The holder writes who it is into
// the file so that a refused process can name it.
#pragma once

#include <memory>
#include <string>

#include "imgbackfill/store.h"

namespace imgbackfill {

// Tries once, without waiting. Throws kUnavailable if the file cannot be
// created or opened.
LockAttempt TryLockFile(const std::string& path, const Holder& me);

}  // namespace imgbackfill
