// DBIterator: the user-facing iterator. It reads an iterator over internal keys
// (lsm/dbformat.h), typically a merge of memtables and tables, and presents the store
// as of one sequence number: user keys in bytewise order, each with the value of its
// newest entry at or below that sequence; keys whose newest such entry is a deletion,
// and entries above the sequence, are invisible.
//
// A malformed internal key stops the iterator for good: Valid() false and status()
// Corruption, also after later seeks, because skipping it could resurrect an entry
// it was meant to delete. An error of the internal iterator stops it the same way
// and is returned by status().
#pragma once

#include <memory>

#include "lsm/dbformat.h"
#include "strata/iterator.h"

namespace strata {

// unique_internal_keys: the internal iterator never yields one internal key twice (a
// single sorted run, table or memtable; a merge of several may, where two runs hold
// the same entry). Then an entry with sequence 0, the oldest a user key can have, is
// the last of its user key, and the step after it skips nothing: no copy and no
// comparison of the key (a store compacted into one run has sequence 0 throughout).
std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal_iterator,
                                        SequenceNumber sequence,
                                        bool unique_internal_keys = false);

}  // namespace strata
