#include "lsm/fault_injection_env.h"

#include <algorithm>

namespace strata {
namespace {

// "db/" and "db" are one directory; "" and "." both mean the working directory.
std::string NormalizeDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir.empty() ? "." : dir;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return NormalizeDir(path.substr(0, slash));
}

int Index(FaultKind kind) { return static_cast<int>(kind); }

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kWrite:
      return "write";
    case FaultKind::kSync:
      return "sync";
    case FaultKind::kRead:
      return "read";
    case FaultKind::kRename:
      return "rename";
    case FaultKind::kCreate:
      return "create";
    case FaultKind::kRemove:
      return "remove";
  }
  return "unknown";
}

class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base,
       std::shared_ptr<Tracked> tracked)
      : env_(env), path_(std::move(path)), base_(std::move(base)), tracked_(std::move(tracked)) {}

  Status Append(std::string_view data) override {
    if (Status s = env_->Check(FaultKind::kWrite, path_); !s.ok()) return s;
    Status s = base_->Append(data);
    if (s.ok()) appended_ += data.size();
    return s;
  }

  Status Flush() override {
    if (Status s = env_->Check(FaultKind::kWrite, path_); !s.ok()) return s;
    return base_->Flush();
  }

  Status Sync() override {
    if (Status s = env_->Check(FaultKind::kSync, path_); !s.ok()) return s;
    Status s = base_->Sync();
    if (s.ok()) env_->RecordSync(tracked_.get(), appended_);
    return s;
  }

  Status Close() override { return base_->Close(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<Tracked> tracked_;
  uint64_t appended_ = 0;  // through this handle, which is the file's only writer
};

class FaultInjectionEnv::Reader final : public SequentialFile {
 public:
  Reader(FaultInjectionEnv* env, std::string path, std::unique_ptr<SequentialFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    if (Status s = env_->Check(FaultKind::kRead, path_); !s.ok()) {
      *result = std::string_view();
      return s;
    }
    return base_->Read(n, result, scratch);
  }
  Status Skip(uint64_t n) override { return base_->Skip(n); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::unique_ptr<SequentialFile> base_;
};

class FaultInjectionEnv::RandomReader final : public RandomAccessFile {
 public:
  RandomReader(FaultInjectionEnv* env, std::string path, std::unique_ptr<RandomAccessFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    if (Status s = env_->Check(FaultKind::kRead, path_); !s.ok()) {
      *result = std::string_view();
      return s;
    }
    return base_->Read(offset, n, result, scratch);
  }

  bool ReadsAreViews() const override { return base_->ReadsAreViews(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::unique_ptr<RandomAccessFile> base_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::FailAfter(FaultKind kind, int n, FaultMode mode) {
  std::lock_guard<std::mutex> guard(mu_);
  faults_[Index(kind)] = Fault{true, calls_[Index(kind)] + std::max(n, 0), mode};
}

void FaultInjectionEnv::ClearFaults() {
  std::lock_guard<std::mutex> guard(mu_);
  faults_.fill(Fault{});
}

int FaultInjectionEnv::CallCount(FaultKind kind) const {
  std::lock_guard<std::mutex> guard(mu_);
  return calls_[Index(kind)];
}

void FaultInjectionEnv::ResetCallCounts() {
  std::lock_guard<std::mutex> guard(mu_);
  // Armed faults keep the number of calls they still let through.
  for (int i = 0; i < kNumFaultKinds; i++) {
    faults_[i].fail_at -= calls_[i];
    calls_[i] = 0;
  }
}

void FaultInjectionEnv::SetFilesystemActive(bool active) {
  std::lock_guard<std::mutex> guard(mu_);
  active_ = active;
}

bool FaultInjectionEnv::IsFilesystemActive() const {
  std::lock_guard<std::mutex> guard(mu_);
  return active_;
}

Status FaultInjectionEnv::Check(FaultKind kind, const std::string& path) {
  std::lock_guard<std::mutex> guard(mu_);
  return CheckLocked(kind, path);
}

Status FaultInjectionEnv::CheckLocked(FaultKind kind, const std::string& path) {
  int call = calls_[Index(kind)]++;
  if (kind != FaultKind::kRead) {
    if (Status s = CheckActiveLocked(path); !s.ok()) return s;
  }
  const Fault& fault = faults_[Index(kind)];
  if (fault.armed &&
      (call == fault.fail_at || (fault.mode == FaultMode::kSticky && call > fault.fail_at))) {
    return Status::IOError(std::string("injected ") + FaultKindName(kind) + " fault: " + path);
  }
  return Status::OK();
}

Status FaultInjectionEnv::CheckActiveLocked(const std::string& path) const {
  if (active_) return Status::OK();
  return Status::IOError("filesystem inactive (simulated crash): " + path);
}

void FaultInjectionEnv::RecordSync(Tracked* file, uint64_t synced) {
  std::lock_guard<std::mutex> guard(mu_);
  file->synced = std::max(file->synced, synced);
}

Status FaultInjectionEnv::NewSequentialFile(const std::string& path,
                                            std::unique_ptr<SequentialFile>* result) {
  std::unique_ptr<SequentialFile> base_file;
  Status s = base_->NewSequentialFile(path, &base_file);
  if (s.ok()) *result = std::make_unique<Reader>(this, path, std::move(base_file));
  return s;
}

Status FaultInjectionEnv::NewRandomAccessFile(const std::string& path,
                                              std::unique_ptr<RandomAccessFile>* result) {
  return OpenRandomReader(path, /*mapped=*/false, result);
}

// Mapped files fail reads exactly like the others: the engine's mapped read path is
// tested under faults too.
Status FaultInjectionEnv::NewMappedFile(const std::string& path,
                                        std::unique_ptr<RandomAccessFile>* result) {
  return OpenRandomReader(path, /*mapped=*/true, result);
}

Status FaultInjectionEnv::OpenRandomReader(const std::string& path, bool mapped,
                                           std::unique_ptr<RandomAccessFile>* result) {
  std::unique_ptr<RandomAccessFile> base_file;
  Status s = mapped ? base_->NewMappedFile(path, &base_file)
                    : base_->NewRandomAccessFile(path, &base_file);
  if (s.ok()) *result = std::make_unique<RandomReader>(this, path, std::move(base_file));
  return s;
}

Status FaultInjectionEnv::NewWritableFile(const std::string& path,
                                          std::unique_ptr<WritableFile>* result) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = CheckLocked(FaultKind::kCreate, path); !s.ok()) return s;
  bool existed = base_->FileExists(path);
  std::unique_ptr<WritableFile> base_file;
  if (Status s = base_->NewWritableFile(path, &base_file); !s.ok()) return s;
  auto tracked = std::make_shared<Tracked>();
  tracked_[path] = tracked;
  if (!existed) {
    PendingChange& change = pending_.emplace_back();
    change.type = PendingChange::Type::kCreate;
    change.sequence = next_sequence_++;
    change.dir = DirOf(path);
    change.path = path;
  }
  *result = std::make_unique<File>(this, path, std::move(base_file), std::move(tracked));
  return Status::OK();
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

Status FaultInjectionEnv::GetChildren(const std::string& dir, std::vector<std::string>* names) {
  return base_->GetChildren(dir, names);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = CheckLocked(FaultKind::kRemove, path); !s.ok()) return s;
  if (Status s = base_->RemoveFile(path); !s.ok()) return s;
  tracked_.erase(path);
  return Status::OK();
}

Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = CheckActiveLocked(dir); !s.ok()) return s;
  return base_->CreateDir(dir);
}

Status FaultInjectionEnv::RemoveDir(const std::string& dir) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = CheckActiveLocked(dir); !s.ok()) return s;
  return base_->RemoveDir(dir);
}

Status FaultInjectionEnv::GetFileSize(const std::string& path, uint64_t* size) {
  return base_->GetFileSize(path, size);
}

Status FaultInjectionEnv::DurableContentsLocked(const std::string& path, std::string* contents) {
  if (Status s = ReadFileToString(base_, path, contents); !s.ok()) return s;
  auto it = tracked_.find(path);
  if (it != tracked_.end() && contents->size() > it->second->synced) {
    contents->resize(it->second->synced);
  }
  return Status::OK();
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = CheckLocked(FaultKind::kRename, from + " -> " + to); !s.ok()) return s;
  PendingChange change;
  change.type = PendingChange::Type::kRename;
  change.dir = DirOf(to);
  change.path = to;
  change.from = from;
  change.target_existed = base_->FileExists(to);
  if (change.target_existed) {
    if (Status s = DurableContentsLocked(to, &change.old_target); !s.ok()) return s;
  }
  if (Status s = base_->RenameFile(from, to); !s.ok()) return s;
  auto it = tracked_.find(from);
  if (it != tracked_.end()) {
    tracked_[to] = std::move(it->second);
    tracked_.erase(it);
  } else {
    tracked_.erase(to);  // replaced by a file that is durable as it is
  }
  change.sequence = next_sequence_++;
  pending_.push_back(std::move(change));
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  uint64_t before;
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (Status s = CheckLocked(FaultKind::kSync, dir); !s.ok()) return s;
    before = next_sequence_;
  }
  // Not under mu_: an fsync is slow and other threads keep writing meanwhile. Only the
  // changes made before it started are sure to be covered.
  if (Status s = base_->SyncDir(dir); !s.ok()) return s;
  std::lock_guard<std::mutex> guard(mu_);
  const std::string synced_dir = NormalizeDir(dir);
  std::erase_if(pending_, [&](const PendingChange& change) {
    return change.sequence < before && change.dir == synced_dir;
  });
  return Status::OK();
}

Status FaultInjectionEnv::LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) {
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (Status s = CheckActiveLocked(path); !s.ok()) return s;
  }
  return base_->LockFile(path, lock);
}

uint64_t FaultInjectionEnv::NowMicros() { return base_->NowMicros(); }

Status FaultInjectionEnv::UndoLocked(const PendingChange& change) {
  switch (change.type) {
    case PendingChange::Type::kCreate:
      tracked_.erase(change.path);
      if (!base_->FileExists(change.path)) return Status::OK();  // removed since
      return base_->RemoveFile(change.path);

    case PendingChange::Type::kRename: {
      if (base_->FileExists(change.path)) {
        if (Status s = base_->RenameFile(change.path, change.from); !s.ok()) return s;
        auto it = tracked_.find(change.path);
        if (it != tracked_.end()) {
          tracked_[change.from] = std::move(it->second);
          tracked_.erase(it);
        } else {
          tracked_.erase(change.from);
        }
      }
      if (!change.target_existed) return Status::OK();
      tracked_.erase(change.path);  // the restored contents are durable ones
      return WriteStringToFile(base_, change.old_target, change.path, /*sync=*/true);
    }
  }
  return Status::OK();
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> guard(mu_);
  Status result;
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    Status s = UndoLocked(*it);
    if (result.ok()) result = s;
  }
  pending_.clear();

  for (const auto& [path, tracked] : tracked_) {
    uint64_t size = 0;
    if (!base_->GetFileSize(path, &size).ok() || size <= tracked->synced) continue;
    std::string contents;
    Status s = ReadFileToString(base_, path, &contents);
    if (s.ok()) {
      contents.resize(std::min<uint64_t>(contents.size(), tracked->synced));
      s = WriteStringToFile(base_, contents, path, /*sync=*/true);
    }
    if (result.ok()) result = s;
  }
  tracked_.clear();
  return result;
}

}  // namespace strata
