// How option values are written back to users: in the units and words they use in
// CREATE VIRTUAL TABLE ... USING strata(..., write_buffer_size='64MiB', compression=zstd:3),
// so that messages about options (a malformed value, a table disagreeing with its store,
// a store open with other options) read like the user's own SQL.
//
// May include: the C++ standard library and strata/options.h.
#pragma once

#include <cstddef>
#include <string>

#include "strata/options.h"

namespace strata::sql {

// "64MiB" for whole MiB (and "1GiB", "64KiB" likewise), else the byte count: "1500000".
std::string SizeOptionText(size_t bytes);

// The `compression` option: "none" for level 0, else "lz4" for lz4, else "zstd:<level>".
std::string CompressionOptionText(int level,
                                  CompressionAlgorithm algorithm = CompressionAlgorithm::kZstd);

}  // namespace strata::sql
