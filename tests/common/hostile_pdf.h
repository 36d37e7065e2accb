// PDFs written by hand (no library), correct xref tables, and the hostile
// ones the hardening tests feed to quipu: each is what an attacker found (or
// the fuzzer did), kept small and deterministic.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace quipu::testing {

// A PDF 1.4 of `objects` (object i+1 is objects[i]) with a correct xref
// table; `trailer` is added inside the trailer dictionary.
// `before_xref` is written between the objects and the xref table.
inline std::string HandWrittenPdfText(const std::vector<std::string>& objects, const std::string& trailer = "",
                                      const std::string& size = "", const std::string& before_xref = "") {
  std::string out = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  out += before_xref;
  const size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
    out += line;
  }
  out += "trailer\n<< /Size " + (size.empty() ? std::to_string(objects.size() + 1) : size) + " /Root 1 0 R " +
         trailer + " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

// /Encrypt says /V 5 /R 6 but has no /Perms (nor /OE, /UE): PoDoFo 0.9.8
// dereferences NULL building its decryptor. 0.5 KB that killed the node.
inline std::string EncryptCrashPdf() {
  return HandWrittenPdfText(
      {"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
       "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
       "<< /Filter /Standard /V 5 /R 6 /Length 256 /P -4 /O <" + std::string(96, '0') + "> /U <" +
           std::string(96, '0') + "> >>"},
      "/Encrypt 4 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]");
}

// A few hundred bytes that declare 8,388,607 objects: PoDoFo allocates for
// all of them before reading any (seconds and ~475 MB).
inline std::string HugeSizePdf() {
  return HandWrittenPdfText({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"}, "",
                            "8388607");
}

// A one-page PDF that parses, with `markers` more "%%EOF" lines (comments
// to a parser, revisions to the byte scan: each one hashed and maybe looked
// up) before its xref table, `filler` bytes of comment before each.
inline std::string ManyRevisionsPdf(int markers, size_t filler = 0) {
  const std::string pad = filler > 0 ? "%" + std::string(filler, 'x') + "\n" : "";
  std::string junk;
  for (int i = 0; i < markers; ++i) junk += pad + "%%EOF\n";
  return HandWrittenPdfText({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                             "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"},
                            "", "", junk);
}

// A valid PDF of `objects` small dictionaries: a few MB that keep a parser
// busy for its whole deadline (the cost a hostile client can buy with one
// upload within the size limit).
inline std::string ManyObjectsPdf(int objects) {
  std::vector<std::string> all = {"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"};
  for (int i = 0; i < objects; ++i) all.push_back("<< /N " + std::to_string(i) + " /A [1 2 3] >>");
  return HandWrittenPdfText(all);
}

// A page tree whose Pages node is its own kid.
inline std::string CyclicPageTreePdf() {
  return HandWrittenPdfText({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                             "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"});
}

}  // namespace quipu::testing
