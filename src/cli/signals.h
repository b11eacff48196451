// SIGINT and SIGTERM ask the current command to stop at the next safe point
// (between records); they never cut a transaction short.
#pragma once

namespace imgbackfill::cli {

void InstallStopSignals();
bool StopRequested();

}  // namespace imgbackfill::cli
