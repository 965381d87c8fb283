// ConnectionState: what one SQLite connection knows about strata: for every store it
// writes in the current transaction, the buffered writes and the commit protocol's
// progress. Owned by the module registration of that connection (module client
// data) and shared with its tables.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "extension/sqlite_bridge.h"
#include "extension/store.h"
#include "extension/transaction_buffer.h"

namespace strata::sql {

// The writes of one SQLite transaction to one store.
struct StoreTransaction {
  std::shared_ptr<Store> store;
  TransactionBuffer buffer;
  bool writing = false;       // holds the store's writer slot
  uint64_t txid = 0;          // this transaction's id, recorded in the commit log
  uint64_t pending_txid = 0;  // written durably by xSync, applied by xCommit
  // What xSync wrote as pending_txid, kept so that xCommit applies it without reading
  // the record back.
  Store::PendingTransaction pending;
};

class ConnectionState {
 public:
  explicit ConnectionState(sqlite3* db) : db_(db) {}
  sqlite3* db() const { return db_; }

  // The transaction state of this connection for store (created empty on first use).
  StoreTransaction* TransactionFor(const std::shared_ptr<Store>& store) {
    auto& slot = transactions_[store.get()];
    if (slot == nullptr) {
      slot = std::make_unique<StoreTransaction>();
      slot->store = store;
    }
    return slot.get();
  }
  // The transaction state if this connection is writing store, else null.
  StoreTransaction* WritingTransaction(const Store* store) {
    auto it = transactions_.find(store);
    return it != transactions_.end() && it->second->writing ? it->second.get() : nullptr;
  }
  void EndTransaction(const Store* store) { transactions_.erase(store); }

  // The strata tables this connection has connected, by name (case-insensitive), for
  // SQL functions that name a table.
  struct TableHandle {
    std::shared_ptr<Store> store;
    std::string prefix;      // first key of the table
    std::string prefix_end;  // first key after it
    const void* owner;       // the table instance that registered it
  };
  void RegisterTable(const std::string& name, TableHandle handle) {
    tables_[Lower(name)] = std::move(handle);
  }
  // SQLite may connect a new instance of a table before disconnecting the old one:
  // only the registering instance removes its entry.
  void UnregisterTable(const std::string& name, const void* owner) {
    auto it = tables_.find(Lower(name));
    if (it != tables_.end() && it->second.owner == owner) tables_.erase(it);
  }

  // Keeps an in-memory store open for as long as the connection lives.
  void KeepAlive(const std::shared_ptr<Store>& store) {
    for (const auto& kept : kept_alive_) {
      if (kept == store) return;
    }
    kept_alive_.push_back(store);
  }
  const TableHandle* FindTable(const std::string& name) const {
    auto it = tables_.find(Lower(name));
    return it == tables_.end() ? nullptr : &it->second;
  }

 private:
  sqlite3* const db_;
  static std::string Lower(std::string name) {
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return name;
  }

  std::map<const Store*, std::unique_ptr<StoreTransaction>> transactions_;
  std::map<std::string, TableHandle> tables_;
  std::vector<std::shared_ptr<Store>> kept_alive_;
};

}  // namespace strata::sql
