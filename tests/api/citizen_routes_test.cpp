// The citizen's routes as plain functions over the real services: a
// session (opened as the login callback opens it) sees only its own
// citizen's request, every POST needs the session's CSRF token, and the
// citizen enrols an authenticator (codes from oathtool) and decides.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "api/citizen_routes.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "ledger/log.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/schema.h"
#include "pdf/engine.h"
#include "tests/common/process.h"

namespace quipu::api {
namespace {

using nlohmann::json;

class CitizenRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::LogOptions o = node::LogOptionsFor(dir_.File("data"));
    log_ = std::move(ledger::Log::Open(o)).value();
    crypto::RandomBytes(key_);
    clients_ = std::make_unique<node::Clients>(*log_, key_);
    client_ = clients_->Add("SEGIP", "https://s.example/vuelta", "https://s.example/n", "t")->client;
    node::ApprovalsOptions ao;
    ao.clock = [this] { return now_ * 1000000; };
    approvals_ = std::make_unique<node::Approvals>(*log_, *clients_, pdf::InProcessPdfEngine(), key_, ao);
    routes_.sessions = &sessions_;
    routes_.approvals = approvals_.get();
  }
  // A logged-in browser: its Cookie header and CSRF token.
  std::pair<std::string, std::string> LogIn(const std::string& document_number) {
    node::Citizen c;
    c.subject = "sub-" + document_number;
    c.document_number = document_number;
    const std::string set = sessions_.Open(c);
    const std::string cookie = set.substr(0, set.find(';'));
    return {cookie, sessions_.Find(cookie)->csrf};
  }
  static Request Get(const std::string& cookie, std::vector<std::string> params = {}) {
    Request r;
    r.headers.set(http::field::cookie, cookie);
    r.params = std::move(params);
    return r;
  }
  static Request Post(const std::string& cookie, const std::string& csrf, const json& body,
                      std::vector<std::string> params = {}) {
    Request r = Get(cookie, std::move(params));
    r.method = http::verb::post;
    r.headers.set(http::field::content_type, "application/json");
    if (!csrf.empty()) r.headers.set("X-Quipu-CSRF", csrf);
    r.body = body.dump();
    return r;
  }
  std::string Code(const std::string& secret, int64_t at) {
    auto r = testing::RunShell("oathtool --totp -b --now=@" + std::to_string(at) + " " + testing::ShellQuote(secret));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 6);
  }
  std::string NewRequest(const std::string& subject) {
    node::ApprovalRequest req;
    req.subject = subject;
    req.return_state = "tramite 42/a";
    req.documents.push_back({node::DocumentRef{node::DocType::kJson, crypto::Sha256(subject), std::nullopt},
                             std::string("formulario")});
    return approvals_->Create(client_, req)->id;
  }
  static json Body(const Response& r) { return json::parse(r.body, nullptr, false); }

  testing::TempDir dir_;
  std::unique_ptr<ledger::Log> log_;
  std::array<uint8_t, 32> key_{};
  std::unique_ptr<node::Clients> clients_;
  node::ClientInfo client_;
  std::unique_ptr<node::Approvals> approvals_;
  CitizenSessions sessions_;
  CitizenRoutes routes_;
  int64_t now_ = 1795000000;
};

TEST_F(CitizenRoutesTest, OnlyTheNamedCitizenSeesTheRequest) {
  const std::string id = NewRequest("1234567");
  EXPECT_EQ(citizen_handlers::Me(routes_, Get("")).status, 401u);
  EXPECT_EQ(citizen_handlers::Approval(routes_, Get("", {id})).status, 401u);
  auto [ana, ana_csrf] = LogIn("1234567");
  auto [luis, luis_csrf] = LogIn("7654321");
  Response mine = citizen_handlers::Approval(routes_, Get(ana, {id}));
  ASSERT_EQ(mine.status, 200u) << mine.body;
  EXPECT_EQ(Body(mine)["institution"], "SEGIP");
  EXPECT_EQ(Body(mine)["documents"][0]["name"], "formulario");
  EXPECT_EQ(Body(citizen_handlers::Me(routes_, Get(ana)))["document_number"], "1234567");
  Response theirs = citizen_handlers::Approval(routes_, Get(luis, {id}));
  EXPECT_EQ(theirs.status, 403u);
  EXPECT_EQ(theirs.body.find("formulario"), std::string::npos);  // nothing of it shown
  EXPECT_EQ(citizen_handlers::Approval(routes_, Get(ana, {"r_00000000000000000000"})).status, 404u);
  // Deciding another citizen's request: refused, nothing written.
  EXPECT_EQ(citizen_handlers::Decide(routes_, true, Post(luis, luis_csrf, {{"code", "123456"}}, {id})).status, 403u);
  EXPECT_EQ(log_->Head().tree_size, 0u);
}

TEST_F(CitizenRoutesTest, TheContentIsServedToThePagesOwnFetchOnlyAndNeverAsAPage) {
  // A JSON document whose content would be a script if a browser ran it.
  const std::string text = R"({"html":"<script>alert(1)</script>"})";
  node::ApprovalRequest req;
  req.subject = "1234567";
  req.documents.push_back(
      {node::DocumentRef{node::DocType::kJson, std::nullopt, std::vector<uint8_t>(text.begin(), text.end())}, "a"});
  req.documents.push_back({node::DocumentRef{node::DocType::kPdf, crypto::Sha256("b"), std::nullopt}, "b"});
  const std::string id = approvals_->Create(client_, req)->id;
  auto [ana, ana_csrf] = LogIn("1234567");
  auto [luis, luis_csrf] = LogIn("7654321");
  auto content = [&](const std::string& cookie, const std::string& csrf, const std::string& i) {
    Request r = Get(cookie, {id, i});
    if (!csrf.empty()) r.headers.set("X-Quipu-CSRF", csrf);
    return citizen_handlers::DocumentContent(routes_, r);
  };
  const json listed = Body(citizen_handlers::Approval(routes_, Get(ana, {id})));
  EXPECT_EQ(listed["documents"][0].value("content", false), true);
  EXPECT_EQ(listed["documents"][1].value("content", false), false);
  EXPECT_EQ(content("", "", "0").status, 401u);
  EXPECT_EQ(content(ana, "", "0").status, 403u);  // a navigation or another site's embedding
  EXPECT_EQ(content(ana, "forged-token", "0").status, 403u);
  EXPECT_EQ(content(luis, luis_csrf, "0").status, 403u);
  EXPECT_EQ(content(ana, ana_csrf, "1").status, 404u);  // by its hash only
  EXPECT_EQ(content(ana, ana_csrf, "7").status, 404u);
  EXPECT_EQ(content(ana, ana_csrf, "-1").status, 404u);
  EXPECT_EQ(content(ana, ana_csrf, "00000000001").status, 404u);
  Response got = content(ana, ana_csrf, "0");
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(got.body, text);
  EXPECT_EQ(got.content_type, "application/json");
  std::map<std::string, std::string> headers(got.headers.begin(), got.headers.end());
  EXPECT_EQ(headers["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(headers["Cache-Control"], "no-store");
  EXPECT_EQ(headers["Content-Security-Policy"].rfind("sandbox", 0), 0u);
  EXPECT_EQ(headers["Content-Disposition"].rfind("attachment", 0), 0u);
  // Asking for a code: the session and the page's token first; this
  // request is decided with the authenticator (409), and nothing is queued.
  EXPECT_EQ(citizen_handlers::SendCode(routes_, Post("", "", json::object(), {id})).status, 401u);
  EXPECT_EQ(citizen_handlers::SendCode(routes_, Post(ana, "", json::object(), {id})).status, 403u);
  EXPECT_EQ(citizen_handlers::SendCode(routes_, Post(luis, luis_csrf, json::object(), {id})).status, 403u);
  EXPECT_EQ(citizen_handlers::SendCode(routes_, Post(ana, ana_csrf, json::object(), {id})).status, 409u);
  EXPECT_TRUE(approvals_->DueOutbox(10)->empty());
  // Once expired: gone (410), and no longer listed as readable.
  now_ += 601;
  EXPECT_EQ(content(ana, ana_csrf, "0").status, 410u);
  EXPECT_FALSE(Body(citizen_handlers::Approval(routes_, Get(ana, {id})))["documents"][0].contains("content"));
}

TEST_F(CitizenRoutesTest, TheCitizenEnrolsAndDecidesWithTheSessionsCsrfToken) {
  const std::string id = NewRequest("1234567");
  auto [cookie, csrf] = LogIn("1234567");
  EXPECT_EQ(Body(citizen_handlers::Factor(routes_, Get(cookie)))["enrolled"], false);
  // Without the page's token a POST is refused (a form on another site).
  EXPECT_EQ(citizen_handlers::BeginTotp(routes_, Post(cookie, "", json::object())).status, 403u);
  EXPECT_EQ(citizen_handlers::BeginTotp(routes_, Post(cookie, "forged", json::object())).status, 403u);
  Response begun = citizen_handlers::BeginTotp(routes_, Post(cookie, csrf, json::object()));
  ASSERT_EQ(begun.status, 201u) << begun.body;
  const std::string secret = Body(begun)["secret"];
  bool no_store = false;
  for (const auto& [k, v] : begun.headers) no_store = no_store || (k == "Cache-Control" && v == "no-store");
  EXPECT_TRUE(no_store);
  Response confirmed = citizen_handlers::ConfirmTotp(routes_, Post(cookie, csrf, {{"code", Code(secret, now_)}}));
  ASSERT_EQ(confirmed.status, 204u) << confirmed.body;
  EXPECT_EQ(Body(citizen_handlers::Factor(routes_, Get(cookie)))["enrolled"], true);

  now_ += 30;
  Response decided = citizen_handlers::Decide(routes_, true, Post(cookie, csrf, {{"code", Code(secret, now_)}}, {id}));
  ASSERT_EQ(decided.status, 200u) << decided.body;
  EXPECT_EQ(Body(decided)["status"], "approved");
  EXPECT_EQ(Body(decided)["redirect_url"],
            "https://s.example/vuelta?request=" + id + "&status=approved&state=tramite%2042%2Fa");
  EXPECT_EQ(log_->Head().tree_size, 1u);
  // Decided once only.
  now_ += 30;
  EXPECT_EQ(citizen_handlers::Decide(routes_, true, Post(cookie, csrf, {{"code", Code(secret, now_)}}, {id})).status,
            409u);
  // Logging out ends the session.
  citizen_handlers::Logout(routes_, Post(cookie, csrf, json::object()));
  EXPECT_EQ(citizen_handlers::Me(routes_, Get(cookie)).status, 401u);
}

}  // namespace
}  // namespace quipu::api
