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

  // Many inserts at once, with room for what each key points to right after its node's
  // links (a search step then reads both from one cache line, usually). ReserveEntry
  // reserves a new node followed by `bytes` bytes and returns those bytes, which the
  // caller fills; InsertGroup then links keys[i] (pointing into reserved[i]'s bytes)
  // with reserved[i]'s node for each i < n <= kMaxGroup and sets inserted[i] as
  // Insert's result (keys need not be sorted nor distinct; a rejected key's reserved
  // memory just stays unused). Its searches run interleaved, each prefetching the node
  // it will compare next before the others take their step, so the cache misses of up
  // to kMaxGroup searches overlap instead of queueing: in a list far bigger than the
  // cache, the misses are most of an insert's time. Requires external synchronization,
  // as Insert; readers see each key from its link onwards.
  struct Reservation {
    char* memory = nullptr;
    int height = 0;
  };
  static constexpr int kMaxGroup = 16;
  char* ReserveEntry(size_t bytes, Reservation* reservation);
  void InsertGroup(const Key* keys, const Reservation* reserved, int n, bool* inserted);

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
char* SkipList<Key, Comparator>::ReserveEntry(size_t bytes, Reservation* reservation) {
  static_assert(alignof(Node) <= Arena::kAlignment);
  reservation->height = RandomHeight();
  const size_t links = NodeBytes(reservation->height);
  reservation->memory = arena_->AllocateAligned(links + bytes);
  return reservation->memory + links;
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
  Reservation reserved;
  ReserveEntry(0, &reserved);
  bool inserted;
  InsertGroup(&key, &reserved, 1, &inserted);
  return inserted;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::InsertGroup(const Key* keys, const Reservation* reserved, int n,
                                            bool* inserted) {
  assert(n >= 0 && n <= kMaxGroup);
  // Search: the usual descent for every key, one step of each in turn. A step compares
  // the key with the node loaded (and prefetched) at its previous step, then loads and
  // prefetches the next candidate; by the time a search steps again, its candidate has
  // had the other searches' steps to arrive.
  struct Search {
    Node* x;     // last node known to be before the key on this level
    Node* next;  // candidate: x's successor on this level, prefetched
    int level;   // < 0 once the search is done
  };
  Search searches[kMaxGroup];
  Node* prev[kMaxGroup][kMaxHeight];
  const int searched_height = GetMaxHeight();
  for (int i = 0; i < n; i++) {
    searches[i] = {head_, head_->Next(searched_height - 1), searched_height - 1};
  }
  for (int active = n; active > 0;) {
    for (int i = 0; i < n; i++) {
      Search& s = searches[i];
      if (s.level < 0) continue;
      if (KeyIsAfterNode(keys[i], s.next)) {
        s.x = s.next;
      } else {
        prev[i][s.level] = s.x;
        if (--s.level < 0) {
          active--;
          continue;
        }
      }
      s.next = s.x->Next(s.level);
      // The node's links and what its key points to, which follows them: a tall node's
      // entry, or the end of a short one's key, can be in the next cache line.
      if (s.next != nullptr) {
        __builtin_prefetch(s.next);
        __builtin_prefetch(reinterpret_cast<const char*>(s.next) + 64);
      }
    }
  }

  // Link, in order. A prev found above is still before its key, but keys linked
  // earlier in this group may now sit between it and the key's place: each level walks
  // on from prev past such nodes (few, and in cache).
  for (int i = 0; i < n; i++) {
    const Key& key = keys[i];
    auto place = [&](int level) {
      Node* p = level < searched_height ? prev[i][level] : head_;
      for (Node* next = p->NextRelaxed(level); KeyIsAfterNode(key, next);
           next = next->NextRelaxed(level)) {
        p = next;
      }
      return p;
    };
    Node* before = place(0);
    Node* after = before->NextRelaxed(0);
    if (after != nullptr && Equal(key, after->key)) {
      inserted[i] = false;
      continue;
    }
    const int height = reserved[i].height;
    if (height > GetMaxHeight()) max_height_.store(height, std::memory_order_relaxed);
    Node* x = NewNode(reserved[i].memory, key, height);
    for (int level = 0; level < height; level++) {
      Node* p = level == 0 ? before : place(level);
      // x is unreachable until the release store below links it at this level.
      x->SetNextRelaxed(level, p->NextRelaxed(level));
      p->SetNext(level, x);
    }
    inserted[i] = true;
  }
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
