// Clients: the institutions' approval backends. Each has an id, a name, a
// redirect URI (where the citizen returns), a notification URI and the
// token quipu sends there, and its own API token, which quipu keeps only as
// a SHA-256 hash. Stored in the ledger's private `clients` table; every
// change commits through the sequencer (durable, atomic).
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "ledger/log.h"
#include "node/url_policy.h"

namespace quipu::node {

struct ClientInfo {
  std::string id;  // "c_" + 12 hex
  std::string name;
  std::string redirect_uri;
  std::string notify_uri;
  bool disabled = false;
  std::string created;  // RFC 3339
};

// Thread-safe. Every call may also fail with kCorruption for a stored
// client record that is not JSON, and with the ledger's errors.
class Clients {
 public:
  // `policy` decides which redirect and notification URIs Add accepts
  // (node/url_policy.h); the default is production's.
  Clients(ledger::Log& log, const std::array<uint8_t, 32>& data_key, OutboundPolicy policy = {})
      : log_(log), data_key_(data_key), policy_(policy) {}

  struct Added {
    ClientInfo client;
    std::string token;  // shown once; only its hash is kept
  };
  // kInvalidArgument for an empty or overlong name (over 200 bytes), a URI
  // that CheckOutboundUrl refuses under the policy (the message names the
  // URI and the rule, and the flag when only development allows it), or a
  // notification token that is empty or over 1024 bytes.
  Result<Added> Add(const std::string& name, const std::string& redirect_uri, const std::string& notify_uri,
                    const std::string& notify_token);
  Result<std::vector<ClientInfo>> List() const;
  Result<ClientInfo> Get(const std::string& id) const;  // kNotFound
  Status Disable(const std::string& id);  // kNotFound
  // A new API token; the old one stops working at once. kNotFound.
  Result<std::string> Rotate(const std::string& id);
  // The client a bearer token belongs to. kPermissionDenied for an unknown
  // token or a disabled client (same message: nothing to learn from it).
  Result<ClientInfo> Authenticate(std::string_view token) const;
  // The token quipu presents at the client's notification URI. kNotFound;
  // kCorruption when it does not open with the data key.
  Result<std::string> NotifyToken(const std::string& id) const;

 private:
  Status Commit(std::function<Status(ledger::PrivateTxn&, const std::string& time)> apply);
  ledger::Log& log_;
  const std::array<uint8_t, 32> data_key_;
  const OutboundPolicy policy_;
};

}  // namespace quipu::node
