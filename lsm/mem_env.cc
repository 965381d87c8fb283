// The in-memory Env: a map from path to shared file contents, for :memory: stores and
// fast tests. It mirrors the POSIX Env's observable behaviour where the engine could
// notice a difference:
// - an open file keeps its contents after RemoveFile or after being renamed over,
//   like an unlinked inode;
// - NewWritableFile on an existing file truncates it in place (open readers see that);
// - error messages have the same shape ("<path>: No such file or directory").
// Directories are loose: CreateDir records one, files may be created in any directory,
// and a directory exists if it was created or something lies below it. Paths are
// normalized ("/a//b/./c/" is "/a/b/c"); relative ones live below ".".
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "strata/env.h"

namespace strata {
namespace {

constexpr char kNoSuchFile[] = ": No such file or directory";

// The contents of one file, shared by the directory entry and every open handle.
class FileData {
 public:
  uint64_t Size() const {
    std::lock_guard<std::mutex> guard(mu_);
    return data_.size();
  }

  // Copies up to n bytes from offset into scratch under the lock, so a concurrent
  // appender (which may reallocate) cannot be observed half-way.
  size_t Read(uint64_t offset, size_t n, char* scratch) const {
    std::lock_guard<std::mutex> guard(mu_);
    if (offset >= data_.size()) return 0;
    size_t available = data_.size() - static_cast<size_t>(offset);
    size_t count = std::min(n, available);
    std::memcpy(scratch, data_.data() + offset, count);
    return count;
  }

  void Append(std::string_view data) {
    std::lock_guard<std::mutex> guard(mu_);
    data_.append(data);
  }

  void Clear() {
    std::lock_guard<std::mutex> guard(mu_);
    data_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::string data_;  // guarded by mu_
};

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(std::shared_ptr<FileData> file) : file_(std::move(file)) {}

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    size_t count = file_->Read(position_, n, scratch);
    position_ += count;
    *result = std::string_view(scratch, count);
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    // Like lseek, skipping past the end is allowed; later reads return nothing.
    position_ = n > UINT64_MAX - position_ ? UINT64_MAX : position_ + n;
    return Status::OK();
  }

 private:
  const std::shared_ptr<FileData> file_;
  uint64_t position_ = 0;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<FileData> file) : file_(std::move(file)) {}

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    *result = std::string_view(scratch, file_->Read(offset, n, scratch));
    return Status::OK();
  }

 private:
  const std::shared_ptr<FileData> file_;
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<FileData> file)
      : path_(std::move(path)), file_(std::move(file)) {}

  Status Append(std::string_view data) override {
    if (closed_) return Status::IOError(path_ + ": file already closed");
    file_->Append(data);
    return Status::OK();
  }
  Status Flush() override { return CheckOpen(); }
  Status Sync() override { return CheckOpen(); }
  Status Close() override {
    Status s = CheckOpen();
    closed_ = true;
    return s;
  }

 private:
  Status CheckOpen() const {
    return closed_ ? Status::IOError(path_ + ": file already closed") : Status::OK();
  }

  const std::string path_;
  const std::shared_ptr<FileData> file_;
  bool closed_ = false;
};

// One spelling per file: "/a//b/./c/" and "/a/b/c" are the same path, and so are
// "./x" and "x". There are no symbolic links, so ".." can be resolved textually.
std::string Normalize(const std::string& path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  std::string_view rest(path);
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == ".." && !parts.empty() && parts.back() != "..") {
      parts.pop_back();
    } else if (part != ".." || !absolute) {
      parts.push_back(part);  // ".." above "/" is "/"
    }
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); i++) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

const std::string& KeyOf(const std::string& path) { return path; }
template <typename Value>
const std::string& KeyOf(const std::pair<const std::string, Value>& entry) {
  return entry.first;
}

// Calls fn(child) for every normalized path in the ordered container that lies below
// the normalized dir, with child = the first component below dir (a file or a
// subdirectory name), until fn returns false. Relative paths lie below ".".
template <typename Container, typename Fn>
void ForEachBelow(const Container& paths, const std::string& dir, Fn&& fn) {
  if (dir == ".") {
    for (const auto& entry : paths) {
      const std::string& path = KeyOf(entry);
      if (path.front() == '/' || path == ".") continue;
      if (!fn(path.substr(0, path.find('/')))) return;
    }
    return;
  }
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  for (auto it = paths.lower_bound(prefix); it != paths.end(); ++it) {
    std::string_view path(KeyOf(*it));
    if (path.compare(0, prefix.size(), prefix) != 0) break;  // past the sorted range
    path.remove_prefix(prefix.size());
    if (path.empty()) continue;  // dir itself, e.g. "/"
    if (!fn(std::string(path.substr(0, path.find('/'))))) return;
  }
}

class MemEnv final : public Env {
 public:
  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    std::shared_ptr<FileData> file;
    if (Status s = FindFile(path, &file); !s.ok()) return s;
    *result = std::make_unique<MemSequentialFile>(std::move(file));
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    std::shared_ptr<FileData> file;
    if (Status s = FindFile(path, &file); !s.ok()) return s;
    *result = std::make_unique<MemRandomAccessFile>(std::move(file));
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override {
    std::string key = Normalize(path);
    std::lock_guard<std::mutex> guard(mu_);
    if (dirs_.count(key) != 0) return Status::IOError(path + ": Is a directory");
    std::shared_ptr<FileData>& file = files_[key];
    if (file == nullptr) {
      file = std::make_shared<FileData>();
    } else {
      file->Clear();
    }
    *result = std::make_unique<MemWritableFile>(path, file);
    return Status::OK();
  }

  bool FileExists(const std::string& path) override {
    std::string key = Normalize(path);
    std::lock_guard<std::mutex> guard(mu_);
    return files_.count(key) != 0 || DirExistsLocked(key);
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    std::string key = Normalize(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (files_.count(key) != 0) return Status::IOError(dir + ": Not a directory");
    if (!DirExistsLocked(key)) return Status::IOError(dir + kNoSuchFile);
    std::set<std::string> children;
    auto collect = [&children](const std::string& child) {
      children.insert(child);
      return true;
    };
    ForEachBelow(files_, key, collect);
    ForEachBelow(dirs_, key, collect);
    names->assign(children.begin(), children.end());
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    std::lock_guard<std::mutex> guard(mu_);
    if (files_.erase(Normalize(path)) == 0) return Status::IOError(path + kNoSuchFile);
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    std::string key = Normalize(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (files_.count(key) != 0) return Status::IOError(dir + ": exists and is not a directory");
    dirs_.insert(key);
    return Status::OK();
  }

  Status RemoveDir(const std::string& dir) override {
    std::string key = Normalize(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (!DirExistsLocked(key)) return Status::IOError(dir + kNoSuchFile);
    if (HasChildrenLocked(key)) return Status::IOError(dir + ": Directory not empty");
    dirs_.erase(key);
    return Status::OK();
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    std::shared_ptr<FileData> file;
    *size = 0;
    if (Status s = FindFile(path, &file); !s.ok()) return s;
    *size = file->Size();
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    std::string from_key = Normalize(from), to_key = Normalize(to);
    std::lock_guard<std::mutex> guard(mu_);
    auto it = files_.find(from_key);
    if (it == files_.end()) return Status::IOError(from + " -> " + to + kNoSuchFile);
    if (dirs_.count(to_key) != 0) return Status::IOError(from + " -> " + to + ": Is a directory");
    if (from_key == to_key) return Status::OK();
    std::shared_ptr<FileData> file = std::move(it->second);
    files_.erase(it);
    files_[to_key] = std::move(file);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    std::string key = Normalize(dir);
    std::lock_guard<std::mutex> guard(mu_);
    if (!DirExistsLocked(key)) return Status::IOError(dir + kNoSuchFile);
    return Status::OK();
  }

  // The Env must outlive every lock it hands out.
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    std::string key = Normalize(path);
    std::lock_guard<std::mutex> guard(mu_);
    if (dirs_.count(key) != 0) return Status::IOError(path + ": Is a directory");
    if (!locked_.insert(key).second) {
      return Status::Busy(path + ": store is already locked in this process");
    }
    // Like the POSIX Env, locking creates the file, so directory listings agree.
    std::shared_ptr<FileData>& file = files_[key];
    if (file == nullptr) file = std::make_shared<FileData>();
    *lock = std::make_unique<MemFileLock>(this, std::move(key));
    return Status::OK();
  }

  uint64_t NowMicros() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }

 private:
  class MemFileLock final : public FileLock {
   public:
    MemFileLock(MemEnv* env, std::string key) : env_(env), key_(std::move(key)) {}
    ~MemFileLock() override {
      std::lock_guard<std::mutex> guard(env_->mu_);
      env_->locked_.erase(key_);
    }

   private:
    MemEnv* const env_;
    const std::string key_;
  };

  Status FindFile(const std::string& path, std::shared_ptr<FileData>* file) {
    std::string key = Normalize(path);
    std::lock_guard<std::mutex> guard(mu_);
    auto it = files_.find(key);
    if (it == files_.end()) {
      if (DirExistsLocked(key)) return Status::IOError(path + ": Is a directory");
      return Status::IOError(path + kNoSuchFile);
    }
    *file = it->second;
    return Status::OK();
  }

  // Requires mu_.
  bool DirExistsLocked(const std::string& dir) const {
    if (dir == "/" || dir == "." || dirs_.count(dir) != 0) return true;
    return HasChildrenLocked(dir);
  }

  // Requires mu_.
  bool HasChildrenLocked(const std::string& dir) const {
    bool found = false;
    auto stop = [&found](const std::string&) {
      found = true;
      return false;
    };
    ForEachBelow(files_, dir, stop);
    if (!found) ForEachBelow(dirs_, dir, stop);
    return found;
  }

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileData>> files_;  // guarded by mu_
  std::set<std::string> dirs_;                              // guarded by mu_
  std::set<std::string> locked_;                            // guarded by mu_
};

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace strata
