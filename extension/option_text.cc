#include "extension/option_text.h"

namespace strata::sql {

std::string SizeOptionText(size_t bytes) {
  if (bytes != 0 && bytes % (size_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (size_t{1} << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

std::string CompressionOptionText(int level, CompressionAlgorithm algorithm) {
  if (level == 0) return "none";
  if (algorithm == CompressionAlgorithm::kLz4) return "lz4";
  return "zstd:" + std::to_string(level);
}

}  // namespace strata::sql
