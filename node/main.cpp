// The quipu program: parses the command line and dispatches to node/cli.
#include "node/cli.h"

int main(int argc, char** argv) { return quipu::node::RunCli(argc, argv); }
