#include "lsm/merging_iterator.h"

#include <cassert>
#include <string_view>
#include <utility>

#include "lsm/dbformat.h"
#include "lsm/empty_iterator.h"

namespace strata {
namespace {

// Invariant, with C the current child (the top of the heap) at the current entry E:
// - forward: every other child is at its first entry after E in merged order;
// - reverse: every other child is at its last entry before E in merged order.
// So the next (previous) merged entry is the smallest (largest) child position, and
// only a direction change has to reposition the children other than C.
//
// Why a binary heap rather than a linear scan: the number of children is memtables +
// level-0 files + levels, which reaches 20-30 when level 0 backs up. A scan costs n
// comparisons per step; the heap costs about 2*log2(n), and the same for n <= 4 where a
// scan would not be slower either. The heap is a vector sized once: a step allocates
// nothing. Forward it is a min-heap, reverse a max-heap; a direction change rebuilds it
// in O(n), which is dwarfed by the n child seeks a direction change needs anyway.
class MergingIterator final : public Iterator {
 public:
  MergingIterator(const Comparator* comparator, std::vector<std::unique_ptr<Iterator>> children)
      : comparator_(comparator),
        internal_keys_(comparator == GetInternalKeyComparator()),
        children_(children.size()) {
    for (size_t i = 0; i < children.size(); i++) {
      children_[i].iter = std::move(children[i]);
      children_[i].index = i;
    }
    heap_.reserve(children_.size());
  }

  bool Valid() const override { return !child_error_ && !heap_.empty(); }

  void SeekToFirst() override {
    for (Child& child : children_) {
      child.iter->SeekToFirst();
      child.Update();
    }
    direction_ = Direction::kForward;
    RebuildHeap();
  }

  void SeekToLast() override {
    for (Child& child : children_) {
      child.iter->SeekToLast();
      child.Update();
    }
    direction_ = Direction::kReverse;
    RebuildHeap();
  }

  void Seek(std::string_view target) override {
    for (Child& child : children_) {
      child.iter->Seek(target);
      child.Update();
    }
    direction_ = Direction::kForward;
    RebuildHeap();
  }

  void Next() override {
    assert(Valid());
    if (direction_ != Direction::kForward) {
      SwitchToForward();
      if (!Valid()) return;
    }
    Child* current = heap_.front();
    current->iter->Next();
    current->Update();
    FixTopAfterMove();
  }

  void Prev() override {
    assert(Valid());
    if (direction_ != Direction::kReverse) {
      SwitchToReverse();
      if (!Valid()) return;
    }
    Child* current = heap_.front();
    current->iter->Prev();
    current->Update();
    FixTopAfterMove();
  }

  std::string_view key() const override {
    assert(Valid());
    return heap_.front()->key;
  }

  std::string_view value() const override {
    assert(Valid());
    return heap_.front()->iter->value();
  }

  Status status() const override {
    for (const Child& child : children_) {
      Status s = child.iter->status();
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

 private:
  enum class Direction { kForward, kReverse };

  struct Child {
    std::unique_ptr<Iterator> iter;
    size_t index = 0;
    // Cached copies of iter->Valid() and iter->key(): the heap compares keys often and
    // this saves two virtual calls per comparison.
    bool valid = false;
    std::string_view key;

    void Update() {
      valid = iter->Valid();
      if (valid) key = iter->key();
    }
    // An invalid child is either exhausted or stopped by an error.
    bool Failed() const { return !valid && !iter->status().ok(); }
  };

  // The engine's merges compare internal keys: inline, not a virtual call per step.
  int Compare(std::string_view a, std::string_view b) const {
    return internal_keys_ ? CompareInternalKeys(a, b) : comparator_->Compare(a, b);
  }

  // True if a is the one to yield first in the current direction.
  bool ComesFirst(const Child* a, const Child* b) const {
    int r = Compare(a->key, b->key);
    if (direction_ == Direction::kForward) return r < 0 || (r == 0 && a->index < b->index);
    return r > 0 || (r == 0 && a->index > b->index);
  }

  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    Child* item = heap_[i];
    while (true) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && ComesFirst(heap_[child + 1], heap_[child])) child++;
      if (!ComesFirst(heap_[child], item)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = item;
  }

  // After every child was repositioned.
  void RebuildHeap() {
    heap_.clear();
    child_error_ = false;
    for (Child& child : children_) {
      if (child.valid) {
        heap_.push_back(&child);
      } else if (child.Failed()) {
        child_error_ = true;
      }
    }
    for (size_t i = heap_.size() / 2; i-- > 0;) SiftDown(i);
  }

  // After the top child moved one step.
  void FixTopAfterMove() {
    Child* top = heap_.front();
    if (top->valid) {
      SiftDown(0);
      return;
    }
    if (top->Failed()) child_error_ = true;
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0);
  }

  // Positions every child but the current one at its first entry after the current
  // entry (k, c) in merged order: first key > k for children before c, first key >= k
  // for children after c. The loop over equal keys only runs for children that hold
  // duplicates themselves; with unique keys it costs one comparison.
  void SwitchToForward() {
    Child* current = heap_.front();
    const std::string_view k = current->key;  // stays valid: the current child does not move
    bool failed = false;
    for (Child& child : children_) {
      if (&child == current) continue;
      child.iter->Seek(k);
      child.Update();
      if (child.index < current->index) {
        while (child.valid && Compare(child.key, k) == 0) {
          child.iter->Next();
          child.Update();
        }
      }
      failed = failed || child.Failed();
    }
    direction_ = Direction::kForward;
    RebuildHeap();  // the current child is the unique minimum, so it is on top again
    child_error_ = child_error_ || failed;
  }

  // Positions every child but the current one at its last entry before the current
  // entry (k, c) in merged order: last key <= k for children before c, last key < k
  // for children after c.
  void SwitchToReverse() {
    Child* current = heap_.front();
    const std::string_view k = current->key;
    bool failed = false;
    for (Child& child : children_) {
      if (&child == current) continue;
      child.iter->Seek(k);
      child.Update();
      if (child.index < current->index) {
        while (child.valid && Compare(child.key, k) == 0) {
          child.iter->Next();
          child.Update();
        }
      }
      // An error must not be hidden by the SeekToLast below succeeding.
      if (child.Failed()) {
        failed = true;
        continue;
      }
      if (child.valid) {
        child.iter->Prev();
      } else {
        child.iter->SeekToLast();
      }
      child.Update();
      failed = failed || child.Failed();
    }
    direction_ = Direction::kReverse;
    RebuildHeap();
    child_error_ = child_error_ || failed;
  }

  const Comparator* const comparator_;
  const bool internal_keys_;  // comparator_ is the internal key comparator
  std::vector<Child> children_;
  std::vector<Child*> heap_;  // valid children; heap_.front() is the current entry
  Direction direction_ = Direction::kForward;
  bool child_error_ = false;  // a child stopped with an error: the merge stops too
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(const Comparator* comparator,
                                             std::vector<std::unique_ptr<Iterator>> children) {
  if (children.empty()) return NewEmptyIterator();
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<MergingIterator>(comparator, std::move(children));
}

}  // namespace strata
