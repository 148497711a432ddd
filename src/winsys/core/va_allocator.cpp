// wsys::VaAllocator: two-level segregated fit over GPU virtual addresses.
// The public calls: argument checks, the search, and the lazy lookups. The
// block mechanics are in va_allocator_impl.h, the consistency walk in
// va_allocator_check.cpp; design and measured figures in docs/va-allocator.md.
#include "wsys/va_allocator.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <new>

#include "winsys/core/va_allocator_impl.h"

namespace wsys {

using va_detail::Block;
using va_detail::class_fitting;
using va_detail::Class;
using va_detail::class_of;
using va_detail::Heap;
using va_detail::kFl;
using va_detail::is_pow2;
using va_detail::kFree;
using va_detail::kNil;
using va_detail::kUsed;
using va_detail::log2_floor;
using va_detail::place;

VaAllocator::VaAllocator(uint64_t granule) : impl_(nullptr), granule_(granule) {
  // An invalid granule leaves impl_ null: every call then fails with
  // -EINVAL (add_heap first of all), as no exception may leave a public call.
  if (!is_pow2(granule) || granule < 4096) return;
  impl_ = new (std::nothrow) Impl(static_cast<uint32_t>(log2_floor(granule)));
}

VaAllocator::~VaAllocator() { delete impl_; }

Result<VaAllocator::HeapId> VaAllocator::add_heap(uint64_t start, uint64_t size) {
  if (!impl_) return Error(is_pow2(granule_) && granule_ >= 4096 ? -ENOMEM : -EINVAL);
  Impl& m = *impl_;
  const uint64_t g = m.granule();
  if (size == 0 || (start | size) & (g - 1) || start > UINT64_MAX - size) return Error(-EINVAL);
  const uint64_t end = start + size;
  for (const auto& h : m.heaps)
    if (start < h->end && h->start < end) return Error(-EINVAL);
  if (m.heaps.size() >= va_detail::kMaxHeaps) return Error(-EINVAL);
  if (!m.make_room()) return Error(-ENOMEM);
  const HeapId id = static_cast<HeapId>(m.heaps.size());
  try {
    m.heaps.push_back(std::make_unique<Heap>());
    auto pos = std::upper_bound(m.by_start.begin(), m.by_start.end(), start,
                                [](uint64_t a, const auto& e) { return a < e.first; });
    m.by_start.insert(pos, {start, id});
  } catch (const std::bad_alloc&) {
    if (m.heaps.size() > id) m.heaps.pop_back();
    return Error(-ENOMEM);
  }
  Heap& h = *m.heaps[id];
  h.start = start;
  h.end = end;
  uint32_t f = m.pool.take();
  Block& b = m.pool[f];
  b.start = start;
  b.size = size;
  b.prev = b.next = kNil;
  b.set(id, kFree);
  b.set_tags(false, false);
  h.first = f;
  m.file_free(h, f);
  h.free_bytes = size;
  h.free_block_count = 1;
  return id;
}

Result<VaAllocation> VaAllocator::alloc(HeapId heap, uint64_t size, uint64_t align,
                                        uint32_t no_cross_log2) {
  if (!impl_) return Error(-EINVAL);
  Impl& m = *impl_;
  const uint64_t g = m.granule();
  if (heap >= m.heaps.size() || size == 0 || size > UINT64_MAX - (g - 1)) return Error(-EINVAL);
  if (align != 0 && !is_pow2(align)) return Error(-EINVAL);
  if (no_cross_log2 >= 64) return Error(-EINVAL);
  size = (size + g - 1) & ~(g - 1);
  align = std::max(align, g);
  const uint64_t window = no_cross_log2 ? uint64_t{1} << no_cross_log2 : 0;
  if (window && size > window) return Error(-EINVAL);
  Heap& h = *m.heaps[heap];
  if (size > h.end - h.start) return Error(-ENOMEM);
  if (!m.make_room()) return Error(-ENOMEM);

  // Good fit: ask for enough that ANY block of the class found can hold the
  // request whatever its start: the alignment slack, plus, when a window
  // constraint can bite (window > align), room to skip to the next line.
  // Counted in granules so nothing overflows.
  const uint32_t gl = m.granule_log2;
  uint64_t need = (size >> gl) + (align >> gl) - 1;
  if (window && align < window) need += (size >> gl) - 1;
  uint64_t s = 0;
  uint32_t f = m.find_at_or_above(h, class_fitting(need));
  if (f == kNil || !place(m.pool[f].start, m.pool[f].end(), size, align, window, &s)) {
    // Exact search of the classes the good fit skipped: a block there may
    // still hold it (it is smaller than the worst case but big enough for
    // its actual start). Classes below class_of(size) hold only smaller
    // blocks. Linear in those blocks, but only reached when the O(1) search
    // fails, i.e. when the heap is nearly out of room for this request.
    f = kNil;
    Class c = class_of(size >> gl);
    for (uint32_t fl = c.fl; fl < kFl && f == kNil; fl++) {
      if (!(h.fl_bitmap >> fl & 1)) continue;
      uint32_t sm = h.sl_bitmap[fl];
      if (fl == c.fl) sm &= ~0u << c.sl;
      while (sm && f == kNil) {
        const uint32_t sl = static_cast<uint32_t>(__builtin_ctz(sm));
        sm &= sm - 1;
        for (uint32_t i = h.heads[fl][sl]; i != kNil; i = m.pool[i].fnext) {
          if (place(m.pool[i].start, m.pool[i].end(), size, align, window, &s)) {
            f = i;
            break;
          }
        }
      }
    }
    if (f == kNil) return Error(-ENOMEM);
  }
  const uint32_t u = m.carve(heap, h, f, s, size);
  return VaAllocation{s, size, va_detail::make_handle(u, m.pool[u].generation)};
}

Result<VaAllocation> VaAllocator::alloc_fixed(uint64_t addr, uint64_t size) {
  if (!impl_) return Error(-EINVAL);
  Impl& m = *impl_;
  const uint64_t g = m.granule();
  if (size == 0 || size > UINT64_MAX - (g - 1) || (addr & (g - 1))) return Error(-EINVAL);
  size = (size + g - 1) & ~(g - 1);
  if (addr > UINT64_MAX - size) return Error(-EINVAL);
  const int hid = m.heap_at(addr);
  if (hid < 0) return Error(-EINVAL);
  Heap& h = *m.heaps[static_cast<size_t>(hid)];
  if (addr + size > h.end) return Error(-EINVAL);
  if (!m.make_room()) return Error(-ENOMEM);
  // Free neighbours are always merged, so the range is free iff one free
  // block holds all of it.
  const uint32_t f = m.free_block_at(h, addr);
  if (f == kNil || m.pool[f].end() < addr + size) return Error(-EBUSY);
  const uint32_t u = m.carve(static_cast<HeapId>(hid), h, f, addr, size);
  return VaAllocation{addr, size, va_detail::make_handle(u, m.pool[u].generation)};
}

Result<void> VaAllocator::free(const VaAllocation& a) {
  if (!impl_) return Error(-EINVAL);
  Impl& m = *impl_;
  const uint32_t i = a.block & va_detail::kIndexMask;
  if (i >= m.pool.size()) return Error(-EINVAL);
  const Block& b = m.pool[i];
  if (b.state() != kUsed || b.start != a.addr || b.size != a.size ||
      va_detail::make_handle(i, b.generation) != a.block)
    return Error(-EINVAL);
  m.release(i);
  return {};
}

Result<void> VaAllocator::free(uint64_t addr) {
  if (!impl_) return Error(-EINVAL);
  Impl& m = *impl_;
  m.file_all();
  const uint32_t u = m.index.find(addr, [&m, addr](uint32_t i) {
    return m.pool[i].start == addr && m.pool[i].state() == kUsed;
  });
  if (u == kNil) return Error(-EINVAL);
  m.release(u);
  return {};
}

bool VaAllocator::is_free(uint64_t addr, uint64_t size) const {
  if (!impl_ || size == 0 || addr > UINT64_MAX - size) return false;
  // Logically const; files queued free blocks in the treaps (callers
  // serialise every call, const or not).
  Impl& m = *impl_;
  const int hid = m.heap_at(addr);
  if (hid < 0) return false;
  Heap& h = *m.heaps[static_cast<size_t>(hid)];
  if (addr + size > h.end) return false;
  const uint32_t f = m.free_block_at(h, addr);
  return f != kNil && m.pool[f].end() >= addr + size;
}

std::vector<std::pair<uint64_t, uint64_t>> VaAllocator::free_ranges(HeapId heap) const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (!impl_ || heap >= impl_->heaps.size()) return out;
  const Impl& m = *impl_;
  for (uint32_t i = m.heaps[heap]->first; i != kNil; i = m.pool[i].next)
    if (m.pool[i].state() == kFree) out.emplace_back(m.pool[i].start, m.pool[i].end());
  return out;
}

size_t VaAllocator::heap_count() const { return impl_ ? impl_->heaps.size() : 0; }

VaHeapStats VaAllocator::stats(HeapId heap) const {
  VaHeapStats st;
  if (!impl_ || heap >= impl_->heaps.size()) return st;
  const Impl& m = *impl_;
  const Heap& h = *m.heaps[heap];
  st.start = h.start;
  st.end = h.end;
  st.allocated_bytes = h.allocated_bytes;
  st.allocation_count = h.allocation_count;
  st.free_bytes = h.free_bytes;
  st.free_block_count = h.free_block_count;
  if (h.fl_bitmap) {
    // The largest block is in the top non-empty class; only that list is
    // walked.
    const int fl = log2_floor(h.fl_bitmap);
    const int sl = log2_floor(h.sl_bitmap[fl]);
    for (uint32_t i = h.heads[fl][sl]; i != kNil; i = m.pool[i].fnext)
      st.largest_free_block = std::max(st.largest_free_block, m.pool[i].size);
  }
  if (st.free_bytes)
    st.fragmentation = 1.0 - static_cast<double>(st.largest_free_block) /
                                 static_cast<double>(st.free_bytes);
  return st;
}

void VaAllocator::reserve(size_t live_allocations) {
  if (!impl_) return;
  Impl& m = *impl_;
  // Each heap's blocks alternate at worst: n allocations and n + 1 holes per
  // heap. A failure here only means later calls may grow (or fail) instead.
  const size_t n = std::min(live_allocations, size_t{1} << 31);
  const size_t records = 2 * n + 2 * m.heaps.size() + 2;
  (void)m.pool.reserve(records);
  (void)m.index.reserve(n + 1);
  (void)m.unfiled.reserve(2 * m.pool.capacity() + 4);
}

uint64_t VaAllocator::pool_growth_count() const {
  return impl_ ? impl_->pool.growths() + impl_->index.growths() + impl_->unfiled.growths() : 0;
}

}  // namespace wsys
