#include "store/sqlite/sqlite_errors.h"

#include <sqlite3.h>

namespace imgbackfill {

Error TranslateSqliteError(const SQLite::Exception& e, const std::string& operation,
                           const std::string& where) {
  const int code = e.getErrorCode() & 0xff;
  std::string detail =
      std::string(e.what()) + " (SQLite code " + std::to_string(e.getExtendedErrorCode()) + ")";
  std::string head = operation + " on " + where + " failed: " + detail;
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorKind::kTryAgain,
                   head +
                       ". The database is busy: another process held its write lock "
                       "past the busy timeout. Nothing was lost; it is safe to run the "
                       "command again.");
    case SQLITE_READONLY:
      return Error(ErrorKind::kUnavailable,
                   head +
                       ". The database is read-only: imgbackfill needs write access to "
                       "the file and its directory (for the -wal and -shm files).");
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error(ErrorKind::kUnavailable,
                   head + ". Check that the path exists and is readable and writable.");
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return Error(ErrorKind::kUnavailable, head + ". Check the disk (space, health).");
    case SQLITE_NOTADB:
      return Error(ErrorKind::kConfig, head + ". The file is not a SQLite database: check --db.");
    case SQLITE_CORRUPT:
      return Error(ErrorKind::kFailed,
                   head + ". The database file is corrupt: restore it from a backup.");
    default:
      return Error(ErrorKind::kFailed, head);
  }
}

}  // namespace imgbackfill
