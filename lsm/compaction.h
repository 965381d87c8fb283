// Compaction: one unit of leveled-compaction work, chosen by VersionSet. It merges
// `inputs[0]` (tables of `level`) with `inputs[1]` (the overlapping tables of the
// output level) into new tables of the output level. The output level is level + 1,
// except for manual compactions, which skip levels that hold nothing in the inputs'
// key range (so a full compaction rewrites each non-empty level once, not once per
// level).
//
// Invariants it relies on: level 0 is compacted as a whole (every level-0 table at
// pick time), so no older level-0 table can be left above newer data that moved down;
// levels >= 1 are non-overlapping, so each key of the output range lives in exactly
// the chosen tables of those two levels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strata/options.h"
#include "lsm/version_edit.h"
#include "lsm/version_set.h"

namespace strata {

// Whether flushes write their level-0 tables compressed (Options::compress_level0).
inline bool FlushesCompress(const Options& options) {
  return options.compression && options.compress_level0;
}

class Compaction {
 public:
  Compaction(const Options& options, std::shared_ptr<const Version> input_version, int level,
             int output_level, bool manual);

  int level() const { return level_; }
  int output_level() const { return output_level_; }
  bool manual() const { return manual_; }
  const Version& input_version() const { return *input_version_; }

  // inputs[0]: tables of level(); inputs[1]: tables of output_level().
  std::vector<std::shared_ptr<const FileMetaData>> inputs[2];
  // Tables of output_level() + 1 overlapping the output range: outputs are cut so that no
  // output overlaps too many of them (bounding the next compaction's size).
  std::vector<std::shared_ptr<const FileMetaData>> grandparents;

  // One input table, nothing to merge with and little grandparent overlap: the table
  // can move down by a MANIFEST edit alone. Never for manual compactions, whose point
  // is to rewrite tables without their garbage, nor for a level-0 table flushed
  // uncompressed (Options::compress_level0 off) into a store that compresses: moved,
  // it would stay uncompressed at every level it moved to, for good (a store that
  // fits in one memtable would never be compressed).
  bool IsTrivialMove() const;

  // True if no level deeper than the output level can hold user_key, so a deletion
  // of it needs not be kept. Keys must be asked in increasing order.
  bool IsBaseLevelForKey(std::string_view user_key);

  // True if the output table being built should end before internal_key, to bound
  // its overlap with grandparents. Keys must be asked in increasing order.
  bool ShouldStopBefore(std::string_view internal_key);

  // Adds the removal of every input table to edit.
  void AddInputDeletions(VersionEdit* edit) const;

  uint64_t InputBytes() const;
  size_t max_output_file_size() const { return max_output_file_size_; }
  // Whether outputs land on the deepest level holding data (stronger compression).
  bool OutputIsBottommost() const;

 private:
  const int level_;
  const int output_level_;
  const bool manual_;
  // Level-0 tables are written uncompressed but deeper ones compressed.
  const bool level0_uncompressed_;
  const size_t max_output_file_size_;
  const uint64_t max_grandparent_overlap_bytes_;
  std::shared_ptr<const Version> input_version_;

  // State of ShouldStopBefore.
  size_t grandparent_index_ = 0;
  bool seen_key_ = false;
  uint64_t overlapped_bytes_ = 0;
  // State of IsBaseLevelForKey: per level, the first table that may still matter.
  size_t level_pointers_[kNumLevels] = {};
};

}  // namespace strata
