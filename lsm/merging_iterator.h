// MergingIterator: one sorted stream over several sorted children (memtables, level-0
// files, levels), without removing duplicates.
//
// Merged order is (key, child index, position within the child): for keys the
// comparator calls equal, the child with the lower index comes first, so callers pass
// children newest first. Prev yields exactly the reverse of Next, also across
// direction changes and duplicate keys.
//
// Errors: when a child stops with a non-OK status, the merged iterator stops too
// (Valid() false) rather than silently skipping that child's entries; status()
// returns the first non-OK child status in child order.
#pragma once

#include <memory>
#include <vector>

#include "strata/iterator.h"

namespace strata {

class Comparator;

// The comparator must outlive the result. With zero children this returns an empty
// iterator, with one child the child itself.
std::unique_ptr<Iterator> NewMergingIterator(const Comparator* comparator,
                                             std::vector<std::unique_ptr<Iterator>> children);

}  // namespace strata
