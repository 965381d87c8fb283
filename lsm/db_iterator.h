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

std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal_iterator,
                                        SequenceNumber sequence);

}  // namespace strata
