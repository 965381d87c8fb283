#include "lsm/version_set.h"

#include <algorithm>

#include "lsm/compaction.h"
#include "lsm/filename.h"
#include "lsm/log_reader.h"

namespace strata {

uint64_t Version::LevelBytes(int level) const {
  uint64_t total = 0;
  for (const auto& file : files[level]) total += file->file_size;
  return total;
}

std::vector<std::shared_ptr<const FileMetaData>> Version::OverlappingFiles(
    int level, const std::string_view* begin, const std::string_view* end) const {
  std::vector<std::shared_ptr<const FileMetaData>> result;
  for (const auto& f : files[level]) {
    if (begin != nullptr && ExtractUserKey(f->largest) < *begin) continue;
    if (end != nullptr && ExtractUserKey(f->smallest) > *end) continue;
    result.push_back(f);
  }
  return result;
}

VersionSet::VersionSet(std::string dbname, const Options& options, Env* env)
    : dbname_(std::move(dbname)), options_(options), env_(env) {
  current_ = std::make_shared<const Version>();
  versions_in_use_.push_back(current_);
}

VersionSet::~VersionSet() {
  if (manifest_file_ != nullptr) manifest_file_->Close();
}

Status VersionSet::CreateNew(Env* env, const std::string& dbname) {
  constexpr uint64_t kManifestNumber = 1;
  VersionEdit edit;
  edit.SetFormatVersion(kManifestFormatVersion);
  edit.SetLogNumber(0);
  edit.SetNextFileNumber(kManifestNumber + 1);
  edit.SetLastSequence(0);

  std::string manifest = ManifestFileName(dbname, kManifestNumber);
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(manifest, &file);
  if (!s.ok()) return s;
  std::string record;
  edit.EncodeTo(&record);
  log::Writer writer(file.get());
  s = writer.AddRecord(record);
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = file->Close();
  // On failure the MANIFEST stays: CURRENT may already name it (the rename can land
  // even if the directory sync after it fails). Without CURRENT it is overwritten by
  // the next create.
  if (s.ok()) s = SetCurrentFile(env, dbname, kManifestNumber);
  return s;
}

Status VersionSet::Recover() {
  std::string current;
  Status s = ReadFileToString(env_, CurrentFileName(dbname_), &current);
  if (!s.ok()) return s;
  if (current.empty() || current.back() != '\n') {
    return Status::Corruption(CurrentFileName(dbname_) + ": does not end with a newline");
  }
  current.pop_back();
  uint64_t manifest_number;
  FileType type;
  if (!ParseFileName(current, &manifest_number, &type) || type != FileType::kManifest) {
    return Status::Corruption(CurrentFileName(dbname_) + ": names no MANIFEST: '" + current +
                              "'");
  }
  std::string manifest_path = dbname_ + "/" + current;
  std::unique_ptr<SequentialFile> file;
  s = env_->NewSequentialFile(manifest_path, &file);
  if (!s.ok()) return s;

  std::optional<uint64_t> next_file, log_number;
  std::optional<SequenceNumber> last_sequence;
  bool have_format_version = false;
  std::shared_ptr<const Version> version = std::make_shared<const Version>();
  log::Reader reader(file.get(), manifest_path);
  std::string_view record;
  std::string scratch;
  while (reader.ReadRecord(&record, &scratch)) {
    VersionEdit edit;
    s = edit.DecodeFrom(record);
    if (!s.ok()) {
      return s.IsNotSupported() ? s : Status::Corruption(manifest_path + ": " + s.message());
    }
    if (edit.format_version()) have_format_version = true;
    if (edit.log_number()) log_number = edit.log_number();
    if (edit.next_file_number()) next_file = edit.next_file_number();
    if (edit.last_sequence()) last_sequence = edit.last_sequence();
    version = Apply(*version, edit);
  }
  if (!reader.status().ok()) return reader.status();
  // A torn tail of the MANIFEST is an edit whose write never completed; the files it
  // named are unreferenced and get deleted as obsolete.
  if (!have_format_version || !next_file || !log_number || !last_sequence) {
    return Status::Corruption(manifest_path + ": missing format version, next file number, " +
                              "log number or last sequence");
  }
  for (int level = 0; level < kNumLevels; level++) {
    for (const auto& f : version->files[level]) {
      if (f->number >= *next_file) {
        return Status::Corruption(manifest_path + ": table " + std::to_string(f->number) +
                                  " is not below the next file number");
      }
    }
  }
  next_file_number_ = std::max(*next_file, manifest_number + 1);
  log_number_ = *log_number;
  last_sequence_ = *last_sequence;
  manifest_file_number_ = manifest_number;
  current_ = version;
  versions_in_use_.clear();
  versions_in_use_.push_back(current_);
  return Status::OK();
}

std::shared_ptr<const Version> VersionSet::Apply(const Version& base,
                                                 const VersionEdit& edit) const {
  auto next = std::make_shared<Version>(base);
  for (const auto& [level, number] : edit.deleted_files()) {
    auto& files = next->files[level];
    files.erase(std::remove_if(files.begin(), files.end(),
                               [number = number](const auto& f) { return f->number == number; }),
                files.end());
  }
  for (const auto& [level, file] : edit.new_files()) {
    next->files[level].push_back(std::make_shared<const FileMetaData>(file));
  }
  const InternalKeyComparator* icmp = GetInternalKeyComparator();
  // Newer level-0 tables have higher numbers: search them first.
  std::sort(next->files[0].begin(), next->files[0].end(),
            [](const auto& a, const auto& b) { return a->number > b->number; });
  for (int level = 1; level < kNumLevels; level++) {
    std::sort(next->files[level].begin(), next->files[level].end(),
              [icmp](const auto& a, const auto& b) {
                return icmp->Compare(a->smallest, b->smallest) < 0;
              });
  }
  return next;
}

Status VersionSet::WriteSnapshot(log::Writer* writer) const {
  VersionEdit edit;
  edit.SetFormatVersion(kManifestFormatVersion);
  for (int level = 0; level < kNumLevels; level++) {
    for (const auto& f : current_->files[level]) edit.AddFile(level, *f);
  }
  std::string record;
  edit.EncodeTo(&record);
  return writer->AddRecord(record);
}

Status VersionSet::LogAndApply(VersionEdit* edit, std::unique_lock<std::mutex>& lock) {
  manifest_idle_.wait(lock, [this] { return !manifest_busy_; });
  manifest_busy_ = true;

  if (!edit->log_number()) edit->SetLogNumber(log_number_);
  edit->SetLastSequence(last_sequence_);
  std::shared_ptr<const Version> next = Apply(*current_, *edit);

  // A fresh MANIFEST on the first edit after open keeps the file from growing across
  // restarts; its number must be taken before next_file_number is recorded.
  std::unique_ptr<WritableFile> new_file;
  std::unique_ptr<log::Writer> new_log;
  uint64_t new_manifest_number = 0;
  Status s;
  if (manifest_log_ == nullptr) {
    new_manifest_number = NewFileNumber();
    s = env_->NewWritableFile(ManifestFileName(dbname_, new_manifest_number), &new_file);
    if (s.ok()) {
      new_log = std::make_unique<log::Writer>(new_file.get());
      s = WriteSnapshot(new_log.get());
    }
  }
  edit->SetNextFileNumber(next_file_number_);
  std::string record;
  edit->EncodeTo(&record);

  lock.unlock();
  log::Writer* writer = new_log != nullptr ? new_log.get() : manifest_log_.get();
  WritableFile* file = new_file != nullptr ? new_file.get() : manifest_file_.get();
  if (s.ok()) s = writer->AddRecord(record);
  if (s.ok()) s = file->Sync();
  // Once synced, a new MANIFEST may already be named by CURRENT (the rename can land
  // even if the directory sync after it fails): it must never be deleted then.
  const bool manifest_synced = s.ok();
  if (s.ok() && new_file != nullptr) s = SetCurrentFile(env_, dbname_, new_manifest_number);
  lock.lock();

  if (s.ok()) {
    if (new_file != nullptr) {
      if (manifest_file_ != nullptr) manifest_file_->Close();
      manifest_file_ = std::move(new_file);
      manifest_log_ = std::move(new_log);
      manifest_file_number_ = new_manifest_number;
    }
    current_ = next;
    versions_in_use_.push_back(current_);
    for (int level = 0; level < kNumLevels; level++) {
      if (current_->NumFiles(level) == 0) draining_[level] = false;
    }
    if (edit->log_number()) log_number_ = *edit->log_number();
  } else if (new_file != nullptr) {
    new_file->Close();
    if (!manifest_synced) env_->RemoveFile(ManifestFileName(dbname_, new_manifest_number));
  } else if (manifest_file_ != nullptr) {
    // The MANIFEST may now end in a partial record; never append after it. The next
    // edit starts a new MANIFEST (CURRENT still names the old, intact prefix).
    manifest_file_->Close();
    manifest_file_.reset();
    manifest_log_.reset();
  }
  manifest_busy_ = false;
  manifest_idle_.notify_all();
  return s;
}

void VersionSet::AddLiveFiles(std::set<uint64_t>* live) {
  for (auto it = versions_in_use_.begin(); it != versions_in_use_.end();) {
    std::shared_ptr<const Version> version = it->lock();
    if (version == nullptr) {
      it = versions_in_use_.erase(it);
      continue;
    }
    for (int level = 0; level < kNumLevels; level++) {
      for (const auto& f : version->files[level]) live->insert(f->number);
    }
    ++it;
  }
}

}  // namespace strata

namespace strata {

uint64_t VersionSet::MaxBytesForLevel(int level) const {
  uint64_t bytes = options_.max_bytes_for_level_base;
  for (int l = 1; l < level; l++) bytes *= options_.max_bytes_for_level_multiplier;
  return bytes;
}

double VersionSet::CompactionScore(int* best_level, bool idle) const {
  double best = -1;
  if (best_level != nullptr) *best_level = -1;
  // The last level has nowhere to go.
  for (int level = 0; level < kNumLevels - 1; level++) {
    double score = level == 0 ? static_cast<double>(current_->NumFiles(0)) /
                                    options_.level0_compaction_trigger
                              : static_cast<double>(current_->LevelBytes(level)) /
                                    static_cast<double>(MaxBytesForLevel(level));
    // Idle, level 0 moves down below its trigger too, but only with enough data that
    // the rewrite of level 1 it costs (the part level 0 overlaps: all of it for random
    // keys) is at most 16 times the data moved: a trickle of small writes stays in
    // level 0 rather than rewriting level 1 after each pause.
    if (level == 0 && idle && current_->NumFiles(0) > 0 &&
        current_->LevelBytes(0) * kIdleLevel0Ratio >= current_->LevelBytes(1)) {
      score = std::max(score, 1.0);
    }
    if (level > 0 && idle && IdleDrainDue(level)) score = std::max(score, 1.0);
    if (score > best) {
      best = score;
      if (best_level != nullptr) *best_level = level;
    }
  }
  return best;
}

// The drain rewrites the next level, at most multiplier / kIdleDrainFullness times the
// bytes moved (4 with the default multiplier of 10): less than the ~multiplier times
// that moving them down by size would cost, and only for a level unusually full next
// to the one below it, as when a store stopped growing between two level targets.
// Levels 1.. only: level 0 has its own idle rule (CompactionScore). The level it
// drains into is the next one holding data: an empty level between them takes the
// tables (by trivial moves where little lies below them) and then drains on.
bool VersionSet::IdleDrainDue(int level) const {
  if (current_->NumFiles(level) == 0) return false;
  for (int below = level + 1; below < kNumLevels; below++) {
    if (current_->NumFiles(below) == 0) continue;
    return draining_[level] ||
           static_cast<double>(current_->LevelBytes(level)) *
                   options_.max_bytes_for_level_multiplier >=
               kIdleDrainFullness * static_cast<double>(current_->LevelBytes(below));
  }
  return false;  // the deepest data has nowhere to go
}

uint64_t VersionSet::PendingCompactionBytes() const {
  uint64_t pending = 0;
  if (current_->NumFiles(0) >= options_.level0_compaction_trigger) {
    pending += current_->LevelBytes(0) + current_->LevelBytes(1);
  }
  // Excess bytes of each level, counted once per level they must still pass through.
  for (int level = 1; level < kNumLevels - 1; level++) {
    uint64_t bytes = current_->LevelBytes(level);
    uint64_t target = MaxBytesForLevel(level);
    if (bytes > target) {
      pending += (bytes - target) * (1 + options_.max_bytes_for_level_multiplier);
    }
  }
  return pending;
}

std::unique_ptr<Compaction> VersionSet::PickCompaction(bool idle) {
  int level;
  if (CompactionScore(&level, idle) < 1) return nullptr;
  if (level > 0 && idle && IdleDrainDue(level)) draining_[level] = true;
  std::vector<std::shared_ptr<const FileMetaData>> inputs;
  if (level == 0) {
    inputs = current_->files[0];
  } else {
    const InternalKeyComparator* icmp = GetInternalKeyComparator();
    for (const auto& f : current_->files[level]) {
      if (compact_pointer_[level].empty() ||
          icmp->Compare(f->largest, compact_pointer_[level]) > 0) {
        inputs.push_back(f);
        break;
      }
    }
    if (inputs.empty()) inputs.push_back(current_->files[level].front());  // wrap around
  }
  return SetupCompaction(level, /*manual=*/false, /*in_place=*/false, std::move(inputs));
}

void VersionSet::AddBoundaryInputs(int level,
                                   std::vector<std::shared_ptr<const FileMetaData>>* inputs) const {
  // Compaction output may split one user key's versions across adjacent tables. If
  // the table holding the older versions stayed behind while the newer ones moved
  // down, reads would find the older versions first. So take along every following
  // table that starts with the user key the inputs end with.
  const InternalKeyComparator* icmp = GetInternalKeyComparator();
  while (true) {
    const std::string* largest = nullptr;
    for (const auto& f : *inputs) {
      if (largest == nullptr || icmp->Compare(f->largest, *largest) > 0) largest = &f->largest;
    }
    if (largest == nullptr) return;
    std::shared_ptr<const FileMetaData> boundary;
    for (const auto& f : current_->files[level]) {
      if (icmp->Compare(f->smallest, *largest) > 0 &&
          ExtractUserKey(f->smallest) == ExtractUserKey(*largest) &&
          (boundary == nullptr || icmp->Compare(f->smallest, boundary->smallest) < 0)) {
        boundary = f;
      }
    }
    if (boundary == nullptr) return;
    inputs->push_back(boundary);
  }
}

std::unique_ptr<Compaction> VersionSet::CompactRange(int level, const std::string_view* begin,
                                                     const std::string_view* end, bool in_place) {
  std::vector<std::shared_ptr<const FileMetaData>> inputs =
      current_->OverlappingFiles(level, begin, end);
  if (inputs.empty()) return nullptr;
  if (level == 0) inputs = current_->files[0];  // level 0 moves down as a whole
  return SetupCompaction(level, /*manual=*/true, in_place, std::move(inputs));
}

std::unique_ptr<Compaction> VersionSet::SetupCompaction(
    int level, bool manual, bool in_place,
    std::vector<std::shared_ptr<const FileMetaData>> inputs) {
  if (level > 0) AddBoundaryInputs(level, &inputs);
  auto user_range = [](const auto& files, std::string* smallest, std::string* largest) {
    for (size_t i = 0; i < files.size(); i++) {
      std::string_view s = ExtractUserKey(files[i]->smallest);
      std::string_view l = ExtractUserKey(files[i]->largest);
      if (i == 0 || s < *smallest) smallest->assign(s);
      if (i == 0 || l > *largest) largest->assign(l);
    }
  };
  std::string smallest, largest;
  user_range(inputs, &smallest, &largest);
  std::string_view begin(smallest), end(largest);
  int output_level = level + 1;
  if (in_place) {
    output_level = level;
  } else if (manual) {
    // Skip levels with nothing in range: the data goes straight to the next level
    // that holds some (or to level + 1 if none does).
    for (int l = level + 1; l < kNumLevels; l++) {
      if (!current_->OverlappingFiles(l, &begin, &end).empty()) {
        output_level = l;
        break;
      }
    }
  }
  auto c = std::make_unique<Compaction>(options_, current_, level, output_level, manual);
  if (!in_place) c->inputs[1] = current_->OverlappingFiles(output_level, &begin, &end);

  std::vector<std::shared_ptr<const FileMetaData>> all = inputs;
  all.insert(all.end(), c->inputs[1].begin(), c->inputs[1].end());
  std::string all_smallest, all_largest;
  user_range(all, &all_smallest, &all_largest);
  std::string_view all_begin(all_smallest), all_end(all_largest);
  if (output_level + 1 < kNumLevels) {
    c->grandparents = current_->OverlappingFiles(output_level + 1, &all_begin, &all_end);
  }
  // The next compaction of this level starts after this one's range.
  const InternalKeyComparator* icmp = GetInternalKeyComparator();
  std::string largest_internal;
  for (const auto& f : inputs) {
    if (largest_internal.empty() || icmp->Compare(f->largest, largest_internal) > 0) {
      largest_internal = f->largest;
    }
  }
  compact_pointer_[level] = largest_internal;
  c->inputs[0] = std::move(inputs);
  return c;
}

}  // namespace strata
