// The citizen's own factor: a TOTP key the citizen enrols after logging in
// (codes from oathtool, not quipu's own TOTP), that only a current code
// replaces, and decisions by the citizen named in the request only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "ledger/log.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/schema.h"
#include "pdf/engine.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

constexpr int64_t kStart = 1795000000;  // seconds

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<ledger::Log> log;
  std::array<uint8_t, 32> key{};
  std::unique_ptr<Clients> clients;
  std::unique_ptr<Approvals> approvals;
  ClientInfo client;
  int64_t now = kStart;

  explicit Fixture(ApprovalsOptions ao = {}, ledger::SyncMode sync = ledger::SyncMode::kFull) {
    ledger::LogOptions o = node::LogOptionsFor(dir.File("data"));
    o.sync = sync;
    log = std::move(ledger::Log::Open(o)).value();
    crypto::RandomBytes(key);
    clients = std::make_unique<Clients>(*log, key);
    client = clients->Add("SEGIP", "https://s.example/r", "https://s.example/n", "t")->client;
    ao.clock = [this] { return now * 1000000; };
    approvals = std::make_unique<Approvals>(*log, *clients, pdf::InProcessPdfEngine(), key, ao);
  }
  // The code an authenticator app shows, by oathtool.
  std::string Code(const std::string& secret_base32, int64_t at) const {
    auto r = testing::RunShell("oathtool --totp -b --now=@" + std::to_string(at) + " " +
                               testing::ShellQuote(secret_base32));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  std::string Request(const std::string& subject) { return Request(subject, client); }
  std::string Request(const std::string& subject, const ClientInfo& by) {
    ApprovalRequest req;
    req.subject = subject;
    req.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(subject + std::to_string(now)), std::nullopt},
                             std::string("contrato")});
    auto created = approvals->Create(by, req);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->id : "";
  }
};

TEST(CitizenFactor, EnrolConfirmAndDecideAsTheCitizen) {
  Fixture f;
  EXPECT_FALSE(f.approvals->FactorOf("1234567")->enrolled);
  auto e = f.approvals->BeginTotp("1234567", "");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_NE(e->otpauth_uri.find("otpauth://totp/"), std::string::npos);
  EXPECT_TRUE(f.approvals->FactorOf("1234567")->enrolling);
  EXPECT_FALSE(f.approvals->FactorOf("1234567")->enrolled);
  // A wrong first code does not enrol; the right one does.
  const std::string right = f.Code(e->secret_base32, f.now);
  EXPECT_EQ(f.approvals->ConfirmTotp("1234567", right == "000000" ? "111111" : "000000").code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(f.approvals->ConfirmTotp("1234567", right).ok());
  EXPECT_TRUE(f.approvals->FactorOf("1234567")->enrolled);
  EXPECT_FALSE(f.approvals->FactorOf("1234567")->enrolling);

  const std::string id = f.Request("1234567");
  auto view = f.approvals->GetForCitizen("1234567", id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->institution, "SEGIP");
  EXPECT_EQ(view->documents[0].name, "contrato");
  // Another citizen neither sees nor decides it.
  EXPECT_EQ(f.approvals->GetForCitizen("7654321", id).status().code(), StatusCode::kPermissionDenied);
  f.now += 30;
  const std::string code = f.Code(e->secret_base32, f.now);
  EXPECT_EQ(f.approvals->DecideAsCitizen("7654321", id, code, true).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.log->Head().tree_size, 0u);
  auto decided = f.approvals->DecideAsCitizen("1234567", id, code, true);
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  EXPECT_EQ(decided->status, "approved");
  EXPECT_EQ(decided->redirect_uri, "https://s.example/r");
  EXPECT_EQ(f.log->Head().tree_size, 1u);
  const auto entry = nlohmann::json::parse(*f.log->Entry(0));
  EXPECT_EQ(entry["client"], f.client.id);
  EXPECT_EQ(entry["subject"].get<std::string>().size(), 64u);
  EXPECT_EQ(entry.dump().find("1234567"), std::string::npos);
}

TEST(CitizenFactor, OnlyACurrentCodeReplacesTheFactor) {
  Fixture f;
  auto first = f.approvals->BeginTotp("2222222", "");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(f.approvals->ConfirmTotp("2222222", f.Code(first->secret_base32, f.now)).ok());
  // Whoever lacks the authenticator (no code, or a wrong one) cannot
  // start a new one.
  EXPECT_EQ(f.approvals->BeginTotp("2222222", "").status().code(), StatusCode::kPermissionDenied);
  f.now += 30;
  const std::string current = f.Code(first->secret_base32, f.now);
  EXPECT_EQ(f.approvals->BeginTotp("2222222", current == "000000" ? "111111" : "000000").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_FALSE(f.approvals->FactorOf("2222222")->enrolling);
  f.now += 30;
  auto second = f.approvals->BeginTotp("2222222", f.Code(first->secret_base32, f.now));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // Until confirmed, the old key still decides; after, only the new one.
  f.now += 30;
  ASSERT_TRUE(f.approvals->ConfirmTotp("2222222", f.Code(second->secret_base32, f.now)).ok());
  const std::string id = f.Request("2222222");
  f.now += 30;
  auto old_code = f.approvals->DecideAsCitizen("2222222", id, f.Code(first->secret_base32, f.now), true);
  EXPECT_FALSE(old_code.ok());
  f.now += 30;
  EXPECT_TRUE(f.approvals->DecideAsCitizen("2222222", id, f.Code(second->secret_base32, f.now), true).ok());
}

TEST(CitizenFactor, WrongCodesAtEnrolmentLockTheCitizenOutToo) {
  Fixture f;
  auto e = f.approvals->BeginTotp("3333333", "");
  ASSERT_TRUE(e.ok());
  const std::string right = f.Code(e->secret_base32, f.now);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(f.approvals->ConfirmTotp("3333333", wrong).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.approvals->ConfirmTotp("3333333", wrong).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(f.approvals->ConfirmTotp("3333333", right).code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(f.approvals->FactorOf("3333333")->locked_until.empty());
  f.now += 15 * 60 + 1;
  EXPECT_TRUE(f.approvals->ConfirmTotp("3333333", f.Code(e->secret_base32, f.now)).ok());
}

// The citizen's list reads its index newest first and no further than asked:
// many requests do not make one page view read them all.
TEST(CitizenFactor, TheCitizensListIsNewestFirstAndBounded) {
  Fixture f;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(f.Request("1234567"));
    f.now += 1;
  }
  (void)f.Request("7654321");
  auto all = f.approvals->ListForCitizen("1234567");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*all)[i].id, ids[4 - i]) << i;
  auto two = f.approvals->ListForCitizen("1234567", 2);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].id, ids[4]);
  EXPECT_EQ((*two)[1].id, ids[3]);
  EXPECT_EQ(f.approvals->ListForCitizen("12:4").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(f.approvals->ListForCitizen("0000000")->empty());
}

// Guessing: 10,000 wrong codes, five to a request (then it locks), over
// 2,000 requests of two institutions and 2.8 hours, never approve anything;
// they lock the citizen out, longer each time; once the lockout is over the
// citizen's real code works again. (The hourly limit on requests per citizen
// is lifted here to let the guesser make them all; durability is not what is
// tested, so the log does not fsync.)
TEST(CitizenFactor, TenThousandWrongCodesOverManyRequestsAndTwoClientsNeverApprove) {
  ApprovalsOptions ao;
  ao.requests_per_citizen_hour = 1e9;
  Fixture f(ao, ledger::SyncMode::kNone);
  const ClientInfo other = f.clients->Add("SERECI", "https://r.example/r", "https://r.example/n", "t")->client;
  auto e = f.approvals->BeginTotp("1234567", "");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(f.approvals->ConfirmTotp("1234567", f.Code(e->secret_base32, f.now - 30)).ok());
  const crypto::Bytes key = *crypto::Base32Decode(e->secret_base32);
  auto code_at = [&](int64_t t) { return *crypto::Totp(key, static_cast<uint64_t>(t), 6, crypto::OtpHash::kSha1); };
  const uint64_t entries_before = f.log->Head().tree_size;
  std::string id;
  int refused = 0, locked_out = 0, request_locked = 0, approved = 0, tries_on_request = 0;
  bool saw_lockout = false;
  for (int i = 0; i < 10000; ++i, ++f.now) {
    if (tries_on_request % 5 == 0) id = f.Request("1234567", i % 2 == 0 ? f.client : other);
    ++tries_on_request;
    // A code no window accepts now: a guesser's, never the right one.
    std::string guess = std::to_string(100000 + (i * 7919) % 900000);
    if (guess == code_at(f.now) || guess == code_at(f.now - 30) || guess == code_at(f.now + 30)) {
      guess = guess == "999999" ? "100000" : "999999";
    }
    auto d = f.approvals->DecideAsCitizen("1234567", id, guess, true);
    if (d.ok()) {
      ++approved;
    } else if (d.status().code() == StatusCode::kPermissionDenied) {
      ++refused;
    } else if (d.status().code() == StatusCode::kResourceExhausted) {
      ++locked_out;
      saw_lockout = true;
    } else if (d.status().code() == StatusCode::kFailedPrecondition) {
      ++request_locked;
    } else {
      ADD_FAILURE() << d.status().ToString();
    }
    if (i % 1000 == 999) {
      ASSERT_EQ(approved, 0);
    }
  }
  EXPECT_EQ(approved, 0);
  EXPECT_TRUE(saw_lockout);
  EXPECT_GT(locked_out, 9000);  // most guesses meet a locked-out citizen
  EXPECT_LT(refused, 100);      // few are even checked against the key
  EXPECT_EQ(f.log->Head().tree_size, entries_before) << "no entry was written";
  EXPECT_FALSE(f.approvals->FactorOf("1234567")->locked_until.empty());
  // The lockout doubles up to 24 hours: after that the real code works.
  f.now += 24 * 3600 + 1;
  const std::string fresh = f.Request("1234567", other);
  auto ok = f.approvals->DecideAsCitizen("1234567", fresh, f.Code(e->secret_base32, f.now), true);  // oathtool's
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, "approved");
}

// Every byte under a directory, for looking for what must not be there.
std::string AllBytesUnder(const std::string& dir) {
  auto r = testing::RunShell("cat " + testing::ShellQuote(dir) + "/* 2>/dev/null | base64 -w0");
  auto raw = crypto::Base64Decode(r.out.substr(0, r.out.find('\n')));
  return raw.ok() ? std::string(crypto::AsString(*raw)) : std::string();
}

size_t StoredContents(const ledger::Log& log) {
  size_t n = 0;
  EXPECT_TRUE(log.ScanPrivate(tables::kContents, "", [&](std::string_view, std::string_view) {
                   ++n;
                   return true;
                 }).ok());
  return n;
}

TEST(CitizenFactor, ContentsAreTheNamedCitizensToReadAndOnlyWhilePending) {
  Fixture f;
  auto e = f.approvals->BeginTotp("1234567", "");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(f.approvals->ConfirmTotp("1234567", f.Code(e->secret_base32, f.now)).ok());
  // A JSON document sent with its content, and one by its hash only.
  const std::string marker = "MARCADOR-" + crypto::HexEncode(crypto::RandomBytes(8));
  auto ask = [&](int n) {
    const std::string text = "{\"titular\":\"" + marker + "\",\"n\":" + std::to_string(n) + "}";
    ApprovalRequest req;
    req.subject = "1234567";
    req.documents.push_back(
        {DocumentRef{DocType::kJson, std::nullopt, std::vector<uint8_t>(text.begin(), text.end())}, std::string("a.json")});
    req.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(marker + std::to_string(n)), std::nullopt},
                             std::string("b.pdf")});
    auto created = f.approvals->Create(f.client, req);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return std::make_pair(created.ok() ? created->id : "", text);
  };
  const auto [id, text] = ask(1);
  auto view = f.approvals->GetForCitizen("1234567", id);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->documents[0].content);
  EXPECT_FALSE(view->documents[1].content);
  auto content = f.approvals->ContentForCitizen("1234567", id, 0);
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  EXPECT_EQ(content->bytes, text);
  EXPECT_EQ(content->media, DocType::kJson);
  EXPECT_EQ(f.approvals->ContentForCitizen("7654321", id, 0).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.approvals->ContentForCitizen("1234567", id, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.approvals->ContentForCitizen("1234567", id, 2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.approvals->ContentForCitizen("1234567", "r_00000000000000000000", 0).status().code(),
            StatusCode::kNotFound);
  // Sealed in the file: the content's text is nowhere in it.
  const std::string file = AllBytesUnder(f.dir.File("data"));
  ASSERT_GT(file.size(), 10000u);
  EXPECT_EQ(file.find(marker), std::string::npos);

  // The decision deletes it in its own commit.
  f.now += 30;
  ASSERT_TRUE(f.approvals->DecideAsCitizen("1234567", id, f.Code(e->secret_base32, f.now), true).ok());
  EXPECT_EQ(f.approvals->ContentForCitizen("1234567", id, 0).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(f.approvals->GetForCitizen("1234567", id)->documents[1].content);
  EXPECT_EQ(StoredContents(*f.log), 0u);

  // An expired request's content is not served, and is dropped by the sweep.
  const std::string expiring = ask(2).first;
  const std::string also_expiring = ask(3).first;
  EXPECT_EQ(StoredContents(*f.log), 2u);
  EXPECT_EQ(*f.approvals->DropExpiredContents(), 0u);
  f.now += 601;
  const std::string live = ask(4).first;
  EXPECT_EQ(f.approvals->ContentForCitizen("1234567", expiring, 0).status().code(), StatusCode::kExpired);
  EXPECT_EQ(*f.approvals->DropExpiredContents(), 2u);
  EXPECT_EQ(*f.approvals->DropExpiredContents(), 0u);
  EXPECT_EQ(StoredContents(*f.log), 1u);
  EXPECT_TRUE(f.approvals->ContentForCitizen("1234567", live, 0).ok());
  EXPECT_EQ(f.approvals->ContentForCitizen("1234567", also_expiring, 0).status().code(), StatusCode::kExpired);

  // A request locked by wrong codes loses its content at once.
  const std::string locked = ask(5).first;
  EXPECT_EQ(StoredContents(*f.log), 2u);
  f.now += 30;
  const std::string right = f.Code(e->secret_base32, f.now);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  Status last = Status::Ok();
  for (int i = 0; i < 5; ++i) last = f.approvals->DecideAsCitizen("1234567", locked, wrong, true).status();
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted) << last.ToString();
  EXPECT_EQ(StoredContents(*f.log), 1u);

  // Forgetting the citizen deletes the rest.
  ASSERT_TRUE(f.approvals->ForgetSubject("1234567").ok());
  EXPECT_EQ(StoredContents(*f.log), 0u);
}

TEST(CitizenFactor, ACodeIsSentOnlyWhenTheCitizenAsksAndToTheContactOfTheirLogin) {
  ApprovalsOptions ao;
  ao.delivery_webhook = "https://sms.example/send";
  Fixture f(ao);
  auto by_message = [&] {
    ApprovalRequest req;
    req.subject = "1234567";
    req.factor = Factor::kMessage;
    req.documents.push_back(
        {DocumentRef{DocType::kPdf, crypto::Sha256(crypto::RandomBytes(8)), std::nullopt}, std::string("contrato")});
    auto created = f.approvals->Create(f.client, req);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->id : "";
  };
  const CitizenContact hers{"+59170000001", "ana@ciudadano.example"};
  const std::string id = by_message();
  EXPECT_TRUE(f.approvals->DueOutbox(10)->empty());  // creating it sent nothing
  EXPECT_EQ(f.approvals->SendCode("7654321", id, hers).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(f.approvals->SendCode("1234567", id, CitizenContact{"", "ana@ciudadano.example"}).status().code(),
            StatusCode::kFailedPrecondition);  // sms, and no phone in her login
  EXPECT_EQ(f.approvals->SendCode("1234567", f.Request("1234567"), hers).status().code(),
            StatusCode::kFailedPrecondition);  // a TOTP request
  EXPECT_TRUE(f.approvals->DueOutbox(10)->empty());
  auto sent = f.approvals->SendCode("1234567", id, hers);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(sent->channel, Channel::kSms);
  EXPECT_EQ(sent->to_masked, "•••• 0001");
  auto due = f.approvals->DueOutbox(10);
  ASSERT_EQ(due->size(), 1u);
  const auto first = nlohmann::json::parse((*due)[0].body);
  EXPECT_EQ(first["to"], "+59170000001");
  EXPECT_EQ(first["documents"], 1);
  EXPECT_NE(first["text"].get<std::string>().find("SEGIP le pide aprobar 1 documento"), std::string::npos);
  EXPECT_NE(first["text"].get<std::string>().find("Vale 10 minutos"), std::string::npos) << first["text"];
  // A second code, four minutes later, replaces the first: one delivery
  // waits, it says what time is left, and the first code is refused.
  f.now += 240;
  ASSERT_TRUE(f.approvals->SendCode("1234567", id, hers).ok());
  due = f.approvals->DueOutbox(10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_NE(nlohmann::json::parse((*due)[0].body)["text"].get<std::string>().find("Vale 6 minutos"), std::string::npos);
  const std::string second = nlohmann::json::parse((*due)[0].body)["code"];
  if (second != first["code"]) {
    EXPECT_EQ(f.approvals->DecideAsCitizen("1234567", id, first["code"].get<std::string>(), true).status().code(),
              StatusCode::kPermissionDenied);
  }
  auto decided = f.approvals->DecideAsCitizen("1234567", id, second, true);
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  EXPECT_EQ(f.approvals->SendCode("1234567", id, hers).status().code(), StatusCode::kFailedPrecondition);
  // Ten codes an hour for one citizen, then 429 with the wait.
  const std::string more = by_message();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(f.approvals->SendCode("1234567", more, hers).ok()) << i;
  auto refused = f.approvals->SendCode("1234567", more, hers);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted) << refused.status().ToString();
}

TEST(CitizenFactor, ContentIsBudgetedPerClientAndHashesAreNot) {
  ApprovalsOptions ao;
  ao.content_bytes_per_client_hour = 3600;  // a byte a second
  ao.content_bytes_per_client_burst = 100;
  Fixture f(ao);
  auto ask = [&](size_t bytes) {
    const std::string text = "{\"a\":\"" + std::string(bytes - 8, 'x') + "\"}";
    ApprovalRequest req;
    req.subject = "1234567";
    req.documents.push_back({DocumentRef{DocType::kJson, std::nullopt, std::vector<uint8_t>(text.begin(), text.end())},
                             std::nullopt});
    return f.approvals->Create(f.client, req).status();
  };
  EXPECT_TRUE(ask(60).ok());
  const Status refused = ask(60);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused.ToString();
  EXPECT_NE(refused.message().find("sha256"), std::string::npos) << refused.message();
  EXPECT_TRUE(f.Request("1234567").size() > 0);  // by hash: not counted
  f.now += 30;                                 // 30 bytes more
  EXPECT_TRUE(ask(60).ok());
  EXPECT_EQ(ask(200).code(), StatusCode::kResourceExhausted);  // more than ever fits at once
}

TEST(CitizenFactor, ACodeKeptAsAnEarlierVersionHashedItStillDecides) {
  ApprovalsOptions ao;
  ao.delivery_webhook = "https://sms.example/send";
  Fixture f(ao);
  ApprovalRequest req;
  req.subject = "1234567";
  req.factor = Factor::kMessage;
  req.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(std::string("x")), std::nullopt}, std::nullopt});
  const std::string id = f.approvals->Create(f.client, req)->id;
  ASSERT_TRUE(f.approvals->SendCode("1234567", id, CitizenContact{"+59170000001", ""}).ok());
  const std::string code = nlohmann::json::parse((*f.approvals->DueOutbox(1))[0].body)["code"];
  // Kept as HMAC under the data key: not the plain SHA-256 a file copy could reverse.
  auto stored = nlohmann::json::parse(**f.log->ReadPrivate(tables::kApprovals, "r:" + id));
  const std::string legacy = crypto::HexEncode(crypto::Sha256(id + ":" + code));
  EXPECT_NE(stored["code_hash"], legacy);
  // A request written by the earlier version (SHA-256) is decided all the same.
  ledger::AppendRequest rewrite;
  rewrite.apply = [&](ledger::PrivateTxn& txn, uint64_t, const std::string&) {
    stored["code_hash"] = legacy;
    return txn.Put(tables::kApprovals, "r:" + id, stored.dump());
  };
  ASSERT_TRUE(f.log->Append(std::move(rewrite)).get().ok());
  auto decided = f.approvals->DecideAsCitizen("1234567", id, code, true);
  EXPECT_TRUE(decided.ok()) << decided.status().ToString();
}

TEST(MessageText, NamesWhoAsksHowManyAndForHowLongAndNoControlCharacter) {
  EXPECT_EQ(MessageText("SEGIP", 1, "123456", 600),
            "SEGIP le pide aprobar 1 documento en quipu. Su código: 123456. Vale 10 minutos. "
            "Escríbalo solo en la página de aprobación; nadie se lo pedirá por otro medio.");
  const std::string two = MessageText("Alcaldía\nde\x1b[2J El Alto", 2, "654321", 300);
  EXPECT_EQ(two.rfind("Alcaldía de [2J El Alto le pide aprobar 2 documentos en quipu. Su código: 654321. Vale 5 minutos.", 0), 0u)
      << two;
  // What is left, rounded down, and one minute at least.
  EXPECT_NE(MessageText("SEGIP", 1, "1", 119).find("Vale 1 minuto."), std::string::npos);
  EXPECT_NE(MessageText("SEGIP", 1, "1", 5).find("Vale 1 minuto."), std::string::npos);
  EXPECT_NE(MessageText("SEGIP", 1, "1", 179).find("Vale 2 minutos."), std::string::npos);
}

// A client's own key (AGETIC's idTramite) is an idempotency key: the same
// key and fingerprint give the first request back without counting a limit
// again; another fingerprint is kAlreadyExists; another client's key is its own.
TEST(ClientKeys, ReplayTheFirstRequestAndRefuseAnotherBody) {
  ApprovalsOptions ao;
  ao.requests_per_citizen_hour = 1;  // a replay must not count
  Fixture f(ao);
  ApprovalRequest req;
  req.subject = "1234567";
  req.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(std::string("d")), std::nullopt}, std::nullopt,
                           "6f1c2d4e-0000-4000-8000-000000000001"});
  req.client_key = "6f1c2d4e-0000-4000-8000-00000000000a";
  req.fingerprint = crypto::Sha256(std::string("body 1"));
  req.dialect = Dialect::kAgetic;
  auto first = f.approvals->Create(f.client, req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->replayed);
  EXPECT_EQ(first->client_key, req.client_key);
  EXPECT_EQ(first->uuid.size(), 36u);
  EXPECT_EQ(first->uuid[14], '4');  // a version 4 UUID
  auto again = f.approvals->Create(f.client, req);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->uuid, first->uuid);
  EXPECT_EQ(again->documents.at(0).client_key, "6f1c2d4e-0000-4000-8000-000000000001");
  req.fingerprint = crypto::Sha256(std::string("body 2"));
  EXPECT_EQ(f.approvals->Create(f.client, req).status().code(), StatusCode::kAlreadyExists);
  // Another client's key space is its own (it then meets the citizen's hourly limit).
  ClientInfo other = f.clients->Add("Otra", "https://o.example/r", "https://o.example/n", "t")->client;
  EXPECT_EQ(f.approvals->Create(other, req).status().code(), StatusCode::kResourceExhausted);
  // Forgetting the citizen forgets the key's record (its fingerprint names
  // them): the key may then name a new request.
  ASSERT_TRUE(f.approvals->ForgetSubject("1234567").ok());
  EXPECT_FALSE(f.log->ReadPrivate(tables::kApprovals, "i:" + f.client.id + ":" + req.client_key)->has_value());
  // Keys are short and plain.
  req.client_key = std::string(65, 'a');
  EXPECT_EQ(f.approvals->Create(f.client, req).status().code(), StatusCode::kInvalidArgument);
  req.client_key = "a b";
  EXPECT_EQ(f.approvals->Create(f.client, req).status().code(), StatusCode::kInvalidArgument);
}

// A decision's notification carries what the AGETIC callback is made of.
TEST(ClientKeys, TheNotificationOfAnAgeticRequestCarriesItsKeysAndTimes) {
  ApprovalsOptions ao;
  ao.delivery_webhook.clear();
  Fixture f(ao);
  auto e = f.approvals->BeginTotp("7654321", "");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(f.approvals->ConfirmTotp("7654321", f.Code(e->secret_base32, f.now - 30)).ok());
  ApprovalRequest req;
  req.subject = "7654321";
  req.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(std::string("n")), std::nullopt}, std::nullopt,
                           "doc-1"});
  req.client_key = "tramite-1";
  req.dialect = Dialect::kAgetic;
  auto created = f.approvals->Create(f.client, req);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE(f.approvals->DecideAsCitizen("7654321", created->id, f.Code(e->secret_base32, f.now), true).ok());
  auto due = f.approvals->DueOutbox(10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  const nlohmann::json note = nlohmann::json::parse(due->at(0).body);
  EXPECT_EQ(note["dialect"], "agetic");
  EXPECT_EQ(note["client_key"], "tramite-1");
  EXPECT_EQ(note["uuid"], created->uuid);
  EXPECT_EQ(note["documents"][0]["client_key"], "doc-1");
  EXPECT_FALSE(note["created_at"].get<std::string>().empty());
  EXPECT_FALSE(note["decided_at"].get<std::string>().empty());
}

}  // namespace
}  // namespace quipu::node
