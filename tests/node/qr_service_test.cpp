// node/qr_service and node/verify in one process: a document's answer
// carries the revocation of its code, also for revocations written before
// qr_revoke entries named their document (quipu 0.1), which only the
// node's private record links to the code.
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "ledger/log.h"
#include "node/clients.h"
#include "node/qr_service.h"
#include "node/schema.h"
#include "node/verify.h"
#include "pdf/engine.h"
#include "pdf/make.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

using nlohmann::json;

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<ledger::Log> log;
  std::array<uint8_t, 32> key{};
  std::unique_ptr<Clients> clients;
  std::unique_ptr<QrService> qr;
  ClientInfo client;

  Fixture() {
    ledger::LogOptions o = LogOptionsFor(dir.File("data"));
    auto opened = ledger::Log::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    log = std::move(opened).value();
    crypto::RandomBytes(key);
    clients = std::make_unique<Clients>(*log, key);
    client = clients->Add("SERECI", "https://s.example/r", "https://s.example/n", "t")->client;
    auto signer = crypto::LoadNoteSigner(o.dir + "/" + ledger::kNodeKeyFile);
    qr = std::make_unique<QrService>(*log, *clients, pdf::InProcessPdfEngine(), std::move(*signer),
                                     std::move(*LoadQrKeys(o.dir, true)));
  }
};

bool HasRevocationOf(const DocumentAnswer& answer, uint64_t issue) {
  for (const DocumentRecord& r : answer.records) {
    if (r.type == "qr_revoke" && json::parse(r.entry)["target"] == issue) return true;
  }
  return false;
}

TEST(QrRevocations, TheDocumentsAnswerCarriesThemOldAndNew) {
  Fixture f;
  QrIssueRequest request;
  request.document.sha256 = crypto::Sha256(std::string("documento"));
  auto issued = f.qr->Issue(f.client, request);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  // A revocation as quipu 0.1 wrote it: no `doc` in the entry, the link to
  // the code only in the private record.
  ledger::AppendRequest old(std::vector<json>{
      {{"type", "qr_revoke"}, {"client", f.client.id}, {"target", issued->index}, {"reason", "antigua"}}});
  old.apply = [&](ledger::PrivateTxn& txn, uint64_t first, const std::string&) {
    return txn.Put(tables::kQr, "qrev:" + std::to_string(issued->index), std::to_string(first));
  };
  ASSERT_TRUE(f.log->Append(std::move(old)).get().ok());
  const RevocationLookup lookup = [&](uint64_t i) { return f.qr->RevocationOf(i); };
  auto without = LookupDocument(LedgerReader(*f.log), *request.document.sha256);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(HasRevocationOf(*without, issued->index));  // the index alone cannot find it
  auto with = LookupDocument(LedgerReader(*f.log), *request.document.sha256, lookup);
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(HasRevocationOf(*with, issued->index));
  // Its proof is to the answer's tree, like the others'.
  EXPECT_EQ(with->records.back().index, issued->index + 1);
  EXPECT_EQ(with->records.back().proof, f.log->ProveInclusion(issued->index + 1, with->tree_size)->proof);

  // A revocation written now names the document: found by the index.
  request.document.sha256 = crypto::Sha256(std::string("otro"));
  auto second = f.qr->Issue(f.client, request);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(f.qr->Revoke(f.client, second->index, "nueva").ok());
  auto found = LookupDocument(LedgerReader(*f.log), *request.document.sha256);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(HasRevocationOf(*found, second->index));
  auto both = LookupDocument(LedgerReader(*f.log), *request.document.sha256, lookup);
  EXPECT_EQ(both->records.size(), 2u);  // not twice
}

// A PDF engine whose stamps are not what they claim (a subverted worker):
// the original, then anything but the reserved room.
class LyingEngine final : public pdf::PdfEngine {
 public:
  explicit LyingEngine(std::string tail) : tail_(std::move(tail)) {}
  Result<pdf::PdfFacts> Parse(std::span<const uint8_t> bytes) override { return pdf::ParsePdf(bytes); }
  Result<pdf::Bytes> StampPlaceholder(std::span<const uint8_t> bytes, const pdf::QrPlaceholder& qr,
                                      const pdf::StampOptions&) override {
    pdf::Bytes out(bytes.begin(), bytes.end());
    std::string tail = tail_;
    if (tail == "twice") tail = "%" + qr.marker + "\n%" + qr.marker + "\n";
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
  }

 private:
  std::string tail_;
};

TEST(QrStamps, AStampWhoseRoomIsNotThereAppendsNothing) {
  for (const std::string& tail : std::vector<std::string>{"no room at all", "twice"}) {
    SCOPED_TRACE(tail);
    Fixture f;
    LyingEngine engine(tail);
    auto signer = crypto::LoadNoteSigner(f.dir.File("data") + "/" + ledger::kNodeKeyFile);
    QrService qr(*f.log, *f.clients, engine, std::move(*signer), std::move(*LoadQrKeys(f.dir.File("data"), true)));
    auto pdf = pdf::MakeSamplePdf(1, "x");
    ASSERT_TRUE(pdf.ok());
    auto stamped = qr.Stamp(f.client, *pdf, QrPlain{}, QrStampRequest{});
    ASSERT_FALSE(stamped.ok());
    EXPECT_EQ(stamped.status().code(), StatusCode::kUnprocessable) << stamped.status().ToString();
    EXPECT_EQ(f.log->Head().tree_size, 0u) << "a code was issued for a stamp that cannot be drawn";
  }
}

TEST(QrRevocations, ACodeCannotBeIssuedAlreadyExpiredOrByADisabledClient) {
  Fixture f;
  QrIssueRequest request;
  request.document.sha256 = crypto::Sha256(std::string("x"));
  request.plain.expires_at = 1000;  // 1970
  EXPECT_EQ(f.qr->Issue(f.client, request).status().code(), StatusCode::kInvalidArgument);
  request.plain.expires_at.reset();
  ClientInfo disabled = f.client;
  disabled.disabled = true;
  EXPECT_EQ(f.qr->Issue(disabled, request).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.log->Head().tree_size, 0u);
  // Nor revoked by it once disabled.
  auto issued = f.qr->Issue(f.client, request);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(f.qr->Revoke(disabled, issued->index, "baja").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.log->Head().tree_size, 1u);
}

}  // namespace
}  // namespace quipu::node
