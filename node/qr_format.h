// The QR Seguro code format (docs/qr-seguro.md): text "QS1:" + Base45 of
// the CBOR array [1, key_id, index, nonce, ciphertext, signature]. The
// fields are sealed with XChaCha20-Poly1305 under a node data key, bound to
// [1, key_id, index]; the Ed25519 signature of the node key covers
// everything before it, so anyone can check authenticity without reading
// the fields. The ledger's `qr_issue` entry commits to SHA-256(nonce ||
// ciphertext).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "crypto/ed25519.h"
#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::node {

inline constexpr uint64_t kQrVersion = 1;
inline constexpr char kQrPrefix[] = "QS1:";
inline constexpr char kQrSignatureContext[] = "quipu/qr-seguro/v1";
inline constexpr size_t kMaxQrFieldsBytes = 512;  // the fields' CBOR encoding

// What a code says, readable only with the data key. The document's hash
// is not repeated here: the ledger entry at the code's index holds it, and
// the entry commits to this ciphertext (which is bound to that index).
struct QrPlain {
  // The issuer's fields: a JSON object, as JSON text (RFC 8785 canonical
  // when quipu made it: api/qr_json.h and OpenQr write it so).
  std::string fields = "{}";
  std::optional<int64_t> expires_at;  // unix seconds
};

struct QrSealed {
  uint32_t key_id = 0;  // the node signing key's signed-note key hash
  uint64_t index = 0;   // the qr_issue entry's ledger index
  crypto::Bytes nonce;  // 24 bytes
  crypto::Bytes ciphertext;
  crypto::Bytes signature;  // 64 bytes
};

// Seals and signs. kInvalidArgument for bad fields (not an object, over
// kMaxQrFieldsBytes encoded, not representable), an expiry before 1970 or
// a data key that is not 32 bytes.
Result<QrSealed> SealQr(const QrPlain& plain, uint64_t index, uint32_t key_id,
                        std::span<const uint8_t> data_key, const crypto::SigningKey& node_key);
// The same with a given nonce: for test vectors and the worked example only.
// kInvalidArgument also for a nonce that is not 24 bytes.
Result<QrSealed> SealQrWithNonce(const QrPlain& plain, uint64_t index, uint32_t key_id,
                                 std::span<const uint8_t> data_key, const crypto::SigningKey& node_key,
                                 std::span<const uint8_t> nonce);

std::string QrText(const QrSealed& sealed);
// Strict: the prefix, Base45, one CBOR array of exactly the six items with
// their types and sizes, version 1, nothing after it. kInvalidArgument
// naming what is wrong.
Result<QrSealed> ParseQrText(std::string_view text);

// The plaintext's CBOR map {1: expires_at?, 2: fields} (docs/qr-seguro.md §6).
// kInvalidArgument as SealQr's for the fields and the expiry.
Result<crypto::Bytes> EncodeQrPlain(const QrPlain& plain);

// The bytes the signature covers: context || 0x00 || CBOR([1, key_id, index, nonce, ciphertext]).
crypto::Bytes QrSignedBytes(const QrSealed& sealed);
// The AEAD associated data: CBOR([1, key_id, index]).
crypto::Bytes QrAssociatedData(uint32_t key_id, uint64_t index);

bool VerifyQrSignature(const QrSealed& sealed, std::span<const uint8_t> node_public_key);
// kPermissionDenied when the key does not open it; kCorruption for a
// plaintext that is not the format's map.
Result<QrPlain> OpenQr(const QrSealed& sealed, std::span<const uint8_t> data_key);
// SHA-256(nonce || ciphertext): the qr_issue entry's `payload`.
crypto::Digest QrPayloadHash(const QrSealed& sealed);

}  // namespace quipu::node
