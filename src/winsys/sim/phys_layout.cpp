#include "winsys/sim/phys_layout.h"

#include <algorithm>
#include <iterator>

namespace wsys::sim {

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

PhysLayout::PhysLayout(const PhysLayoutConfig& cfg) {
  auto init = [](Zone& z, uint64_t base, uint64_t size) {
    z.base = base;
    z.size = size & ~(kPage - 1);
    if (z.size) z.free[z.base] = z.size;
  };
  // The low 16 MiB stay reserved (firmware, the kernel image): never handed out.
  const uint64_t cma = std::min<uint64_t>(cfg.cma_size, k4G - (16ull << 20));
  const uint64_t dma32 = std::min<uint64_t>(cfg.dma32_size, k4G - (16ull << 20) - cma);
  init(dma32_, 16ull << 20, dma32);
  init(cma_, k4G - align_up(cma, kPage), cma);
  init(normal_, k4G, cfg.normal_size);
}

PhysLayout::Zone& PhysLayout::zone(PhysZone z) {
  return z == PhysZone::Cma ? cma_ : z == PhysZone::Dma32 ? dma32_ : normal_;
}
const PhysLayout::Zone& PhysLayout::zone(PhysZone z) const {
  return z == PhysZone::Cma ? cma_ : z == PhysZone::Dma32 ? dma32_ : normal_;
}

PhysExtent PhysLayout::zone_range(PhysZone z) const {
  if (z == PhysZone::None) return {};
  const Zone& zn = zone(z);
  return {zn.base, zn.size};
}

// Removes [start, start+len) from the free range that contains it.
void PhysLayout::take(Zone& zn, uint64_t start, uint64_t len) {
  auto it = std::prev(zn.free.upper_bound(start));
  const uint64_t fs = it->first, fl = it->second;
  zn.free.erase(it);
  if (start > fs) zn.free[fs] = start - fs;
  if (start + len < fs + fl) zn.free[start + len] = fs + fl - (start + len);
  zn.used += len;
  zn.peak = std::max(zn.peak, zn.used);
}

// Returns [start, start+len) to the free list, merging with its neighbours.
void PhysLayout::give(Zone& zn, uint64_t start, uint64_t len) {
  auto next = zn.free.lower_bound(start);
  if (next != zn.free.end() && next->first == start + len) {
    len += next->second;
    next = zn.free.erase(next);
  }
  if (next != zn.free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      prev->second += len;
      return;
    }
  }
  zn.free[start] = len;
}

bool PhysLayout::alloc_single(PhysZone z, uint64_t size, uint64_t align, uint64_t limit,
                              PhysExtent* out) {
  if (z == PhysZone::None || size == 0) return false;
  Zone& zn = zone(z);
  size = align_up(size, kPage);
  align = std::max(align, kPage);
  for (const auto& [fs, fl] : zn.free) {
    const uint64_t s = align_up(fs, align);
    if (s + size > fs + fl) continue;
    if (s + size - 1 > limit) return false;  // ranges only go up from here
    take(zn, s, size);
    *out = {s, size};
    return true;
  }
  return false;
}

bool PhysLayout::alloc_scattered(PhysZone z, uint64_t size, uint64_t max_extent,
                                 uint64_t boundary, uint64_t align, uint64_t limit,
                                 uint32_t max_extents, std::vector<PhysExtent>* out) {
  if (z == PhysZone::None || size == 0) return false;
  Zone& zn = zone(z);
  size = align_up(size, kPage);
  align = std::max(align, kPage);
  max_extent = std::max<uint64_t>(kPage, max_extent & ~(kPage - 1));
  // Plan on a copy of the free list, so failure changes nothing.
  std::vector<PhysExtent> plan;
  uint64_t left = size;
  for (const auto& [fs, fl] : zn.free) {
    uint64_t s = align_up(fs, align);
    while (left && s < fs + fl) {
      uint64_t len = std::min({left, max_extent, fs + fl - s});
      if (boundary) len = std::min(len, align_up(s + 1, boundary) - s);
      len &= ~(kPage - 1);
      if (!len || s + len - 1 > limit) break;
      plan.push_back({s, len});
      left -= len;
      s = align_up(s + len, align);
    }
    if (!left) break;
    if (max_extents && plan.size() > max_extents) return false;
  }
  if (left || (max_extents && plan.size() > max_extents)) return false;
  for (const PhysExtent& e : plan) take(zn, e.addr, e.size);
  *out = std::move(plan);
  return true;
}

void PhysLayout::free(PhysZone z, const std::vector<PhysExtent>& extents) {
  if (z == PhysZone::None) return;
  Zone& zn = zone(z);
  for (const PhysExtent& e : extents) {
    zn.used -= std::min(zn.used, e.size);
    give(zn, e.addr, e.size);
  }
}

uint64_t PhysLayout::used_bytes(PhysZone z) const { return z == PhysZone::None ? 0 : zone(z).used; }
uint64_t PhysLayout::peak_bytes(PhysZone z) const { return z == PhysZone::None ? 0 : zone(z).peak; }

uint64_t PhysLayout::largest_free(PhysZone z) const {
  if (z == PhysZone::None) return 0;
  uint64_t best = 0;
  for (const auto& [s, l] : zone(z).free) best = std::max(best, l);
  return best;
}

void PhysLayout::reset_peaks() {
  for (Zone* z : {&normal_, &dma32_, &cma_}) z->peak = z->used;
}

}  // namespace wsys::sim
