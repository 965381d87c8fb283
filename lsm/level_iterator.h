// An iterator over one sorted level (>= 1): its tables do not overlap and are sorted,
// so the level reads as one run, opening one table at a time. Keeps the table it is
// reading alive; the Version holding `files` must outlive the iterator.
#pragma once

#include <memory>
#include <vector>

#include "strata/iterator.h"
#include "lsm/table.h"
#include "lsm/table_cache.h"
#include "lsm/version_edit.h"

namespace strata {

// fill: whether blocks read from the files join the block cache (see BlockCacheFill).
std::unique_ptr<Iterator> NewLevelIterator(
    TableCache* table_cache, const std::vector<std::shared_ptr<const FileMetaData>>* files,
    BlockCacheFill fill = BlockCacheFill::kFill);

}  // namespace strata
