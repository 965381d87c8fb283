// EmptyIterator: an iterator with no entries. It stands in for a source that has
// nothing to offer (no children to merge) or that failed to open, in which case it
// carries the error: Valid() is always false and status() reports why.
#pragma once

#include <memory>

#include "strata/iterator.h"
#include "strata/status.h"

namespace strata {

std::unique_ptr<Iterator> NewEmptyIterator(Status status = Status::OK());

}  // namespace strata
