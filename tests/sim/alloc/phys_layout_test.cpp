// The model's simulated physical layout and placement policy on their own
// (phys_layout.h, dma_constraints.h): first fit, coalescing, fragmentation
// of the contiguous region, all-or-nothing scattered allocation, segment
// counting.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/dma_constraints.h"
#include "winsys/sim/phys_layout.h"

namespace wsys::sim {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

PhysLayoutConfig small() {
  PhysLayoutConfig c;
  c.dma32_size = 64 * kMiB;
  c.cma_size = 16 * kMiB;
  c.normal_size = 64 * kMiB;
  return c;
}

TEST(PhysLayout, FreedRangesCoalesce) {
  PhysLayout l(small());
  std::vector<PhysExtent> got;
  for (int i = 0; i < 4; i++) {
    PhysExtent e;
    ASSERT_TRUE(l.alloc_single(PhysZone::Cma, 4 * kMiB, PhysLayout::kPage, ~0ull, &e));
    got.push_back(e);
  }
  EXPECT_EQ(l.used_bytes(PhysZone::Cma), 16 * kMiB);
  EXPECT_EQ(l.largest_free(PhysZone::Cma), 0u);
  l.free(PhysZone::Cma, {got[1]});
  l.free(PhysZone::Cma, {got[3]});
  l.free(PhysZone::Cma, {got[2]});
  EXPECT_EQ(l.largest_free(PhysZone::Cma), 12 * kMiB);
  l.free(PhysZone::Cma, {got[0]});
  EXPECT_EQ(l.largest_free(PhysZone::Cma), 16 * kMiB);
  EXPECT_EQ(l.used_bytes(PhysZone::Cma), 0u);
  EXPECT_EQ(l.peak_bytes(PhysZone::Cma), 16 * kMiB);
}

// The free ranges are a fixed array (the layout lives in a file several
// processes map): when it is full an allocation that could split a range
// is refused and changes nothing; a free that merges makes room again.
TEST(PhysLayout, AFullFreeRangeTableRefusesInsteadOfOverflowing) {
  PhysLayoutConfig c = small();
  c.cma_size = 128 * kMiB;  // 32768 pages
  auto l = std::make_unique<PhysLayout>(c);
  std::vector<PhysExtent> pages;
  PhysExtent e;
  while (l->alloc_single(PhysZone::Cma, PhysLayout::kPage, PhysLayout::kPage, ~0ull, &e))
    pages.push_back(e);
  ASSERT_EQ(pages.size(), 32768u);
  // Every other page freed: one free range each, up to the table's size.
  for (uint32_t i = 0; i < PhysLayout::kMaxFreeRanges; i++)
    l->free(PhysZone::Cma, {pages[2 * i + 1]});
  const uint64_t used = l->used_bytes(PhysZone::Cma);
  EXPECT_EQ(used, (32768u - PhysLayout::kMaxFreeRanges) * PhysLayout::kPage);
  EXPECT_FALSE(l->alloc_single(PhysZone::Cma, PhysLayout::kPage, PhysLayout::kPage, ~0ull, &e));
  std::vector<PhysExtent> ex;
  EXPECT_FALSE(l->alloc_scattered(PhysZone::Cma, 2 * PhysLayout::kPage, PhysLayout::kPage, 0,
                                  PhysLayout::kPage, ~0ull, 0, &ex));
  EXPECT_EQ(l->used_bytes(PhysZone::Cma), used);
  // Page 2 freed joins the ranges of pages 1 and 3: one range fewer.
  l->free(PhysZone::Cma, {pages[2]});
  EXPECT_EQ(l->largest_free(PhysZone::Cma), 3 * PhysLayout::kPage);
  ASSERT_TRUE(l->alloc_single(PhysZone::Cma, 2 * PhysLayout::kPage, PhysLayout::kPage, ~0ull, &e));
  EXPECT_EQ(e.addr, pages[1].addr);
}

TEST(PhysLayout, TheContiguousRegionFragments) {
  PhysLayout l(small());
  PhysExtent a, b, c, d;
  ASSERT_TRUE(l.alloc_single(PhysZone::Cma, 5 * kMiB, PhysLayout::kPage, ~0ull, &a));
  ASSERT_TRUE(l.alloc_single(PhysZone::Cma, 5 * kMiB, PhysLayout::kPage, ~0ull, &b));
  ASSERT_TRUE(l.alloc_single(PhysZone::Cma, 5 * kMiB, PhysLayout::kPage, ~0ull, &c));
  l.free(PhysZone::Cma, {a});
  l.free(PhysZone::Cma, {c});
  // 11 MiB free, in holes of 5 and 6 MiB.
  EXPECT_EQ(l.used_bytes(PhysZone::Cma), 5 * kMiB);
  EXPECT_EQ(l.largest_free(PhysZone::Cma), 6 * kMiB);
  EXPECT_FALSE(l.alloc_single(PhysZone::Cma, 7 * kMiB, PhysLayout::kPage, ~0ull, &d));
  EXPECT_TRUE(l.alloc_single(PhysZone::Cma, 5 * kMiB, PhysLayout::kPage, ~0ull, &d));
}

TEST(PhysLayout, ScatteredIsAllOrNothingAndKeepsItsLimits) {
  PhysLayout l(small());
  std::vector<PhysExtent> ex;
  // More than the zone: nothing taken.
  EXPECT_FALSE(l.alloc_scattered(PhysZone::Dma32, 65 * kMiB, 4 * kMiB, 0, PhysLayout::kPage,
                                 ~0ull, 0, &ex));
  EXPECT_EQ(l.used_bytes(PhysZone::Dma32), 0u);
  // Extent cap, boundary, alignment.
  ASSERT_TRUE(l.alloc_scattered(PhysZone::Dma32, 10 * kMiB, 4 * kMiB, 2 * kMiB, kMiB, ~0ull, 0,
                                &ex));
  uint64_t total = 0;
  for (const PhysExtent& e : ex) {
    total += e.size;
    EXPECT_LE(e.size, 2 * kMiB);
    EXPECT_EQ(e.addr / (2 * kMiB), (e.addr + e.size - 1) / (2 * kMiB));
    EXPECT_EQ(e.addr % kMiB, 0u);
  }
  EXPECT_EQ(total, 10 * kMiB);
  // A cap on the extent count it cannot meet.
  std::vector<PhysExtent> ex2;
  EXPECT_FALSE(l.alloc_scattered(PhysZone::Dma32, 8 * kMiB, kMiB, 0, PhysLayout::kPage, ~0ull, 4,
                                 &ex2));
  EXPECT_EQ(l.used_bytes(PhysZone::Dma32), 10 * kMiB);
  // Under a limit below the zone: refused.
  EXPECT_FALSE(l.alloc_scattered(PhysZone::Normal, kMiB, kMiB, 0, PhysLayout::kPage,
                                 0xffffffffull, 0, &ex2));
}

TEST(DmaConstraints, SegmentsSplitAtSizeAndBoundary) {
  // 16 MiB .. 20 MiB, and 1 MiB across the 34 MiB mark.
  Placement p{PhysZone::Dma32, {{0x1000000, 4 * kMiB}, {0x21c0000, kMiB}}};
  DmaConstraints c;
  EXPECT_EQ(segments_of(p, c), 2u);
  c.max_segment_size = kMiB;
  EXPECT_EQ(segments_of(p, c), 5u);
  c = DmaConstraints{};
  c.segment_boundary = 2 * kMiB;  // 2 + 2 pieces
  EXPECT_EQ(segments_of(p, c), 4u);
  c.max_segments = 3;
  EXPECT_EQ(placement_meets(p, c), WSYS_ALLOC_UNMET_SEGMENTS);
  c.max_segments = 4;
  EXPECT_EQ(placement_meets(p, c), 0u);
}

TEST(DmaConstraints, TheUnionIsTheStrictest) {
  DmaConstraints a, b;
  a.dma_mask = 0xffffffff;
  a.max_segment_size = 2 * kMiB;
  b.max_segment_size = kMiB;
  b.alignment = 64 * 1024;
  b.contiguous = true;
  b.max_segments = 8;
  DmaConstraints u = merge_constraints(a, b);
  EXPECT_EQ(u.dma_mask, 0xffffffffull);
  EXPECT_EQ(u.max_segment_size, kMiB);
  EXPECT_EQ(u.alignment, 64u * 1024);
  EXPECT_TRUE(u.contiguous);
  EXPECT_EQ(u.max_segments, 8u);
}

TEST(DmaConstraints, PolicyKeepsTheContiguousPoolForWhatNeedsIt) {
  PhysLayout l(small());
  DmaConstraints c;
  Placement p;
  ASSERT_TRUE(solve_placement(l, c, 8 * kMiB, &p));
  EXPECT_EQ(p.zone, PhysZone::Normal);
  c.contiguous = true;
  ASSERT_TRUE(solve_placement(l, c, 2 * kMiB, &p));
  EXPECT_NE(p.zone, PhysZone::Cma);  // one page-allocator block
  EXPECT_EQ(p.extents.size(), 1u);
  ASSERT_TRUE(solve_placement(l, c, 8 * kMiB, &p));
  EXPECT_EQ(p.zone, PhysZone::Cma);
  EXPECT_FALSE(solve_placement(l, c, 9 * kMiB, &p));  // 8 MiB left in CMA
}

}  // namespace
}  // namespace wsys::sim
