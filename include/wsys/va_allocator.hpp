// wsys::VaAllocator: GPU virtual-address allocation, two-level segregated fit.
//
// Mesa's util_vma_heap keeps a linked list of holes and walks it first-fit
// (O(holes) per call, a malloc per split). This allocator keeps free blocks
// in TLSF classes (a first-level power of two, a second level of
// 2^kSecondLevelLog2 linear slots) found through two bitmaps, so allocate and
// free are O(1) in the common path; the blocks of each heap form an
// address-ordered list for O(1) coalescing. The two lookups only some calls
// need, a treap over the free blocks (the one holding an address: fixed
// allocations, is_free) and a hash table of allocations by address
// (free(addr)), are kept up to date lazily: new blocks are queued and filed
// when such a call comes, at most once each, so alloc and free(handle) never
// pay for them. Design and measured figures: docs/va-allocator.md.
//
// Cost: alloc O(1) (the exact search below aside); free(VaAllocation) O(1);
// free(addr) O(1) expected; alloc_fixed and is_free O(log n) expected; each
// plus the amortised O(1) / O(log n) filing of blocks created since the
// last lookup.
//
// Properties (each is tested against a reference model in
// tests/core/va_allocator_test.cpp):
//  - any power-of-two alignment (>= the granule);
//  - allocation at a fixed address (capture/replay, sparse reservations);
//  - a "do not cross 2^n" constraint (descriptors that may not straddle a
//    4 GiB line, for instance);
//  - several heaps, each an address range, allocated from by id;
//  - an allocation fails only when no free block of the heap can hold it
//    (the fast good-fit search is backed by an exact search of the few
//    classes it skips), so it never says "full" while a fit exists;
//  - no heap allocation per operation in steady state: block records come
//    from a pool that grows by doubling, and the by-address index (for
//    free(addr)) is an open-addressing table that grows by doubling.
//
// Not thread-safe, const calls included (is_free files queued blocks): the
// owner (core::Device) serialises calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wsys/result.hpp"

namespace wsys {

struct VaAllocation {
  uint64_t addr = 0;
  uint64_t size = 0;   // as asked, rounded up to the granule
  // Internal record handle; free() uses it. Opaque: the low bits are the
  // record index, the high bits the record's generation (records are
  // reused, so index + addr + size alone could name a newer allocation that
  // happens to sit where a stale handle's did; free() checks all of them).
  uint32_t block = UINT32_MAX;
  bool valid() const { return block != UINT32_MAX; }
};

struct VaHeapStats {
  uint64_t start = 0, end = 0;  // [start, end)
  uint64_t allocated_bytes = 0;
  uint64_t allocation_count = 0;
  uint64_t free_bytes = 0;
  uint64_t free_block_count = 0;
  uint64_t largest_free_block = 0;
  // 1 - largest_free_block / free_bytes: 0 when the free space is one
  // block, towards 1 as it shatters. 0 when nothing is free.
  double fragmentation = 0.0;
};

class VaAllocator {
 public:
  using HeapId = uint32_t;
  static constexpr uint32_t kSecondLevelLog2 = 5;  // 32 slots per power of two

  // granule: the smallest unit (a power of two, >= 4096); every address and
  // size is a multiple of it. With any other value every call fails with
  // -EINVAL (a constructor cannot return an error). At most 2^25 - 1 blocks
  // (allocations and holes, all heaps) can exist: past that, -ENOMEM.
  explicit VaAllocator(uint64_t granule = 4096);
  ~VaAllocator();
  VaAllocator(const VaAllocator&) = delete;
  VaAllocator& operator=(const VaAllocator&) = delete;

  uint64_t granule() const { return granule_; }

  // Adds the heap [start, start + size). Both granule-aligned, size > 0, no
  // overlap with another heap, no wrap-around (start + size <= 2^64 - 1),
  // fewer than 2^28 heaps: else -EINVAL.
  Result<HeapId> add_heap(uint64_t start, uint64_t size_bytes);

  // Allocates `size` bytes (rounded up to the granule) aligned to `align`
  // (a power of two; values below the granule mean the granule). With
  // no_cross_log2 != 0 the range does not cross a multiple of
  // 2^no_cross_log2 (then size must be <= 2^no_cross_log2).
  // Errors: -EINVAL (size 0, bad alignment, bad heap, size larger than the
  // no-cross window), -ENOMEM (no free block can hold it).
  Result<VaAllocation> alloc(HeapId heap, uint64_t size_bytes, uint64_t align_bytes = 0,
                             uint32_t no_cross_log2 = 0);

  // Allocates exactly [addr, addr + size) (size rounded up to the granule,
  // as for alloc). -EINVAL if size is 0, addr is not granule-aligned, the
  // range wraps, or it does not lie inside one heap; -EBUSY if any part of
  // it is allocated.
  Result<VaAllocation> alloc_fixed(uint64_t addr, uint64_t size_bytes);

  // Frees an allocation. -EINVAL if it is not a live allocation (a stale or
  // foreign VaAllocation is detected, never corrupts the allocator).
  Result<void> free(const VaAllocation& a);
  // Frees the live allocation starting at addr. -EINVAL if there is none.
  // (free(VaAllocation) is cheaper: it needs no lookup.)
  Result<void> free(uint64_t addr);

  // True if [addr, addr + size) lies inside one heap and none of it is
  // allocated. False for size 0 (an empty range says nothing).
  bool is_free(uint64_t addr, uint64_t size_bytes) const;

  // The free ranges of a heap in address order (tests, debugging: O(n)).
  std::vector<std::pair<uint64_t, uint64_t>> free_ranges(HeapId heap) const;

  size_t heap_count() const;
  // All zero for an unknown heap id. largest_free_block costs a walk of the
  // top non-empty class only (usually one block).
  VaHeapStats stats(HeapId heap) const;

  // Pre-sizes the internal pools for `live_allocations` (across all heaps
  // added so far) so that any sequence of allocs and frees that never holds
  // more than that many at once never grows them.
  void reserve(size_t live_allocations);

  // Test and debugging hooks.
  // How many times the record pool, the queue of unfiled blocks or the
  // address index has grown.
  uint64_t pool_growth_count() const;
  // Walks every internal structure and cross-checks them (the address list
  // tiles each heap, neighbours are never both free, class lists, bitmaps,
  // the free-block tree, the address index and the counters agree). O(n).
  bool check_invariants() const;

 private:
  struct Impl;
  Impl* impl_;
  uint64_t granule_;
};

}  // namespace wsys
