// The citizen's own factor: a TOTP key the citizen enrols after logging in
// (codes from oathtool, not quipu's own TOTP), that only a current code
// replaces, and decisions by the citizen named in the request only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
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

  Fixture() {
    ledger::LogOptions o = node::LogOptionsFor(dir.File("data"));
    log = std::move(ledger::Log::Open(o)).value();
    crypto::RandomBytes(key);
    clients = std::make_unique<Clients>(*log, key);
    client = clients->Add("SEGIP", "https://s.example/r", "https://s.example/n", "t")->client;
    ApprovalsOptions ao;
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
  std::string Request(const std::string& subject) {
    ApprovalRequest req;
    req.subject = subject;
    req.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(subject + std::to_string(now)), std::nullopt},
                             std::string("contrato")});
    auto created = approvals->Create(client, req);
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

}  // namespace
}  // namespace quipu::node
