#include "cli/commands.h"

int main(int argc, char** argv) { return imgbackfill::cli::Main(argc, argv); }
