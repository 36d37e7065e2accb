// The node's side of witnessing, over HTTP (docs/cosigning.md): the trust
// policy its receipts are checked with, and how far the witnesses have
// cosigned its checkpoints.
//
//   GET /v1/policy     the tlog-policy text: this log's key, the witnesses,
//                      groups and quorum ("quorum none" without witnesses)
//   GET /v1/witnessed  {tree_size, quorum, witnessed_tree_size, head, checkpoint,
//                      witnesses: [...]}: an entry is witnessed once its index
//                      is below witnessed_tree_size; 404 when the node asks no
//                      witness
#pragma once

#include "api/router.h"
#include "node/cosigning.h"
#include "node/ledger_reader.h"

namespace quipu::api {

// `cosigning` may be null (a node without --policy); both outlive the router.
void AddCosigningRoutes(Router& router, const node::LedgerReader& ledger, const node::Cosigning* cosigning);

namespace cosigning_handlers {
Response Policy(const node::LedgerReader& ledger, const node::Cosigning* cosigning);
Response Witnessed(const node::Cosigning* cosigning);
}  // namespace cosigning_handlers

}  // namespace quipu::api
