// Options for opening a store, reading and writing. Every field is documented with
// its default next to it.
#pragma once

#include <cstddef>

namespace strata {

class Env;
class Snapshot;

struct Options {
  // Where files live. nullptr = Env::Default() (POSIX).
  Env* env = nullptr;

  // Create the store if the directory holds none.
  bool create_if_missing = false;
  // Fail if a store already exists there.
  bool error_if_exists = false;

  // Bytes of updates gathered in the memtable before it is flushed to a level-0 table.
  size_t write_buffer_size = 64u << 20;

  // Uncompressed size of a table's data blocks.
  size_t block_size = 4096;
  // Keys between restart points inside a block (binary search granularity).
  int block_restart_interval = 16;

  // Bloom filter bits per key in each table; 0 = no filter.
  int bloom_bits_per_key = 10;

  // Compress data blocks with zstd when that saves at least 1/8 of the block.
  bool compression = true;
  // zstd level for data blocks (1 = fast; up to 19 = small).
  int compression_level = 1;
};

struct ReadOptions {
  // Read as of this snapshot; nullptr = the latest committed state.
  const Snapshot* snapshot = nullptr;
};

struct WriteOptions {
  // Fsync the log before the write returns: the write survives power loss.
  // Without it a write survives a process crash but not an OS crash.
  bool sync = false;
};

}  // namespace strata
