// SkipList: a sorted set of keys in an Arena, the memtable's index (after LevelDB's).
//
// Concurrency contract:
// - Writes (Insert) require external synchronization: one writer at a time.
// - Reads (Contains, Iterator) need no lock and may run concurrently with the writer.
//   A reader sees every key whose Insert returned before the read began, possibly some
//   inserted since, and always a sorted sequence.
// - Nodes are never removed and live until the Arena is destroyed, so a reader's
//   pointers stay valid for the list's whole life.
//
// Why that is safe: a node is fully built (key and all its next pointers) before it is
// linked, and it is linked bottom-up with release stores on the predecessors' next
// pointers; readers load next pointers with acquire. A reader therefore either does not
// see a new node at some level or sees it completely built. Level 0 is the list; higher
// levels are shortcuts whose lagging publication can only make a search slower.
//
// Key must be cheap to copy (an integer or a pointer); Comparator is a copyable
// functor with int operator()(const Key&, const Key&) returning <0, 0 or >0.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>

#include "lsm/arena.h"

namespace strata {

template <typename Key, class Comparator>
class SkipList {
 private:
  struct Node;

 public:
  static constexpr int kMaxHeight = 12;
  // Each level holds about 1/kBranching of the keys of the level below.
  static constexpr unsigned kBranching = 4;

  // Nodes are allocated in *arena, which must outlive the list.
  SkipList(Comparator cmp, Arena* arena);
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // Inserts key and returns true, or returns false and changes nothing if a key
  // comparing equal is already present. Requires external synchronization.
  bool Insert(const Key& key);

  bool Contains(const Key& key) const;

  // Insert in two steps, so that what a key points to can live right after its node's
  // links (a search step then reads both from one cache line, usually): AllocateEntry
  // reserves a new node followed by `bytes` bytes and returns those bytes; the caller
  // fills them and then calls InsertAllocated with a key pointing into them. Same
  // contract as Insert; on false the reserved memory just stays unused. Requires
  // external synchronization, and no other insert in between the two calls.
  char* AllocateEntry(size_t bytes);
  bool InsertAllocated(const Key& key);

  // About how many keys are < key (or in the list, for EstimateCount()), in O(log n)
  // with no lock: walks down from the top level, counting each node passed on level h as
  // kBranching^h keys, as RocksDB's InlineSkipList::EstimateCount does. Off by a small
  // factor either way; for size estimates, not for counting.
  uint64_t EstimateCountLessThan(const Key& key) const;
  uint64_t EstimateCount() const;

  // A cursor over the list. Construction and use need no lock; the list must outlive it.
  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list), node_(nullptr) {}

    bool Valid() const { return node_ != nullptr; }
    const Key& key() const {  // requires Valid()
      assert(Valid());
      return node_->key;
    }
    void Next() {  // requires Valid()
      assert(Valid());
      node_ = node_->Next(0);
    }
    // O(log n): nodes have no back links, so this searches from the head.
    void Prev() {  // requires Valid()
      assert(Valid());
      node_ = list_->FindLessThan(node_->key);
      if (node_ == list_->head_) node_ = nullptr;
    }
    // First key >= target.
    void Seek(const Key& target) { node_ = list_->FindGreaterOrEqual(target, nullptr); }
    // Last key <= target. One search: composing Seek and SeekToLast would race with
    // the writer (a key > target inserted in between could be returned).
    void SeekForPrev(const Key& target) {
      const Node* before = list_->FindLessThan(target);
      const Node* next = before->Next(0);
      if (next != nullptr && list_->Equal(next->key, target)) {
        node_ = next;
      } else {
        node_ = before == list_->head_ ? nullptr : before;
      }
    }
    void SeekToFirst() { node_ = list_->head_->Next(0); }
    void SeekToLast() {
      node_ = list_->FindLast();
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    const SkipList* list_;
    const Node* node_;
  };

 private:
  // A node is followed in memory by its `height` next pointers (level 0 first), so it
  // costs only the levels it uses.
  struct alignas(std::atomic<Node*>) Node {
    explicit Node(const Key& k) : key(k) {}

    const Key key;

    Node* Next(int level) const { return link(level)->load(std::memory_order_acquire); }
    // Publishes n at this level: everything written to n before is visible to a reader
    // that finds n through this pointer.
    void SetNext(int level, Node* n) { link(level)->store(n, std::memory_order_release); }
    // Writer only: to read links it wrote itself, and to set the links of a node that
    // no reader can reach yet.
    Node* NextRelaxed(int level) const { return link(level)->load(std::memory_order_relaxed); }
    void SetNextRelaxed(int level, Node* n) { link(level)->store(n, std::memory_order_relaxed); }

   private:
    std::atomic<Node*>* link(int level) const {
      assert(level >= 0 && level < kMaxHeight);
      auto* first = reinterpret_cast<std::atomic<Node*>*>(
          reinterpret_cast<char*>(const_cast<Node*>(this)) + sizeof(Node));
      return std::launder(first + level);
    }
  };

  static size_t NodeBytes(int height) {
    return sizeof(Node) + sizeof(std::atomic<Node*>) * height;
  }
  // Builds a node of `height` unlinked levels in memory (NodeBytes(height) bytes).
  Node* NewNode(char* memory, const Key& key, int height);
  int RandomHeight();
  int GetMaxHeight() const { return max_height_.load(std::memory_order_relaxed); }
  bool Equal(const Key& a, const Key& b) const { return compare_(a, b) == 0; }
  bool KeyIsAfterNode(const Key& key, const Node* n) const {
    return n != nullptr && compare_(n->key, key) < 0;
  }
  // The first node with key >= key, or nullptr. If prev is not null, fills prev[level]
  // with the last node before it at every level below GetMaxHeight().
  Node* FindGreaterOrEqual(const Key& key, Node** prev) const;
  // The last node with key < key, or head_.
  Node* FindLessThan(const Key& key) const;
  // The last node, or head_ if the list is empty.
  Node* FindLast() const;
  // Walks down from the top level past every node for which before(node) holds,
  // counting each node passed on level h as kBranching^h.
  template <typename Before>
  uint64_t EstimateCountWhile(Before before) const;

  Comparator const compare_;
  Arena* const arena_;
  Node* const head_;
  // Height of the tallest node. Relaxed: a reader that sees a new height before the
  // head's links at that level finds nullptr there and just descends.
  std::atomic<int> max_height_;
  // xorshift64 state; only the writer touches it.
  uint64_t rng_state_;
  // The node AllocateEntry reserved for InsertAllocated; only the writer touches them.
  char* reserved_node_ = nullptr;
  int reserved_height_ = 0;
};

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::NewNode(char* memory,
                                                                             const Key& key,
                                                                             int height) {
  Node* node = new (memory) Node(key);
  for (int i = 0; i < height; i++) {
    new (memory + sizeof(Node) + sizeof(std::atomic<Node*>) * i) std::atomic<Node*>(nullptr);
  }
  return node;
}

template <typename Key, class Comparator>
char* SkipList<Key, Comparator>::AllocateEntry(size_t bytes) {
  static_assert(alignof(Node) <= Arena::kAlignment);
  reserved_height_ = RandomHeight();
  const size_t links = NodeBytes(reserved_height_);
  reserved_node_ = arena_->AllocateAligned(links + bytes);
  return reserved_node_ + links;
}

template <typename Key, class Comparator>
int SkipList<Key, Comparator>::RandomHeight() {
  int height = 1;
  while (height < kMaxHeight) {
    rng_state_ ^= rng_state_ << 13;
    rng_state_ ^= rng_state_ >> 7;
    rng_state_ ^= rng_state_ << 17;
    // The high bits of xorshift64 are the better mixed ones.
    if ((rng_state_ >> 32) % kBranching != 0) break;
    height++;
  }
  return height;
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindGreaterOrEqual(
    const Key& key, Node** prev) const {
  Node* x = head_;
  int level = GetMaxHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (KeyIsAfterNode(key, next)) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindLessThan(
    const Key& key) const {
  Node* x = head_;
  int level = GetMaxHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr && compare_(next->key, key) < 0) {
      x = next;
    } else {
      if (level == 0) return x;
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindLast() const {
  Node* x = head_;
  int level = GetMaxHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr) {
      x = next;
    } else {
      if (level == 0) return x;
      level--;
    }
  }
}

template <typename Key, class Comparator>
SkipList<Key, Comparator>::SkipList(Comparator cmp, Arena* arena)
    : compare_(cmp),
      arena_(arena),
      head_(NewNode(arena->AllocateAligned(NodeBytes(kMaxHeight)), Key(), kMaxHeight)),
      max_height_(1),
      rng_state_(0x9e3779b97f4a7c15ull) {}

template <typename Key, class Comparator>
bool SkipList<Key, Comparator>::Insert(const Key& key) {
  AllocateEntry(0);
  return InsertAllocated(key);
}

template <typename Key, class Comparator>
bool SkipList<Key, Comparator>::InsertAllocated(const Key& key) {
  assert(reserved_node_ != nullptr);
  char* const memory = reserved_node_;
  const int height = reserved_height_;
  reserved_node_ = nullptr;

  Node* prev[kMaxHeight];
  Node* x = FindGreaterOrEqual(key, prev);
  if (x != nullptr && Equal(key, x->key)) return false;

  if (height > GetMaxHeight()) {
    for (int level = GetMaxHeight(); level < height; level++) prev[level] = head_;
    max_height_.store(height, std::memory_order_relaxed);
  }

  x = NewNode(memory, key, height);
  for (int level = 0; level < height; level++) {
    // x is unreachable until the release store below links it at this level.
    x->SetNextRelaxed(level, prev[level]->NextRelaxed(level));
    prev[level]->SetNext(level, x);
  }
  return true;
}

template <typename Key, class Comparator>
bool SkipList<Key, Comparator>::Contains(const Key& key) const {
  Node* x = FindGreaterOrEqual(key, nullptr);
  return x != nullptr && Equal(key, x->key);
}

template <typename Key, class Comparator>
template <typename Before>
uint64_t SkipList<Key, Comparator>::EstimateCountWhile(Before before) const {
  uint64_t count = 0;
  Node* x = head_;
  for (int level = GetMaxHeight() - 1;;) {
    Node* next = x->Next(level);
    if (next != nullptr && before(next)) {
      x = next;
      count++;
      continue;
    }
    if (level == 0) return count;
    count *= kBranching;
    level--;
  }
}

template <typename Key, class Comparator>
uint64_t SkipList<Key, Comparator>::EstimateCountLessThan(const Key& key) const {
  return EstimateCountWhile([&](const Node* n) { return compare_(n->key, key) < 0; });
}

template <typename Key, class Comparator>
uint64_t SkipList<Key, Comparator>::EstimateCount() const {
  return EstimateCountWhile([](const Node*) { return true; });
}

}  // namespace strata
