// The panthor GEM shrinker (sim/panthor_reclaim.h) at the ioctl boundary:
// idle objects are swapped out under the budget and come back intact (by a
// GROUP_SUBMIT on their VM, or by a CPU access), shared objects and busy VMs
// are left alone, a failed restore loses nothing.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "csf/csf_test_util.h"
#include "mem_test_util.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/signalling.h"

namespace wsys::sim::reclaimtest {
namespace {

using namespace csftest;
using memtest::BudgetOverride;
using memtest::checksum;
using memtest::fill;
using memtest::kMiB;

constexpr uint64_t kBoVa = 0x4000000;  // objects from here, 4 MiB apart

void put32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  for (int i = 0; i < 4; i++) v.at(at + i) = static_cast<uint8_t>(x >> (8 * i));
}

class Reclaim : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panthor");
    other = open_model_file("panthor");
    ASSERT_TRUE(f && other);
    dev = f->file().device();
    rc = dev->shrinker().reclaimer();
    ASSERT_NE(rc, nullptr) << "panthor has the GEM shrinker";
    ASSERT_EQ(vm_create(*f, &vm_id), 0);
    vm = vm_of(*f, vm_id);
    before = rc->stats();
    violations_before = signalling_violations().total();
  }
  void TearDown() override {
    fault_inject_clear();
    EXPECT_EQ(signalling_violations().total(), violations_before)
        << "reclaim/restore allocated or blocked in a fence signalling section";
  }
  // A filled object mapped at kBoVa + slot * 4 MiB; returns its handle.
  uint32_t make(uint64_t size, unsigned slot, uint64_t* sum) {
    uint32_t h = bo_create(*f, size);
    EXPECT_NE(h, 0u);
    EXPECT_EQ(map_sync(*f, vm_id, h, 0, va(slot), size), 0);
    uint8_t* p = bo_mmap(*f, h, size);
    if (!p) return h;
    fill(p, size, 1000 + slot);
    *sum = checksum(p, size);
    munmap(p, size);
    return h;
  }
  static uint64_t va(unsigned slot) { return kBoVa + slot * (4ull << 20); }
  bool swapped(SimDrmFile& file, uint32_t h) {
    SimBoPtr bo = file.file().lookup_bo(h);
    return bo && bo->swapped();
  }
  uint64_t sum_via_mmap(uint32_t h, uint64_t size) {
    uint8_t* p = bo_mmap(*f, h, size);
    if (!p) return 0;
    uint64_t s = checksum(p, size);
    munmap(p, size);
    return s;
  }
  uint32_t make_group() {
    GroupArgs a = group_args(*f, vm_id);
    uint32_t g = 0;
    EXPECT_EQ(group_create(*f, a, &g), 0);
    return g;
  }
  // Submits `s` (stored at stream_va) to group g, signalling a new syncobj.
  int run(uint32_t g, const Stream& s, uint64_t stream_va, uint32_t* sync) {
    s.store(*vm, stream_va);
    *sync = syncobj_create(*f);
    return submit1(*f, g, job(0, stream_va, s.size(), {signal_sync(*sync)}));
  }
  // Allocates `size` in the other file (pressure); 0 or the errno.
  int pressure(uint64_t size, uint32_t* h) {
    drm_panthor_bo_create c{};
    c.size = size;
    int r = other->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
    if (r == 0) *h = c.handle;
    return r;
  }

  std::unique_ptr<SimDrmFile> f, other;
  SimDevice* dev = nullptr;
  PanthorReclaim* rc = nullptr;
  uint32_t vm_id = 0;
  SimVmPtr vm;
  ReclaimStats before;
  uint64_t violations_before = 0;
};

TEST_F(Reclaim, IdleObjectsAreSwappedOutUnderTheBudgetAndComeBackIntact) {
  constexpr unsigned kCount = 8;
  const uint64_t size = 1 * kMiB;
  uint32_t h[kCount];
  uint64_t sum[kCount];
  for (unsigned i = 0; i < kCount; i++) h[i] = make(size, i, &sum[i]);
  uint32_t g = make_group();  // the VM is known to the shrinker, idle
  PanthorGroupPtr grp = panthor_priv(f->file())->lookup_group(g);
  ASSERT_TRUE(grp && grp->reclaim_vm());
  SimUsage u0 = sim_file_usage(f->file());
  EXPECT_EQ(u0.swapped, 0u);
  EXPECT_EQ(u0.reclaimable, kCount * size);

  BudgetOverride budget(dev, 2 * kMiB);
  uint32_t big = 0;
  ASSERT_EQ(pressure(6 * kMiB, &big), 0) << "reclaim should have made room";
  ReclaimStats s = rc->stats();
  EXPECT_GE(s.reclaims - before.reclaims, 4u);
  EXPECT_GE(s.swapped_out_bytes - before.swapped_out_bytes, 4 * kMiB);
  EXPECT_LE(dev->shrinker().stats().charged, dev->shrinker().budget());
  unsigned out = 0;
  for (unsigned i = 0; i < kCount; i++) out += swapped(*f, h[i]);
  EXPECT_GE(out, 4u);
  EXPECT_TRUE(grp->reclaim_vm()->evicted());
  // fdinfo: swapped, not resident.
  SimUsage u1 = sim_file_usage(f->file());
  EXPECT_EQ(u1.swapped, out * size);
  EXPECT_EQ(u1.resident, (kCount - out) * size);
  std::string info = sim_file_fdinfo(f->file());
  EXPECT_NE(info.find("drm-swapped-memory:\t" + std::to_string(out * 1024) + " KiB"),
            std::string::npos)
      << info;
  SimDeviceUsage du = sim_device_usage(*dev);
  EXPECT_GE(du.reclaims, s.reclaims);
  EXPECT_GE(du.swapped, out * size);

  // Room again; every object reads back its old contents through a CPU
  // mapping (each one swapped restores on the fault).
  ASSERT_EQ(gem_close(*other, big), 0);
  for (unsigned i = 0; i < kCount; i++) EXPECT_EQ(sum_via_mmap(h[i], size), sum[i]) << i;
  ReclaimStats s2 = rc->stats();
  EXPECT_EQ(s2.cpu_fault_restores - s.cpu_fault_restores, out);
  EXPECT_EQ(s2.fault_restore_failures, before.fault_restore_failures);
  EXPECT_EQ(s2.swapped_in_bytes - s.swapped_in_bytes, out * size);
  EXPECT_EQ(sim_file_usage(f->file()).swapped, 0u);
  for (unsigned i = 0; i < kCount; i++) EXPECT_FALSE(swapped(*f, h[i]));
}

TEST_F(Reclaim, AJobOnAnEvictedVmComputesTheRightResult) {
  const uint64_t size = 1 * kMiB;
  uint64_t sum_src = 0, sum_scratch = 0;
  uint32_t src = make(size, 0, &sum_src);
  uint32_t scratch = make(size, 1, &sum_scratch);  // the stream and the result
  uint32_t g = make_group();
  // The job copies the source into the scratch object's second half.
  Stream s;
  s.copy(va(1) + size / 2, va(0), size / 2);
  uint32_t sync0 = 0;
  ASSERT_EQ(run(g, s, va(1), &sync0), 0);
  ASSERT_EQ(syncobj_wait(*f, sync0, 0), 0);

  BudgetOverride budget(dev, 0);
  uint32_t big = 0;
  ASSERT_EQ(pressure(2 * kMiB, &big), 0);
  ASSERT_TRUE(swapped(*f, src) && swapped(*f, scratch)) << "the idle VM's objects were not taken";
  // New contents for the source, written while it is swapped: the store
  // faults, the object comes back (over the budget), the next charge
  // reclaims again.
  ReclaimStats mid = rc->stats();
  uint8_t* p = bo_mmap(*f, src, size);
  ASSERT_TRUE(p);
  fill(p, size, 77);
  const uint64_t want = checksum(p, size / 2);
  munmap(p, size);
  EXPECT_EQ(rc->stats().cpu_fault_restores - mid.cpu_fault_restores, 1u);
  uint32_t big2 = 0;
  ASSERT_EQ(gem_close(*other, big), 0);
  ASSERT_EQ(pressure(2 * kMiB, &big2), 0);
  ASSERT_TRUE(swapped(*f, src)) << "the restored source was not reclaimed again";

  // The stream itself is in a swapped object: the submit restores first.
  ReclaimStats pre = rc->stats();
  // (the stream stored by the first run is still at va(1), in swap)
  uint32_t sync = syncobj_create(*f);
  ASSERT_EQ(submit1(*f, g, job(0, va(1), s.size(), {signal_sync(sync)})), 0);
  ASSERT_EQ(syncobj_wait(*f, sync, 0), 0);
  EXPECT_EQ(syncobj_error(*f, sync), 0) << "the job faulted on evicted memory";
  ReclaimStats post = rc->stats();
  EXPECT_GE(post.restores - pre.restores, 2u);
  EXPECT_EQ(post.cpu_fault_restores, pre.cpu_fault_restores) << "restored by faults, not the submit";
  EXPECT_FALSE(swapped(*f, src));
  EXPECT_FALSE(swapped(*f, scratch));
  EXPECT_LE(dev->shrinker().stats().charged, dev->shrinker().budget());
  // The result: the new source's first half.
  EXPECT_EQ(checksum(vm->gpu_view(va(1) + size / 2), size / 2), want);
}

TEST_F(Reclaim, OnlyThePagesAnObjectHasGoToSwap) {
  // A large object nobody wrote and one with a single written page: swap
  // holds the one page (the kernel's shmem swap-out writes the pages that
  // exist; copying holes made them real memory the budget never saw).
  const uint64_t big_size = 64 * kMiB, part_size = 8 * kMiB, page_at = 4 * kMiB + 8192;
  uint32_t untouched = bo_create(*f, big_size);
  uint32_t part = bo_create(*f, part_size);
  ASSERT_NE(untouched, 0u);
  ASSERT_NE(part, 0u);
  std::vector<uint8_t> want(part_size, 0);
  fill(want.data() + page_at, 4096, 5);
  uint8_t* p = bo_mmap(*f, part, part_size);
  ASSERT_TRUE(p);
  std::memcpy(p + page_at, want.data() + page_at, 4096);
  munmap(p, part_size);

  BudgetOverride budget(dev, 0);
  uint32_t x = 0;
  ASSERT_EQ(pressure(big_size + part_size, &x), 0);
  ASSERT_TRUE(swapped(*f, untouched) && swapped(*f, part));
  ReclaimStats s = rc->stats();
  EXPECT_EQ(s.swapped_bytes - before.swapped_bytes, big_size + part_size) << "object sizes";
  EXPECT_EQ(s.swap_used_bytes - before.swap_used_bytes, 4096u) << "what the swap holds";
  EXPECT_EQ(s.swapped_out_bytes - before.swapped_out_bytes, 4096u);

  // Back by a CPU access: the written page where it was, zeros elsewhere.
  ASSERT_EQ(gem_close(*other, x), 0);
  p = bo_mmap(*f, part, part_size);
  ASSERT_TRUE(p);
  EXPECT_EQ(std::memcmp(p, want.data(), part_size), 0);
  munmap(p, part_size);
  ReclaimStats s2 = rc->stats();
  EXPECT_FALSE(swapped(*f, part));
  EXPECT_EQ(s2.swapped_in_bytes - s.swapped_in_bytes, 4096u);
  EXPECT_EQ(s2.swap_used_bytes, before.swap_used_bytes);
  // The untouched one dies in swap: nothing to give back, the count stays.
  ASSERT_EQ(gem_close(*f, untouched), 0);
  ReclaimStats s3 = rc->stats();
  EXPECT_EQ(s3.swapped_objects, before.swapped_objects);
  EXPECT_EQ(s3.swap_used_bytes, before.swap_used_bytes);
}

TEST_F(Reclaim, AMappingOutlivesAnObjectClosedInSwap) {
  // The kernel's mmap holds the object: closing its handle while it is in
  // swap leaves the mapping working (a fault restores it). The model's
  // mapping keeps only the memfd, so the contents go back into it when the
  // object dies in swap (a fuzzer found the write faulting for good).
  const uint64_t size = 2 * kMiB;
  uint32_t h = bo_create(*f, size);
  ASSERT_NE(h, 0u);
  uint8_t* p = bo_mmap(*f, h, size);
  ASSERT_TRUE(p);
  fill(p, size, 31);
  const uint64_t sum = checksum(p, size);
  BudgetOverride budget(dev, 0);
  uint32_t x = 0;
  ASSERT_EQ(pressure(size, &x), 0);
  ASSERT_TRUE(swapped(*f, h));
  ASSERT_EQ(gem_close(*f, h), 0);
  EXPECT_EQ(rc->stats().swapped_objects, before.swapped_objects) << "its slot is free";
  EXPECT_EQ(checksum(p, size), sum) << "the mapping reads the old contents";
  p[4096] ^= 0xff;  // and takes a store
  EXPECT_EQ(rc->stats().fault_restore_failures, before.fault_restore_failures);
  munmap(p, size);
  ASSERT_EQ(gem_close(*other, x), 0);
}

TEST_F(Reclaim, AnExportedObjectIsNeverReclaimed) {
  const uint64_t size = 2 * kMiB;
  uint64_t sum_e = 0, sum_p = 0;
  uint32_t e = make(size, 0, &sum_e);
  uint32_t p = make(size, 1, &sum_p);
  auto fd = f->prime_handle_to_fd(e, DRM_CLOEXEC);
  ASSERT_TRUE(fd.ok());
  BudgetOverride budget(dev, 0);
  uint32_t x = 0, y = 0;
  ASSERT_EQ(pressure(size, &x), 0);
  EXPECT_TRUE(swapped(*f, p));
  EXPECT_FALSE(swapped(*f, e));
  // More than everything reclaimable (x): -ENOMEM, the exported object
  // still resident and intact.
  EXPECT_EQ(pressure(2 * size, &y), -ENOMEM);
  EXPECT_FALSE(swapped(*f, e));
  EXPECT_TRUE(swapped(*other, x)) << "the idle unmapped object was a candidate";
  EXPECT_EQ(sim_bo_usage(*f->file().lookup_bo(e)).reclaimable, 0u);
  EXPECT_EQ(checksum(vm->gpu_view(va(0)), size), sum_e);
  close(*fd);
  // Exporting a swapped object brings it back first.
  ASSERT_EQ(gem_close(*other, x), 0);
  auto fd2 = f->prime_handle_to_fd(p, DRM_CLOEXEC);
  ASSERT_TRUE(fd2.ok());
  EXPECT_FALSE(swapped(*f, p));
  void* m = mmap(nullptr, size, PROT_READ, MAP_SHARED, *fd2, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_EQ(checksum(static_cast<uint8_t*>(m), size), sum_p);
  munmap(m, size);
  close(*fd2);
}

TEST_F(Reclaim, AVmWithAJobInFlightIsNotReclaimed) {
  const uint64_t size = 2 * kMiB;
  uint64_t sum = 0;
  uint32_t h = make(size, 0, &sum);
  uint32_t g = make_group();
  Stream s;
  s.sleep_ns(400'000'000);
  s.write32(va(0) + 64, 0xabcd);
  s.store(*vm, va(0));
  // What the object holds once the job ran (computed before it runs).
  const uint64_t want_sum = [&] {
    std::vector<uint8_t> copy(vm->gpu_view(va(0)), vm->gpu_view(va(0)) + size);
    put32(copy, 64, 0xabcd);
    return checksum(copy.data(), size);
  }();
  uint32_t sync = syncobj_create(*f);
  ASSERT_EQ(submit1(*f, g, job(0, va(0), s.size(), {signal_sync(sync)})), 0);
  BudgetOverride budget(dev, 0);
  uint32_t x = 0;
  EXPECT_EQ(pressure(size, &x), -ENOMEM) << "only the busy VM's object was there to take";
  EXPECT_FALSE(swapped(*f, h));
  ASSERT_EQ(syncobj_wait(*f, sync, 0), 0);
  EXPECT_EQ(syncobj_error(*f, sync), 0);
  // Idle as soon as its fence signalled: the object can be taken.
  ASSERT_EQ(pressure(size, &x), 0);
  EXPECT_TRUE(swapped(*f, h));
  ASSERT_EQ(gem_close(*other, x), 0);
  EXPECT_EQ(checksum(vm->gpu_view(va(0)), size), want_sum) << "the GPU view restores too";
}

TEST_F(Reclaim, ACpuMappingMadeBeforeReclaimReadsTheOldContentsAndKeepsWrites) {
  const uint64_t size = 2 * kMiB;
  uint64_t sum = 0;
  uint32_t h = make(size, 0, &sum);
  uint8_t* p = bo_mmap(*f, h, size);
  ASSERT_TRUE(p);
  BudgetOverride budget(dev, 0);
  uint32_t x = 0;
  ASSERT_EQ(pressure(size, &x), 0);
  ASSERT_TRUE(swapped(*f, h));
  EXPECT_EQ(checksum(p, size), sum);  // faults, restores, retries
  EXPECT_FALSE(swapped(*f, h));
  EXPECT_EQ(rc->stats().cpu_fault_restores - before.cpu_fault_restores, 1u);
  EXPECT_GT(rc->stats().overcommit_bytes, before.overcommit_bytes)
      << "a fault restore over the budget is counted";
  p[123] ^= 0xff;
  const uint64_t sum2 = checksum(p, size);
  // Out again (the other object is idle too: make room for a third one).
  ASSERT_EQ(gem_close(*other, x), 0);
  ASSERT_EQ(pressure(size, &x), 0);
  ASSERT_TRUE(swapped(*f, h));
  EXPECT_EQ(checksum(p, size), sum2);
  munmap(p, size);
}

TEST_F(Reclaim, AFailedRestoreIsEnomemAndARetryFindsEverything) {
  const uint64_t size = 2 * kMiB;
  uint64_t sum = 0;
  uint32_t h = make(size, 0, &sum);
  uint32_t g = make_group();
  Stream s;
  s.write32(va(0) + size - 8, 0x1234);
  s.store(*vm, va(0) + size - 4096);
  uint64_t expect_tail = 0;
  {
    std::vector<uint8_t> c(vm->gpu_view(va(0)), vm->gpu_view(va(0)) + size);
    put32(c, size - 8, 0x1234);
    expect_tail = checksum(c.data(), size);
    sum = checksum(vm->gpu_view(va(0)), size);
  }
  BudgetOverride budget(dev, 0);
  uint32_t x = 0;
  ASSERT_EQ(pressure(size, &x), 0);
  ASSERT_TRUE(swapped(*f, h));

  // 1. The fault site: -ENOMEM, nothing queued, contents stay in swap.
  ASSERT_TRUE(fault_inject_set("restore:nth=1"));
  uint32_t sync = syncobj_create(*f);
  EXPECT_EQ(submit1(*f, g, job(0, va(0) + size - 4096, s.size(), {signal_sync(sync)})), -ENOMEM);
  EXPECT_FALSE(syncobj_available(*f, sync)) << "a refused submit published a fence";
  EXPECT_TRUE(swapped(*f, h));
  EXPECT_EQ(fault_inject_failures("restore"), 1u);
  fault_inject_clear();

  // 2. No memory to be had (the other object exported: not reclaimable).
  auto fd = other->prime_handle_to_fd(x, DRM_CLOEXEC);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(submit1(*f, g, job(0, va(0) + size - 4096, s.size(), {signal_sync(sync)})), -ENOMEM);
  EXPECT_TRUE(swapped(*f, h));
  EXPECT_GE(rc->stats().restore_failures - before.restore_failures, 2u);

  // 3. Memory back: the retry restores and runs.
  close(*fd);
  ASSERT_EQ(gem_close(*other, x), 0);
  ASSERT_EQ(submit1(*f, g, job(0, va(0) + size - 4096, s.size(), {signal_sync(sync)})), 0);
  ASSERT_EQ(syncobj_wait(*f, sync, 0), 0);
  EXPECT_EQ(syncobj_error(*f, sync), 0);
  EXPECT_EQ(checksum(vm->gpu_view(va(0)), size), expect_tail);
}

TEST_F(Reclaim, AReclaimFaultSkipsTheObjectAndChangesNothing) {
  const uint64_t size = 2 * kMiB;
  uint64_t sum = 0;
  uint32_t h = make(size, 0, &sum);
  BudgetOverride budget(dev, 0);
  ASSERT_TRUE(fault_inject_set("reclaim:every=1"));
  uint32_t x = 0;
  EXPECT_EQ(pressure(size, &x), -ENOMEM);
  EXPECT_FALSE(swapped(*f, h));
  EXPECT_GE(fault_inject_failures("reclaim"), 1u);
  fault_inject_clear();
  EXPECT_EQ(pressure(size, &x), 0);
  EXPECT_TRUE(swapped(*f, h));
  EXPECT_EQ(sum_via_mmap(h, size), sum);
}

TEST_F(Reclaim, VmBindOnAnEvictedVmMapsTheNewStateAndTheJobSeesIt) {
  const uint64_t size = 1 * kMiB;
  uint64_t sum_a = 0, sum_b = 0;
  uint32_t a = make(size, 0, &sum_a);
  uint32_t b = make(size, 1, &sum_b);
  uint32_t g = make_group();
  BudgetOverride budget(dev, 0);
  uint32_t x = 0;
  ASSERT_EQ(pressure(2 * size, &x), 0);
  ASSERT_TRUE(swapped(*f, a) && swapped(*f, b));
  // While evicted: unmap b, map a a second time at slot 2.
  ASSERT_EQ(unmap_sync(*f, vm_id, va(1), size), 0);
  ASSERT_EQ(map_sync(*f, vm_id, a, 0, va(2), size), 0);
  ASSERT_EQ(gem_close(*other, x), 0);
  // A job writes through the new mapping and checksums both views.
  uint64_t sum_c = 0;
  uint32_t c = make(size, 3, &sum_c);  // the stream's object (resident)
  Stream s;
  s.write32(va(2) + 16, 0x5555);
  SimCmdChecksum ck{};
  ck.va = va(0);
  ck.size = size;
  ck.dst_va = va(3) + size - 8;
  s.add(ck, kCmdChecksum);
  uint32_t sync = 0;
  ASSERT_EQ(run(g, s, va(3), &sync), 0);
  ASSERT_EQ(syncobj_wait(*f, sync, 0), 0);
  EXPECT_EQ(syncobj_error(*f, sync), 0);
  EXPECT_FALSE(swapped(*f, a));
  EXPECT_TRUE(swapped(*f, b)) << "b is no longer mapped in the VM: the submit leaves it";
  uint32_t v = 0;
  std::memcpy(&v, vm->gpu_view(va(0)) + 16, 4);
  EXPECT_EQ(v, 0x5555u) << "both mappings of a show the job's store";
  uint64_t job_sum = 0;
  std::memcpy(&job_sum, vm->gpu_view(va(3) + size - 8), 8);
  EXPECT_NE(job_sum, 0u);
  (void)c;
}

// Concurrent submits on one VM and allocations in another file under a
// small budget: every job's result is right, every failure is -ENOMEM,
// nothing is lost (TSan runs this).
TEST_F(Reclaim, ConcurrentSubmitsAndPressure) {
  const uint64_t size = 1 * kMiB;
  uint64_t sums[4];
  uint32_t h[4];
  for (unsigned i = 0; i < 4; i++) h[i] = make(size, i, &sums[i]);
  uint32_t g = make_group();
  BudgetOverride budget(dev, 3 * kMiB);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread presser([&] {
    std::vector<uint32_t> held;
    while (!stop.load()) {
      uint32_t x = 0;
      int r = pressure(size, &x);
      if (r == 0) held.push_back(x);
      else if (r != -ENOMEM) bad++;
      if (held.size() > 2 || r) {
        for (uint32_t y : held) gem_close(*other, y);
        held.clear();
      }
    }
    for (uint32_t y : held) gem_close(*other, y);
  });
  unsigned ok = 0;
  for (unsigned round = 0; round < 30; round++) {
    // Copy object 1 over object 2's first half, then back (a no-op on the
    // contents of 1, a fixed result in 2).
    Stream s;
    s.copy(va(2), va(1), size / 2);
    uint32_t sync = syncobj_create(*f);
    s.store(*vm, va(3) + size - 4096);
    int r = submit1(*f, g, job(0, va(3) + size - 4096, s.size(), {signal_sync(sync)}));
    if (r == -ENOMEM) continue;
    EXPECT_EQ(r, 0);
    if (r) break;
    EXPECT_EQ(syncobj_wait(*f, sync, 0), 0);
    EXPECT_EQ(syncobj_error(*f, sync), 0);
    ok++;
  }
  stop = true;
  presser.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(ok, 0u);
  EXPECT_EQ(sum_via_mmap(h[0], size), sums[0]);
  EXPECT_EQ(sum_via_mmap(h[1], size), sums[1]);
}

}  // namespace
}  // namespace wsys::sim::reclaimtest
