// Core on the 2026 kernels (the model at its newest versions): the BO cache
// frees cached buffers before the panthor GEM shrinker would swap them out,
// labels name every buffer's use, and sparse buffers use MAP_SPARSE where
// the kernel has it.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "wsys/device.hpp"
#include "wsys/scratch.hpp"
#include "wsys/sparse.hpp"

namespace wsys {
namespace {

constexpr uint64_t kMiB = 1 << 20;

std::shared_ptr<Device> open(const char* driver, bool trim) {
  DeviceOptions opt;
  opt.cache_from_env = false;
  opt.maintenance_thread = false;
  opt.trim_cache_under_pressure = trim;
  std::string why;
  auto d = Device::open(std::string("sim:") + driver, opt, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

// The budget lowered to what is charged now plus `headroom` for the test,
// then restored (the model device is process-wide).
struct BudgetScope {
  sim::Shrinker& shr;
  uint64_t saved;
  BudgetScope(sim::Shrinker& s, uint64_t headroom) : shr(s), saved(s.budget()) {
    shr.set_budget(shr.charged() + headroom);
  }
  ~BudgetScope() { shr.set_budget(saved); }
};

// Fills the cache with `n` released buffers of `size`, each written.
void fill_cache(Device& d, int n, uint64_t size) {
  std::vector<BoRef> bos;
  for (int i = 0; i < n; i++) {
    auto b = d.bo_alloc(size, 0, "filler");
    ASSERT_TRUE(b.ok());
    auto m = (*b)->map();
    ASSERT_TRUE(m.ok());
    std::memset(*m, 0x33, size);
    bos.push_back(std::move(*b));
  }
}  // released: all cached

uint64_t swapped_out() {
  sim::SimDevice* sd = sim::SimDevice::get("panthor", nullptr);
  sim::PanthorReclaim* rc = sd ? sd->shrinker().reclaimer() : nullptr;
  return rc ? rc->stats().swapped_out_bytes : 0;
}

TEST(CachePressure, CachedBuffersAreFreedBeforeTheKernelWouldSwapThem) {
  auto d = open("panthor", /*trim=*/true);
  ASSERT_TRUE(d);
  ASSERT_FALSE(d->info().madvise);
  sim::SimDevice* sd = sim::SimDevice::get("panthor", nullptr);
  ASSERT_NE(sd, nullptr);
  ASSERT_NE(sd->shrinker().reclaimer(), nullptr) << "the model's panthor reclaims transparently";
  BudgetScope budget(sd->shrinker(), 40 * kMiB);
  fill_cache(*d, 8, 4 * kMiB);  // 32 MiB cached of 40 MiB headroom
  ASSERT_GE(d->cache().bytes_cached(), 32 * kMiB);
  const uint64_t swapped_before = swapped_out();
  // A different size (a miss): 16 MiB more would push the kernel over.
  auto big = d->bo_alloc(16 * kMiB, 0, "big");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(swapped_out(), swapped_before) << "the kernel swapped cached buffers out";
  const DeviceStats st = d->stats();
  EXPECT_GE(st.pressure_trims, 1u);
  EXPECT_GE(st.pressure_trimmed_bytes, 8 * kMiB);
  EXPECT_LT(d->cache().bytes_cached(), 32 * kMiB);
}

TEST(CachePressure, WithoutTrimmingTheKernelSwapsCachedBuffers) {
  // The same sequence with the policy off: this is what the test above
  // guards against (and shows it can fail).
  auto d = open("panthor", /*trim=*/false);
  ASSERT_TRUE(d);
  sim::SimDevice* sd = sim::SimDevice::get("panthor", nullptr);
  ASSERT_NE(sd, nullptr);
  BudgetScope budget(sd->shrinker(), 40 * kMiB);
  fill_cache(*d, 8, 4 * kMiB);
  const uint64_t swapped_before = swapped_out();
  auto big = d->bo_alloc(16 * kMiB, 0, "big");
  ASSERT_TRUE(big.ok());
  EXPECT_GT(swapped_out(), swapped_before);
  EXPECT_EQ(d->stats().pressure_trims, 0u);
}

TEST(CachePressure, PanfrostLeavesCachedBuffersToTheKernelsPurge) {
  // madvise: the kernel purges cached buffers for free; nothing to trim.
  auto d = open("panfrost", /*trim=*/true);
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->info().madvise);
  sim::SimDevice* sd = sim::SimDevice::get("panfrost", nullptr);
  BudgetScope budget(sd->shrinker(), 40 * kMiB);
  fill_cache(*d, 8, 4 * kMiB);
  auto big = d->bo_alloc(16 * kMiB, 0, "big");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(d->stats().pressure_trims, 0u);
}

TEST(Labels, EveryBufferNamesItsUse) {
  auto d = open("panthor", true);
  ASSERT_TRUE(d);
  auto plain = d->bo_alloc(64 << 10, 0);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->label(), Device::kUnnamedLabel);
  auto named = d->bo_alloc(64 << 10, 0, "vk:memory");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)->label(), "vk:memory");
  // A cached buffer reused for another use takes the new name.
  named->reset();
  auto reused = d->bo_alloc(64 << 10, 0, "scratch:tls");
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ((*reused)->label(), "scratch:tls");
  auto pool = d->scratch_pool();
  ASSERT_TRUE(pool.ok());
  auto tls = (*pool)->tls(512);
  ASSERT_TRUE(tls.ok());
}

TEST(MapSparse, ZeroReadOnlyBuffersUseTheKernelsSparseMapping) {
  auto d = open("panthor", true);
  ASSERT_TRUE(d);
  const bool has = d->info().sparse_map;  // panthor >= 1.9 (WSYS_SIM_DRIVER_VERSION)
  EXPECT_EQ(SparseBuffer::uses_map_sparse(d->info()), has);
  auto sp = SparseBuffer::create(d, 64 * kMiB, SparseUnbound::ZeroReadOnly);
  ASSERT_TRUE(sp.ok());
  EXPECT_EQ((*sp)->kernel_sparse(), has);
  EXPECT_EQ((*sp)->dummy_bo() == nullptr, has);
  // Unbound reads are zero either way (the model's MAP_SPARSE page is zero).
  const auto* p = static_cast<const uint8_t*>(d->gpu_view((*sp)->gpu_va() + 5 * kMiB));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[123], 0);
  // Bind, unbind and rebind a range: the unbind is one op on MAP_SPARSE.
  auto bo = d->bo_alloc(2 * kMiB, 0, "data");
  ASSERT_TRUE(bo.ok());
  std::memset(*(*bo)->map(), 0x7e, 2 * kMiB);
  ASSERT_TRUE((*sp)->bind(32, 32, **bo, 0).ok());
  ASSERT_TRUE((*sp)->submit(BindMode::Immediate).ok());
  const auto* q = static_cast<const uint8_t*>(d->gpu_view((*sp)->gpu_va() + 32 * (64 << 10)));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[77], 0x7e);
  const VmStats before = d->vm().stats();
  ASSERT_TRUE((*sp)->unbind(0, (*sp)->block_count()).ok());
  ASSERT_TRUE((*sp)->submit(BindMode::Immediate).ok());
  const VmStats after = d->vm().stats();
  if (has) {
    EXPECT_EQ(after.ops_submitted - before.ops_submitted, 1u);
  } else {
    EXPECT_GT(after.ops_submitted - before.ops_submitted, 1u);
  }
  q = static_cast<const uint8_t*>(d->gpu_view((*sp)->gpu_va() + 32 * (64 << 10)));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[77], 0);
  // recreate() replays the sparse ranges: still mapped, still zero.
  ASSERT_TRUE(d->vm().recreate().ok());
  q = static_cast<const uint8_t*>(d->gpu_view((*sp)->gpu_va() + 40 * (64 << 10)));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[5], 0);
  ASSERT_TRUE((*sp)->destroy().ok());
}

TEST(CpuCached, FlushAndInvalidateReachTheKernelOnlyWhereTheGpuDoesNotSnoop) {
  auto d = open("panthor", true);
  ASSERT_TRUE(d);
  sim::SimDevice* sd = sim::SimDevice::get("panthor", nullptr);
  ASSERT_NE(sd, nullptr);
  if (!d->info().cpu_cached_mappings) {
    // panthor before 1.7: refused, never emulated.
    EXPECT_EQ(d->bo_alloc(64 << 10, kAllocCpuCached).error(), -EOPNOTSUPP);
    return;
  }
  if (const char* g = std::getenv("WSYS_SIM_GPU"); g && std::strstr(g, "coherency_features=0")) {
    ASSERT_FALSE(d->info().coherent) << "the model was made non-coherent";
  }
  EXPECT_EQ(d->bo_alloc(64 << 10, kAllocCpuCached | kAllocNoMmap).error(), -EINVAL);
  auto b = d->bo_alloc(64 << 10, kAllocCpuCached, "cached");
  ASSERT_TRUE(b.ok());
  auto m = (*b)->map();
  ASSERT_TRUE(m.ok());
  std::memset(*m, 0x42, 64 << 10);
  const uint64_t before = sd->cache_sync_ops();
  const uint64_t counted_before = d->stats().cache_sync_ops;
  ASSERT_TRUE((*b)->flush(0, 64 << 10).ok());
  ASSERT_TRUE((*b)->invalidate(4096, 100).ok());
  EXPECT_EQ((*b)->flush(60 << 10, 8 << 10).error(), -EINVAL) << "past the end";
  EXPECT_EQ((*b)->flush(0, 0).error(), -EINVAL);
  // WSYS_SIM_GPU=...,coherency_features=0 makes the model non-coherent
  // (core_pressure_noncoherent): two BO_SYNC ops; else none.
  EXPECT_EQ(sd->cache_sync_ops() - before, d->info().coherent ? 0u : 2u);
  // wsys counts exactly what reached the model (the Vulkan tests, which
  // cannot reach the model inside the ICD, read this count).
  EXPECT_EQ(d->stats().cache_sync_ops - counted_before, sd->cache_sync_ops() - before);
  // A buffer without a cached mapping never needs it.
  auto plain = d->bo_alloc(64 << 10, 0);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE((*plain)->flush(0, 4096).ok());
  EXPECT_EQ(sd->cache_sync_ops() - before, d->info().coherent ? 0u : 2u);
  EXPECT_EQ(d->stats().cache_sync_ops - counted_before, sd->cache_sync_ops() - before);
}

// A cached buffer going back to the BO cache is cleaned and invalidated
// first (one BO_SYNC of the whole buffer on a non-coherent GPU), so a dirty
// line of its old user never lands on what the next user or the GPU wrote;
// one destroyed outright needs nothing.
TEST(CpuCached, ReleaseIntoTheCacheCleansTheCpuCache) {
  auto d = open("panthor", false);
  ASSERT_TRUE(d);
  if (!d->info().cpu_cached_mappings) GTEST_SKIP() << "no cached mappings before panthor 1.7";
  sim::SimDevice* sd = sim::SimDevice::get("panthor", nullptr);
  ASSERT_NE(sd, nullptr);
  const uint64_t before = sd->cache_sync_ops();
  {
    auto b = d->bo_alloc(64 << 10, kAllocCpuCached, "cached");
    ASSERT_TRUE(b.ok());
  }  // into the cache
  EXPECT_EQ(d->cache().bytes_cached(), 64u << 10);
  EXPECT_EQ(sd->cache_sync_ops() - before, d->info().coherent ? 0u : 1u);
  {
    auto b = d->bo_alloc(64 << 10, kAllocCpuCached | kAllocNoCache, "cached");
    ASSERT_TRUE(b.ok());
  }  // destroyed
  EXPECT_EQ(sd->cache_sync_ops() - before, d->info().coherent ? 0u : 1u);
}

}  // namespace
}  // namespace wsys
