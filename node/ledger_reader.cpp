#include "node/ledger_reader.h"

#include "ledger/tlog_proof.h"

#include "ledger/log.h"
#include "ledger/tiles.h"

namespace quipu::node {

const std::string& LedgerReader::origin() const { return log_.origin(); }
const std::string& LedgerReader::verifier_key() const { return log_.verifier_key(); }

LedgerHead LedgerReader::Head() const {
  const ledger::LogHead h = log_.Head();
  return {h.tree_size, h.root, h.checkpoint};
}

Result<std::string> LedgerReader::Checkpoint(uint64_t tree_size) const { return log_.Checkpoint(tree_size); }

Result<TileBytes> LedgerReader::Tile(std::string_view path) const {
  QUIPU_ASSIGN_OR_RETURN(ledger::TileAddr addr, ledger::ParseTilePath(path));
  auto body = addr.level < 0 ? log_.EntryBundle(addr.index, addr.width) : log_.Tile(addr.level, addr.index, addr.width);
  if (!body.ok()) return body.status();
  return TileBytes{std::move(*body), addr.width == ledger::kTileWidth};
}

Result<ProvenEntry> LedgerReader::Entry(uint64_t index, std::optional<uint64_t> tree_size) const {
  const uint64_t latest = log_.Head().tree_size;
  if (index >= latest) return NotFound("no entry " + std::to_string(index));
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, log_.Entry(index));
  QUIPU_ASSIGN_OR_RETURN(ledger::InclusionProof p, log_.ProveInclusion(index, tree_size.value_or(latest)));
  return ProvenEntry{index, p.tree_size, std::move(bytes), p.leaf_hash, std::move(p.proof), std::move(p.checkpoint)};
}

Result<std::vector<Hash>> LedgerReader::Consistency(uint64_t old_size, uint64_t new_size) const {
  return log_.ProveConsistency(old_size, new_size);
}

Result<BlockView> LedgerReader::Block(std::optional<uint64_t> height) const {
  QUIPU_ASSIGN_OR_RETURN(ledger::Block b, height ? log_.GetBlock(*height) : log_.LatestBlock());
  std::string header = b.CanonicalHeader();
  const Hash hash = crypto::Sha256(header);
  return BlockView{b.height, b.tree_size, b.root, std::move(b.time), b.prev, std::move(header), hash};
}

PublishedCheckpoint LedgerReader::Published() const {
  if (published_) return published_();
  LedgerHead head = Head();
  PublishedCheckpoint p;
  p.tree_size = head.tree_size;
  p.note = std::move(head.checkpoint);
  return p;
}

Result<node::Receipt> LedgerReader::Receipt(uint64_t index) const {
  PublishedCheckpoint published;
  if (published_) published = published_();
  const bool covered = published.witnessed_size > index;
  QUIPU_ASSIGN_OR_RETURN(ProvenEntry e, covered ? Entry(index, published.witnessed_size) : Entry(index));
  ledger::TlogProof p;
  p.extra = crypto::Bytes(e.entry.begin(), e.entry.end());
  p.index = e.index;
  p.proof = std::move(e.proof);
  p.checkpoint = covered ? published.witnessed_note : std::move(e.checkpoint);
  node::Receipt r;
  r.text = ledger::FormatTlogProof(p);
  r.tree_size = e.tree_size;
  r.witnessed = covered;
  return r;
}

}  // namespace quipu::node
