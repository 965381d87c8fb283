#include "lsm/memtable_filter.h"

namespace strata {

// new Line[n]() zero-initializes every word (value-initialized atomics, C++20).
MemTableFilter::MemTableFilter(size_t bytes)
    : num_lines_((bytes + sizeof(Line) - 1) / sizeof(Line)),
      lines_(num_lines_ == 0 ? nullptr : new Line[num_lines_]()) {}

}  // namespace strata
