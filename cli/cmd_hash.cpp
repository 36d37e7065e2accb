// `quipu hash` and `quipu jcs`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "cli/commands.h"
#include "node/document.h"
#include "cli/flags.h"
#include "cli/pdf_workers.h"

namespace quipu::cli {
namespace {

using node::DocType;
using node::DocTypeName;
using node::HashDocument;
using node::HashedDocument;
using node::MediaType;
using node::ParseDocType;
using node::RevisionHash;
using node::SniffDocType;

// PDFs and JSON documents are held in memory to be parsed; raw input is
// streamed. These bound the memory one document may take.
constexpr uint64_t kMaxPdfBytes = uint64_t{1} << 30;
constexpr uint64_t kMaxJsonBytes = uint64_t{256} << 20;
constexpr size_t kChunk = 256 * 1024;
constexpr size_t kSniffBytes = 1024;

// An open input: a file or standard input. Not copyable.
class Input {
 public:
  explicit Input(const std::string& name) : name_(name) {}
  ~Input() {
    if (fd_ > 0) ::close(fd_);
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  Status Open() {
    if (name_ == "-") {
      fd_ = 0;
      return Status::Ok();
    }
    fd_ = ::open(name_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return IoError(std::strerror(errno));
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    return Status::Ok();
  }

  // Reads up to `max` bytes into `out`; returns the number read (0 at end).
  Result<size_t> ReadInto(uint8_t* out, size_t max) {
    for (;;) {
      ssize_t n = ::read(fd_, out, max);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError(std::strerror(errno));
      return static_cast<size_t>(n);
    }
  }

  // Appends up to `max` bytes to `out`; returns the number read (0 at end).
  Result<size_t> Read(std::string& out, size_t max) {
    size_t old = out.size();
    out.resize(old + max);
    for (;;) {
      ssize_t n = ::read(fd_, out.data() + old, max);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out.resize(old);
        return IoError(std::strerror(errno));
      }
      out.resize(old + static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
  }

 private:
  std::string name_;
  int fd_ = -1;
};

// Reads the first bytes (enough to sniff the type) into `head`.
Status ReadHead(Input& in, std::string& head) {
  while (head.size() < kSniffBytes) {
    QUIPU_ASSIGN_OR_RETURN(size_t n, in.Read(head, kSniffBytes - head.size()));
    if (n == 0) break;
  }
  return Status::Ok();
}

Result<HashedDocument> HashInput(pdf::PdfEngine& engine, const std::string& name, std::optional<DocType> forced) {
  Input in(name);
  QUIPU_RETURN_IF_ERROR(in.Open());
  std::string data;
  QUIPU_RETURN_IF_ERROR(ReadHead(in, data));
  DocType type = forced ? *forced : SniffDocType(crypto::AsBytes(data));

  if (type == DocType::kRaw) {  // streamed in constant memory
    crypto::Sha256Hasher hasher;
    HashedDocument doc;
    doc.size = data.size();
    hasher.Update(data);
    // One buffer, read into directly: no copy and no clearing per chunk.
    std::unique_ptr<uint8_t[]> buf(new uint8_t[kChunk]);
    for (;;) {
      QUIPU_ASSIGN_OR_RETURN(size_t n, in.ReadInto(buf.get(), kChunk));
      if (n == 0) break;
      hasher.Update(std::span<const uint8_t>(buf.get(), n));
      doc.size += n;
    }
    doc.sha256 = hasher.Finish();
    return doc;
  }

  uint64_t limit = type == DocType::kPdf ? kMaxPdfBytes : kMaxJsonBytes;
  for (;;) {
    QUIPU_ASSIGN_OR_RETURN(size_t n, in.Read(data, kChunk));
    if (n == 0) break;
    if (data.size() > limit) {
      return InvalidArgument("larger than the " + std::to_string(limit >> 20) + " MiB limit for " +
                             std::string(DocTypeName(type)) + " documents (use --type raw)");
    }
  }
  crypto::JcsLimits limits;
  limits.max_bytes = kMaxJsonBytes;
  auto doc = HashDocument(engine, crypto::AsBytes(data), type, limits);
  if (!doc.ok() && !forced && type == DocType::kJson) {
    return InvalidArgument(doc.status().message() +
                           " (it looks like JSON; use --type raw to hash the bytes as they are)");
  }
  return doc;
}

nlohmann::json DescribeJson(const std::string& name, const HashedDocument& doc) {
  nlohmann::json j = {
      {"name", name},
      {"sha256", crypto::HexEncode(doc.sha256)},
      {"type", DocTypeName(doc.type)},
      {"media_type", MediaType(doc.type)},
      {"size", doc.size},
  };
  if (doc.type == DocType::kPdf) {
    j["pages"] = doc.pages;
    nlohmann::json revs = nlohmann::json::array();
    for (const RevisionHash& r : doc.revisions) {
      revs.push_back({{"length", r.length}, {"sha256", crypto::HexEncode(r.sha256)}});
    }
    j["revisions"] = std::move(revs);
  }
  return j;
}

int RunHash(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"type", true}, {"json", false}});
  if (!flags.ok()) return Fail("hash", flags.status().message(), kExitBadInput);
  std::optional<DocType> forced;
  if (auto t = flags->Get("type")) {
    forced = ParseDocType(*t);
    if (!forced) return Fail("hash", "--type must be pdf, json or raw, not '" + *t + "'", kExitBadInput);
  }
  if (flags->positional().empty()) return Fail("hash", "no FILE given (use - for standard input)", kExitBadInput);
  bool as_json = flags->Has("json");
  int status = kExitOk;
  // PDFs are parsed in a sandboxed worker process: a crafted file fails
  // with a message, never takes this process down.
  LazyPdfSandbox engine(CommandSandboxOptions(kMaxPdfBytes));
  for (const std::string& name : flags->positional()) {
    auto doc = HashInput(engine, name, forced);
    if (!doc.ok()) {
      std::cerr << "quipu hash: " << name << ": " << doc.status().message() << "\n";
      status = kExitBadInput;
      continue;
    }
    if (as_json) {
      std::cout << DescribeJson(name, *doc).dump() << "\n";
    } else {
      std::cout << crypto::HexEncode(doc->sha256) << "  " << DocTypeName(doc->type) << "  " << name << "\n";
    }
  }
  std::cout.flush();
  return status;
}

int RunJcs(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {});
  if (!flags.ok()) return Fail("jcs", flags.status().message(), kExitBadInput);
  if (flags->positional().size() > 1) return Fail("jcs", "one FILE at most", kExitBadInput);
  std::string name = flags->positional().empty() ? "-" : flags->positional()[0];
  Input in(name);
  if (Status s = in.Open(); !s.ok()) return Fail("jcs", name + ": " + s.message(), kExitBadInput);
  std::string data;
  for (;;) {
    auto n = in.Read(data, kChunk);
    if (!n.ok()) return Fail("jcs", name + ": " + n.status().message());
    if (*n == 0) break;
    if (data.size() > kMaxJsonBytes) return Fail("jcs", name + ": larger than the JSON size limit", kExitBadInput);
  }
  crypto::JcsLimits limits;
  limits.max_bytes = kMaxJsonBytes;
  auto canonical = crypto::Canonicalize(data, limits);
  if (!canonical.ok()) return Fail("jcs", name + ": " + canonical.status().message(), kExitBadInput);
  std::cout.write(canonical->data(), static_cast<std::streamsize>(canonical->size()));
  std::cout.flush();
  return kExitOk;
}

}  // namespace

extern const Command kHashCommand{
    "hash", "print the SHA-256 of PDF, JSON or raw documents as quipu records them",
    "usage: quipu hash [--type pdf|json|raw] [--json] FILE...   (- reads standard input)\n"
    "\n"
    "Prints `<sha256 hex>  <type>  <name>` for each FILE. The type is detected from the\n"
    "content unless --type says it: a PDF is hashed as its exact bytes, a JSON document\n"
    "as its RFC 8785 canonical form (so key order, spacing and number spelling do not\n"
    "matter), anything else as its bytes.\n"
    "\n"
    "  --type T   pdf, json or raw: hash as this type\n"
    "  --json     one JSON object a line: name, sha256, type, media_type, size, and for\n"
    "             PDFs pages and revisions [{length, sha256}] (each incremental update)\n"
    "\n"
    "A file that cannot be read or parsed is reported on stderr with the reason; the\n"
    "other files are still hashed and the exit status is then 2.\n",
    RunHash};

extern const Command kJcsCommand{
    "jcs", "print the RFC 8785 canonical form of a JSON document",
    "usage: quipu jcs [FILE|-]\n"
    "\n"
    "Prints the RFC 8785 (JCS) canonical form of the JSON document in FILE (standard\n"
    "input by default), bytes exactly, with no trailing newline. Strict: duplicate keys,\n"
    "invalid UTF-8, lone surrogates, NaN/Infinity and numbers outside the IEEE-754\n"
    "double range are errors (exit status 2) that give the byte offset.\n",
    RunJcs};

}  // namespace quipu::cli
