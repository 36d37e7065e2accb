// Issue 14: one test per error code that node/'s public headers document,
// each driving the real service (a ledger::Log in a temporary directory,
// PoDoFo in process or a PDF engine that is saturated) into that error and
// checking the code and that nothing was written where the header says
// (the tree, the private tables, the files of the data directory).
//
// Pairs asserted elsewhere at node level, not repeated here:
//   QrService::Issue      kInvalidArgument (an expiry in the past), kPermissionDenied
//                         (tests/node/qr_service_test.cpp)
//   QrService::Stamp      kUnprocessable (a stamp whose room is not there; qr_service_test)
//   SealQr                kInvalidArgument; OpenQr kPermissionDenied (tests/node/qr_test.cpp)
//   LoadNodeSecrets       kCorruption, kPermissionDenied; LoadQrKeys kCorruption
//                         (tests/node/secrets_test.cpp)
//   ParseRfc3339          kInvalidArgument (tests/node/time_test.cpp)
//   ParseUrl, CheckOutboundUrl kInvalidArgument; CheckOutboundAddress kPermissionDenied
//                         (tests/node/url_policy_test.cpp)
// tests/api/ledger_handlers_test.cpp checks the HTTP statuses the ledger
// routes make of LedgerReader's codes; the codes themselves are checked here.
//
// Not reachable, so not tested: RotateQrKey's kAlreadyExists (the next id
// is above every key file's, so only a rotation by another process at the
// same moment meets it), and the errors that are only "the ledger's" or
// "the sequencer's" (RecordAttempt, DropOutbox, Verify).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <tuple>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "ledger/log.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/document.h"
#include "node/ledger_reader.h"
#include "node/qr_format.h"
#include "node/qr_service.h"
#include "node/schema.h"
#include "node/secrets.h"
#include "node/verify.h"
#include "pdf/engine.h"
#include "tests/common/hostile_pdf.h"
#include "tests/common/minimal_pdf.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

namespace fs = std::filesystem;
using ledger::PrivateTable;
using nlohmann::json;
using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// A PDF engine whose workers are all busy, as the sandbox answers when it
// is saturated; `parses` lets Parse through so that Stamp reaches the stamp.
class BusyEngine final : public pdf::PdfEngine {
 public:
  explicit BusyEngine(bool parses = false) : parses_(parses) {}
  Result<pdf::PdfFacts> Parse(std::span<const uint8_t> bytes) override {
    if (parses_) return pdf::ParsePdf(bytes);
    return Unavailable("every PDF worker is busy");
  }
  Result<pdf::Bytes> StampPlaceholder(std::span<const uint8_t>, const pdf::QrPlaceholder&,
                                      const pdf::StampOptions&) override {
    return Unavailable("every PDF worker is busy");
  }

 private:
  const bool parses_;
};

// Everything a call could have written to the ledger: the tree and every
// row of the private tables.
struct Stored {
  uint64_t tree_size = 0;
  crypto::Digest root{};
  std::map<std::string, std::string> rows;  // "<table>/<key>" -> value
  bool operator==(const Stored&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Stored& s) {
  os << "tree_size " << s.tree_size << ", rows:";
  for (const auto& [key, value] : s.rows) os << " " << key;
  return os;
}

Stored Snapshot(const ledger::Log& log) {
  Stored s;
  const ledger::LogHead head = log.Head();
  s.tree_size = head.tree_size;
  s.root = head.root;
  const std::pair<PrivateTable, const char*> tables[] = {{tables::kSubjects, "subjects"},
                                                         {tables::kClients, "clients"},
                                                         {tables::kApprovals, "approvals"},
                                                         {tables::kOutbox, "outbox"},
                                                         {tables::kQr, "qr"}};
  for (const auto& [table, name] : tables) {
    Status scanned =
        log.ScanPrivate(table, "", [&, name = name](std::string_view k, std::string_view v) {
          s.rows[std::string(name) + "/" + std::string(k)] = std::string(v);
          return true;
        });
    EXPECT_TRUE(scanned.ok()) << scanned.ToString();
  }
  return s;
}

// A private row written as a damaged or older node would have left it.
void PutPrivate(ledger::Log& log, PrivateTable table, std::string key, std::string value) {
  ledger::AppendRequest req;
  req.apply = [=](ledger::PrivateTxn& txn, uint64_t, const std::string&) {
    return txn.Put(table, key, value);
  };
  auto done = log.Append(std::move(req)).get();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
}

// An approval entry for document `doc`, as approvals write them.
json ApprovalEntry(const std::string& doc, const std::string& client = "c_000000000000") {
  const std::string sha = crypto::HexEncode(crypto::Sha256(doc));
  return {{"type", "approval"},
          {"client", client},
          {"request", "r_test"},
          {"subject", sha},
          {"doc", {{"sha256", sha}, {"media_type", "application/pdf"}}}};
}

// The domain services of a node over a real ledger in a temporary
// directory: two clients, QR Seguro and approvals, and a clock the test
// moves (unix microseconds, in 2030).
struct Services {
  testing::TempDir dir;
  std::string data = dir.File("data");
  std::unique_ptr<ledger::Log> log;
  std::array<uint8_t, 32> key{};
  std::unique_ptr<Clients> clients;
  ClientInfo client, other;
  int64_t now_us = int64_t{1900000000} * 1000000;
  std::unique_ptr<QrService> qr;
  std::unique_ptr<Approvals> approvals;

  explicit Services(pdf::PdfEngine& engine = pdf::InProcessPdfEngine(),
                    ApprovalsOptions options = {}) {
    ledger::LogOptions o = node::LogOptionsFor(data);
    auto opened = ledger::Log::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    log = std::move(opened).value();
    crypto::RandomBytes(key);
    clients = std::make_unique<Clients>(*log, key);
    client = Add("SERECI");
    other = Add("SEGIP");
    auto signer = crypto::LoadNoteSigner(data + "/" + ledger::kNodeKeyFile);
    EXPECT_TRUE(signer.ok()) << signer.status().ToString();
    auto keys = LoadQrKeys(data, /*create=*/true);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    qr = std::make_unique<QrService>(*log, *clients, engine, std::move(*signer), std::move(*keys),
                                     [this] { return now_us; });
    options.clock = [this] { return now_us; };
    approvals = std::make_unique<Approvals>(*log, *clients, engine, key, std::move(options));
  }

  ClientInfo Add(const std::string& name) {
    auto added =
        clients->Add(name, "https://" + name + ".example/r", "https://" + name + ".example/n", "t");
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? added->client : ClientInfo{};
  }
  Stored Snapshot() const { return node::Snapshot(*log); }
  uint64_t Issue(const std::string& doc, const ClientInfo& by) {
    QrIssueRequest request;
    request.document.sha256 = crypto::Sha256(doc);
    auto issued = qr->Issue(by, request);
    EXPECT_TRUE(issued.ok()) << issued.status().ToString();
    return issued.ok() ? issued->index : 0;
  }
};

// ======================================================== node/document.h

TEST(DocumentErrors, HashPdfBytesIsUnprocessableForBytesThatFailTheByteChecks) {
  const std::string pdf = testing::MinimalPdf(1);
  for (const std::string& bad :
       {std::string(), std::string("not a pdf at all"), pdf.substr(0, pdf.size() / 2),
        testing::ManyRevisionsPdf(static_cast<int>(pdf::kMaxRevisions) + 1)}) {
    auto hashed = HashPdfBytes(Bytes(bad));
    ASSERT_FALSE(hashed.ok()) << bad.size() << " bytes";
    EXPECT_EQ(hashed.status().code(), StatusCode::kUnprocessable) << hashed.status().ToString();
  }
}

TEST(DocumentErrors, HashDocumentIsUnprocessableForAPdfThatDoesNotParse) {
  const std::string pdf = testing::MinimalPdf(1);
  for (const std::string& bad :
       {std::string("not a pdf"), pdf.substr(0, pdf.size() - 40), testing::HugeSizePdf()}) {
    auto hashed = HashDocument(pdf::InProcessPdfEngine(), Bytes(bad), DocType::kPdf);
    ASSERT_FALSE(hashed.ok());
    EXPECT_EQ(hashed.status().code(), StatusCode::kUnprocessable) << hashed.status().ToString();
  }
}

TEST(DocumentErrors, HashDocumentIsInvalidArgumentForJsonThatIsNotStrict) {
  for (const char* bad :
       {"{\"a\":1,\"a\":2}", "{\"a\":1,}", "{'a':1}", "[1] [2]", "", "{\"n\":NaN}"}) {
    auto hashed = HashDocument(pdf::InProcessPdfEngine(), Bytes(bad), DocType::kJson);
    ASSERT_FALSE(hashed.ok()) << bad;
    EXPECT_EQ(hashed.status().code(), StatusCode::kInvalidArgument)
        << bad << ": " << hashed.status().ToString();
  }
  // Beyond the limits given.
  const crypto::JcsLimits limits{.max_depth = 2, .max_bytes = 16};
  for (const char* big : {"[[[1]]]", "{\"a\":\"0123456789abcdef\"}"}) {
    auto hashed = HashDocument(pdf::InProcessPdfEngine(), Bytes(big), DocType::kJson, limits);
    EXPECT_EQ(hashed.status().code(), StatusCode::kInvalidArgument) << big;
  }
}

TEST(DocumentErrors, HashDocumentIsUnavailableWhenTheEngineIsSaturated) {
  BusyEngine busy;
  auto hashed = HashDocument(busy, Bytes(testing::MinimalPdf(1)), DocType::kPdf);
  ASSERT_FALSE(hashed.ok());
  EXPECT_EQ(hashed.status().code(), StatusCode::kUnavailable) << hashed.status().ToString();
}

TEST(DocumentErrors, ResolveDocumentIsInvalidArgumentNamingTheReference) {
  pdf::PdfEngine& engine = pdf::InProcessPdfEngine();
  DocumentRef raw{DocType::kRaw, crypto::Sha256(std::string("x")), std::nullopt};
  DocumentRef neither{DocType::kPdf, std::nullopt, std::nullopt};
  DocumentRef disagreeing{DocType::kJson, crypto::Sha256(std::string("x")), Bytes("{\"a\":1}")};
  DocumentRef bad_json{DocType::kJson, std::nullopt, Bytes("{\"a\":1,\"a\":1}")};
  for (const auto& [ref, why] :
       std::vector<std::pair<DocumentRef, const char*>>{{raw, "documents[2].media_type"},
                                                        {neither, "give sha256 or content"},
                                                        {disagreeing, "does not match the content"},
                                                        {bad_json, "documents[2].content"}}) {
    auto sha = ResolveDocument(engine, ref, "documents[2]");
    ASSERT_FALSE(sha.ok()) << why;
    EXPECT_EQ(sha.status().code(), StatusCode::kInvalidArgument) << sha.status().ToString();
    EXPECT_THAT(sha.status().message(), HasSubstr(why));
    EXPECT_THAT(sha.status().message(), HasSubstr("documents[2]"));
  }
}

TEST(DocumentErrors, ResolveDocumentIsUnprocessableForContentThatIsNotAReadablePdf) {
  DocumentRef ref{DocType::kPdf, std::nullopt, Bytes("not a pdf")};
  auto sha = ResolveDocument(pdf::InProcessPdfEngine(), ref, "document");
  ASSERT_FALSE(sha.ok());
  EXPECT_EQ(sha.status().code(), StatusCode::kUnprocessable) << sha.status().ToString();
  EXPECT_THAT(sha.status().message(), HasSubstr("document.content"));
}

TEST(DocumentErrors, ResolveDocumentIsUnavailableWhenTheEngineIsSaturated) {
  BusyEngine busy;
  DocumentRef ref{DocType::kPdf, std::nullopt, Bytes(testing::MinimalPdf(1))};
  auto sha = ResolveDocument(busy, ref, "document");
  ASSERT_FALSE(sha.ok());
  EXPECT_EQ(sha.status().code(), StatusCode::kUnavailable) << sha.status().ToString();
  EXPECT_THAT(sha.status().message(), HasSubstr("document.content"));
}

// ======================================================== node/verify.h

// A corrupt byte in the stored entry (fault injection, as for the ledger's
// own tests): LMDB keeps no checksum, the entry's first '{' becomes '!'.
TEST(VerifyErrors, LookupDocumentIsCorruptionForAnEntryThatIsNotJson) {
  testing::TempDir dir;
  ledger::LogOptions o = node::LogOptionsFor(dir.File("data"));
  const std::string marker = "c_0123456789ab";
  {
    auto log = ledger::Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE(
        (*log)
            ->Append(ledger::AppendRequest(std::vector<json>{ApprovalEntry("damaged", marker)}))
            .get()
            .ok());
  }
  const std::string path = o.dir + "/ledger.mdb";
  std::string file = testing::ReadFile(path);
  const std::string needle = "{\"client\":\"" + marker + "\"";
  int damaged = 0;
  for (size_t at = file.find(needle); at != std::string::npos; at = file.find(needle, at + 1)) {
    file[at] = '!';
    ++damaged;
  }
  ASSERT_GT(damaged, 0) << "the entry is not stored as written";
  testing::WriteFile(path, file);

  auto log = ledger::Log::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const Stored before = Snapshot(**log);
  auto answer = LookupDocument(LedgerReader(**log), crypto::Sha256(std::string("damaged")));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kCorruption) << answer.status().ToString();
  EXPECT_THAT(answer.status().message(), HasSubstr("entry 0"));
  EXPECT_EQ(Snapshot(**log), before);
}

TEST(VerifyErrors, VerifyDocumentIsInvalidArgumentForRawBytesAndBadJson) {
  Services s;
  const Stored before = s.Snapshot();
  const LedgerReader reader(*s.log);
  auto raw = VerifyDocument(reader, pdf::InProcessPdfEngine(), Bytes("plain text"), DocType::kRaw);
  EXPECT_EQ(raw.status().code(), StatusCode::kInvalidArgument) << raw.status().ToString();
  auto json =
      VerifyDocument(reader, pdf::InProcessPdfEngine(), Bytes("{\"a\":1,}"), DocType::kJson);
  EXPECT_EQ(json.status().code(), StatusCode::kInvalidArgument) << json.status().ToString();
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(VerifyErrors, VerifyDocumentIsUnprocessableForAnUnreadablePdfFoundNowhere) {
  Services s;
  // Refused before the parser runs (/Size 8388607 in a few hundred bytes),
  // and still looked up by its bytes: nothing found, so the error is the answer.
  const std::string hostile = testing::HugeSizePdf();
  auto answer = VerifyDocument(LedgerReader(*s.log), pdf::InProcessPdfEngine(), Bytes(hostile),
                               DocType::kPdf);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kUnprocessable) << answer.status().ToString();
  // Bytes that are no PDF at all fail the byte checks too.
  auto junk = VerifyDocument(LedgerReader(*s.log), pdf::InProcessPdfEngine(), Bytes("%PDF-1.4 cut"),
                             DocType::kPdf);
  EXPECT_EQ(junk.status().code(), StatusCode::kUnprocessable) << junk.status().ToString();
}

TEST(VerifyErrors, VerifyDocumentIsUnavailableWhenTheEngineIsSaturated) {
  Services s;
  BusyEngine busy;
  auto answer =
      VerifyDocument(LedgerReader(*s.log), busy, Bytes(testing::MinimalPdf(1)), DocType::kPdf);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable) << answer.status().ToString();
}

// ======================================================== node/ledger_reader.h

// A ledger of 3 entries in one commit: checkpoints for 0 (at creation) and 3.
struct ThreeEntries : Services {
  ThreeEntries() {
    auto done = log->Append(ledger::AppendRequest(std::vector<json>{
                                ApprovalEntry("a"), ApprovalEntry("b"), ApprovalEntry("c")}))
                    .get();
    EXPECT_TRUE(done.ok()) << done.status().ToString();
  }
};

TEST(LedgerReaderErrors, CheckpointIsNotFoundForASizeNeverSigned) {
  ThreeEntries s;
  const LedgerReader reader(*s.log);
  ASSERT_TRUE(reader.Checkpoint(3).ok());
  for (uint64_t size : {uint64_t{2}, uint64_t{4}, uint64_t{1} << 60}) {
    EXPECT_EQ(reader.Checkpoint(size).status().code(), StatusCode::kNotFound) << size;
  }
}

TEST(LedgerReaderErrors, TileIsInvalidArgumentForAnotherSpelling) {
  ThreeEntries s;
  const LedgerReader reader(*s.log);
  ASSERT_TRUE(reader.Tile("tile/0/000.p/3").ok());
  for (const char* bad :
       {"", "/tile/0/000.p/3", "tiles/0/000", "tile/0/00", "tile/0/0000", "tile/8/000",
        "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/x000/000", "tile/entries/000.p/03"}) {
    auto tile = reader.Tile(bad);
    EXPECT_EQ(tile.status().code(), StatusCode::kInvalidArgument)
        << bad << ": " << tile.status().ToString();
  }
}

TEST(LedgerReaderErrors, TileIsNotFoundBeyondTheTree) {
  ThreeEntries s;
  const LedgerReader reader(*s.log);
  for (const char* beyond : {"tile/0/000", "tile/0/000.p/4", "tile/0/001.p/1", "tile/1/000.p/1",
                             "tile/entries/000", "tile/entries/001.p/1"}) {
    auto tile = reader.Tile(beyond);
    EXPECT_EQ(tile.status().code(), StatusCode::kNotFound)
        << beyond << ": " << tile.status().ToString();
  }
}

TEST(LedgerReaderErrors, EntryIsNotFoundForAnIndexTheTreeDoesNotHave) {
  ThreeEntries s;
  const LedgerReader reader(*s.log);
  ASSERT_TRUE(reader.Entry(2).ok());
  ASSERT_TRUE(reader.Entry(1, 2).ok());
  const std::pair<uint64_t, std::optional<uint64_t>> cases[] = {
      {3, std::nullopt},  // beyond the latest tree
      {0, 4},             // a tree the log does not have yet
      {2, 2},             // a tree that is not above the index
      {0, 0}};
  for (const auto& [index, size] : cases) {
    auto entry = reader.Entry(index, size);
    EXPECT_EQ(entry.status().code(), StatusCode::kNotFound)
        << index << " in " << size.value_or(0) << ": " << entry.status().ToString();
  }
}

TEST(LedgerReaderErrors, ConsistencyIsInvalidArgumentFromALargerTree) {
  ThreeEntries s;
  auto proof = LedgerReader(*s.log).Consistency(3, 2);
  EXPECT_EQ(proof.status().code(), StatusCode::kInvalidArgument) << proof.status().ToString();
}

TEST(LedgerReaderErrors, ConsistencyIsNotFoundToATreeTheLogDoesNotHave) {
  ThreeEntries s;
  auto proof = LedgerReader(*s.log).Consistency(1, 4);
  EXPECT_EQ(proof.status().code(), StatusCode::kNotFound) << proof.status().ToString();
}

TEST(LedgerReaderErrors, BlockIsNotFoundWhenThereIsNone) {
  Services empty;
  EXPECT_EQ(LedgerReader(*empty.log).Block().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LedgerReader(*empty.log).Block(0).status().code(), StatusCode::kNotFound);
  ThreeEntries s;
  const LedgerReader reader(*s.log);
  ASSERT_TRUE(reader.Block().ok());
  EXPECT_EQ(reader.Block(reader.Block()->height + 1).status().code(), StatusCode::kNotFound);
}

// ======================================================== node/qr_format.h

struct QrKeys {
  crypto::SigningKey node = crypto::SigningKey::Generate();
  crypto::Bytes data = crypto::RandomBytes(32);
};

TEST(QrFormatErrors, SealQrWithNonceIsInvalidArgumentForBadFieldsANonceOrAKey) {
  QrKeys k;
  const crypto::Bytes nonce(24, 7);
  QrPlain bad_fields;
  bad_fields.fields = "[1]";
  EXPECT_EQ(SealQrWithNonce(bad_fields, 1, 2, k.data, k.node, nonce).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SealQrWithNonce(QrPlain{}, 1, 2, k.data, k.node, crypto::Bytes(23, 7)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SealQrWithNonce(QrPlain{}, 1, 2, crypto::Bytes(31, 1), k.node, nonce).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(QrFormatErrors, ParseQrTextIsInvalidArgumentNamingWhatIsWrong) {
  QrKeys k;
  auto sealed = SealQr(QrPlain{}, 42, 7, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  const std::string text = QrText(*sealed);
  ASSERT_TRUE(ParseQrText(text).ok());
  QrSealed long_nonce = *sealed;
  long_nonce.nonce.push_back(0);
  QrSealed far_index = *sealed;
  far_index.index = uint64_t{1} << 53;
  for (const std::string& bad : {std::string(), std::string("QS1:"), "QS2:" + text.substr(4),
                                 "qs1:" + text.substr(4), text.substr(0, text.size() - 3),
                                 text + "00", text + "a", QrText(long_nonce), QrText(far_index)}) {
    auto parsed = ParseQrText(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument)
        << bad << ": " << parsed.status().ToString();
  }
  EXPECT_THAT(ParseQrText(QrText(long_nonce)).status().message(), HasSubstr("nonce"));
  EXPECT_THAT(ParseQrText(QrText(far_index)).status().message(), HasSubstr("index"));
}

TEST(QrFormatErrors, EncodeQrPlainIsInvalidArgumentForFieldsThatDoNotEncode) {
  QrPlain p;
  for (const char* fields : {"[]", "\"text\"", "not json", ""}) {
    p.fields = fields;
    EXPECT_EQ(EncodeQrPlain(p).status().code(), StatusCode::kInvalidArgument) << fields;
  }
  p.fields = json{{"x", std::string(kMaxQrFieldsBytes, 'a')}}.dump();
  EXPECT_EQ(EncodeQrPlain(p).status().code(), StatusCode::kInvalidArgument);
  p.fields = "{}";
  p.expires_at = -1;
  EXPECT_EQ(EncodeQrPlain(p).status().code(), StatusCode::kInvalidArgument);
}

// A code that authenticates under the data key but whose plaintext is not
// the format's map: what a node with the key but another encoder would make.
TEST(QrFormatErrors, OpenQrIsCorruptionForAPlaintextThatIsNotTheFieldsMap) {
  QrKeys k;
  const json not_maps[] = {json::array({1, 2}), json{{"fields", "x"}}, json(5)};
  const crypto::Bytes wrong_key_map = {0xa1, 0x05, 0xa0};   // {5: {}}
  const crypto::Bytes fields_not_map = {0xa1, 0x02, 0x01};  // {2: 1}
  std::vector<crypto::Bytes> plaintexts = {wrong_key_map, fields_not_map, {}};
  for (const json& j : not_maps) plaintexts.push_back(json::to_cbor(j));
  for (const crypto::Bytes& pt : plaintexts) {
    QrSealed s;
    s.key_id = 7;
    s.index = 42;
    s.nonce = crypto::RandomBytes(crypto::kAeadNonceBytes);
    auto ct = crypto::AeadSeal(k.data, s.nonce, pt, QrAssociatedData(s.key_id, s.index));
    ASSERT_TRUE(ct.ok());
    s.ciphertext = *ct;
    auto opened = OpenQr(s, k.data);
    ASSERT_FALSE(opened.ok()) << crypto::HexEncode(pt);
    EXPECT_EQ(opened.status().code(), StatusCode::kCorruption)
        << crypto::HexEncode(pt) << ": " << opened.status().ToString();
  }
}

// ======================================================== node/qr_service.h

TEST(QrServiceErrors, LoadQrKeysIsNotFoundWithoutAKeyAndWithoutCreate) {
  testing::TempDir dir;
  auto ring = LoadQrKeys(dir.path().string(), /*create=*/false);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), StatusCode::kNotFound) << ring.status().ToString();
  EXPECT_TRUE(fs::is_empty(dir.path())) << "nothing is made without create";
  // An empty qr-keys/ and files that are not keys are no key either.
  fs::create_directory(dir.path() / "qr-keys");
  testing::WriteFile(dir.File("qr-keys/notes.txt"), "x");
  testing::WriteFile(dir.File("qr-keys/1234567890.key"), "x");  // 10 digits: not a key's name
  testing::WriteFile(dir.File("qr-keys/1234567890123456789012345.key"), "x");
  EXPECT_EQ(LoadQrKeys(dir.path().string(), false).status().code(), StatusCode::kNotFound);
  // Nor for a rotation (which threw std::out_of_range on the longer name).
  auto id = RotateQrKey(dir.path().string());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 1u);
}

TEST(QrServiceErrors, LoadQrKeysIsPermissionDeniedForAKeyOthersMayRead) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  ASSERT_TRUE(RotateQrKey(d).ok());
  const std::string key = d + "/qr-keys/1.key";
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto ring = LoadQrKeys(d, /*create=*/true);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), StatusCode::kPermissionDenied) << ring.status().ToString();
  EXPECT_THAT(ring.status().message(), HasSubstr(key));
  // Refused, not replaced by a new key.
  EXPECT_EQ(std::distance(fs::directory_iterator(d + "/qr-keys"), fs::directory_iterator()), 1);
}

TEST(QrServiceErrors, RotateQrKeyIsIoErrorWhenTheKeyDirectoryCannotBeMade) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("qr-keys"), "a file where the directory goes");
  auto id = RotateQrKey(dir.path().string());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kIoError) << id.status().ToString();
  EXPECT_EQ(testing::ReadFile(dir.File("qr-keys")), "a file where the directory goes");
  // So does LoadQrKeys when it would create the first key.
  EXPECT_EQ(LoadQrKeys(dir.path().string(), /*create=*/true).status().code(), StatusCode::kIoError);
}

TEST(QrServiceErrors, MakeQrPlainIsInvalidArgumentNamingWhatIsWrong) {
  const int64_t now = int64_t{1900000000} * 1000000;
  const std::pair<std::pair<std::string, std::optional<std::string>>, const char*> cases[] = {
      {{"[]", std::nullopt}, "fields"},
      {{"not json", std::nullopt}, "fields"},
      {{"{}", "tomorrow"}, "expires_at"},
      {{"{}", "2030-02-30T00:00:00Z"}, "expires_at"},
      {{"{}", "2029-01-01T00:00:00Z"}, "not in the future"},
      {{"{}", "2030-03-17T17:46:40Z"}, "not in the future"},  // now exactly
      {{json{{"x", std::string(600, 'a')}}.dump(), std::nullopt}, "bytes encoded"}};
  for (const auto& [input, why] : cases) {
    auto plain = MakeQrPlain(input.first, input.second, now);
    ASSERT_FALSE(plain.ok()) << why;
    EXPECT_EQ(plain.status().code(), StatusCode::kInvalidArgument) << plain.status().ToString();
    EXPECT_THAT(plain.status().message(), HasSubstr(why));
  }
}

TEST(QrServiceErrors, IssueIsUnprocessableForContentThatIsNotAReadablePdf) {
  Services s;
  const Stored before = s.Snapshot();
  QrIssueRequest request;
  for (const std::string& bad : {std::string("not a pdf"), testing::HugeSizePdf()}) {
    request.document = DocumentRef{DocType::kPdf, std::nullopt, Bytes(bad)};
    auto issued = s.qr->Issue(s.client, request);
    ASSERT_FALSE(issued.ok());
    EXPECT_EQ(issued.status().code(), StatusCode::kUnprocessable) << issued.status().ToString();
  }
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(QrServiceErrors, IssueIsUnavailableWhenTheEngineIsSaturated) {
  BusyEngine busy;
  Services s(busy);
  const Stored before = s.Snapshot();
  QrIssueRequest request;
  request.document = DocumentRef{DocType::kPdf, std::nullopt, Bytes(testing::MinimalPdf(1))};
  auto issued = s.qr->Issue(s.client, request);
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), StatusCode::kUnavailable) << issued.status().ToString();
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(QrServiceErrors, RevokeIsInvalidArgumentForAnEmptyOrLongReason) {
  Services s;
  const uint64_t index = s.Issue("revocable", s.client);
  const Stored before = s.Snapshot();
  for (const std::string& reason : {std::string(), std::string(257, 'r')}) {
    auto revoked = s.qr->Revoke(s.client, index, reason);
    ASSERT_FALSE(revoked.ok());
    EXPECT_EQ(revoked.status().code(), StatusCode::kInvalidArgument) << revoked.status().ToString();
  }
  EXPECT_EQ(s.Snapshot(), before);
  EXPECT_FALSE(s.qr->RevocationOf(index)->has_value());
  EXPECT_TRUE(s.qr->Revoke(s.client, index, std::string(256, 'r')).ok());
}

TEST(QrServiceErrors, RevokeIsNotFoundForAnotherClientsCodeAndWhatIsNoCode) {
  Services s;
  const uint64_t theirs = s.Issue("theirs", s.other);
  ASSERT_TRUE(s.log->Append(ledger::AppendRequest(std::vector<json>{ApprovalEntry("not a code")}))
                  .get()
                  .ok());
  const uint64_t approval = s.log->Head().tree_size - 1;
  const Stored before = s.Snapshot();
  for (uint64_t index : {theirs, approval, uint64_t{99}}) {
    auto revoked = s.qr->Revoke(s.client, index, "no");
    ASSERT_FALSE(revoked.ok()) << index;
    EXPECT_EQ(revoked.status().code(), StatusCode::kNotFound) << revoked.status().ToString();
  }
  // Another client's code reads as no code at all.
  EXPECT_EQ(s.qr->Revoke(s.client, theirs, "no").status().message(),
            "no QR code of this client at index " + std::to_string(theirs));
  EXPECT_EQ(s.Snapshot(), before);
  EXPECT_FALSE(s.qr->RevocationOf(theirs)->has_value());
}

TEST(QrServiceErrors, RevokeIsFailedPreconditionWhenRevokedAlready) {
  Services s;
  const uint64_t index = s.Issue("twice", s.client);
  auto first = s.qr->Revoke(s.client, index, "first");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const Stored before = s.Snapshot();
  auto second = s.qr->Revoke(s.client, index, "second");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().ToString();
  EXPECT_EQ(s.Snapshot(), before) << "no second qr_revoke entry";
  EXPECT_EQ(*s.qr->RevocationOf(index), first->index);
}

TEST(QrServiceErrors, RevocationOfIsCorruptionForARecordThatIsNotAnIndex) {
  Services s;
  const uint64_t index = s.Issue("damaged revocation", s.client);
  PutPrivate(*s.log, tables::kQr, "qrev:" + std::to_string(index), "12x");
  auto by = s.qr->RevocationOf(index);
  ASSERT_FALSE(by.ok());
  EXPECT_EQ(by.status().code(), StatusCode::kCorruption) << by.status().ToString();
}

TEST(QrServiceErrors, TextIsNotFoundForNoCodeAndAnotherClientsAlike) {
  Services s;
  const uint64_t theirs = s.Issue("text", s.other);
  ASSERT_TRUE(s.qr->Text(s.other, theirs).ok());
  auto other = s.qr->Text(s.client, theirs);
  auto none = s.qr->Text(s.client, theirs + 1);
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound) << other.status().ToString();
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound) << none.status().ToString();
  EXPECT_THAT(other.status().message(), HasSubstr("no QR code of this client"));
  EXPECT_THAT(none.status().message(), HasSubstr("no QR code of this client"));
}

TEST(QrServiceErrors, TextIsCorruptionForARecordThatIsNotJson) {
  Services s;
  PutPrivate(*s.log, tables::kQr, "q:7", "{not json");
  auto text = s.qr->Text(s.client, 7);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kCorruption) << text.status().ToString();
}

TEST(QrServiceErrors, StampIsInvalidArgumentForAPageCaptionFieldsOrExpiryThatCannotBe) {
  Services s;
  const std::vector<uint8_t> pdf = Bytes(testing::MinimalPdf(2));
  const Stored before = s.Snapshot();
  QrPlain list_fields;
  list_fields.fields = "[1]";
  QrPlain past;
  past.expires_at = s.now_us / 1000000 - 1;
  QrStampRequest page3, page_minus, long_caption, control_caption;
  page3.page = 3;
  page_minus.page = -1;
  long_caption.caption = std::string(300, 'c');
  control_caption.caption = "QR\x01";
  const std::tuple<QrPlain, QrStampRequest, const char*> cases[] = {
      {QrPlain{}, page3, "out of range"},
      {QrPlain{}, page_minus, "not a page number"},
      {QrPlain{}, long_caption, "caption is longer"},
      {QrPlain{}, control_caption, "not printable"},
      {list_fields, QrStampRequest{}, "JSON object"},
      {past, QrStampRequest{}, "not in the future"}};
  for (const auto& [plain, where, why] : cases) {
    auto stamped = s.qr->Stamp(s.client, pdf, plain, where);
    ASSERT_FALSE(stamped.ok()) << why;
    EXPECT_EQ(stamped.status().code(), StatusCode::kInvalidArgument) << stamped.status().ToString();
    EXPECT_THAT(stamped.status().message(), HasSubstr(why));
  }
  EXPECT_EQ(s.Snapshot(), before) << "a stamp that failed left a code in the log";
}

TEST(QrServiceErrors, StampIsUnavailableWhenTheEngineIsSaturated) {
  for (bool parses : {false, true}) {
    SCOPED_TRACE(parses ? "busy when stamping" : "busy when parsing");
    BusyEngine busy(parses);
    Services s(busy);
    const Stored before = s.Snapshot();
    auto stamped =
        s.qr->Stamp(s.client, Bytes(testing::MinimalPdf(1)), QrPlain{}, QrStampRequest{});
    ASSERT_FALSE(stamped.ok());
    EXPECT_EQ(stamped.status().code(), StatusCode::kUnavailable) << stamped.status().ToString();
    EXPECT_EQ(s.Snapshot(), before);
  }
}

// ======================================================== node/clients.h

TEST(ClientsErrors, AddIsInvalidArgumentForANameUriOrTokenItRefuses) {
  Services s;
  const Stored before = s.Snapshot();
  struct Case {
    std::string name, redirect, notify, token, why;
  };
  const std::string r = "https://inst.example/r", n = "https://inst.example/n";
  const Case cases[] = {
      {"", r, n, "t", "name"},
      {std::string(201, 'n'), r, n, "t", "name"},
      {"Inst", "http://localhost/r", n, "t", "redirect URI"},
      {"Inst", "not a url", n, "t", "redirect URI"},
      {"Inst", r, "https://10.0.0.1/n", "t", "notification URI"},
      {"Inst", r, "https://user:pw@inst.example/n", "t", "notification URI"},
      {"Inst", r, n, "", "notification token"},
      {"Inst", r, n, std::string(1025, 't'), "notification token"},
  };
  for (const Case& c : cases) {
    auto added = s.clients->Add(c.name, c.redirect, c.notify, c.token);
    ASSERT_FALSE(added.ok()) << c.why;
    EXPECT_EQ(added.status().code(), StatusCode::kInvalidArgument) << added.status().ToString();
    EXPECT_THAT(added.status().message(), HasSubstr(c.why));
  }
  // What only development allows names the flag.
  EXPECT_THAT(s.clients->Add("Inst", "http://localhost/r", n, "t").status().message(),
              HasSubstr(std::string(kAllowLocalCallbacksFlag)));
  EXPECT_EQ(s.Snapshot(), before);
  EXPECT_EQ(s.clients->List()->size(), 2u);
}

TEST(ClientsErrors, GetIsNotFoundForAnUnknownId) {
  Services s;
  for (const char* id : {"c_000000000000", "", "c:"}) {
    EXPECT_EQ(s.clients->Get(id).status().code(), StatusCode::kNotFound) << id;
  }
}

TEST(ClientsErrors, DisableIsNotFoundForAnUnknownId) {
  Services s;
  const Stored before = s.Snapshot();
  EXPECT_EQ(s.clients->Disable("c_000000000000").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ClientsErrors, RotateIsNotFoundForAnUnknownId) {
  Services s;
  const Stored before = s.Snapshot();
  EXPECT_EQ(s.clients->Rotate("c_000000000000").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Snapshot(), before) << "no token row for a client that does not exist";
}

TEST(ClientsErrors, AuthenticateIsPermissionDeniedAlikeForEveryReason) {
  Services s;
  auto fresh = s.clients->Add("Inst", "https://inst.example/r", "https://inst.example/n", "t");
  auto disabled = s.clients->Add("Gone", "https://gone.example/r", "https://gone.example/n", "t");
  ASSERT_TRUE(fresh.ok() && disabled.ok());
  ASSERT_TRUE(s.clients->Authenticate(fresh->token).ok());
  ASSERT_TRUE(s.clients->Rotate(fresh->client.id).ok());
  ASSERT_TRUE(s.clients->Disable(disabled->client.id).ok());
  const Stored before = s.Snapshot();
  std::set<std::string> messages;
  for (const std::string& token :
       {fresh->token, disabled->token, std::string("qk_unknown-token-0123456789"),
        std::string("qk_"), std::string(300, 'q')}) {
    auto who = s.clients->Authenticate(token);
    ASSERT_FALSE(who.ok()) << token;
    EXPECT_EQ(who.status().code(), StatusCode::kPermissionDenied) << who.status().ToString();
    messages.insert(who.status().message());
  }
  EXPECT_EQ(messages.size(), 1u) << "the reason shows in the message";
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ClientsErrors, NotifyTokenIsNotFoundForAnUnknownId) {
  Services s;
  EXPECT_EQ(s.clients->NotifyToken("c_000000000000").status().code(), StatusCode::kNotFound);
}

TEST(ClientsErrors, NotifyTokenIsCorruptionUnderAnotherDataKey) {
  Services s;
  std::array<uint8_t, 32> other_key{};
  crypto::RandomBytes(other_key);
  Clients elsewhere(*s.log, other_key);
  auto token = elsewhere.NotifyToken(s.client.id);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kCorruption) << token.status().ToString();
}

TEST(ClientsErrors, ListAndGetAreCorruptionForARecordThatIsNotJson) {
  Services s;
  PutPrivate(*s.log, tables::kClients, "c:c_broken", "{not json");
  EXPECT_EQ(s.clients->List().status().code(), StatusCode::kCorruption);
  EXPECT_EQ(s.clients->Get("c_broken").status().code(), StatusCode::kCorruption);
}

// ======================================================== node/secrets.h

TEST(SecretsErrors, LoadNodeSecretsIsNotFoundWithoutCreate) {
  testing::TempDir dir;
  auto secrets = LoadNodeSecrets(dir.path().string(), /*create=*/false);
  ASSERT_FALSE(secrets.ok());
  EXPECT_EQ(secrets.status().code(), StatusCode::kNotFound) << secrets.status().ToString();
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(SecretsErrors, LoadNodeSecretsIsIoErrorWhenTheDirectoryIsMissing) {
  testing::TempDir dir;
  const std::string missing = dir.File("missing");
  auto secrets = LoadNodeSecrets(missing, /*create=*/true);
  ASSERT_FALSE(secrets.ok());
  EXPECT_EQ(secrets.status().code(), StatusCode::kIoError) << secrets.status().ToString();
  EXPECT_FALSE(fs::exists(missing));
}

TEST(SecretsErrors, LoadNodeSecretsIsInvalidArgumentForADirectoryWhereTheKeyGoes) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  ASSERT_TRUE(LoadNodeSecrets(d, true).ok());
  fs::remove(d + "/" + kDataKeyFile);
  fs::create_directory(d + "/" + kDataKeyFile);
  auto secrets = LoadNodeSecrets(d, /*create=*/true);
  ASSERT_FALSE(secrets.ok());
  EXPECT_EQ(secrets.status().code(), StatusCode::kInvalidArgument) << secrets.status().ToString();
  EXPECT_TRUE(fs::is_directory(d + "/" + kDataKeyFile)) << "left as it was";
}

TEST(SecretsErrors, ReadHexKeyFileIsNotFoundForNoFile) {
  testing::TempDir dir;
  EXPECT_EQ(ReadHexKeyFile(dir.File("none.key")).status().code(), StatusCode::kNotFound);
}

TEST(SecretsErrors, ReadHexKeyFileIsPermissionDeniedForAReadableFileOrALink) {
  testing::TempDir dir;
  const std::string key = dir.File("k.key");
  ASSERT_TRUE(CreateHexKeyFile(key).ok());
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  auto readable = ReadHexKeyFile(key);
  EXPECT_EQ(readable.status().code(), StatusCode::kPermissionDenied)
      << readable.status().ToString();
  EXPECT_THAT(readable.status().message(), HasSubstr("chmod 600 " + key));
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  fs::create_symlink(key, dir.File("link.key"));
  EXPECT_EQ(ReadHexKeyFile(dir.File("link.key")).status().code(), StatusCode::kPermissionDenied);
}

TEST(SecretsErrors, ReadHexKeyFileIsCorruptionForWhatIsNotAKey) {
  testing::TempDir dir;
  const std::string key = dir.File("k.key");
  for (const std::string& content :
       {std::string(), std::string(64, 'z') + "\n", std::string(62, 'a') + "\n",
        std::string(66, 'a') + "\n", std::string(2000, 'a')}) {
    fs::remove(key);
    testing::WriteFile(key, content);
    ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
    auto read = ReadHexKeyFile(key);
    ASSERT_FALSE(read.ok()) << content.size();
    EXPECT_EQ(read.status().code(), StatusCode::kCorruption) << read.status().ToString();
    EXPECT_THAT(read.status().message(), HasSubstr(key));
    EXPECT_EQ(testing::ReadFile(key), content) << "never quietly replaced";
  }
}

TEST(SecretsErrors, ReadHexKeyFileIsInvalidArgumentForADirectory) {
  testing::TempDir dir;
  EXPECT_EQ(ReadHexKeyFile(dir.path().string()).status().code(), StatusCode::kInvalidArgument);
}

TEST(SecretsErrors, CreateHexKeyFileIsAlreadyExistsAndLeavesTheFile) {
  testing::TempDir dir;
  const std::string key = dir.File("k.key");
  ASSERT_TRUE(CreateHexKeyFile(key).ok());
  const std::string first = testing::ReadFile(key);
  EXPECT_EQ(CreateHexKeyFile(key).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(testing::ReadFile(key), first);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1)
      << "no temporary left";
}

TEST(SecretsErrors, CreateHexKeyFileIsIoErrorInAMissingDirectory) {
  testing::TempDir dir;
  EXPECT_EQ(CreateHexKeyFile(dir.File("missing/k.key")).code(), StatusCode::kIoError);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(SecretsErrors, OpenSecretIsCorruptionForWhatDoesNotOpen) {
  std::array<uint8_t, 32> key{}, other{};
  crypto::RandomBytes(key);
  crypto::RandomBytes(other);
  auto sealed = SealSecret(key, "the secret", "totp:123456");
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(*OpenSecret(key, *sealed, "totp:123456"), "the secret");
  std::string flipped = *sealed;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  const std::tuple<const std::array<uint8_t, 32>*, std::string, std::string> cases[] = {
      {&other, *sealed, "totp:123456"},              // another data key
      {&key, *sealed, "totp:654321"},                // sealed for another purpose
      {&key, flipped, "totp:123456"},                // changed
      {&key, sealed->substr(0, 40), "totp:123456"},  // shorter than a nonce and a tag
      {&key, "not hex", "totp:123456"}};
  for (const auto& [k, text, purpose] : cases) {
    auto opened = OpenSecret(*k, text, purpose);
    ASSERT_FALSE(opened.ok()) << text;
    EXPECT_EQ(opened.status().code(), StatusCode::kCorruption) << opened.status().ToString();
  }
}

// ======================================================== node/approvals.h

// Approvals with a subject enrolled for TOTP, and the codes it would type.
struct Approving : Services {
  static constexpr char kSubject[] = "1234567";
  crypto::Bytes totp;

  explicit Approving(ApprovalsOptions options = {},
                     pdf::PdfEngine& engine = pdf::InProcessPdfEngine())
      : Services(engine, std::move(options)) {
    // As on the citizen's page: a new key, confirmed with the code of the
    // step before now (so the current step's code is still fresh).
    auto enrolled = approvals->BeginTotp(kSubject, "");
    EXPECT_TRUE(enrolled.ok()) << enrolled.status().ToString();
    if (enrolled.ok()) totp = *crypto::Base32Decode(enrolled->secret_base32);
    Status confirmed = approvals->ConfirmTotp(kSubject, Code(now_us - 30000000));
    EXPECT_TRUE(confirmed.ok()) << confirmed.ToString();
  }
  std::string Code(int64_t at_us) const {
    return *crypto::Totp(totp, static_cast<uint64_t>(at_us / 1000000), 6, crypto::OtpHash::kSha1);
  }
  std::string Code() const { return Code(now_us); }
  // A code no step of the window accepts now.
  std::string WrongCode() const {
    for (const char* c : {"000000", "111111", "222222", "333333"}) {
      if (c != Code(now_us - 30000000) && c != Code() && c != Code(now_us + 30000000)) return c;
    }
    return "";
  }
  ApprovalRequest Request(const std::string& doc) const {
    ApprovalRequest r;
    r.subject = kSubject;
    r.documents.push_back(
        {DocumentRef{DocType::kPdf, crypto::Sha256(doc), std::nullopt}, "documento"});
    return r;
  }
  std::string Create(const std::string& doc, const ClientInfo& by) {
    auto created = approvals->Create(by, Request(doc));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->id : "";
  }
  int AttemptsLeft(const std::string& id) const {
    return approvals->Get(client, id)->attempts_left.value_or(-1);
  }
};

TEST(ApprovalsErrors, BeginTotpIsInvalidArgumentForAMalformedSubject) {
  Services s;
  const Stored before = s.Snapshot();
  for (const std::string& id :
       {std::string(), std::string("123"), std::string("12 34 56"), std::string(33, '1'),
        std::string("1234567\n"), std::string("ñandú-12")}) {
    EXPECT_EQ(s.approvals->BeginTotp(id, "").status().code(), StatusCode::kInvalidArgument)
        << id;
  }
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, ForgetSubjectIsNotFoundForAnUnknownSubject) {
  Approving s;
  const Stored before = s.Snapshot();
  EXPECT_EQ(s.approvals->ForgetSubject("7654321").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, ForgetSubjectIsInvalidArgumentForAMalformedSubject) {
  Approving s;
  const Stored before = s.Snapshot();
  EXPECT_EQ(s.approvals->ForgetSubject("12").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, CommitmentIsInvalidArgumentForAMalformedSubject) {
  Approving s;
  EXPECT_EQ(s.approvals->Commitment(s.client, "12/45").status().code(), StatusCode::kInvalidArgument);
}

TEST(ApprovalsErrors, SubjectApprovedIsInvalidArgumentForAMalformedSubject) {
  Approving s;
  EXPECT_EQ(s.approvals->SubjectApproved(s.client, "12/45", DocumentAnswer{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ApprovalsErrors, CreateIsInvalidArgumentNamingWhatIsWrong) {
  ApprovalsOptions options;
  options.max_document_bytes = 1024;
  Approving s(options);
  const Stored before = s.Snapshot();
  std::vector<std::pair<ApprovalRequest, std::string>> cases;
  cases.reserve(24);  // no reallocation (GCC 12 at -O3 warns falsely on its path)
  ApprovalRequest r = s.Request("a");
  r.subject = "12";
  cases.emplace_back(r, "subject");
  r = s.Request("a");
  r.documents.clear();
  cases.emplace_back(r, "documents");
  r = s.Request("a");
  const RequestedDocument one = r.documents[0];
  r.documents.assign(101, one);
  cases.emplace_back(r, "documents");
  r = s.Request("a");
  r.documents.push_back(r.documents[0]);
  cases.emplace_back(r, "documents[1]: the same document twice");
  r = s.Request("a");
  r.documents.push_back({DocumentRef{DocType::kPdf, std::nullopt, std::nullopt}, std::nullopt});
  cases.emplace_back(r, "documents[1]: give sha256 or content");
  r = s.Request("a");
  r.documents.push_back(
      {DocumentRef{DocType::kRaw, crypto::Sha256(std::string("b")), std::nullopt}, std::nullopt});
  cases.emplace_back(r, "documents[1].media_type");
  r = s.Request("a");
  r.documents[0].name = std::string(201, 'n');
  cases.emplace_back(r, "documents[0].name");
  r = s.Request("a");
  r.description = std::string(1001, 'd');
  cases.emplace_back(r, "description");
  r = s.Request("a");
  r.description = "una línea\x1b[2Jotra";
  cases.emplace_back(r, "description");
  r = s.Request("a");
  r.documents[0].document =
      DocumentRef{DocType::kJson, std::nullopt, Bytes("{\"a\":" + std::string(1100, '1') + "}")};
  cases.emplace_back(r, "documents[0].content: too large");
  r = s.Request("a");
  r.documents[0].document = DocumentRef{DocType::kJson, std::nullopt, Bytes("{\"a\":1,}")};
  cases.emplace_back(r, "documents[0].content");
  for (const auto& [request, why] : cases) {
    auto created = s.approvals->Create(s.client, request);
    ASSERT_FALSE(created.ok()) << why;
    EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument) << created.status().ToString();
    EXPECT_THAT(created.status().message(), HasSubstr(why));
  }
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, CreateIsFailedPreconditionWithoutAFactorToConfirmWith) {
  Approving s;  // no delivery webhook
  const Stored before = s.Snapshot();
  ApprovalRequest by_message = s.Request("a");
  by_message.subject = "7654321";
  by_message.factor = Factor::kMessage;
  auto created = s.approvals->Create(s.client, by_message);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kFailedPrecondition) << created.status().ToString();
  EXPECT_EQ(s.Snapshot(), before) << "no request, no salt for the subject, no code in the outbox";
  // A citizen without an authenticator is not a precondition: the answer
  // must not tell enrolled and unknown citizens apart.
  ApprovalRequest not_enrolled = s.Request("a");
  not_enrolled.subject = "7654321";
  EXPECT_TRUE(s.approvals->Create(s.client, not_enrolled).ok());
}

TEST(ApprovalsErrors, CreateIsUnprocessableForContentThatIsNotAReadablePdf) {
  Approving s;
  const Stored before = s.Snapshot();
  ApprovalRequest r = s.Request("a");
  r.documents.push_back(
      {DocumentRef{DocType::kPdf, std::nullopt, Bytes(testing::HugeSizePdf())}, std::nullopt});
  auto created = s.approvals->Create(s.client, r);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kUnprocessable) << created.status().ToString();
  EXPECT_THAT(created.status().message(), HasSubstr("documents[1]"));
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, CreateIsUnavailableWhenTheEngineIsSaturated) {
  BusyEngine busy;
  Approving s({}, busy);
  const Stored before = s.Snapshot();
  ApprovalRequest r = s.Request("a");
  r.documents[0].document = DocumentRef{DocType::kPdf, std::nullopt, Bytes(testing::MinimalPdf(1))};
  auto created = s.approvals->Create(s.client, r);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kUnavailable) << created.status().ToString();
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, GetIsNotFoundForAnUnknownIdAndAnotherClientsAlike) {
  Approving s;
  const std::string id = s.Create("a", s.client);
  ASSERT_TRUE(s.approvals->Get(s.client, id).ok());
  auto theirs = s.approvals->Get(s.other, id);
  auto unknown = s.approvals->Get(s.client, "r_00000000000000000000");
  auto long_id = s.approvals->Get(s.client, std::string(100, 'r'));
  for (const auto* got : {&theirs, &unknown, &long_id}) {
    EXPECT_EQ(got->status().code(), StatusCode::kNotFound) << got->status().ToString();
  }
  EXPECT_EQ(theirs.status().message(), "no approval request " + id);
}

TEST(ApprovalsErrors, DecideIsInvalidArgumentForACodeThatIsNot6To8Digits) {
  Approving s;
  const std::string id = s.Create("a", s.client);
  const Stored before = s.Snapshot();
  for (const char* code : {"", "12345", "123456789", "12345a", " 123456", "１２３４５６"}) {
    EXPECT_EQ(s.approvals->DecideAsCitizen(Approving::kSubject, id, code, true).status().code(),
              StatusCode::kInvalidArgument)
        << code;
  }
  EXPECT_EQ(s.Snapshot(), before) << "not counted as wrong codes";
  EXPECT_EQ(s.AttemptsLeft(id), 5);
}

TEST(ApprovalsErrors, DecideIsNotFoundForAnUnknownIdAndPermissionDeniedForAnotherCitizen) {
  Approving s;
  const std::string id = s.Create("a", s.client);
  const Stored before = s.Snapshot();
  for (const std::string& code : {s.Code(), s.WrongCode()}) {
    auto theirs = s.approvals->DecideAsCitizen("7654321", id, code, true);
    EXPECT_EQ(theirs.status().code(), StatusCode::kPermissionDenied) << theirs.status().ToString();
    EXPECT_EQ(s.approvals->DecideAsCitizen("", id, code, true).status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(s.approvals->DecideAsCitizen(Approving::kSubject, "r_00000000000000000000", code, true).status().code(),
              StatusCode::kNotFound);
  }
  EXPECT_EQ(s.Snapshot(), before) << "another citizen's code is not counted on the request";
}

TEST(ApprovalsErrors, DecideIsExpiredAfterTheTtl) {
  Approving s;
  const std::string id = s.Create("a", s.client);
  s.now_us += 601 * int64_t{1000000};
  const Stored before = s.Snapshot();
  for (const std::string& code : {s.Code(), s.WrongCode()}) {
    auto decided = s.approvals->DecideAsCitizen(Approving::kSubject, id, code, true);
    EXPECT_EQ(decided.status().code(), StatusCode::kExpired) << decided.status().ToString();
  }
  EXPECT_EQ(s.Snapshot(), before);
  EXPECT_EQ(s.approvals->Get(s.client, id)->status, "expired");
}

TEST(ApprovalsErrors, DecideIsFailedPreconditionWhenDecidedLockedOrTheSubjectIsForgotten) {
  ApprovalsOptions options;
  options.max_wrong_codes = 2;
  Approving s(options);
  // Decided.
  const std::string decided = s.Create("decided", s.client);
  ASSERT_TRUE(s.approvals->DecideAsCitizen(Approving::kSubject, decided, s.Code(), true).ok());
  s.now_us += 30 * int64_t{1000000};  // a fresh code: the refusal is for the state, not a replay
  Stored before = s.Snapshot();
  for (bool approve : {true, false}) {
    EXPECT_EQ(s.approvals->DecideAsCitizen(Approving::kSubject, decided, s.Code(), approve).status().code(),
              StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(s.Snapshot(), before);
  // Locked: the wrong code that reaches max_wrong_codes locks it (and says
  // so with this code), then even the right code is refused.
  const std::string locked = s.Create("locked", s.client);
  EXPECT_EQ(s.approvals->DecideAsCitizen(Approving::kSubject, locked, s.WrongCode(), true).status().code(),
            StatusCode::kPermissionDenied);
  auto locking = s.approvals->DecideAsCitizen(Approving::kSubject, locked, s.WrongCode(), true);
  EXPECT_EQ(locking.status().code(), StatusCode::kFailedPrecondition)
      << locking.status().ToString();
  EXPECT_THAT(locking.status().message(), HasSubstr("locked"));
  EXPECT_EQ(s.approvals->Get(s.client, locked)->status, "locked");
  before = s.Snapshot();
  EXPECT_EQ(s.approvals->DecideAsCitizen(Approving::kSubject, locked, s.Code(), true).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.approvals->DecideAsCitizen(Approving::kSubject, locked, s.WrongCode(), true).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.Snapshot(), before);
  // The subject forgotten after the request was made.
  const std::string orphan = s.Create("orphan", s.client);
  ASSERT_TRUE(s.approvals->ForgetSubject(Approving::kSubject).ok());
  before = s.Snapshot();
  auto forgotten = s.approvals->DecideAsCitizen(Approving::kSubject, orphan, s.Code(), true);
  EXPECT_EQ(forgotten.status().code(), StatusCode::kFailedPrecondition)
      << forgotten.status().ToString();
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, DecideIsPermissionDeniedForAWrongOrReplayedCode) {
  Approving s;
  // Wrong: counted (that is written), and no entry.
  const std::string id = s.Create("a", s.client);
  const uint64_t tree = s.log->Head().tree_size;
  auto wrong = s.approvals->DecideAsCitizen(Approving::kSubject, id, s.WrongCode(), true);
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied) << wrong.status().ToString();
  EXPECT_THAT(wrong.status().message(), HasSubstr("4 attempts left"));
  EXPECT_EQ(s.AttemptsLeft(id), 4);
  EXPECT_EQ(s.log->Head().tree_size, tree);
  EXPECT_EQ(s.approvals->Get(s.client, id)->status, "pending");
  // Replayed: the code that decided one request, on another one: not
  // counted, nothing written.
  const std::string second = s.Create("b", s.client);
  const std::string code = s.Code();
  ASSERT_TRUE(s.approvals->DecideAsCitizen(Approving::kSubject, id, code, true).ok());
  const Stored before = s.Snapshot();
  auto replayed = s.approvals->DecideAsCitizen(Approving::kSubject, second, code, true);
  EXPECT_EQ(replayed.status().code(), StatusCode::kPermissionDenied)
      << replayed.status().ToString();
  EXPECT_THAT(replayed.status().message(), HasSubstr("already used"));
  EXPECT_EQ(s.Snapshot(), before);
  EXPECT_EQ(s.AttemptsLeft(second), 5);
}

TEST(ApprovalsErrors, DueOutboxIsCorruptionForARecordThatIsNotJsonOrDoesNotOpen) {
  ApprovalsOptions options;
  options.delivery_webhook = "https://sms.example/send";
  Approving s(options);
  ApprovalRequest r = s.Request("a");
  r.factor = Factor::kMessage;
  auto created = s.approvals->Create(s.client, r);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(s.approvals->DueOutbox(10)->size(), 0u);  // nothing sent before the citizen asks
  ASSERT_TRUE(s.approvals->SendCode(r.subject, created->id, CitizenContact{"+59170000001", ""}).ok());
  ASSERT_EQ(s.approvals->DueOutbox(10)->size(), 1u);
  // Under another data key the queued code does not open.
  std::array<uint8_t, 32> other_key{};
  crypto::RandomBytes(other_key);
  options.clock = [&s] { return s.now_us; };
  Approvals elsewhere(*s.log, *s.clients, pdf::InProcessPdfEngine(), other_key, options);
  Stored before = s.Snapshot();
  auto sealed = elsewhere.DueOutbox(10);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), StatusCode::kCorruption) << sealed.status().ToString();
  EXPECT_EQ(s.Snapshot(), before);
  // A record that is not JSON.
  PutPrivate(*s.log, tables::kOutbox, "o:00000000000000000001:r_x:notify", "{not json");
  before = s.Snapshot();
  auto damaged = s.approvals->DueOutbox(10);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), StatusCode::kCorruption) << damaged.status().ToString();
  EXPECT_EQ(s.Snapshot(), before);
}

TEST(ApprovalsErrors, NextDueIsCorruptionForARecordThatIsNotJson) {
  Approving s;
  PutPrivate(*s.log, tables::kOutbox, "o:00000000000000000001:r_x:notify", "{not json");
  auto next = s.approvals->NextDue();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kCorruption) << next.status().ToString();
}

}  // namespace
}  // namespace quipu::node
