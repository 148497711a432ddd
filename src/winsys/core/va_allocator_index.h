// The VA allocator's record storage and its two indexes (internal header of
// src/winsys/core; the unit tests also exercise it directly):
//  - BigArray: the growable array under the big tables (huge-page backed);
//  - BlockPool: every block (free or allocated) is a record in one array,
//    named by its index; freed records go on a free list and are reused, the
//    array grows by doubling, so steady-state operations never allocate;
//  - AddrIndex: an open-addressing (linear probing) hash table from the start
//    address of each allocated block to its record, for free(addr);
//  - a treap over the FREE blocks of a heap keyed by start address, its links
//    stored in the records, for "the free block containing addr" (fixed
//    allocations, is_free). A treap because its insert and erase are short
//    loops with no rebalancing cases, and its priorities need no storage: a
//    hash of the record index is as random as a stored random number;
//  - UnfiledQueue: blocks not yet filed in those two indexes, which are
//    maintained lazily because the common path needs neither.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

namespace wsys::va_detail {

inline constexpr uint32_t kNil = UINT32_MAX;

// A growable array of trivially copyable T for the allocator's big tables.
// Unlike std::vector it asks for transparent huge pages once it reaches
// 2 MiB: with a million live ranges the record pool alone is ~100 MB, and
// every random access into it would otherwise pay a TLB miss on top of the
// cache miss. Growth (reserve) is explicit and reports failure instead of
// throwing; size changes never reallocate.
template <typename T>
class BigArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  BigArray() = default;
  ~BigArray() { std::free(p_); }
  BigArray(const BigArray&) = delete;
  BigArray& operator=(const BigArray&) = delete;
  void swap(BigArray& o) {
    std::swap(p_, o.p_);
    std::swap(size_, o.size_);
    std::swap(cap_, o.cap_);
  }

  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  T* data() { return p_; }
  const T* data() const { return p_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  T* begin() { return p_; }
  T* end() { return p_ + size_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + size_; }

  bool reserve(size_t n) {
    if (n <= cap_) return true;
    if (n > SIZE_MAX / sizeof(T) - kHuge) return false;
    size_t bytes = n * sizeof(T);
    T* q;
    if (bytes >= kHuge) {
      bytes = (bytes + kHuge - 1) & ~(kHuge - 1);
      q = static_cast<T*>(std::aligned_alloc(kHuge, bytes));
#ifdef MADV_HUGEPAGE
      if (q) (void)madvise(q, bytes, MADV_HUGEPAGE);  // advice only: may be refused
#endif
    } else {
      q = static_cast<T*>(std::malloc(bytes));
    }
    if (!q) return false;
    if (size_) std::memcpy(static_cast<void*>(q), p_, size_ * sizeof(T));
    std::free(p_);
    p_ = q;
    cap_ = bytes / sizeof(T);
    return true;
  }
  // Within capacity only.
  void push_back(const T& v) { p_[size_++] = v; }
  void resize_within(size_t n) { size_ = n; }
  void clear() { size_ = 0; }
  // Exactly n copies of v (reallocates only if n > capacity).
  bool assign(size_t n, const T& v) {
    size_ = 0;
    if (!reserve(n)) return false;
    std::fill(p_, p_ + n, v);
    size_ = n;
    return true;
  }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  T* p_ = nullptr;
  size_t size_ = 0, cap_ = 0;
};

// A VaAllocation's `block` handle: the record index in the low kIndexBits,
// the low bits of the record's generation above. 2^25 records allow 16M live
// allocations; 7 generation bits mean a stale handle goes unnoticed only if
// its record was reused a multiple of 128 times for exactly its range.
inline constexpr uint32_t kIndexBits = 25;
inline constexpr uint32_t kIndexMask = (1u << kIndexBits) - 1;
inline constexpr size_t kMaxRecords = kIndexMask;  // index kIndexMask unused:
                                                   // the handle would be ~0
inline uint32_t make_handle(uint32_t index, uint32_t generation) {
  return index | generation << kIndexBits;
}

enum BlockState : uint32_t { kUnused = 0, kFree = 1, kUsed = 2 };

// 48 bytes. The list links are indices, not pointers, so growing the pool
// (which moves it) never invalidates them.
//
// prev_free / next_free are boundary tags: whether the address-order
// neighbours are free blocks. With them, free() learns whether to merge from
// the record it has just loaded, instead of loading both neighbours (two
// more cache misses in a large pool); keeping them right costs byte stores
// into neighbours, which never stall. Separate bytes, not bits of
// heap_state, for that reason: a byte store needs no read of the old value.
struct Block {
  // Filed in the index its state calls for: a free block in its heap's
  // treap, an allocation in the AddrIndex (see UnfiledQueue).
  static constexpr uint32_t kFiled = 4;
  static constexpr uint32_t kMark = 8;  // scratch bit (UnfiledQueue::compact)

  uint64_t start;
  uint64_t size;
  uint32_t prev;   // address order within the heap (kNil at either end);
  uint32_t next;   // for an unused record, next is the pool's free-list link
  uint32_t fprev;  // free blocks: the TLSF class list
  uint32_t fnext;
  uint32_t left;   // free blocks: treap children
  uint32_t right;
  uint16_t generation;  // bumped each time the record becomes an allocation
  uint8_t prev_free;    // boundary tags (above)
  uint8_t next_free;
  uint32_t heap_state;  // heap id << 4 | kMark | kFiled | BlockState

  uint64_t end() const { return start + size; }
  uint32_t state() const { return heap_state & 3u; }
  uint32_t heap() const { return heap_state >> 4; }
  bool filed() const { return heap_state & kFiled; }
  void set(uint32_t heap_id, uint32_t st) { heap_state = heap_id << 4 | st; }
  void set_tags(bool prev_is_free, bool next_is_free) {
    prev_free = prev_is_free;
    next_free = next_is_free;
  }
};
static_assert(sizeof(Block) == 48);
inline constexpr uint32_t kMaxHeaps = 1u << 28;

class BlockPool {
 public:
  Block& operator[](uint32_t i) { return blocks_[i]; }
  const Block& operator[](uint32_t i) const { return blocks_[i]; }
  Block* data() { return blocks_.data(); }
  const Block* data() const { return blocks_.data(); }
  // Records ever created (valid indices are below this).
  uint32_t size() const { return static_cast<uint32_t>(blocks_.size()); }
  uint32_t unused_count() const { return free_count_; }
  // Records that can exist without growing.
  size_t capacity() const { return std::min(blocks_.capacity(), kMaxRecords); }
  uint64_t growths() const { return growths_; }
  // Indices from kMaxRecords up are never handed out, whatever the capacity.
  size_t spare() const {
    return free_count_ + (std::min(blocks_.capacity(), kMaxRecords) - blocks_.size());
  }

  // Makes sure `n` records can be taken without growing. Called at the start
  // of an operation, before any Block& is held, because growing moves the
  // array. False when memory (or the 32-bit index space) runs out.
  bool ensure_spare(size_t n) {
    if (spare() >= n) return true;
    size_t want = blocks_.capacity() ? blocks_.capacity() * 2 : 64;
    while (want - blocks_.size() + free_count_ < n) want *= 2;
    if (!grow_to(want)) return false;
    growths_++;
    return spare() >= n;
  }

  bool reserve(size_t records) {
    if (records <= blocks_.capacity()) return true;
    return grow_to(records);
  }

  // Requires ensure_spare() first.
  uint32_t take() {
    if (free_head_ != kNil) {
      uint32_t i = free_head_;
      free_head_ = blocks_[i].next;
      free_count_--;
      return i;
    }
    Block b{};
    blocks_.push_back(b);  // within capacity (ensure_spare)
    return static_cast<uint32_t>(blocks_.size() - 1);
  }

  // The record keeps its generation so a stale handle stays detectably stale.
  void release(uint32_t i) {
    Block& b = blocks_[i];
    b.set(0, kUnused);
    b.next = free_head_;
    free_head_ = i;
    free_count_++;
  }

 private:
  bool grow_to(size_t records) {
    records = std::min(records, kMaxRecords);
    if (records <= blocks_.capacity()) return false;
    return blocks_.reserve(records);
  }

  BigArray<Block> blocks_;
  uint32_t free_head_ = kNil;
  size_t free_count_ = 0;
  uint64_t growths_ = 0;
};

// The blocks not yet filed in the index their state calls for: a free block
// in its heap's treap (needed only by fixed-address lookups), an allocation
// in the AddrIndex (needed only by free(addr)). Filing is an O(log n) walk or
// a hash probe, each a cache miss or more once there are many blocks, and
// the common path (alloc, free by handle) needs neither index; so a block
// that comes into being is appended here instead, and the queue is drained
// into the indexes when a lookup needs them. An entry goes stale when its
// block changes state first (nothing is done then: Block::set clears
// kFiled), and a reused record may be queued twice; draining and compaction
// skip or drop whatever is not a live, unfiled block. Amortised cost per
// block: one append and at most one filing.
class UnfiledQueue {
 public:
  size_t size() const { return v_.size(); }
  uint64_t growths() const { return growths_; }
  std::vector<uint32_t> entries() const { return {v_.begin(), v_.end()}; }

  static bool live(const Block& b) {
    return (b.state() == kFree || b.state() == kUsed) && !b.filed();
  }

  // The owner keeps the capacity at least twice the number of records that
  // can exist (live entries are distinct records), so a full queue always
  // compacts to at most half and push() never allocates, which free()
  // relies on. (Should a reservation have failed, push() says so and the
  // owner files everything instead.)
  bool ensure_capacity(size_t n) {
    if (n <= v_.capacity()) return true;
    if (!v_.reserve(std::max(n, v_.capacity() * 2))) return false;
    growths_++;
    return true;
  }
  bool reserve(size_t n) { return v_.reserve(n); }

  [[nodiscard]] bool push(Block* b, uint32_t i) {
    // Dropping stale entries is a sequential scan whose record reads
    // overlap; it runs once per capacity/2 pushes at most.
    if (v_.size() == v_.capacity()) compact(b);
    if (v_.size() == v_.capacity()) return false;
    v_.push_back(i);
    return true;
  }

  // Drops stale entries and duplicates.
  void compact(Block* b) {
    size_t out = 0;
    for (uint32_t i : v_) {
      if (live(b[i]) && !(b[i].heap_state & Block::kMark)) {
        b[i].heap_state |= Block::kMark;
        v_[out++] = i;
      }
    }
    v_.resize_within(out);
    for (uint32_t i : v_) b[i].heap_state &= ~Block::kMark;
  }

  // Calls f(i) once for each live entry, marking it filed, and empties the
  // queue.
  template <typename F>
  void drain(Block* b, F&& f) {
    for (uint32_t i : v_) {
      if (!live(b[i])) continue;
      b[i].heap_state |= Block::kFiled;
      f(i);
    }
    v_.clear();
  }

 private:
  BigArray<uint32_t> v_;
  uint64_t growths_ = 0;
};

// Start address -> record index of an allocated block. Linear probing with
// backward-shift deletion (no tombstones, so a steady alloc/free mix never
// degrades the table), load factor at most 1/2, grows by doubling.
//
// A slot is 8 bytes: the record index and a 32-bit tag, the top half of the
// key's 64-bit hash. The home slot is the tag's top bits, so moving entries
// (deletion, rehash) never needs the key; a lookup by key confirms a tag
// match against the record (the caller's `is_key`), which free(addr) reads
// next anyway; erasing an entry whose record is known compares indices.
class AddrIndex {
 public:
  explicit AddrIndex(uint32_t granule_log2) : granule_log2_(granule_log2) {}

  size_t size() const { return count_; }
  size_t capacity() const { return slots_.size(); }
  uint64_t growths() const { return growths_; }

  // Makes sure `keys` keys in all fit. False on no memory.
  bool ensure_capacity(size_t keys) {
    if (keys * 2 <= slots_.size()) return true;
    if (!reserve(keys)) return false;
    growths_++;
    return true;
  }
  bool reserve(size_t keys) {
    size_t want = slots_.empty() ? 64 : slots_.size();
    while (keys * 2 > want) want *= 2;
    return want == slots_.size() || rehash(want);
  }

  // The key must be absent and room ensured.
  void insert(uint64_t key, uint32_t value) { put(tag_of(key), value); }

  // The value stored for key: candidates whose tag matches are confirmed by
  // is_key(value). kNil if none.
  template <typename IsKey>
  uint32_t find(uint64_t key, IsKey&& is_key) const {
    if (slots_.empty()) return kNil;
    const uint32_t tag = tag_of(key);
    for (size_t i = home(tag);; i = (i + 1) & mask_) {
      if (slots_[i].value == kNil) return kNil;
      if (slots_[i].tag == tag && is_key(slots_[i].value)) return slots_[i].value;
    }
  }

  // Removes the entry (key, value), which must be present.
  void erase(uint64_t key, uint32_t value) {
    const uint32_t tag = tag_of(key);
    size_t i = home(tag);
    while (slots_[i].value != value) i = (i + 1) & mask_;
    // Backward shift: pull later entries of the probe run into the hole
    // whenever the hole lies on their path from their home slot.
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].value == kNil) break;
      const size_t h = home(slots_[j].tag);
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].value = kNil;
    count_--;
  }

  // Starts loading key's home slot so the probe that follows overlaps with
  // other cache misses.
  void prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(tag_of(key))]);
  }

  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.value != kNil) f(s.value);
  }

 private:
  struct Slot {
    uint32_t tag;
    uint32_t value;  // kNil: empty
  };

  // Fibonacci hashing of the granule number: the top bits of the product
  // depend on every bit of the key, so sequential addresses spread out.
  uint32_t tag_of(uint64_t key) const {
    return static_cast<uint32_t>(((key >> granule_log2_) * 0x9E3779B97F4A7C15ull) >> 32);
  }
  size_t home(uint32_t tag) const { return tag >> tag_shift_; }

  void put(uint32_t tag, uint32_t value) {
    size_t i = home(tag);
    while (slots_[i].value != kNil) i = (i + 1) & mask_;
    slots_[i] = Slot{tag, value};
    count_++;
  }

  bool rehash(size_t slots) {
    // Record indices are < 2^25, so a table never needs more than 2^32 slots
    // and the home slot always fits in the tag.
    BigArray<Slot> fresh;
    if (slots > (size_t{1} << 32) || !fresh.assign(slots, Slot{0, kNil})) return false;
    BigArray<Slot> old;
    old.swap(slots_);
    slots_.swap(fresh);
    mask_ = slots - 1;
    tag_shift_ = 32 - static_cast<uint32_t>(__builtin_ctzll(slots));
    count_ = 0;
    for (const Slot& s : old)
      if (s.value != kNil) put(s.tag, s.value);
    return true;
  }

  BigArray<Slot> slots_;
  size_t mask_ = 0;
  uint32_t tag_shift_ = 32;
  uint32_t granule_log2_;
  size_t count_ = 0;
  uint64_t growths_ = 0;
};

// --- the treap over free blocks (keyed by Block::start) ---

// A bijective mix of the record index (the murmur3 finaliser): distinct
// records get distinct, well-spread priorities without storing any.
inline uint32_t treap_priority(uint32_t i) {
  i ^= i >> 16;
  i *= 0x85EBCA6Bu;
  i ^= i >> 13;
  i *= 0xC2B2AE35u;
  i ^= i >> 16;
  return i;
}

// The free block with the greatest start <= key, or kNil.
inline uint32_t treap_find_le(const Block* b, uint32_t root, uint64_t key) {
  uint32_t best = kNil;
  for (uint32_t t = root; t != kNil;) {
    if (b[t].start <= key) {
      best = t;
      t = b[t].right;
    } else {
      t = b[t].left;
    }
  }
  return best;
}

// Inserts record x (its start is the key; no other node has that key).
inline void treap_insert(Block* b, uint32_t* root, uint32_t x) {
  const uint64_t key = b[x].start;
  const uint32_t px = treap_priority(x);
  uint32_t* link = root;
  // Descend while the current node outranks x: x becomes the root of the
  // subtree it stops at.
  while (*link != kNil && treap_priority(*link) > px)
    link = key < b[*link].start ? &b[*link].left : &b[*link].right;
  // Split that subtree by key into x's two children.
  uint32_t t = *link;
  uint32_t* l = &b[x].left;
  uint32_t* r = &b[x].right;
  while (t != kNil) {
    if (b[t].start < key) {
      *l = t;
      l = &b[t].right;
      t = b[t].right;
    } else {
      *r = t;
      r = &b[t].left;
      t = b[t].left;
    }
  }
  *l = kNil;
  *r = kNil;
  *link = x;
}

// Removes record x, which must be in the tree rooted at *root.
inline void treap_erase(Block* b, uint32_t* root, uint32_t x) {
  const uint64_t key = b[x].start;
  uint32_t* link = root;
  while (*link != x) link = key < b[*link].start ? &b[*link].left : &b[*link].right;
  // Merge x's children in priority order into x's place.
  uint32_t l = b[x].left, r = b[x].right;
  for (;;) {
    if (l == kNil) {
      *link = r;
      break;
    }
    if (r == kNil) {
      *link = l;
      break;
    }
    if (treap_priority(l) > treap_priority(r)) {
      *link = l;
      link = &b[l].right;
      l = b[l].right;
    } else {
      *link = r;
      link = &b[r].left;
      r = b[r].left;
    }
  }
}

}  // namespace wsys::va_detail
