// Table::ApproximateOffsetOf: where a key's entries start in a table file, from the
// in-memory index alone. Kept apart from table.cc (reading entries) because it reads
// no entry: DB::GetApproximateSize (db_approximate_size.cc) is its user.
#include "lsm/block.h"
#include "lsm/dbformat.h"
#include "lsm/table.h"
#include "lsm/table_format.h"

namespace strata {

uint64_t Table::ApproximateOffsetOf(std::string_view internal_key) const {
  std::unique_ptr<Iterator> index = index_block_->NewIterator(GetInternalKeyComparator());
  index->Seek(internal_key);
  if (index->Valid()) {
    std::string_view encoded = index->value();
    BlockHandle handle;
    // Open checked every handle of the index (CheckIndex): this decodes.
    if (handle.DecodeFrom(&encoded)) return handle.offset;
  }
  // After the last entry (or an index that cannot say): the end of the data blocks.
  return properties_.data_bytes;
}

}  // namespace strata
