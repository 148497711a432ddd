// VaAllocator::check_invariants(): the O(n) walk that cross-checks every
// internal structure (tests call it after each step of their random runs).
#include <algorithm>
#include <vector>

#include "winsys/core/va_allocator_impl.h"

namespace wsys {

using va_detail::Block;
using va_detail::Class;
using va_detail::class_of;
using va_detail::Heap;
using va_detail::kFl;
using va_detail::kSl;
using va_detail::kFree;
using va_detail::kNil;
using va_detail::kUnused;
using va_detail::kUsed;

bool VaAllocator::check_invariants() const {
  if (!impl_) return true;
  const Impl& m = *impl_;
  const uint64_t g = m.granule();
  std::vector<uint8_t> seen(m.pool.size(), 0);
  size_t used_total = 0, filed_used = 0;
  std::vector<uint8_t> queued(m.pool.size(), 0);
  for (uint32_t i : m.unfiled.entries()) {
    if (i >= queued.size()) return false;
    queued[i] = 1;
  }
  for (size_t id = 0; id < m.heaps.size(); id++) {
    const Heap& h = *m.heaps[id];
    // The address list tiles [start, end) with no two free blocks adjacent.
    std::vector<uint32_t> free_in_order, in_tree_order, unfiled_used;
    uint64_t cursor = h.start, used_bytes = 0, used_count = 0, free_bytes = 0;
    uint32_t prev = kNil;
    bool prev_free = false;
    for (uint32_t i = h.first; i != kNil; i = m.pool[i].next) {
      if (i >= seen.size() || seen[i]) return false;
      seen[i] = 1;
      const Block& b = m.pool[i];
      if (b.prev != prev || b.start != cursor || b.size == 0 || (b.size & (g - 1)) ||
          b.heap() != id || b.size > h.end - cursor)
        return false;
      // Boundary tags match the neighbours' states.
      const bool next_free = b.next != kNil && b.next < m.pool.size() &&
                             m.pool[b.next].state() == kFree;
      if (b.prev_free != prev_free || b.next_free != next_free) return false;
      if (b.state() == kFree) {
        if (prev_free) return false;
        free_in_order.push_back(i);
        if (b.filed()) in_tree_order.push_back(i);
        free_bytes += b.size;
      } else if (b.state() == kUsed) {
        if (b.filed()) {
          if (m.index.find(b.start, [&](uint32_t v) { return m.pool[v].start == b.start; }) != i)
            return false;
          filed_used++;
        } else {
          unfiled_used.push_back(i);
        }
        used_bytes += b.size;
        used_count++;
      } else {
        return false;
      }
      prev_free = b.state() == kFree;
      cursor = b.end();
      prev = i;
    }
    if (cursor != h.end || used_bytes != h.allocated_bytes || used_count != h.allocation_count ||
        free_bytes != h.free_bytes || free_in_order.size() != h.free_block_count)
      return false;
    used_total += used_count;
    // Class lists and bitmaps: every free block in the list of its class.
    size_t listed = 0;
    for (uint32_t fl = 0; fl < kFl; fl++) {
      if (((h.fl_bitmap >> fl) & 1) != (h.sl_bitmap[fl] != 0)) return false;
      for (uint32_t sl = 0; sl < kSl; sl++) {
        if (((h.sl_bitmap[fl] >> sl) & 1) != (h.heads[fl][sl] != kNil)) return false;
        uint32_t fprev = kNil;
        for (uint32_t i = h.heads[fl][sl]; i != kNil; i = m.pool[i].fnext) {
          const Block& b = m.pool[i];
          const Class c = class_of(b.size >> m.granule_log2);
          if (b.state() != kFree || b.heap() != id || b.fprev != fprev || c.fl != fl ||
              c.sl != sl || ++listed > h.free_block_count)
            return false;
          fprev = i;
        }
      }
    }
    if (listed != h.free_block_count) return false;
    // The treap: in order it is the free blocks in address order; every
    // parent outranks its children.
    std::vector<uint32_t> stack, in_order;
    for (uint32_t t = h.root; t != kNil || !stack.empty();) {
      if (t != kNil) {
        if (stack.size() > m.pool.size() || !m.pool[t].filed() ||
            m.pool[t].state() != kFree)
          return false;  // a cycle, or a node that is not a filed free block
        for (uint32_t c : {m.pool[t].left, m.pool[t].right})
          if (c != kNil && va_detail::treap_priority(c) > va_detail::treap_priority(t))
            return false;
        stack.push_back(t);
        t = m.pool[t].left;
      } else {
        t = stack.back();
        stack.pop_back();
        in_order.push_back(t);
        if (in_order.size() > in_tree_order.size()) return false;
        t = m.pool[t].right;
      }
    }
    if (in_order != in_tree_order) return false;
    // Every block outside its index is queued.
    for (uint32_t i : free_in_order)
      if (!m.pool[i].filed() && !queued[i]) return false;
    for (uint32_t i : unfiled_used)
      if (!queued[i]) return false;
  }
  if (m.index.size() != filed_used || m.used_blocks != used_total) return false;
  bool index_ok = true;
  m.index.for_each([&](uint32_t v) {
    if (v >= m.pool.size() || m.pool[v].state() != kUsed || !m.pool[v].filed()) index_ok = false;
  });
  if (!index_ok) return false;
  size_t unused = 0;
  for (uint32_t i = 0; i < m.pool.size(); i++) {
    if (m.pool[i].heap_state & Block::kMark) return false;  // compact() leaves none
    if (m.pool[i].state() == kUnused) {
      if (seen[i]) return false;
      unused++;
    } else if (!seen[i]) {
      return false;  // a live record no heap reaches
    }
  }
  return unused == m.pool.unused_count();
}

}  // namespace wsys
