// The quipu program: the composition root. cli/ parses the command line and
// runs the command, which wires the layers below it (api/ for `serve`).
#include "cli/cli.h"

int main(int argc, char** argv) { return quipu::cli::RunCli(argc, argv); }
