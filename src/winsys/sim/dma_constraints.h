// DMA constraints of the model's devices, their union, and the placement
// policy that satisfies a union in the simulated physical layout
// (phys_layout.h). A model extension (issue 19, wsys_sim_alloc.h).
#pragma once

#include <cstdint>
#include <vector>

#include "winsys/sim/phys_layout.h"

namespace wsys::sim {

struct DmaConstraints {
  uint64_t dma_mask = ~0ull;       // highest reachable bus address
  // A segment is one scatter-list entry: a contiguous piece of at most
  // max_segment_size bytes not crossing a segment_boundary multiple. A
  // bigger extent is split into several (as the DMA layer does), so these
  // two only bind together with max_segments.
  uint64_t max_segment_size = 0;   // 0: none
  uint64_t segment_boundary = 0;   // 0: none
  uint32_t max_segments = 0;       // 0: none
  uint64_t alignment = PhysLayout::kPage;
  bool contiguous = false;
};

// A backing's place in the simulated physical layout.
struct Placement {
  PhysZone zone = PhysZone::None;
  std::vector<PhysExtent> extents;
};

// The strictest of both: what a buffer attached to both devices must meet.
DmaConstraints merge_constraints(const DmaConstraints& a, const DmaConstraints& b);

// 0 if some placement of `size` bytes could meet `c` in `layout`'s zones
// (ignoring what is in use), else the WSYS_ALLOC_UNMET_* code of the
// constraint that makes it impossible.
uint32_t constraints_feasible(const DmaConstraints& c, uint64_t size, const PhysLayout& layout);

// 0 if `p` meets `c`, else the WSYS_ALLOC_UNMET_* code of the first unmet
// constraint.
uint32_t placement_meets(const Placement& p, const DmaConstraints& c);

// The scatter-list segments `p` needs for a device with `c`: each extent
// split at max_segment_size and at every segment boundary.
uint64_t segments_of(const Placement& p, const DmaConstraints& c);

// Allocates a placement for `size` bytes meeting `c`. Policy: contiguous
// requests up to one max-order block come from the page allocator's zones
// (NORMAL, then DMA32, under the mask) as one extent, larger ones from CMA;
// scattered requests from NORMAL then DMA32, never CMA (kept for what
// needs it). False if no zone has room.
bool solve_placement(PhysLayout& layout, const DmaConstraints& c, uint64_t size, Placement* out);

// The name of an unmet code, for the model's log.
const char* unmet_name(uint32_t unmet);

}  // namespace wsys::sim
