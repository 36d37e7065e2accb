// `quipu audit URL`: a log audited from its public read API (C2SP
// tlog-tiles) over HTTP, resuming from the state an earlier audit saved.
#pragma once

#include <string>

#include "cli/flags.h"

namespace quipu::cli {

// The command with its flags parsed; `url` is the log's prefix.
int RunRemoteAudit(const Flags& flags, const std::string& url);

}  // namespace quipu::cli
