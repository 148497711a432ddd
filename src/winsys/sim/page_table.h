// The GPU page tables of one model VM, kept for accounting and for the
// kernel's pre-allocation rule.
//
// The CPU's MMU does the real translation (see vm.h); this structure mirrors
// what panthor's io-pgtable (ARM LPAE stage 1, 4 KiB granule, 4 levels) would
// hold: a root table (exists with the VM), a level-1 table per 512 GiB, a
// level-2 table per 1 GiB and a level-3 table per 2 MiB region touched. A
// level-2 entry is either a level-3 table or a 2 MiB block (used when va,
// the backing offset and the remaining size allow it); level-3 entries map
// 4 KiB pages. Unmapping part of a block splits it into a level-3 table.
// A table left empty by an unmap is unlinked and handed back to the caller
// for freeing later (never freed inside a fence signalling section).
//
// Pages are pre-allocated by the ioctl into a PtPageList with the kernel's
// worst-case formula (map_reservation / unmap_reservation); map() and unmap()
// take tables only from that list and never allocate. Needing more than was
// reserved is a bug of the formula: it is counted (overruns) and the step
// fails instead of allocating.
#pragma once

#include <atomic>
#include <cstdint>


namespace wsys::sim {

// Page-table page accounting (4 KiB table pages), cumulative except `live`.
struct PageTableCounters {
  uint64_t reserved = 0;  // pages reserved by ioctls (worst case)
  uint64_t used = 0;      // reserved pages the worker actually took
  uint64_t returned = 0;  // reserved pages handed back unused
  uint64_t live = 0;      // table pages currently in the tree (root included)
  uint64_t overruns = 0;  // times execution needed more than was reserved (a bug)
};

inline constexpr uint64_t kPtEntriesPerTable = 512;
inline constexpr unsigned kPtLevels = 4;

// Bytes one entry of a table at `level` covers (0 = root): 512 GiB, 1 GiB,
// 2 MiB, 4 KiB.
constexpr uint64_t pt_entry_span(unsigned level) { return 1ull << (39 - 9 * level); }

// One 4 KiB table page: 512 descriptors. `next` links pages in a PtPageList
// (reservations and pages waiting to be freed), so moving pages between
// lists never allocates.
struct PtPage {
  uint64_t entry[kPtEntriesPerTable];
  PtPage* next;
  uint32_t used;  // non-empty entries
  uint32_t level;
};

// An intrusive list of table pages. Owns them: whatever is still in the list
// when it is destroyed is freed (do that outside signalling sections).
class PtPageList {
 public:
  PtPageList() = default;
  ~PtPageList() { free_all(); }
  PtPageList(PtPageList&& o) noexcept : head_(o.head_), count_(o.count_) {
    o.head_ = nullptr;
    o.count_ = 0;
  }
  PtPageList& operator=(PtPageList&&) = delete;
  PtPageList(const PtPageList&) = delete;
  PtPageList& operator=(const PtPageList&) = delete;

  // Allocates `n` zeroed pages onto the list. 0 or -ENOMEM (then the list
  // is unchanged).
  int allocate(uint64_t n);
  PtPage* pop();  // null if empty
  void push(PtPage* p);
  uint64_t size() const { return count_; }
  void free_all();

 private:
  PtPage* head_ = nullptr;
  uint64_t count_ = 0;
};

class PageTable {
 public:
  PageTable();  // allocates the root (may throw std::bad_alloc)
  ~PageTable();
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  // The kernel's worst-case table pages for a MAP of [va, va + size):
  // span(2^39) + span(2^30) + span(2^21).
  static uint64_t map_reservation(uint64_t va, uint64_t size);
  // For an UNMAP: level-3 tables to split 2 MiB blocks at either end
  // (+1 if va is not 2 MiB-aligned, +1 if va + size is not and lies in
  // another 2 MiB block).
  static uint64_t unmap_reservation(uint64_t va, uint64_t size);

  // Reserves `n` pages into `rsv` (counted as reserved). 0 or -ENOMEM.
  int reserve(PtPageList& rsv, uint64_t n);
  // Hands back what is left of a reservation (counted as returned) and
  // frees it. Not inside a signalling section.
  void give_back(PtPageList& rsv);

  // --- run steps: no allocation, callers serialise them ---

  // Installs leaf entries for [va, va + size) backed by "physical" offset
  // `pa` (the BO offset). Tables come from `rsv`. On running out it counts
  // an overrun, removes what it installed and returns false.
  bool map(uint64_t va, uint64_t size, uint64_t pa, uint32_t prot, PtPageList& rsv,
           PtPageList& dead);
  // Clears [va, va + size). Blocks partially covered are split into a
  // level-3 table taken from `rsv`; emptied tables go to `dead`. If a split
  // finds `rsv` empty it counts an overrun, drops the whole block and
  // returns false.
  bool unmap(uint64_t va, uint64_t size, PtPageList& rsv, PtPageList& dead);
  // Unlinks every table but the root into `dead` (VM teardown).
  void clear(PtPageList& dead);

  // For tests: what maps `va`.
  enum class Leaf { None, Page, Block };
  Leaf lookup(uint64_t va) const;

  PageTableCounters counters() const;

 private:
  PtPage* take(PtPageList& rsv, unsigned level);
  void release(PtPage* p, PtPageList& dead);
  // Frees empty tables on the path to `va` (bottom up, never the root).
  void prune(uint64_t va, PtPageList& dead);
  void clear_table(PtPage* t, PtPageList& dead);

  PtPage* root_;
  std::atomic<uint64_t> reserved_{0}, used_{0}, returned_{0}, live_{0}, overruns_{0};
};

}  // namespace wsys::sim
