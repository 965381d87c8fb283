#include "lsm/index_summary.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace strata {

IndexSummary::IndexSummary(std::string_view smallest_user_key, std::string_view largest_user_key) {
  size_t common = 0;
  while (common < smallest_user_key.size() && common < largest_user_key.size() &&
         smallest_user_key[common] == largest_user_key[common]) {
    common++;
  }
  common_.assign(smallest_user_key.substr(0, common));
  block_offsets_.push_back(0);
}

void IndexSummary::Add(std::string_view user_key, const BlockHandle& handle) {
  summaries_.push_back(Summary(user_key));
  block_offsets_.push_back(handle.EndWithTrailer());
}

void IndexSummary::Finish() {
  summaries_.shrink_to_fit();
  block_offsets_.shrink_to_fit();
  top_.clear();
  for (size_t i = 0; i < summaries_.size(); i += kStride) top_.push_back(summaries_[i]);
  top_.shrink_to_fit();
}

size_t IndexSummary::bytes() const {
  return (summaries_.capacity() + top_.capacity() + block_offsets_.capacity()) * sizeof(uint64_t) +
         common_.size();
}

uint64_t IndexSummary::Summary(std::string_view user_key) const {
  const size_t shared = std::min(user_key.size(), common_.size());
  int r = shared == 0 ? 0 : std::memcmp(user_key.data(), common_.data(), shared);
  if (r == 0 && user_key.size() < common_.size()) r = -1;  // a proper prefix of C
  if (r < 0) return 0;
  if (r > 0) return std::numeric_limits<uint64_t>::max();
  unsigned char bytes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const size_t n = std::min<size_t>(user_key.size() - common_.size(), sizeof(bytes));
  if (n > 0) std::memcpy(bytes, user_key.data() + common_.size(), n);
  uint64_t summary = 0;
  for (unsigned char b : bytes) summary = (summary << 8) | b;
  return summary;
}

void IndexSummary::Narrow(std::string_view user_key, uint32_t* first, uint32_t* limit) const {
  const uint64_t summary = Summary(user_key);
  const auto n = static_cast<uint32_t>(summaries_.size());
  // top_[j] = summaries_[j * kStride]. With t the first top_ entry >= summary, the first
  // summary >= summary lies in (t - 1) * kStride + 1 .. min(t * kStride, n).
  const auto t =
      static_cast<uint32_t>(std::lower_bound(top_.begin(), top_.end(), summary) - top_.begin());
  const uint32_t begin = t == 0 ? 0 : (t - 1) * kStride + 1;
  const uint32_t end = std::min(t * kStride, n);
  uint32_t lo = static_cast<uint32_t>(
      std::lower_bound(summaries_.begin() + begin, summaries_.begin() + end, summary) -
      summaries_.begin());
  // Equal summaries are rare and few: step over them, and search only a long run.
  uint32_t hi = lo;
  while (hi < n && summaries_[hi] == summary && hi - lo < kStride) hi++;
  if (hi - lo == kStride) {
    hi = static_cast<uint32_t>(
        std::upper_bound(summaries_.begin() + hi, summaries_.end(), summary) - summaries_.begin());
  }
  *first = lo;
  *limit = hi;
}

}  // namespace strata
