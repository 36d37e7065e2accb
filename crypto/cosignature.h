// C2SP tlog-cosignature, the Ed25519 kind (cosignature/v1, signature type
// 0x04): a witness's statement that, at a time, the checkpoint it signs is
// the largest consistent tree it has seen for the log.
//
//   key ID     SHA-256(name || "\n" || 0x04 || public key)[:4]
//   message    "cosignature/v1\n" "time " <timestamp> "\n" <checkpoint body>
//   line       "— " <name> " " base64(key ID || timestamp (8 bytes, big-endian) || signature) "\n"
//   vkey       <name>+<key ID, 8 hex>+base64(0x04 || public key)
//
// The checkpoint body is the note text with its final newline, without the
// blank line and the signature lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "crypto/status.h"

namespace quipu::crypto {

inline constexpr uint8_t kCosignatureV1Type = 0x04;

// The key ID of an Ed25519 cosigner.
uint32_t CosignerKeyId(std::string_view name, const Ed25519PublicKey& public_key);
// "<name>+<key ID>+base64(0x04 || public key)". `name` must be a valid key name.
std::string CosignerVerifierKey(std::string_view name, const Ed25519PublicKey& public_key);

struct Cosigner {
  std::string name;
  uint32_t key_id = 0;
  Ed25519PublicKey public_key{};
};
// Parses a cosigner vkey. kInvalidArgument naming what is wrong (not three
// fields, bad name, hash, base64, a type other than 0x04, a key ID that does
// not match).
Result<Cosigner> ParseCosignerVerifierKey(std::string_view vkey);

// The bytes a cosignature signs.
std::string CosignatureMessage(std::string_view checkpoint_body, uint64_t timestamp);
// The signature line of `key` named `name` over `checkpoint_body` at
// `timestamp` (POSIX seconds, 1 to 2^63-1). kInvalidArgument for a bad
// name, a body that does not end in "\n", or a timestamp out of range.
Result<std::string> Cosign(std::string_view name, const SigningKey& key, std::string_view checkpoint_body,
                           uint64_t timestamp);
// The timestamp of a signature line by `cosigner` that verifies over
// `checkpoint_body`; nullopt for a line of another key (name or key ID);
// kCorruption for a line of this key that does not verify or is malformed.
Result<std::optional<uint64_t>> VerifyCosignature(std::string_view line, const Cosigner& cosigner,
                                                  std::string_view checkpoint_body);

}  // namespace quipu::crypto
