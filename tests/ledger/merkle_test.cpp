// The RFC 9162 Merkle core against a naive reference written from the RFC's
// definitions (MTH, PATH, PROOF/SUBPROOF), on every tree size up to 300 and
// every (index, size) and (old, new) pair up to 130 leaves; the ledger's
// stored hash rows against the same reference; and roots and proofs checked
// by Go's golang.org/x/mod/sumdb/tlog. Also the C2SP tile paths.
#include "ledger/merkle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>

#include "crypto/encoding.h"
#include "ledger/log.h"
#include "ledger/tiles.h"
#include "tests/common/process.h"
#include "tests/ledger/test_entry_types.h"

namespace quipu::ledger {
namespace {

using crypto::Digest;
namespace fs = std::filesystem;

// --- the reference, straight from RFC 9162 §2.1 -----------------------------

Digest RefLeaf(const std::string& data) { return crypto::Sha256(std::string(1, '\0') + data); }

Digest RefNode(const Digest& l, const Digest& r) {
  return crypto::Sha256(std::string(1, '\1') + std::string(crypto::AsString(l)) + std::string(crypto::AsString(r)));
}

uint64_t K(uint64_t n) {  // the largest power of two smaller than n
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Digest Mth(const std::vector<std::string>& d, uint64_t a, uint64_t b) {
  if (b == a) return crypto::Sha256(std::string_view());
  if (b - a == 1) return RefLeaf(d[a]);
  const uint64_t k = K(b - a);
  return RefNode(Mth(d, a, a + k), Mth(d, a + k, b));
}

std::vector<Digest> RefPath(uint64_t m, const std::vector<std::string>& d, uint64_t a, uint64_t b) {
  if (b - a == 1) return {};
  const uint64_t k = K(b - a);
  std::vector<Digest> out;
  if (m < k) {
    out = RefPath(m, d, a, a + k);
    out.push_back(Mth(d, a + k, b));
  } else {
    out = RefPath(m - k, d, a + k, b);
    out.push_back(Mth(d, a, a + k));
  }
  return out;
}

std::vector<Digest> RefSubproof(uint64_t m, const std::vector<std::string>& d, uint64_t a, uint64_t b, bool whole) {
  const uint64_t n = b - a;
  if (m == n) return whole ? std::vector<Digest>{} : std::vector<Digest>{Mth(d, a, b)};
  const uint64_t k = K(n);
  std::vector<Digest> out;
  if (m <= k) {
    out = RefSubproof(m, d, a, a + k, whole);
    out.push_back(Mth(d, a + k, b));
  } else {
    out = RefSubproof(m - k, d, a + k, b, false);
    out.push_back(Mth(d, a, a + k));
  }
  return out;
}

// Answers StoredHash from the reference, for complete subtrees of the
// first `n` leaves only (as a real store would).
class RefReader final : public HashReader {
 public:
  RefReader(const std::vector<std::string>& d, uint64_t n) : d_(d), n_(n) {}
  Result<Digest> StoredHash(int level, uint64_t index) const override {
    const uint64_t a = index << level, b = (index + 1) << level;
    if (b > n_) return NotFound("incomplete subtree");
    return Mth(d_, a, b);
  }

 private:
  const std::vector<std::string>& d_;
  uint64_t n_;
};

std::vector<std::string> Leaves(size_t n) {
  std::vector<std::string> d;
  for (size_t i = 0; i < n; ++i) d.push_back("leaf " + std::to_string(i) + std::string(i % 5, '*'));
  return d;
}

TEST(Merkle, LeafAndNodeHashesAreRfc9162s) {
  EXPECT_EQ(LeafHash(crypto::AsBytes("")), RefLeaf(""));
  EXPECT_EQ(crypto::HexEncode(LeafHash(crypto::AsBytes(""))),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  const Digest a = RefLeaf("a"), b = RefLeaf("b");
  EXPECT_EQ(NodeHash(a, b), RefNode(a, b));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
}

TEST(Merkle, RootsOfEverySizeUpTo300) {
  const auto d = Leaves(300);
  for (uint64_t n = 0; n <= 300; ++n) {
    RefReader r(d, n);
    auto root = TreeRoot(n, r);
    ASSERT_TRUE(root.ok()) << n;
    ASSERT_EQ(*root, Mth(d, 0, n)) << n;
  }
}

TEST(Merkle, InclusionProofsForEveryPairUpTo130AndSampledTo300) {
  const auto d = Leaves(300);
  std::mt19937 rng(7);
  for (uint64_t n = 1; n <= 300; ++n) {
    RefReader r(d, n);
    const Digest root = Mth(d, 0, n);
    for (uint64_t i = 0; i < n; ++i) {
      if (n > 130 && i % 13 != n % 13) continue;
      auto proof = ProveInclusion(i, n, r);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, RefPath(i, d, 0, n)) << i << "/" << n;
      const Digest leaf = RefLeaf(d[i]);
      ASSERT_TRUE(VerifyInclusion(i, n, leaf, *proof, root)) << i << "/" << n;
      // Any change is caught.
      EXPECT_FALSE(VerifyInclusion(i, n, RefLeaf("other"), *proof, root));
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, leaf, *proof, root));
      }
      if (!proof->empty()) {
        auto bad = *proof;
        bad[rng() % bad.size()][rng() % 32] ^= 1;
        EXPECT_FALSE(VerifyInclusion(i, n, leaf, bad, root));
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(i, n, leaf, shorter, root));
      }
      auto longer = *proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(i, n, leaf, longer, root));
    }
  }
}

TEST(Merkle, ConsistencyProofsForEveryPairUpTo130) {
  const auto d = Leaves(130);
  std::mt19937 rng(11);
  for (uint64_t n = 1; n <= 130; ++n) {
    RefReader r(d, n);
    const Digest new_root = Mth(d, 0, n);
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = ProveConsistency(m, n, r);
      ASSERT_TRUE(proof.ok());
      const auto want = m == n ? std::vector<Digest>{} : RefSubproof(m, d, 0, n, true);
      ASSERT_EQ(*proof, want) << m << "->" << n;
      const Digest old_root = Mth(d, 0, m);
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, new_root, *proof)) << m << "->" << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, RefLeaf("x"), new_root, *proof));
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, RefLeaf("x"), *proof));
        if (m > 1) {
          EXPECT_FALSE(VerifyConsistency(m - 1, n, old_root, new_root, *proof));
        }
        auto bad = *proof;
        bad[rng() % bad.size()][rng() % 32] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, bad));
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, shorter));
      }
    }
  }
}

TEST(Merkle, ErrorCases) {
  const auto d = Leaves(10);
  RefReader r(d, 10);
  EXPECT_EQ(ProveInclusion(10, 10, r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ProveInclusion(0, 0, r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ProveConsistency(11, 10, r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ProveConsistency(0, 10, r)->empty());
  EXPECT_TRUE(VerifyConsistency(0, 10, Digest{}, Mth(d, 0, 10), {}));
  EXPECT_FALSE(VerifyInclusion(0, 0, RefLeaf(d[0]), {}, Digest{}));
  // A reader that lacks a hash makes the proof fail, not lie.
  RefReader short_reader(d, 4);
  EXPECT_FALSE(ProveInclusion(5, 10, short_reader).ok());
  EXPECT_FALSE(TreeRoot(10, short_reader).ok());
}

// --- the ledger's stored rows, and Go's tlog ----------------------------------

// A 300-entry ledger appended in uneven batches; its entries' bytes.
struct Ledger {
  std::unique_ptr<testing::TempDir> dir = std::make_unique<testing::TempDir>();
  std::unique_ptr<Log> log;
  std::vector<std::string> entries;
};

// A ledger of `total` retract entries appended in requests of the sizes
// in `batches`, cycled.
Ledger BuildLedger(const std::vector<int>& batches = {1, 7, 1, 256, 3, 2, 30}, uint64_t total = 300) {
  Ledger l;
  LogOptions o;
  o.dir = l.dir->File("data");
  o.sync = SyncMode::kNone;
  o.entry_schema = TestEntryTypes();
  auto log = Log::Open(o);
  EXPECT_TRUE(log.ok());
  l.log = std::move(*log);
  uint64_t n = 0;
  for (size_t i = 0; n < total; ++i) {
    AppendRequest req;
    for (int j = 0; j < batches[i % batches.size()] && n < total; ++j, ++n) {
      req.entries.push_back({{"type", "retract"}, {"author", "a"}, {"target", n}, {"reason", "r" + std::to_string(n)}});
    }
    EXPECT_TRUE(l.log->Append(std::move(req)).get().ok());
  }
  for (uint64_t i = 0; i < total; ++i) l.entries.push_back(*l.log->Entry(i));
  return l;
}

TEST(Merkle, StoredRowsGiveTheReferenceRootForEverySize) {
  Ledger l = BuildLedger();
  for (uint64_t n = 0; n <= 300; ++n) {
    auto root = l.log->Root(n);
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(*root, Mth(l.entries, 0, n)) << n;
  }
}

// Commits of hundreds and thousands of entries hash their leaves and parent
// levels on two threads (the sequencer's helper): the rows must still give
// the reference root at every commit boundary and at sizes in between.
TEST(Merkle, StoredRowsMatchTheReferenceAfterLargeCommits) {
  const std::vector<int> batches{700, 1, 2000, 257, 4097};
  Ledger l = BuildLedger(batches, 7055);
  std::vector<uint64_t> sizes{0, 511, 1024, 2701, 4096, 5000};
  uint64_t end = 0;
  for (int b : batches) sizes.push_back(end += static_cast<uint64_t>(b));  // commit boundaries
  for (uint64_t n : sizes) {
    auto root = l.log->Root(n);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, Mth(l.entries, 0, n)) << n;
  }
}

std::string Go() {
  for (const char* p : {"/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return {};
}

TEST(Merkle, GoTlogAcceptsOurRootsAndProofs) {
  const std::string go = Go();
  ASSERT_FALSE(go.empty()) << "install Debian golang-go and golang-golang-x-mod-dev";
  const std::string build = QUIPU_BUILD_DIR;
  const std::string bin = build + "/interop/tlog_interop";
  const std::string tmp = bin + ".tmp" + std::to_string(getpid());
  fs::create_directories(build + "/interop");
  auto built = testing::RunShell("cd " + testing::ShellQuote(QUIPU_SOURCE_DIR) +
                                 " && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=" +
                                 testing::ShellQuote(build + "/go-cache") + " " + go + " build -o " +
                                 testing::ShellQuote(tmp) + " ./tests/interop/tlog && mv " +
                                 testing::ShellQuote(tmp) + " " + testing::ShellQuote(bin));
  ASSERT_EQ(built.exit_code, 0) << built.err;

  Ledger l = BuildLedger();
  std::string entries;
  for (const auto& e : l.entries) entries += e + "\n";
  testing::TempDir dir;
  testing::WriteFile(dir.File("entries"), entries);
  auto b64 = [](const Digest& h) { return crypto::Base64Encode(h); };
  std::string queries;
  size_t count = 0;
  for (uint64_t n = 1; n <= 300; ++n) {
    const Digest root = *l.log->Root(n);
    queries += "root " + std::to_string(n) + " " + b64(root) + "\n";
    ++count;
    for (uint64_t i = n % 17; i < n; i += 17) {
      auto p = l.log->ProveInclusion(i, n);
      ASSERT_TRUE(p.ok());
      queries += "incl " + std::to_string(i) + " " + std::to_string(n) + " " + b64(p->leaf_hash) + " " + b64(root);
      for (const auto& h : p->proof) queries += " " + b64(h);
      queries += "\n";
      ++count;
    }
    for (uint64_t m = 1 + n % 23; m < n; m += 23) {
      auto c = l.log->ProveConsistency(m, n);
      ASSERT_TRUE(c.ok());
      queries += "cons " + std::to_string(m) + " " + std::to_string(n) + " " + b64(*l.log->Root(m)) + " " + b64(root);
      for (const auto& h : *c) queries += " " + b64(h);
      queries += "\n";
      ++count;
    }
  }
  auto r = testing::RunShell(testing::ShellQuote(bin) + " " + testing::ShellQuote(dir.File("entries")), queries);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  size_t ok = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line == "ok") ++ok;
    else ADD_FAILURE() << line;
  }
  EXPECT_EQ(ok, count);
  // And Go notices a wrong proof.
  auto bad = testing::RunShell(testing::ShellQuote(bin) + " " + testing::ShellQuote(dir.File("entries")),
                               "root 5 " + b64(*l.log->Root(6)) + "\n");
  EXPECT_EQ(bad.exit_code, 1);
}

// --- C2SP tlog-tiles paths -----------------------------------------------------

TEST(Tiles, PathsAsTheSpecWritesThem) {
  EXPECT_EQ(TilePath({0, 0, 256}), "tile/0/000");
  EXPECT_EQ(TilePath({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({0, 1234067, 8}), "tile/0/x001/x234/067.p/8");
  EXPECT_EQ(TilePath({-1, 1234067, 256}), "tile/entries/x001/x234/067");
  EXPECT_EQ(TilePath({2, 1000, 1}), "tile/2/x001/000.p/1");
  EXPECT_EQ(TilePath({1, 999, 255}), "tile/1/999.p/255");
}

TEST(Tiles, ParseRoundTrips) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    TileAddr a;
    a.level = static_cast<int>(rng() % 9) - 1;
    a.index = rng() >> (rng() % 64);
    a.width = 1 + static_cast<int>(rng() % 256);
    auto back = ParseTilePath(TilePath(a));
    ASSERT_TRUE(back.ok()) << TilePath(a);
    EXPECT_EQ(*back, a) << TilePath(a);
  }
}

TEST(Tiles, ParseRefusesOtherSpellings) {
  for (const char* bad : {"", "tile", "tile/", "tile/0", "tile/0/", "tile/0/1", "tile/0/01", "tile/0/0000",
                          "tile/0/x000/001", "tile/0/001/002", "tile/0/x01/002", "tile/0/x001/02",
                          "tile/00/001", "tile/8/001", "tile/-1/001", "tile/0/001.p/0", "tile/0/001.p/256",
                          "tile/0/001.p/08", "tile/0/001.p/", "tile/0/001.p", "tile/data/001", "tiles/0/001",
                          "tile/0/0a1", "tile/entries/", "tile/0/x001/x002/x003/x004/x005/x006/x007/008"}) {
    EXPECT_FALSE(ParseTilePath(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace quipu::ledger
