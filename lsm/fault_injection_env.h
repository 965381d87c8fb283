// FaultInjectionEnv: an Env wrapper for tests of I/O errors and power loss.
//
// Error injection: every call of a FaultKind is counted; FailAfter(kind, n) lets the
// next n calls of that kind succeed and fails the one after (and, in sticky mode, all
// later ones) with Status::IOError("injected <kind> fault: <path>") before the call
// reaches the base Env, so a failed call changes nothing on disk. A test can first
// run an operation to count its calls of a kind, then fail each of them in turn.
//
// Power loss: the Env models what a real filesystem guarantees after a crash.
//  - File data: for every file created or truncated through this Env, bytes appended
//    after the last successful WritableFile::Sync are not durable.
//  - Directory entries: creating a file (NewWritableFile of a path that did not exist)
//    and RenameFile are durable only after a successful SyncDir of the directory of
//    the created file, or of the rename's target. Until then they are pending.
//  - Everything else is durable at once: RemoveFile, CreateDir, RemoveDir, truncation
//    of an existing file by NewWritableFile (its unsynced length is 0), and files this
//    Env never wrote.
// DropUnsyncedData() applies a power loss to the base Env: it undoes pending directory
// changes newest first (a pending creation deletes the file; a pending rename moves the
// file back to its old name and restores what the target held before, as of the last
// sync), then truncates every file to its synced length, and finally forgets all
// tracking (the surviving state is durable). Call it after closing every file written
// through this Env (close the DB first). Renaming keeps an in-memory copy of the old
// target's contents, so it is meant for small files (CURRENT), not tables.
//
// SetFilesystemActive(false) simulates the machine dying: from then on every write,
// sync, create, rename, remove, CreateDir, RemoveDir and LockFile fails with IOError
// and reaches nothing below (reads still work). WritableFile::Close still closes the
// base file, which may hand bytes buffered by the base Env to the OS; they are unsynced,
// so DropUnsyncedData removes them again. Crash tests: SetFilesystemActive(false), close
// the DB, DropUnsyncedData(), SetFilesystemActive(true), reopen.
//
// Thread-safe. The base Env is not owned and must outlive this one.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "strata/env.h"

namespace strata {

enum class FaultKind {
  kWrite,   // WritableFile::Append and Flush
  kSync,    // WritableFile::Sync and Env::SyncDir
  kRead,    // SequentialFile::Read and RandomAccessFile::Read
  kRename,  // Env::RenameFile
  kCreate,  // Env::NewWritableFile
  kRemove,  // Env::RemoveFile
};
inline constexpr int kNumFaultKinds = 6;

// "write", "sync", "read", "rename", "create" or "remove".
const char* FaultKindName(FaultKind kind);

enum class FaultMode {
  kOnce,    // only the chosen call fails, like a transient error
  kSticky,  // the chosen call and every later one fail, like a dead disk
};

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;
  FaultInjectionEnv(const FaultInjectionEnv&) = delete;
  FaultInjectionEnv& operator=(const FaultInjectionEnv&) = delete;

  Env* base() const { return base_; }

  // The next n calls of kind succeed, the (n+1)-th fails (and, if sticky, all later
  // ones). Replaces an earlier FailAfter of the same kind.
  void FailAfter(FaultKind kind, int n, FaultMode mode = FaultMode::kOnce);
  // Disarms every injected fault; call counts are kept.
  void ClearFaults();
  // Calls of kind since construction or ResetCallCounts, including failed ones.
  int CallCount(FaultKind kind) const;
  void ResetCallCounts();

  void SetFilesystemActive(bool active);
  bool IsFilesystemActive() const;

  // Simulates power loss on the base Env as described above.
  Status DropUnsyncedData();

  // Env:
  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override;
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override;
  Status NewMappedFile(const std::string& path,
                       std::unique_ptr<RandomAccessFile>* result) override;
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override;
  bool FileExists(const std::string& path) override;
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override;
  Status RemoveFile(const std::string& path) override;
  Status CreateDir(const std::string& dir) override;
  Status RemoveDir(const std::string& dir) override;
  Status GetFileSize(const std::string& path, uint64_t* size) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override;
  uint64_t NowMicros() override;

 private:
  class File;
  class Reader;
  class RandomReader;
  Status OpenRandomReader(const std::string& path, bool mapped,
                          std::unique_ptr<RandomAccessFile>* result);

  // Durability of one file written through this Env. Shared with its open WritableFile
  // so that syncs after a rename land on the right path.
  struct Tracked {
    uint64_t synced = 0;  // bytes that survive power loss; guarded by mu_
  };

  // A directory change that is lost on power loss until its directory is synced.
  struct PendingChange {
    enum class Type { kCreate, kRename };
    Type type = Type::kCreate;
    uint64_t sequence = 0;        // orders changes against concurrent SyncDir calls
    std::string dir;              // the directory whose SyncDir makes it durable
    std::string path;             // kCreate: the new file; kRename: the target
    std::string from;             // kRename: the source
    bool target_existed = false;  // kRename: whether path existed before
    std::string old_target;       // kRename: its durable contents then
  };

  struct Fault {
    bool armed = false;
    int fail_at = 0;  // the 0-based call index that fails first
    FaultMode mode = FaultMode::kOnce;
  };

  // Counts the call and decides whether it fails. Mutating calls also fail while the
  // filesystem is inactive.
  Status Check(FaultKind kind, const std::string& path);
  Status CheckLocked(FaultKind kind, const std::string& path);  // requires mu_
  Status CheckActiveLocked(const std::string& path) const;      // requires mu_

  void RecordSync(Tracked* file, uint64_t synced);

  Status UndoLocked(const PendingChange& change);  // requires mu_
  // The bytes of path that would survive power loss now. Requires mu_.
  Status DurableContentsLocked(const std::string& path, std::string* contents);

  Env* const base_;

  mutable std::mutex mu_;
  // Everything below is guarded by mu_.
  std::array<int, kNumFaultKinds> calls_{};
  std::array<Fault, kNumFaultKinds> faults_{};
  bool active_ = true;
  std::map<std::string, std::shared_ptr<Tracked>> tracked_;
  std::vector<PendingChange> pending_;  // oldest first
  uint64_t next_sequence_ = 0;
};

}  // namespace strata
