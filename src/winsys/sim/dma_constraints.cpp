#include "winsys/sim/dma_constraints.h"

#include <algorithm>

#include "drm-uapi/wsys_sim_alloc.h"

namespace wsys::sim {

namespace {
uint64_t min_nonzero(uint64_t a, uint64_t b) { return !a ? b : !b ? a : std::min(a, b); }
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

// The largest piece one scatter-list segment can describe (0: no limit).
uint64_t segment_limit(const DmaConstraints& c) {
  return min_nonzero(c.max_segment_size, c.segment_boundary);
}

uint64_t segments_of(const Placement& p, const DmaConstraints& c) {
  uint64_t n = 0;
  for (const PhysExtent& e : p.extents) {
    uint64_t a = e.addr;
    const uint64_t end = e.addr + e.size;
    while (a < end) {
      uint64_t len = end - a;
      if (c.max_segment_size) len = std::min(len, c.max_segment_size);
      if (c.segment_boundary) len = std::min(len, ((a / c.segment_boundary) + 1) * c.segment_boundary - a);
      a += len;
      n++;
    }
  }
  return n;
}

uint32_t constraints_feasible(const DmaConstraints& c, uint64_t size, const PhysLayout& layout) {
  // Some zone must start under the mask with room below it.
  bool reachable = false;
  for (PhysZone z : {PhysZone::Normal, PhysZone::Dma32, PhysZone::Cma}) {
    PhysExtent r = layout.zone_range(z);
    if (r.size && r.addr + std::min(size, r.size) - 1 <= c.dma_mask) reachable = true;
  }
  if (!reachable) return WSYS_ALLOC_UNMET_DMA_MASK;
  // Even perfectly aligned, the buffer needs this many segments.
  if (c.max_segments) {
    const uint64_t per = segment_limit(c);
    if (per && (size + per - 1) / per > c.max_segments) {
      if (c.max_segments == 1)
        return per == c.max_segment_size ? WSYS_ALLOC_UNMET_SEGMENT_SIZE : WSYS_ALLOC_UNMET_BOUNDARY;
      return WSYS_ALLOC_UNMET_SEGMENTS;
    }
  }
  if (c.contiguous || c.max_segments == 1) {
    const PhysExtent cma = layout.zone_range(PhysZone::Cma);
    if (size > PhysLayout::kMaxOrderBytes) {
      // Only CMA has blocks this big.
      if (size > cma.size) return WSYS_ALLOC_UNMET_CONTIGUOUS;
      if (cma.addr + size - 1 > c.dma_mask) return WSYS_ALLOC_UNMET_DMA_MASK;
    }
  }
  return 0;
}

uint32_t placement_meets(const Placement& p, const DmaConstraints& c) {
  if (c.contiguous && p.extents.size() > 1) return WSYS_ALLOC_UNMET_CONTIGUOUS;
  for (const PhysExtent& e : p.extents) {
    if (e.addr + e.size - 1 > c.dma_mask) return WSYS_ALLOC_UNMET_DMA_MASK;
    if (e.addr % c.alignment) return WSYS_ALLOC_UNMET_ALIGNMENT;
  }
  if (c.max_segments && segments_of(p, c) > c.max_segments) return WSYS_ALLOC_UNMET_SEGMENTS;
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
  // With a segment budget, extents start on segment-sized boundaries so
  // each splits into whole segments.
  uint64_t align = c.alignment;
  if (c.max_segments && segment_limit(c))
    align = std::max(align, std::min(segment_limit(c), PhysLayout::kMaxOrderBytes));
  for (PhysZone z : {PhysZone::Normal, PhysZone::Dma32}) {
    std::vector<PhysExtent> ex;
    if (layout.alloc_scattered(z, size, PhysLayout::kMaxOrderBytes, 0, align, c.dma_mask, 0,
                               &ex)) {
      *out = Placement{z, std::move(ex)};
      if (!placement_meets(*out, c)) return true;
      layout.free(z, out->extents);
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
