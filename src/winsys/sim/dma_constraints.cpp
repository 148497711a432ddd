#include "winsys/sim/dma_constraints.h"

#include <algorithm>

#include "drm-uapi/wsys_sim_alloc.h"

namespace wsys::sim {

namespace {
uint64_t min_nonzero(uint64_t a, uint64_t b) { return !a ? b : !b ? a : std::min(a, b); }
uint64_t max_extent_for(const DmaConstraints& c) {
  return min_nonzero(PhysLayout::kMaxOrderBytes, c.max_segment_size);
}
}  // namespace

DmaConstraints merge_constraints(const DmaConstraints& a, const DmaConstraints& b) {
  DmaConstraints m;
  m.dma_mask = std::min(a.dma_mask, b.dma_mask);
  m.max_segment_size = min_nonzero(a.max_segment_size, b.max_segment_size);
  m.segment_boundary = min_nonzero(a.segment_boundary, b.segment_boundary);
  m.max_segments = static_cast<uint32_t>(min_nonzero(a.max_segments, b.max_segments));
  m.alignment = std::max(a.alignment, b.alignment);
  m.contiguous = a.contiguous || b.contiguous;
  return m;
}

uint32_t constraints_feasible(const DmaConstraints& c, uint64_t size, const PhysLayout& layout) {
  // Some zone must start under the mask with room below it.
  bool reachable = false;
  for (PhysZone z : {PhysZone::Normal, PhysZone::Dma32, PhysZone::Cma}) {
    PhysExtent r = layout.zone_range(z);
    if (r.size && r.addr + std::min(size, r.size) - 1 <= c.dma_mask) reachable = true;
  }
  if (!reachable) return WSYS_ALLOC_UNMET_DMA_MASK;
  const bool one = c.contiguous || c.max_segments == 1;
  if (one) {
    if (c.max_segment_size && c.max_segment_size < size) return WSYS_ALLOC_UNMET_SEGMENT_SIZE;
    if (c.segment_boundary && c.segment_boundary < size) return WSYS_ALLOC_UNMET_BOUNDARY;
    if (c.contiguous && c.dma_mask < layout.zone_range(PhysZone::Cma).addr &&
        size > PhysLayout::kMaxOrderBytes)
      return WSYS_ALLOC_UNMET_DMA_MASK;  // too big for the page allocator, CMA out of reach
    if (size > PhysLayout::kMaxOrderBytes && size > layout.zone_range(PhysZone::Cma).size)
      return WSYS_ALLOC_UNMET_CONTIGUOUS;
    return 0;
  }
  if (c.max_segments) {
    const uint64_t per = std::min<uint64_t>(max_extent_for(c), c.segment_boundary ? c.segment_boundary : ~0ull);
    if (per * c.max_segments < size) return WSYS_ALLOC_UNMET_SEGMENTS;
  }
  return 0;
}

uint32_t placement_meets(const Placement& p, const DmaConstraints& c) {
  if (c.contiguous && p.extents.size() > 1) return WSYS_ALLOC_UNMET_CONTIGUOUS;
  if (c.max_segments && p.extents.size() > c.max_segments) return WSYS_ALLOC_UNMET_SEGMENTS;
  for (const PhysExtent& e : p.extents) {
    if (e.addr + e.size - 1 > c.dma_mask) return WSYS_ALLOC_UNMET_DMA_MASK;
    if (c.max_segment_size && e.size > c.max_segment_size) return WSYS_ALLOC_UNMET_SEGMENT_SIZE;
    if (c.segment_boundary &&
        e.addr / c.segment_boundary != (e.addr + e.size - 1) / c.segment_boundary)
      return WSYS_ALLOC_UNMET_BOUNDARY;
    if (e.addr % c.alignment) return WSYS_ALLOC_UNMET_ALIGNMENT;
  }
  return 0;
}

bool solve_placement(PhysLayout& layout, const DmaConstraints& c, uint64_t size, Placement* out) {
  const bool one = c.contiguous || c.max_segments == 1;
  if (one) {
    PhysExtent e;
    if (size <= PhysLayout::kMaxOrderBytes) {
      // The page allocator's own blocks: naturally aligned to their size.
      uint64_t order_align = PhysLayout::kPage;
      while (order_align < size) order_align <<= 1;
      const uint64_t align = std::max(order_align, c.alignment);
      for (PhysZone z : {PhysZone::Normal, PhysZone::Dma32}) {
        if (layout.alloc_single(z, size, align, c.dma_mask, &e)) {
          *out = Placement{z, {e}};
          if (!placement_meets(*out, c)) return true;
          layout.free(z, out->extents);
        }
      }
    }
    if (layout.alloc_single(PhysZone::Cma, size, c.alignment, c.dma_mask, &e)) {
      *out = Placement{PhysZone::Cma, {e}};
      if (!placement_meets(*out, c)) return true;
      layout.free(PhysZone::Cma, out->extents);
    }
    return false;
  }
  for (PhysZone z : {PhysZone::Normal, PhysZone::Dma32}) {
    std::vector<PhysExtent> ex;
    if (layout.alloc_scattered(z, size, max_extent_for(c), c.segment_boundary, c.alignment,
                               c.dma_mask, c.max_segments, &ex)) {
      *out = Placement{z, std::move(ex)};
      return true;
    }
  }
  return false;
}

const char* unmet_name(uint32_t unmet) {
  switch (unmet) {
    case WSYS_ALLOC_UNMET_NONE: return "none";
    case WSYS_ALLOC_UNMET_DMA_MASK: return "dma-mask";
    case WSYS_ALLOC_UNMET_CONTIGUOUS: return "contiguous";
    case WSYS_ALLOC_UNMET_SEGMENT_SIZE: return "max-segment-size";
    case WSYS_ALLOC_UNMET_SEGMENTS: return "max-segments";
    case WSYS_ALLOC_UNMET_BOUNDARY: return "segment-boundary";
    case WSYS_ALLOC_UNMET_ALIGNMENT: return "alignment";
    case WSYS_ALLOC_UNMET_PITCH: return "pitch-alignment";
    case WSYS_ALLOC_UNMET_SIZE: return "size";
    default: return "unknown";
  }
}

}  // namespace wsys::sim
