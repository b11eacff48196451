#include <string>

#include "imgbackfill/error.h"
#include "imgbackfill/store.h"
#include "store/sqlite/sqlite_store.h"

namespace imgbackfill {

std::unique_ptr<Store> OpenStore(const std::string& url, const OpenOptions& options) {
  if (url.empty()) {
    throw Error(ErrorKind::kUsage,
                "no database given: pass --db PATH (or sqlite:///PATH, postgresql://...) or set "
                "DATABASE_URL");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    // "sqlite:catalog.db" is a mistyped URL far more often than a file name;
    // taken as a path, migrate would create a file of that name.
    for (const char* scheme : {"sqlite:", "postgresql:", "postgres:"}) {
      if (url.rfind(scheme, 0) == 0) {
        throw Error(ErrorKind::kConfig, "malformed database URL '" + url +
                                            "': expected sqlite:///path/to/catalog.db, "
                                            "postgresql://user@host/dbname or a file path");
      }
    }
    return std::make_unique<SqliteStore>(url, options.create);
  }
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme == "sqlite") {
    // sqlite:///srv/catalog.db names /srv/catalog.db; sqlite://catalog.db a
    // path relative to the working directory.
    std::string path = url.substr(scheme_end + 3);
    if (path.empty() || path.find('?') != std::string::npos) {
      throw Error(ErrorKind::kConfig, "malformed database URL '" + url +
                                          "': expected sqlite:///path/to/catalog.db (no query "
                                          "parameters)");
    }
    return std::make_unique<SqliteStore>(path, options.create);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    throw Error(ErrorKind::kConfig,
                "this build of imgbackfill has no PostgreSQL backend yet; use a SQLite path");
  }
  throw Error(ErrorKind::kConfig, "unsupported database URL scheme '" + scheme +
                                      "' in --db: use a file path, sqlite:///path or "
                                      "postgresql://user@host/dbname");
}

}  // namespace imgbackfill
