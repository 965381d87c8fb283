// The POSIX Env: plain file descriptors, pread for random access (or a read-only
// mapping, for NewMappedFile), a 64 KiB user-space buffer in front of every
// WritableFile, fdatasync for file data and fsync for directories. Every error names
// the path and the OS's reason, e.g. "IO error: /x/000012.log: No space left on device".
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <system_error>

#include "strata/env.h"

namespace strata {
namespace {

// std::generic_category().message is thread-safe, unlike strerror, and gives the same text.
Status PosixError(const std::string& context, int error_number) {
  return Status::IOError(context + ": " + std::generic_category().message(error_number));
}

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { close(fd_); }

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    // Loop until n bytes or end of file so that a short result always means end of file.
    size_t done = 0;
    while (done < n) {
      ssize_t r = read(fd_, scratch + done, n - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        *result = std::string_view(scratch, done);
        return PosixError(path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    *result = std::string_view(scratch, done);
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    if (n > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
      return Status::InvalidArgument(path_ + ": skip distance too large");
    }
    if (lseek(fd_, static_cast<off_t>(n), SEEK_CUR) == static_cast<off_t>(-1)) {
      return PosixError(path_, errno);
    }
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
    // An offset no file can reach is simply past end of file.
    n = offset > kMaxOffset ? 0 : static_cast<size_t>(std::min<uint64_t>(n, kMaxOffset - offset));
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        *result = std::string_view(scratch, done);
        return PosixError(path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    *result = std::string_view(scratch, done);
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

// A process has a limited number of memory mappings (vm.max_map_count, 65530 by
// default) and shares them with everything else it runs: mapped files take at most this
// many, and files opened beyond it are read with pread.
class MappingBudget {
 public:
  static constexpr int kMaxMappedFiles = 4096;

  bool TryAcquire() {
    int left = left_.load(std::memory_order_relaxed);
    while (left > 0) {
      if (left_.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  void Release() { left_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int> left_{kMaxMappedFiles};
};

// The whole file mapped read-only: a read is a view of the mapping. Its size is fixed
// at open, as the caller of NewMappedFile promised.
class PosixMappedFile final : public RandomAccessFile {
 public:
  PosixMappedFile(const char* base, uint64_t size, MappingBudget* budget)
      : base_(base), size_(size), budget_(budget) {}
  ~PosixMappedFile() override {
    munmap(const_cast<char*>(base_), static_cast<size_t>(size_));
    budget_->Release();
  }

  Status Read(uint64_t offset, size_t n, std::string_view* result, char*) const override {
    if (offset >= size_) {
      *result = std::string_view();
    } else {
      *result = std::string_view(base_ + offset,
                                 static_cast<size_t>(std::min<uint64_t>(n, size_ - offset)));
    }
    return Status::OK();
  }

  bool ReadsAreViews() const override { return true; }

 private:
  const char* const base_;
  const uint64_t size_;
  MappingBudget* const budget_;
};

// Buffers appends so that the many small records of a log cost few system calls.
// The first write or sync error is sticky: once bytes may have been lost, later appends
// must not succeed and leave a hole in the file, and a retried fsync can falsely report
// success after the kernel dropped the dirty pages.
class PosixWritableFile final : public WritableFile {
 public:
  static constexpr size_t kBufferSize = 64 * 1024;

  PosixWritableFile(std::string path, int fd)
      : path_(std::move(path)), fd_(fd), buffer_(new char[kBufferSize]) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close();
  }

  Status Append(std::string_view data) override {
    if (Status s = CheckUsable(); !s.ok()) return s;
    size_t copy = std::min(data.size(), kBufferSize - buffered_);
    std::memcpy(buffer_.get() + buffered_, data.data(), copy);
    buffered_ += copy;
    data.remove_prefix(copy);
    if (data.empty()) return Status::OK();

    // The buffer is full and more remains: empty it, then buffer a small rest or write
    // a large one directly rather than copying it through the buffer.
    if (Status s = FlushBuffer(); !s.ok()) return s;
    if (data.size() < kBufferSize) {
      std::memcpy(buffer_.get(), data.data(), data.size());
      buffered_ = data.size();
      return Status::OK();
    }
    return WriteFully(data);
  }

  Status Flush() override {
    if (Status s = CheckUsable(); !s.ok()) return s;
    return FlushBuffer();
  }

  Status Sync() override {
    if (Status s = Flush(); !s.ok()) return s;
#if defined(__linux__)
    int r = fdatasync(fd_);  // the file size is flushed too, which is all appends need
#else
    int r = fsync(fd_);
#endif
    if (r != 0) error_ = PosixError(path_, errno);
    return error_;
  }

  Status Close() override {
    if (fd_ < 0) return Status::IOError(path_ + ": file already closed");
    Status s = error_.ok() ? FlushBuffer() : error_;
    if (close(fd_) != 0 && s.ok()) s = PosixError(path_, errno);
    fd_ = -1;
    return s;
  }

 private:
  Status CheckUsable() const {
    if (fd_ < 0) return Status::IOError(path_ + ": file already closed");
    return error_;
  }

  Status FlushBuffer() {
    Status s = WriteFully(std::string_view(buffer_.get(), buffered_));
    buffered_ = 0;
    return s;
  }

  // Handles partial writes and EINTR; records the first error as sticky.
  Status WriteFully(std::string_view data) {
    while (!data.empty()) {
      ssize_t r = write(fd_, data.data(), data.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        error_ = PosixError(path_, errno);
        return error_;
      }
      data.remove_prefix(static_cast<size_t>(r));
    }
    return Status::OK();
  }

  const std::string path_;
  int fd_;  // -1 once closed
  std::unique_ptr<char[]> buffer_;
  size_t buffered_ = 0;
  Status error_;
};

// fcntl locks belong to the process, so a second LockFile in the same process would
// succeed at the OS level, and closing its descriptor would silently drop the first
// holder's lock. The set of paths locked by this process catches both before any
// descriptor is opened.
class LockedPaths {
 public:
  bool Insert(const std::string& key) {
    std::lock_guard<std::mutex> guard(mu_);
    return paths_.insert(key).second;
  }
  void Erase(const std::string& key) {
    std::lock_guard<std::mutex> guard(mu_);
    paths_.erase(key);
  }

 private:
  std::mutex mu_;
  std::set<std::string> paths_;  // guarded by mu_
};

// "db/LOCK", "./db/LOCK" and "/abs/db/LOCK" name the same lock; the lock file itself
// may not exist yet, so only its directory is resolved.
std::string CanonicalLockKey(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir, base = path;
  if (slash == std::string::npos) {
    dir.assign(1, '.');
  } else {
    dir = path.substr(0, std::max<size_t>(slash, 1));  // "/LOCK" lives in "/"
    base = path.substr(slash + 1);
  }
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved) == nullptr) return path;
  std::string key(resolved);
  if (key != "/") key += '/';
  return key + base;
}

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(LockedPaths* locked, std::string key, int fd)
      : locked_(locked), key_(std::move(key)), fd_(fd) {}
  ~PosixFileLock() override {
    struct flock unlock_request {};
    unlock_request.l_type = F_UNLCK;
    unlock_request.l_whence = SEEK_SET;
    fcntl(fd_, F_SETLK, &unlock_request);
    close(fd_);
    locked_->Erase(key_);
  }

 private:
  LockedPaths* const locked_;
  const std::string key_;
  const int fd_;
};

class PosixEnv final : public Env {
 public:
  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    *result = std::make_unique<PosixSequentialFile>(path, fd);
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    *result = std::make_unique<PosixRandomAccessFile>(path, fd);
    return Status::OK();
  }

  // Falls back to pread when the mapping budget is spent, for an empty file (which
  // cannot be mapped) and when mmap itself fails.
  Status NewMappedFile(const std::string& path,
                       std::unique_ptr<RandomAccessFile>* result) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    struct stat info;
    if (fstat(fd, &info) != 0) {
      Status s = PosixError(path, errno);
      close(fd);
      return s;
    }
    const auto size = static_cast<uint64_t>(info.st_size);
    if (size > 0 && size <= SIZE_MAX && mapping_budget_.TryAcquire()) {
      void* base = mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
      if (base != MAP_FAILED) {
        close(fd);  // the mapping keeps the file
        *result = std::make_unique<PosixMappedFile>(static_cast<const char*>(base), size,
                                                    &mapping_budget_);
        return Status::OK();
      }
      mapping_budget_.Release();
    }
    *result = std::make_unique<PosixRandomAccessFile>(path, fd);
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(path, errno);
    *result = std::make_unique<PosixWritableFile>(path, fd);
    return Status::OK();
  }

  bool FileExists(const std::string& path) override { return access(path.c_str(), F_OK) == 0; }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return PosixError(dir, errno);
    Status s;
    while (true) {
      errno = 0;
      struct dirent* entry = readdir(d);
      if (entry == nullptr) {
        if (errno != 0) s = PosixError(dir, errno);
        break;
      }
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      names->emplace_back(entry->d_name);
    }
    closedir(d);
    return s;
  }

  Status RemoveFile(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return PosixError(path, errno);
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    if (mkdir(dir.c_str(), 0755) == 0) return Status::OK();
    int error_number = errno;
    struct stat st;
    if (error_number == EEXIST && stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::OK();
      return Status::IOError(dir + ": exists and is not a directory");
    }
    return PosixError(dir, error_number);
  }

  Status RemoveDir(const std::string& dir) override {
    if (rmdir(dir.c_str()) != 0) return PosixError(dir, errno);
    return Status::OK();
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      *size = 0;
      return PosixError(path, errno);
    }
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) return PosixError(from + " -> " + to, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError(dir, errno);
    Status s;
    if (fsync(fd) != 0) s = PosixError(dir, errno);
    close(fd);
    return s;
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    std::string key = CanonicalLockKey(path);
    if (!locked_.Insert(key)) {
      return Status::Busy(path + ": store is already locked in this process");
    }
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      int error_number = errno;
      locked_.Erase(key);
      return PosixError(path, error_number);
    }
    struct flock request {};
    request.l_type = F_WRLCK;
    request.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
    if (fcntl(fd, F_SETLK, &request) != 0) {
      int error_number = errno;
      close(fd);
      locked_.Erase(key);
      if (error_number == EACCES || error_number == EAGAIN) {
        return Status::Busy(path + ": store is locked by another process");
      }
      return PosixError(path, error_number);
    }
    *lock = std::make_unique<PosixFileLock>(&locked_, std::move(key), fd);
    return Status::OK();
  }

  // Wall-clock time, so that timestamps in the event log mean something to a reader.
  uint64_t NowMicros() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }

 private:
  LockedPaths locked_;
  MappingBudget mapping_budget_;  // outlives every mapped file: the Env is never deleted
};

}  // namespace

Env* Env::Default() {
  // Leaked on purpose: background threads and static destructors may still use it
  // while the process exits.
  static Env* const env = new PosixEnv;
  return env;
}

}  // namespace strata
