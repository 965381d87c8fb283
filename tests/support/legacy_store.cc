#include "tests/support/legacy_store.h"

#include <memory>

#include "extension/store.h"
#include "lsm/coding.h"
#include "tests/support/sqlite_harness.h"

namespace strata::test {

std::string MakeStoreClaimedBeforePerStoreLogs(const std::string& database_path,
                                               const std::string& store_path) {
  std::shared_ptr<sql::Store> store;
  Status s = sql::Store::Acquire(store_path, /*in_memory=*/false, sql::StoreOptions(), &store);
  sql::Store::Owner owner;
  bool found = false;
  if (s.ok()) s = store->ReadOwner(&owner, &found);
  if (!s.ok()) return s.ToString();
  if (!found || owner.commit_log_id.empty()) return "the store has no commit log of its own";

  SqliteDb db;  // without the extension: only ordinary tables are touched
  std::string error;
  if (!db.Open(database_path, &error)) return error;
  const std::string log = "strata_commit_log_" + owner.commit_log_id;
  SqlResult r = db.Run("CREATE TABLE strata_commit_log AS SELECT txid FROM " + log +
                       "; DROP TABLE " + log);
  if (!r.ok()) return r.ToString();

  std::string version_one(1, '\x01');
  PutLengthPrefixed(&version_one, owner.database_id);
  PutLengthPrefixed(&version_one, owner.database_path);
  s = store->db()->Put(WriteOptions(), sql::Store::TableKeyPrefix(0) + "owner", version_one);
  return s.ok() ? std::string() : s.ToString();
}

}  // namespace strata::test
