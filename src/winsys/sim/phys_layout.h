// The simulated physical memory layout under the model's shared buffers.
//
// Real memory stays memfd pages; this only keeps the books of where a
// buffer's backing WOULD sit in a SoC's physical address space, so DMA
// constraints can be checked and the use of the scarce pools measured.
// Three zones (a model extension: no kernel exposes this):
//   - DMA32: below 4 GiB, served in extents of at most one "max order"
//     block (kMaxOrderBytes, the page allocator's largest block);
//   - CMA:   a fixed-size contiguous region below 4 GiB; single-extent
//     allocations, first fit, so mixed sizes fragment it;
//   - NORMAL: above 4 GiB, extents as DMA32.
// Page granular (4 KiB). Not thread-safe: its owner (SharedAllocator)
// serialises.
//
// Fixed-size and free of pointers, so it can live in the file several
// processes map (alloc_state.h): each zone's free ranges are a sorted array
// of kMaxFreeRanges entries. A zone holding k allocated extents has at most
// k + 1 free ranges, so a layout whose owner never holds more than
// kMaxFreeRanges - 1 extents (the allocator's extent pool) never runs out;
// a layout used on its own refuses an allocation that would overflow it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsys::sim {

enum class PhysZone : uint32_t { None = 0, Normal = 1, Dma32 = 2, Cma = 3 };

struct PhysExtent {
  uint64_t addr = 0;
  uint64_t size = 0;
};

struct PhysLayoutConfig {
  uint64_t dma32_size = 2ull << 30;    // DMA32 zone: [16 MiB, 16 MiB + this)
  uint64_t cma_size = 128ull << 20;    // CMA region, just below 4 GiB
  uint64_t normal_size = 8ull << 30;   // NORMAL zone: [4 GiB, 4 GiB + this)
};

class PhysLayout {
 public:
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kMaxOrderBytes = 4ull << 20;  // largest page-allocator block
  static constexpr uint64_t k4G = 1ull << 32;

  explicit PhysLayout(const PhysLayoutConfig& cfg);

  // Where each zone lies (base, size).
  PhysExtent zone_range(PhysZone z) const;

  // One extent of `size` bytes in `z`, first fit, start aligned to `align`
  // (a power of two >= kPage), ending at or below `limit` (inclusive last
  // byte address). False if no free range fits.
  bool alloc_single(PhysZone z, uint64_t size, uint64_t align, uint64_t limit, PhysExtent* out);

  // `size` bytes in `z` as extents of at most `max_extent` bytes, none
  // crossing a multiple of `boundary` (0: none), each aligned to `align`,
  // all at or below `limit`; at most `max_extents` of them (0: no limit).
  // All or nothing.
  bool alloc_scattered(PhysZone z, uint64_t size, uint64_t max_extent, uint64_t boundary,
                       uint64_t align, uint64_t limit, uint32_t max_extents,
                       std::vector<PhysExtent>* out);

  void free(PhysZone z, const std::vector<PhysExtent>& extents);

  uint64_t used_bytes(PhysZone z) const;
  uint64_t peak_bytes(PhysZone z) const;
  uint64_t largest_free(PhysZone z) const;
  void reset_peaks();

  // Recomputes every zone's free ranges and usage from the extents in use
  // (after another process died in the middle of an update, alloc_state.h).
  // An extent that lies outside its zone or overlaps one kept already is
  // dropped; returns how many were.
  struct UsedExtent {
    PhysZone zone;
    PhysExtent e;
  };
  size_t rebuild(std::vector<UsedExtent> used);

  static constexpr uint32_t kMaxFreeRanges = 8193;

 private:
  struct Range {
    uint64_t start, len;
  };
  struct Zone {
    uint64_t base = 0, size = 0, used = 0, peak = 0;
    uint32_t nfree = 0;
    Range free[kMaxFreeRanges];  // sorted by start, coalesced
  };
  Zone& zone(PhysZone z);
  const Zone& zone(PhysZone z) const;
  static void init_zone(Zone& z, uint64_t base, uint64_t size);
  // The index of the free range containing `addr`, or nfree.
  static uint32_t find_range(const Zone& zn, uint64_t addr);
  static void take(Zone& zn, uint64_t start, uint64_t len);
  static void give(Zone& zn, uint64_t start, uint64_t len);

  Zone normal_, dma32_, cma_;
};

}  // namespace wsys::sim
