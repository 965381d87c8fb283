#include "lsm/compaction.h"

namespace strata {

Compaction::Compaction(const Options& options, std::shared_ptr<const Version> input_version,
                       int level, int output_level, bool manual)
    : level_(level),
      output_level_(output_level),
      manual_(manual),
      level0_uncompressed_(options.compression && !FlushesCompress(options)),
      max_output_file_size_(options.target_file_size),
      max_grandparent_overlap_bytes_(10 * static_cast<uint64_t>(options.target_file_size)),
      input_version_(std::move(input_version)) {}

bool Compaction::IsTrivialMove() const {
  uint64_t grandparent_bytes = 0;
  for (const auto& f : grandparents) grandparent_bytes += f->file_size;
  return !manual_ && !(level_ == 0 && level0_uncompressed_) && inputs[0].size() == 1 &&
         inputs[1].empty() &&
         grandparent_bytes <= max_grandparent_overlap_bytes_;
}

bool Compaction::IsBaseLevelForKey(std::string_view user_key) {
  for (int level = output_level_ + 1; level < kNumLevels; level++) {
    const auto& files = input_version_->files[level];
    size_t& i = level_pointers_[level];
    while (i < files.size()) {
      const FileMetaData& f = *files[i];
      if (user_key <= ExtractUserKey(f.largest)) {
        if (user_key >= ExtractUserKey(f.smallest)) return false;  // inside f's range
        break;
      }
      i++;  // user_key is past f; later keys are too
    }
  }
  return true;
}

bool Compaction::ShouldStopBefore(std::string_view internal_key) {
  const InternalKeyComparator* icmp = GetInternalKeyComparator();
  while (grandparent_index_ < grandparents.size() &&
         icmp->Compare(internal_key, grandparents[grandparent_index_]->largest) > 0) {
    if (seen_key_) overlapped_bytes_ += grandparents[grandparent_index_]->file_size;
    grandparent_index_++;
  }
  seen_key_ = true;
  if (overlapped_bytes_ > max_grandparent_overlap_bytes_) {
    overlapped_bytes_ = 0;
    return true;
  }
  return false;
}

void Compaction::AddInputDeletions(VersionEdit* edit) const {
  for (int which = 0; which < 2; which++) {
    for (const auto& f : inputs[which]) {
      edit->RemoveFile(which == 0 ? level_ : output_level_, f->number);
    }
  }
}

uint64_t Compaction::InputBytes() const {
  uint64_t total = 0;
  for (const auto& side : inputs) {
    for (const auto& f : side) total += f->file_size;
  }
  return total;
}

bool Compaction::OutputIsBottommost() const {
  for (int level = output_level() + 1; level < kNumLevels; level++) {
    if (!input_version_->files[level].empty()) return false;
  }
  return true;
}

}  // namespace strata
