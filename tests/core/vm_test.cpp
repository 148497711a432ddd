// wsys::Vm on the kernel model: address allocation, bind batches and their
// coalescing, the three modes, parked ranges and lazy reclaim, recreation
// of a VM an async failure made unusable, and concurrency. Reads through
// the GPU view of the model's VM (the CPU window the GPU MMU is modelled
// with) prove what the kernel mapped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "model_jobs.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/vm.h"
#include "wsys/device.hpp"
#include "wsys/vm.hpp"

namespace wsys {
namespace {

using test::deadline_ms;

std::shared_ptr<Device> open_dev(const std::string& driver) {
  DeviceOptions o;
  o.cache_from_env = false;
  std::string why;
  auto d = Device::open("sim:" + driver, o, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

// The model's side of a Vm (tests only).
std::shared_ptr<sim::SimVm> model_vm(Device& d, Vm& vm) {
  auto& f = dynamic_cast<sim::SimDrmFile&>(KernelAccess::device(d).file());
  return f.file().lookup_vm(vm.kernel_id());
}

BoRef filled_bo(Device& d, uint64_t size, uint32_t pattern) {
  auto b = d.bo_alloc(size, kAllocShareable);
  EXPECT_TRUE(b.ok());
  auto m = (*b)->map();
  EXPECT_TRUE(m.ok());
  auto* w = static_cast<uint32_t*>(*m);
  for (uint64_t i = 0; i < size / 4; ++i) w[i] = pattern + static_cast<uint32_t>(i / 1024);
  return *b;
}

uint32_t gpu_read32(sim::SimVm& vm, uint64_t va) {
  uint32_t v;
  std::memcpy(&v, vm.gpu_view(va), sizeof v);
  return v;
}

bool wait_point(Device& d, uint32_t s, uint64_t p, int64_t ms = 5000) {
  return d.syncobj_wait(SyncPoint{s, p}, deadline_ms(ms)).ok();
}

class VmPanthor : public ::testing::Test {
 protected:
  void SetUp() override {
    dev = open_dev("panthor");
    ASSERT_TRUE(dev);
    auto v = Vm::create(dev);
    ASSERT_TRUE(v.ok()) << v.error();
    vm = *v;
    mvm = model_vm(*dev, *vm);
    ASSERT_TRUE(mvm);
  }
  std::shared_ptr<Device> dev;
  std::shared_ptr<Vm> vm;
  std::shared_ptr<sim::SimVm> mvm;
};

TEST_F(VmPanthor, ImmediateMapIsVisibleThroughTheGpu) {
  BoRef bo = filled_bo(*dev, 64 << 10, 0x1000);
  auto va = vm->alloc_va(64 << 10, 64 << 10);
  ASSERT_TRUE(va.ok());
  EXPECT_EQ(va->addr % (64 << 10), 0u);
  EXPECT_GE(va->addr, 32u << 20) << "the null guard: nothing below 32 MiB";
  BindBatch b;
  b.map(*bo, 0, va->addr, 64 << 10, kMapNoExec);
  ASSERT_TRUE(vm->bind(b, BindMode::Immediate).ok());
  EXPECT_TRUE(b.empty()) << "a submitted batch is cleared";
  EXPECT_EQ(gpu_read32(*mvm, va->addr), 0x1000u);
  EXPECT_EQ(gpu_read32(*mvm, va->addr + 8192), 0x1002u);
  VmStats s = vm->stats();
  EXPECT_EQ(s.bind_calls, 1u);
  EXPECT_EQ(s.immediate, 1u);
  EXPECT_EQ(s.mappings, 1u);
  EXPECT_TRUE(vm->unmap_and_free(*va, std::nullopt).ok());
  EXPECT_EQ(vm->stats().mappings, 0u);
  EXPECT_EQ(vm->stats().va.allocation_count, 0u);
}

TEST_F(VmPanthor, AdjacentOpsCoalesceIntoOne) {
  BoRef bo = filled_bo(*dev, 1 << 20, 0);
  auto va = vm->alloc_va(1 << 20);
  ASSERT_TRUE(va.ok());
  BindBatch b;
  for (int i = 0; i < 16; ++i) b.map(*bo, i * 65536ull, va->addr + i * 65536ull, 65536);
  EXPECT_EQ(b.requested_ops(), 16u);
  EXPECT_EQ(b.op_count(), 1u);
  // Not adjacent in the buffer: a second op.
  auto va2 = vm->alloc_va(128 << 10);
  b.map(*bo, 0, va2->addr, 65536);
  b.map(*bo, 2 * 65536, va2->addr + 65536, 65536);
  EXPECT_EQ(b.op_count(), 3u);
  ASSERT_TRUE(vm->bind(b, BindMode::Immediate).ok());
  VmStats s = vm->stats();
  EXPECT_EQ(s.ops_requested, 18u);
  EXPECT_EQ(s.ops_submitted, 3u);
  EXPECT_EQ(gpu_read32(*mvm, va2->addr + 65536), 2u * 16);  // the third 64 KiB
  // Unmaps coalesce too.
  for (int i = 0; i < 16; ++i) b.unmap(va->addr + i * 65536ull, 65536);
  EXPECT_EQ(b.op_count(), 1u);
  ASSERT_TRUE(vm->bind(b, BindMode::Immediate).ok());
  EXPECT_EQ(vm->stats().mappings, 2u);
}

// A point the kernel knows about but that has not signalled: a job's.
// (Waiting on a timeline point nothing was submitted for is the kernel's
// -EINVAL, as in drm_syncobj_find_fence.)
TEST_F(VmPanthor, AsyncBindWaitsForItsPointAndSignalsItsOwn) {
  BoRef bo = filled_bo(*dev, 64 << 10, 0x77);
  auto va = vm->alloc_va(64 << 10);
  auto in = dev->syncobj_create(false);
  auto out = dev->syncobj_create(false);
  ASSERT_TRUE(in.ok() && out.ok());
  test::Jobs jobs(*dev);
  test::Stream st;
  st.sleep(150'000'000);
  ASSERT_TRUE(jobs.run(st, {}, *in, 1).ok());
  BindBatch b;
  b.map(*bo, 0, va->addr, 64 << 10);
  b.wait({*in, 1});
  b.signal({*out, 1});
  ASSERT_TRUE(vm->bind(b, BindMode::Async).ok());
  EXPECT_FALSE(wait_point(*dev, *out, 1, 0)) << "ran before its wait point";
  ASSERT_TRUE(wait_point(*dev, *out, 1));
  EXPECT_TRUE(wait_point(*dev, *in, 1, 0)) << "signalled before the job it waits for";
  EXPECT_EQ(gpu_read32(*mvm, va->addr), 0x77u);
  EXPECT_EQ(vm->stats().async, 1u);
  (void)dev->syncobj_destroy(*in);
  (void)dev->syncobj_destroy(*out);
}

TEST_F(VmPanthor, SyncOnlyBatchSignalsAfterItsWait) {
  auto in = dev->syncobj_create(false);
  auto out = dev->syncobj_create(false);
  test::Jobs jobs(*dev);
  test::Stream st;
  st.sleep(150'000'000);
  auto r = jobs.run(st, {}, *in, 3);
  ASSERT_TRUE(r.ok()) << r.error() << " group " << jobs.group();
  BindBatch b;
  b.wait({*in, 3});
  b.signal({*out, 1});
  ASSERT_TRUE(vm->bind(b, BindMode::Async).ok());
  EXPECT_FALSE(wait_point(*dev, *out, 1, 0));
  EXPECT_TRUE(wait_point(*dev, *out, 1));
  EXPECT_TRUE(wait_point(*dev, *in, 3, 0));
  (void)dev->syncobj_destroy(*in);
  (void)dev->syncobj_destroy(*out);
}

TEST_F(VmPanthor, AsyncWaitOnAPointNeverSubmittedIsRefused) {
  auto in = dev->syncobj_create(false);
  BindBatch b;
  b.wait({*in, 5});
  EXPECT_EQ(vm->bind(b, BindMode::Async).error(), -EINVAL);
  (void)dev->syncobj_destroy(*in);
}

// An unmap behind a point nobody submits: the kernel refuses the async
// unmap (no fence to wait on), so wsys waits for a submission (a second:
// kSubmitWaitNs), gives up and unmaps. A second unmap behind the same point (or an earlier one of
// its timeline) only polls: a teardown of many buffers sharing one stuck
// use costs one timeout (the capi fuzzer's 20 s input).
TEST_F(VmPanthor, APointThatTimedOutOnceIsOnlyPolledAfterwards) {
  auto s = dev->syncobj_create(false);
  ASSERT_TRUE(s.ok());
  auto a = vm->alloc_va(64 << 10);
  auto b = vm->alloc_va(64 << 10);
  auto c = vm->alloc_va(64 << 10);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(vm->unmap_and_free(*a, SyncPoint{*s, 7}).ok());
  EXPECT_EQ(vm->stats().waits_timed_out, 1u);
  ASSERT_TRUE(vm->unmap_and_free(*b, SyncPoint{*s, 7}).ok());
  ASSERT_TRUE(vm->unmap_and_free(*c, SyncPoint{*s, 3}).ok());
  EXPECT_EQ(vm->stats().waits_timed_out, 1u) << "the stuck point was waited for again";
  EXPECT_EQ(vm->stats().va_parked, 0u) << "unmapped at once, nothing parked";
  // The ranges are free again.
  EXPECT_TRUE(vm->alloc_va_fixed(a->addr, a->size).ok());
  (void)dev->syncobj_destroy(*s);
}

TEST_F(VmPanthor, DeferToIdleRunsBehindTheActivityTimeline) {
  BoRef bo = filled_bo(*dev, 64 << 10, 0x55);
  auto va = vm->alloc_va(64 << 10);
  BindBatch b;
  b.map(*bo, 0, va->addr, 64 << 10);
  const uint64_t before = vm->activity_point();
  ASSERT_TRUE(vm->bind(b, BindMode::DeferToIdle).ok());
  EXPECT_EQ(vm->activity_point(), before + 1);
  ASSERT_TRUE(wait_point(*dev, vm->activity_syncobj(), vm->activity_point()));
  EXPECT_EQ(gpu_read32(*mvm, va->addr), 0x55u);
  EXPECT_EQ(vm->stats().deferred, 1u);
}

TEST_F(VmPanthor, RejectsWhatTheKernelWouldAndChangesNothing) {
  BoRef bo = filled_bo(*dev, 64 << 10, 0);
  auto va = vm->alloc_va(64 << 10);
  BindBatch b;
  b.map(*bo, 0, va->addr, 64 << 10);
  b.signal({1, 1});
  EXPECT_EQ(vm->bind(b, BindMode::Immediate).error(), -EINVAL) << "syncs need Async";
  EXPECT_EQ(vm->bind(b, BindMode::DeferToIdle).error(), -EINVAL);
  EXPECT_FALSE(b.empty()) << "a refused batch is kept";
  BindBatch bad;
  bad.map(*bo, 0, va->addr, 128 << 10);  // past the end of the buffer
  size_t failed = 99;
  EXPECT_EQ(vm->bind(bad, BindMode::Immediate, &failed).error(), -EINVAL);
  EXPECT_EQ(failed, 0u);
  EXPECT_EQ(vm->stats().mappings, 0u);
  BindBatch empty;
  EXPECT_TRUE(vm->bind(empty, BindMode::Immediate).ok());
  EXPECT_EQ(vm->free_va_after(*va, SyncPoint{0, 0}).error(), -EINVAL);
}

TEST_F(VmPanthor, ParkedRangeReturnsOnlyAfterItsPoint) {
  auto s = dev->syncobj_create(false);
  auto va = vm->alloc_va(1 << 20);
  ASSERT_TRUE(va.ok());
  ASSERT_TRUE(vm->free_va_after(*va, {*s, 2}).ok());
  EXPECT_EQ(vm->stats().va_parked, 1u);
  EXPECT_EQ(vm->reclaim(), 0u);
  EXPECT_FALSE(vm->alloc_va_fixed(va->addr, va->size).ok()) << "reused while parked";
  ASSERT_TRUE(dev->syncobj_signal(*s, 2).ok());
  EXPECT_EQ(vm->reclaim(), 1u);
  EXPECT_EQ(vm->stats().va_parked, 0u);
  auto again = vm->alloc_va_fixed(va->addr, va->size);
  EXPECT_TRUE(again.ok());
  (void)dev->syncobj_destroy(*s);
}

// The device VM: a job keeps using a range whose unmap was requested.
TEST(VmDevice, UnmapBehindAJobLetsTheJobFinishThenReclaims) {
  auto dev = open_dev("panthor");
  ASSERT_TRUE(dev);
  Vm& vm = dev->vm();
  BoRef bo = filled_bo(*dev, 64 << 10, 0);
  auto va = vm.alloc_va(64 << 10);
  BindBatch b;
  b.map(*bo, 0, va->addr, 64 << 10);
  ASSERT_TRUE(vm.bind(b, BindMode::Immediate).ok());
  auto s = dev->syncobj_create(false);
  test::Jobs jobs(*dev);
  test::Stream st;
  st.sleep(200'000'000);
  st.write32(va->addr + 16, 0xfeed);
  ASSERT_TRUE(jobs.run(st, {}, *s, 1).ok());
  ASSERT_TRUE(vm.unmap_and_free(*va, SyncPoint{*s, 1}).ok());
  EXPECT_EQ(vm.stats().va_parked, 1u);
  ASSERT_TRUE(wait_point(*dev, *s, 1));
  EXPECT_EQ(static_cast<uint32_t*>(bo->cpu())[4], 0xfeedu) << "the job wrote before the unmap";
  for (int i = 0; i < 5000 && vm.stats().va_parked; ++i) {
    usleep(1000);
    vm.reclaim();
  }
  EXPECT_EQ(vm.stats().va_parked, 0u);
  auto gs = KernelAccess::device(*dev).group_get_state(jobs.group());
  ASSERT_TRUE(gs.ok());
  EXPECT_FALSE(gs->fatal_fault);
  (void)dev->syncobj_destroy(*s);
}

TEST_F(VmPanthor, RecreateReplaysMappingsIntoANewVm) {
  BoRef a = filled_bo(*dev, 64 << 10, 0xa000);
  BoRef c = filled_bo(*dev, 128 << 10, 0xc000);
  auto va_a = vm->alloc_va(64 << 10);
  auto va_c = vm->alloc_va(128 << 10);
  BindBatch b;
  b.map(*a, 0, va_a->addr, 64 << 10);
  b.map(*c, 64 << 10, va_c->addr, 64 << 10);  // the second half of c
  ASSERT_TRUE(vm->bind(b, BindMode::Immediate).ok());
  const uint32_t old_id = vm->kernel_id();

  // An async job that fails while running makes the VM unusable.
  mvm->inject_run_failures(-ENOMEM, 1);
  auto s = dev->syncobj_create(false);
  BindBatch fail;
  fail.map(*a, 0, va_c->addr + (64 << 10), 64 << 10);
  fail.signal({*s, 1});
  ASSERT_TRUE(vm->bind(fail, BindMode::Async).ok());
  ASSERT_TRUE(wait_point(*dev, *s, 1));
  EXPECT_FALSE(vm->usable());

  ASSERT_TRUE(vm->recreate().ok());
  EXPECT_TRUE(vm->usable());
  EXPECT_NE(vm->kernel_id(), old_id);
  auto nvm = model_vm(*dev, *vm);
  ASSERT_TRUE(nvm);
  EXPECT_EQ(gpu_read32(*nvm, va_a->addr), 0xa000u);
  EXPECT_EQ(gpu_read32(*nvm, va_c->addr), 0xc000u + 16) << "offset 64 KiB of c";
  // The op whose job failed is replayed too: the new VM holds what was
  // asked for.
  EXPECT_EQ(gpu_read32(*nvm, va_c->addr + (64 << 10)), 0xa000u);
  EXPECT_EQ(nvm->mapping_count(), 3u);
  EXPECT_EQ(vm->stats().recreations, 1u);
  (void)dev->syncobj_destroy(*s);
}

TEST_F(VmPanthor, ConcurrentMapUnmapFromManyThreads) {
  std::atomic<int> errors{0};
  std::vector<std::thread> t;
  for (int i = 0; i < 4; ++i) {
    t.emplace_back([&, i] {
      BoRef bo = filled_bo(*dev, 64 << 10, 0x100u * static_cast<uint32_t>(i));
      for (int n = 0; n < 100; ++n) {
        auto va = vm->alloc_va(64 << 10);
        if (!va.ok()) { errors++; continue; }
        BindBatch b;
        b.map(*bo, 0, va->addr, 64 << 10);
        if (!vm->bind(b, BindMode::Immediate).ok()) errors++;
        if (gpu_read32(*mvm, va->addr) != 0x100u * static_cast<uint32_t>(i)) errors++;
        if (!vm->unmap_and_free(*va, std::nullopt).ok()) errors++;
      }
    });
  }
  for (auto& th : t) th.join();
  EXPECT_EQ(errors.load(), 0);
  VmStats s = vm->stats();
  EXPECT_EQ(s.mappings, 0u);
  EXPECT_EQ(s.va.allocation_count, 0u);
  EXPECT_EQ(s.bind_calls, 800u);
}

TEST(VmPanfrost, TheKernelPlacesBuffers) {
  auto dev = open_dev("panfrost");
  ASSERT_TRUE(dev);
  auto v = Vm::create(dev);
  // panfrost has one address space per file: the device already has it.
  EXPECT_EQ(v.error(), -EBUSY);
  Vm& vm = dev->vm();
  EXPECT_TRUE(vm.kernel_managed_va());
  EXPECT_EQ(vm.alloc_va(4096).error(), -EOPNOTSUPP);
  auto bo = dev->bo_alloc(64 << 10, 0);
  ASSERT_TRUE(bo.ok());
  BindBatch b;
  b.map(**bo, 0, (*bo)->gpu_va(), (*bo)->size());  // what the kernel did: accepted
  EXPECT_TRUE(vm.bind(b, BindMode::Immediate).ok());
  EXPECT_EQ(vm.activity_syncobj(), 0u);
}

}  // namespace
}  // namespace wsys
