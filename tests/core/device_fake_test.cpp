// core::Device policies on a fake kmod: allocation through the cache, VA
// placement and lazy reclaim, madvise, busy buffers, zero-fill, the
// allocation-failure retry, decay through the device, logging, lifetimes.
#include <unistd.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "fake_kmod.h"
#include "winsys/core/debug_log.h"
#include "wsys/device.hpp"

namespace wsys {
namespace {

using test::FakeKmodConfig;
using test::FakeKmodDevice;

struct Fixture {
  FakeKmodDevice* fake = nullptr;
  std::shared_ptr<Device> dev;
  uint64_t now = 1'000'000'000;
};

std::unique_ptr<Fixture> make(bool panfrost, BoCacheConfig cc = {},
                              std::optional<bool> keep_map = std::nullopt, bool lazy = true) {
  auto f = std::make_unique<Fixture>();
  FakeKmodConfig c;
  c.panfrost = panfrost;
  auto k = std::make_unique<FakeKmodDevice>(c);
  f->fake = k.get();
  DeviceOptions o;
  o.cache = cc;
  o.cache_from_env = false;
  o.maintenance_thread = false;
  o.keep_cpu_mapping = keep_map;
  o.lazy_madvise = lazy;
  Fixture* raw = f.get();
  o.clock = [raw] { return raw->now; };
  auto d = Device::create(std::move(k), o);
  EXPECT_TRUE(d.ok()) << d.error();
  f->dev = *d;
  return f;
}

class DeviceFake : public ::testing::TestWithParam<bool> {};  // param: panfrost

TEST_P(DeviceFake, InfoDescribesTheKernel) {
  auto f = make(GetParam());
  const DeviceInfo& i = f->dev->info();
  EXPECT_EQ(i.driver, GetParam() ? "panfrost" : "panthor");
  EXPECT_EQ(i.kernel_managed_va, GetParam());
  EXPECT_EQ(i.madvise, GetParam());
  EXPECT_FALSE(i.model);
  // No memory size from the kernel: three quarters of the RAM.
  const uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                       static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(i.memory_bytes, ram / 4 * 3);
}

TEST_P(DeviceFake, RejectsBadArguments) {
  auto f = make(GetParam());
  EXPECT_EQ(f->dev->bo_alloc(0, 0).error(), -EINVAL);
  EXPECT_EQ(f->dev->bo_alloc(4096, 1u << 20).error(), -EINVAL);
  EXPECT_EQ(f->dev->bo_alloc(1ull << 60, 0).error(), -ENOMEM);
  EXPECT_EQ(f->dev->bo_import(-1).error(), -EBADF);
  EXPECT_EQ(f->fake->creates, 0u);
}

TEST_P(DeviceFake, AllocGivesClassSizeAndAMappedVa) {
  auto f = make(GetParam());
  auto a = f->dev->bo_alloc(5000, 0, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->size(), 8192u);
  EXPECT_EQ((*a)->requested_size(), 5000u);
  EXPECT_NE((*a)->gpu_va(), 0u);
  EXPECT_EQ((*a)->label(), "a");
  auto big = f->dev->bo_alloc(3 << 20, 0);
  ASSERT_TRUE(big.ok());
  if (!GetParam()) {
    EXPECT_TRUE(f->fake->vm()->mapped((*a)->gpu_va()));
    EXPECT_EQ((*big)->gpu_va() % (2 << 20), 0u) << "large buffers are 2 MiB aligned";
    EXPECT_EQ(f->fake->vm()->immediate_maps, 2u);
  }
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.bos_live, 2u);
  EXPECT_EQ(s.bytes_requested, 5000u + (3u << 20));
  EXPECT_EQ(s.bytes_live, 8192u + (3u << 20));
}

TEST_P(DeviceFake, ReleasedBufferIsReusedWithItsMapping) {
  auto f = make(GetParam());
  uint32_t handle;
  uint64_t va;
  {
    auto a = f->dev->bo_alloc(64 << 10, 0);
    ASSERT_TRUE(a.ok());
    handle = (*a)->handle();
    va = (*a)->gpu_va();
  }
  EXPECT_EQ(f->dev->stats().cache.entries, 1u);
  auto b = f->dev->bo_alloc(62 << 10, 0);  // 15.5 pages: the same 16-page class
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->handle(), handle);
  EXPECT_EQ((*b)->gpu_va(), va) << "a hit keeps its VA: no bind";
  EXPECT_EQ(f->fake->creates, 1u);
  if (!GetParam()) {
    EXPECT_EQ(f->fake->vm()->immediate_maps, 1u);
  }
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.cache.hits, 1u);
  EXPECT_EQ(s.cache.misses, 1u);
  EXPECT_EQ(s.bo_creates, 1u);
}

TEST_P(DeviceFake, MadviseOnPutAndTakeWhereTheKernelHasIt) {
  auto f = make(GetParam(), {}, std::nullopt, /*lazy=*/false);
  { auto a = f->dev->bo_alloc(4096, 0); ASSERT_TRUE(a.ok()); }
  { auto b = f->dev->bo_alloc(4096, 0); ASSERT_TRUE(b.ok()); }
  if (GetParam()) {
    EXPECT_EQ(f->fake->madvise_dontneed, 2u);
    EXPECT_EQ(f->fake->madvise_willneed, 1u);
  } else {
    EXPECT_EQ(f->fake->madvise_dontneed, 0u);
  }
}

// Lazy madvise (the default): a buffer reused within the decay grace costs
// no syscall; one idle past it is made evictable (and unmapped) by the
// maintenance pass, and asks WILLNEED when taken.
TEST(DeviceFakePanfrost, LazyMadviseSkipsQuickReuseAndAdvisesAgedEntries) {
  auto f = make(true);
  {
    auto a = f->dev->bo_alloc(4096, 0);
    ASSERT_TRUE((*a)->map().ok());
  }
  {
    auto b = f->dev->bo_alloc(4096, 0);
    EXPECT_NE((*b)->cpu(), nullptr) << "quick reuse keeps the mapping";
    std::vector<BoRef> more;
    for (int i = 0; i < 7; ++i) {
      more.push_back(*f->dev->bo_alloc(4096, 0));
      ASSERT_TRUE(more.back()->map().ok());
    }
  }
  EXPECT_EQ(f->fake->madvise_dontneed, 0u);
  EXPECT_EQ(f->fake->madvise_willneed, 0u);
  // Past the grace (half-life / 8): the decay curve takes its share (the
  // oldest), the rest is made evictable.
  f->now += 200'000'000;
  f->dev->maintain();
  DeviceStats s = f->dev->stats();
  EXPECT_GE(s.cache.entries, 6u);
  EXPECT_EQ(s.cache.advised, s.cache.entries);
  EXPECT_EQ(f->fake->madvise_dontneed, s.cache.entries);
  auto c = f->dev->bo_alloc(4096, 0);
  EXPECT_EQ(f->fake->madvise_willneed, 1u);
  EXPECT_EQ((*c)->cpu(), nullptr) << "unmapped when made evictable";
}

TEST(DeviceFakePanfrost, WithoutDecayLazyMadviseAdvisesAtPut) {
  BoCacheConfig cc;
  cc.decay_half_life_ns = 0;  // no grace
  auto f = make(true, cc);
  { auto a = f->dev->bo_alloc(4096, 0); }
  EXPECT_EQ(f->fake->madvise_dontneed, 1u);
}

TEST_P(DeviceFake, CpuMappingDroppedOnPutOnlyWhenPurgeable) {
  auto f = make(GetParam(), {}, std::nullopt, /*lazy=*/false);
  {
    auto a = f->dev->bo_alloc(4096, 0);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->map().ok());
  }
  auto b = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(b.ok());
  // panfrost (madvise): unmapped while cached so the kernel may purge it.
  EXPECT_EQ((*b)->cpu() == nullptr, GetParam());
}

TEST_P(DeviceFake, ExplicitKeepMappingPolicyIsHonoured) {
  auto f = make(GetParam(), {}, true);
  {
    auto a = f->dev->bo_alloc(4096, 0);
    ASSERT_TRUE((*a)->map().ok());
  }
  auto b = f->dev->bo_alloc(4096, 0);
  EXPECT_NE((*b)->cpu(), nullptr);
}

TEST(DeviceFakePanfrost, PurgedEntryIsReplacedWithAFreshZeroBuffer) {
  BoCacheConfig cc;
  cc.decay_half_life_ns = 0;  // made evictable at put
  auto f = make(true, cc);
  uint32_t old_handle;
  {
    auto a = f->dev->bo_alloc(8192, 0);
    ASSERT_TRUE(a.ok());
    auto m = (*a)->map();
    ASSERT_TRUE(m.ok());
    std::memset(*m, 0xab, 8192);
    old_handle = (*a)->handle();
  }
  EXPECT_EQ(f->fake->purge_evictable(), 1u) << "cached and DONTNEED";
  auto b = f->dev->bo_alloc(8192, 0);
  ASSERT_TRUE(b.ok());
  EXPECT_NE((*b)->handle(), old_handle);
  auto m = (*b)->map();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(static_cast<unsigned char*>(*m)[100], 0);
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.cache.purged_on_reuse, 1u);
  EXPECT_EQ(s.cache.misses, 1u + 1u);
  EXPECT_EQ(f->fake->live_bos(), 1u) << "the purged buffer was destroyed";
}

TEST_P(DeviceFake, BusyBufferIsNeverHandedOut) {
  auto f = make(GetParam());
  auto s = f->fake->syncobj_create(false);
  ASSERT_TRUE(s.ok());
  uint32_t h1;
  {
    auto a = f->dev->bo_alloc(4096, 0);
    h1 = (*a)->handle();
    (*a)->mark_used(*s, GetParam() ? 0 : 5);
    EXPECT_TRUE((*a)->busy());
  }
  auto b = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(b.ok());
  EXPECT_NE((*b)->handle(), h1);
  b->reset();
  ASSERT_TRUE(f->fake->syncobj_signal(*s, GetParam() ? 0 : 5).ok());
  // Both cached now; the idle one is taken first, then the formerly busy one.
  auto c = f->dev->bo_alloc(4096, 0);
  auto d = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_TRUE((*c)->handle() == h1 || (*d)->handle() == h1);
  EXPECT_EQ(f->fake->creates, 2u);
}

// Two queues use one buffer: it stays busy (and out of the cache) until
// both are done, whichever finishes first.
TEST_P(DeviceFake, BufferUsedByTwoQueuesIsBusyUntilBothAreDone) {
  auto f = make(GetParam());
  auto qa = f->fake->syncobj_create(false);
  auto qb = f->fake->syncobj_create(false);
  ASSERT_TRUE(qa.ok() && qb.ok());
  const uint64_t pa = GetParam() ? 0 : 7, pb = GetParam() ? 0 : 2;
  uint32_t h1;
  {
    auto a = f->dev->bo_alloc(4096, 0);
    ASSERT_TRUE(a.ok());
    h1 = (*a)->handle();
    (*a)->mark_used(*qa, pa);
    (*a)->mark_used(*qb, pb);
    (*a)->mark_used(0, 9);  // ignored
    ASSERT_TRUE(f->fake->syncobj_signal(*qb, pb).ok());  // the later use finishes first
    EXPECT_TRUE((*a)->busy()) << "queue A still uses it";
  }
  auto b = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(b.ok());
  EXPECT_NE((*b)->handle(), h1) << "handed out while queue A used it";
  b->reset();
  ASSERT_TRUE(f->fake->syncobj_signal(*qa, pa).ok());
  auto c = f->dev->bo_alloc(4096, 0);
  auto d = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_TRUE((*c)->handle() == h1 || (*d)->handle() == h1) << "idle once both are done";
}

// One use per syncobj: a timeline keeps its latest point.
TEST(DeviceFakePanthor, LaterPointOfOneTimelineReplacesTheEarlier) {
  auto f = make(false);
  auto q = f->fake->syncobj_create(false);
  ASSERT_TRUE(q.ok());
  auto a = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(a.ok());
  (*a)->mark_used(*q, 4);
  (*a)->mark_used(*q, 6);
  (*a)->mark_used(*q, 5);  // older than what is recorded: changes nothing
  ASSERT_TRUE(f->fake->syncobj_signal(*q, 5).ok());
  EXPECT_TRUE((*a)->busy()) << "point 6 is pending";
  ASSERT_TRUE(f->fake->syncobj_signal(*q, 6).ok());
  EXPECT_FALSE((*a)->busy());
}

TEST(DeviceFakePanfrost, BufferPurgedAtPutIsDestroyedNotCached) {
  auto f = make(true, {}, std::nullopt, /*lazy=*/false);
  f->fake->set_purge_on_dontneed(true);
  { auto a = f->dev->bo_alloc(8192, 0); ASSERT_TRUE(a.ok()); }
  f->fake->set_purge_on_dontneed(false);
  EXPECT_EQ(f->dev->stats().cache.entries, 0u);
  EXPECT_EQ(f->fake->live_bos(), 0u);
}

TEST(DeviceFakePanfrost, BufferPurgedWhenAdvisedIsDestroyed) {
  BoCacheConfig cc;
  cc.decay_half_life_ns = 0;  // no grace: advised by put() itself
  auto f = make(true, cc);
  f->fake->set_purge_on_dontneed(true);
  { auto a = f->dev->bo_alloc(8192, 0); ASSERT_TRUE(a.ok()); }
  f->fake->set_purge_on_dontneed(false);
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.cache.entries, 0u);
  EXPECT_EQ(s.cache.evicted_by_purge, 1u);
  EXPECT_EQ(f->fake->live_bos(), 0u);
}

TEST(DeviceFakePanfrost, KernelImplicitBusyIsSeen) {
  auto f = make(true);
  uint32_t h1;
  {
    auto a = f->dev->bo_alloc(4096, 0);
    h1 = (*a)->handle();
    f->fake->set_kernel_busy(h1, true);
    EXPECT_TRUE((*a)->busy());
  }
  auto b = f->dev->bo_alloc(4096, 0);
  EXPECT_NE((*b)->handle(), h1);
}

TEST_P(DeviceFake, ZeroedAllocationClearsAReusedBuffer) {
  auto f = make(GetParam());
  {
    auto a = f->dev->bo_alloc(4096, 0);
    auto m = (*a)->map();
    ASSERT_TRUE(m.ok());
    std::memset(*m, 0x5a, 4096);
  }
  auto b = f->dev->bo_alloc(4096, kAllocZeroed);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(f->fake->creates, 1u) << "still a cache hit";
  auto m = (*b)->map();
  ASSERT_TRUE(m.ok());
  const unsigned char* p = static_cast<const unsigned char*>(*m);
  for (size_t i = 0; i < 4096; i += 512) EXPECT_EQ(p[i], 0) << i;
  EXPECT_EQ(f->dev->stats().zero_fills, 1u);
}

TEST_P(DeviceFake, AllocationFailureDropsTheCacheAndRetriesOnce) {
  auto f = make(GetParam());
  { auto a = f->dev->bo_alloc(1 << 20, 0); ASSERT_TRUE(a.ok()); }
  EXPECT_EQ(f->dev->stats().cache.bytes_cached, 1u << 20);
  f->fake->fail_next_creates(1, -ENOMEM);
  auto b = f->dev->bo_alloc(8192, 0);  // another class: a miss
  ASSERT_TRUE(b.ok());
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.alloc_retries, 1u);
  EXPECT_EQ(s.cache.bytes_cached, 0u);
  // Twice in a row is a real failure, reported as the kernel said.
  f->fake->fail_next_creates(2, -ENOMEM);
  EXPECT_EQ(f->dev->bo_alloc(16384, 0).error(), -ENOMEM);
  f->fake->fail_next_creates(1, -EINVAL);
  EXPECT_EQ(f->dev->bo_alloc(16384, 0).error(), -EINVAL);
}

// Where the kernel maps every buffer into the file's VA at creation
// (panfrost), cached buffers hold VA too: a full VA (-ENOSPC, drm_mm's
// answer) drops the cache and retries like -ENOMEM. Elsewhere -ENOSPC is
// not something the cache can relieve, and is returned at once.
TEST_P(DeviceFake, FullKernelManagedVaDropsTheCacheAndRetries) {
  auto f = make(GetParam());
  {
    auto a = f->dev->bo_alloc(1 << 20, 0);
    ASSERT_TRUE(a.ok());
  }
  ASSERT_EQ(f->dev->stats().cache.bytes_cached, 1u << 20);
  f->fake->fail_next_creates(1, -ENOSPC);
  auto b = f->dev->bo_alloc(8192, 0);
  DeviceStats s = f->dev->stats();
  if (GetParam()) {
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(s.alloc_retries, 1u);
    EXPECT_EQ(s.cache.bytes_cached, 0u);
  } else {
    EXPECT_EQ(b.error(), -ENOSPC);
    EXPECT_EQ(s.alloc_retries, 0u);
    EXPECT_EQ(s.cache.bytes_cached, 1u << 20);
  }
}

TEST_P(DeviceFake, NoCacheBuffersAreNeverReused) {
  auto f = make(GetParam());
  { auto a = f->dev->bo_alloc(4096, kAllocNoCache); ASSERT_TRUE(a.ok()); }
  EXPECT_EQ(f->dev->stats().cache.entries, 0u);
  EXPECT_EQ(f->fake->live_bos(), 0u);
}

TEST_P(DeviceFake, FlagSetsArePooledSeparately) {
  auto f = make(GetParam());
  uint32_t priv;
  {
    auto a = f->dev->bo_alloc(4096, 0);
    priv = (*a)->handle();
  }
  auto b = f->dev->bo_alloc(4096, kAllocShareable);
  ASSERT_TRUE(b.ok());
  EXPECT_NE((*b)->handle(), priv) << "a shareable request got a private buffer";
  auto c = f->dev->bo_alloc(4096, kAllocExecutable);
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*c)->handle(), priv) << "an executable request got a no-exec buffer";
  EXPECT_EQ(f->dev->stats().cache.hits, 0u);
}

TEST_P(DeviceFake, ExportOfPrivateBufferIsRefused) {
  auto f = make(GetParam());
  auto a = f->dev->bo_alloc(4096, 0);
  EXPECT_EQ((*a)->export_fd().error(), -EINVAL);
}

TEST_P(DeviceFake, CapAndTrimBoundTheCache) {
  BoCacheConfig cc;
  cc.max_cached_bytes = 256 << 10;
  cc.decay_half_life_ns = 0;
  auto f = make(GetParam(), cc);
  {
    std::vector<BoRef> v;
    for (int i = 0; i < 10; ++i) v.push_back(*f->dev->bo_alloc(64 << 10, 0));
  }
  DeviceStats s = f->dev->stats();
  EXPECT_LE(s.cache.bytes_cached, 256u << 10);
  EXPECT_EQ(s.cache.bytes_cached, 256u << 10);
  EXPECT_EQ(f->fake->live_bos(), 4u);
  EXPECT_GE(f->dev->trim(100 << 10), 100u << 10);
  EXPECT_EQ(f->dev->stats().cache.bytes_cached, 128u << 10);
}

TEST_P(DeviceFake, IdleCacheDecaysThroughMaintain) {
  BoCacheConfig cc;
  cc.decay_half_life_ns = 1'000'000'000;
  auto f = make(GetParam(), cc);
  {
    std::vector<BoRef> v;
    for (int i = 0; i < 64; ++i) v.push_back(*f->dev->bo_alloc(64 << 10, 0));
  }
  const uint64_t full = f->dev->stats().cache.bytes_cached;
  EXPECT_EQ(full, 64u * (64 << 10));
  f->now += 1'000'000'000;
  f->dev->maintain();
  uint64_t half = f->dev->stats().cache.bytes_cached;
  EXPECT_NEAR(static_cast<double>(half), full / 2.0, 64 << 10);
  f->now += 2'000'000'000;
  f->dev->maintain();
  EXPECT_NEAR(static_cast<double>(f->dev->stats().cache.bytes_cached), full / 8.0, 64 << 10);
  f->now += 60'000'000'000;
  f->dev->maintain();
  EXPECT_EQ(f->dev->stats().cache.bytes_cached, 0u);
  EXPECT_EQ(f->fake->live_bos(), 0u);
}

// --- VA lifetime (panthor: userspace VA) ---

TEST(DeviceFakePanthor, BusyBufferVaIsReclaimedOnlyAfterItsUnmapSignals) {
  auto f = make(false);
  auto s = f->fake->syncobj_create(false);
  uint64_t va;
  {
    auto a = f->dev->bo_alloc(1 << 20, kAllocNoCache);
    ASSERT_TRUE(a.ok());
    va = (*a)->gpu_va();
    (*a)->mark_used(*s, 3);
  }
  DeviceStats st = f->dev->stats();
  EXPECT_EQ(st.va_async_unmaps, 1u);
  EXPECT_EQ(st.va_deferred, 1u);
  EXPECT_TRUE(f->fake->vm()->mapped(va)) << "still mapped until its last use is done";
  // While parked, the range is not handed out again (the fake VM would
  // refuse an overlapping map, and the VA differs).
  for (int i = 0; i < 4; ++i) {
    auto b = f->dev->bo_alloc(1 << 20, kAllocNoCache);
    ASSERT_TRUE(b.ok());
    EXPECT_NE((*b)->gpu_va(), va);
  }
  f->dev->maintain();
  EXPECT_EQ(f->dev->stats().va_deferred, 1u) << "unmap has not run yet";
  EXPECT_EQ(f->fake->vm()->run_async(), 0u) << "blocked on the buffer's last use";
  ASSERT_TRUE(f->fake->syncobj_signal(*s, 3).ok());
  EXPECT_EQ(f->fake->vm()->run_async(), 1u);
  EXPECT_FALSE(f->fake->vm()->mapped(va));
  f->dev->maintain();
  st = f->dev->stats();
  EXPECT_EQ(st.va_deferred, 0u);
  EXPECT_EQ(st.va_reclaimed, 1u);
  EXPECT_EQ(f->fake->vm()->overlap_refusals, 0u);
}

// The deferred unmap of a buffer two queues used waits for both.
TEST(DeviceFakePanthor, BusyBufferVaWaitsForEveryQueueThatUsedIt) {
  auto f = make(false);
  auto qa = f->fake->syncobj_create(false);
  auto qb = f->fake->syncobj_create(false);
  uint64_t va;
  {
    auto a = f->dev->bo_alloc(1 << 20, kAllocNoCache);
    ASSERT_TRUE(a.ok());
    va = (*a)->gpu_va();
    (*a)->mark_used(*qa, 3);
    (*a)->mark_used(*qb, 8);
  }
  EXPECT_EQ(f->dev->stats().va_async_unmaps, 1u);
  ASSERT_TRUE(f->fake->syncobj_signal(*qb, 8).ok());
  EXPECT_EQ(f->fake->vm()->run_async(), 0u) << "queue A has not finished";
  EXPECT_TRUE(f->fake->vm()->mapped(va));
  ASSERT_TRUE(f->fake->syncobj_signal(*qa, 3).ok());
  EXPECT_EQ(f->fake->vm()->run_async(), 1u);
  EXPECT_FALSE(f->fake->vm()->mapped(va));
}

TEST(DeviceFakePanthor, IdleBufferVaIsFreedAtOnce) {
  auto f = make(false);
  uint64_t va;
  {
    auto a = f->dev->bo_alloc(1 << 20, kAllocNoCache);
    va = (*a)->gpu_va();
  }
  DeviceStats st = f->dev->stats();
  EXPECT_EQ(st.va_unmaps, 1u);
  EXPECT_EQ(st.va_async_unmaps, 0u);
  EXPECT_FALSE(f->fake->vm()->mapped(va));
  EXPECT_EQ(st.va.allocation_count, 0u);
}

TEST(DeviceFakePanthor, VaStatsFollowAllocations) {
  auto f = make(false);
  std::vector<BoRef> v;
  for (int i = 0; i < 8; ++i) v.push_back(*f->dev->bo_alloc(4096 * (i + 1), 0));
  DeviceStats st = f->dev->stats();
  EXPECT_EQ(st.va.allocation_count, 8u);
  EXPECT_EQ(st.va.allocated_bytes, st.bytes_live);
}

// --- lifetimes ---

TEST_P(DeviceFake, BufferOutlivesItsDeviceHandle) {
  auto f = make(GetParam());
  auto a = f->dev->bo_alloc(4096, 0);
  ASSERT_TRUE(a.ok());
  std::weak_ptr<Device> w = f->dev;
  f->dev.reset();
  EXPECT_FALSE(w.expired()) << "the buffer keeps the device";
  auto m = (*a)->map();
  ASSERT_TRUE(m.ok());
  static_cast<char*>(*m)[0] = 1;
  a->reset();
  EXPECT_TRUE(w.expired()) << "the last buffer released the device";
}

TEST_P(DeviceFake, RefCountingKeepsTheBufferUntilTheLastRef) {
  auto f = make(GetParam());
  BoRef a = *f->dev->bo_alloc(4096, 0);
  BoRef b = a;
  a.reset();
  EXPECT_EQ(f->dev->stats().bos_live, 1u);
  b.reset();
  EXPECT_EQ(f->dev->stats().bos_live, 0u);
  EXPECT_EQ(f->dev->stats().cache.entries, 1u);
}

// --- logging ---

TEST(DeviceFakeLog, ParsesAreasAndRejectsUnknownNames) {
  EXPECT_EQ(*core::parse_debug_areas("bo,cache"),
            static_cast<uint32_t>(core::DebugArea::Bo) | static_cast<uint32_t>(core::DebugArea::Cache));
  EXPECT_EQ(*core::parse_debug_areas(" va , all "), core::kDebugAll);
  EXPECT_EQ(*core::parse_debug_areas(""), 0u);
  // The Vulkan ICD's own area: known (no warning), nothing for core to log.
  EXPECT_EQ(*core::parse_debug_areas("bo,vk"), static_cast<uint32_t>(core::DebugArea::Bo));
  std::string why;
  EXPECT_EQ(core::parse_debug_areas("bo,nonsense", &why).error(), -EINVAL);
  EXPECT_NE(why.find("WSYS_DEBUG"), std::string::npos);
  EXPECT_NE(why.find("nonsense"), std::string::npos);
}

TEST(DeviceFakeLog, OneLinePerEventOnlyWhenEnabled) {
  std::vector<std::string> lines;
  core::set_debug_sink([&](std::string_view l) { lines.emplace_back(l); });
  auto f = make(false);
  core::set_debug_mask(0);
  { auto a = f->dev->bo_alloc(4096, 0); }
  EXPECT_TRUE(lines.empty());
  core::set_debug_mask(static_cast<uint32_t>(core::DebugArea::Bo));
  { auto a = f->dev->bo_alloc(4096, 0, "logged"); }
  core::set_debug_mask(0);
  core::set_debug_sink({});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("wsys: bo: alloc", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("logged"), std::string::npos);
  EXPECT_NE(lines[0].find("hit"), std::string::npos);
}

// --- threads ---

// The label slot a reused buffer counts in follows the label it is
// allocated with (the slot remembered on the Bo must not go stale), and a
// buffer relabelled while held is counted out of the slot it was counted in.
TEST_P(DeviceFake, LabelCountsFollowEachReuse) {
  auto f = make(GetParam());
  auto usage = [&](const char* name) {
    for (const LabelUsage& u : f->dev->stats().labels)
      if (u.label == name) return u;
    return LabelUsage{};
  };
  uint32_t handle = 0;
  {
    auto a = f->dev->bo_alloc(64 << 10, 0, "lbl-a");
    ASSERT_TRUE(a.ok());
    handle = (*a)->handle();
    EXPECT_EQ(usage("lbl-a").bos_live, 1u);
    EXPECT_EQ(usage("lbl-a").bytes_live, 64u << 10);
  }
  EXPECT_EQ(usage("lbl-a").bos_live, 0u);
  EXPECT_EQ(usage("lbl-a").bytes_live, 0u);
  {
    auto b = f->dev->bo_alloc(64 << 10, 0, "lbl-b");  // a hit, another label
    ASSERT_TRUE(b.ok());
    EXPECT_EQ((*b)->handle(), handle);
    EXPECT_EQ((*b)->label(), "lbl-b");
    EXPECT_EQ(usage("lbl-a").bos_live, 0u);
    EXPECT_EQ(usage("lbl-b").bos_live, 1u);
  }
  for (int i = 0; i < 3; ++i) {
    auto c = f->dev->bo_alloc(64 << 10, 0, "lbl-a");  // hits with the first label again
    ASSERT_TRUE(c.ok());
    EXPECT_EQ((*c)->handle(), handle);
    EXPECT_EQ(usage("lbl-a").bos_live, 1u);
    EXPECT_EQ(usage("lbl-b").bos_live, 0u);
  }
  EXPECT_EQ(usage("lbl-a").allocs, 4u);
  EXPECT_EQ(usage("lbl-b").allocs, 1u);
  {
    auto d = f->dev->bo_alloc(64 << 10, 0, "lbl-a");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE((*d)->set_label("lbl-c").ok());  // counted under lbl-a until released
    EXPECT_EQ(usage("lbl-a").bos_live, 1u);
  }
  EXPECT_EQ(usage("lbl-a").bos_live, 0u);
  EXPECT_EQ(usage("lbl-a").bytes_live, 0u);
  auto e = f->dev->bo_alloc(64 << 10, 0, "lbl-c");  // the relabelled buffer, its new label
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(usage("lbl-c").bos_live, 1u);
  EXPECT_EQ(usage("lbl-a").bos_live, 0u);
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.bos_live, 1u);
  EXPECT_EQ(s.bytes_live, 64u << 10);
  EXPECT_EQ(s.bytes_requested, 64u << 10);
  EXPECT_EQ(s.peak_bytes_live, 64u << 10);
}

TEST_P(DeviceFake, ConcurrentAllocAndReleaseStayConsistent) {
  BoCacheConfig cc;
  cc.max_cached_bytes = 8 << 20;
  auto f = make(GetParam(), cc);
  std::atomic<int> errors{0};
  std::atomic<uint64_t> allocs{0};
  const char* const labels[3] = {"conc-0", "conc-1", "conc-2"};
  std::vector<std::thread> t;
  for (int i = 0; i < 6; ++i) {
    t.emplace_back([&, i] {
      uint32_t seed = 1234u + static_cast<uint32_t>(i);
      std::vector<BoRef> held;
      for (int n = 0; n < 400; ++n) {
        seed = seed * 1664525u + 1013904223u;
        uint64_t size = 4096ull << ((seed >> 8) % 6);
        if (held.size() < 8 && (seed & 1)) {
          // Odd sizes too: bytes_requested differs from bytes_live.
          auto b = f->dev->bo_alloc(size - (seed >> 20) % 4096, 0, labels[(seed >> 12) % 3]);
          if (!b.ok()) { errors++; continue; }
          allocs++;
          auto m = (*b)->map();
          if (!m.ok()) { errors++; continue; }
          static_cast<uint32_t*>(*m)[0] = static_cast<uint32_t>(i);
          held.push_back(std::move(*b));
        } else if (!held.empty()) {
          // Nobody else wrote to a buffer we hold.
          if (static_cast<uint32_t*>(held.back()->cpu())[0] != static_cast<uint32_t>(i)) errors++;
          held.pop_back();
        }
      }
    });
  }
  for (auto& th : t) th.join();
  EXPECT_EQ(errors.load(), 0);
  DeviceStats s = f->dev->stats();
  EXPECT_EQ(s.bos_live, 0u);
  EXPECT_EQ(s.bytes_live, 0u);
  EXPECT_EQ(s.bytes_requested, 0u);
  EXPECT_GT(s.peak_bytes_live, 0u);
  EXPECT_LE(s.peak_bytes_live, 6u * 8 * (128u << 10)) << "at most 8 buffers of 128 KiB per thread";
  EXPECT_EQ(f->fake->live_bos(), s.cache.entries);
  EXPECT_EQ(s.bo_creates - s.bo_destroys, s.cache.entries);
  // Every word the count lock guards: no update lost between threads.
  EXPECT_EQ(s.cache.hits + s.cache.misses, allocs.load());
  uint64_t label_allocs = 0;
  for (const LabelUsage& u : s.labels) {
    if (u.label.rfind("conc-", 0) != 0) continue;
    label_allocs += u.allocs;
    EXPECT_EQ(u.bos_live, 0u) << u.label;
    EXPECT_EQ(u.bytes_live, 0u) << u.label;
  }
  EXPECT_EQ(label_allocs, allocs.load());
}

INSTANTIATE_TEST_SUITE_P(Drivers, DeviceFake, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "panfrost" : "panthor"; });

}  // namespace
}  // namespace wsys
