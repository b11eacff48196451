#include <malloc.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // SQLite frees its per-statement memory after every record's transaction,
  // and glibc's default trim threshold hands it straight back to the kernel:
  // one brk() per record, which halved the executable's enqueue rate
  // (docs/benchmarks.md). Keeping a few MiB at the top of the heap costs
  // nothing measurable in peak RSS.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 8 << 20);
  return imgbackfill::cli::Main(argc, argv);
}
