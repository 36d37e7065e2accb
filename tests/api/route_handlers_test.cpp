// The QR Seguro, approval and document handlers as plain functions over
// the real services, without a socket: each wire error is its problem
// status, and a refused request leaves the ledger as it was.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/approval_routes.h"
#include "api/ledger_routes.h"
#include "api/qr_routes.h"
#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "ledger/log.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/schema.h"
#include "node/qr_service.h"
#include "pdf/engine.h"
#include "tests/common/minimal_pdf.h"
#include "tests/common/process.h"

namespace quipu::api {
namespace {

using nlohmann::json;

class RouteHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::LogOptions o = node::LogOptionsFor(dir_.File("data"));
    auto log = ledger::Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    crypto::RandomBytes(key_);
    clients_ = std::make_unique<node::Clients>(*log_, key_);
    client_ = clients_->Add("SEGIP", "https://s.example/r", "https://s.example/n", "t")->client;
    other_ = clients_->Add("SIN", "https://i.example/r", "https://i.example/n", "t")->client;
    auto signer = crypto::LoadNoteSigner(o.dir + "/" + ledger::kNodeKeyFile);
    ASSERT_TRUE(signer.ok());
    qr_ = std::make_unique<node::QrService>(*log_, *clients_, pdf::InProcessPdfEngine(), std::move(*signer),
                                            std::move(*node::LoadQrKeys(o.dir, true)));
    approvals_ = std::make_unique<node::Approvals>(*log_, *clients_, pdf::InProcessPdfEngine(), key_,
                                                   node::ApprovalsOptions{});
    reader_ = std::make_unique<node::LedgerReader>(*log_);
  }

  static Request Post(std::string body, std::vector<std::string> params = {}) {
    Request r;
    r.method = http::verb::post;
    r.body = std::move(body);
    r.params = std::move(params);
    r.headers.set(http::field::content_type, "application/json");
    return r;
  }
  uint64_t Size() const { return log_->Head().tree_size; }
  static json Body(const Response& r) { return json::parse(r.body, nullptr, false); }

  testing::TempDir dir_;
  std::unique_ptr<ledger::Log> log_;
  std::array<uint8_t, 32> key_{};
  std::unique_ptr<node::Clients> clients_;
  node::ClientInfo client_, other_;
  std::unique_ptr<node::QrService> qr_;
  std::unique_ptr<node::Approvals> approvals_;
  std::unique_ptr<node::LedgerReader> reader_;
};

const std::string kSha(64, 'a');

TEST_F(RouteHandlersTest, QrIssueAnswersTheCodeAndRefusesBadBodiesWithoutAnEntry) {
  const std::string good = json{{"document", {{"sha256", kSha}, {"media_type", "application/pdf"}}},
                                {"fields", {{"nro", "CN-1"}}}}
                               .dump();
  Response issued = qr_handlers::Issue(*qr_, client_, Post(good));
  ASSERT_EQ(issued.status, 201u) << issued.body;
  EXPECT_EQ(Body(issued)["document_sha256"], kSha);
  EXPECT_EQ(Body(issued)["svg_url"], "/v1/qr/0.svg");
  ASSERT_EQ(Size(), 1u);

  struct Case {
    const char* why;
    std::string body;
    std::string content_type;
    unsigned status;
  } cases[] = {
      {"not JSON", "{", "application/json", 400},
      {"not JSON's type", good, "text/plain", 415},
      {"unknown field", R"({"document":{"sha256":")" + kSha + R"(","media_type":"application/pdf"},"x":1})", "", 400},
      {"no document", R"({"fields":{}})", "", 400},
      {"upper-case hash", R"({"document":{"sha256":")" + std::string(64, 'A') + R"(","media_type":"application/pdf"}})",
       "", 400},
      {"a media type quipu does not record", R"({"document":{"sha256":")" + kSha + R"(","media_type":"text/plain"}})",
       "", 400},
      {"content that is no PDF", R"({"document":{"content":"aGVsbG8=","media_type":"application/pdf"}})", "", 422},
      {"fields that are no object", R"({"document":{"sha256":")" + kSha + R"(","media_type":"application/pdf"},"fields":[1]})",
       "", 400},
      {"an expiry in the past", R"({"document":{"sha256":")" + kSha +
                                    R"(","media_type":"application/pdf"},"expires_at":"2001-01-01T00:00:00Z"})",
       "", 400},
  };
  for (const Case& c : cases) {
    Request req = Post(c.body);
    req.headers.set(http::field::content_type, c.content_type);
    Response r = qr_handlers::Issue(*qr_, client_, req);
    EXPECT_EQ(r.status, c.status) << c.why << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json") << c.why;
  }
  EXPECT_EQ(Size(), 1u) << "a refused issue appended an entry";
}

TEST_F(RouteHandlersTest, QrVerifyRevokeAndImageKeepTheirRules) {
  auto issued = qr_handlers::Issue(
      *qr_, client_, Post(json{{"document", {{"sha256", kSha}, {"media_type", "application/json"}}}}.dump()));
  ASSERT_EQ(issued.status, 201u);
  const std::string text = Body(issued)["qr_text"];

  Response v = qr_handlers::Verify(*qr_, Post(json{{"qr_text", text}}.dump()));
  ASSERT_EQ(v.status, 200u);
  EXPECT_EQ(Body(v)["valid"], true);
  EXPECT_EQ(Body(v)["client_name"], "SEGIP");
  Response bad = qr_handlers::Verify(*qr_, Post(json{{"qr_text", "QS1:nonsense"}}.dump()));
  ASSERT_EQ(bad.status, 200u);  // a code that is not valid is an answer, not an error
  EXPECT_EQ(Body(bad)["valid"], false);
  EXPECT_EQ(qr_handlers::Verify(*qr_, Post(R"({"text":"QS1:"})")).status, 400u);
  EXPECT_EQ(qr_handlers::Verify(*qr_, Post(json{{"qr_text", std::string(8001, 'A')}}.dump())).status, 400u);

  // Another client's code is no code at all.
  EXPECT_EQ(qr_handlers::Revoke(*qr_, other_, Post(R"({"reason":"x"})", {"0"})).status, 404u);
  EXPECT_EQ(qr_handlers::Revoke(*qr_, client_, Post(R"({"why":"x"})", {"0"})).status, 400u);
  EXPECT_EQ(qr_handlers::Revoke(*qr_, client_, Post(R"({"reason":""})", {"0"})).status, 400u);
  EXPECT_EQ(qr_handlers::Revoke(*qr_, client_, Post(R"({"reason":"x"})", {"zero"})).status, 404u);
  EXPECT_EQ(Size(), 1u);
  Response revoked = qr_handlers::Revoke(*qr_, client_, Post(R"({"reason":"anulado"})", {"0"}));
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_EQ(Body(revoked)["target"], 0);
  EXPECT_EQ(qr_handlers::Revoke(*qr_, client_, Post(R"({"reason":"again"})", {"0"})).status, 409u);
  EXPECT_EQ(Size(), 2u);
  Response after = qr_handlers::Verify(*qr_, Post(json{{"qr_text", text}}.dump()));
  EXPECT_EQ(Body(after)["revoked"], true);
  EXPECT_EQ(Body(after)["revocation"]["reason"], "anulado");

  // Images: the name is checked first, then the client.
  Request image;
  image.params = {"0.gif"};
  EXPECT_EQ(qr_handlers::Image(*clients_, *qr_, image).status, 404u);
  image.params = {"0.svg"};
  EXPECT_EQ(qr_handlers::Image(*clients_, *qr_, image).status, 401u);
}

TEST_F(RouteHandlersTest, QrStampRefusesBeforeIssuing) {
  const std::string pdf = crypto::Base64Encode(crypto::AsBytes(testing::MinimalPdf(1)));
  struct Case {
    const char* why;
    json body;
    unsigned status;
  } cases[] = {
      {"no pdf", {{"fields", json::object()}}, 400},
      {"not base64", {{"pdf", "%%%"}}, 400},
      {"unknown field", {{"pdf", pdf}, {"size", 3}}, 400},
      {"a page beyond the document", {{"pdf", pdf}, {"page", 7}}, 400},
      {"a corner that is none", {{"pdf", pdf}, {"corner", "middle"}}, 400},
      {"a fractional page", {{"pdf", pdf}, {"page", 1.5}}, 400},
      {"not a PDF", {{"pdf", crypto::Base64Encode(crypto::AsBytes(std::string("hello")))}}, 422},
  };
  for (const Case& c : cases) {
    Response r = qr_handlers::Stamp(*qr_, client_, Post(c.body.dump()));
    EXPECT_EQ(r.status, c.status) << c.why << ": " << r.body;
  }
  EXPECT_EQ(Size(), 0u) << "a refused stamp issued a code";
  Response stamped = qr_handlers::Stamp(*qr_, client_, Post(json{{"pdf", pdf}}.dump()));
  ASSERT_EQ(stamped.status, 200u) << stamped.body;
  EXPECT_EQ(stamped.content_type, "application/pdf");
  EXPECT_EQ(Size(), 1u);
}

TEST_F(RouteHandlersTest, ApprovalsCreateAndGetThroughTheirHandlers) {
  // A citizen with a TOTP the test holds (enrolled as on their page).
  auto enrolled = approvals_->BeginTotp("1234567", "");
  ASSERT_TRUE(enrolled.ok());
  auto secret = crypto::Base32Decode(enrolled->secret_base32);
  ASSERT_TRUE(secret.ok());
  const uint64_t now = static_cast<uint64_t>(approvals_->NowMicros() / 1000000);
  ASSERT_TRUE(approvals_->ConfirmTotp("1234567", *crypto::Totp(*secret, now - 30, 6, crypto::OtpHash::kSha1)).ok());
  const std::string base = "https://quipu.example";

  const std::string good = json{{"subject", "1234567"},
                                {"documents", {{{"sha256", kSha}, {"media_type", "application/pdf"}, {"name", "a"}}}}}
                               .dump();
  struct Case {
    const char* why;
    std::string body;
    unsigned status;
  } cases[] = {
      {"not an object", "[]", 400},
      {"no subject", R"({"documents":[{"sha256":")" + kSha + R"(","media_type":"application/pdf"}]})", 400},
      {"a subject id with a space", R"({"subject":"12 34","documents":[]})", 400},
      {"no documents", R"({"subject":"1234567","documents":[]})", 400},
      {"a factor that is none", R"({"subject":"1234567","factor":"fax","documents":[{"sha256":")" + kSha +
                                     R"(","media_type":"application/pdf"}]})",
       400},
      {"the message factor without a webhook", R"({"subject":"1234567","factor":"message","documents":[{"sha256":")" +
                                                    kSha + R"(","media_type":"application/pdf"}]})",
       409},
      {"a subject without TOTP: created like any other", R"({"subject":"7654321","documents":[{"sha256":")" + kSha +
                                                           R"(","media_type":"application/pdf"}]})",
       201},
      {"the same document twice", R"({"subject":"1234567","documents":[{"sha256":")" + kSha +
                                       R"(","media_type":"application/pdf"},{"sha256":")" + kSha +
                                       R"(","media_type":"application/pdf"}]})",
       400},
      {"a name that is no text", R"({"subject":"1234567","documents":[{"sha256":")" + kSha +
                                      R"(","media_type":"application/pdf","name":5}]})",
       400},
      {"a description that is no text", R"({"subject":"1234567","description":["x"],"documents":[{"sha256":")" +
                                             kSha + R"(","media_type":"application/pdf"}]})",
       400},
  };
  for (const Case& c : cases) {
    Response r = approval_handlers::Create(*approvals_, client_, Post(c.body), base);
    EXPECT_EQ(r.status, c.status) << c.why << ": " << r.body;
  }
  // Without the citizens' login page nobody could decide: refused.
  EXPECT_EQ(approval_handlers::Create(*approvals_, client_, Post(good), "").status, 503u);
  Response created = approval_handlers::Create(*approvals_, client_, Post(good), base);
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string id = Body(created)["id"];
  EXPECT_EQ(Body(created)["documents"][0]["sha256"], kSha);
  EXPECT_EQ(Body(created)["link"], base + "/aprobar/" + id);

  Request get;
  get.params = {id};
  EXPECT_EQ(approval_handlers::Get(*approvals_, other_, get).status, 404u);  // another client's: none
  Response pending = approval_handlers::Get(*approvals_, client_, get);
  ASSERT_EQ(pending.status, 200u);
  EXPECT_EQ(Body(pending)["status"], "pending");
  EXPECT_EQ(Body(pending)["attempts_left"], 5);

  EXPECT_EQ(Size(), 0u);
  // The citizen decides (citizen_routes_test has that route).
  auto code = crypto::Totp(*secret, now, 6, crypto::OtpHash::kSha1);
  ASSERT_TRUE(code.ok());
  auto decided = approvals_->DecideAsCitizen("1234567", id, *code, true);
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  EXPECT_EQ(Size(), 1u);
  Response done = approval_handlers::Get(*approvals_, client_, get);
  ASSERT_EQ(Body(done)["entries"].size(), 1u);
  EXPECT_EQ(Body(done)["entries"][0]["sha256"], kSha);
  EXPECT_EQ(Body(done)["tree_size"], 1);

  // The document's public answer names the approval and its institution.
  LedgerRoutesOptions options;
  options.client_name = [this](const std::string& cid) { return cid == client_.id ? client_.name : ""; };
  Request doc;
  doc.params = {kSha};
  uint64_t size = 0;
  Response answer = ledger_handlers::Document(*reader_, options, doc, &size);
  ASSERT_EQ(answer.status, 200u);
  EXPECT_EQ(size, 1u);
  EXPECT_EQ(Body(answer)["found"], true);
  EXPECT_EQ(Body(answer)["records"][0]["client_name"], "SEGIP");
  doc.query = {{"subject", "1234567"}};
  EXPECT_EQ(ledger_handlers::Document(*reader_, options, doc).status, 400u);  // no subject questions here
  doc.params = {"not-a-hash"};
  doc.query.clear();
  EXPECT_EQ(ledger_handlers::Document(*reader_, options, doc).status, 400u);
}

TEST_F(RouteHandlersTest, VerifyNamesWhatItCannotRead) {
  LedgerRoutesOptions options;  // no PDF engine
  Request req = Post("");
  EXPECT_EQ(ledger_handlers::Verify(*reader_, options, req).status, 400u);
  req.body = "plain words";
  req.headers.set(http::field::content_type, "");
  EXPECT_EQ(ledger_handlers::Verify(*reader_, options, req).status, 415u);
  req.headers.set(http::field::content_type, "text/plain");
  Response typed = ledger_handlers::Verify(*reader_, options, req);
  EXPECT_EQ(typed.status, 415u);
  bool accept_post = false;
  for (const auto& [k, v] : typed.headers) accept_post = accept_post || k == "Accept-Post";
  EXPECT_TRUE(accept_post);
  req.body = testing::MinimalPdf(1);
  req.headers.set(http::field::content_type, "application/pdf");
  EXPECT_EQ(ledger_handlers::Verify(*reader_, options, req).status, 503u);
  req.body = R"({"b":1,"a":2})";
  req.headers.set(http::field::content_type, "application/json");
  Response json_answer = ledger_handlers::Verify(*reader_, options, req);
  ASSERT_EQ(json_answer.status, 200u);
  EXPECT_EQ(Body(json_answer)["found"], false);
  EXPECT_EQ(Body(json_answer)["sha256"], crypto::HexEncode(crypto::Sha256(std::string(R"({"a":2,"b":1})"))));

  // Before the body: refused only while the workers are saturated, and
  // never for a body declared JSON.
  http::fields headers;
  EXPECT_FALSE(ledger_handlers::RefuseWhilePdfWorkersBusy([] { return false; }, headers));
  auto refused = ledger_handlers::RefuseWhilePdfWorkersBusy([] { return true; }, headers);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503u);
  headers.set(http::field::content_type, "application/json");
  EXPECT_FALSE(ledger_handlers::RefuseWhilePdfWorkersBusy([] { return true; }, headers));
}

}  // namespace
}  // namespace quipu::api
