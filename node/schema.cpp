#include "node/schema.h"

namespace quipu::node {

const std::vector<ledger::PrivateTable>& PrivateTables() {
  static const std::vector<ledger::PrivateTable> kAll = {tables::kSubjects, tables::kClients, tables::kApprovals,
                                                         tables::kOutbox};
  return kAll;
}

ledger::LogOptions LogOptionsFor(std::string dir) {
  ledger::LogOptions o;
  o.dir = std::move(dir);
  o.private_tables = PrivateTables();
  return o;
}

}  // namespace quipu::node
