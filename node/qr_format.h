// The QR Seguro code formats (docs/qr-seguro.md).
//
// Version 1, text "QS1:" + Base45 of the CBOR array [1, key_id, index,
// nonce, ciphertext, signature]: the fields are sealed with
// XChaCha20-Poly1305 under a node data key, bound to [1, key_id, index];
// the Ed25519 signature of the node key covers everything before it, so
// anyone can check authenticity without reading the fields. The ledger's
// `qr_issue` entry at `index` commits to SHA-256(nonce || ciphertext).
//
// Version 2, text "QS2:" + Base45 of [2, key_id, nonce, ciphertext,
// signature], for codes made before their ledger entry exists (the
// two-phase codes of the AGETIC API: generated, then confirmed). No index:
// the code is found in the log by its code digest, a hash of its nonce,
// which its `qr_issue` entry carries as `doc.sha256`. The plaintext is a
// digital document in a compact typed form (QrDocument).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

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

// --- version 2 -------------------------------------------------------------------

inline constexpr uint64_t kQr2Version = 2;
inline constexpr char kQr2Prefix[] = "QS2:";
inline constexpr char kQr2SignatureContext[] = "quipu/qr-seguro/v2";
inline constexpr char kQr2CodeDigestContext[] = "quipu/qr-seguro/v2/code";
// The `doc.media_type` of a version-2 code's qr_issue and qr_revoke: their
// `doc.sha256` is the code digest, not a file's hash.
inline constexpr char kQr2CodeMediaType[] = "application/vnd.quipu.qr-code";
// The plaintext's CBOR encoding at most: the longest code then still fits
// a QR code at error correction M (version 30; a typical one fits 12).
inline constexpr size_t kMaxQrDocumentBytes = 1200;

// Whose a document is (AGETIC's titulares).
struct QrHolder {
  enum class IdType { kCi = 0, kCie = 1 };  // cédula de identidad, de extranjero
  std::string name;       // nombreCompleto
  IdType id_type = IdType::kCi;
  std::string id_number;  // numeroDocumento
  std::string role;       // rol
  bool operator==(const QrHolder&) const = default;
};

// A digital document as a version-2 code carries it, sealed: what a
// verifier with the data key reads. Days count from 1970-01-01; a document
// is in force through its expiry day in Bolivia (UTC-4).
struct QrDocument {
  std::string code;  // codigoDocumento
  std::string name;  // nombreDocumento
  std::optional<std::string> description;
  int64_t issued_day = 0;
  std::optional<int64_t> expires_day;
  std::vector<QrHolder> holders;
  std::vector<std::pair<std::string, std::string>> metadata;  // (clave, valor), in order
  bool operator==(const QrDocument&) const = default;
};
// The first second (Unix) at which `document` is expired; nullopt without
// an expiry day.
std::optional<int64_t> QrDocumentExpiresAt(const QrDocument& document);

struct QrSealed2 {
  uint32_t key_id = 0;  // the node signing key's signed-note key hash
  crypto::Bytes nonce;  // 24 bytes, random: the code's identity too
  crypto::Bytes ciphertext;
  crypto::Bytes signature;  // 64 bytes
};

// The plaintext: CBOR [code, name, description | null, issued_day,
// expires_day | null, [[name, id_type, id_number, role], ...], [[clave,
// valor], ...]]. kInvalidArgument for a text that is empty where required
// or not UTF-8, a day before 1970, no holder, or over kMaxQrDocumentBytes.
Result<crypto::Bytes> EncodeQrDocument(const QrDocument& document);
// Seals and signs a version-2 code (a random nonce); EncodeQrDocument's errors.
Result<QrSealed2> SealQrDocument(const QrDocument& document, uint32_t key_id, std::span<const uint8_t> data_key,
                                 const crypto::SigningKey& node_key);
// The same with a given nonce: for test vectors only.
Result<QrSealed2> SealQrDocumentWithNonce(const QrDocument& document, uint32_t key_id,
                                          std::span<const uint8_t> data_key, const crypto::SigningKey& node_key,
                                          std::span<const uint8_t> nonce);
std::string QrText(const QrSealed2& sealed);
// Strict as ParseQrText, for "QS2:" and the five items of version 2.
Result<QrSealed2> ParseQr2Text(std::string_view text);
// context "quipu/qr-seguro/v2" || 0x00 || CBOR([2, key_id, nonce, ciphertext]).
crypto::Bytes QrSignedBytes(const QrSealed2& sealed);
// The AEAD associated data: CBOR([2, key_id]).
crypto::Bytes Qr2AssociatedData(uint32_t key_id);
bool VerifyQrSignature(const QrSealed2& sealed, std::span<const uint8_t> node_public_key);
// kPermissionDenied when the key does not open it; kCorruption for a
// plaintext that is not the document's array.
Result<QrDocument> OpenQrDocument(const QrSealed2& sealed, std::span<const uint8_t> data_key);
// SHA-256(nonce || ciphertext): the qr_issue entry's `payload`, as in version 1.
crypto::Digest QrPayloadHash(const QrSealed2& sealed);
// SHA-256("quipu/qr-seguro/v2/code" || 0x00 || nonce): the `doc.sha256` of
// the code's qr_issue, by which anyone holding the code finds it.
crypto::Digest QrCodeDigest(const QrSealed2& sealed);

}  // namespace quipu::node
