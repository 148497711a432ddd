#include "winsys/sim/phys_layout.h"

#include <algorithm>
#include <cstring>

namespace wsys::sim {

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

void PhysLayout::init_zone(Zone& z, uint64_t base, uint64_t size) {
  z.base = base;
  z.size = size & ~(kPage - 1);
  z.used = z.peak = 0;
  z.nfree = 0;
  if (z.size) z.free[z.nfree++] = {z.base, z.size};
}

PhysLayout::PhysLayout(const PhysLayoutConfig& cfg) {
  // The low 16 MiB stay reserved (firmware, the kernel image): never handed out.
  const uint64_t cma = std::min<uint64_t>(cfg.cma_size, k4G - (16ull << 20));
  const uint64_t dma32 = std::min<uint64_t>(cfg.dma32_size, k4G - (16ull << 20) - cma);
  init_zone(dma32_, 16ull << 20, dma32);
  init_zone(cma_, k4G - align_up(cma, kPage), cma);
  init_zone(normal_, k4G, cfg.normal_size);
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

uint32_t PhysLayout::find_range(const Zone& zn, uint64_t addr) {
  // The last range starting at or before addr.
  const Range* end = zn.free + zn.nfree;
  const Range* it = std::upper_bound(zn.free + 0, end, addr,
                                     [](uint64_t a, const Range& r) { return a < r.start; });
  if (it == zn.free) return zn.nfree;
  --it;
  return addr < it->start + it->len ? static_cast<uint32_t>(it - zn.free) : zn.nfree;
}

// Removes [start, start+len) from the free range that contains it. The
// caller has checked there is room for one more range (a split).
void PhysLayout::take(Zone& zn, uint64_t start, uint64_t len) {
  const uint32_t i = find_range(zn, start);
  const Range r = zn.free[i];
  const bool head = start > r.start, tail = start + len < r.start + r.len;
  if (head && tail) {
    std::memmove(&zn.free[i + 2], &zn.free[i + 1], (zn.nfree - i - 1) * sizeof(Range));
    zn.nfree++;
    zn.free[i] = {r.start, start - r.start};
    zn.free[i + 1] = {start + len, r.start + r.len - (start + len)};
  } else if (head) {
    zn.free[i].len = start - r.start;
  } else if (tail) {
    zn.free[i] = {start + len, r.start + r.len - (start + len)};
  } else {
    std::memmove(&zn.free[i], &zn.free[i + 1], (zn.nfree - i - 1) * sizeof(Range));
    zn.nfree--;
  }
  zn.used += len;
  zn.peak = std::max(zn.peak, zn.used);
}

// Returns [start, start+len) to the free list, merging with its neighbours.
// Never needs more room than the extent it returns took.
void PhysLayout::give(Zone& zn, uint64_t start, uint64_t len) {
  Range* end = zn.free + zn.nfree;
  const uint32_t next = static_cast<uint32_t>(
      std::lower_bound(zn.free + 0, end, start,
                       [](const Range& r, uint64_t a) { return r.start < a; }) -
      zn.free);
  const bool merge_next = next < zn.nfree && zn.free[next].start == start + len;
  const bool merge_prev = next > 0 && zn.free[next - 1].start + zn.free[next - 1].len == start;
  if (merge_prev && merge_next) {
    zn.free[next - 1].len += len + zn.free[next].len;
    std::memmove(&zn.free[next], &zn.free[next + 1], (zn.nfree - next - 1) * sizeof(Range));
    zn.nfree--;
  } else if (merge_prev) {
    zn.free[next - 1].len += len;
  } else if (merge_next) {
    zn.free[next] = {start, len + zn.free[next].len};
  } else if (zn.nfree < kMaxFreeRanges) {
    std::memmove(&zn.free[next + 1], &zn.free[next], (zn.nfree - next) * sizeof(Range));
    zn.free[next] = {start, len};
    zn.nfree++;
  }
}

bool PhysLayout::alloc_single(PhysZone z, uint64_t size, uint64_t align, uint64_t limit,
                              PhysExtent* out) {
  if (z == PhysZone::None || size == 0) return false;
  Zone& zn = zone(z);
  if (zn.nfree >= kMaxFreeRanges) return false;  // no room for a split
  size = align_up(size, kPage);
  align = std::max(align, kPage);
  for (uint32_t i = 0; i < zn.nfree; i++) {
    const uint64_t fs = zn.free[i].start, fl = zn.free[i].len;
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
  // Plan first, so failure changes nothing.
  std::vector<PhysExtent> plan;
  uint64_t left = size;
  for (uint32_t i = 0; i < zn.nfree; i++) {
    const uint64_t fs = zn.free[i].start, fl = zn.free[i].len;
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
  // Each take splits at most one range in two.
  if (zn.nfree + plan.size() > kMaxFreeRanges) return false;
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
  const Zone& zn = zone(z);
  uint64_t best = 0;
  for (uint32_t i = 0; i < zn.nfree; i++) best = std::max(best, zn.free[i].len);
  return best;
}

void PhysLayout::reset_peaks() {
  for (Zone* z : {&normal_, &dma32_, &cma_}) z->peak = z->used;
}

size_t PhysLayout::rebuild(std::vector<UsedExtent> used) {
  for (Zone* z : {&normal_, &dma32_, &cma_}) {
    const uint64_t peak = z->peak;
    init_zone(*z, z->base, z->size);
    z->peak = peak;
  }
  std::sort(used.begin(), used.end(),
            [](const UsedExtent& a, const UsedExtent& b) { return a.e.addr < b.e.addr; });
  size_t dropped = 0;
  for (const UsedExtent& u : used) {
    if (u.zone == PhysZone::None || u.e.size == 0) continue;
    Zone& zn = zone(u.zone);
    const uint32_t i = find_range(zn, u.e.addr);
    // Whole inside one free range (so inside the zone, overlapping nothing kept).
    if (i == zn.nfree || u.e.addr + u.e.size > zn.free[i].start + zn.free[i].len ||
        zn.nfree >= kMaxFreeRanges) {
      dropped++;
      continue;
    }
    take(zn, u.e.addr, u.e.size);
  }
  return dropped;
}

}  // namespace wsys::sim
