// QR Seguro codes for issued documents (docs/qr-seguro.md): issuing (a
// `qr_issue` entry whose payload commits to the sealed fields, sealed with
// the entry's own index as associated data), verification by anyone
// (signature, ledger record, revocation, expiry; the fields only when the
// node can decrypt them), revocation by the issuing client, and rendering.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/note.h"
#include "crypto/status.h"
#include "ledger/log.h"
#include "node/clients.h"

namespace quipu::node {

// The QR data keys, by id; the newest seals, all open (rotation keeps old
// codes readable). Files qr-keys/<id>.key (hex, mode 0600) in the data
// directory.
struct QrKeyRing {
  std::map<uint32_t, std::array<uint8_t, 32>> keys;
  uint32_t newest() const { return keys.empty() ? 0 : keys.rbegin()->first; }
};
// Loads the key ring, creating key 1 when there is none (`create`).
// Errors: kNotFound (no key and not `create`), ReadHexKeyFile's for a key
// file that is refused or damaged (node/secrets.h; the message names it).
Result<QrKeyRing> LoadQrKeys(const std::string& data_dir, bool create);
// Adds a key with the next id (written atomically, mode 0600); returns it.
// Errors: CreateHexKeyFile's.
Result<uint32_t> RotateQrKey(const std::string& data_dir);

// Thread-safe.
class QrService {
 public:
  QrService(ledger::Log& log, Clients& clients, crypto::NoteSigner signer, QrKeyRing keys,
            std::function<int64_t()> clock = nullptr);

  // body: {document: {sha256 | content, media_type}, fields: {...}, expires_at?: RFC 3339}
  // -> {qr_text, index, svg_url, png_url, document_sha256}
  Result<nlohmann::json> Issue(const ClientInfo& client, const nlohmann::json& body);
  // {valid, reasons, index, issued_at, client, client_name, document_sha256, revoked, revocation,
  //  expired, expires_at, fields (only when valid), entry, leaf_hash, proof, tree_size, checkpoint}
  Result<nlohmann::json> Verify(std::string_view qr_text) const;
  // A qr_revoke entry; only the issuing client. kFailedPrecondition if revoked already.
  Result<nlohmann::json> Revoke(const ClientInfo& client, uint64_t index, const nlohmann::json& body);
  // The QR text issued at `index` (kNotFound).
  Result<std::string> Text(uint64_t index) const;
  // Issues a code for the PDF and draws it on the page as an incremental
  // update. options: {page, corner, caption}. Returns {qr: <as Issue>, pdf: bytes}.
  struct Stamped {
    nlohmann::json qr;
    std::string pdf;
  };
  Result<Stamped> Stamp(const ClientInfo& client, std::span<const uint8_t> pdf, const nlohmann::json& fields,
                        const nlohmann::json& options);

  uint32_t key_id() const { return signer_.key_hash(); }

 private:
  ledger::Log& log_;
  Clients& clients_;
  const crypto::NoteSigner signer_;
  const QrKeyRing keys_;
  std::function<int64_t()> clock_;
};

}  // namespace quipu::node
