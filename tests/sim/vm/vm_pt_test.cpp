// The page-table model: the kernel's worst-case reservation, what the run
// step takes, blocks and splits, and that tables go away when empty.
#include <random>

#include "vm_test_util.h"
#include "winsys/sim/bind_queue.h"
#include "winsys/sim/page_table.h"

namespace wsys::sim::vmtest {
namespace {

#if defined(WSYS_SANITIZE_THREAD) || defined(WSYS_SANITIZE_ADDRESS)
constexpr int kRandomOps = 400;
#else
constexpr int kRandomOps = 1500;
#endif

TEST(PageTableFormula, KernelExamples) {
  // From the reference: 4 KiB at 0x10000 -> 3; 64 MiB 2 MiB-aligned inside
  // one GiB -> 34.
  EXPECT_EQ(PageTable::map_reservation(0x10000, k4K), 3u);
  EXPECT_EQ(PageTable::map_reservation(k1G + k2M, 64ull << 20), 34u);
  // Crossing a 1 GiB and a 512 GiB boundary: two of every level.
  EXPECT_EQ(PageTable::map_reservation((512ull << 30) - k4K, 2 * k4K), 6u);
  EXPECT_EQ(PageTable::map_reservation(k1G - k4K, 2 * k4K), 5u);
  EXPECT_EQ(PageTable::map_reservation(0, 0), 0u);
  // UNMAP: +1 for an unaligned start, +1 for an unaligned end in another
  // 2 MiB block.
  EXPECT_EQ(PageTable::unmap_reservation(0, k2M), 0u);
  EXPECT_EQ(PageTable::unmap_reservation(k4K, k4K), 1u);
  EXPECT_EQ(PageTable::unmap_reservation(0, k4K), 1u);
  EXPECT_EQ(PageTable::unmap_reservation(k4K, k2M), 2u);
  EXPECT_EQ(PageTable::unmap_reservation(k4K, k2M - k4K), 1u);
  EXPECT_EQ(PageTable::unmap_reservation(k2M - k4K, 2 * k4K), 2u);
}

class VmPageTables : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panthor");
    ASSERT_TRUE(f);
    ASSERT_EQ(vm_create(*f, &vm_id, &user_end), 0);
    vm = vm_of(*f, vm_id);
    ASSERT_TRUE(vm);
  }

  PageTableCounters delta(const PageTableCounters& before) {
    PageTableCounters now = vm->pt_counters(), d;
    d.reserved = now.reserved - before.reserved;
    d.used = now.used - before.used;
    d.returned = now.returned - before.returned;
    d.live = now.live;
    d.overruns = now.overruns - before.overruns;
    return d;
  }

  std::unique_ptr<SimDrmFile> f;
  uint32_t vm_id = 0;
  uint64_t user_end = 0;
  SimVmPtr vm;
};

TEST_F(VmPageTables, RootExistsWithTheVm) {
  PageTableCounters c = vm->pt_counters();
  EXPECT_EQ(c.live, 1u);
  EXPECT_EQ(c.reserved, 0u);
}

TEST_F(VmPageTables, FourKAt0x10000ReservesThreeAndUsesThem) {
  uint32_t bo = bo_create(*f, k4K);
  PageTableCounters b = vm->pt_counters();
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 0x10000, k4K), 0);
  PageTableCounters d = delta(b);
  EXPECT_EQ(d.reserved, 3u);
  EXPECT_EQ(d.used, 3u);  // a fresh VM: level 1, 2 and 3 tables
  EXPECT_EQ(d.returned, 0u);
  EXPECT_EQ(d.live, 4u);
  EXPECT_EQ(vm->pt_leaf(0x10000), 1);
  // A second page in the same 2 MiB region needs no new table.
  b = vm->pt_counters();
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 0x20000, k4K), 0);
  d = delta(b);
  EXPECT_EQ(d.reserved, 3u);
  EXPECT_EQ(d.used, 0u);
  EXPECT_EQ(d.returned, 3u);
  // Unmapping: one page for a split (start not 2 MiB-aligned), unused.
  b = vm->pt_counters();
  ASSERT_EQ(unmap_sync(*f, vm_id, 0x10000, k4K), 0);
  d = delta(b);
  EXPECT_EQ(d.reserved, 1u);
  EXPECT_EQ(d.used, 0u);
  EXPECT_EQ(d.returned, 1u);
  EXPECT_EQ(d.live, 4u);  // 0x20000 still mapped
  ASSERT_EQ(unmap_sync(*f, vm_id, 0x20000, k4K), 0);
  EXPECT_EQ(vm->pt_counters().live, 1u);  // empty tables are freed
  EXPECT_EQ(vm->pt_leaf(0x20000), 0);
}

TEST_F(VmPageTables, SixtyFourMiBAlignedIn1GiBUsesBlocks) {
  const uint64_t size = 64ull << 20;
  uint32_t bo = bo_create(*f, size + k2M);
  PageTableCounters b = vm->pt_counters();
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, k1G + k2M, size), 0);
  PageTableCounters d = delta(b);
  EXPECT_EQ(d.reserved, 34u);
  EXPECT_EQ(d.used, 2u);  // level 1 and 2; 32 block entries, no level 3
  EXPECT_EQ(d.returned, 32u);
  EXPECT_EQ(d.live, 3u);
  for (uint64_t o = 0; o < size; o += k2M) EXPECT_EQ(vm->pt_leaf(k1G + k2M + o), 2) << o;
  ASSERT_EQ(unmap_sync(*f, vm_id, k1G + k2M, size), 0);
  EXPECT_EQ(vm->pt_counters().live, 1u);

  // Same range backed from a BO offset that is not 2 MiB-aligned: 4 KiB
  // pages, so all 34 reserved pages are needed.
  b = vm->pt_counters();
  ASSERT_EQ(map_sync(*f, vm_id, bo, k4K, k1G + k2M, size), 0);
  d = delta(b);
  EXPECT_EQ(d.reserved, 34u);
  EXPECT_EQ(d.used, 34u);
  EXPECT_EQ(d.returned, 0u);
  EXPECT_EQ(vm->pt_leaf(k1G + k2M), 1);
  EXPECT_EQ(vm->pt_counters().overruns, 0u);
}

TEST_F(VmPageTables, PartialUnmapSplitsABlockWithTheReservedPage) {
  uint32_t bo = bo_create(*f, k2M);
  uint8_t* cpu = bo_mmap(*f, bo, k2M);
  ASSERT_TRUE(cpu);
  fill_tags(cpu, 9, k2M);
  const uint64_t va = 4 * k2M;
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, va, k2M), 0);
  ASSERT_EQ(vm->pt_leaf(va), 2);
  PageTableCounters b = vm->pt_counters();
  ASSERT_EQ(unmap_sync(*f, vm_id, va + 8 * k4K, k4K), 0);
  PageTableCounters d = delta(b);
  EXPECT_EQ(d.reserved, 1u);
  EXPECT_EQ(d.used, 1u);  // the level-3 table the block became
  EXPECT_EQ(d.overruns, 0u);
  EXPECT_EQ(d.live, 4u);
  EXPECT_EQ(vm->pt_leaf(va), 1);
  EXPECT_EQ(vm->pt_leaf(va + 8 * k4K), 0);
  EXPECT_EQ(vm->pt_leaf(va + 9 * k4K), 1);
  EXPECT_EQ(read_tag(vm->gpu_view(va + 9 * k4K)), page_tag(9, 9));
  EXPECT_EQ(read_tag(vm->gpu_view(va + 7 * k4K)), page_tag(9, 7));

  // A MAP over part of a block splits it from the MAP's own reservation.
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 6 * k2M, k2M), 0);
  ASSERT_EQ(vm->pt_leaf(6 * k2M), 2);
  b = vm->pt_counters();
  ASSERT_EQ(map_sync(*f, vm_id, bo, 100 * k4K, 6 * k2M + 3 * k4K, 2 * k4K), 0);
  d = delta(b);
  EXPECT_EQ(d.reserved, 3u);
  EXPECT_EQ(d.used, 1u);
  EXPECT_EQ(d.overruns, 0u);
  EXPECT_EQ(read_tag(vm->gpu_view(6 * k2M + 3 * k4K)), page_tag(9, 100));
  EXPECT_EQ(read_tag(vm->gpu_view(6 * k2M + 5 * k4K)), page_tag(9, 5));
  munmap(cpu, k2M);
}

TEST_F(VmPageTables, UnmapSpanningTwoBlocksSplitsBoth) {
  uint32_t bo = bo_create(*f, 2 * k2M);
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 8 * k2M, 2 * k2M), 0);
  PageTableCounters b = vm->pt_counters();
  ASSERT_EQ(unmap_sync(*f, vm_id, 8 * k2M + k4K, k2M), 0);
  PageTableCounters d = delta(b);
  EXPECT_EQ(d.reserved, 2u);
  EXPECT_EQ(d.used, 2u);
  EXPECT_EQ(d.overruns, 0u);
  EXPECT_EQ(vm->mapping_count(), 2u);
}

// Random maps and unmaps over a window that crosses a 1 GiB boundary,
// checked against a shadow of what each page should show: GPU view
// contents, inaccessible holes, page-table leaves, the live table count,
// and that no op ever needed more pages than it reserved.
class VmRandomBinds : public VmPageTables, public ::testing::WithParamInterface<bool> {};

TEST_P(VmRandomBinds, ExecutionStaysWithinTheReservation) {
  VMTEST_REQUIRE_PROBES();
  const bool async = GetParam();
  const uint64_t kBoSize = 8ull << 20;
  const uint64_t base = k1G - 6 * k2M, window = 12 * k2M, pages = window / k4K;
  uint32_t bos[3] = {0, bo_create(*f, kBoSize), bo_create(*f, kBoSize)};
  for (uint32_t id = 1; id <= 2; id++) {
    uint8_t* cpu = bo_mmap(*f, bos[id], kBoSize);
    ASSERT_TRUE(cpu);
    fill_tags(cpu, id, kBoSize);
    munmap(cpu, kBoSize);
  }
  uint32_t timeline = async ? syncobj_create(*f) : 0;
  uint64_t point = 0;
  std::vector<uint64_t> shadow(pages, 0);
  std::mt19937_64 rng(async ? 0xa5a5 : 0x5a5a);
  auto pick = [&](uint64_t n) { return rng() % n; };
  int blocks_seen = 0, splits_needed = 0;

  auto make_op = [&](drm_panthor_vm_bind_op* op) {
    bool aligned = pick(10) < 3;
    uint64_t va, size, off = 0;
    if (aligned) {
      va = base + pick(window / k2M) * k2M;
      size = (1 + pick(3)) * k2M;
      off = pick(kBoSize / k2M) * k2M;
    } else {
      va = base + pick(pages) * k4K;
      size = (1 + pick(pick(4) == 0 ? 1024 : 40)) * k4K;
      off = pick(kBoSize / k4K) * k4K;
    }
    size = std::min(size, base + window - va);
    if (off + size > kBoSize) off = kBoSize - size;
    if (pick(2)) {
      uint32_t id = 1 + static_cast<uint32_t>(pick(2));
      *op = map_op(bos[id], off, va, size);
      for (uint64_t p = 0; p < size / k4K; p++)
        shadow[(va - base) / k4K + p] = page_tag(id, off / k4K + p);
    } else {
      *op = unmap_op(va, size);
      for (uint64_t p = 0; p < size / k4K; p++) shadow[(va - base) / k4K + p] = 0;
      if (vm->pt_leaf(va) == 2 || vm->pt_leaf(va + size - k4K) == 2) splits_needed++;
    }
  };

  auto verify = [&](int step) {
    SCOPED_TRACE(step);
    // Sampled contents and leaves.
    for (int i = 0; i < 48; i++) {
      uint64_t p = pick(pages);
      const uint8_t* g = vm->gpu_view(base + p * k4K);
      if (shadow[p]) {
        ASSERT_EQ(read_tag(g), shadow[p]) << "page " << p;
        ASSERT_NE(vm->pt_leaf(base + p * k4K), 0);
      } else {
        ASSERT_EQ(probe_read(g), 0) << "page " << p;
        ASSERT_EQ(vm->pt_leaf(base + p * k4K), 0);
      }
    }
    // Live tables: exactly the level-1/level-2 tables of regions holding a
    // mapping, plus a level-3 table for each such 2 MiB region not mapped
    // by a block.
    uint64_t l1 = 0, l2 = 0, l3 = 0;
    bool any = false, any_low = false, any_high = false;
    for (uint64_t r = 0; r < window / k2M; r++) {
      uint64_t first = 0;
      bool mapped = false;
      for (uint64_t p = r * 512; p < (r + 1) * 512; p++)
        if (shadow[p]) {
          first = p;
          mapped = true;
          break;
        }
      if (!mapped) continue;
      any = true;
      (base + r * k2M < k1G ? any_low : any_high) = true;
      int leaf = vm->pt_leaf(base + first * k4K);
      if (leaf == 1) l3++;
      if (leaf == 2) blocks_seen++;
    }
    l1 = any ? 1 : 0;
    l2 = (any_low ? 1 : 0) + (any_high ? 1 : 0);
    ASSERT_EQ(vm->pt_counters().live, 1 + l1 + l2 + l3);
  };

  for (int step = 0; step < kRandomOps;) {
    PageTableCounters before = vm->pt_counters();
    if (!async) {
      drm_panthor_vm_bind_op op;
      make_op(&op);
      ASSERT_EQ(bind(*f, vm_id, {op}, false), 0);
      step++;
    } else {
      // A few ioctls of a few ops each in flight, then wait for the last.
      int ioctls = 1 + static_cast<int>(pick(3));
      for (int k = 0; k < ioctls; k++) {
        std::vector<drm_panthor_vm_bind_op> ops(1 + pick(4));
        for (auto& op : ops) make_op(&op);
        std::vector<drm_panthor_sync_op> sig = {signal_sync(timeline, ++point)};
        attach(ops.back(), sig);
        ASSERT_EQ(bind(*f, vm_id, ops, true), 0);
        step += static_cast<int>(ops.size());
      }
      ASSERT_EQ(syncobj_wait(*f, timeline, point), 0);
      ASSERT_EQ(syncobj_error(*f, timeline, point), 0);
      vm->bind_queue()->wait_idle();  // the last job's leftovers are back
    }
    PageTableCounters d = delta(before);
    ASSERT_EQ(d.overruns, 0u);
    ASSERT_LE(d.used, d.reserved);
    ASSERT_EQ(d.reserved, d.used + d.returned) << "leftovers are returned after each op";
    verify(step);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(blocks_seen, 0) << "the random ops never produced a 2 MiB block";
  EXPECT_GT(splits_needed, 0) << "the random ops never split a block";

  // Unmapping everything returns the tree to its root, and only then.
  ASSERT_GT(vm->pt_counters().live, 1u);
  ASSERT_EQ(unmap_sync(*f, vm_id, base, window / 2), 0);
  bool upper_mapped = false;
  for (uint64_t p = pages / 2; p < pages; p++) upper_mapped |= shadow[p] != 0;
  if (upper_mapped) {
    EXPECT_GT(vm->pt_counters().live, 1u);
  }
  ASSERT_EQ(unmap_sync(*f, vm_id, base + window / 2, window / 2), 0);
  PageTableCounters c = vm->pt_counters();
  EXPECT_EQ(c.live, 1u);
  EXPECT_EQ(c.overruns, 0u);
  EXPECT_EQ(c.reserved, c.used + c.returned);
  EXPECT_EQ(vm->mapping_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(SyncAndAsync, VmRandomBinds, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Async" : "Sync";
                         });

}  // namespace
}  // namespace wsys::sim::vmtest
