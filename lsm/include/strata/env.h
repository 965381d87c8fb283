// Env: every file the engine touches goes through this interface, so the same code
// runs on POSIX files, in memory (for :memory: databases and fast tests), and on a
// fault-injecting wrapper that fails chosen calls and simulates power loss.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strata/status.h"

namespace strata {

// Read front to back (logs, MANIFEST). Not thread-safe.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes. *result points into scratch (n bytes) or into the file's own
  // memory. A short result means end of file.
  virtual Status Read(size_t n, std::string_view* result, char* scratch) = 0;
  virtual Status Skip(uint64_t n) = 0;
};

// Positional reads (table files). Safe for concurrent use.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset. *result points into scratch or the file's memory;
  // a short result means the read crossed end of file.
  virtual Status Read(uint64_t offset, size_t n, std::string_view* result,
                      char* scratch) const = 0;
  // True if every Read returns a view of memory the file holds (a mapping) and leaves
  // scratch alone: a reader then needs no buffer, and reading ahead buys nothing.
  virtual bool ReadsAreViews() const { return false; }
};

// Append-only output. Not thread-safe. Data is durable only after Sync() returns OK.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Flush() = 0;  // hand buffered bytes to the OS (survive a process crash)
  virtual Status Sync() = 0;   // make them durable (survive power loss)
  virtual Status Close() = 0;
};

// An OS-level lock on a file; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never deleted.
  static Env* Default();

  virtual Status NewSequentialFile(const std::string& path,
                                   std::unique_ptr<SequentialFile>* result) = 0;
  virtual Status NewRandomAccessFile(const std::string& path,
                                     std::unique_ptr<RandomAccessFile>* result) = 0;
  // Like NewRandomAccessFile, for a file whose contents no one changes while it is open
  // (a table): the Env may map it into memory, and reads then return views of the
  // mapping with no system call and no copy. The caller promises the file is neither
  // written nor truncated meanwhile (a truncated mapped file faults on access).
  // By default the same as NewRandomAccessFile.
  virtual Status NewMappedFile(const std::string& path, std::unique_ptr<RandomAccessFile>* result) {
    return NewRandomAccessFile(path, result);
  }
  // Creates or truncates.
  virtual Status NewWritableFile(const std::string& path,
                                 std::unique_ptr<WritableFile>* result) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status CreateDir(const std::string& dir) = 0;  // OK if it already exists
  virtual Status RemoveDir(const std::string& dir) = 0;
  virtual Status GetFileSize(const std::string& path, uint64_t* size) = 0;
  // Atomically replaces target if it exists.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Makes creations, renames and removals in dir durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Takes an exclusive lock that another process (or another LockFile call in this
  // process) cannot also take; a held lock is reported as Status::Busy.
  virtual Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) = 0;

  virtual uint64_t NowMicros() = 0;
};

// A fresh, empty in-memory filesystem. Files vanish with the Env.
std::unique_ptr<Env> NewMemEnv();

// Helpers over any Env.
Status WriteStringToFile(Env* env, std::string_view data, const std::string& path,
                         bool sync);
Status ReadFileToString(Env* env, const std::string& path, std::string* data);

}  // namespace strata
