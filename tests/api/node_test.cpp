// `quipu serve` as the built program on a free port, driven by a real HTTP
// client (curl) for the API and by raw sockets for hostile clients. Proofs
// and checkpoints in the answers are checked with the RFC 9162 and
// signed-note verifiers, not with what the node says about them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/sha256.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "pdf/make.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::RunQuipu;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;
using testing::Node;
using testing::Http;
using testing::Curl;
using testing::Connect;
using testing::ReadAll;
using testing::Send;

crypto::Digest FromB64(const std::string& s) {
  auto b = crypto::Base64Decode(s);
  crypto::Digest d{};
  if (b.ok() && b->size() == 32) std::copy(b->begin(), b->end(), d.begin());
  return d;
}

std::vector<crypto::Digest> Proof(const json& j) {
  std::vector<crypto::Digest> out;
  for (const auto& h : j) out.push_back(FromB64(h.get<std::string>()));
  return out;
}

// Checks a checkpoint note against the node's key; returns its body.
ledger::CheckpointFields OpenCheckpoint(const std::string& note, const std::string& vkey) {
  auto v = crypto::ParseVerifierKey(vkey);
  EXPECT_TRUE(v.ok());
  const crypto::NoteVerifier verifiers[] = {*v};
  auto opened = crypto::OpenNote(note, verifiers);
  EXPECT_TRUE(opened.ok() && opened->verified.size() == 1) << note;
  auto body = ledger::ParseCheckpointBody(opened.ok() ? opened->text : "");
  EXPECT_TRUE(body.ok());
  return body.ok() ? *body : ledger::CheckpointFields{};
}

std::string Approval(const std::string& doc_sha, const std::string& media_type, int n) {
  return R"({"type":"approval","client":"c_test","request":"r_)" + std::to_string(n) + R"(","subject":")" +
         crypto::HexEncode(crypto::Sha256(std::to_string(n))) + R"(","doc":{"sha256":")" + doc_sha +
         R"(","media_type":")" + media_type + R"("}})";
}

// A data directory with 600 entries: 597 filler approvals plus approvals of
// a generated PDF (twice) and of a JSON document.
class NodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    data_ = dir_->File("data");
    auto pdf = pdf::MakeSamplePdf(2, "Resolución 123/2026");
    ASSERT_TRUE(pdf.ok());
    pdf_ = std::string(crypto::AsString(*pdf));
    WriteFile(dir_->File("doc.pdf"), pdf_);
    auto stamped = pdf::AppendIncrementalUpdate(*pdf, "stamped");
    ASSERT_TRUE(stamped.ok());
    WriteFile(dir_->File("stamped.pdf"), std::string(crypto::AsString(*stamped)));
    WriteFile(dir_->File("doc.json"), R"({"b":[1,2.50,"x"],"a":{"z":1e2,"y":"ñ"}})");
    WriteFile(dir_->File("reordered.json"), "{ \"a\": {\"y\": \"\\u00f1\", \"z\": 100}, \"b\": [1, 2.5, \"x\"] }");
    pdf_sha_ = crypto::HexEncode(crypto::Sha256(pdf_));
    json_sha_ = RunQuipu("hash " + ShellQuote(dir_->File("doc.json"))).out.substr(0, 64);
    std::string first, lines;
    for (int i = 0; i < 600; ++i) {
      if (i == 100) first.swap(lines);
      if (i == 7 || i == 300) {
        lines += Approval(pdf_sha_, "application/pdf", i) + "\n";
      } else if (i == 450) {
        lines += Approval(json_sha_, "application/json", i) + "\n";
      } else {
        lines += Approval(crypto::HexEncode(crypto::Sha256("filler" + std::to_string(i))), "application/pdf", i) + "\n";
      }
    }
    ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    // Two runs, so that a checkpoint for size 100 surely exists.
    auto appended = RunQuipu("log append --batch 100 --data " + ShellQuote(data_), first);
    ASSERT_EQ(appended.exit_code, 0) << appended.err;
    appended = RunQuipu("log append --batch 100 --data " + ShellQuote(data_), lines);
    ASSERT_EQ(appended.exit_code, 0) << appended.err;
    node_ = new Node(data_);
    auto log = Curl(node_->url() + "/v1/log").Json();
    vkey_ = log["vkey"];
  }
  static void TearDownTestSuite() {
    delete node_;
    delete dir_;
  }
  static std::string Url(const std::string& path) { return ShellQuote(node_->url() + path); }

  static TempDir* dir_;
  static Node* node_;
  static std::string data_, pdf_, pdf_sha_, json_sha_, vkey_;
};
TempDir* NodeTest::dir_;
Node* NodeTest::node_;
std::string NodeTest::data_, NodeTest::pdf_, NodeTest::pdf_sha_, NodeTest::json_sha_, NodeTest::vkey_;

TEST_F(NodeTest, LogAndCheckpoint) {
  Http log = Curl(Url("/v1/log"));
  ASSERT_EQ(log.status, 200);
  EXPECT_NE(log.headers.find("Content-Type: application/json"), std::string::npos);
  json j = log.Json();
  EXPECT_EQ(j["origin"], "quipu.localhost/log");
  EXPECT_EQ(j["tree_size"], 600);
  auto body = OpenCheckpoint(j["checkpoint"], vkey_);
  EXPECT_EQ(body.tree_size, 600u);
  EXPECT_EQ(crypto::Base64Encode(body.root), j["root"]);
  Http cp = Curl(Url("/checkpoint"));
  EXPECT_EQ(cp.status, 200);
  EXPECT_EQ(cp.body, j["checkpoint"]);
  EXPECT_NE(cp.headers.find("text/plain"), std::string::npos);
  EXPECT_EQ(RunQuipu("log vkey --data " + ShellQuote(data_)).out, vkey_ + "\n");
}

TEST_F(NodeTest, CheckpointsBySize) {
  Http h = Curl(Url("/v1/checkpoints/600"));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(OpenCheckpoint(h.body, vkey_).tree_size, 600u);
  EXPECT_EQ(Curl(Url("/v1/checkpoints/0")).status, 200);
  Http missing = Curl(Url("/v1/checkpoints/601"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.headers.find("application/problem+json"), std::string::npos);
  EXPECT_EQ(missing.Json()["status"], 404);
  EXPECT_EQ(Curl(Url("/v1/checkpoints/abc")).status, 400);
  EXPECT_EQ(Curl(Url("/v1/checkpoints/007")).status, 400);
}

TEST_F(NodeTest, EntriesCarryVerifiableProofs) {
  const json log = Curl(Url("/v1/log")).Json();
  const crypto::Digest root = FromB64(log["root"]);
  for (int index : {0, 7, 255, 256, 599}) {
    Http h = Curl(Url("/v1/entries/" + std::to_string(index)));
    ASSERT_EQ(h.status, 200) << h.body;
    json j = h.Json();
    EXPECT_EQ(j["index"], index);
    EXPECT_EQ(j["tree_size"], 600);
    const std::string bytes = RunQuipu("log entry " + std::to_string(index) + " --data " + ShellQuote(data_)).out;
    EXPECT_EQ(j["entry"].dump(), bytes);
    const crypto::Digest leaf = ledger::LeafHash(crypto::AsBytes(bytes));
    EXPECT_EQ(FromB64(j["leaf_hash"]), leaf);
    EXPECT_TRUE(ledger::VerifyInclusion(index, 600, leaf, Proof(j["proof"]), root));
    EXPECT_EQ(j["checkpoint"], log["checkpoint"]);
  }
  // A proof to an earlier size verifies against that size's root.
  json j = Curl(Url("/v1/entries/7?size=100")).Json();
  EXPECT_EQ(j["tree_size"], 100);
  auto cp = OpenCheckpoint(Curl(Url("/v1/checkpoints/100")).body, vkey_);
  EXPECT_TRUE(ledger::VerifyInclusion(7, 100, FromB64(j["leaf_hash"]), Proof(j["proof"]), cp.root));
  EXPECT_EQ(Curl(Url("/v1/entries/600")).status, 404);
  EXPECT_EQ(Curl(Url("/v1/entries/7?size=601")).status, 404);
  EXPECT_EQ(Curl(Url("/v1/entries/7?size=5")).status, 404);
  EXPECT_EQ(Curl(Url("/v1/entries/-1")).status, 400);
  EXPECT_EQ(Curl(Url("/v1/entries/1?size=x")).status, 400);
}

TEST_F(NodeTest, ConsistencyProofsVerify) {
  const auto old_cp = OpenCheckpoint(Curl(Url("/v1/checkpoints/100")).body, vkey_);
  const auto new_cp = OpenCheckpoint(Curl(Url("/checkpoint")).body, vkey_);
  Http h = Curl(Url("/v1/proof/consistency?old=100&new=600"));
  ASSERT_EQ(h.status, 200);
  json j = h.Json();
  EXPECT_EQ(j["old"], 100);
  EXPECT_EQ(j["new"], 600);
  EXPECT_TRUE(ledger::VerifyConsistency(100, 600, old_cp.root, new_cp.root, Proof(j["proof"])));
  EXPECT_EQ(Curl(Url("/v1/proof/consistency?old=100")).status, 400);
  EXPECT_EQ(Curl(Url("/v1/proof/consistency?old=700&new=600")).status, 400);
  EXPECT_EQ(Curl(Url("/v1/proof/consistency?old=1&new=601")).status, 404);
}

TEST_F(NodeTest, BlocksChain) {
  Http latest = Curl(Url("/v1/blocks/latest"));
  ASSERT_EQ(latest.status, 200);
  json l = latest.Json();
  EXPECT_EQ(l["tree_size"], 600);
  const uint64_t height = l["height"];
  json prev = Curl(Url("/v1/blocks/" + std::to_string(height - 1))).Json();
  EXPECT_EQ(l["prev"], crypto::Base64Encode(crypto::Sha256(prev["header"].get<std::string>())));
  EXPECT_EQ(l["prev"], prev["hash"]);
  EXPECT_EQ(Curl(Url("/v1/blocks/0")).Json()["prev"], crypto::Base64Encode(crypto::Digest{}));
  EXPECT_EQ(Curl(Url("/v1/blocks/" + std::to_string(height + 1))).status, 404);
  EXPECT_EQ(Curl(Url("/v1/blocks/x")).status, 400);
}

TEST_F(NodeTest, TilesMatchTheLogByteForByte) {
  // Entry bundle 0 holds entries 0..255; hash tile 0/0 their leaf hashes.
  Http bundle = Curl(Url("/tile/entries/000"));
  ASSERT_EQ(bundle.status, 200);
  EXPECT_NE(bundle.headers.find("immutable"), std::string::npos);
  Http tile = Curl(Url("/tile/0/000"));
  ASSERT_EQ(tile.status, 200);
  ASSERT_EQ(tile.body.size(), 256u * 32);
  size_t at = 0;
  for (int i = 0; i < 256; ++i) {
    const size_t len = (static_cast<uint8_t>(bundle.body[at]) << 8) | static_cast<uint8_t>(bundle.body[at + 1]);
    const std::string entry = bundle.body.substr(at + 2, len);
    at += 2 + len;
    const crypto::Digest leaf = ledger::LeafHash(crypto::AsBytes(entry));
    ASSERT_EQ(tile.body.substr(static_cast<size_t>(i) * 32, 32), std::string(crypto::AsString(leaf))) << i;
    if (i == 7) {
      EXPECT_EQ(entry, RunQuipu("log entry 7 --data " + ShellQuote(data_)).out);
    }
  }
  EXPECT_EQ(at, bundle.body.size());
  // 600 entries: tile 0/002 is partial with 88 hashes; level 1 has 2.
  Http partial = Curl(Url("/tile/0/002.p/88"));
  EXPECT_EQ(partial.status, 200);
  EXPECT_EQ(partial.body.size(), 88u * 32);
  EXPECT_EQ(partial.body.substr(0, 32 * 10), Curl(Url("/tile/0/002.p/10")).body);
  EXPECT_EQ(Curl(Url("/tile/0/002.p/89")).status, 404);
  EXPECT_EQ(Curl(Url("/tile/0/002")).status, 404);
  EXPECT_EQ(Curl(Url("/tile/0/003.p/1")).status, 404);
  EXPECT_EQ(Curl(Url("/tile/1/000.p/2")).status, 200);
  EXPECT_EQ(Curl(Url("/tile/1/000.p/3")).status, 404);
  EXPECT_EQ(Curl(Url("/tile/entries/002.p/88")).status, 200);
  EXPECT_EQ(Curl(Url("/tile/entries/002.p/89")).status, 404);
  EXPECT_EQ(Curl(Url("/tile/0/2")).status, 404);          // not canonical
  EXPECT_EQ(Curl(Url("/tile/0/x000/002")).status, 404);   // not canonical
  EXPECT_EQ(Curl(Url("/tile/9/000")).status, 404);
}

TEST_F(NodeTest, DocumentsByHash) {
  Http h = Curl(Url("/v1/documents/" + pdf_sha_));
  ASSERT_EQ(h.status, 200);
  json j = h.Json();
  EXPECT_EQ(j["found"], true);
  ASSERT_EQ(j["records"].size(), 2u);
  const crypto::Digest root = OpenCheckpoint(j["checkpoint"], vkey_).root;
  for (const json& r : j["records"]) {
    const uint64_t index = r["index"];
    EXPECT_TRUE(index == 7 || index == 300);
    EXPECT_EQ(r["type"], "approval");
    EXPECT_EQ(r["client"], "c_test");
    EXPECT_EQ(r["entry"]["doc"]["sha256"], pdf_sha_);
    const crypto::Digest leaf = ledger::LeafHash(crypto::AsBytes(r["entry"].dump()));
    EXPECT_EQ(FromB64(r["leaf_hash"]), leaf);
    EXPECT_TRUE(ledger::VerifyInclusion(index, j["tree_size"], leaf, Proof(r["proof"]), root));
  }
  json none = Curl(Url("/v1/documents/" + std::string(64, '0'))).Json();
  EXPECT_EQ(none["found"], false);
  EXPECT_TRUE(none["records"].empty());
  EXPECT_EQ(Curl(Url("/v1/documents/xyz")).status, 400);
  EXPECT_EQ(Curl(Url("/v1/documents/" + std::string(64, 'G'))).status, 400);
}

TEST_F(NodeTest, VerifyPdfJsonAndStampedRevisions) {
  Http pdf = Curl("-X POST -H 'Content-Type: application/pdf' --data-binary @" +
                  ShellQuote(dir_->File("doc.pdf")) + " " + Url("/v1/verify"));
  ASSERT_EQ(pdf.status, 200) << pdf.body;
  EXPECT_EQ(pdf.Json()["found"], true);
  EXPECT_EQ(pdf.Json()["sha256"], pdf_sha_);
  EXPECT_EQ(pdf.Json()["media_type"], "application/pdf");
  // Sniffed when no type is given.
  Http sniffed = Curl("-X POST --data-binary @" + ShellQuote(dir_->File("doc.pdf")) + " " + Url("/v1/verify"));
  EXPECT_EQ(sniffed.Json()["found"], true);
  // The stamped PDF itself is not recorded; its first revision is.
  Http stamped = Curl("-X POST -H 'Content-Type: application/pdf' --data-binary @" +
                      ShellQuote(dir_->File("stamped.pdf")) + " " + Url("/v1/verify"));
  ASSERT_EQ(stamped.status, 200);
  json s = stamped.Json();
  EXPECT_EQ(s["found"], false);
  ASSERT_EQ(s["revisions"].size(), 1u);
  EXPECT_EQ(s["revisions"][0]["sha256"], pdf_sha_);
  EXPECT_EQ(s["revisions"][0]["length"], pdf_.size());
  EXPECT_EQ(s["revisions"][0]["found"], true);
  EXPECT_EQ(s["revisions"][0]["records"].size(), 2u);
  // JSON: another spelling of the same document is the same document.
  Http js = Curl("-X POST -H 'Content-Type: application/json' --data-binary @" +
                 ShellQuote(dir_->File("reordered.json")) + " " + Url("/v1/verify"));
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_EQ(js.Json()["found"], true);
  EXPECT_EQ(js.Json()["records"][0]["index"], 450);
  // One byte changed, the PDF still well formed (a letter of its
  // /Creator): not found.
  std::string changed = pdf_;
  const size_t creator = changed.find("(quipu)");
  ASSERT_NE(creator, std::string::npos);
  changed[creator + 5] = 'v';
  WriteFile(dir_->File("changed.pdf"), changed);
  Http c = Curl("-X POST -H 'Content-Type: application/pdf' --data-binary @" + ShellQuote(dir_->File("changed.pdf")) +
                " " + Url("/v1/verify"));
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.Json()["found"], false);
  // One byte changed in its structure: a PDF the node cannot read (422).
  changed = pdf_;
  changed[changed.size() / 2] ^= 1;
  WriteFile(dir_->File("broken.pdf"), changed);
  Http b = Curl("-X POST -H 'Content-Type: application/pdf' --data-binary @" + ShellQuote(dir_->File("broken.pdf")) +
                " " + Url("/v1/verify"));
  if (b.status == 200) {
    EXPECT_EQ(b.Json()["found"], false);
  } else {
    EXPECT_EQ(b.status, 422) << b.body;
  }
}

TEST_F(NodeTest, VerifyRejectsBadBodies) {
  auto post = [&](const std::string& type, const std::string& body) {
    return Curl("-X POST " + (type.empty() ? "" : "-H " + ShellQuote("Content-Type: " + type)) +
                    " --data-binary @- " + Url("/v1/verify"),
                body);
  };
  EXPECT_EQ(post("application/json", "{\"a\":1,\"a\":2}").status, 400);
  EXPECT_EQ(post("application/json", "{nope").status, 400);
  EXPECT_EQ(post("application/pdf", "%PDF-1.7\nnot really").status, 422);
  EXPECT_EQ(post("", std::string("\x00\x01\x02garbage", 10)).status, 415);
  Http wrong = post("text/html", "<html>");
  EXPECT_EQ(wrong.status, 415);
  EXPECT_NE(wrong.headers.find("application/problem+json"), std::string::npos);
  EXPECT_EQ(post("application/json", "").status, 400);
  EXPECT_EQ(Curl("-X GET " + Url("/v1/verify")).status, 405);
}

TEST_F(NodeTest, ErrorsAreProblemsWithAllow) {
  Http h = Curl("-X DELETE " + Url("/v1/log"));
  EXPECT_EQ(h.status, 405);
  EXPECT_NE(h.headers.find("Allow: GET, HEAD"), std::string::npos) << h.headers;
  json p = h.Json();
  EXPECT_EQ(p["status"], 405);
  EXPECT_TRUE(p.contains("title") && p.contains("detail") && p.contains("type"));
  Http missing = Curl(Url("/v2/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.headers.find("application/problem+json"), std::string::npos);
  // HEAD: the GET's headers, no body (read from the socket: clients hide this).
  int fd = Connect(node_->port());
  ASSERT_GE(fd, 0);
  Send(fd, "HEAD /v1/log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string reply = ReadAll(fd, std::chrono::milliseconds(2000));
  ::close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  const size_t end = reply.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(end + 4, reply.size()) << "a body followed the HEAD response";
  const std::string get_body = Curl(Url("/v1/log")).body;
  EXPECT_NE(reply.find("Content-Length: " + std::to_string(get_body.size())), std::string::npos) << reply;
}

TEST_F(NodeTest, ServesTheVerificationPageWithItsKey) {
  Http page = Curl(Url("/"));
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("text/html"), std::string::npos);
  EXPECT_NE(page.headers.find("Content-Security-Policy: default-src 'self'"), std::string::npos);
  EXPECT_NE(page.body.find("content=\"" + vkey_ + "\""), std::string::npos);
  EXPECT_EQ(page.body.find("{{QUIPU_VKEY}}"), std::string::npos);
  Http js = Curl(Url("/app.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_NE(js.headers.find("javascript"), std::string::npos);
  EXPECT_GT(js.body.size(), 10000u);  // jsQR is bundled in: nothing is loaded from elsewhere
  EXPECT_EQ(Curl(Url("/style.css")).status, 200);
}

TEST_F(NodeTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(Curl(Url("/healthz")).status, 200);
  EXPECT_EQ(Curl(Url("/readyz")).status, 200);
  Curl(Url("/v1/entries/1"));
  Http m = Curl(Url("/metrics"));
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("quipu_http_requests_total{route=\"/v1/entries/{}\",method=\"GET\",status=\"200\"}"),
            std::string::npos);
  EXPECT_NE(m.body.find("quipu_http_request_duration_seconds_bucket{route=\"/v1/entries/{}\",le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_NE(m.body.find("quipu_ledger_tree_size 600"), std::string::npos);
  EXPECT_NE(m.body.find("quipu_sequencer_queue_entries 0"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE quipu_sequencer_commit_seconds histogram"), std::string::npos);
}

TEST_F(NodeTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto r = RunShell("curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\\n' " + Url("/healthz") +
                    " " + Url("/v1/log") + " " + Url("/checkpoint"));
  EXPECT_EQ(r.out, "1\n0\n0\n");
}

TEST_F(NodeTest, AccessLogIsJsonWithoutQueryStrings) {
  Curl(Url("/v1/entries/3?size=100&token=s3cret"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string err = node_->Stderr();
  EXPECT_EQ(err.find("s3cret"), std::string::npos);
  bool seen = false;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j["event"] == "request" && j["path"] == "/v1/entries/3") {
      seen = true;
      EXPECT_EQ(j["route"], "/v1/entries/{}");
      EXPECT_EQ(j["status"], 200);
      EXPECT_TRUE(j.contains("us") && j.contains("bytes") && j.contains("method"));
    }
  }
  EXPECT_TRUE(seen);
}

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    node_ = std::make_unique<Node>(dir_.File("data"),
                                   "--body-limit 4096 --header-timeout-ms 1500 --request-timeout-ms 3000");
  }
  bool Healthy() { return Curl(ShellQuote(node_->url() + "/healthz")).status == 200; }
  TempDir dir_;
  std::unique_ptr<Node> node_;
};

TEST_F(HostileTest, GarbageAndMalformedRequestsGet400AndTheServerStaysUp) {
  for (const std::string& junk : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                                  std::string("GET\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                                  std::string("BREW /pot HTCPCP/1.0\r\n\r\n"),
                                  std::string("GET /v1/log HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")}) {
    int fd = Connect(node_->port());
    ASSERT_GE(fd, 0);
    Send(fd, junk);
    const std::string reply = ReadAll(fd, std::chrono::milliseconds(2000));
    ::close(fd);
    EXPECT_TRUE(reply.empty() || reply.rfind("HTTP/1.1 400", 0) == 0 || reply.rfind("HTTP/1.1 405", 0) == 0)
        << reply;
  }
  EXPECT_TRUE(Healthy());
}

TEST_F(HostileTest, TruncatedRequestsDoNotHurt) {
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(node_->port());
    Send(fd, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":");
    ::close(fd);
  }
  int fd = Connect(node_->port());
  Send(fd, "GET /v1/lo");
  ::close(fd);
  EXPECT_TRUE(Healthy());
  EXPECT_TRUE(node_->Alive());
}

TEST_F(HostileTest, OversizedBodiesAndHeadersAreRefused) {
  Http big = Curl("-X POST -H 'Content-Type: application/json' --data-binary @- " +
                      ShellQuote(node_->url() + "/v1/verify"),
                  "[" + std::string(10000, '1') + "]");
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.headers.find("application/problem+json"), std::string::npos);
  // Chunked, with no length announced: cut at the limit.
  int fd = Connect(node_->port());
  Send(fd, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 10; ++i) {
    const std::string chunk = "3e8\r\n" + std::string(1000, 'a') + "\r\n";
    if (::write(fd, chunk.data(), chunk.size()) < 0) break;  // the server may stop reading
  }
  const std::string reply = ReadAll(fd, std::chrono::milliseconds(2000));
  ::close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 100);
  Http headers = Curl("-H " + ShellQuote("X-Big: " + std::string(20000, 'h')) + " " +
                      ShellQuote(node_->url() + "/healthz"));
  EXPECT_EQ(headers.status, 431);
  EXPECT_TRUE(Healthy());
}

TEST_F(HostileTest, HeadersTrickledSlowlyAreCutOff) {
  int fd = Connect(node_->port());
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (char c : req) {
    if (::write(fd, &c, 1) != 1) {
      closed = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[256];
      if (::read(fd, buf, sizeof buf) <= 0) {
        closed = true;
        break;
      }
    }
    // Meanwhile, others are served.
    if (c == 'X') {
      EXPECT_TRUE(Healthy());
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  EXPECT_TRUE(closed) << "a request trickled over " << secs << " s was served";
  EXPECT_LT(secs, 4.0);
}

TEST_F(HostileTest, AThousandIdleConnectionsDoNotBlockOthers) {
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    int fd = Connect(node_->port());
    if (fd >= 0) fds.push_back(fd);
  }
  EXPECT_GE(fds.size(), 900u);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Healthy());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(Healthy());
}

TEST_F(HostileTest, SigtermStopsCleanlyAndTheLedgerAudits) {
  EXPECT_TRUE(Healthy());
  EXPECT_EQ(node_->Stop(), 0);
  const std::string err = node_->Stderr();
  EXPECT_NE(err.find("\"event\":\"stop\""), std::string::npos) << err;
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(dir_.File("data"))).exit_code, 0);
}

TEST(NodeStart, ASecondNodeOnTheSameDataIsRefused) {
  TempDir dir;
  Node first(dir.File("data"));
  auto second = RunQuipu("serve --listen 127.0.0.1:0 --data " + ShellQuote(dir.File("data")));
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("in use by another writer"), std::string::npos) << second.err;
  auto bad = RunQuipu("serve --listen nowhere --data " + ShellQuote(dir.File("other")));
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace quipu
