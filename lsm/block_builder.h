// BlockBuilder: lays out sorted key/value pairs as one block (docs/table_format.md).
// Keys are prefix-compressed against the previous key, except at a restart point every
// block_restart_interval keys, where the whole key is stored so a reader can binary
// search the restart points and decode forward from any of them.
//
//   entry   = varint32 shared | varint32 non_shared | varint32 value_len
//             | key[shared..] (non_shared bytes) | value
//   trailer = fixed32 restart offset * num_restarts | fixed32 num_restarts
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

class BlockBuilder {
 public:
  // An interval below 1 is treated as 1.
  explicit BlockBuilder(int block_restart_interval);
  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  // Forgets everything added, to build the next block in the same buffers.
  void Reset();

  // Requires: Finish() not called since the last Reset(); key greater than every key
  // added before (in the order the reader will use).
  void Add(std::string_view key, std::string_view value);

  // Appends the restart array; the result stays valid until Reset() or destruction.
  std::string_view Finish();

  // Size of the block if finished now.
  size_t CurrentSizeEstimate() const;

  bool empty() const { return buffer_.empty(); }

 private:
  const int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;  // entries since the last restart
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace strata
