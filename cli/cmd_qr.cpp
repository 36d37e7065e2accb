// `quipu qr issue|verify|render|stamp|rotate-key`: QR Seguro codes from the
// command line, against a data directory (issue, stamp and rotate-key need
// the writer lock: with a node running, use its HTTP API).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "crypto/note.h"
#include "ledger/log.h"
#include "api/qr_json.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/pdf_workers.h"
#include "node/qr_render.h"
#include "node/qr_service.h"
#include "node/schema.h"
#include "node/secrets.h"
#include "node/upgrade.h"

namespace quipu::cli {
namespace {

using node::ClientInfo;
using node::Clients;
using node::EncodeQr;
using node::LoadNodeSecrets;
using node::LoadQrKeys;
using node::NodeSecrets;
using node::QrKeyRing;
using node::QrPng;
using node::QrService;
using node::QrSvg;
using node::RotateQrKey;

using nlohmann::json;

int64_t SystemMicrosNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path == "-" ? "/dev/stdin" : path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int QrFail(std::string_view sub, const Status& s) {
  std::string msg = s.message();
  if (s.code() == StatusCode::kUnavailable && msg.find("another writer") != std::string::npos) {
    msg += " (the node is running: use POST /v1/qr)";
  }
  return Fail("qr " + std::string(sub), msg,
              s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                      s.code() == StatusCode::kUnprocessable
                  ? kExitBadInput
                  : kExitFailure);
}

constexpr uint64_t kMaxPdfBytes = uint64_t{1} << 30;

struct Ctx {
  // PDFs from files are parsed and stamped in a sandboxed worker.
  std::unique_ptr<LazyPdfSandbox> pdf = std::make_unique<LazyPdfSandbox>(CommandSandboxOptions(kMaxPdfBytes));
  std::unique_ptr<ledger::Log> log;
  std::unique_ptr<Clients> clients;
  std::unique_ptr<QrService> qr;
  NodeSecrets secrets;
};

Result<Ctx> Open(const Flags& flags, bool read_only) {
  const std::string dir = flags.GetOr("data", "./quipu-data");
  ledger::LogOptions o = node::LogOptionsFor(dir);
  o.create = false;
  o.read_only = read_only;
  Ctx c;
  QUIPU_ASSIGN_OR_RETURN(c.log, ledger::Log::Open(o));
  if (!read_only) {
    QUIPU_RETURN_IF_ERROR(node::UpgradeDataDirectory(*c.log).status());
  } else {
    // A reader cannot move what an earlier quipu wrote, and would not see it.
    QUIPU_ASSIGN_OR_RETURN(bool pending, node::UpgradePending(*c.log));
    if (pending) {
      return Unavailable("data directory " + dir +
                         " holds QR Seguro records in an earlier quipu's layout (in the approvals "
                         "table); start `quipu serve` on it once to move them to the qr table");
    }
  }
  QUIPU_ASSIGN_OR_RETURN(c.secrets, LoadNodeSecrets(dir, !read_only));
  QUIPU_ASSIGN_OR_RETURN(crypto::NoteSigner signer, crypto::LoadNoteSigner(dir + "/" + ledger::kNodeKeyFile));
  QUIPU_ASSIGN_OR_RETURN(QrKeyRing keys, LoadQrKeys(dir, !read_only));
  c.clients = std::make_unique<Clients>(*c.log, c.secrets.data_key);
  c.qr = std::make_unique<QrService>(*c.log, *c.clients, *c.pdf, std::move(signer), std::move(keys));
  return c;
}

// The client a CLI issue is made for: a registered one (not disabled), or
// the operator.
Result<ClientInfo> CliClient(const Flags& flags, Clients& clients) {
  if (auto id = flags.Get("client")) {
    QUIPU_ASSIGN_OR_RETURN(ClientInfo c, clients.Get(*id));
    if (c.disabled) return InvalidArgument("client " + *id + " is disabled: it issues no codes");
    return c;
  }
  ClientInfo operator_client;
  operator_client.id = "node-operator";
  operator_client.name = "node operator";
  return operator_client;
}

// A QR text given on the command line, or read from standard input ("-").
Result<std::string> QrTextArgument(const std::string& arg) {
  if (arg != "-") return arg;
  QUIPU_ASSIGN_OR_RETURN(std::string text, ReadAll("-"));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Result<json> Fields(const Flags& flags) {
  if (!flags.Has("fields")) return json::object();
  QUIPU_ASSIGN_OR_RETURN(std::string text, ReadAll(*flags.Get("fields")));
  QUIPU_ASSIGN_OR_RETURN(json fields, crypto::ParseJsonStrict(text));
  if (!fields.is_object()) return InvalidArgument("--fields must hold a JSON object");
  return fields;
}

// quipu qr render TEXT|- [--svg F] [--png F]: the code as SVG (stdout) or files.
int QrRender(const Flags& flags) {
  const auto& pos = flags.positional();
  const std::string sub = "render";
  if (pos.size() != 2) return Fail("qr render", "give the QR text (or - for standard input)", kExitBadInput);
  auto text = QrTextArgument(pos[1]);
  if (!text.ok()) return QrFail(sub, text.status());
  auto m = EncodeQr(*text, 'M');
  if (!m.ok()) return QrFail(sub, m.status());
  if (auto svg = flags.Get("svg")) std::ofstream(*svg, std::ios::binary) << QrSvg(*m);
  if (auto png_path = flags.Get("png")) {
    auto png = QrPng(*m, 8, 4);
    if (!png.ok()) return QrFail(sub, png.status());
    std::ofstream(*png_path, std::ios::binary).write(reinterpret_cast<const char*>(png->data()),
                                                     static_cast<std::streamsize>(png->size()));
  }
  if (!flags.Has("svg") && !flags.Has("png")) std::cout << QrSvg(*m);
  std::cerr << "QR version " << m->version << " at M, " << text->size() << " characters\n";
  return kExitOk;
}

// quipu qr rotate-key: a new QR data key; older keys still open older codes.
int QrRotateKey(const Flags& flags) {
  const std::string sub = "rotate-key";
  auto id = RotateQrKey(flags.GetOr("data", "./quipu-data"));
  if (!id.ok()) return QrFail(sub, id.status());
  std::cout << "new QR data key " << *id << " (older keys still open older codes)\n";
  return kExitOk;
}

// quipu qr verify TEXT|-: the code checked against the ledger (exit 1 when not valid).
int QrVerify(const Flags& flags) {
  const auto& pos = flags.positional();
  const std::string sub = "verify";
  if (pos.size() != 2) return Fail("qr verify", "give the QR text (or - for standard input)", kExitBadInput);
  auto text = QrTextArgument(pos[1]);
  if (!text.ok()) return QrFail(sub, text.status());
  auto ctx = Open(flags, /*read_only=*/true);
  if (!ctx.ok()) return QrFail(sub, ctx.status());
  auto v = ctx->qr->Verify(*text);
  if (!v.ok()) return QrFail(sub, v.status());
  std::cout << api::QrVerificationJson(*v).dump() << "\n";
  return v->valid ? kExitOk : kExitFailure;
}

// quipu qr issue --client ID --fields F (--document FILE | --sha256 HEX): a new code.
int QrIssue(const Flags& flags) {
  const std::string sub = "issue";
  auto fields = Fields(flags);
  if (!fields.ok()) return QrFail(sub, fields.status());
  json document = {{"media_type", flags.GetOr("media-type", "application/pdf")}};
  if (auto file = flags.Get("document")) {
    auto bytes = ReadAll(*file);
    if (!bytes.ok()) return QrFail(sub, bytes.status());
    document["content"] = crypto::Base64Encode(crypto::AsBytes(*bytes));
  } else if (auto sha = flags.Get("sha256")) {
    document["sha256"] = *sha;
  } else {
    return Fail("qr issue", "give --document FILE or --sha256 HEX", kExitBadInput);
  }
  json body = {{"document", document}, {"fields", *fields}};
  if (auto e = flags.Get("expires-at")) body["expires_at"] = *e;
  auto ctx = Open(flags, false);
  if (!ctx.ok()) return QrFail(sub, ctx.status());
  auto client = CliClient(flags, *ctx->clients);
  if (!client.ok()) return QrFail(sub, client.status());
  auto request = api::QrIssueRequestFromJson(body, SystemMicrosNow());
  if (!request.ok()) return QrFail(sub, request.status());
  auto issued = ctx->qr->Issue(*client, *request);
  if (!issued.ok()) return QrFail(sub, issued.status());
  std::cout << api::QrIssuedJson(*issued).dump() << "\n";
  return kExitOk;
}

// quipu qr stamp IN.pdf OUT.pdf --client ID --fields F: a code issued and drawn on the PDF.
int QrStamp(const Flags& flags) {
  const auto& pos = flags.positional();
  const std::string sub = "stamp";
  if (pos.size() != 3) return Fail("qr stamp", "usage: quipu qr stamp IN.pdf OUT.pdf --fields F.json", kExitBadInput);
  auto pdf = ReadAll(pos[1]);
  if (!pdf.ok()) return QrFail(sub, pdf.status());
  auto fields = Fields(flags);
  if (!fields.ok()) return QrFail(sub, fields.status());
  auto plain = api::QrPlainFromJson(*fields, flags.Get("expires-at"), SystemMicrosNow());
  if (!plain.ok()) return QrFail(sub, plain.status());
  json options = {{"corner", flags.GetOr("corner", "bottom-right")}};
  auto page = flags.GetUint("page", 1);
  if (!page.ok() || *page > 100000) return Fail("qr stamp", "--page must be a page number (0 = last)", kExitBadInput);
  options["page"] = *page;
  if (auto cap = flags.Get("caption")) options["caption"] = *cap;
  auto where = api::QrStampRequestFromJson(options);
  if (!where.ok()) return QrFail(sub, where.status());
  auto ctx = Open(flags, false);
  if (!ctx.ok()) return QrFail(sub, ctx.status());
  auto client = CliClient(flags, *ctx->clients);
  if (!client.ok()) return QrFail(sub, client.status());
  // Written next to OUT and renamed: a failed write leaves no half file.
  // Opened before the code is issued, so an unwritable OUT issues none.
  const std::string tmp = pos[2] + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Fail("qr stamp", tmp + ": cannot create", kExitBadInput);
  auto stamped = ctx->qr->Stamp(*client, crypto::AsBytes(*pdf), *plain, *where);
  if (!stamped.ok()) {
    out.close();
    std::remove(tmp.c_str());
    return QrFail(sub, stamped.status());
  }
  {
    out.write(stamped->pdf.data(), static_cast<std::streamsize>(stamped->pdf.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Fail("qr stamp", pos[2] + ": cannot write (the code " + std::to_string(stamped->qr.index) +
                                  " was issued: revoke it, or stamp again)");
    }
    out.close();
  }
  if (std::rename(tmp.c_str(), pos[2].c_str()) != 0) {
    std::remove(tmp.c_str());
    return Fail("qr stamp", pos[2] + ": cannot write");
  }
  std::cout << json{{"qr_text", stamped->qr.text},
                    {"index", stamped->qr.index},
                    {"document_sha256", stamped->document_sha256},
                    {"issued_at", stamped->qr.issued_at},
                    {"checkpoint", stamped->qr.checkpoint}}
                   .dump()
            << "\n";
  return kExitOk;
}

int RunQr(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"data", true},
                                   {"client", true},
                                   {"fields", true},
                                   {"document", true},
                                   {"sha256", true},
                                   {"media-type", true},
                                   {"expires-at", true},
                                   {"page", true},
                                   {"corner", true},
                                   {"caption", true},
                                   {"svg", true},
                                   {"png", true},
                                   {"json", false}});
  if (!flags.ok()) return Fail("qr", flags.status().message(), kExitBadInput);
  const auto& pos = flags->positional();
  if (pos.empty()) return Fail("qr", "missing subcommand: issue, verify, render, stamp or rotate-key", kExitBadInput);
  const std::string& sub = pos[0];

  if (sub == "render") return QrRender(*flags);
  if (sub == "rotate-key") return QrRotateKey(*flags);
  if (sub == "verify") return QrVerify(*flags);
  if (sub == "issue") return QrIssue(*flags);
  if (sub == "stamp") return QrStamp(*flags);
  return Fail("qr", "unknown subcommand '" + sub + "'", kExitBadInput);
}

}  // namespace

extern const Command kQrCommand{
    "qr", "QR Seguro codes: issue, verify, render, stamp, rotate-key",
    "usage: quipu qr issue (--document FILE | --sha256 HEX) [--media-type T] [--fields F.json]\n"
    "                      [--expires-at RFC3339] [--client ID] [--data DIR]\n"
    "       quipu qr verify TEXT|- [--data DIR]          exit 0 when valid, 1 otherwise\n"
    "       quipu qr render TEXT|- [--svg OUT] [--png OUT]\n"
    "       quipu qr stamp IN.pdf OUT.pdf [--fields F.json] [--page N] [--corner C] [--caption T]\n"
    "                      [--client ID] [--data DIR]\n"
    "       quipu qr rotate-key [--data DIR]\n"
    "\n"
    "issue records a qr_issue entry and prints {qr_text, index, ...}; stamp issues a code for\n"
    "IN.pdf and draws it (vector) on page N (1; 0 = last) at corner C (bottom-right,\n"
    "bottom-left, top-right, top-left) as an incremental update: IN.pdf stays a prefix of\n"
    "OUT.pdf. Without --client the code is issued by the node operator. issue, stamp and\n"
    "rotate-key need the data directory's writer lock (with a node running, use its API).\n",
    RunQr};

}  // namespace quipu::cli
