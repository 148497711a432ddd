#include "winsys/sim/page_table.h"

#include <cassert>
#include <cerrno>
#include <cstring>
#include <new>

namespace wsys::sim {

namespace {

constexpr uint64_t k4K = 1ull << 12;
constexpr uint64_t k2M = 1ull << 21;

// Descriptor encoding: 0 empty; table: page pointer | 1; leaf (page or
// block): offset (4 KiB-aligned) | prot << 2 | 2.
constexpr uint64_t kKindMask = 3, kTable = 1, kLeaf = 2;

uint64_t kind(uint64_t e) { return e & kKindMask; }
PtPage* table_of(uint64_t e) { return reinterpret_cast<PtPage*>(e & ~kKindMask); }
uint64_t table_desc(PtPage* p) { return reinterpret_cast<uint64_t>(p) | kTable; }
uint64_t leaf_desc(uint64_t pa, uint32_t prot) {
  return (pa & ~(k4K - 1)) | (static_cast<uint64_t>(prot & 7u) << 2) | kLeaf;
}
uint64_t leaf_pa(uint64_t e) { return e & ~(k4K - 1); }
uint32_t leaf_prot(uint64_t e) { return static_cast<uint32_t>((e >> 2) & 7u); }

unsigned index_at(uint64_t va, unsigned level) {
  return static_cast<unsigned>((va / pt_entry_span(level)) % kPtEntriesPerTable);
}

uint64_t align_down(uint64_t v, uint64_t g) { return v & ~(g - 1); }
// Saturates instead of wrapping at the top of the 64-bit space.
uint64_t align_up(uint64_t v, uint64_t g) {
  uint64_t r = (v + g - 1) & ~(g - 1);
  return r < v ? ~(g - 1) : r;
}
// Number of g-sized regions [va, va + size) touches.
uint64_t span(uint64_t va, uint64_t size, uint64_t g) {
  if (size == 0) return 0;
  return (align_up(va + size, g) - align_down(va, g)) / g;
}

}  // namespace

// ---------------------------------------------------------------- PtPageList

int PtPageList::allocate(uint64_t n) {
  PtPageList fresh;
  for (uint64_t i = 0; i < n; i++) {
    auto* p = new (std::nothrow) PtPage;
    if (!p) return -ENOMEM;  // `fresh` frees what it got
    std::memset(p, 0, sizeof *p);
    fresh.push(p);
  }
  while (PtPage* p = fresh.pop()) push(p);
  return 0;
}

PtPage* PtPageList::pop() {
  PtPage* p = head_;
  if (p) {
    head_ = p->next;
    p->next = nullptr;
    count_--;
  }
  return p;
}

void PtPageList::push(PtPage* p) {
  p->next = head_;
  head_ = p;
  count_++;
}

void PtPageList::free_all() {
  while (PtPage* p = pop()) delete p;
}

// ----------------------------------------------------------------- PageTable

PageTable::PageTable() {
  root_ = new PtPage;
  std::memset(root_, 0, sizeof *root_);
  live_ = 1;
}

PageTable::~PageTable() {
  PtPageList dead;
  clear(dead);
  delete root_;
}

uint64_t PageTable::map_reservation(uint64_t va, uint64_t size) {
  return span(va, size, 1ull << 39) + span(va, size, 1ull << 30) + span(va, size, 1ull << 21);
}

uint64_t PageTable::unmap_reservation(uint64_t va, uint64_t size) {
  uint64_t n = 0;
  if (va != align_up(va, k2M)) n++;
  uint64_t end = va + size;
  if (end != align_up(end, k2M) && align_up(end, k2M) != align_up(va, k2M)) n++;
  return n;
}

int PageTable::reserve(PtPageList& rsv, uint64_t n) {
  int r = rsv.allocate(n);
  if (r == 0) reserved_ += n;
  return r;
}

void PageTable::give_back(PtPageList& rsv) {
  returned_ += rsv.size();
  rsv.free_all();
}

PtPage* PageTable::take(PtPageList& rsv, unsigned level) {
  PtPage* p = rsv.pop();
  if (!p) {
    overruns_++;
    return nullptr;
  }
  p->level = level;
  p->used = 0;
  used_++;
  live_++;
  return p;
}

void PageTable::release(PtPage* p, PtPageList& dead) {
  live_--;
  dead.push(p);
}

bool PageTable::map(uint64_t va, uint64_t size, uint64_t pa, uint32_t prot, PtPageList& rsv,
                    PtPageList& dead) {
  uint64_t done = 0;
  while (done < size) {
    uint64_t cur = va + done, cpa = pa + done, left = size - done;
    // Walk down to the level-2 table, creating tables from the reservation.
    PtPage* t = root_;
    bool ok = true;
    for (unsigned level = 0; level < 2 && ok; level++) {
      uint64_t& e = t->entry[index_at(cur, level)];
      if (kind(e) != kTable) {
        assert(e == 0);
        PtPage* n = take(rsv, level + 1);
        if (!n) {
          ok = false;
          break;
        }
        e = table_desc(n);
        t->used++;
      }
      t = table_of(e);
    }
    if (ok) {
      uint64_t& e2 = t->entry[index_at(cur, 2)];
      if (((cur | cpa) & (k2M - 1)) == 0 && left >= k2M && e2 == 0) {
        e2 = leaf_desc(cpa, prot);  // a 2 MiB block
        t->used++;
        done += k2M;
        continue;
      }
      if (kind(e2) != kTable) {
        assert(e2 == 0);
        PtPage* n = take(rsv, 3);
        if (n) {
          e2 = table_desc(n);
          t->used++;
        } else {
          ok = false;
        }
      }
      if (ok) {
        PtPage* l3 = table_of(e2);
        uint64_t region_end = align_down(cur, k2M) + k2M;
        uint64_t stop = region_end - cur < left ? region_end : cur + left;
        for (uint64_t a = cur; a < stop; a += k4K) {
          uint64_t& e3 = l3->entry[index_at(a, 3)];
          assert(e3 == 0);
          e3 = leaf_desc(cpa + (a - cur), prot);
          l3->used++;
        }
        done += stop - cur;
        continue;
      }
    }
    // Out of reserved pages: undo, leaving the tables as they were.
    prune(cur, dead);
    PtPageList none;
    unmap(va, done, none, dead);
    return false;
  }
  return true;
}

bool PageTable::unmap(uint64_t va, uint64_t size, PtPageList& rsv, PtPageList& dead) {
  bool ok = true;
  uint64_t cur = va, end = va + size;
  while (cur < end) {
    uint64_t& e0 = root_->entry[index_at(cur, 0)];
    if (kind(e0) != kTable) {
      cur = align_down(cur, pt_entry_span(0)) + pt_entry_span(0);
      if (cur == 0) break;  // wrapped: end of the address space
      continue;
    }
    PtPage* l1 = table_of(e0);
    uint64_t& e1 = l1->entry[index_at(cur, 1)];
    if (kind(e1) != kTable) {
      cur = align_down(cur, pt_entry_span(1)) + pt_entry_span(1);
      continue;
    }
    PtPage* l2 = table_of(e1);
    uint64_t& e2 = l2->entry[index_at(cur, 2)];
    uint64_t region = align_down(cur, k2M);
    uint64_t stop = end - region < k2M ? end : region + k2M;
    if (kind(e2) == kLeaf) {
      if (cur == region && stop == region + k2M) {
        e2 = 0;
        l2->used--;
      } else {
        // Split the block: a level-3 table mapping the same 512 pages.
        PtPage* l3 = take(rsv, 3);
        if (!l3) {
          ok = false;  // counted in take(); the whole block goes
          e2 = 0;
          l2->used--;
        } else {
          uint64_t base_pa = leaf_pa(e2);
          uint32_t prot = leaf_prot(e2);
          for (uint64_t i = 0; i < kPtEntriesPerTable; i++)
            l3->entry[i] = leaf_desc(base_pa + i * k4K, prot);
          l3->used = kPtEntriesPerTable;
          e2 = table_desc(l3);
        }
      }
    }
    if (kind(e2) == kTable) {
      PtPage* l3 = table_of(e2);
      for (uint64_t a = cur; a < stop; a += k4K) {
        uint64_t& e3 = l3->entry[index_at(a, 3)];
        if (e3) {
          e3 = 0;
          l3->used--;
        }
      }
    }
    prune(cur, dead);
    cur = stop;
  }
  return ok;
}

void PageTable::prune(uint64_t va, PtPageList& dead) {
  PtPage* path[kPtLevels] = {root_, nullptr, nullptr, nullptr};
  for (unsigned level = 0; level < 3; level++) {
    uint64_t e = path[level]->entry[index_at(va, level)];
    if (kind(e) != kTable) break;
    path[level + 1] = table_of(e);
  }
  for (unsigned level = 3; level >= 1; level--) {
    PtPage* t = path[level];
    if (!t || t->used) continue;
    PtPage* parent = path[level - 1];
    parent->entry[index_at(va, level - 1)] = 0;
    parent->used--;
    release(t, dead);
  }
}

void PageTable::clear_table(PtPage* t, PtPageList& dead) {
  for (uint64_t i = 0; i < kPtEntriesPerTable; i++) {
    uint64_t e = t->entry[i];
    if (kind(e) == kTable) {
      clear_table(table_of(e), dead);
      release(table_of(e), dead);
    }
    t->entry[i] = 0;
  }
  t->used = 0;
}

void PageTable::clear(PtPageList& dead) { clear_table(root_, dead); }

PageTable::Leaf PageTable::lookup(uint64_t va) const {
  const PtPage* t = root_;
  for (unsigned level = 0; level < kPtLevels; level++) {
    uint64_t e = t->entry[index_at(va, level)];
    if (kind(e) == kLeaf) return level == 3 ? Leaf::Page : Leaf::Block;
    if (kind(e) != kTable) return Leaf::None;
    t = table_of(e);
  }
  return Leaf::None;
}

PageTableCounters PageTable::counters() const {
  PageTableCounters c;
  c.reserved = reserved_.load();
  c.used = used_.load();
  c.returned = returned_.load();
  c.live = live_.load();
  c.overruns = overruns_.load();
  return c;
}

}  // namespace wsys::sim
