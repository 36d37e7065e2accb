#include "crypto/cosignature.h"

#include <cstdio>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/sha256.h"

namespace quipu::crypto {
namespace {

constexpr std::string_view kDash = "\xe2\x80\x94 ";  // U+2014 and a space

std::string Hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}

}  // namespace

uint32_t CosignerKeyId(std::string_view name, const Ed25519PublicKey& public_key) {
  std::string message(name);
  message.push_back('\n');
  message.push_back(static_cast<char>(kCosignatureV1Type));
  message.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  const Digest d = Sha256(message);
  return Be32(d.data());
}

std::string CosignerVerifierKey(std::string_view name, const Ed25519PublicKey& public_key) {
  Bytes typed = {kCosignatureV1Type};
  typed.insert(typed.end(), public_key.begin(), public_key.end());
  return std::string(name) + "+" + Hex8(CosignerKeyId(name, public_key)) + "+" + Base64Encode(typed);
}

Result<Cosigner> ParseCosignerVerifierKey(std::string_view vkey) {
  // The name holds no '+'; the base64 key may.
  const size_t a = vkey.find('+');
  const size_t b = a == std::string_view::npos ? a : vkey.find('+', a + 1);
  if (b == std::string_view::npos) return InvalidArgument("cosigner key: not <name>+<key id>+<key>");
  Cosigner c;
  c.name = std::string(vkey.substr(0, a));
  if (!IsValidKeyName(c.name)) return InvalidArgument("cosigner key: invalid name");
  const std::string_view id = vkey.substr(a + 1, b - a - 1);
  if (id.size() != 8 || id.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return InvalidArgument("cosigner key: the key id is not 8 lower-case hex digits");
  }
  auto key = Base64Decode(vkey.substr(b + 1));
  if (!key.ok()) return InvalidArgument("cosigner key: the key is not base64");
  if (key->empty() || (*key)[0] != kCosignatureV1Type) {
    return InvalidArgument("cosigner key: not a cosignature/v1 key (type 0x04)");
  }
  if (key->size() != 1 + c.public_key.size()) return InvalidArgument("cosigner key: not a 32-byte Ed25519 key");
  std::copy(key->begin() + 1, key->end(), c.public_key.begin());
  c.key_id = CosignerKeyId(c.name, c.public_key);
  if (Hex8(c.key_id) != id) return InvalidArgument("cosigner key: the key id does not match the key");
  return c;
}

std::string CosignatureMessage(std::string_view checkpoint_body, uint64_t timestamp) {
  std::string m = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  m.append(checkpoint_body);
  return m;
}

Result<std::string> Cosign(std::string_view name, const SigningKey& key, std::string_view checkpoint_body,
                           uint64_t timestamp) {
  if (!IsValidKeyName(name)) return InvalidArgument("cosign: invalid key name");
  if (checkpoint_body.empty() || checkpoint_body.back() != '\n') return InvalidArgument("cosign: the body must end in a newline");
  if (timestamp == 0 || timestamp > (uint64_t{1} << 63) - 1) return InvalidArgument("cosign: timestamp out of range");
  const Ed25519PublicKey pub = key.PublicKey();
  const uint32_t id = CosignerKeyId(name, pub);
  const Ed25519Signature sig = key.Sign(CosignatureMessage(checkpoint_body, timestamp));
  Bytes blob;
  for (int s = 24; s >= 0; s -= 8) blob.push_back(static_cast<uint8_t>(id >> s));
  for (int s = 56; s >= 0; s -= 8) blob.push_back(static_cast<uint8_t>(timestamp >> s));
  blob.insert(blob.end(), sig.begin(), sig.end());
  return std::string(kDash) + std::string(name) + " " + Base64Encode(blob) + "\n";
}

Result<std::optional<uint64_t>> VerifyCosignature(std::string_view line, const Cosigner& cosigner,
                                                  std::string_view checkpoint_body) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.substr(0, kDash.size()) != kDash) return std::optional<uint64_t>();
  line.remove_prefix(kDash.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || line.substr(0, space) != cosigner.name) return std::optional<uint64_t>();
  auto blob = Base64Decode(line.substr(space + 1));
  if (!blob.ok() || blob->size() < 4) return std::optional<uint64_t>();
  if (Be32(blob->data()) != cosigner.key_id) return std::optional<uint64_t>();
  if (blob->size() != 4 + 8 + 64) return Corruption("cosignature: not key id, timestamp and signature");
  uint64_t timestamp = 0;
  for (int i = 0; i < 8; ++i) timestamp = timestamp << 8 | (*blob)[4 + i];
  if (timestamp > (uint64_t{1} << 63) - 1) return Corruption("cosignature: the timestamp is over 2^63-1");
  if (!VerifyEd25519(cosigner.public_key, AsBytes(CosignatureMessage(checkpoint_body, timestamp)),
                     std::span<const uint8_t>(blob->data() + 12, 64))) {
    return Corruption("cosignature: the signature does not verify");
  }
  return std::optional<uint64_t>(timestamp);
}

}  // namespace quipu::crypto
