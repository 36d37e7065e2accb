#include "ledger/checkpoint.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/jcs.h"

namespace quipu::ledger {
namespace {

bool DecodeHash(std::string_view b64, Hash& out) {
  auto bytes = crypto::Base64Decode(b64);
  if (!bytes.ok() || bytes->size() != out.size()) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return true;
}

}  // namespace

std::string CheckpointBody(std::string_view origin, uint64_t tree_size, const Hash& root) {
  std::string body;
  body.reserve(origin.size() + 70);
  body.append(origin);
  body += '\n';
  body += std::to_string(tree_size);
  body += '\n';
  body += crypto::Base64Encode(root);
  body += '\n';
  return body;
}

Result<CheckpointFields> ParseCheckpointBody(std::string_view text) {
  CheckpointFields out;
  std::string_view rest = text;
  auto next_line = [&rest](std::string_view& line) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return false;
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return true;
  };
  std::string_view origin, size, root;
  if (!next_line(origin) || !next_line(size) || !next_line(root)) {
    return InvalidArgument("checkpoint: needs origin, size and root lines");
  }
  if (origin.empty()) return InvalidArgument("checkpoint: empty origin");
  out.origin = std::string(origin);
  if (size.empty() || (size.size() > 1 && size[0] == '0')) {
    return InvalidArgument("checkpoint: tree size is not a decimal number");
  }
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), out.tree_size);
  if (ec != std::errc() || end != size.data() + size.size()) {
    return InvalidArgument("checkpoint: tree size is not a decimal number");
  }
  if (!DecodeHash(root, out.root)) return InvalidArgument("checkpoint: root is not base64 of 32 bytes");
  return out;
}

std::string Block::CanonicalHeader() const {
  // Keys in RFC 8785 order; every value is ASCII and integers < 2^53, so
  // this is the JCS form without a JSON library on the commit path.
  std::string s;
  s.reserve(200);
  s += "{\"height\":";
  s += std::to_string(height);
  s += ",\"prev\":\"";
  s += crypto::Base64Encode(prev);
  s += "\",\"root\":\"";
  s += crypto::Base64Encode(root);
  s += "\",\"time\":\"";
  s += time;
  s += "\",\"tree_size\":";
  s += std::to_string(tree_size);
  s += '}';
  return s;
}

Result<Block> ParseBlockHeader(std::string_view bytes) {
  auto parsed = crypto::ParseJsonStrict(bytes);
  if (!parsed.ok()) return Corruption("block: " + parsed.status().message());
  const nlohmann::json& j = *parsed;
  Block b;
  try {
    if (!j.is_object() || j.size() != 5) return Corruption("block: not a 5-field object");
    b.height = j.at("height").get<uint64_t>();
    b.tree_size = j.at("tree_size").get<uint64_t>();
    b.time = j.at("time").get<std::string>();
    if (!DecodeHash(j.at("root").get<std::string>(), b.root) ||
        !DecodeHash(j.at("prev").get<std::string>(), b.prev)) {
      return Corruption("block: root or prev is not base64 of 32 bytes");
    }
  } catch (const nlohmann::json::exception& e) {
    return Corruption(std::string("block: ") + e.what());
  }
  if (b.CanonicalHeader() != bytes) return Corruption("block: header is not canonical");
  return b;
}

}  // namespace quipu::ledger
