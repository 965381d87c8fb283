// Options for opening a store, reading and writing. Every field is documented with
// its default next to it.
#pragma once

#include <cstddef>

namespace strata {

class Env;
class Snapshot;

// How compressed blocks are compressed (Options::compression_algorithm). Each block
// records its own algorithm on disk, so a store may hold tables of both and a reader
// never needs this option.
enum class CompressionAlgorithm {
  kZstd,  // smaller; on the benchmark's 4 KiB blocks ~2 us to decompress one
  kLz4,   // ~7% larger than zstd there (fully compacted), ~2.5x faster to decompress
};

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

  // Bytes of uncompressed data blocks kept in memory (a sharded LRU cache shared by
  // the store's tables); 0 = no block cache, every block read comes from the file.
  // Memory of a store is about write_buffer_size * 2 (memtables) + block_cache_size +
  // the index and bloom filter of each open table, which stay in memory while it is open.
  size_t block_cache_size = 64u << 20;
  // Tables kept open at once (file handle, index and bloom filter each); the least
  // recently used one is closed beyond this, and reopened when next needed. At least 1.
  int max_open_tables = 1000;

  // Read tables through memory mappings (Env::NewMappedFile) rather than pread: a block
  // read from the OS page cache then costs no system call and no copy (about 15% of a
  // point read that misses the block cache). The mapped pages a process touches count
  // in its resident set size although they are the kernel's page cache, shared and
  // reclaimable. Beyond a process-wide limit on mappings, tables are read with pread.
  bool mmap_reads = true;

  // Compress data blocks (and the index block) when that saves at least 1/8 of the
  // block; those that do not stay raw.
  bool compression = true;
  // The algorithm of every table written with compression: all levels alike (level 0
  // only with compress_level0). lz4 has no levels: it ignores compression_level and
  // bottommost_compression_level, which apply to zstd only. Changing it affects only
  // tables written from then on; older tables keep theirs until compaction rewrites them.
  CompressionAlgorithm compression_algorithm = CompressionAlgorithm::kZstd;
  // Also compress the level-0 tables that flushes write. Off by default: a level-0 table
  // lives only until the next level-0 compaction, which reads it once and rewrites it
  // compressed, so compressing it costs CPU on the write path (and decompressing it, in
  // that compaction) to save disk space for a few seconds (RocksDB is commonly set up
  // the same way). Level-0 tables are then about twice as large on disk.
  bool compress_level0 = false;
  // zstd level for the tables compactions write to levels 1 and deeper, except the
  // deepest (1 = fast; up to 19 = small; negative levels are faster still and compress
  // less).
  int compression_level = 1;
  // zstd level for tables written to the deepest non-empty level, which holds most of
  // the data and is rewritten least often. Compactions into it also set the sequence
  // number of each value every reader sees to 0, which makes the 8-byte key trailers
  // compress to almost nothing. Measured on the benchmark's data (4 KiB blocks, values
  // that compress 2x): level 3 stores 1.7% fewer bytes than level 1 but decompresses
  // 1.37x slower (more, shorter matches), which made point reads ~10% and scans ~9%
  // slower, since most reads decompress this level's blocks; it also costs about 1.25x
  // level 1's compression CPU, level 9 over 4x. So the default is level 1 here too;
  // raise it for data that is written once and rarely read.
  int bottommost_compression_level = 1;

  // Leveled compaction. Level 0 holds flushed memtables (tables may overlap); each
  // deeper level is one sorted run whose target size is max_bytes_for_level_base for
  // level 1 and grows by max_bytes_for_level_multiplier per level.
  int level0_compaction_trigger = 4;        // level-0 tables that start a compaction
  // RocksDB's defaults: a level-0 compaction merges all of level 1 (up to its 256 MiB
  // target), which takes seconds; room for 20-36 tables keeps writers moving meanwhile.
  int level0_slowdown_writes_trigger = 20;  // ... that delay each write by 1 ms
  int level0_stop_writes_trigger = 36;      // ... that stop writes until compaction
  // After this long without a write the store settles (0: never): the memtable is
  // written to a table and level 0 is compacted into level 1 whatever its table count,
  // if they are big enough to be worth it (a memtable of 1/8 of write_buffer_size, a
  // level 0 of 1/16 of level 1's bytes: a trickle of writes rewrites nothing).
  // Level-0 tables are written uncompressed and each one, like the memtable, is a
  // sorted run every read must also search; below the trigger they would otherwise
  // stay until the next write burst. A caller waiting in WaitForBackgroundWork makes
  // the store idle at once (unless this is 0).
  uint32_t settle_after_idle_millis = 1000;
  size_t max_bytes_for_level_base = 256u << 20;
  int max_bytes_for_level_multiplier = 10;
  // Compaction output is cut into tables of about this size.
  size_t target_file_size = 32u << 20;

  // Background threads for flushes and compactions (flushes have priority; at most one
  // compaction runs at a time).
  int background_threads = 2;
};

struct ReadOptions {
  // Read as of this snapshot; nullptr = the latest committed state.
  const Snapshot* snapshot = nullptr;
  // Whether data blocks an iterator reads from table files may join the block cache: a
  // block joins on its second read within the cache's admission window, as for gets
  // (Cache::InsertOnSecondOffer). A scan of more data than the cache holds would only
  // evict the blocks gets reuse: set false for such scans. Blocks already cached are
  // used either way.
  bool fill_cache = true;
};

struct WriteOptions {
  // Fsync the log before the write returns: the write survives power loss.
  // Without it a write survives a process crash but not an OS crash.
  bool sync = false;
};

}  // namespace strata
