// Stores as an older strata build left them, for upgrade tests.
#pragma once

#include <string>

namespace strata::test {

// Turns the store at `store_path` of the database at `database_path` into one claimed
// before commit logs were per store (docs/store_format.md, "Owner record"): its owner
// record is rewritten in format version 1 (no commit log id) and its commit log table,
// strata_commit_log_<id>, becomes the database's shared strata_commit_log, holding the
// same transaction id. Neither may be open. Returns an empty string, or what failed.
std::string MakeStoreClaimedBeforePerStoreLogs(const std::string& database_path,
                                               const std::string& store_path);

}  // namespace strata::test
