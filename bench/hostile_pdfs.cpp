// Writes the hostile PDFs of bench/compare-latency.sh into a directory: the
// ones that took the node down (tests/common/hostile_pdf.h), plus valid ones
// sized to keep a parser busy.
//
//   build/bench/hostile_pdfs DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/common/hostile_pdf.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hostile_pdfs DIR\n");
    return 2;
  }
  using namespace quipu::testing;
  const std::string dir = argv[1];
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
  };
  write("encrypt-crash.pdf", EncryptCrashPdf());
  write("huge-size.pdf", HugeSizePdf());
  write("cyclic.pdf", CyclicPageTreePdf());
  write("revisions-5000.pdf", ManyRevisionsPdf(5000, 1000));
  write("objects-200k.pdf", ManyObjectsPdf(200000));
  return 0;
}
