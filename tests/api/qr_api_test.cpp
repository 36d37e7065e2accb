// QR Seguro through the node: issue, render (read back by zbarimg), verify,
// revoke, expiry, another node's codes, codes not in the ledger, key
// rotation, and stamping a PDF (read back with pdftoppm + zbarimg) that
// /v1/verify then finds through its original revision.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/sha256.h"
#include "ledger/entry.h"
#include "node/qr_format.h"
#include "pdf/make.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::Node;
using testing::RunQuipu;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;

constexpr int64_t kStart = 1795000000;

json Fields() {
  return {{"tipo", "Certificado de nacimiento"}, {"numero", "CN-2026-0048213"}, {"titular", "María Quispe Mamani"},
          {"fecha", "2026-11-23"}, {"oficina", "SERECI La Paz"}};
}

class QrApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("data");
    clock_ = dir_.File("clock");
    SetClock(kStart);
    ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    auto r = RunQuipu("client add --data " + ShellQuote(data_) +
                      " --name SERECI --redirect-uri https://s.example/r --notify-uri https://s.example/n --notify-token t");
    ASSERT_EQ(r.exit_code, 0);
    client_ = json::parse(r.out);
    auto r2 = RunQuipu("client add --data " + ShellQuote(data_) +
                       " --name Otro --redirect-uri https://o.example/r --notify-uri https://o.example/n --notify-token t");
    other_ = json::parse(r2.out);
    Start();
  }
  void Start() { node_ = std::make_unique<Node>(data_, "--test-clock-file " + ShellQuote(clock_)); }
  void SetClock(int64_t s) { std::ofstream(clock_) << s * 1000000 << "\n"; }
  std::string Url(const std::string& p) const { return ShellQuote(node_->url() + p); }
  static std::string Auth(const json& c) { return "-H " + ShellQuote("Authorization: Bearer " + c["token"].get<std::string>()) + " "; }
  Http Post(const json& client, const std::string& path, const json& body) {
    return Curl("-X POST " + (client.is_null() ? std::string() : Auth(client)) + "--data-binary @- " + Url(path),
                body.dump());
  }
  json Issue(const std::string& doc, const json& extra = json::object()) {
    json body = {{"document", {{"sha256", crypto::HexEncode(crypto::Sha256(doc))}, {"media_type", "application/pdf"}}},
                 {"fields", Fields()}};
    body.update(extra);
    Http h = Post(client_, "/v1/qr", body);
    EXPECT_EQ(h.status, 201) << h.body;
    return h.Json();
  }
  json Verify(const std::string& text) { return Post(json(), "/v1/qr/verify", {{"qr_text", text}}).Json(); }

  TempDir dir_;
  std::string data_, clock_;
  json client_, other_;
  std::unique_ptr<Node> node_;
};

TEST_F(QrApiTest, IssueRenderAndVerify) {
  json issued = Issue("certificado 1");
  const std::string text = issued["qr_text"];
  EXPECT_EQ(text.rfind("QS1:", 0), 0u);
  // The PNG reads back with an independent reader; only the issuing
  // client gets it (the image carries the text, the text opens the fields).
  Http png = Curl(Auth(client_) + Url(issued["png_url"].get<std::string>()));
  ASSERT_EQ(png.status, 200);
  EXPECT_NE(png.headers.find("image/png"), std::string::npos);
  EXPECT_NE(png.headers.find("private, no-store"), std::string::npos);
  testing::WriteFile(dir_.File("qr.png"), png.body);
  EXPECT_EQ(RunShell("zbarimg --raw -q " + ShellQuote(dir_.File("qr.png"))).out, text + "\n");
  Http svg = Curl(Auth(client_) + Url(issued["svg_url"].get<std::string>()));
  EXPECT_EQ(svg.status, 200);
  EXPECT_NE(svg.headers.find("image/svg+xml"), std::string::npos);
  EXPECT_EQ(Curl(Auth(client_) + Url("/v1/qr/999.png")).status, 404);
  EXPECT_EQ(Curl(Auth(client_) + Url("/v1/qr/abc.png")).status, 404);

  json v = Verify(text);
  EXPECT_EQ(v["valid"], true) << v.dump();
  EXPECT_TRUE(v["reasons"].empty());
  EXPECT_EQ(v["index"], issued["index"]);
  EXPECT_EQ(v["client_name"], "SERECI");
  EXPECT_EQ(v["fields"], Fields());
  EXPECT_EQ(v["document_sha256"], crypto::HexEncode(crypto::Sha256(std::string("certificado 1"))));
  EXPECT_EQ(v["revoked"], false);
  EXPECT_EQ(v["entry"]["type"], "qr_issue");
  // The entry commits to the code; its proof verifies (checked the page's way in tests/web).
  auto sealed = node::ParseQrText(text);
  EXPECT_EQ(v["entry"]["payload"], crypto::HexEncode(node::QrPayloadHash(*sealed)));
  // The public record lists the issue.
  json doc = Curl(Url("/v1/documents/" + v["document_sha256"].get<std::string>())).Json();
  EXPECT_EQ(doc["records"][0]["type"], "qr_issue");
  // Bad requests.
  EXPECT_EQ(Post(json(), "/v1/qr/verify", json::object()).status, 400);
  json garbage = Verify("QS1:NOT-A-CODE");
  EXPECT_EQ(garbage["valid"], false);
  EXPECT_NE(garbage["reasons"][0].get<std::string>().find("malformed"), std::string::npos);
  EXPECT_EQ(Post(json(), "/v1/qr", {{"document", {{"sha256", std::string(64, 'a')}, {"media_type", "application/pdf"}}}}).status, 401);
  EXPECT_EQ(Post(client_, "/v1/qr", {{"document", {{"sha256", "zz"}, {"media_type", "application/pdf"}}}}).status, 400);
  EXPECT_EQ(Post(client_, "/v1/qr", {{"document", {{"sha256", std::string(64, 'a')}, {"media_type", "application/pdf"}}},
                                     {"fields", {{"x", std::string(600, 'y')}}}}).status, 400);
}

// Nothing public lets anyone list or derive a code's text: not the images
// (without the issuing client's token), not the ledger entries or the
// document lookups (they hold hashes), not another client's token.
TEST_F(QrApiTest, NoRouteGivesAQrTextOrImageWithoutTheIssuersToken) {
  json issued = Issue("certificado privado");
  const std::string text = issued["qr_text"];
  const std::string index = std::to_string(issued["index"].get<uint64_t>());
  for (const std::string& ext : std::vector<std::string>{".png", ".svg"}) {
    Http anonymous = Curl(Url("/v1/qr/" + index + ext));
    EXPECT_EQ(anonymous.status, 401) << ext;
    EXPECT_NE(anonymous.headers.find("WWW-Authenticate"), std::string::npos);
    EXPECT_EQ(Curl("-H 'Authorization: Bearer qk_not-a-token' " + Url("/v1/qr/" + index + ext)).status, 401);
    // Another institution's token: as if the code did not exist.
    Http other = Curl(Auth(other_) + Url("/v1/qr/" + index + ext));
    EXPECT_EQ(other.status, 404) << ext;
    EXPECT_EQ(other.body.find(text), std::string::npos);
  }
  // Walking the public read API finds no text (nor the Base45 payload).
  const std::string payload = text.substr(4, 40);
  for (const std::string& path : std::vector<std::string>{"/v1/entries/" + index, "/v1/documents/" + issued["document_sha256"].get<std::string>(),
                                 std::string("/tile/entries/000.p/") + std::to_string(std::stoull(index) + 1),
                                 std::string("/v1/log"), std::string("/checkpoint")}) {
    Http h = Curl(Url(path));
    EXPECT_EQ(h.status, 200) << path;
    EXPECT_EQ(h.body.find(payload), std::string::npos) << path;
  }
}

TEST_F(QrApiTest, EveryChangedCharacterIsRejected) {
  const std::string text = Issue("certificado 2")["qr_text"];
  // A sample of positions (the unit tests try them all, offline).
  for (size_t i = 4; i < text.size(); i += 37) {
    std::string bad = text;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(Verify(bad)["valid"], false) << i;
  }
}

TEST_F(QrApiTest, RevokedAndExpiredCodesSaySo) {
  json issued = Issue("certificado 3");
  const uint64_t index = issued["index"];
  EXPECT_EQ(Post(other_, "/v1/qr/" + std::to_string(index) + "/revoke", {{"reason", "no"}}).status, 404);
  Http r = Post(client_, "/v1/qr/" + std::to_string(index) + "/revoke", {{"reason", "reemplazado por CN-2026-0049000"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Post(client_, "/v1/qr/" + std::to_string(index) + "/revoke", {{"reason", "again"}}).status, 409);
  json v = Verify(issued["qr_text"]);
  EXPECT_EQ(v["valid"], false);
  EXPECT_EQ(v["revoked"], true);
  EXPECT_EQ(v["revocation"]["reason"], "reemplazado por CN-2026-0049000");
  EXPECT_FALSE(v.contains("fields"));
  // The revocation is a public ledger entry too.
  json entry = json::parse(Curl(Url("/v1/entries/" + std::to_string(r.Json()["index"].get<uint64_t>()))).body)["entry"];
  EXPECT_EQ(entry["type"], "qr_revoke");
  EXPECT_EQ(entry["target"], index);

  json expiring = Issue("certificado 4", {{"expires_at", ledger::FormatTime((kStart + 3600) * 1000000)}});
  EXPECT_EQ(Verify(expiring["qr_text"])["valid"], true);
  SetClock(kStart + 3601);
  json e = Verify(expiring["qr_text"]);
  EXPECT_EQ(e["valid"], false);
  EXPECT_EQ(e["expired"], true);
}

TEST_F(QrApiTest, AnotherNodesCodesAndCodesNotInTheLedgerAreRejected) {
  // Another node.
  TempDir other_dir;
  ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(other_dir.File("d"))).exit_code, 0);
  auto foreign = RunQuipu("qr issue --sha256 " + std::string(64, 'b') + " --data " + ShellQuote(other_dir.File("d")));
  ASSERT_EQ(foreign.exit_code, 0) << foreign.err;
  json f = Verify(json::parse(foreign.out)["qr_text"]);
  EXPECT_EQ(f["valid"], false);
  EXPECT_NE(f.dump().find("another node"), std::string::npos) << f.dump();
  // A genuine signature over an index whose entry is not this code's (made
  // with this node's own keys, as only an insider could).
  Issue("certificado 5");
  auto signer = crypto::LoadNoteSigner(data_ + "/node.key");
  ASSERT_TRUE(signer.ok());
  auto key = crypto::HexDecode(testing::ReadFile(data_ + "/qr-keys/1.key").substr(0, 64));
  node::QrPlain plain;
  plain.fields = Fields().dump();
  auto forged = node::SealQr(plain, 0, signer->key_hash(), *key, signer->key());
  json g = Verify(node::QrText(*forged));
  EXPECT_EQ(g["valid"], false);
  EXPECT_NE(g.dump().find("ledger entry differs"), std::string::npos) << g.dump();
  auto beyond = node::SealQr(plain, 1000000, signer->key_hash(), *key, signer->key());
  EXPECT_NE(Verify(node::QrText(*beyond)).dump().find("not in ledger"), std::string::npos);
}

TEST_F(QrApiTest, KeyRotationKeepsOldCodesValid) {
  const std::string old_code = Issue("antes")["qr_text"];
  node_->Stop();
  auto rotated = RunQuipu("qr rotate-key --data " + ShellQuote(data_));
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("key 2"), std::string::npos);
  Start();
  const std::string new_code = Issue("después")["qr_text"];
  EXPECT_EQ(Verify(old_code)["valid"], true);
  EXPECT_EQ(Verify(new_code)["valid"], true);
  // The new code is sealed with the new key: the old key alone cannot open it.
  auto k1 = crypto::HexDecode(testing::ReadFile(data_ + "/qr-keys/1.key").substr(0, 64));
  auto k2 = crypto::HexDecode(testing::ReadFile(data_ + "/qr-keys/2.key").substr(0, 64));
  EXPECT_FALSE(node::OpenQr(*node::ParseQrText(new_code), *k1).ok());
  EXPECT_TRUE(node::OpenQr(*node::ParseQrText(new_code), *k2).ok());
}

TEST_F(QrApiTest, StampedPdfsCarryTheCodeAndVerifyThroughTheOriginal) {
  auto pdf = pdf::MakeSamplePdf(2, "Titulo de Bachiller");
  ASSERT_TRUE(pdf.ok());
  Http h = Post(client_, "/v1/qr/stamp",
                {{"pdf", crypto::Base64Encode(*pdf)}, {"fields", Fields()}, {"page", 2}, {"corner", "top-right"},
                 {"caption", "Verifique en quipu"}});
  ASSERT_EQ(h.status, 200) << h.body.substr(0, 300);
  EXPECT_NE(h.headers.find("application/pdf"), std::string::npos);
  ASSERT_GT(h.body.size(), pdf->size());
  EXPECT_EQ(h.body.substr(0, pdf->size()), std::string(crypto::AsString(*pdf)));  // the original is a prefix
  testing::WriteFile(dir_.File("stamped.pdf"), h.body);
  ASSERT_EQ(RunShell("pdftoppm -r 200 -f 2 -l 2 -png " + ShellQuote(dir_.File("stamped.pdf")) + " " +
                     ShellQuote(dir_.File("p"))).exit_code, 0);
  auto read = RunShell("zbarimg --raw -q " + ShellQuote(dir_.File("p")) + "-*.png");
  ASSERT_EQ(read.exit_code, 0);
  const std::string text = read.out.substr(0, read.out.find('\n'));
  EXPECT_EQ(Verify(text)["valid"], true);
  // /v1/verify on the stamped file finds the original's record.
  Http v = Curl("-X POST -H 'Content-Type: application/pdf' --data-binary @" + ShellQuote(dir_.File("stamped.pdf")) +
                " " + Url("/v1/verify"));
  json j = v.Json();
  EXPECT_EQ(j["found"], false);
  ASSERT_EQ(j["revisions"].size(), 1u);
  EXPECT_EQ(j["revisions"][0]["found"], true);
  EXPECT_EQ(j["revisions"][0]["records"][0]["type"], "qr_issue");
  // The CLI stamps too (with the node stopped).
  node_->Stop();
  testing::WriteFile(dir_.File("in.pdf"), std::string(crypto::AsString(*pdf)));
  testing::WriteFile(dir_.File("fields.json"), Fields().dump());
  auto cli = RunQuipu("qr stamp " + ShellQuote(dir_.File("in.pdf")) + " " + ShellQuote(dir_.File("out.pdf")) +
                      " --fields " + ShellQuote(dir_.File("fields.json")) + " --data " + ShellQuote(data_));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  ASSERT_EQ(RunShell("pdftoppm -r 200 -f 1 -l 1 -png " + ShellQuote(dir_.File("out.pdf")) + " " +
                     ShellQuote(dir_.File("c"))).exit_code, 0);
  const std::string cli_text = RunShell("zbarimg --raw -q " + ShellQuote(dir_.File("c")) + "-*.png").out;
  EXPECT_EQ(cli_text, json::parse(cli.out)["qr_text"].get<std::string>() + "\n");
  auto verified = RunQuipu("qr verify " + ShellQuote(json::parse(cli.out)["qr_text"].get<std::string>()) + " --data " +
                           ShellQuote(data_));
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
}

}  // namespace
}  // namespace quipu
