// Store: the registry of shared open stores, the table catalog, the writer slot and the
// pending transactions of the commit protocol, on in-memory and POSIX stores.
#include "extension/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "strata/db.h"
#include "strata/statistics.h"
#include "tests/support/temp_dir.h"

namespace strata::sql {
namespace {

using std::chrono::milliseconds;

enum class StoreKind { kMemory, kPosix };

// Small memtables, so that tests with a few thousand rows also flush tables.
StoreOptions SmallOptions() {
  StoreOptions options;
  options.write_buffer_size = 64 << 10;
  options.block_cache_size = 1 << 20;
  return options;
}

std::string RowKey(uint32_t table_id, std::string_view suffix) {
  return Store::TableKeyPrefix(table_id) + std::string(suffix);
}

std::string BigEndian64(uint64_t v) {
  std::string s;
  for (int i = 7; i >= 0; i--) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string PendingKey(uint64_t txid) {
  return Store::TableKeyPrefix(0) + "pending/" + BigEndian64(txid);
}

// Every (key, value) of the store's user key space.
std::map<std::string, std::string> Contents(Store* store) {
  std::map<std::string, std::string> contents;
  std::unique_ptr<Iterator> it = store->db()->NewIterator(ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) contents[std::string(it->key())] = it->value();
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return contents;
}

// Rows of one table.
std::map<std::string, std::string> TableRows(Store* store, uint32_t id) {
  std::map<std::string, std::string> rows;
  const std::string prefix = Store::TableKeyPrefix(id);
  for (auto& [key, value] : Contents(store)) {
    if (key.starts_with(prefix)) rows[key] = value;
  }
  return rows;
}

std::string Get(Store* store, std::string_view key) {
  std::string value;
  Status s = store->db()->Get(ReadOptions(), key, &value);
  if (s.IsNotFound()) return "NOT_FOUND";
  EXPECT_TRUE(s.ok()) << s.ToString();
  return value;
}

// A DROP TABLE that commits, as the glue carries it out: prepared, its batch applied
// once the database committed, then the table's rows deleted.
Status DropTable(Store* store, std::string_view name) {
  WriteBatch on_commit;
  Status s = store->PrepareDropTable(name, &on_commit);
  if (s.ok()) s = store->WriteDirect(&on_commit);
  if (s.ok()) s = store->FinishDrops();
  return s;
}

// An ALTER TABLE ... RENAME that commits, likewise.
Status RenameTable(Store* store, std::string_view old_name, std::string_view new_name) {
  WriteBatch on_commit;
  Status s = store->PrepareRenameTable(old_name, new_name, &on_commit);
  if (s.ok()) s = store->WriteDirect(&on_commit);
  return s;
}

class StoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  bool in_memory() const { return GetParam() == StoreKind::kMemory; }

  // A store name unique to this test (a directory below dir_ on POSIX).
  std::string Name(std::string_view name = "store") {
    if (in_memory()) {
      return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/" +
             std::string(name);
    }
    return dir_.Join(name);
  }

  std::shared_ptr<Store> Acquire(std::string_view name = "store",
                                 const StoreOptions& options = SmallOptions()) {
    std::shared_ptr<Store> store;
    Status s = Store::Acquire(Name(name), in_memory(), options, &store);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return store;
  }

  test::TempDir dir_{"store_test"};
};

INSTANTIATE_TEST_SUITE_P(Kinds, StoreTest, ::testing::Values(StoreKind::kMemory, StoreKind::kPosix),
                         [](const auto& info) {
                           return info.param == StoreKind::kMemory ? "Memory" : "Posix";
                         });

// ---- Registry -------------------------------------------------------------------------

TEST_P(StoreTest, AcquireTwiceReturnsTheSameStore) {
  std::shared_ptr<Store> first = Acquire();
  std::shared_ptr<Store> second = Acquire();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(first->in_memory(), in_memory());
  EXPECT_NE(first.get(), Acquire("other").get());
}

TEST_P(StoreTest, WritesThroughOneReferenceAreSeenThroughAnother) {
  std::shared_ptr<Store> first = Acquire();
  std::shared_ptr<Store> second = Acquire();
  WriteBatch batch;
  batch.Put(RowKey(1, "k"), "v");
  ASSERT_TRUE(first->WriteDirect(batch).ok());
  EXPECT_EQ("v", Get(second.get(), RowKey(1, "k")));
}

TEST_P(StoreTest, LaterAcquireKeepsTheFirstOptionsAndNamesTheConflict) {
  StoreOptions first_options = SmallOptions();
  std::shared_ptr<Store> first = Acquire("store", first_options);
  StoreOptions other = first_options;
  other.sync = SyncMode::kOff;
  std::shared_ptr<Store> second = Acquire("store", other);
  ASSERT_EQ(first.get(), second.get());
  EXPECT_EQ(first_options, second->options());
  EXPECT_EQ("", second->OptionsConflict(first_options));
  EXPECT_EQ("sync=off was asked but store " + second->path() + " is open with sync=full",
            second->OptionsConflict(other));
  other = first_options;
  other.bloom_bits_per_key = 5;
  EXPECT_NE(std::string::npos, second->OptionsConflict(other).find("bloom_bits_per_key=5"));
}

// The message names the option and its values as CREATE VIRTUAL TABLE spells them
// (README's options), not the StoreOptions fields: sizes in KiB/MiB/GiB when whole,
// compression as none or zstd:<level>.
TEST_P(StoreTest, OptionsConflictSpeaksInTheOptionsUsersWrite) {
  StoreOptions open_options = SmallOptions();
  open_options.write_buffer_size = 1u << 20;
  open_options.block_cache_size = 0;
  open_options.compression_level = 1;
  std::shared_ptr<Store> store = Acquire("store", open_options);
  ASSERT_NE(store, nullptr);
  const std::string open_with = " was asked but store " + store->path() + " is open with ";
  StoreOptions asked = open_options;
  asked.write_buffer_size = 64u << 20;
  EXPECT_EQ("write_buffer_size=64MiB" + open_with + "write_buffer_size=1MiB",
            store->OptionsConflict(asked));
  asked = open_options;
  asked.write_buffer_size = 1500000;  // not a whole KiB: bytes
  EXPECT_EQ("write_buffer_size=1500000" + open_with + "write_buffer_size=1MiB",
            store->OptionsConflict(asked));
  asked = open_options;
  asked.block_cache_size = size_t{2} << 30;
  EXPECT_EQ("block_cache_size=2GiB" + open_with + "block_cache_size=0",
            store->OptionsConflict(asked));
  asked = open_options;
  asked.block_cache_size = 96u << 10;
  EXPECT_EQ("block_cache_size=96KiB" + open_with + "block_cache_size=0",
            store->OptionsConflict(asked));
  asked = open_options;
  asked.compression_level = 0;
  EXPECT_EQ("compression=none" + open_with + "compression=zstd:1", store->OptionsConflict(asked));
  asked.compression_level = 7;
  EXPECT_EQ("compression=zstd:7" + open_with + "compression=zstd:1", store->OptionsConflict(asked));
  asked = open_options;
  asked.bloom_bits_per_key = 0;
  EXPECT_EQ("bloom_bits_per_key=0" + open_with +
                "bloom_bits_per_key=" + std::to_string(open_options.bloom_bits_per_key),
            store->OptionsConflict(asked));
}

TEST_P(StoreTest, OutOfRangeOptionsAreInvalidArgumentsNamingTheOption) {
  struct Case {
    StoreOptions options;
    std::string option_name;
  };
  std::vector<Case> cases(4, Case{SmallOptions(), ""});
  cases[0].options.compression_level = -1;
  cases[0].option_name = "compression level";
  cases[1].options.compression_level = 23;
  cases[1].option_name = "compression level";
  cases[2].options.bloom_bits_per_key = -3;
  cases[2].option_name = "bloom_bits_per_key";
  cases[3].options.write_buffer_size = 0;
  cases[3].option_name = "write_buffer_size";
  for (const Case& c : cases) {
    std::shared_ptr<Store> store;
    Status s = Store::Acquire(Name("bad"), in_memory(), c.options, &store);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find(c.option_name)) << s.ToString();
    EXPECT_EQ(nullptr, store);
  }
}

TEST_P(StoreTest, OnlyFullSyncModeSyncsCommits) {
  for (SyncMode mode : {SyncMode::kFull, SyncMode::kNormal, SyncMode::kOff}) {
    StoreOptions options = SmallOptions();
    options.sync = mode;
    std::shared_ptr<Store> store = Acquire(SyncModeName(mode), options);
    EXPECT_EQ(mode == SyncMode::kFull, store->CommitWriteOptions().sync) << SyncModeName(mode);
  }
}

TEST_P(StoreTest, ConcurrentAcquiresAndReleasesNeverCollide) {
  // Releasing the last reference closes the engine while other threads may be
  // acquiring the same store: they must wait for the close, not fail on the lock.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 60; i++) {
        std::shared_ptr<Store> store;
        Status s = Store::Acquire(Name(), in_memory(), SmallOptions(), &store);
        if (!s.ok() || store->db() == nullptr) failures++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(0, failures.load());
}

// ---- Catalog --------------------------------------------------------------------------

TEST_P(StoreTest, CreatedTablesGetIncreasingIdsFromOne) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry a, b;
  ASSERT_TRUE(store->CreateTable("a", "schema a", &a).ok());
  ASSERT_TRUE(store->CreateTable("b", "schema b", &b).ok());
  EXPECT_EQ(1u, a.id);
  EXPECT_EQ(2u, b.id);
  EXPECT_EQ("a", a.name);
  EXPECT_EQ("schema b", b.schema);
}

TEST_P(StoreTest, FindTableIgnoresAsciiCaseAndKeepsTheSpelling) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry created, found;
  std::string schema("with\0zero", 9);
  ASSERT_TRUE(store->CreateTable("Users", schema, &created).ok());
  for (std::string_view name : {"Users", "users", "USERS", "uSeRs"}) {
    ASSERT_TRUE(store->FindTable(name, &found).ok()) << name;
    EXPECT_EQ(created.id, found.id);
    EXPECT_EQ("Users", found.name);
    EXPECT_EQ(schema, found.schema);
  }
  // Only ASCII letters fold, as in SQLite: "É" and "é" are different names.
  ASSERT_TRUE(store->CreateTable("\xC3\x89t\xC3\xA9", "", &created).ok());
  EXPECT_TRUE(store->FindTable("\xC3\xA9t\xC3\xA9", &found).IsNotFound());
}

TEST_P(StoreTest, MissingTableIsNotFoundNamingTableAndStore) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry entry;
  Status s = store->FindTable("nope", &entry);
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ("no table nope in store " + store->path(), s.message());
  WriteBatch on_commit;
  EXPECT_TRUE(store->PrepareDropTable("nope", &on_commit).IsNotFound());
  EXPECT_TRUE(store->PrepareRenameTable("nope", "other", &on_commit).IsNotFound());
}

TEST_P(StoreTest, CreatingAnExistingNameInAnyCaseFails) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry entry;
  ASSERT_TRUE(store->CreateTable("t", "1", &entry).ok());
  Status s = store->CreateTable("T", "2", &entry);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ("table T exists in store " + store->path(), s.message());
  ASSERT_TRUE(store->FindTable("t", &entry).ok());
  EXPECT_EQ("1", entry.schema);
}

TEST_P(StoreTest, ListTablesReturnsEveryTable) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry entry;
  for (std::string_view name : {"b", "A", "c"}) {
    ASSERT_TRUE(store->CreateTable(name, name, &entry).ok());
  }
  std::vector<Store::TableEntry> tables;
  ASSERT_TRUE(store->ListTables(&tables).ok());
  ASSERT_EQ(3u, tables.size());
  EXPECT_EQ("A", tables[0].name);
  EXPECT_EQ(2u, tables[0].id);
  EXPECT_EQ("b", tables[1].name);
  EXPECT_EQ("c", tables[2].name);
}

TEST_P(StoreTest, DropTableDeletesEveryRowAndOnlyThatTablesRows) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry dropped, kept;
  ASSERT_TRUE(store->CreateTable("dropped", "", &dropped).ok());
  ASSERT_TRUE(store->CreateTable("kept", "", &kept).ok());
  // More rows than one deletion batch, across flushed tables.
  WriteBatch batch;
  for (int i = 0; i < 2500; i++) {
    batch.Put(RowKey(dropped.id, "row" + std::to_string(i)), std::string(100, 'd'));
    if (i % 10 == 0) batch.Put(RowKey(kept.id, "row" + std::to_string(i)), "k");
  }
  ASSERT_TRUE(store->WriteDirect(batch).ok());
  ASSERT_TRUE(store->db()->Flush().ok());

  ASSERT_TRUE(DropTable(store.get(), "DROPPED").ok());
  Store::TableEntry entry;
  EXPECT_TRUE(store->FindTable("dropped", &entry).IsNotFound());
  EXPECT_TRUE(TableRows(store.get(), dropped.id).empty());
  EXPECT_EQ(250u, TableRows(store.get(), kept.id).size());
}

TEST_P(StoreTest, RecreatedTableGetsANewIdAndIsEmpty) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry first, second, other;
  ASSERT_TRUE(store->CreateTable("t", "", &first).ok());
  ASSERT_TRUE(store
                  ->WriteDirect([&] {
                    WriteBatch b;
                    b.Put(RowKey(first.id, "k"), "old");
                    return b;
                  }())
                  .ok());
  ASSERT_TRUE(DropTable(store.get(), "t").ok());
  ASSERT_TRUE(store->CreateTable("t", "", &second).ok());
  EXPECT_GT(second.id, first.id);
  EXPECT_TRUE(TableRows(store.get(), second.id).empty());
  // Ids are never reused, also not after dropping the newest table.
  ASSERT_TRUE(DropTable(store.get(), "t").ok());
  ASSERT_TRUE(store->CreateTable("other", "", &other).ok());
  EXPECT_GT(other.id, second.id);
}

TEST_P(StoreTest, RenameMovesTheEntryAndKeepsIdAndSchema) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry created, found;
  ASSERT_TRUE(store->CreateTable("old", "schema", &created).ok());
  ASSERT_TRUE(RenameTable(store.get(), "OLD", "New").ok());
  EXPECT_TRUE(store->FindTable("old", &found).IsNotFound());
  ASSERT_TRUE(store->FindTable("new", &found).ok());
  EXPECT_EQ(created.id, found.id);
  EXPECT_EQ("New", found.name);
  EXPECT_EQ("schema", found.schema);
  // The old name is free again.
  ASSERT_TRUE(store->CreateTable("old", "", &found).ok());
  EXPECT_NE(created.id, found.id);
}

TEST_P(StoreTest, RenameToAnotherSpellingChangesOnlyTheSpelling) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry created, found;
  ASSERT_TRUE(store->CreateTable("users", "s", &created).ok());
  ASSERT_TRUE(RenameTable(store.get(), "users", "USERS").ok());
  ASSERT_TRUE(store->FindTable("users", &found).ok());
  EXPECT_EQ("USERS", found.name);
  EXPECT_EQ(created.id, found.id);
  std::vector<Store::TableEntry> tables;
  ASSERT_TRUE(store->ListTables(&tables).ok());
  EXPECT_EQ(1u, tables.size());
}

// ---- Schema changes whose outcome the main database decides ----

std::string Names(Store* store) {
  std::vector<Store::TableEntry> entries;
  EXPECT_TRUE(store->ListTables(&entries).ok());
  std::string names;
  for (const auto& e : entries) names += e.name + ":" + std::to_string(e.id) + " ";
  return names;
}

void PutRow(Store* store, uint32_t id, const std::string& key) {
  WriteBatch batch;
  batch.Put(RowKey(id, key), "v");
  ASSERT_TRUE(store->WriteDirect(batch).ok());
}

TEST_P(StoreTest, PreparedDropChangesNothingUntilItsBatchIsApplied) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry t, other;
  ASSERT_TRUE(store->CreateTable("t", "", &t).ok());
  ASSERT_TRUE(store->CreateTable("other", "", &other).ok());
  PutRow(store.get(), t.id, "a");
  PutRow(store.get(), other.id, "a");
  WriteBatch on_commit;
  ASSERT_TRUE(store->PrepareDropTable("T", &on_commit).ok());
  EXPECT_EQ("other:2 t:1 ", Names(store.get()));
  EXPECT_EQ(1u, TableRows(store.get(), t.id).size());
  // As the glue does: a pending transaction, applied once the database committed.
  ASSERT_TRUE(store->WritePending(7, on_commit).ok());
  ASSERT_TRUE(store->ApplyPending(7).ok());
  EXPECT_EQ("other:2 ", Names(store.get()));
  ASSERT_TRUE(store->FinishDrops().ok());
  EXPECT_TRUE(TableRows(store.get(), t.id).empty());
  EXPECT_EQ(1u, TableRows(store.get(), other.id).size());
  EXPECT_TRUE(store->PrepareDropTable("t", &on_commit).IsNotFound());
}

TEST_P(StoreTest, PreparedRenameAddsTheNewNameAtOnceAndItsBatchRemovesTheOld) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry t;
  ASSERT_TRUE(store->CreateTable("t", "schema", &t).ok());
  PutRow(store.get(), t.id, "a");
  WriteBatch on_commit;
  ASSERT_TRUE(store->PrepareRenameTable("t", "U", &on_commit).ok());
  EXPECT_EQ("t:1 U:1 ", Names(store.get()));  // both names work whichever way it ends
  Store::TableEntry found;
  ASSERT_TRUE(store->FindTable("u", &found).ok());
  EXPECT_EQ("schema", found.schema);
  ASSERT_TRUE(store->WriteDirect(on_commit).ok());
  EXPECT_EQ("U:1 ", Names(store.get()));
  EXPECT_EQ(1u, TableRows(store.get(), t.id).size());
  // Another spelling: changed at once, nothing left to commit.
  ASSERT_TRUE(store->PrepareRenameTable("U", "u", &on_commit).ok());
  EXPECT_EQ(0u, on_commit.Count());
  EXPECT_EQ("u:1 ", Names(store.get()));
}

TEST_P(StoreTest, StaleNameGoesAloneWhileAnotherNameStillReachesTheRows) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry t, stale;
  ASSERT_TRUE(store->CreateTable("t", "", &t).ok());
  PutRow(store.get(), t.id, "a");
  WriteBatch on_commit;
  // A rename that did not commit leaves its new name stale.
  ASSERT_TRUE(store->PrepareRenameTable("t", "u", &on_commit).ok());
  ASSERT_TRUE(store->RemoveStaleName("u").ok());
  EXPECT_EQ("t:1 ", Names(store.get()));
  EXPECT_EQ(1u, TableRows(store.get(), t.id).size());
  // A name whose table is gone from SQLite takes the rows with it.
  ASSERT_TRUE(store->CreateTable("stale", "", &stale).ok());
  PutRow(store.get(), stale.id, "b");
  ASSERT_TRUE(store->RemoveStaleName("STALE").ok());
  EXPECT_EQ("t:1 ", Names(store.get()));
  EXPECT_TRUE(TableRows(store.get(), stale.id).empty());
  EXPECT_TRUE(store->RemoveStaleName("absent").ok());
  // Renaming onto a stale name of another table replaces it (its rows go).
  ASSERT_TRUE(store->CreateTable("stale", "", &stale).ok());
  PutRow(store.get(), stale.id, "c");
  ASSERT_TRUE(store->PrepareRenameTable("t", "stale", &on_commit).ok());
  EXPECT_EQ("stale:1 t:1 ", Names(store.get()));
  ASSERT_TRUE(store->FinishDrops().ok());
  EXPECT_TRUE(TableRows(store.get(), stale.id).empty());
  EXPECT_EQ(1u, TableRows(store.get(), t.id).size());
}

TEST_P(StoreTest, OwnerIsClaimedOnceAndItsPathCanMove) {
  std::shared_ptr<Store> store = Acquire();
  Store::Owner owner;
  bool found = true;
  ASSERT_TRUE(store->ReadOwner(&owner, &found).ok());
  EXPECT_FALSE(found);
  ASSERT_TRUE(store->ClaimOwner({"id-a", "/a.db", "0123456789abcdef"}, &owner).ok());
  EXPECT_EQ("id-a", owner.database_id);
  ASSERT_TRUE(store->ClaimOwner({"id-b", "/b.db", "fedcba9876543210"}, &owner).ok());
  EXPECT_EQ("id-a", owner.database_id);  // the first claim stays
  EXPECT_EQ("/a.db", owner.database_path);
  EXPECT_EQ("0123456789abcdef", owner.commit_log_id);
  ASSERT_TRUE(store->UpdateOwnerPath("/moved/a.db").ok());
  store.reset();
  if (!in_memory()) store = Acquire();  // recorded in the store, not in memory
  if (store == nullptr) return;
  ASSERT_TRUE(store->ReadOwner(&owner, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ("id-a", owner.database_id);
  EXPECT_EQ("/moved/a.db", owner.database_path);
  EXPECT_EQ("0123456789abcdef", owner.commit_log_id);  // a move keeps the store's commit log
}

// Owner records of format version 1 (before commit logs were per store) name no commit
// log: the store keeps using its database's shared one. Damaged records are corruption.
TEST_P(StoreTest, OwnerRecordOfVersionOneHasNoCommitLogId) {
  std::shared_ptr<Store> store = Acquire();
  const std::string key = Store::TableKeyPrefix(0) + "owner";
  ASSERT_TRUE(store->db()->Put(WriteOptions(), key, "\x01\x04id-a\x05/a.db").ok());
  Store::Owner owner{"x", "x", "x"};
  bool found = false;
  ASSERT_TRUE(store->ReadOwner(&owner, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ("id-a", owner.database_id);
  EXPECT_EQ("/a.db", owner.database_path);
  EXPECT_EQ("", owner.commit_log_id);
  ASSERT_TRUE(store->UpdateOwnerPath("/b.db").ok());  // rewritten as version 2
  EXPECT_EQ(std::string("\x02\x04id-a\x05/b.db\x00", 13), Get(store.get(), key));

  const std::string v2 = std::string("\x02\x04id-a\x05/a.db", 12);
  for (const std::string& bad : {std::string("\x01\x04id-a\x05/a.db\x00", 13),  // v1 + more
                                 v2,                                             // v2 short
                                 std::string("\x03\x04id-a\x05/a.db\x00", 13),  // version 3
                                 v2 + "\x0f" + "0123456789abcde",    // a 15-digit log id
                                 v2 + "\x10" + "0123456789abcdeF",   // not lowercase hex
                                 v2 + "\x10" + "0123456789abcd\"x"}) {  // quote in the id
    ASSERT_TRUE(store->db()->Put(WriteOptions(), key, bad).ok());
    Status s = store->ReadOwner(&owner, &found);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  }
}

TEST_P(StoreTest, MalformedCatalogEntryIsCorruptionNamingTheTable) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry entry;
  ASSERT_TRUE(store->CreateTable("t", "schema", &entry).ok());
  const std::string key = Store::TableKeyPrefix(0) + "table/t";
  std::string good = Get(store.get(), key);
  std::vector<std::string> bad = {
      "",                                              // empty
      good.substr(0, 4),                               // truncated id
      "\x02" + good.substr(1),                         // unknown version
      good.substr(0, 5) + "\x05t",                     // name longer than the rest
      std::string("\x01\0\0\0\0\x01t", 7),             // id 0
      good.substr(0, 5) + "\x01u" + "schema",          // name disagrees with the key
      good.substr(0, 5) + "\xFF\xFF\xFF\xFF\xFF\x01t"  // overlong varint
  };
  for (const std::string& value : bad) {
    ASSERT_TRUE(store->db()->Put(WriteOptions(), key, value).ok());
    Status s = store->FindTable("t", &entry);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find("catalog entry of table t")) << s.ToString();
    std::vector<Store::TableEntry> tables;
    EXPECT_TRUE(store->ListTables(&tables).IsCorruption());
  }
}

TEST(StoreKeyTest, TableKeyPrefixIsTheBigEndianId) {
  EXPECT_EQ(std::string("\0\0\0\0", 4), Store::TableKeyPrefix(0));
  EXPECT_EQ(std::string("\0\0\0\x01", 4), Store::TableKeyPrefix(1));
  EXPECT_EQ(std::string("\x01\x02\x03\x04", 4), Store::TableKeyPrefix(0x01020304));
  // So ids order like their prefixes, and each table is one key range.
  EXPECT_LT(Store::TableKeyPrefix(255), Store::TableKeyPrefix(256));
  EXPECT_LT(Store::TableKeyPrefix(0) + std::string(100, '\xFF'), Store::TableKeyPrefix(1));
}

// ---- Writer slot ----------------------------------------------------------------------

TEST_P(StoreTest, SecondWriterGetsBusyAfterItsTimeout) {
  std::shared_ptr<Store> store = Acquire();
  int a, b;
  ASSERT_TRUE(store->BeginWrite(&a, milliseconds(0)).ok());
  auto start = std::chrono::steady_clock::now();
  Status s = store->BeginWrite(&b, milliseconds(100));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ("store " + store->path() + " has another writing transaction", s.message());
  EXPECT_GE(waited, milliseconds(95));
  EXPECT_LT(waited, milliseconds(5000));
  // A zero timeout does not wait.
  EXPECT_TRUE(store->BeginWrite(&b, milliseconds(0)).IsBusy());
  store->EndWrite(&a);
}

TEST_P(StoreTest, WriterSlotIsReentrantForItsOwner) {
  std::shared_ptr<Store> store = Acquire();
  int a, b;
  ASSERT_TRUE(store->BeginWrite(&a, milliseconds(0)).ok());
  ASSERT_TRUE(store->BeginWrite(&a, milliseconds(0)).ok());
  // One EndWrite releases it: re-entry does not count.
  store->EndWrite(&a);
  EXPECT_TRUE(store->BeginWrite(&b, milliseconds(0)).ok());
  store->EndWrite(&b);
}

TEST_P(StoreTest, EndWriteByAnotherOwnerDoesNotReleaseTheSlot) {
  std::shared_ptr<Store> store = Acquire();
  int a, b;
  ASSERT_TRUE(store->BeginWrite(&a, milliseconds(0)).ok());
  store->EndWrite(&b);
  EXPECT_TRUE(store->BeginWrite(&b, milliseconds(0)).IsBusy());
  store->EndWrite(&a);
  EXPECT_TRUE(store->BeginWrite(&b, milliseconds(0)).ok());
  store->EndWrite(&b);
}

TEST_P(StoreTest, WaitingWriterTakesTheSlotWhenTheHolderEnds) {
  std::shared_ptr<Store> store = Acquire();
  int a, b;
  ASSERT_TRUE(store->BeginWrite(&a, milliseconds(0)).ok());
  std::atomic<bool> got_slot{false};
  Status waiter_status;
  std::thread waiter([&] {
    waiter_status = store->BeginWrite(&b, milliseconds(10000));
    got_slot = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(got_slot.load());
  auto released = std::chrono::steady_clock::now();
  store->EndWrite(&a);
  waiter.join();
  EXPECT_TRUE(waiter_status.ok()) << waiter_status.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - released, milliseconds(5000));
  EXPECT_TRUE(store->BeginWrite(&a, milliseconds(0)).IsBusy());
  store->EndWrite(&b);
}

TEST_P(StoreTest, NullOwnerIsRejected) {
  std::shared_ptr<Store> store = Acquire();
  EXPECT_TRUE(store->BeginWrite(nullptr, milliseconds(0)).IsInvalidArgument());
}

// ---- Pending transactions -------------------------------------------------------------

TEST_P(StoreTest, TransactionIdsArePositiveAndIncrease) {
  std::shared_ptr<Store> store = Acquire();
  uint64_t previous = 0;
  for (int i = 0; i < 3000; i++) {  // crosses reservations
    uint64_t txid;
    ASSERT_TRUE(store->NewTransactionId(&txid).ok());
    ASSERT_GT(txid, previous);
    previous = txid;
  }
}

TEST_P(StoreTest, PendingTransactionIsInvisibleUntilApplied) {
  std::shared_ptr<Store> store = Acquire();
  ASSERT_TRUE(store
                  ->WriteDirect([] {
                    WriteBatch b;
                    b.Put(RowKey(1, "gone"), "old");
                    b.Put(RowKey(1, "changed"), "old");
                    return b;
                  }())
                  .ok());
  uint64_t txid;
  ASSERT_TRUE(store->NewTransactionId(&txid).ok());
  WriteBatch batch;
  batch.Put(RowKey(1, "new"), "v1");
  batch.Delete(RowKey(1, "gone"));
  batch.Put(RowKey(1, "changed"), "new");
  batch.Put(RowKey(2, "twice"), "first");
  batch.Put(RowKey(2, "twice"), "second");  // later records win, as in WriteBatch
  batch.Put(RowKey(2, "put then deleted"), "x");
  batch.Delete(RowKey(2, "put then deleted"));
  ASSERT_TRUE(store->WritePending(txid, batch).ok());

  EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "new")));
  EXPECT_EQ("old", Get(store.get(), RowKey(1, "gone")));
  std::vector<uint64_t> pending;
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_EQ(std::vector<uint64_t>{txid}, pending);

  ASSERT_TRUE(store->ApplyPending(txid).ok());
  EXPECT_EQ("v1", Get(store.get(), RowKey(1, "new")));
  EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "gone")));
  EXPECT_EQ("new", Get(store.get(), RowKey(1, "changed")));
  EXPECT_EQ("second", Get(store.get(), RowKey(2, "twice")));
  EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(2, "put then deleted")));
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_TRUE(pending.empty());
}

TEST_P(StoreTest, ApplyingTwiceDoesNotUndoLaterWrites) {
  std::shared_ptr<Store> store = Acquire();
  uint64_t txid;
  ASSERT_TRUE(store->NewTransactionId(&txid).ok());
  WriteBatch batch;
  batch.Put(RowKey(1, "k"), "from pending");
  ASSERT_TRUE(store->WritePending(txid, batch).ok());
  ASSERT_TRUE(store->ApplyPending(txid).ok());
  ASSERT_TRUE(store
                  ->WriteDirect([] {
                    WriteBatch b;
                    b.Put(RowKey(1, "k"), "later");
                    return b;
                  }())
                  .ok());
  ASSERT_TRUE(store->ApplyPending(txid).ok());
  EXPECT_EQ("later", Get(store.get(), RowKey(1, "k")));
}

TEST_P(StoreTest, DiscardedPendingTransactionNeverApplies) {
  std::shared_ptr<Store> store = Acquire();
  uint64_t txid;
  ASSERT_TRUE(store->NewTransactionId(&txid).ok());
  WriteBatch batch;
  batch.Put(RowKey(1, "k"), "v");
  ASSERT_TRUE(store->WritePending(txid, batch).ok());
  ASSERT_TRUE(store->DiscardPending(txid).ok());
  ASSERT_TRUE(store->ApplyPending(txid).ok());
  EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "k")));
  EXPECT_TRUE(store->DiscardPending(txid).ok());  // absent: fine
}

TEST_P(StoreTest, ListPendingIsAscendingAndIgnoresOtherReservedKeys) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry entry;
  ASSERT_TRUE(store->CreateTable("t", "", &entry).ok());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; i++) {
    uint64_t txid;
    ASSERT_TRUE(store->NewTransactionId(&txid).ok());
    ids.push_back(txid);
  }
  // Written out of order; one id above 2^32 to check the key is 8 bytes wide.
  ids.push_back(uint64_t{1} << 40);
  for (uint64_t txid : {ids[3], ids[0], ids[5], ids[4], ids[1], ids[2]}) {
    WriteBatch batch;
    batch.Put(RowKey(entry.id, std::to_string(txid)), "v");
    ASSERT_TRUE(store->WritePending(txid, batch).ok());
  }
  std::vector<uint64_t> pending;
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_EQ(ids, pending);
}

TEST_P(StoreTest, EmptyPendingTransactionRoundTrips) {
  std::shared_ptr<Store> store = Acquire();
  WriteBatch empty;
  ASSERT_TRUE(store->WritePending(7, empty).ok());
  ASSERT_TRUE(store->ApplyPending(7).ok());
  std::vector<uint64_t> pending;
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_TRUE(pending.empty());
}

TEST_P(StoreTest, PendingRecordWithBinaryKeysAndLargeValuesRoundTrips) {
  std::shared_ptr<Store> store = Acquire();
  WriteBatch batch;
  std::string binary_key = RowKey(1, std::string("\0\xFF\x80\0", 4));
  std::string big(300000, 'b');
  batch.Put(binary_key, big);
  batch.Put(RowKey(1, ""), "");
  ASSERT_TRUE(store->WritePending(9, batch).ok());
  ASSERT_TRUE(store->ApplyPending(9).ok());
  EXPECT_EQ(big, Get(store.get(), binary_key));
  EXPECT_EQ("", Get(store.get(), RowKey(1, "")));
}

TEST_P(StoreTest, MalformedPendingRecordIsCorruptionNamingTheTransaction) {
  std::shared_ptr<Store> store = Acquire();
  WriteBatch batch;
  batch.Put(RowKey(1, "k"), "value");
  batch.Delete(RowKey(1, "d"));
  ASSERT_TRUE(store->WritePending(42, batch).ok());
  const std::string good = Get(store.get(), PendingKey(42));
  std::vector<std::string> bad = {
      "",                                         // empty
      "\x02" + good.substr(1),                    // unknown version
      good.substr(0, good.size() - 1),            // truncated last record
      good.substr(0, 2),                          // count but no records
      good + "x",                                 // trailing bytes
      std::string("\x01\x01\x07", 3),             // unknown record type
      std::string("\x01\x01\x01\x7F", 4),         // key length past the end
      std::string("\x01\xFF\xFF\xFF\xFF\xFF", 6)  // overlong count varint
  };
  for (const std::string& value : bad) {
    ASSERT_TRUE(store->db()->Put(WriteOptions(), PendingKey(42), value).ok());
    Status s = store->ApplyPending(42);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find("pending transaction 42 is malformed"))
        << s.ToString();
    EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "k")));
  }
}

TEST_P(StoreTest, OversizedBatchIsRejectedBeforeWriting) {
  std::shared_ptr<Store> store = Acquire();
  WriteBatch batch;
  batch.Put(std::string(WriteBatch::kMaxKeySize + 1, 'k'), "v");
  ASSERT_TRUE(batch.oversized());
  EXPECT_TRUE(store->WritePending(1, batch).IsInvalidArgument());
  std::vector<uint64_t> pending;
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_TRUE(pending.empty());
}

// xCommit applies a transaction from the PendingTransaction xSync wrote, recovery from
// the record read back: both must give the same store.
TEST_P(StoreTest, CommitPendingWritesWhatApplyPendingWouldApplyFromTheRecord) {
  auto records = [](WriteBatch::Handler* handler) {
    handler->Put(RowKey(1, "new"), "v1");
    handler->Delete(RowKey(1, "gone"));
    handler->Put(RowKey(1, "changed"), "new");
    handler->Put(RowKey(1, std::string("\0\xFF\x80\0", 4)), std::string(300000, 'b'));
    handler->Put(RowKey(1, ""), "");
    handler->Put(RowKey(2, "twice"), "first");
    handler->Put(RowKey(2, "twice"), "second");  // later records win
    handler->Put(RowKey(2, "put then deleted"), "x");
    handler->Delete(RowKey(2, "put then deleted"));
  };
  auto run = [&](std::string_view name, bool from_memory) {
    std::shared_ptr<Store> store = Acquire(name);
    WriteBatch before;
    before.Put(RowKey(1, "gone"), "old");
    before.Put(RowKey(1, "changed"), "old");
    EXPECT_TRUE(store->WriteDirect(before).ok());
    uint64_t txid;
    EXPECT_TRUE(store->NewTransactionId(&txid).ok());
    Store::PendingTransaction txn;
    records(&txn);
    EXPECT_EQ(9u, txn.count());
    EXPECT_TRUE(store->WritePending(txid, &txn).ok());
    EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "new")));  // invisible until applied
    if (!from_memory && !store->in_memory()) {
      // On disk the record is read back only by recovery, after the store reopens.
      store.reset();
      store = Acquire(name);
    }
    Status s = from_memory ? store->CommitPending(txid, &txn) : store->ApplyPending(txid);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<uint64_t> pending;
    EXPECT_TRUE(store->ListPending(&pending).ok());
    EXPECT_TRUE(pending.empty());
    return Contents(store.get());
  };
  const auto from_memory = run("memory", true);
  EXPECT_EQ(run("record", false), from_memory);
  EXPECT_EQ("second", from_memory.at(RowKey(2, "twice")));
  EXPECT_EQ(0u, from_memory.count(RowKey(1, "gone")));
  EXPECT_EQ(0u, from_memory.count(RowKey(2, "put then deleted")));
}

// On disk a transaction's pending record is in the log only: it takes no memtable
// space, so a transaction larger than a memtable is flushed once (its rows), not twice
// (record and rows, the record then living in a table until compacted away). After a
// reopen, before the commit, the record is found like any other.
TEST_P(StoreTest, PendingRecordOfALargeTransactionIsNeverFlushed) {
  std::shared_ptr<Store> store = Acquire();
  std::mt19937 rng(5);
  Store::PendingTransaction txn;
  uint64_t row_bytes = 0;
  for (int i = 0; i < 200; i++) {  // ~4x SmallOptions' write buffer, incompressible
    std::string value(1000, '\0');
    for (char& c : value) c = static_cast<char>(rng());
    txn.Put(RowKey(1, "row" + std::to_string(i)), value);
    row_bytes += value.size();
  }
  uint64_t txid;
  ASSERT_TRUE(store->NewTransactionId(&txid).ok());
  ASSERT_TRUE(store->WritePending(txid, &txn).ok());
  ASSERT_TRUE(store->CommitPending(txid, &txn).ok());
  ASSERT_TRUE(store->db()->Flush().ok());
  ASSERT_TRUE(store->db()->WaitForBackgroundWork().ok());
  Statistics stats;
  store->db()->GetStatistics(&stats);
  if (store->in_memory()) {
    EXPECT_GT(stats.flush_bytes_written, row_bytes * 3 / 2);  // record and rows
  } else {
    EXPECT_LT(stats.flush_bytes_written, row_bytes * 3 / 2);  // the rows only
  }
  size_t rows = 0;
  for (const auto& [key, value] : Contents(store.get())) rows += key.starts_with(RowKey(1, ""));
  EXPECT_EQ(rows, 200u);
}

TEST_P(StoreTest, ClearedPendingTransactionStartsEmpty) {
  std::shared_ptr<Store> store = Acquire();
  Store::PendingTransaction txn;
  txn.Put(RowKey(1, "stale"), "v");
  txn.Clear();
  txn.Put(RowKey(1, "fresh"), "v");
  ASSERT_TRUE(store->WritePending(5, &txn).ok());
  ASSERT_TRUE(store->CommitPending(5, &txn).ok());
  EXPECT_EQ("v", Get(store.get(), RowKey(1, "fresh")));
  EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "stale")));
}

TEST_P(StoreTest, OversizedPendingTransactionIsRejectedBeforeWriting) {
  std::shared_ptr<Store> store = Acquire();
  Store::PendingTransaction txn;
  txn.Put(std::string(WriteBatch::kMaxKeySize + 1, 'k'), "v");
  EXPECT_TRUE(store->WritePending(1, &txn).IsInvalidArgument());
  std::vector<uint64_t> pending;
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_TRUE(pending.empty());
}

TEST_P(StoreTest, PendingAndCatalogKeysStayOutOfEveryTablesRange) {
  std::shared_ptr<Store> store = Acquire();
  Store::TableEntry entry;
  ASSERT_TRUE(store->CreateTable("t", "", &entry).ok());
  uint64_t txid;
  ASSERT_TRUE(store->NewTransactionId(&txid).ok());
  ASSERT_TRUE(store->WritePending(txid, WriteBatch()).ok());
  for (const auto& [key, value] : Contents(store.get())) {
    EXPECT_TRUE(key.starts_with(Store::TableKeyPrefix(0))) << key;
  }
}

// ---- On disk only ---------------------------------------------------------------------

class PosixStoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<Store> Acquire(const std::string& path) {
    std::shared_ptr<Store> store;
    Status s = Store::Acquire(path, /*in_memory=*/false, SmallOptions(), &store);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return store;
  }
  std::string Canonical(const std::string& name) {
    char* real = realpath(dir_.path().c_str(), nullptr);
    std::string result = std::string(real) + "/" + name;
    free(real);
    return result;
  }

  test::TempDir dir_{"store_test"};
};

TEST_F(PosixStoreTest, EverySpellingOfADirectoryIsOneStore) {
  std::filesystem::create_directory(dir_.Join("sub"));
  std::shared_ptr<Store> store = Acquire(dir_.Join("s"));
  EXPECT_EQ(Canonical("s"), store->path());
  EXPECT_EQ(store.get(), Acquire(dir_.path() + "//s/").get());
  EXPECT_EQ(store.get(), Acquire(dir_.Join("sub/../s")).get());
  EXPECT_EQ(store.get(), Acquire(dir_.Join("./s")).get());
  // The registry is keyed by the parent's realpath: a symlinked parent is the same.
  std::filesystem::create_directory_symlink(dir_.path(), dir_.Join("sub/link"));
  EXPECT_EQ(store.get(), Acquire(dir_.Join("sub/link/s")).get());
}

TEST_F(PosixStoreTest, MissingParentDirectoryIsAnIOErrorNamingThePath) {
  std::shared_ptr<Store> store;
  const std::string path = dir_.Join("no/such/store");
  Status s = Store::Acquire(path, false, SmallOptions(), &store);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(path)) << s.ToString();
}

TEST_F(PosixStoreTest, InMemoryAndOnDiskStoresNeverShare) {
  std::shared_ptr<Store> disk = Acquire(dir_.Join("s"));
  std::shared_ptr<Store> memory;
  ASSERT_TRUE(Store::Acquire(disk->path(), true, SmallOptions(), &memory).ok());
  EXPECT_NE(disk.get(), memory.get());
  EXPECT_TRUE(memory->in_memory());
  EXPECT_FALSE(disk->in_memory());
}

TEST_F(PosixStoreTest, ReleasingTheLastReferenceClosesTheStore) {
  const std::string path = dir_.Join("s");
  std::shared_ptr<Store> first = Acquire(path);
  std::shared_ptr<Store> second = Acquire(path);
  first.reset();
  // Still open: the engine's lock is held.
  std::unique_ptr<DB> db;
  Options options;
  EXPECT_TRUE(DB::Open(options, path, &db).IsBusy());
  second.reset();
  // Closed: the directory can be opened directly.
  Status s = DB::Open(options, path, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  db.reset();
  EXPECT_NE(nullptr, Acquire(path));
}

TEST_F(PosixStoreTest, CatalogRowsAndIdsPersistAcrossReopen) {
  const std::string path = dir_.Join("s");
  Store::TableEntry a, b, dropped;
  uint64_t last_txid;
  {
    std::shared_ptr<Store> store = Acquire(path);
    ASSERT_TRUE(store->CreateTable("a", "schema a", &a).ok());
    ASSERT_TRUE(store->CreateTable("dropped", "", &dropped).ok());
    ASSERT_TRUE(store->CreateTable("b", "schema b", &b).ok());
    ASSERT_TRUE(DropTable(store.get(), "dropped").ok());
    ASSERT_TRUE(RenameTable(store.get(), "b", "Bee").ok());
    WriteBatch batch;
    batch.Put(RowKey(a.id, "row"), "value");
    ASSERT_TRUE(store->WriteDirect(batch).ok());
    ASSERT_TRUE(store->NewTransactionId(&last_txid).ok());
  }
  std::shared_ptr<Store> store = Acquire(path);
  Store::TableEntry found;
  ASSERT_TRUE(store->FindTable("A", &found).ok());
  EXPECT_EQ(a.id, found.id);
  EXPECT_EQ("schema a", found.schema);
  ASSERT_TRUE(store->FindTable("bee", &found).ok());
  EXPECT_EQ(b.id, found.id);
  EXPECT_TRUE(store->FindTable("b", &found).IsNotFound());
  EXPECT_TRUE(store->FindTable("dropped", &found).IsNotFound());
  EXPECT_EQ("value", Get(store.get(), RowKey(a.id, "row")));
  // Ids keep increasing after the reopen.
  Store::TableEntry c;
  ASSERT_TRUE(store->CreateTable("c", "", &c).ok());
  EXPECT_GT(c.id, b.id);
  uint64_t txid;
  ASSERT_TRUE(store->NewTransactionId(&txid).ok());
  EXPECT_GT(txid, last_txid);
}

TEST_F(PosixStoreTest, TransactionIdsIncreaseAcrossManyReopens) {
  const std::string path = dir_.Join("s");
  uint64_t previous = 0;
  for (int reopen = 0; reopen < 5; reopen++) {
    std::shared_ptr<Store> store = Acquire(path);
    for (int i = 0; i < reopen * 700; i++) {  // sometimes across a reservation
      uint64_t txid;
      ASSERT_TRUE(store->NewTransactionId(&txid).ok());
      ASSERT_GT(txid, previous);
      previous = txid;
    }
    uint64_t txid;
    ASSERT_TRUE(store->NewTransactionId(&txid).ok());
    ASSERT_GT(txid, previous);
    previous = txid;
  }
}

TEST_F(PosixStoreTest, PendingTransactionLeftByACrashIsListedAfterReopen) {
  const std::string path = dir_.Join("s");
  uint64_t applied, discarded;
  {
    std::shared_ptr<Store> store = Acquire(path);
    ASSERT_TRUE(store->NewTransactionId(&applied).ok());
    ASSERT_TRUE(store->NewTransactionId(&discarded).ok());
    WriteBatch batch;
    batch.Put(RowKey(1, "applied"), "yes");
    ASSERT_TRUE(store->WritePending(applied, batch).ok());
    batch.Clear();
    batch.Put(RowKey(1, "discarded"), "no");
    ASSERT_TRUE(store->WritePending(discarded, batch).ok());
    // The store goes away before xCommit applies anything.
  }
  {
    std::shared_ptr<Store> store = Acquire(path);
    std::vector<uint64_t> pending;
    ASSERT_TRUE(store->ListPending(&pending).ok());
    EXPECT_EQ((std::vector<uint64_t>{applied, discarded}), pending);
    EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "applied")));
    ASSERT_TRUE(store->ApplyPending(applied).ok());
    ASSERT_TRUE(store->DiscardPending(discarded).ok());
    uint64_t txid;
    ASSERT_TRUE(store->NewTransactionId(&txid).ok());
    EXPECT_GT(txid, discarded);
  }
  std::shared_ptr<Store> store = Acquire(path);
  std::vector<uint64_t> pending;
  ASSERT_TRUE(store->ListPending(&pending).ok());
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ("yes", Get(store.get(), RowKey(1, "applied")));
  EXPECT_EQ("NOT_FOUND", Get(store.get(), RowKey(1, "discarded")));
}

TEST_F(PosixStoreTest, DropInterruptedByACrashIsFinishedOnReopen) {
  const std::string path = dir_.Join("s");
  {
    std::shared_ptr<Store> store = Acquire(path);
    Store::TableEntry entry;
    ASSERT_TRUE(store->CreateTable("t", "", &entry).ok());
    // What a committed drop leaves if the process dies right after its batch removed
    // the entry: the drop marker (docs/store_format.md) and every row.
    WriteBatch batch;
    for (int i = 0; i < 1500; i++) batch.Put(RowKey(entry.id, std::to_string(i)), "v");
    batch.Delete(Store::TableKeyPrefix(0) + "table/t");
    batch.Put(Store::TableKeyPrefix(0) + "dropped/" + Store::TableKeyPrefix(entry.id), "");
    ASSERT_TRUE(store->WriteDirect(batch).ok());
    ASSERT_EQ(1500u, TableRows(store.get(), entry.id).size());
  }
  std::shared_ptr<Store> store = Acquire(path);
  std::map<std::string, std::string> contents = Contents(store.get());
  for (const auto& [key, value] : contents) {
    EXPECT_TRUE(key.starts_with(Store::TableKeyPrefix(0))) << "row left behind: " << key;
    EXPECT_FALSE(key.starts_with(Store::TableKeyPrefix(0) + "dropped/")) << "marker left";
  }
}

TEST_F(PosixStoreTest, StoreLockedByAnotherProcessIsBusy) {
  const std::string path = dir_.Join("s");
  int locked_pipe[2], release_pipe[2];
  ASSERT_EQ(0, pipe(locked_pipe));
  ASSERT_EQ(0, pipe(release_pipe));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child opens the store, tells the parent, and holds it until released. It
    // must not run gtest code, only report through the pipe and its exit code.
    std::shared_ptr<Store> store;
    char byte = Store::Acquire(path, false, SmallOptions(), &store).ok() ? 'L' : 'F';
    if (write(locked_pipe[1], &byte, 1) != 1) _exit(2);
    if (read(release_pipe[0], &byte, 1) != 1) _exit(3);
    store.reset();
    _exit(0);
  }
  close(locked_pipe[1]);
  close(release_pipe[0]);
  char byte = 0;
  ASSERT_EQ(1, read(locked_pipe[0], &byte, 1));
  ASSERT_EQ('L', byte) << "the child could not open the store";

  std::shared_ptr<Store> store;
  Status s = Store::Acquire(path, false, SmallOptions(), &store);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ("store " + Canonical("s") + " is locked by another process", s.message());
  EXPECT_EQ(nullptr, store);

  ASSERT_EQ(1, write(release_pipe[1], "r", 1));
  int status = 0;
  ASSERT_EQ(child, waitpid(child, &status, 0));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  close(locked_pipe[0]);
  close(release_pipe[1]);
  // Once the child has closed it, this process can open it.
  s = Store::Acquire(path, false, SmallOptions(), &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// ---- In memory only -------------------------------------------------------------------

TEST(MemoryStoreTest, DataVanishesWithTheLastReference) {
  const std::string name = "memory store that vanishes";
  std::shared_ptr<Store> store;
  ASSERT_TRUE(Store::Acquire(name, true, SmallOptions(), &store).ok());
  EXPECT_EQ(name, store->path());
  Store::TableEntry entry;
  ASSERT_TRUE(store->CreateTable("t", "", &entry).ok());
  std::shared_ptr<Store> other;
  ASSERT_TRUE(Store::Acquire(name, true, SmallOptions(), &other).ok());
  store.reset();
  ASSERT_TRUE(other->FindTable("t", &entry).ok());  // one reference is left
  other.reset();
  ASSERT_TRUE(Store::Acquire(name, true, SmallOptions(), &store).ok());
  EXPECT_TRUE(store->FindTable("t", &entry).IsNotFound());
}

}  // namespace
}  // namespace strata::sql
