#include "node/qr_format.h"

#include "crypto/jcs.h"

#include "crypto/aead.h"
#include "crypto/base45.h"
#include "crypto/random.h"

namespace quipu::node {
namespace {

using nlohmann::json;

// Plaintext map keys (docs/qr-seguro.md).
constexpr int kKeyExpires = 1;  // uint: unix seconds (absent: no expiry)
constexpr int kKeyFields = 2;   // map: the issuer's fields; last, so it runs to the end

json Bin(std::span<const uint8_t> b) { return json::binary(std::vector<uint8_t>(b.begin(), b.end())); }

crypto::Bytes KeyIdBytes(uint32_t key_id) {
  return {static_cast<uint8_t>(key_id >> 24), static_cast<uint8_t>(key_id >> 16), static_cast<uint8_t>(key_id >> 8),
          static_cast<uint8_t>(key_id)};
}

crypto::Bytes Cbor(const json& j) { return json::to_cbor(j); }

// The plaintext as a CBOR map with integer keys. nlohmann's to_cbor writes
// definite lengths and shortest heads; object keys must be strings in
// nlohmann, so the map is written by hand around the encoded values.
Result<crypto::Bytes> EncodePlainImpl(const QrPlain& p) {
  const json object = json::parse(p.fields, nullptr, false);
  if (!object.is_object()) return InvalidArgument("qr: fields must be a JSON object");
  crypto::Bytes fields;
  try {
    fields = Cbor(object);
  } catch (const std::exception&) {
    return InvalidArgument("qr: fields cannot be encoded");
  }
  if (fields.size() > kMaxQrFieldsBytes) {
    return InvalidArgument("qr: fields take " + std::to_string(fields.size()) + " bytes encoded, over " +
                           std::to_string(kMaxQrFieldsBytes));
  }
  crypto::Bytes out;
  out.push_back(static_cast<uint8_t>(0xa0 | (p.expires_at ? 2 : 1)));  // map of 1 or 2
  auto append = [&](const crypto::Bytes& b) { out.insert(out.end(), b.begin(), b.end()); };
  if (p.expires_at) {
    if (*p.expires_at < 0) return InvalidArgument("qr: expiry before 1970");
    append(Cbor(kKeyExpires));
    append(Cbor(static_cast<uint64_t>(*p.expires_at)));
  }
  append(Cbor(kKeyFields));
  append(fields);
  return out;
}

// A strict reader of the few CBOR heads the outer structure needs
// (deterministic encoding: shortest heads only).
struct Reader {
  std::span<const uint8_t> b;
  size_t at = 0;
  bool Head(int& major, uint64_t& arg) {
    if (at >= b.size()) return false;
    const uint8_t ib = b[at++];
    major = ib >> 5;
    const int info = ib & 31;
    if (info < 24) {
      arg = static_cast<uint64_t>(info);
      return true;
    }
    int len = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
    if (len == 0 || at + static_cast<size_t>(len) > b.size()) return false;
    arg = 0;
    for (int i = 0; i < len; ++i) arg = arg << 8 | b[at++];
    // Shortest form only (deterministic CBOR).
    const uint64_t min = len == 1 ? 24 : len == 2 ? 0x100 : len == 4 ? 0x10000 : 0x100000000ULL;
    return arg >= min;
  }
  bool Uint(uint64_t& v) {
    int major;
    return Head(major, v) && major == 0;
  }
  bool Bytes(crypto::Bytes& out, size_t min, size_t max) {
    int major;
    uint64_t len;
    if (!Head(major, len) || major != 2 || len < min || len > max || at + len > b.size()) return false;
    out.assign(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + len));
    at += len;
    return true;
  }
};

}  // namespace

Result<crypto::Bytes> EncodeQrPlain(const QrPlain& plain) { return EncodePlainImpl(plain); }

crypto::Bytes QrAssociatedData(uint32_t key_id, uint64_t index) {
  return Cbor(json::array({kQrVersion, Bin(KeyIdBytes(key_id)), index}));
}

crypto::Bytes QrSignedBytes(const QrSealed& s) {
  crypto::Bytes out(kQrSignatureContext, kQrSignatureContext + sizeof(kQrSignatureContext) - 1);
  out.push_back(0x00);
  const crypto::Bytes body =
      Cbor(json::array({kQrVersion, Bin(KeyIdBytes(s.key_id)), s.index, Bin(s.nonce), Bin(s.ciphertext)}));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<QrSealed> SealQrWithNonce(const QrPlain& plain, uint64_t index, uint32_t key_id,
                                 std::span<const uint8_t> data_key, const crypto::SigningKey& node_key,
                                 std::span<const uint8_t> nonce) {
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes pt, EncodePlainImpl(plain));
  QrSealed s;
  s.key_id = key_id;
  s.index = index;
  s.nonce.assign(nonce.begin(), nonce.end());
  QUIPU_ASSIGN_OR_RETURN(s.ciphertext, crypto::AeadSeal(data_key, nonce, pt, QrAssociatedData(key_id, index)));
  const crypto::Ed25519Signature sig = node_key.Sign(QrSignedBytes(s));
  s.signature.assign(sig.begin(), sig.end());
  return s;
}

Result<QrSealed> SealQr(const QrPlain& plain, uint64_t index, uint32_t key_id, std::span<const uint8_t> data_key,
                        const crypto::SigningKey& node_key) {
  const crypto::Bytes nonce = crypto::RandomBytes(crypto::kAeadNonceBytes);
  return SealQrWithNonce(plain, index, key_id, data_key, node_key, nonce);
}

std::string QrText(const QrSealed& s) {
  const crypto::Bytes cbor = Cbor(json::array(
      {kQrVersion, Bin(KeyIdBytes(s.key_id)), s.index, Bin(s.nonce), Bin(s.ciphertext), Bin(s.signature)}));
  return std::string(kQrPrefix) + crypto::Base45Encode(cbor);
}

Result<QrSealed> ParseQrText(std::string_view text) {
  const std::string_view prefix = kQrPrefix;
  if (text.substr(0, prefix.size()) != prefix) return InvalidArgument("not a QR Seguro code (no QS1: prefix)");
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes raw, crypto::Base45Decode(text.substr(prefix.size())));
  Reader r{raw};
  int major;
  uint64_t n;
  if (!r.Head(major, n) || major != 4 || n != 6) return InvalidArgument("qr: not an array of six items");
  uint64_t version;
  if (!r.Uint(version) || version != kQrVersion) return InvalidArgument("qr: unknown version");
  QrSealed s;
  crypto::Bytes key_id;
  if (!r.Bytes(key_id, 4, 4)) return InvalidArgument("qr: key id must be 4 bytes");
  s.key_id = static_cast<uint32_t>(key_id[0]) << 24 | static_cast<uint32_t>(key_id[1]) << 16 |
             static_cast<uint32_t>(key_id[2]) << 8 | key_id[3];
  if (!r.Uint(s.index) || s.index >= (uint64_t{1} << 53)) return InvalidArgument("qr: bad ledger index");
  if (!r.Bytes(s.nonce, 24, 24)) return InvalidArgument("qr: nonce must be 24 bytes");
  if (!r.Bytes(s.ciphertext, crypto::kAeadTagBytes, 4096)) return InvalidArgument("qr: bad ciphertext");
  if (!r.Bytes(s.signature, 64, 64)) return InvalidArgument("qr: signature must be 64 bytes");
  if (r.at != raw.size()) return InvalidArgument("qr: bytes after the code");
  return s;
}

bool VerifyQrSignature(const QrSealed& s, std::span<const uint8_t> node_public_key) {
  if (s.signature.size() != 64 || node_public_key.size() != 32) return false;
  return crypto::VerifyEd25519(node_public_key, QrSignedBytes(s), s.signature);
}

Result<QrPlain> OpenQr(const QrSealed& s, std::span<const uint8_t> data_key) {
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes pt,
                         crypto::AeadOpen(data_key, s.nonce, s.ciphertext, QrAssociatedData(s.key_id, s.index)));
  // The map's keys are integers, which nlohmann cannot hold as object keys:
  // decode the map's values one by one.
  Reader r{pt};
  int major;
  uint64_t n;
  if (!r.Head(major, n) || major != 5 || n < 1 || n > 2) return Corruption("qr: plaintext is not the fields map");
  QrPlain p;
  uint64_t key;
  if (n == 2) {
    uint64_t expires;
    if (!r.Uint(key) || key != kKeyExpires || !r.Uint(expires) || expires > (uint64_t{1} << 62)) {
      return Corruption("qr: plaintext expiry");
    }
    p.expires_at = static_cast<int64_t>(expires);
  }
  if (!r.Uint(key) || key != kKeyFields) return Corruption("qr: plaintext has no fields");
  // The fields map is the last item: it runs to the end of the plaintext.
  json fields = json::from_cbor(pt.begin() + static_cast<std::ptrdiff_t>(r.at), pt.end(), true, false);
  if (fields.is_discarded() || !fields.is_object()) return Corruption("qr: plaintext fields are not a map");
  auto text = crypto::CanonicalDump(fields);
  if (!text.ok()) return Corruption("qr: plaintext fields: " + text.status().message());
  p.fields = std::move(*text);
  return p;
}

crypto::Digest QrPayloadHash(const QrSealed& s) {
  crypto::Bytes b = s.nonce;
  b.insert(b.end(), s.ciphertext.begin(), s.ciphertext.end());
  return crypto::Sha256(b);
}

}  // namespace quipu::node

// --- version 2 -------------------------------------------------------------------

namespace quipu::node {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kBoliviaOffsetSeconds = -4 * 3600;  // UTC-4, no daylight saving
constexpr int64_t kLastDay = 2932896;                  // 9999-12-31

bool IsUtf8Text(std::string_view s) {
  // nlohmann's CBOR encoder writes any bytes; the dump check refuses what
  // is not UTF-8, which a CBOR text string must be.
  try {
    (void)json(std::string(s)).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

std::optional<int64_t> QrDocumentExpiresAt(const QrDocument& d) {
  if (!d.expires_day) return std::nullopt;
  // The end of the expiry day in Bolivia: midnight there, in UTC.
  return (*d.expires_day + 1) * kSecondsPerDay - kBoliviaOffsetSeconds;
}

Result<crypto::Bytes> EncodeQrDocument(const QrDocument& d) {
  auto text = [](std::string_view what, const std::string& s) -> Status {
    if (s.empty()) return InvalidArgument("qr: " + std::string(what) + " is empty");
    if (!IsUtf8Text(s)) return InvalidArgument("qr: " + std::string(what) + " is not UTF-8");
    return Status::Ok();
  };
  QUIPU_RETURN_IF_ERROR(text("code", d.code));
  QUIPU_RETURN_IF_ERROR(text("name", d.name));
  if (d.description) QUIPU_RETURN_IF_ERROR(text("description", *d.description));
  if (d.issued_day < 0 || d.issued_day > kLastDay) return InvalidArgument("qr: issue day out of range");
  if (d.expires_day && (*d.expires_day < 0 || *d.expires_day > kLastDay)) {
    return InvalidArgument("qr: expiry day out of range");
  }
  if (d.holders.empty()) return InvalidArgument("qr: a document needs a holder");
  json holders = json::array();
  for (const QrHolder& h : d.holders) {
    QUIPU_RETURN_IF_ERROR(text("holder name", h.name));
    QUIPU_RETURN_IF_ERROR(text("holder id number", h.id_number));
    QUIPU_RETURN_IF_ERROR(text("holder role", h.role));
    holders.push_back({h.name, static_cast<int>(h.id_type), h.id_number, h.role});
  }
  json metadata = json::array();
  for (const auto& [k, v] : d.metadata) {
    QUIPU_RETURN_IF_ERROR(text("metadata key", k));
    QUIPU_RETURN_IF_ERROR(text("metadata value", v));
    metadata.push_back({k, v});
  }
  const json a = {d.code,
                  d.name,
                  d.description ? json(*d.description) : json(nullptr),
                  d.issued_day,
                  d.expires_day ? json(*d.expires_day) : json(nullptr),
                  std::move(holders),
                  std::move(metadata)};
  crypto::Bytes out = Cbor(a);
  if (out.size() > kMaxQrDocumentBytes) {
    return InvalidArgument("qr: the document takes " + std::to_string(out.size()) + " bytes encoded, over " +
                           std::to_string(kMaxQrDocumentBytes));
  }
  return out;
}

crypto::Bytes Qr2AssociatedData(uint32_t key_id) { return Cbor(json::array({kQr2Version, Bin(KeyIdBytes(key_id))})); }

crypto::Bytes QrSignedBytes(const QrSealed2& s) {
  crypto::Bytes out(kQr2SignatureContext, kQr2SignatureContext + sizeof(kQr2SignatureContext) - 1);
  out.push_back(0x00);
  const crypto::Bytes body =
      Cbor(json::array({kQr2Version, Bin(KeyIdBytes(s.key_id)), Bin(s.nonce), Bin(s.ciphertext)}));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<QrSealed2> SealQrDocumentWithNonce(const QrDocument& document, uint32_t key_id,
                                          std::span<const uint8_t> data_key, const crypto::SigningKey& node_key,
                                          std::span<const uint8_t> nonce) {
  if (nonce.size() != crypto::kAeadNonceBytes) return InvalidArgument("qr: the nonce must be 24 bytes");
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes pt, EncodeQrDocument(document));
  QrSealed2 s;
  s.key_id = key_id;
  s.nonce.assign(nonce.begin(), nonce.end());
  QUIPU_ASSIGN_OR_RETURN(s.ciphertext, crypto::AeadSeal(data_key, nonce, pt, Qr2AssociatedData(key_id)));
  const crypto::Ed25519Signature sig = node_key.Sign(QrSignedBytes(s));
  s.signature.assign(sig.begin(), sig.end());
  return s;
}

Result<QrSealed2> SealQrDocument(const QrDocument& document, uint32_t key_id, std::span<const uint8_t> data_key,
                                 const crypto::SigningKey& node_key) {
  const crypto::Bytes nonce = crypto::RandomBytes(crypto::kAeadNonceBytes);
  return SealQrDocumentWithNonce(document, key_id, data_key, node_key, nonce);
}

std::string QrText(const QrSealed2& s) {
  const crypto::Bytes cbor =
      Cbor(json::array({kQr2Version, Bin(KeyIdBytes(s.key_id)), Bin(s.nonce), Bin(s.ciphertext), Bin(s.signature)}));
  return std::string(kQr2Prefix) + crypto::Base45Encode(cbor);
}

Result<QrSealed2> ParseQr2Text(std::string_view text) {
  const std::string_view prefix = kQr2Prefix;
  if (text.substr(0, prefix.size()) != prefix) return InvalidArgument("not a QR Seguro code (no QS2: prefix)");
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes raw, crypto::Base45Decode(text.substr(prefix.size())));
  Reader r{raw};
  int major;
  uint64_t n;
  if (!r.Head(major, n) || major != 4 || n != 5) return InvalidArgument("qr: not an array of five items");
  uint64_t version;
  if (!r.Uint(version) || version != kQr2Version) return InvalidArgument("qr: unknown version");
  QrSealed2 s;
  crypto::Bytes key_id;
  if (!r.Bytes(key_id, 4, 4)) return InvalidArgument("qr: key id must be 4 bytes");
  s.key_id = static_cast<uint32_t>(key_id[0]) << 24 | static_cast<uint32_t>(key_id[1]) << 16 |
             static_cast<uint32_t>(key_id[2]) << 8 | key_id[3];
  if (!r.Bytes(s.nonce, 24, 24)) return InvalidArgument("qr: nonce must be 24 bytes");
  if (!r.Bytes(s.ciphertext, crypto::kAeadTagBytes, 4096)) return InvalidArgument("qr: bad ciphertext");
  if (!r.Bytes(s.signature, 64, 64)) return InvalidArgument("qr: signature must be 64 bytes");
  if (r.at != raw.size()) return InvalidArgument("qr: bytes after the code");
  return s;
}

bool VerifyQrSignature(const QrSealed2& s, std::span<const uint8_t> node_public_key) {
  if (s.signature.size() != 64 || node_public_key.size() != 32) return false;
  return crypto::VerifyEd25519(node_public_key, QrSignedBytes(s), s.signature);
}

Result<QrDocument> OpenQrDocument(const QrSealed2& s, std::span<const uint8_t> data_key) {
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes pt, crypto::AeadOpen(data_key, s.nonce, s.ciphertext, Qr2AssociatedData(s.key_id)));
  const Status bad = Corruption("qr: the plaintext is not a document");
  const json a = json::from_cbor(pt, true, false);
  if (a.is_discarded() || !a.is_array() || a.size() != 7) return bad;
  auto text = [](const json& j, std::string& out) {
    if (!j.is_string() || j.get_ref<const std::string&>().empty()) return false;
    out = j.get<std::string>();
    return true;
  };
  auto day = [](const json& j, int64_t& out) {
    if (!j.is_number_unsigned() || j.get<uint64_t>() > static_cast<uint64_t>(kLastDay)) return false;
    out = j.get<int64_t>();
    return true;
  };
  QrDocument d;
  if (!text(a[0], d.code) || !text(a[1], d.name) || !day(a[3], d.issued_day)) return bad;
  if (!a[2].is_null() && !text(a[2], d.description.emplace())) return bad;
  if (!a[4].is_null() && !day(a[4], d.expires_day.emplace())) return bad;
  if (!a[5].is_array() || a[5].empty() || !a[6].is_array()) return bad;
  for (const json& h : a[5]) {
    QrHolder holder;
    if (!h.is_array() || h.size() != 4 || !text(h[0], holder.name) || !h[1].is_number_unsigned() ||
        h[1].get<uint64_t>() > 1 || !text(h[2], holder.id_number) || !text(h[3], holder.role)) {
      return bad;
    }
    holder.id_type = static_cast<QrHolder::IdType>(h[1].get<int>());
    d.holders.push_back(std::move(holder));
  }
  for (const json& m : a[6]) {
    std::pair<std::string, std::string> kv;
    if (!m.is_array() || m.size() != 2 || !text(m[0], kv.first) || !text(m[1], kv.second)) return bad;
    d.metadata.push_back(std::move(kv));
  }
  return d;
}

crypto::Digest QrPayloadHash(const QrSealed2& s) {
  crypto::Bytes b = s.nonce;
  b.insert(b.end(), s.ciphertext.begin(), s.ciphertext.end());
  return crypto::Sha256(b);
}

crypto::Digest QrCodeDigest(const QrSealed2& s) {
  crypto::Bytes b(kQr2CodeDigestContext, kQr2CodeDigestContext + sizeof(kQr2CodeDigestContext) - 1);
  b.push_back(0x00);
  b.insert(b.end(), s.nonce.begin(), s.nonce.end());
  return crypto::Sha256(b);
}

}  // namespace quipu::node
