// The node against what took it down or fooled it (issue 13): hostile PDFs
// on every route that reads one, every route that appends failing without
// leaving an entry, a revoked code's document showing the revocation, and
// the smaller holes (pages written 1e10 or 1.5, codes issued already
// expired, RFC 3339 as people write it). The built program over real
// sockets, driven by curl.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/sha256.h"
#include "pdf/make.h"
#include "tests/common/hostile_pdf.h"
#include "tests/common/citizen.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::Node;
using testing::RunQuipu;
using testing::ShellQuote;
using testing::TempDir;

constexpr int64_t kStart = 1795000000;  // the node's clock, seconds

std::string B64(const std::string& bytes) { return crypto::Base64Encode(crypto::AsBytes(bytes)); }

std::string SamplePdf(int pages, const std::string& text) {
  auto pdf = pdf::MakeSamplePdf(pages, text);
  EXPECT_TRUE(pdf.ok());
  return pdf.ok() ? std::string(crypto::AsString(*pdf)) : std::string();
}

class HardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("data");
    clock_ = dir_.File("clock");
    std::ofstream(clock_) << kStart * 1000000 << "\n";
    ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    client_ = AddClient("SERECI");
    other_ = AddClient("Otro");
    // Approvals need the citizens' login: the development provider.
    const std::string base = "http://127.0.0.1:" + std::to_string(testing::FreePort());
    idp_ = std::make_unique<testing::IdentityProvider>(dir_.File("idp"), base);
    node_ = std::make_unique<Node>(data_, "--listen " + base.substr(7) + " " + idp_->ServeFlags() +
                                              " --test-clock-file " + ShellQuote(clock_) + " --pdf-workers 2");
  }
  json AddClient(const std::string& name) {
    auto r = RunQuipu("client add --data " + ShellQuote(data_) + " --name " + name +
                      " --redirect-uri https://client.example/r --notify-uri https://client.example/n --notify-token t");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
  std::string Url(const std::string& p) const { return ShellQuote(node_->url() + p); }
  static std::string Auth(const json& c) {
    return "-H " + ShellQuote("Authorization: Bearer " + c["token"].get<std::string>()) + " ";
  }
  Http Post(const json& client, const std::string& path, const json& body) {
    return Curl("-X POST " + (client.is_null() ? std::string() : Auth(client)) +
                    "-H 'Content-Type: application/json' --data-binary @- " + Url(path),
                body.dump());
  }
  Http PostPdf(const std::string& pdf) {
    return Curl("-X POST -H 'Content-Type: application/pdf' --data-binary @- " + Url("/v1/verify"), pdf);
  }
  uint64_t TreeSize() { return Curl(Url("/v1/log")).Json()["tree_size"].get<uint64_t>(); }
  bool Healthy() { return Curl("--max-time 5 " + Url("/healthz")).status == 200; }
  // The request fails with `status`, a problem saying `words`, and leaves
  // the ledger as it was.
  void ExpectRefusedWithoutAnEntry(const std::string& what, const std::function<Http()>& send, long status,
                                   const std::string& words = "") {
    SCOPED_TRACE(what);
    const uint64_t before = TreeSize();
    Http h = send();
    EXPECT_EQ(h.status, status) << h.body.substr(0, 400);
    EXPECT_NE(h.headers.find("application/problem+json"), std::string::npos) << h.headers;
    if (!words.empty()) {
      EXPECT_NE(h.body.find(words), std::string::npos) << h.body.substr(0, 400);
    }
    EXPECT_EQ(TreeSize(), before) << "a failed request appended an entry";
  }

  TempDir dir_;
  std::string data_, clock_;
  json client_, other_;
  std::unique_ptr<testing::IdentityProvider> idp_;
  std::unique_ptr<Node> node_;
};

TEST_F(HardeningTest, HostilePdfsGetAReasonAndTheNodeStaysUp) {
  struct Case {
    std::string name, pdf, words;
  };
  const std::vector<Case> cases = {
      {"NULL dereference in PoDoFo's /Encrypt", testing::EncryptCrashPdf(), "could not be read"},
      {"8 million objects declared", testing::HugeSizePdf(), "/Size"},
      {"more than 10,000 revisions", testing::ManyRevisionsPdf(10001), "revisions"},
      {"not a PDF after all", "%PDF-1.7\nnothing here\n%%EOF\n", "cannot be parsed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Http v = PostPdf(c.pdf);
    EXPECT_EQ(v.status, 422) << v.body;
    EXPECT_NE(v.body.find(c.words), std::string::npos) << v.body;
    EXPECT_NE(v.headers.find("application/problem+json"), std::string::npos);
    // The same bytes as content of an approval request or a code.
    Http a = Post(client_, "/v1/approvals",
                  {{"subject", "1234567"}, {"factor", "totp"},
                   {"documents", {{{"content", B64(c.pdf)}, {"media_type", "application/pdf"}}}}});
    EXPECT_EQ(a.status, 422) << a.body;
    ExpectRefusedWithoutAnEntry(c.name + " issued", [&] {
      return Post(client_, "/v1/qr", {{"document", {{"content", B64(c.pdf)}, {"media_type", "application/pdf"}}}});
    }, 422);
    ExpectRefusedWithoutAnEntry(c.name + " stamped", [&] {
      return Post(client_, "/v1/qr/stamp", {{"pdf", B64(c.pdf)}});
    }, 422);
    EXPECT_TRUE(Healthy());
  }
  // Many of them at once, from many clients.
  std::vector<std::thread> flood;
  for (int i = 0; i < 16; ++i) {
    flood.emplace_back([&, i] { (void)PostPdf(cases[static_cast<size_t>(i) % 2].pdf); });
  }
  EXPECT_TRUE(Healthy());
  for (auto& t : flood) t.join();
  EXPECT_TRUE(Healthy());
  EXPECT_TRUE(node_->Alive());
  // And a good document still verifies.
  Http good = PostPdf(SamplePdf(1, "fine"));
  EXPECT_EQ(good.status, 200) << good.body;
}

TEST_F(HardeningTest, JsonOnlyRoutesRefuseLargeBodiesBeforeReadingThem) {
  // /v1/qr/verify parsed a 64 MiB body into a DOM before any check; now
  // its limit is 16 KiB and is checked on the announced length.
  Http big = Curl("-X POST -H 'Content-Type: application/json' --data-binary @- " + Url("/v1/qr/verify"),
                  "{\"qr_text\":\"" + std::string(1 << 20, 'A') + "\"}");
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_NE(big.body.find("/v1/qr/verify"), std::string::npos) << big.body;
  Http confirm = Curl("-X POST -H 'Content-Type: application/json' --data-binary @- " +
                          Url("/v1/citizen/approvals/r_x/confirm"),
                      "{\"code\":\"" + std::string(100000, '1') + "\"}");
  EXPECT_EQ(confirm.status, 413);
  // Routes for clients only refuse an anonymous body before reading it.
  for (const char* path : {"/v1/qr/stamp", "/v1/qr", "/v1/approvals"}) {
    int fd = testing::Connect(node_->port());
    ASSERT_GE(fd, 0);
    testing::Send(fd, std::string("POST ") + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n");
    const std::string reply = testing::ReadAll(fd, std::chrono::milliseconds(1500));
    ::close(fd);
    EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << path << ": " << reply.substr(0, 200);
  }
  // Document routes keep the large limit.
  Http doc = Post(client_, "/v1/qr", {{"document", {{"content", B64(SamplePdf(1, std::string(200000, 'x')))},
                                                    {"media_type", "application/pdf"}}}});
  EXPECT_EQ(doc.status, 201) << doc.body.substr(0, 300);
  EXPECT_TRUE(Healthy());
}

TEST_F(HardeningTest, APdfTheParserCannotReadIsStillFoundByItsHash) {
  // Registered by hash only (the document never reached the node), then
  // checked by file: the parser fails on it, the ledger still knows it.
  const std::string pdf = testing::EncryptCrashPdf();
  const std::string sha = crypto::HexEncode(crypto::Sha256(pdf));
  Http issued = Post(client_, "/v1/qr", {{"document", {{"sha256", sha}, {"media_type", "application/pdf"}}}});
  ASSERT_EQ(issued.status, 201) << issued.body;
  Http v = PostPdf(pdf);
  ASSERT_EQ(v.status, 200) << v.body;
  json j = v.Json();
  EXPECT_EQ(j["found"], true);
  EXPECT_EQ(j["pdf_readable"], false);
  EXPECT_NE(j["pdf_error"].get<std::string>().find("could not be read"), std::string::npos) << j.dump();
  EXPECT_EQ(j["records"][0]["type"], "qr_issue");
}

TEST_F(HardeningTest, ManyRevisionsAreHashedOnceAndLookedUpBoundedly) {
  // 5,000 revisions of 1 KiB each: hashed in one pass, the latest 100
  // looked up, the answer says how many there were.
  const std::string pdf = testing::ManyRevisionsPdf(5000, 1000);
  Http v = PostPdf(pdf);
  ASSERT_EQ(v.status, 200) << v.body.substr(0, 300);
  json j = v.Json();
  EXPECT_EQ(j["revisions"].size(), 100u);
  EXPECT_EQ(j["revisions_total"], 5000);  // the markers; the last revision is the whole file
  EXPECT_EQ(j["revisions_truncated"], true);
  // The latest ones: the last looked up ends at the last marker.
  EXPECT_EQ(j["revisions"].back()["length"].get<uint64_t>(), pdf.rfind("%%EOF\n", pdf.find("\nxref")) + 6);
}

TEST_F(HardeningTest, EveryRouteThatAppendsLeavesNoEntryWhenItFails) {
  const std::string pdf = SamplePdf(2, "certificado");
  const json fields = {{"numero", "CN-1"}};
  // --- stamp: everything is checked before the code is appended.
  auto stamp = [&](json extra) {
    json body = {{"pdf", B64(pdf)}, {"fields", fields}};
    body.update(extra);
    return [this, body] { return Post(client_, "/v1/qr/stamp", body); };
  };
  ExpectRefusedWithoutAnEntry("page beyond the document", stamp({{"page", 3}}), 400, "out of range");
  ExpectRefusedWithoutAnEntry("page 1e10", stamp({{"page", 1e10}}), 400, "page");
  ExpectRefusedWithoutAnEntry("page 1.5", stamp({{"page", 1.5}}), 400, "page");
  ExpectRefusedWithoutAnEntry("page -1", stamp({{"page", -1}}), 400, "page");
  ExpectRefusedWithoutAnEntry("page as text", stamp({{"page", "2"}}), 400, "page");
  ExpectRefusedWithoutAnEntry("unknown corner", stamp({{"corner", "middle"}}), 400, "corner");
  ExpectRefusedWithoutAnEntry("caption too long", stamp({{"caption", std::string(110, 'W')}}), 400, "caption");
  ExpectRefusedWithoutAnEntry("caption not Latin-1", stamp({{"caption", "línea\nnueva"}}), 400, "caption");
  ExpectRefusedWithoutAnEntry("fields too large", stamp({{"fields", {{"x", std::string(600, 'y')}}}}), 400, "fields");
  ExpectRefusedWithoutAnEntry("already expired", stamp({{"expires_at", "2020-01-01T00:00:00Z"}}), 400,
                              "not in the future");
  ExpectRefusedWithoutAnEntry("expiry not a time", stamp({{"expires_at", "tomorrow"}}), 400, "RFC 3339");
  ExpectRefusedWithoutAnEntry("unknown field", stamp({{"pages", 1}}), 400, "unknown field");
  ExpectRefusedWithoutAnEntry("not base64", stamp({{"pdf", "%%%"}}), 400, "base64");
  ExpectRefusedWithoutAnEntry("cyclic page tree", stamp({{"pdf", B64(testing::CyclicPageTreePdf())}}), 422);
  ExpectRefusedWithoutAnEntry("no token", [&] { return Post(json(), "/v1/qr/stamp", {{"pdf", B64(pdf)}}); }, 401);
  // --- issue.
  auto issue = [&](json body) { return [this, body] { return Post(client_, "/v1/qr", body); }; };
  const json doc = {{"sha256", crypto::HexEncode(crypto::Sha256(std::string("d")))}, {"media_type", "application/pdf"}};
  ExpectRefusedWithoutAnEntry("issue expired", issue({{"document", doc}, {"expires_at", "2026-01-01T00:00:00Z"}}), 400);
  ExpectRefusedWithoutAnEntry("issue bad hash", issue({{"document", {{"sha256", "00"}, {"media_type", "application/pdf"}}}}), 400);
  ExpectRefusedWithoutAnEntry("issue bad type", issue({{"document", {{"sha256", doc["sha256"]}, {"media_type", "text/plain"}}}}), 400);
  ExpectRefusedWithoutAnEntry("issue bad fields", issue({{"document", doc}, {"fields", json::array()}}), 400);
  ExpectRefusedWithoutAnEntry("issue unreadable content", issue({{"document", {{"content", B64("%PDF-1.7\n%%EOF\n")}, {"media_type", "application/pdf"}}}}), 422);
  // --- revoke.
  Http issued = Post(client_, "/v1/qr", {{"document", doc}, {"fields", fields}});
  ASSERT_EQ(issued.status, 201) << issued.body;
  const std::string revoke = "/v1/qr/" + std::to_string(issued.Json()["index"].get<uint64_t>()) + "/revoke";
  ExpectRefusedWithoutAnEntry("revoke by another client", [&] { return Post(other_, revoke, {{"reason", "x"}}); }, 404);
  ExpectRefusedWithoutAnEntry("revoke without a reason", [&] { return Post(client_, revoke, json::object()); }, 400);
  ExpectRefusedWithoutAnEntry("revoke what is not a code", [&] { return Post(client_, "/v1/qr/999/revoke", {{"reason", "x"}}); }, 404);
  ASSERT_EQ(Post(client_, revoke, {{"reason", "replaced"}}).status, 200);
  ExpectRefusedWithoutAnEntry("revoke twice", [&] { return Post(client_, revoke, {{"reason", "again"}}); }, 409);
  // --- decisions, by the citizen on the node's page: a wrong code, a bad
  // body, another citizen's request, no session, no CSRF token.
  Http created = Post(client_, "/v1/approvals", {{"subject", "7654321"}, {"documents", {doc}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  const testing::CitizenSession carlos = testing::LogIn(created.Json()["link"], "7654321");
  const testing::CitizenSession ana = testing::LogIn(node_->url() + "/aprobar", "1234567");
  Http begun = Curl("-X POST " + carlos.Headers() + "-H 'Content-Type: application/json' --data '{}' " +
                    Url("/v1/citizen/totp"));
  ASSERT_EQ(begun.status, 201) << begun.body;
  auto decide = [&](const testing::CitizenSession& who, const std::string& verb, const json& body) {
    return [&, verb, body] {
      return Curl("-X POST " + who.Headers() + "-H 'Content-Type: application/json' --data-binary @- " +
                      Url("/v1/citizen/approvals/" + id + "/" + verb),
                  body.dump());
    };
  };
  // Before the authenticator is confirmed there is nothing to decide with.
  ExpectRefusedWithoutAnEntry("no factor yet", decide(carlos, "confirm", {{"code", "000000"}}), 409);
  auto key = crypto::Base32Decode(begun.Json()["secret"].get<std::string>());
  ASSERT_TRUE(key.ok());
  const std::string first = *crypto::Totp(*key, static_cast<uint64_t>(kStart - 30), 6, crypto::OtpHash::kSha1);
  ASSERT_EQ(Curl("-X POST " + carlos.Headers() + "-H 'Content-Type: application/json' --data-binary @- " +
                     Url("/v1/citizen/totp/confirm"),
                 json{{"code", first}}.dump()).status,
            204);
  const std::string right = *crypto::Totp(*key, static_cast<uint64_t>(kStart), 6, crypto::OtpHash::kSha1);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  ExpectRefusedWithoutAnEntry("a wrong code", decide(carlos, "confirm", {{"code", wrong}}), 403);
  ExpectRefusedWithoutAnEntry("a wrong code to reject", decide(carlos, "reject", {{"code", wrong}}), 403);
  ExpectRefusedWithoutAnEntry("no code", decide(carlos, "confirm", json::object()), 400);
  ExpectRefusedWithoutAnEntry("another citizen's request", decide(ana, "confirm", {{"code", right}}), 403);
  ExpectRefusedWithoutAnEntry("no session", [&] {
    return Curl("-X POST -H 'Content-Type: application/json' --data-binary @- " +
                    Url("/v1/citizen/approvals/" + id + "/confirm"),
                json{{"code", right}}.dump());
  }, 401);
  ExpectRefusedWithoutAnEntry("no CSRF token", [&] {
    return Curl("-X POST -H " + ShellQuote("Cookie: " + carlos.cookie) +
                    " -H 'Content-Type: application/json' --data-binary @- " +
                    Url("/v1/citizen/approvals/" + id + "/confirm"),
                json{{"code", right}}.dump());
  }, 403);
  // And the right one decides.
  EXPECT_EQ(decide(carlos, "confirm", {{"code", right}})().status, 200);
  EXPECT_TRUE(Healthy());
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
}

TEST_F(HardeningTest, ARevokedCodesDocumentShowsTheRevocationEverywhere) {
  const std::string pdf = SamplePdf(1, "titulo");
  const std::string sha = crypto::HexEncode(crypto::Sha256(pdf));
  Http issued = Post(client_, "/v1/qr", {{"document", {{"content", B64(pdf)}, {"media_type", "application/pdf"}}},
                                         {"expires_at", "2031-01-01T00:00:00Z"}});
  ASSERT_EQ(issued.status, 201) << issued.body;
  const uint64_t index = issued.Json()["index"];
  Http revoked = Post(client_, "/v1/qr/" + std::to_string(index) + "/revoke", {{"reason", "anulado"}});
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  const uint64_t revocation = revoked.Json()["index"];
  auto has_revocation = [&](const json& records) {
    for (const json& r : records) {
      if (r["type"] == "qr_revoke" && r["entry"]["target"] == index && r["index"] == revocation) return true;
    }
    return false;
  };
  // By hash, and by the file itself: the revocation is among the records,
  // with its own proof, next to the issue.
  json by_hash = Curl(Url("/v1/documents/" + sha)).Json();
  EXPECT_TRUE(has_revocation(by_hash["records"])) << by_hash.dump();
  json by_file = PostPdf(pdf).Json();
  EXPECT_TRUE(has_revocation(by_file["records"])) << by_file.dump();
  // The entry names the document: anyone replaying the log finds it.
  json entry = Curl(Url("/v1/entries/" + std::to_string(revocation))).Json()["entry"];
  EXPECT_EQ(entry["doc"]["sha256"], sha);
}

TEST_F(HardeningTest, QrExpiryTakesRfc3339AsPeopleWriteIt) {
  const json doc = {{"sha256", crypto::HexEncode(crypto::Sha256(std::string("e")))}, {"media_type", "application/pdf"}};
  for (const std::string& t : std::vector<std::string>{"2030-01-01T00:00:00Z", "2030-01-01T00:00:00.5Z", "2030-01-01T04:00:00+04:00", "2029-12-31T19:30:00-04:30",
                              "2030-01-01T00:00:00.000000Z"}) {
    Http h = Post(client_, "/v1/qr", {{"document", doc}, {"expires_at", t}});
    EXPECT_EQ(h.status, 201) << t << ": " << h.body;
    json v = Post(json(), "/v1/qr/verify", {{"qr_text", h.Json()["qr_text"]}}).Json();
    EXPECT_EQ(v["expires_at"], "2030-01-01T00:00:00.000000Z") << t;
  }
}

TEST_F(HardeningTest, TheCommandLineReadsHostilePdfsInASandboxToo) {
  node_->Stop();
  testing::WriteFile(dir_.File("crash.pdf"), testing::EncryptCrashPdf());
  const std::string good = SamplePdf(1, "ok");
  testing::WriteFile(dir_.File("good.pdf"), good);
  auto hashed = RunQuipu("hash " + ShellQuote(dir_.File("crash.pdf")) + " " + ShellQuote(dir_.File("good.pdf")));
  EXPECT_EQ(hashed.exit_code, 2);  // not 139
  EXPECT_NE(hashed.err.find("quipu hash: " + dir_.File("crash.pdf") + ": the PDF could not be read"), std::string::npos)
      << hashed.err;
  EXPECT_NE(hashed.out.find(crypto::HexEncode(crypto::Sha256(good))), std::string::npos) << hashed.out << hashed.err;
  // qr stamp: refused, nothing appended, no output file.
  auto head = [&] { return RunQuipu("log checkpoint --data " + ShellQuote(data_)).out; };
  const std::string checkpoint = head();
  auto stamped = RunQuipu("qr stamp " + ShellQuote(dir_.File("crash.pdf")) + " " + ShellQuote(dir_.File("out.pdf")) +
                          " --data " + ShellQuote(data_));
  EXPECT_EQ(stamped.exit_code, 2) << stamped.err;
  EXPECT_NE(stamped.err.find("could not be read"), std::string::npos) << stamped.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.File("out.pdf")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("out.pdf.tmp")));
  EXPECT_EQ(head(), checkpoint);
  // A page the PDF does not have.
  auto page = RunQuipu("qr stamp " + ShellQuote(dir_.File("good.pdf")) + " " + ShellQuote(dir_.File("out.pdf")) +
                       " --page 4 --data " + ShellQuote(data_));
  EXPECT_EQ(page.exit_code, 2);
  EXPECT_NE(page.err.find("out of range"), std::string::npos) << page.err;
  EXPECT_EQ(head(), checkpoint);
  // A disabled client issues nothing.
  ASSERT_EQ(RunQuipu("client disable " + other_["client_id"].get<std::string>() + " --data " + ShellQuote(data_)).exit_code, 0);
  auto disabled = RunQuipu("qr issue --sha256 " + std::string(64, 'a') + " --client " +
                           other_["client_id"].get<std::string>() + " --data " + ShellQuote(data_));
  EXPECT_EQ(disabled.exit_code, 2);
  EXPECT_NE(disabled.err.find("disabled"), std::string::npos) << disabled.err;
  EXPECT_EQ(head(), checkpoint);
  // --expires-at as people write it.
  auto plain = RunQuipu("qr issue --sha256 " + std::string(64, 'a') + " --expires-at 2035-06-01T00:00:00Z --data " +
                        ShellQuote(data_));
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  auto past = RunQuipu("qr issue --sha256 " + std::string(64, 'a') + " --expires-at 2001-06-01T00:00:00Z --data " +
                       ShellQuote(data_));
  EXPECT_EQ(past.exit_code, 2);
  EXPECT_NE(past.err.find("not in the future"), std::string::npos) << past.err;
}

// CPU seconds (user + system) a process has used.
double CpuSeconds(int pid) {
  std::istringstream in(testing::ReadFile("/proc/" + std::to_string(pid) + "/stat"));
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(all.substr(all.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15; ++i) {
    fields >> f;
    if (i == 14 || i == 15) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

TEST(NodeDescriptors, ConnectionsAreClampedToTheDescriptorLimitAndNothingSpins) {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  // 100 descriptors, 10,000 connections asked for.
  Node node(dir.File("data"), "--max-connections 10000", "ulimit -n 100; ");
  ASSERT_GT(node.port(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(node.Stderr().find("--max-connections lowered to"), std::string::npos) << node.Stderr();
  // Hold far more connections than fit: the extra ones are closed at once,
  // and the accept loop does not spin on them.
  std::vector<int> held;
  for (int i = 0; i < 150; ++i) {
    int fd = testing::Connect(node.port());
    if (fd >= 0) held.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double before = CpuSeconds(node.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double used = CpuSeconds(node.pid()) - before;
  EXPECT_LT(used, 0.5) << "the node burnt " << used << " CPU seconds in 2 s with its connections full";
  for (int fd : held) ::close(fd);
  // Once they are gone, clients are served again.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = Curl("--max-time 2 " + ShellQuote(node.url() + "/healthz")).status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served);
  EXPECT_TRUE(node.Alive());
}

}  // namespace
}  // namespace quipu
