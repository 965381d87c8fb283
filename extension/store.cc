#include "extension/store.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>

#include "extension/option_text.h"
#include "lsm/coding.h"

namespace strata::sql {
namespace {

// Keys of the reserved range (table id 0). Layouts in docs/store_format.md.
constexpr std::string_view kTableEntryTag = "table/";             // + lowercased name
constexpr std::string_view kNextTableIdTag = "next_table_id";     // -> 8-byte BE id
constexpr std::string_view kNextTxidTag = "next_transaction_id";  // -> 8-byte BE id
constexpr std::string_view kPendingTag = "pending/";              // + 8-byte BE txid
constexpr std::string_view kDroppedTag = "dropped/";              // + 4-byte BE table id
constexpr std::string_view kOwnerTag = "owner";                   // -> owner record

constexpr uint8_t kCatalogEntryVersion = 1;
// Version 1 had no commit log id (the store uses the database's shared log); it is
// still read.
constexpr uint8_t kOwnerRecordVersion = 2;
constexpr uint8_t kPendingRecordVersion = 1;
constexpr uint8_t kPendingPut = 1;
constexpr uint8_t kPendingDelete = 0;

// Transaction ids persisted as used by one reservation write.
constexpr uint64_t kTransactionIdReservation = 1024;
// Row deletions per write while dropping a table.
constexpr uint32_t kDropBatchSize = 1000;

void AppendBigEndian(std::string* dst, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) dst->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t DecodeBigEndian(std::string_view src) {  // src.size() <= 8
  uint64_t value = 0;
  for (char c : src) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

std::string AsciiLower(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

std::string ReservedKey(std::string_view tag) {
  std::string key = Store::TableKeyPrefix(0);
  key.append(tag);
  return key;
}

std::string TableEntryKey(std::string_view name) {
  return ReservedKey(kTableEntryTag) + AsciiLower(name);
}

std::string PendingKey(uint64_t txid) {
  std::string key = ReservedKey(kPendingTag);
  AppendBigEndian(&key, txid, 8);
  return key;
}

std::string DroppedKey(uint32_t id) {
  std::string key = ReservedKey(kDroppedTag);
  AppendBigEndian(&key, id, 4);
  return key;
}

std::string EncodeCatalogEntry(uint32_t id, std::string_view name, std::string_view schema) {
  std::string value(1, static_cast<char>(kCatalogEntryVersion));
  AppendBigEndian(&value, id, 4);
  PutLengthPrefixed(&value, name);
  value.append(schema);
  return value;
}

// Decodes the value stored under `key` (a table entry key); false if malformed.
bool DecodeCatalogEntry(std::string_view key, std::string_view value, Store::TableEntry* entry) {
  if (value.size() < 5 || static_cast<uint8_t>(value[0]) != kCatalogEntryVersion) return false;
  auto id = static_cast<uint32_t>(DecodeBigEndian(value.substr(1, 4)));
  value.remove_prefix(5);
  std::string_view name;
  if (id == 0 || !GetLengthPrefixed(&value, &name)) return false;
  // The key is derived from the name; disagreement means one of them is damaged.
  if (key != TableEntryKey(name)) return false;
  entry->id = id;
  entry->name.assign(name);
  entry->schema.assign(value);
  return true;
}

std::string EncodeOwner(const Store::Owner& owner) {
  std::string value(1, static_cast<char>(kOwnerRecordVersion));
  PutLengthPrefixed(&value, owner.database_id);
  PutLengthPrefixed(&value, owner.database_path);
  PutLengthPrefixed(&value, owner.commit_log_id);
  return value;
}

bool DecodeOwner(std::string_view value, Store::Owner* owner) {
  if (value.empty()) return false;
  const auto version = static_cast<uint8_t>(value[0]);
  if (version != 1 && version != kOwnerRecordVersion) return false;
  value.remove_prefix(1);
  std::string_view id, path, log_id;
  if (!GetLengthPrefixed(&value, &id) || !GetLengthPrefixed(&value, &path) ||
      (version >= 2 && !GetLengthPrefixed(&value, &log_id)) || !value.empty()) {
    return false;
  }
  // The id becomes part of a table name (docs/store_format.md): 16 lowercase hex digits.
  if (!log_id.empty() &&
      (log_id.size() != Store::kCommitLogIdSize ||
       !std::all_of(log_id.begin(), log_id.end(),
                    [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))) {
    return false;
  }
  owner->database_id.assign(id);
  owner->database_path.assign(path);
  owner->commit_log_id.assign(log_id);
  return true;
}

// One record of a pending record (docs/store_format.md).
void AppendPendingPut(std::string* dst, std::string_view key, std::string_view value) {
  dst->push_back(static_cast<char>(kPendingPut));
  PutLengthPrefixed(dst, key);
  PutLengthPrefixed(dst, value);
}

void AppendPendingDelete(std::string* dst, std::string_view key) {
  dst->push_back(static_cast<char>(kPendingDelete));
  PutLengthPrefixed(dst, key);
}

// The header of a pending record of `count` records.
std::string PendingRecordHeader(uint32_t count) {
  std::string header(1, static_cast<char>(kPendingRecordVersion));
  PutVarint32(&header, count);
  return header;
}

// Serializes a WriteBatch's records into a pending record (docs/store_format.md).
class PendingEncoder final : public WriteBatch::Handler {
 public:
  explicit PendingEncoder(uint32_t count) : record_(PendingRecordHeader(count)) {}
  void Put(std::string_view key, std::string_view value) override {
    AppendPendingPut(&record_, key, value);
  }
  void Delete(std::string_view key) override { AppendPendingDelete(&record_, key); }
  std::string& record() { return record_; }

 private:
  std::string record_;
};

// Rebuilds the batch of a pending record into *batch; an empty string on success,
// else what is wrong.
std::string DecodePendingRecord(std::string_view input, WriteBatch* batch) {
  if (input.empty() || static_cast<uint8_t>(input[0]) != kPendingRecordVersion) {
    return "unknown format version";
  }
  input.remove_prefix(1);
  uint32_t count;
  if (!GetVarint32(&input, &count)) return "truncated record count";
  for (uint32_t i = 0; i < count; i++) {
    if (input.empty()) return "truncated after " + std::to_string(i) + " records";
    auto type = static_cast<uint8_t>(input.front());
    input.remove_prefix(1);
    std::string_view key, value;
    if (type == kPendingPut) {
      if (!GetLengthPrefixed(&input, &key) || !GetLengthPrefixed(&input, &value)) {
        return "truncated put record " + std::to_string(i);
      }
      batch->Put(key, value);
    } else if (type == kPendingDelete) {
      if (!GetLengthPrefixed(&input, &key)) {
        return "truncated delete record " + std::to_string(i);
      }
      batch->Delete(key);
    } else {
      return "unknown type " + std::to_string(type) + " of record " + std::to_string(i);
    }
  }
  if (!input.empty()) return std::to_string(input.size()) + " bytes after the last record";
  return "";
}

Status CheckOptions(const StoreOptions& options) {
  if (options.write_buffer_size == 0) {
    return Status::InvalidArgument("write_buffer_size must be positive");
  }
  if (options.compression_level < 0 || options.compression_level > 22) {
    return Status::InvalidArgument("compression level must be 0 (none) to 22, not " +
                                   std::to_string(options.compression_level));
  }
  if (options.bloom_bits_per_key < 0 || options.bloom_bits_per_key > 100) {
    return Status::InvalidArgument("bloom_bits_per_key must be 0 to 100, not " +
                                   std::to_string(options.bloom_bits_per_key));
  }
  switch (options.sync) {
    case SyncMode::kFull:
    case SyncMode::kNormal:
    case SyncMode::kOff:
      return Status::OK();
  }
  return Status::InvalidArgument("unknown sync mode");
}

// realpath of the parent directory plus the last component, so that every spelling of
// one directory names one store even before the directory exists.
Status CanonicalStorePath(const std::string& path, std::string* canonical) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  if (trimmed.empty()) return Status::InvalidArgument("store path is empty");
  size_t slash = trimmed.rfind('/');
  std::string parent =
      slash == std::string::npos ? "." : trimmed.substr(0, std::max<size_t>(slash, 1));
  std::string name = slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    // The path names an existing directory through "." or ".." (or is "/").
    parent = trimmed;
    name.clear();
  }
  char* resolved = realpath(parent.c_str(), nullptr);
  if (resolved == nullptr) {
    return Status::IOError("store " + path + ": " + parent + ": " + std::strerror(errno));
  }
  *canonical = resolved;
  std::free(resolved);
  if (!name.empty()) {
    if (canonical->back() != '/') canonical->push_back('/');
    canonical->append(name);
  }
  return Status::OK();
}

}  // namespace

// ---- Registry -----------------------------------------------------------------------

// Open stores by key ("disk:" or "memory:" + path). An entry whose weak_ptr has
// expired is a store being closed: Acquire waits for its removal instead of opening the
// directory while the old engine still holds its lock.
class Store::Registry {
 public:
  // Never destroyed: stores may be released by other static destructors at exit.
  static Registry& Instance() {
    static Registry* registry = new Registry;
    return *registry;
  }

  Status Acquire(const std::string& path, bool in_memory, const StoreOptions& options,
                 std::shared_ptr<Store>* store) {
    store->reset();
    Status s = CheckOptions(options);
    if (!s.ok()) return s.WithContext("store " + path);
    std::string canonical = path;
    if (!in_memory) {
      s = CanonicalStorePath(path, &canonical);
      if (!s.ok()) return s;
    }
    const std::string key = Key(canonical, in_memory);

    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      auto it = entries_.find(key);
      if (it == entries_.end()) break;
      if (std::shared_ptr<Store> open = it->second.lock()) {
        *store = std::move(open);
        return Status::OK();
      }
      closed_.wait(lock);
    }
    // Opened under the mutex so that two first Acquires of one store do not race;
    // opens are rare (the first connection of a store).
    std::unique_ptr<Env> env = in_memory ? NewMemEnv() : nullptr;
    std::unique_ptr<Store> opened(new Store(canonical, options, std::move(env)));
    s = opened->Open(in_memory ? "/store" : canonical);
    if (!s.ok()) return s;
    std::shared_ptr<Store> shared(opened.release(),
                                  [](Store* closing) { Instance().Release(closing); });
    entries_[key] = shared;
    *store = std::move(shared);
    return Status::OK();
  }

 private:
  static std::string Key(const std::string& path, bool in_memory) {
    return (in_memory ? "memory:" : "disk:") + path;
  }

  // The last reference to store is gone: close it, then let waiting Acquires reopen.
  void Release(Store* store) {
    const std::string key = Key(store->path(), store->in_memory());
    delete store;  // joins the engine's threads; the mutex is not held meanwhile
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(key);
    closed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable closed_;
  std::map<std::string, std::weak_ptr<Store>> entries_;  // guarded by mutex_
};

Status Store::Acquire(const std::string& path, bool in_memory, const StoreOptions& options,
                      std::shared_ptr<Store>* store) {
  return Registry::Instance().Acquire(path, in_memory, options, store);
}

// ---- Store --------------------------------------------------------------------------

Store::Store(std::string path, const StoreOptions& options, std::unique_ptr<Env> env)
    : path_(std::move(path)), options_(options), env_(std::move(env)) {}

Store::~Store() {
  if (db_ != nullptr) db_->Close();
  db_.reset();  // before env_, which it uses
}

Status Store::Open(const std::string& db_path) {
  Options engine;
  engine.env = env_.get();
  engine.create_if_missing = true;
  engine.write_buffer_size = options_.write_buffer_size;
  engine.block_cache_size = options_.block_cache_size;
  engine.bloom_bits_per_key = options_.bloom_bits_per_key;
  engine.compression = options_.compression_level > 0;
  engine.compression_algorithm = options_.compression_algorithm;
  if (engine.compression) {
    engine.compression_level = options_.compression_level;
    engine.bottommost_compression_level =
        std::max(options_.compression_level, engine.bottommost_compression_level);
  }
  Status s = DB::Open(engine, db_path, &db_);
  if (s.IsBusy() && s.message().find("locked by another process") != std::string::npos) {
    return Status::Busy("store " + path_ + " is locked by another process");
  }
  if (!s.ok()) return s.WithContext("store " + path_);
  s = LoadTransactionIdReservation();
  if (s.ok()) s = FinishDrops();
  return s;
}

std::string Store::OptionsConflict(const StoreOptions& requested) const {
  auto conflict = [&](const std::string& name, const std::string& asked, const std::string& open) {
    return name + "=" + asked + " was asked but store " + path_ + " is open with " + name + "=" +
           open;
  };
  if (requested.sync != options_.sync) {
    return conflict("sync", SyncModeName(requested.sync), SyncModeName(options_.sync));
  }
  // The names and units of the CREATE VIRTUAL TABLE options, not of the fields.
  if (requested.write_buffer_size != options_.write_buffer_size) {
    return conflict("write_buffer_size", SizeOptionText(requested.write_buffer_size),
                    SizeOptionText(options_.write_buffer_size));
  }
  if (requested.block_cache_size != options_.block_cache_size) {
    return conflict("block_cache_size", SizeOptionText(requested.block_cache_size),
                    SizeOptionText(options_.block_cache_size));
  }
  if (requested.compression_level != options_.compression_level ||
      requested.compression_algorithm != options_.compression_algorithm) {
    return conflict("compression",
                    CompressionOptionText(requested.compression_level,
                                          requested.compression_algorithm),
                    CompressionOptionText(options_.compression_level,
                                          options_.compression_algorithm));
  }
  if (requested.bloom_bits_per_key != options_.bloom_bits_per_key) {
    return conflict("bloom_bits_per_key", std::to_string(requested.bloom_bits_per_key),
                    std::to_string(options_.bloom_bits_per_key));
  }
  return "";
}

WriteOptions Store::CommitWriteOptions() const {
  WriteOptions write_options;
  write_options.sync = options_.sync == SyncMode::kFull;
  return write_options;
}

std::string Store::TableKeyPrefix(uint32_t id) {
  std::string prefix;
  AppendBigEndian(&prefix, id, kTableKeyPrefixSize);
  return prefix;
}

// ---- Catalog ------------------------------------------------------------------------

Status Store::ReadCatalogEntry(std::string_view name, TableEntry* entry) {
  const std::string key = TableEntryKey(name);
  std::string value;
  Status s = db_->Get(ReadOptions(), key, &value);
  if (s.IsNotFound()) {
    return Status::NotFound("no table " + std::string(name) + " in store " + path_);
  }
  if (!s.ok()) return s.WithContext("store " + path_);
  if (!DecodeCatalogEntry(key, value, entry)) {
    return Status::Corruption("store " + path_ + ": catalog entry of table " + std::string(name) +
                              " is malformed");
  }
  return Status::OK();
}

Status Store::CreateTable(std::string_view name, std::string_view schema, TableEntry* entry) {
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  TableEntry existing;
  Status s = ReadCatalogEntry(name, &existing);
  if (s.ok()) {
    return Status::InvalidArgument("table " + std::string(name) + " exists in store " + path_);
  }
  if (!s.IsNotFound()) return s;

  const std::string next_key = ReservedKey(kNextTableIdTag);
  std::string value;
  uint64_t id = 1;
  s = db_->Get(ReadOptions(), next_key, &value);
  if (s.ok()) {
    if (value.size() != 8) {
      return Status::Corruption("store " + path_ + ": next table id is malformed");
    }
    id = DecodeBigEndian(value);
  } else if (!s.IsNotFound()) {
    return s.WithContext("store " + path_);
  }
  if (id == 0 || id > UINT32_MAX) {
    return Status::InvalidArgument("store " + path_ + " has used every table id");
  }

  std::string next_value;
  AppendBigEndian(&next_value, id + 1, 8);
  WriteBatch batch;
  batch.Put(TableEntryKey(name), EncodeCatalogEntry(static_cast<uint32_t>(id), name, schema));
  batch.Put(next_key, next_value);
  s = db_->Write(CommitWriteOptions(), &batch);
  if (!s.ok()) return s.WithContext("store " + path_ + ": creating table " + std::string(name));
  entry->id = static_cast<uint32_t>(id);
  entry->name.assign(name);
  entry->schema.assign(schema);
  return Status::OK();
}

Status Store::FindTable(std::string_view name, TableEntry* entry) {
  return ReadCatalogEntry(name, entry);
}

Status Store::ListTables(std::vector<TableEntry>* entries) {
  entries->clear();
  const std::string prefix = ReservedKey(kTableEntryTag);
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    TableEntry entry;
    if (!DecodeCatalogEntry(it->key(), it->value(), &entry)) {
      return Status::Corruption("store " + path_ + ": catalog entry " +
                                std::string(it->key().substr(prefix.size())) + " is malformed");
    }
    entries->push_back(std::move(entry));
  }
  return it->status().WithContext("store " + path_);
}

Status Store::DeleteTableRows(uint32_t id) {
  const std::string prefix = TableKeyPrefix(id);
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  WriteBatch batch;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    batch.Delete(it->key());
    if (batch.Count() >= kDropBatchSize) {
      Status s = db_->Write(WriteOptions(), &batch);
      if (!s.ok()) return s;
      batch.Clear();
    }
  }
  if (!it->status().ok()) return it->status();
  // The marker goes with the last deletions; with sync it makes all of them durable.
  batch.Delete(DroppedKey(id));
  return db_->Write(CommitWriteOptions(), &batch);
}

Status Store::FinishDrops() {
  const std::string prefix = ReservedKey(kDroppedTag);
  std::vector<uint32_t> ids;
  {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view id = it->key().substr(prefix.size());
      if (id.size() != 4) {
        return Status::Corruption("store " + path_ + ": malformed drop marker");
      }
      ids.push_back(static_cast<uint32_t>(DecodeBigEndian(id)));
    }
    if (!it->status().ok()) return it->status().WithContext("store " + path_);
  }
  for (uint32_t id : ids) {
    Status s = DeleteTableRows(id);
    if (!s.ok()) {
      return s.WithContext("store " + path_ + ": finishing the drop of table id " +
                           std::to_string(id));
    }
  }
  return Status::OK();
}

// ---- Schema changes whose outcome the main database decides ------------------------

Status Store::PrepareDropTable(std::string_view name, WriteBatch* on_commit) {
  on_commit->Clear();
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  TableEntry entry;
  Status s = ReadCatalogEntry(name, &entry);
  if (!s.ok()) return s;
  // Stale names of the same table (from renames whose outcome was pending) go with it.
  std::vector<TableEntry> entries;
  s = ListTables(&entries);
  if (!s.ok()) return s;
  for (const TableEntry& other : entries) {
    if (other.id == entry.id) on_commit->Delete(TableEntryKey(other.name));
  }
  on_commit->Put(DroppedKey(entry.id), "");
  return Status::OK();
}

Status Store::PrepareRenameTable(std::string_view old_name, std::string_view new_name,
                                 WriteBatch* on_commit) {
  on_commit->Clear();
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  TableEntry entry;
  Status s = ReadCatalogEntry(old_name, &entry);
  if (!s.ok()) return s;
  const std::string old_key = TableEntryKey(old_name);
  const std::string new_key = TableEntryKey(new_name);
  WriteBatch now;
  bool dropped = false;
  if (new_key != old_key) {
    TableEntry other;
    s = ReadCatalogEntry(new_name, &other);
    if (s.ok() && other.id != entry.id) {
      // SQLite let the statement take the name, so no table of SQLite has it.
      s = RemoveStaleEntry(other, &now, &dropped);
      if (!s.ok()) return s;
    } else if (!s.ok() && !s.IsNotFound()) {
      return s;
    }
    on_commit->Delete(old_key);
  }
  now.Put(new_key, EncodeCatalogEntry(entry.id, new_name, entry.schema));
  s = db_->Write(CommitWriteOptions(), &now);
  if (!s.ok()) {
    return s.WithContext("store " + path_ + ": renaming table " + std::string(old_name) + " to " +
                         std::string(new_name));
  }
  return Status::OK();
}

Status Store::RemoveStaleEntry(const TableEntry& entry, WriteBatch* batch, bool* dropped) {
  std::vector<TableEntry> entries;
  Status s = ListTables(&entries);
  if (!s.ok()) return s;
  const std::string key = TableEntryKey(entry.name);
  *dropped = true;
  for (const TableEntry& other : entries) {
    if (other.id == entry.id && TableEntryKey(other.name) != key) *dropped = false;
  }
  batch->Delete(key);
  if (*dropped) batch->Put(DroppedKey(entry.id), "");
  return Status::OK();
}

Status Store::RemoveStaleName(std::string_view name) {
  WriteBatch batch;
  bool dropped = false;
  {
    std::lock_guard<std::mutex> lock(catalog_mutex_);
    TableEntry entry;
    Status s = ReadCatalogEntry(name, &entry);
    if (s.IsNotFound()) return Status::OK();
    if (!s.ok()) return s;
    s = RemoveStaleEntry(entry, &batch, &dropped);
    if (s.ok()) s = db_->Write(CommitWriteOptions(), &batch);
    if (!s.ok()) {
      return s.WithContext("store " + path_ + ": removing stale table " + std::string(name));
    }
  }
  return dropped ? FinishDrops() : Status::OK();
}

void Store::AddUnresolvedSchemaChange(uint64_t txid) {
  std::lock_guard<std::mutex> lock(schema_change_mutex_);
  unresolved_schema_changes_.push_back(txid);
}

std::vector<uint64_t> Store::UnresolvedSchemaChanges() {
  std::lock_guard<std::mutex> lock(schema_change_mutex_);
  return unresolved_schema_changes_;
}

void Store::ForgetSchemaChanges(uint64_t up_to_txid) {
  std::lock_guard<std::mutex> lock(schema_change_mutex_);
  std::erase_if(unresolved_schema_changes_, [&](uint64_t txid) { return txid <= up_to_txid; });
}

// ---- Owner --------------------------------------------------------------------------

Status Store::ReadOwner(Owner* owner, bool* found) {
  std::string value;
  Status s = db_->Get(ReadOptions(), ReservedKey(kOwnerTag), &value);
  *found = s.ok();
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) return s.WithContext("store " + path_);
  if (!DecodeOwner(value, owner)) {
    return Status::Corruption("store " + path_ + ": owner record is malformed");
  }
  return Status::OK();
}

Status Store::WriteOwner(const Owner& owner) {
  Status s = db_->Put(CommitWriteOptions(), ReservedKey(kOwnerTag), EncodeOwner(owner));
  return s.WithContext("store " + path_ + ": recording its database");
}

Status Store::ClaimOwner(const Owner& wanted, Owner* owner) {
  std::lock_guard<std::mutex> lock(owner_mutex_);
  bool found = false;
  Status s = ReadOwner(owner, &found);
  if (!s.ok() || found) return s;
  s = WriteOwner(wanted);
  if (s.ok()) *owner = wanted;
  return s;
}

Status Store::ReplaceOwner(const Owner& owner) {
  std::lock_guard<std::mutex> lock(owner_mutex_);
  return WriteOwner(owner);
}

Status Store::IsUnused(bool* unused) {
  *unused = false;
  std::vector<uint64_t> pending;
  Status s = ListPending(&pending);
  if (!s.ok() || !pending.empty()) return s;
  // Rows of every table (ids from 1) sort after the reserved range.
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  it->Seek(TableKeyPrefix(1));
  *unused = !it->Valid();
  return it->status().WithContext("store " + path_);
}

Status Store::UpdateOwnerPath(const std::string& database_path) {
  std::lock_guard<std::mutex> lock(owner_mutex_);
  Owner owner;
  bool found = false;
  Status s = ReadOwner(&owner, &found);
  if (!s.ok() || !found || owner.database_path == database_path) return s;
  owner.database_path = database_path;
  return WriteOwner(owner);
}

// ---- Writer slot --------------------------------------------------------------------

Status Store::BeginWrite(const void* owner, std::chrono::milliseconds timeout) {
  if (owner == nullptr) return Status::InvalidArgument("BeginWrite needs an owner");
  std::unique_lock<std::mutex> lock(writer_mutex_);
  if (writer_ == owner) return Status::OK();
  if (!writer_released_.wait_for(lock, timeout, [&] { return writer_ == nullptr; })) {
    return Status::Busy("store " + path_ + " has another writing transaction");
  }
  writer_ = owner;
  return Status::OK();
}

void Store::EndWrite(const void* owner) {
  std::lock_guard<std::mutex> lock(writer_mutex_);
  if (writer_ != owner) return;
  writer_ = nullptr;
  writer_released_.notify_all();
}

// ---- Pending transactions -----------------------------------------------------------

Status Store::LoadTransactionIdReservation() {
  std::string value;
  Status s = db_->Get(ReadOptions(), ReservedKey(kNextTxidTag), &value);
  if (s.IsNotFound()) return Status::OK();  // a new store: ids start at 1
  if (!s.ok()) return s.WithContext("store " + path_);
  if (value.size() != 8 || DecodeBigEndian(value) == 0) {
    return Status::Corruption("store " + path_ + ": next transaction id is malformed");
  }
  std::lock_guard<std::mutex> lock(txid_mutex_);
  next_txid_ = reserved_txid_ = DecodeBigEndian(value);
  return Status::OK();
}

Status Store::NewTransactionId(uint64_t* txid) {
  std::lock_guard<std::mutex> lock(txid_mutex_);
  if (next_txid_ >= reserved_txid_) {
    // Synced whatever the sync mode: a reused id could make recovery apply a
    // transaction the main database never committed.
    const uint64_t reserved = next_txid_ + kTransactionIdReservation;
    std::string value;
    AppendBigEndian(&value, reserved, 8);
    WriteOptions synced;
    synced.sync = true;
    Status s = db_->Put(synced, ReservedKey(kNextTxidTag), value);
    if (!s.ok()) return s.WithContext("store " + path_ + ": reserving transaction ids");
    reserved_txid_ = reserved;
  }
  *txid = next_txid_++;
  return Status::OK();
}

Status Store::WritePending(uint64_t txid, const WriteBatch& batch) {
  const std::string context = "store " + path_ + ": pending transaction " + std::to_string(txid);
  if (batch.oversized()) {
    return Status::InvalidArgument(context + ": a key or value is too large");
  }
  PendingEncoder encoder(batch.Count());
  Status s = batch.Iterate(&encoder);
  if (!s.ok()) return s.WithContext(context);
  if (encoder.record().size() > WriteBatch::kMaxValueSize) {
    return Status::InvalidArgument(context + " is larger than " +
                                   std::to_string(WriteBatch::kMaxValueSize) + " bytes");
  }
  std::lock_guard<std::mutex> lock(pending_mutex_);
  s = db_->Put(CommitWriteOptions(), PendingKey(txid), encoder.record());
  return s.WithContext(context);
}

void Store::PendingTransaction::Put(std::string_view key, std::string_view value) {
  batch_.Put(key, value);
  if (batch_.oversized()) return;  // WritePending refuses it: no use encoding the rest
  AppendPendingPut(&records_, key, value);
  count_++;
}

void Store::PendingTransaction::Delete(std::string_view key) {
  batch_.Delete(key);
  if (batch_.oversized()) return;
  AppendPendingDelete(&records_, key);
  count_++;
}

void Store::PendingTransaction::Clear() {
  batch_.Clear();
  std::string().swap(records_);
  count_ = 0;
}

Status Store::WritePending(uint64_t txid, PendingTransaction* txn) {
  const std::string context = "store " + path_ + ": pending transaction " + std::to_string(txid);
  if (txn->batch_.oversized()) {
    return Status::InvalidArgument(context + ": a key or value is too large");
  }
  const std::string header = PendingRecordHeader(txn->count_);
  if (header.size() + txn->records_.size() > WriteBatch::kMaxValueSize) {
    return Status::InvalidArgument(context + " is larger than " +
                                   std::to_string(WriteBatch::kMaxValueSize) + " bytes");
  }
  // The header goes in front of the records (a memmove, cheap next to the write).
  txn->records_.insert(0, header);
  // On disk the record is a recovery put: the transaction's rows are already in memory
  // (CommitPending writes them from there and deletes the record), so the record only
  // has to be in the log, for the recovery that follows a crash before that. Kept out
  // of the memtable it neither takes the rows' space twice nor, for a transaction too
  // large to share a memtable with its own deletion, ends up in a table that every open
  // would read. In memory there is no recovery, and ApplyPending must read it back.
  WriteBatch batch;
  if (in_memory()) {
    batch.Put(PendingKey(txid), txn->records_);
  } else {
    batch.PutForRecovery(PendingKey(txid), txn->records_);
  }
  std::string().swap(txn->records_);  // copied into the batch
  Status s;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    s = db_->Write(CommitWriteOptions(), &batch);
  }
  return s.WithContext(context);
}

Status Store::CommitPending(uint64_t txid, PendingTransaction* txn) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  txn->batch_.Delete(PendingKey(txid));
  // Not synced, as in ApplyPending: the pending record is as durable as the sync mode
  // promises, and recovery applies it if this write is lost.
  Status s = db_->Write(WriteOptions(), &txn->batch_);
  return s.WithContext("store " + path_ + ": applying pending transaction " + std::to_string(txid));
}

Status Store::ReadPending(uint64_t txid, std::string* record, bool* found) {
  Status s = db_->Get(ReadOptions(), PendingKey(txid), record);
  *found = s.ok();
  if (s.IsNotFound()) return Status::OK();
  return s.WithContext("store " + path_ + ": pending transaction " + std::to_string(txid));
}

Status Store::ApplyPending(uint64_t txid) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  std::string record;
  bool found;
  Status s = ReadPending(txid, &record, &found);
  if (!s.ok() || !found) return s;
  WriteBatch batch;
  std::string problem = DecodePendingRecord(record, &batch);
  if (!problem.empty()) {
    return Status::Corruption("store " + path_ + ": pending transaction " + std::to_string(txid) +
                              " is malformed: " + problem);
  }
  batch.Delete(PendingKey(txid));
  s = db_->Write(WriteOptions(), &batch);
  return s.WithContext("store " + path_ + ": applying pending transaction " + std::to_string(txid));
}

Status Store::DiscardPending(uint64_t txid) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  Status s = db_->Delete(WriteOptions(), PendingKey(txid));
  return s.WithContext("store " + path_ + ": discarding pending transaction " +
                       std::to_string(txid));
}

Status Store::ListPending(std::vector<uint64_t>* txids) {
  txids->clear();
  const std::string prefix = ReservedKey(kPendingTag);
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view txid = it->key().substr(prefix.size());
    if (txid.size() != 8) {
      return Status::Corruption("store " + path_ + ": malformed pending transaction key");
    }
    txids->push_back(DecodeBigEndian(txid));
  }
  return it->status().WithContext("store " + path_);
}

Status Store::WriteDirect(const WriteBatch& batch) {
  WriteBatch copy = batch;
  return WriteDirect(&copy);
}

Status Store::WriteDirect(WriteBatch* batch) {
  return db_->Write(CommitWriteOptions(), batch).WithContext("store " + path_);
}

}  // namespace strata::sql
