// node/qr_service and node/verify in one process: a document's answer
// carries the revocation of its code, also for revocations written before
// qr_revoke entries named their document (quipu 0.1), which only the
// node's private record links to the code; two-phase codes (QS2)
// generated, confirmed, annulled and left to lapse.
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "ledger/audit.h"
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
  int64_t now_us = int64_t{1796083200} * 1000000;  // 2026-12-01T00:00:00Z, the service's clock
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
                                     std::move(*LoadQrKeys(o.dir, true)), [this] { return now_us; });
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

// --- two-phase codes (QS2) -------------------------------------------------------

QrDraftRequest Draft(std::string key, std::string code = "TB-2024-0012345") {
  QrDraftRequest r;
  r.client_key = std::move(key);
  r.fingerprint = crypto::Sha256(code);
  r.document.code = std::move(code);
  r.document.name = "Título de Bachiller";
  r.document.issued_day = 20400;  // 2025-11-08
  r.document.holders.push_back({"Ana Quispe Mamani", QrHolder::IdType::kCi, "1234567", "Bachiller"});
  return r;
}

TEST(QrTwoPhase, AGeneratedCodeVerifiesOnlyOnceConfirmed) {
  Fixture f;
  const QrDraftRequest request = Draft("6f1c2b9e-0c4d-4f4e-9a7b-3d2e1f0a9b8c");
  auto draft = f.qr->Prepare(f.client, request);
  ASSERT_TRUE(draft.ok()) << draft.status().ToString();
  EXPECT_EQ(draft->text.rfind("QS2:", 0), 0u);
  EXPECT_EQ(draft->state, QrDraftState::kPending);
  EXPECT_FALSE(draft->replayed);
  EXPECT_EQ(f.log->Head().tree_size, 0u) << "a generated code is not in the log";
  auto before = f.qr->Verify(draft->text);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->valid);
  EXPECT_EQ(before->version, 2);
  EXPECT_FALSE(before->record.has_value());
  ASSERT_FALSE(before->reasons.empty());
  EXPECT_EQ(before->reasons[0].rfind("not in ledger", 0), 0u) << before->reasons[0];

  auto confirmed = f.qr->Confirm(f.client, request.client_key);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status().ToString();
  EXPECT_FALSE(confirmed->replayed);
  EXPECT_EQ(confirmed->index, 0u);
  EXPECT_EQ(confirmed->text, draft->text);
  EXPECT_EQ(f.log->Head().tree_size, 1u);
  // The entry: a qr_issue whose document is the code's digest.
  const json entry = json::parse(*f.log->Entry(0));
  auto sealed = ParseQr2Text(draft->text);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(entry["type"], "qr_issue");
  EXPECT_EQ(entry["doc"]["sha256"], crypto::HexEncode(QrCodeDigest(*sealed)));
  EXPECT_EQ(entry["doc"]["media_type"], "application/vnd.quipu.qr-code");
  EXPECT_EQ(entry["payload"], crypto::HexEncode(QrPayloadHash(*sealed)));
  EXPECT_EQ(entry.dump().find("Quispe"), std::string::npos) << "no personal data in the public log";

  auto after = f.qr->Verify(draft->text);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->valid) << (after->reasons.empty() ? "" : after->reasons[0]);
  EXPECT_EQ(after->index, 0u);
  ASSERT_TRUE(after->document.has_value());
  EXPECT_EQ(*after->document, request.document);
  ASSERT_TRUE(after->record.has_value());
  EXPECT_EQ(after->record->client, f.client.id);
  EXPECT_EQ(after->record->client_name, "SERECI");
  EXPECT_EQ(after->record->tree_size, 1u);
  // Its proof checks against the log's root.
  auto root = f.log->Root(1);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(after->record->leaf_hash, *root);  // a one-leaf tree's root is its leaf

  // Confirming again answers the same entry, and appends nothing.
  auto again = f.qr->Confirm(f.client, request.client_key);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->index, 0u);
  EXPECT_EQ(f.log->Head().tree_size, 1u);
  // Its text is the client's by index, as a QS1 code's is.
  EXPECT_EQ(*f.qr->Text(f.client, 0), draft->text);
}

TEST(QrTwoPhase, AnAnnulledCodeShowsRevoked) {
  Fixture f;
  const QrDraftRequest request = Draft("a");
  auto draft = f.qr->Prepare(f.client, request);
  ASSERT_TRUE(draft.ok());
  ASSERT_TRUE(f.qr->Confirm(f.client, "a").ok());
  auto annulled = f.qr->Annul(f.client, "a", "emitido por error");
  ASSERT_TRUE(annulled.ok()) << annulled.status().ToString();
  EXPECT_EQ(annulled->revocation, 1u);
  EXPECT_EQ(annulled->target, 0u);
  const json entry = json::parse(*f.log->Entry(1));
  EXPECT_EQ(entry["type"], "qr_revoke");
  EXPECT_EQ(entry["target"], 0);
  EXPECT_EQ(entry["doc"], json::parse(*f.log->Entry(0))["doc"]);
  auto v = f.qr->Verify(draft->text);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid);
  ASSERT_TRUE(v->record && v->record->revocation);
  EXPECT_EQ(v->record->revocation->index, 1u);
  EXPECT_EQ(v->record->revocation->reason, "emitido por error");
  EXPECT_NE(std::find(v->reasons.begin(), v->reasons.end(), "revoked"), v->reasons.end());
  EXPECT_EQ(*f.qr->RevocationOf(0), std::optional<uint64_t>(1));
  // Annulled once: again, confirmed, revoked by index: all refused.
  EXPECT_EQ(f.qr->Annul(f.client, "a", "otra vez").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.qr->Confirm(f.client, "a").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.qr->Revoke(f.client, 0, "x").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.log->Head().tree_size, 2u);
  // A code revoked by its index (/v1) cannot be annulled a second time.
  ASSERT_TRUE(f.qr->Prepare(f.client, Draft("b")).ok());
  auto b = f.qr->Confirm(f.client, "b");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(f.qr->Revoke(f.client, b->index, "baja").ok());
  EXPECT_EQ(f.qr->Annul(f.client, "b", "baja").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.log->Head().tree_size, 4u);
  // The audit (the same entry types, from the files) finds the ledger
  // clean and the codes' entries indexed under their digests.
  f.qr.reset();
  f.clients.reset();
  f.log.reset();
  ledger::AuditOptions ao;
  ao.dir = f.dir.File("data");
  ao.entry_schema = EntryTypes();
  ao.threads = 1;
  auto report = ledger::Audit(ao);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->entries, 4u);
  EXPECT_EQ(report->doc_records, 4u);
}

TEST(QrTwoPhase, AnnullingAnUnconfirmedCodeWritesNothingPublic) {
  Fixture f;
  auto draft = f.qr->Prepare(f.client, Draft("a"));
  ASSERT_TRUE(draft.ok());
  auto annulled = f.qr->Annul(f.client, "a", "no se entregó");
  ASSERT_TRUE(annulled.ok()) << annulled.status().ToString();
  EXPECT_FALSE(annulled->revocation.has_value());
  EXPECT_EQ(f.log->Head().tree_size, 0u);
  EXPECT_EQ(f.qr->Confirm(f.client, "a").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.qr->Annul(f.client, "a", "x").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(f.qr->Verify(draft->text)->valid);
  // Never generated: not found; another client's key: not found either.
  EXPECT_EQ(f.qr->Annul(f.client, "zzz", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.qr->Confirm(f.client, "zzz").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(f.qr->Prepare(f.client, Draft("c")).ok());
  ClientInfo other = f.clients->Add("UMSA", "https://u.example/r", "https://u.example/n", "t")->client;
  EXPECT_EQ(f.qr->Confirm(other, "c").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.qr->Annul(other, "c", "x").status().code(), StatusCode::kNotFound);
  // The same key is the other client's own.
  EXPECT_TRUE(f.qr->Prepare(other, Draft("c", "otro")).ok());
  EXPECT_EQ(f.qr->Annul(f.client, "c", "").status().code(), StatusCode::kInvalidArgument);
}

TEST(QrTwoPhase, TheClientKeyIsAnIdempotencyKey) {
  Fixture f;
  auto first = f.qr->Prepare(f.client, Draft("k"));
  ASSERT_TRUE(first.ok());
  auto same = f.qr->Prepare(f.client, Draft("k"));
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->replayed);
  EXPECT_EQ(same->text, first->text) << "the first answer, not a new code";
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("k", "TB-2024-0099999")).status().code(), StatusCode::kAlreadyExists);
  // Confirmed or annulled, the key stays taken.
  ASSERT_TRUE(f.qr->Confirm(f.client, "k").ok());
  auto after = f.qr->Prepare(f.client, Draft("k"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, QrDraftState::kConfirmed);
  EXPECT_EQ(after->index, 0u);
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("k", "otro")).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("a b")).status().code(), StatusCode::kInvalidArgument);
  ClientInfo disabled = f.client;
  disabled.disabled = true;
  EXPECT_EQ(f.qr->Prepare(disabled, Draft("d")).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.qr->Confirm(disabled, "k").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.log->Head().tree_size, 1u);
}

TEST(QrTwoPhase, AnUnconfirmedCodeLapsesAfterADay) {
  Fixture f;
  auto draft = f.qr->Prepare(f.client, Draft("late"));
  ASSERT_TRUE(draft.ok());
  ASSERT_TRUE(f.qr->Prepare(f.client, Draft("kept")).ok());
  ASSERT_TRUE(f.qr->Confirm(f.client, "kept").ok());
  f.now_us += (kQrDraftLifetimeSeconds - 1) * 1000000;
  EXPECT_EQ(*f.qr->DropLapsedDrafts(100), 0u);
  f.now_us += 2 * 1000000;
  EXPECT_EQ(f.qr->Confirm(f.client, "late").status().code(), StatusCode::kExpired);
  EXPECT_EQ(f.qr->Annul(f.client, "late", "x").status().code(), StatusCode::kExpired);
  EXPECT_EQ(*f.qr->DropLapsedDrafts(100), 1u);
  EXPECT_EQ(*f.qr->DropLapsedDrafts(100), 0u);
  EXPECT_EQ(f.qr->Confirm(f.client, "late").status().code(), StatusCode::kNotFound);
  // The confirmed code stays; the lapsed key may name a new code.
  EXPECT_EQ(f.qr->Confirm(f.client, "kept")->replayed, true);
  auto fresh = f.qr->Prepare(f.client, Draft("late", "otro"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->text, draft->text);
  EXPECT_TRUE(f.qr->Confirm(f.client, "late").ok());
}

TEST(QrTwoPhase, ADocumentExpiresAtTheEndOfItsDayInBolivia) {
  Fixture f;
  QrDraftRequest r = Draft("e");
  r.document.expires_day = 20423;  // 2025-12-01: before the clock's day
  EXPECT_EQ(f.qr->Prepare(f.client, r).status().code(), StatusCode::kExpired);
  r.document.expires_day = 20788;  // 2026-12-01, the clock's day: in force until 2026-12-02T04:00:00Z
  auto draft = f.qr->Prepare(f.client, r);
  ASSERT_TRUE(draft.ok()) << draft.status().ToString();
  ASSERT_TRUE(f.qr->Confirm(f.client, "e").ok());
  f.now_us += (24 + 4) * int64_t{3600} * 1000000 - 1000000;
  EXPECT_TRUE(f.qr->Verify(draft->text)->valid);
  f.now_us += 1000000;
  auto v = f.qr->Verify(draft->text);
  EXPECT_FALSE(v->valid);
  EXPECT_TRUE(v->record->expired);
  EXPECT_EQ(v->record->expires_at, int64_t{1796184000});
}

TEST(QrTwoPhase, OtherRecordsUnderTheDigestNeitherHideNorStandInForTheCode) {
  Fixture f;
  ClientInfo other = f.clients->Add("Otra", "https://o.example/r", "https://o.example/n", "t")->client;
  auto draft = f.qr->Prepare(f.client, Draft("a"));
  ASSERT_TRUE(draft.ok());
  const crypto::Digest digest = QrCodeDigest(*ParseQr2Text(draft->text));
  // Another client writes codes of its own "for" the digest, before and
  // after the confirmation: more than a document lookup answers at once.
  QrIssueRequest padding;
  padding.document = DocumentRef{DocType::kJson, digest, std::nullopt};
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(f.qr->Issue(other, padding).ok());
  EXPECT_FALSE(f.qr->Verify(draft->text)->valid) << "their entries are not this code's issue";
  ASSERT_TRUE(f.qr->Confirm(f.client, "a").ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(f.qr->Issue(other, padding).ok());
  auto valid = f.qr->Verify(draft->text);
  EXPECT_TRUE(valid->valid) << (valid->reasons.empty() ? "" : valid->reasons[0]);
  EXPECT_EQ(valid->index, 20u);
  ASSERT_TRUE(f.qr->Annul(f.client, "a", "x").ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(f.qr->Issue(other, padding).ok());
  auto revoked = f.qr->Verify(draft->text);
  EXPECT_FALSE(revoked->valid);
  ASSERT_TRUE(revoked->record && revoked->record->revocation);
  EXPECT_EQ(revoked->record->revocation->index, 41u);
}

TEST(QrTwoPhase, ACodeRevokedByItsIndexIsAnnulledForItsClientToo) {
  Fixture f;
  auto draft = f.qr->Prepare(f.client, Draft("a"));
  ASSERT_TRUE(draft.ok());
  auto confirmed = f.qr->Confirm(f.client, "a");
  ASSERT_TRUE(confirmed.ok());
  ASSERT_TRUE(f.qr->Revoke(f.client, confirmed->index, "baja").ok());
  EXPECT_EQ(f.qr->Confirm(f.client, "a").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("a")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.qr->Annul(f.client, "a", "x").status().code(), StatusCode::kFailedPrecondition);
}

TEST(QrTwoPhase, AnAnnulledUnconfirmedCodeKeepsItsKeyADayThenGoes) {
  Fixture f;
  ASSERT_TRUE(f.qr->Prepare(f.client, Draft("a")).ok());
  ASSERT_TRUE(f.qr->Annul(f.client, "a", "x").ok());
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("a")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.qr->Prepare(f.client, Draft("a", "otro")).status().code(), StatusCode::kAlreadyExists);
  f.now_us += (kQrDraftLifetimeSeconds + 1) * 1000000;
  EXPECT_EQ(*f.qr->DropLapsedDrafts(100), 1u);
  EXPECT_EQ(f.qr->Annul(f.client, "a", "x").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(f.qr->Prepare(f.client, Draft("a", "otro")).ok());
  EXPECT_EQ(f.log->Head().tree_size, 0u);
}

TEST(QrTwoPhase, AClientGeneratesABoundedNumberOfCodesAnHour) {
  Fixture f;
  for (int i = 0; i < static_cast<int>(kQrDraftsBurst); ++i) {
    ASSERT_TRUE(f.qr->Prepare(f.client, Draft("k" + std::to_string(i))).ok()) << i;
  }
  auto refused = f.qr->Prepare(f.client, Draft("one-more"));
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted) << refused.status().ToString();
  EXPECT_TRUE(f.qr->Prepare(f.client, Draft("k7")).ok()) << "a replay counts nothing";
  ClientInfo other = f.clients->Add("Otra", "https://o.example/r", "https://o.example/n", "t")->client;
  EXPECT_TRUE(f.qr->Prepare(other, Draft("k0")).ok()) << "each client its own budget";
  f.now_us += 1000000;  // a second: one more code
  EXPECT_TRUE(f.qr->Prepare(f.client, Draft("one-more")).ok());
}


TEST(QrTwoPhase, ACodeSignedByAnotherKeyOrAlteredDoesNotVerify) {
  Fixture f;
  auto draft = f.qr->Prepare(f.client, Draft("a"));
  ASSERT_TRUE(draft.ok());
  ASSERT_TRUE(f.qr->Confirm(f.client, "a").ok());
  // The same document sealed by another node's keys, with this code's
  // nonce: same digest, so the code's entry is found, whose payload differs.
  auto sealed = ParseQr2Text(draft->text);
  ASSERT_TRUE(sealed.ok());
  crypto::SigningKey other = crypto::SigningKey::Generate();
  auto forged = SealQrDocumentWithNonce(Draft("a").document, sealed->key_id, crypto::RandomBytes(32), other,
                                        sealed->nonce);
  ASSERT_TRUE(forged.ok());
  auto v = f.qr->Verify(QrText(*forged));
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid);
  EXPECT_NE(std::find(v->reasons.begin(), v->reasons.end(), "signature invalid"), v->reasons.end());
  EXPECT_NE(std::find(v->reasons.begin(), v->reasons.end(), "ledger entry differs from the code"), v->reasons.end())
      << "the entry commits to another ciphertext";
  auto malformed = f.qr->Verify("QS2:ZZZ");
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->reasons[0].rfind("malformed", 0), 0u);
}

}  // namespace
}  // namespace quipu::node
