#include "node/clients.h"

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "node/records.h"
#include "node/schema.h"
#include "node/secrets.h"

namespace quipu::node {

using namespace records;  // the stored records and their keys

namespace {

// The client `id` in the log's snapshot; kNotFound when there is none.
Result<ClientRecord> ReadClient(const ledger::Log& log, const std::string& id) {
  QUIPU_ASSIGN_OR_RETURN(auto v, log.ReadPrivate(tables::kClients, ClientKey(id)));
  if (!v) return NotFound("no client " + id);
  return DecodeClient(*v);
}

// The same inside a commit.
Result<ClientRecord> GetClient(ledger::PrivateTxn& txn, const std::string& id) {
  QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kClients, ClientKey(id)));
  if (!v) return NotFound("no client " + id);
  return DecodeClient(*v);
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
    ClientRecord record{out.client, sealed, token_key};
    record.info.created = time;
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kClients, ClientKey(out.client.id), Encode(record)));
    return txn.Put(tables::kClients, token_key, out.client.id);
  });
  QUIPU_RETURN_IF_ERROR(s);
  QUIPU_ASSIGN_OR_RETURN(out.client, Get(out.client.id));  // with its commit time
  return out;
}

Result<std::vector<ClientInfo>> Clients::List() const {
  std::vector<ClientInfo> out;
  Status bad = Status::Ok();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kClients, kClientPrefix, [&](std::string_view, std::string_view v) {
    auto c = DecodeClient(v);
    if (!c.ok()) {
      bad = c.status();
      return false;
    }
    out.push_back(std::move(c->info));
    return true;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  return out;
}

Result<ClientInfo> Clients::Get(const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(ClientRecord c, ReadClient(log_, id));
  return std::move(c.info);
}

Status Clients::Disable(const std::string& id) {
  return Commit([&](ledger::PrivateTxn& txn, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(ClientRecord c, GetClient(txn, id));
    c.info.disabled = true;
    return txn.Put(tables::kClients, ClientKey(id), Encode(c));
  });
}

Result<std::string> Clients::Rotate(const std::string& id) {
  const std::string token = NewToken("qk_");
  const std::string token_key = TokenKey(token);
  QUIPU_RETURN_IF_ERROR(Commit([&](ledger::PrivateTxn& txn, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(ClientRecord c, GetClient(txn, id));
    QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kClients, c.token_key));
    c.token_key = token_key;
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kClients, ClientKey(id), Encode(c)));
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
  auto c = ReadClient(log_, *id);
  if (c.status().code() == StatusCode::kNotFound) return denied;
  if (!c.ok()) return c.status();
  const std::string& stored = c->token_key;
  if (stored.size() != key.size() || sodium_memcmp(stored.data(), key.data(), key.size()) != 0) return denied;
  if (c->info.disabled) return denied;
  return std::move(c->info);
}

Result<std::string> Clients::NotifyToken(const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(ClientRecord c, ReadClient(log_, id));
  return OpenSecret(data_key_, c.notify_token_sealed, "notify:" + id);
}

}  // namespace quipu::node
