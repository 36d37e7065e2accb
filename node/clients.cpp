#include "node/clients.h"

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "node/schema.h"
#include "node/secrets.h"

namespace quipu::node {
namespace {

using nlohmann::json;
using ledger::PrivateTable;

std::string ClientKey(std::string_view id) { return "c:" + std::string(id); }
std::string TokenKey(std::string_view token) { return "t:" + crypto::HexEncode(crypto::Sha256(token)); }

ClientInfo FromJson(const json& j) {
  ClientInfo c;
  c.id = j.value("id", "");
  c.name = j.value("name", "");
  c.redirect_uri = j.value("redirect_uri", "");
  c.notify_uri = j.value("notify_uri", "");
  c.disabled = j.value("disabled", false);
  c.created = j.value("created", "");
  return c;
}

Result<json> ParseStored(const std::string& value) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return Corruption("a client record is not JSON");
  return j;
}

// The stored record (docs/records.md) of a client, without its secrets.
json StoredClient(const ClientInfo& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"redirect_uri", c.redirect_uri},
          {"notify_uri", c.notify_uri},
          {"disabled", c.disabled},
          {"created", c.created}};
}

}  // namespace


Status Clients::Commit(std::function<Status(ledger::PrivateTxn&, const std::string& time)> apply) {
  ledger::AppendRequest req;
  req.apply = [apply = std::move(apply)](ledger::PrivateTxn& txn, uint64_t, const std::string& time) {
    return apply(txn, time);
  };
  auto r = log_.Append(std::move(req)).get();
  return r.ok() ? Status::Ok() : r.status();
}

Result<Clients::Added> Clients::Add(const std::string& name, const std::string& redirect_uri,
                                    const std::string& notify_uri, const std::string& notify_token) {
  if (name.empty() || name.size() > 200) return InvalidArgument("name: 1 to 200 characters");
  // The redirect URI is only ever followed by the citizen's browser, but
  // it obeys the same policy: one rule for every URI a client registers.
  if (Status s = CheckOutboundUrl(redirect_uri, policy_); !s.ok()) return s.WithContext("redirect URI");
  if (Status s = CheckOutboundUrl(notify_uri, policy_); !s.ok()) return s.WithContext("notification URI");
  if (notify_token.empty() || notify_token.size() > 1024) return InvalidArgument("notification token: 1 to 1024 bytes");
  Added out;
  out.client.id = "c_" + crypto::HexEncode(crypto::RandomBytes(6));
  out.client.name = name;
  out.client.redirect_uri = redirect_uri;
  out.client.notify_uri = notify_uri;
  out.token = NewToken("qk_");
  QUIPU_ASSIGN_OR_RETURN(std::string sealed, SealSecret(data_key_, notify_token, "notify:" + out.client.id));
  const std::string token_key = TokenKey(out.token);
  Status s = Commit([&](ledger::PrivateTxn& txn, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto existing, txn.Get(tables::kClients, ClientKey(out.client.id)));
    if (existing) return AlreadyExists("client id collision; try again");
    json j = StoredClient(out.client);
    j["notify_token_sealed"] = sealed;
    j["token_key"] = token_key;
    j["created"] = time;
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kClients, ClientKey(out.client.id), j.dump()));
    return txn.Put(tables::kClients, token_key, out.client.id);
  });
  QUIPU_RETURN_IF_ERROR(s);
  QUIPU_ASSIGN_OR_RETURN(out.client, Get(out.client.id));  // with its commit time
  return out;
}

Result<std::vector<ClientInfo>> Clients::List() const {
  std::vector<ClientInfo> out;
  Status bad = Status::Ok();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kClients, "c:", [&](std::string_view, std::string_view v) {
    auto j = ParseStored(std::string(v));
    if (!j.ok()) {
      bad = j.status();
      return false;
    }
    out.push_back(FromJson(*j));
    return true;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  return out;
}

Result<ClientInfo> Clients::Get(const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kClients, ClientKey(id)));
  if (!v) return NotFound("no client " + id);
  QUIPU_ASSIGN_OR_RETURN(json j, ParseStored(*v));
  return FromJson(j);
}

Status Clients::Disable(const std::string& id) {
  return Commit([&](ledger::PrivateTxn& txn, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kClients, ClientKey(id)));
    if (!v) return NotFound("no client " + id);
    QUIPU_ASSIGN_OR_RETURN(json j, ParseStored(*v));
    j["disabled"] = true;
    return txn.Put(tables::kClients, ClientKey(id), j.dump());
  });
}

Result<std::string> Clients::Rotate(const std::string& id) {
  const std::string token = NewToken("qk_");
  const std::string token_key = TokenKey(token);
  QUIPU_RETURN_IF_ERROR(Commit([&](ledger::PrivateTxn& txn, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kClients, ClientKey(id)));
    if (!v) return NotFound("no client " + id);
    QUIPU_ASSIGN_OR_RETURN(json j, ParseStored(*v));
    QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kClients, j.value("token_key", "")));
    j["token_key"] = token_key;
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kClients, ClientKey(id), j.dump()));
    return txn.Put(tables::kClients, token_key, id);
  }));
  return token;
}

Result<ClientInfo> Clients::Authenticate(std::string_view token) const {
  const Status denied = PermissionDenied("invalid or disabled client token");
  if (token.size() < 8 || token.size() > 256) return denied;
  // The lookup is by the token's SHA-256, and the stored hash is compared
  // in constant time: timing says nothing about the token.
  const std::string key = TokenKey(token);
  QUIPU_ASSIGN_OR_RETURN(auto id, log_.ReadPrivate(tables::kClients, key));
  if (!id) return denied;
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kClients, ClientKey(*id)));
  if (!v) return denied;
  QUIPU_ASSIGN_OR_RETURN(json j, ParseStored(*v));
  const std::string stored = j.value("token_key", "");
  if (stored.size() != key.size() || sodium_memcmp(stored.data(), key.data(), key.size()) != 0) return denied;
  ClientInfo c = FromJson(j);
  if (c.disabled) return denied;
  return c;
}

Result<std::string> Clients::NotifyToken(const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kClients, ClientKey(id)));
  if (!v) return NotFound("no client " + id);
  QUIPU_ASSIGN_OR_RETURN(json j, ParseStored(*v));
  return OpenSecret(data_key_, j.value("notify_token_sealed", ""), "notify:" + id);
}

}  // namespace quipu::node
