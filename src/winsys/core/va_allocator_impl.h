// VaAllocator's internals shared by va_allocator.cpp (the public calls) and
// va_allocator_check.cpp (the invariant walk): the TLSF class mapping, the
// per-heap state, and the operations on blocks. Internal header.
//
// Per heap: free blocks sit in TLSF classes (first level: the power of two of
// the size in granules; second level: 32 linear slots inside it), each class
// a doubly linked list, with a bitmap of non-empty first levels and one of
// non-empty slots per first level, so "the smallest non-empty class that
// certainly fits" is two find-first-set instructions. All blocks of a heap,
// free and used, form an address-ordered list, so free() merges with its
// neighbours in O(1). Splitting or merging keeps a free block's place among
// the free blocks, so its key in the (lazily filed) treap is edited in place;
// the treap and the address index only see blocks that really come into or
// go out of being, and only when a lookup needs them (UnfiledQueue).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "winsys/core/va_allocator_index.h"
#include "wsys/va_allocator.hpp"

namespace wsys {

namespace va_detail {

constexpr uint32_t kSlLog2 = VaAllocator::kSecondLevelLog2;
constexpr uint32_t kSl = 1u << kSlLog2;
// Sizes are counted in granules (>= 4096 bytes, so < 2^52 of them): the first
// level index is at most 52 - kSlLog2 + 1. 64 rows keep the bitmap one word.
constexpr uint32_t kFl = 64;

inline int log2_floor(uint64_t v) { return 63 - __builtin_clzll(v); }
inline bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

// The class a block of n granules is filed under (n >= 1).
struct Class {
  uint32_t fl, sl;
};
inline Class class_of(uint64_t n) {
  if (n < kSl) return {0, static_cast<uint32_t>(n)};
  int l = log2_floor(n);
  return {static_cast<uint32_t>(l - static_cast<int>(kSlLog2) + 1),
          static_cast<uint32_t>(n >> (l - static_cast<int>(kSlLog2))) & (kSl - 1)};
}
// The smallest class whose every block holds n granules: round n up to the
// next class boundary first.
inline Class class_fitting(uint64_t n) {
  if (n >= kSl) n += (uint64_t{1} << (log2_floor(n) - static_cast<int>(kSlLog2))) - 1;
  return class_of(n);
}

// Where a block [bs, be) can hold `size` bytes aligned to `align` without
// crossing a multiple of `window` (0: no constraint; size <= window). The
// lowest such start, or false.
inline bool place(uint64_t bs, uint64_t be, uint64_t size, uint64_t align, uint64_t window,
           uint64_t* out) {
  if (bs > UINT64_MAX - (align - 1)) return false;
  uint64_t s = (bs + align - 1) & ~(align - 1);
  if (window && ((s ^ (s + size - 1)) & ~(window - 1))) {
    // Crosses a line: start on that line instead. It is aligned, since a
    // crossing is only possible when align < window (both powers of two).
    s = (s | (window - 1)) + 1;
    if (s == 0) return false;  // the line is 2^64
  }
  if (s >= be || be - s < size) return false;
  *out = s;
  return true;
}

struct Heap {
  uint64_t start = 0, end = 0;
  uint64_t fl_bitmap = 0;
  uint32_t sl_bitmap[kFl] = {};
  uint32_t heads[kFl][kSl];
  uint32_t root = kNil;   // treap of free blocks
  uint32_t first = kNil;  // lowest block in address order
  uint64_t allocated_bytes = 0, allocation_count = 0;
  uint64_t free_bytes = 0, free_block_count = 0;

  Heap() {
    for (auto& row : heads)
      for (uint32_t& h : row) h = kNil;
  }
};

// The allocator's state and block operations (VaAllocator::Impl is this).
struct Core {
  using HeapId = VaAllocator::HeapId;
  explicit Core(uint32_t log2) : granule_log2(log2), index(log2) {}

  uint32_t granule_log2;
  BlockPool pool;
  AddrIndex index;
  UnfiledQueue unfiled;  // blocks not yet in the treaps / the index
  size_t used_blocks = 0;  // allocations in all heaps
  std::vector<std::unique_ptr<Heap>> heaps;
  // (start, id), sorted by start: heaps never overlap, so the one holding an
  // address is the last starting at or below it.
  std::vector<std::pair<uint64_t, HeapId>> by_start;

  uint64_t granule() const { return uint64_t{1} << granule_log2; }

  int heap_at(uint64_t addr) const {
    auto it = std::upper_bound(by_start.begin(), by_start.end(), addr,
                               [](uint64_t a, const auto& e) { return a < e.first; });
    if (it == by_start.begin()) return -1;
    --it;
    return addr < heaps[it->second]->end ? static_cast<int>(it->second) : -1;
  }

  void prefetch(uint32_t i) const {
    if (i != kNil) __builtin_prefetch(&pool[i], 1);
  }
  // The record at the head of the class a free block of `size` goes to.
  void prefetch_head(const Heap& h, uint64_t size) const {
    const Class c = class_of(size >> granule_log2);
    prefetch(h.heads[c.fl][c.sl]);
  }

  // --- the class lists ---
  void class_insert(Heap& h, uint32_t i) {
    Block& b = pool[i];
    Class c = class_of(b.size >> granule_log2);
    uint32_t head = h.heads[c.fl][c.sl];
    b.fprev = kNil;
    b.fnext = head;
    if (head != kNil) pool[head].fprev = i;
    h.heads[c.fl][c.sl] = i;
    h.sl_bitmap[c.fl] |= 1u << c.sl;
    h.fl_bitmap |= uint64_t{1} << c.fl;
  }
  void class_remove(Heap& h, uint32_t i) {
    Block& b = pool[i];
    if (b.fnext != kNil) pool[b.fnext].fprev = b.fprev;
    if (b.fprev != kNil) {
      pool[b.fprev].fnext = b.fnext;
      return;
    }
    Class c = class_of(b.size >> granule_log2);
    h.heads[c.fl][c.sl] = b.fnext;
    if (b.fnext == kNil) {
      h.sl_bitmap[c.fl] &= ~(1u << c.sl);
      if (!h.sl_bitmap[c.fl]) h.fl_bitmap &= ~(uint64_t{1} << c.fl);
    }
  }
  // Changes a free block's size, moving it to another class list only when
  // its class changes (most shrinks by a small allocation do not).
  void resize_free(Heap& h, uint32_t i, uint64_t size) {
    Class a = class_of(pool[i].size >> granule_log2);
    Class b = class_of(size >> granule_log2);
    if (a.fl == b.fl && a.sl == b.sl) {
      pool[i].size = size;
      return;
    }
    class_remove(h, i);
    pool[i].size = size;
    class_insert(h, i);
  }
  // A free block comes into being: its class list now, its heap's treap
  // when a lookup needs it (see UnfiledQueue).
  void file_free(Heap& h, uint32_t i) {
    class_insert(h, i);
    queue_unfiled(i);
  }
  void queue_unfiled(uint32_t i) {
    if (unfiled.push(pool.data(), i)) return;
    // Only if growing the queue failed earlier: file everything now (the
    // index always has room for every allocation), then queue.
    file_all();
    (void)unfiled.push(pool.data(), i);
  }
  // A free block ceases to be one (merged away or allocated whole).
  void unfile_free(Heap& h, uint32_t i) {
    class_remove(h, i);
    if (pool[i].filed()) treap_erase(pool.data(), &h.root, i);
  }
  // Files every queued block: free ones in their heap's treap, allocations
  // in the address index (which always has room for every allocation).
  void file_all() {
    unfiled.drain(pool.data(), [this](uint32_t i) {
      if (pool[i].state() == kFree)
        treap_insert(pool.data(), &heaps[pool[i].heap()]->root, i);
      else
        index.insert(pool[i].start, i);
    });
  }
  // The free block holding addr in heap h, or kNil.
  uint32_t free_block_at(Heap& h, uint64_t addr) {
    file_all();
    const uint32_t f = treap_find_le(pool.data(), h.root, addr);
    return f != kNil && pool[f].end() > addr ? f : kNil;
  }

  // Head of the first non-empty class at or above c.
  uint32_t find_at_or_above(const Heap& h, Class c) const {
    if (c.fl >= kFl) return kNil;
    uint32_t sm = h.sl_bitmap[c.fl] & (~0u << c.sl);
    if (!sm) {
      uint64_t fm = c.fl + 1 < kFl ? h.fl_bitmap & (~uint64_t{0} << (c.fl + 1)) : 0;
      if (!fm) return kNil;
      c.fl = static_cast<uint32_t>(__builtin_ctzll(fm));
      sm = h.sl_bitmap[c.fl];
    }
    return h.heads[c.fl][__builtin_ctz(sm)];
  }

  // --- the address list ---
  void link_after(Heap& h, uint32_t at, uint32_t x) {
    (void)h;
    Block& a = pool[at];
    Block& b = pool[x];
    b.prev = at;
    b.next = a.next;
    if (a.next != kNil) pool[a.next].prev = x;
    a.next = x;
  }
  void link_before(Heap& h, uint32_t at, uint32_t x) {
    Block& a = pool[at];
    Block& b = pool[x];
    b.next = at;
    b.prev = a.prev;
    if (a.prev != kNil)
      pool[a.prev].next = x;
    else
      h.first = x;
    a.prev = x;
  }
  void unlink(Heap& h, uint32_t x) {
    Block& b = pool[x];
    if (b.prev != kNil)
      pool[b.prev].next = b.next;
    else
      h.first = b.next;
    if (b.next != kNil) pool[b.next].prev = b.prev;
  }

  // Turns [s, s + size) of free block f into an allocation (make_room()
  // first). Returns the allocation's record.
  uint32_t carve(HeapId hid, Heap& h, uint32_t f, uint64_t s, uint64_t size) {
    const uint64_t fs = pool[f].start, fe = pool[f].end();
    const uint64_t front = s - fs, tail = fe - (s + size);
    // f's neighbours are allocations (free neighbours are always merged).
    const uint32_t fp = pool[f].prev, fn = pool[f].next;
    // Start every record access this needs at once (see release()).
    prefetch(fp);
    prefetch(fn);
    prefetch(pool[f].fprev);
    prefetch(pool[f].fnext);
    if (front) prefetch_head(h, front);
    if (tail) prefetch_head(h, tail);
    uint32_t u;
    if (front == 0 && tail == 0) {  // the whole block: it becomes the allocation
      unfile_free(h, f);
      h.free_block_count--;
      u = f;
      pool[u].set_tags(false, false);
      if (fp != kNil) pool[fp].next_free = 0;
      if (fn != kNil) pool[fn].prev_free = 0;
    } else if (front == 0) {  // the front: the free block moves up in place
      u = pool.take();
      link_before(h, f, u);
      pool[f].start = s + size;  // still between the same free neighbours
      resize_free(h, f, tail);
      pool[u].set_tags(false, true);
      if (fp != kNil) pool[fp].next_free = 0;
    } else {
      u = pool.take();
      link_after(h, f, u);
      resize_free(h, f, front);
      if (tail) {  // an aligned allocation inside the block: a new free tail
        uint32_t t = pool.take();
        link_after(h, u, t);
        Block& tb = pool[t];
        tb.start = s + size;
        tb.size = tail;
        tb.set(hid, kFree);
        tb.set_tags(false, false);
        file_free(h, t);
        h.free_block_count++;
        pool[u].set_tags(true, true);  // fn still follows a free block
      } else {
        pool[u].set_tags(true, false);
        if (fn != kNil) pool[fn].prev_free = 0;
      }
    }
    Block& ub = pool[u];
    ub.start = s;
    ub.size = size;
    ub.generation++;
    ub.set(hid, kUsed);
    used_blocks++;
    queue_unfiled(u);
    h.free_bytes -= size;
    h.allocated_bytes += size;
    h.allocation_count++;
    return u;
  }

  void release(uint32_t u) {
    const uint32_t hid = pool[u].heap();
    Heap& h = *heaps[hid];
    const uint64_t size = pool[u].size;
    const uint32_t p = pool[u].prev, n = pool[u].next;
    // The boundary tags say which neighbours are free, so only those are
    // read (to merge); the others only get byte stores. With many blocks
    // every record is a cache miss and each names the next, so each level
    // is requested at once: the neighbours (write intent) first...
    const bool pf = pool[u].prev_free, nf = pool[u].next_free;
    prefetch(p);
    prefetch(n);
    if (pool[u].filed()) index.erase(pool[u].start, u);
    used_blocks--;
    h.free_bytes += size;
    h.allocated_bytes -= size;
    h.allocation_count--;
    if (!pf && !nf) {  // a new hole between two allocations
      pool[u].set(hid, kFree);
      file_free(h, u);
      h.free_block_count++;
      if (p != kNil) pool[p].next_free = 1;
      if (n != kNil) pool[n].prev_free = 1;
      return;
    }
    // ...then the class-list neighbours of the free blocks about to be moved
    // or destroyed, the block after a destroyed one, and the head of the
    // class the merged block lands in.
    if (pf) {
      prefetch(pool[p].fprev);
      prefetch(pool[p].fnext);
    }
    if (nf) {
      prefetch(pool[n].fprev);
      prefetch(pool[n].fnext);
      if (pf) prefetch(pool[n].next);
    }
    prefetch_head(h, size + (pf ? pool[p].size : 0) + (nf ? pool[n].size : 0));
    // (A free neighbour's own tag towards u already says "allocation", and
    // still holds for the block beyond u after merging: the tags of the
    // merged block need no change.)
    if (pf && nf) {  // closes a gap: the higher free block is destroyed
      const uint64_t merged = pool[p].size + size + pool[n].size;
      unfile_free(h, n);
      unlink(h, n);
      pool.release(n);
      unlink(h, u);
      pool.release(u);
      resize_free(h, p, merged);
      h.free_block_count--;
    } else if (pf) {
      unlink(h, u);
      pool.release(u);
      resize_free(h, p, pool[p].size + size);
      if (n != kNil) pool[n].prev_free = 1;
    } else {
      const uint64_t start = pool[u].start;
      unlink(h, u);
      pool.release(u);
      pool[n].start = start;  // moves down, still above the previous free block
      resize_free(h, n, pool[n].size + size);
      if (p != kNil) pool[p].next_free = 1;
    }
  }

  // Everything an allocation may take (two records, an index slot for
  // every allocation, queue capacity to match the records), secured up
  // front: growing moves arrays, so no Block& may be held across it, and a
  // failure must come before any change. free() takes nothing.
  bool make_room() {
    return pool.ensure_spare(2) && unfiled.ensure_capacity(2 * pool.capacity() + 4) &&
           index.ensure_capacity(used_blocks + 1);
  }
};

}  // namespace va_detail

struct VaAllocator::Impl : va_detail::Core {
  using Core::Core;
};

}  // namespace wsys
