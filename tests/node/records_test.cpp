// The private records' byte form (node/records.h): keys that sort as their
// readers rely on, values that round-trip, records of earlier versions that
// still decode, and damage that is kCorruption rather than a throw.
#include "node/records.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"

namespace quipu::node::records {
namespace {

using nlohmann::json;

TEST(ContentKeys, SortByExpiryAndNameTheirExpiry) {
  const std::string a = ContentKey(999, "r_00000000000000000002", 0);
  const std::string b = ContentKey(1000, "r_00000000000000000001", 7);
  EXPECT_EQ(a, "k:00000000000000000999:r_00000000000000000002:000");
  EXPECT_LT(a, b);  // the earlier expiry first, whatever the request id
  EXPECT_EQ(ExpiryOfContentKey(a), 999);
  EXPECT_EQ(ExpiryOfContentKey(b), 1000);
  EXPECT_EQ(ExpiryOfContentKey(ContentKey(INT64_MAX, "r_x", 99)), INT64_MAX);
  EXPECT_EQ(ExpiryOfContentKey("r:r_00000000000000000001"), -1);
  EXPECT_EQ(ExpiryOfContentKey("k:0000000000000000099x:r"), -1);
  EXPECT_EQ(ExpiryOfContentKey("k:"), -1);
  EXPECT_EQ(ExpiryOfContentKey("k:99999999999999999999:r_x:000"), -1);  // beyond int64
}

TEST(CitizenIndexKeys, SortNewestFirstAndNameTheirRequest) {
  const std::string older = CitizenIndexKey("1234567", 1000, "r_a");
  const std::string newer = CitizenIndexKey("1234567", 2000, "r_b");
  EXPECT_LT(newer, older);
  EXPECT_EQ(older.rfind(CitizenIndexPrefix("1234567"), 0), 0u);
  EXPECT_EQ(RequestIdOfIndexKey(older), "r_a");
  EXPECT_EQ(RequestIdOfIndexKey("r:r_a"), "");
  // One subject's prefix does not cover another whose id it begins.
  EXPECT_NE(CitizenIndexKey("12345678", 1000, "r_a").rfind(CitizenIndexPrefix("1234567"), 0), 0u);
}

TEST(OutboxKeys, SortByCreationAndAreFoundByRequestAndKind) {
  const std::string a = OutboxKey(5, "r_1", "deliver");
  EXPECT_EQ(a, "o:00000000000000000005:r_1:deliver");
  EXPECT_LT(a, OutboxKey(10, "r_0", "notify"));
  EXPECT_TRUE(IsOutboxKeyOf(a, "r_1", "deliver"));
  EXPECT_FALSE(IsOutboxKeyOf(a, "r_1", "notify"));
  EXPECT_FALSE(IsOutboxKeyOf(a, "_1", "deliver"));  // a whole id, not its tail
  EXPECT_FALSE(IsOutboxKeyOf("x:r_1:deliver", "r_1", "deliver"));
}

TEST(OtherKeys, HaveTheirDocumentedForm) {
  EXPECT_EQ(SubjectKey("1234567"), "s:1234567");
  EXPECT_EQ(ClientKey("c_0123456789ab"), "c:c_0123456789ab");
  EXPECT_EQ(TokenKey("abc"), "t:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(RequestKey("r_1"), "r:r_1");
  EXPECT_EQ(QrIssuedKey(42), "q:42");
  EXPECT_EQ(QrRevokedKey(42), "qrev:42");
}

RequestRecord FullRequest() {
  RequestRecord r;
  r.id = "r_00000000000000000001";
  r.client = "c_0123456789ab";
  r.subject = "1234567";
  r.factor = Factor::kMessage;
  r.channel = Channel::kEmail;
  r.status = "approved";
  r.created_us = 1;
  r.expires_us = 2;
  ApprovalDocument d;
  d.sha256 = crypto::Sha256("doc");
  d.media = DocType::kJson;
  d.name = "contrato";
  d.content = true;
  d.size = 3;
  r.documents = {d, ApprovalDocument{}};
  r.wrong_codes = 2;
  r.notification.state = "retrying";
  r.notification.attempts = 3;
  r.notification.next_attempt_at = "2026-12-03T00:00:00Z";
  r.notification.last_http_status = 503;
  r.return_state = "s";
  r.description = "d";
  r.decided_at = "2026-12-03T00:00:00Z";
  r.entries = {7, 8};
  r.code_hash = "ab";
  r.forgotten = true;
  return r;
}

TEST(RequestRecords, RoundTripEveryField) {
  const std::string bytes = Encode(FullRequest());
  auto back = DecodeRequest(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(Encode(*back), bytes);
  EXPECT_EQ(back->channel, Channel::kEmail);
  EXPECT_EQ(back->documents[0].sha256, crypto::Sha256("doc"));
  EXPECT_EQ(back->documents[0].size, 3u);
  EXPECT_FALSE(back->documents[1].size.has_value());
  EXPECT_EQ(back->notification.last_http_status, 503u);
  EXPECT_EQ(back->entries, (std::vector<uint64_t>{7, 8}));
  EXPECT_TRUE(back->forgotten);
}

TEST(RequestRecords, OfAnEarlierVersionDecodeWithDefaults) {
  // A request as the first version wrote it: no factor, no notification, a
  // last_error that later versions no longer keep.
  const json old = {{"id", "r_1"},
                    {"client", "c_1"},
                    {"subject", "1234567"},
                    {"status", "pending"},
                    {"documents", {{{"sha256", std::string(64, 'a')}, {"media_type", "application/pdf"}}}},
                    {"notification", {{"last_error", "connection refused by 10.0.0.1"}}},
                    {"unknown", 1}};
  auto r = DecodeRequest(old.dump());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->factor, Factor::kTotp);
  EXPECT_FALSE(r->channel.has_value());
  EXPECT_EQ(r->notification.state, "none");
  EXPECT_EQ(Encode(*r).find("last_error"), std::string::npos);
  EXPECT_EQ(Encode(*r).find("unknown"), std::string::npos);
}

TEST(RequestRecords, DamageIsCorruptionNotAThrow) {
  for (const std::string& bad : {std::string("{not json"), std::string("[1]"),
                                 json{{"wrong_codes", "five"}}.dump(),
                                 json{{"documents", {{{"sha256", "xyz"}}}}}.dump(),
                                 json{{"entries", {"one"}}}.dump(),
                                 json{{"notification", {{"last_http_status", -1}}}}.dump()}) {
    auto r = DecodeRequest(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << bad;
    EXPECT_NE(r.status().message().find("approval request record"), std::string::npos) << r.status().message();
  }
}

TEST(SubjectRecords, RoundTripAndLeaveDefaultsOut) {
  SubjectRecord s;
  s.salt = std::string(64, '0');
  EXPECT_EQ(Encode(s), json({{"salt", s.salt}, {"last_step", 0}}).dump());
  s.totp = "sealed";
  s.wrong_codes = 1;
  s.lockouts = 2;
  s.locked_until_us = 3;
  s.enrolled_by = "citizen";
  s.factor_resets = {{"admin", "2026-12-03T00:00:00Z", "lost phone"}};
  auto back = DecodeSubject(Encode(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Encode(*back), Encode(s));
  EXPECT_EQ(back->factor_resets.at(0).reason, "lost phone");
  EXPECT_EQ(DecodeSubject(R"({"last_step":"x"})").status().code(), StatusCode::kCorruption);
}

TEST(ClientOutboxAndQrRecords, RoundTrip) {
  ClientRecord c;
  c.info = {"c_1", "Banco", "https://b.example/r", "https://b.example/n", true, "2026-12-03T00:00:00Z"};
  c.notify_token_sealed = "sealed";
  c.token_key = TokenKey("tok");
  auto cb = DecodeClient(Encode(c));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(Encode(*cb), Encode(c));
  EXPECT_TRUE(cb->info.disabled);

  OutboxRecord o{"notify", "r_1", "https://b.example/n", 2, 10, 20, "body", ""};
  auto ob = DecodeOutbox(Encode(o));
  ASSERT_TRUE(ob.ok());
  EXPECT_EQ(Encode(*ob), Encode(o));
  EXPECT_EQ(Encode(o).find("bearer_sealed"), std::string::npos);

  QrRecord q{"QS1.abc", "c_1", "2026-12-03T00:00:00Z"};
  auto qb = DecodeQr(Encode(q));
  ASSERT_TRUE(qb.ok());
  EXPECT_EQ(Encode(*qb), Encode(q));
  EXPECT_EQ(DecodeQr("{not json").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeOutbox(R"({"attempts":[]})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeClient(R"({"disabled":"no"})").status().code(), StatusCode::kCorruption);
}

TEST(QrDraftRecords, KeysSortByLapseAndNameTheirDraft) {
  EXPECT_EQ(QrDraftKey("c_1", "7c1d2e3f-4a5b"), "d:c_1:7c1d2e3f-4a5b");
  const std::string lapse = QrDraftLapseKey(86400, "c_1", "a:b");
  EXPECT_EQ(lapse, "dl:00000000000000086400:c_1:a:b");
  EXPECT_LT(lapse, QrDraftLapseKey(86401, "c_0", "a"));
  EXPECT_EQ(LapseOfQrDraftLapseKey(lapse), 86400);
  EXPECT_EQ(QrDraftKeyOfLapseKey(lapse), QrDraftKey("c_1", "a:b"));  // a client key may hold ':'
  EXPECT_EQ(LapseOfQrDraftLapseKey("d:c_1:x"), -1);
  EXPECT_EQ(LapseOfQrDraftLapseKey("dl:0000000000000008640x:c_1:x"), -1);
  EXPECT_EQ(QrDraftKeyOfLapseKey("dl:short"), "");
  // Neither prefix is the other's: a scan of d: never meets dl: keys.
  EXPECT_NE(lapse.rfind("d:", 0), 0u);
}

TEST(QrDraftRecords, RoundTripInEveryState) {
  QrDraftRecord pending;
  pending.text = "QS2:ABC";
  pending.fingerprint = std::string(64, 'a');
  pending.created = "2026-12-04T00:00:00.000000Z";
  pending.lapses_us = 5;
  QrDraftRecord confirmed = pending;
  confirmed.state = QrDraftRecord::State::kConfirmed;
  confirmed.index = 7;
  confirmed.confirmed = "2026-12-04T01:00:00.000000Z";
  QrDraftRecord annulled = confirmed;
  annulled.state = QrDraftRecord::State::kAnnulled;
  annulled.revocation = 9;
  annulled.annulled = "2026-12-04T02:00:00.000000Z";
  for (const QrDraftRecord& r : {pending, confirmed, annulled}) {
    auto back = DecodeQrDraft(Encode(r));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(Encode(*back), Encode(r));
    EXPECT_EQ(back->state, r.state);
    EXPECT_EQ(back->index, r.index);
    EXPECT_EQ(back->revocation, r.revocation);
  }
  EXPECT_EQ(Encode(pending).find("index"), std::string::npos);  // optional fields left out
  EXPECT_EQ(DecodeQrDraft(R"({"state":"lost"})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeQrDraft(R"({"index":-1})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeQrDraft("[]").status().code(), StatusCode::kCorruption);
}

TEST(WitnessStateRecords, RoundTripAndDamage) {
  EXPECT_EQ(WitnessStateKey("log.example/quipu"), "w:log.example/quipu");
  WitnessStateRecord w{42, crypto::Sha256(std::string("root")), "log.example/quipu\n42\n...\n", "2026-12-04T00:00:00Z"};
  auto back = DecodeWitnessState(Encode(w));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Encode(*back), Encode(w));
  EXPECT_EQ(back->root, w.root);
  EXPECT_EQ(DecodeWitnessState(R"({"size":-1,"root":""})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeWitnessState(R"({"size":1,"root":"AAAA"})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeWitnessState(R"({"root":"AAAA"})").status().code(), StatusCode::kCorruption);
}

TEST(CosignedRecords, KeysSortBySizeAndRecordsRoundTrip) {
  EXPECT_EQ(CosignedKey(42), "c:00000000000000000042");
  EXPECT_LT(CosignedKey(9), CosignedKey(10));
  EXPECT_EQ(SizeOfCosignedKey(CosignedKey(123456789)), std::optional<uint64_t>(123456789));
  EXPECT_EQ(SizeOfCosignedKey("c:12"), std::nullopt);
  EXPECT_EQ(SizeOfCosignedKey("p:00000000000000000042"), std::nullopt);
  EXPECT_EQ(SizeOfCosignedKey("c:0000000000000000004x"), std::nullopt);
  EXPECT_EQ(CosignerKey("wb"), "p:wb");
  CosignedRecord c{"o\n1\nAAAA\n\n\xe2\x80\x94 o sig\n", true};
  auto back = DecodeCosigned(Encode(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->note, c.note);
  EXPECT_TRUE(back->quorum);
  EXPECT_EQ(Encode(CosignedRecord{"n", false}), R"({"note":"n"})");
  CosignerRecord p{7, "2026-12-04T00:00:00Z"};
  auto pb = DecodeCosigner(Encode(p));
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(pb->size, 7u);
  EXPECT_EQ(pb->time, p.time);
  EXPECT_EQ(DecodeCosigned(R"({"quorum":true})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeCosigner(R"({"size":-3})").status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace quipu::node::records
