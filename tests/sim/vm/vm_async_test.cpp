// Asynchronous VM_BIND: jobs ordered against syncobj waits and signals,
// failures that make the VM unusable, destruction with jobs pending, and a
// multi-threaded bind/wait stress test (also run under TSan).
#include <atomic>
#include <chrono>
#include <thread>

#include "vm_test_util.h"
#include "winsys/sim/bind_queue.h"
#include "winsys/sim/signalling.h"

namespace wsys::sim::vmtest {
namespace {

#if defined(WSYS_SANITIZE_THREAD)
constexpr int kStressIters = 600;
#elif defined(WSYS_SANITIZE_ADDRESS)
constexpr int kStressIters = 600;
#else
constexpr int kStressIters = 1000;
#endif

// Gives a worker thread a chance to run; never a pass/fail criterion.
void let_workers_run() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

class VmAsync : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panthor");
    ASSERT_TRUE(f);
    ASSERT_EQ(vm_create(*f, &vm_id, &user_end), 0);
    vm = vm_of(*f, vm_id);
    ASSERT_TRUE(vm);
  }

  // Queues a SYNC_ONLY op signalling a fresh syncobj and waits for it: all
  // earlier jobs of the VM have completed then (the queue is in order).
  void drain() {
    uint32_t s = syncobj_create(*f);
    std::vector<drm_panthor_sync_op> sy = {signal_sync(s)};
    auto op = sync_only_op();
    attach(op, sy);
    ASSERT_EQ(bind(*f, vm_id, {op}, true), 0);
    ASSERT_EQ(syncobj_wait(*f, s, 0), 0);
    vm->bind_queue()->wait_idle();
  }

  int bind1(drm_panthor_vm_bind_op op, std::vector<drm_panthor_sync_op> syncs) {
    attach(op, syncs);
    return bind(*f, vm_id, {op}, true);
  }

  std::unique_ptr<SimDrmFile> f;
  uint32_t vm_id = 0;
  uint64_t user_end = 0;
  SimVmPtr vm;
};

TEST_F(VmAsync, BindWaitsForItsSyncobjAndSignalsAfterTheMappingIsVisible) {
  VMTEST_REQUIRE_PROBES();
  uint32_t bo = bo_create(*f, k4K);
  uint8_t* cpu = bo_mmap(*f, bo, k4K);
  ASSERT_TRUE(cpu);
  cpu[0] = 0x3c;
  const uint64_t sections_before = signalling_sections_entered();
  uint32_t in = syncobj_create(*f), out = syncobj_create(*f);
  FencePtr gate = install_unsignalled_fence(*f, in);
  const uint64_t va = 0x300000;
  ASSERT_EQ(bind1(map_op(bo, 0, va, k4K), {wait_sync(in), signal_sync(out)}), 0);
  // Published at once, but blocked behind `in`.
  EXPECT_TRUE(syncobj_available(*f, out));
  let_workers_run();
  EXPECT_FALSE(syncobj_signalled(*f, out));
  EXPECT_EQ(probe_read(vm->gpu_view(va)), 0) << "mapped before its wait signalled";
  EXPECT_EQ(vm->mapping_count(), 0u);
  EXPECT_EQ(vm->bind_queue()->pending(), 1u);

  std::thread other([gate] {
    let_workers_run();
    gate->signal(0);
  });
  ASSERT_EQ(syncobj_wait(*f, out, 0), 0);
  // The out-fence signalled: the mapping must already be visible.
  EXPECT_EQ(probe_read(vm->gpu_view(va)), 1);
  EXPECT_EQ(vm->gpu_view(va)[0], 0x3c);
  EXPECT_EQ(syncobj_error(*f, out), 0);
  other.join();
  EXPECT_GT(signalling_sections_entered(), sections_before);
  munmap(cpu, k4K);
}

TEST_F(VmAsync, TimelineOrdersJobsAcrossIoctls) {
  uint32_t a = bo_create(*f, k4K), b = bo_create(*f, k4K);
  uint8_t* ca = bo_mmap(*f, a, k4K);
  uint8_t* cb = bo_mmap(*f, b, k4K);
  ASSERT_TRUE(ca && cb);
  ca[0] = 'a';
  cb[0] = 'b';
  uint32_t in = syncobj_create(*f), t = syncobj_create(*f);
  FencePtr gate = install_unsignalled_fence(*f, in);
  const uint64_t va = 0x500000;
  ASSERT_EQ(bind1(map_op(a, 0, va, k4K), {wait_sync(in), signal_sync(t, 1)}), 0);
  ASSERT_EQ(bind1(unmap_op(va, k4K), {wait_sync(t, 1), signal_sync(t, 2)}), 0);
  ASSERT_EQ(bind1(map_op(b, 0, va, k4K), {wait_sync(t, 2), signal_sync(t, 3)}), 0);
  let_workers_run();
  EXPECT_FALSE(syncobj_signalled(*f, t, 1));
  EXPECT_EQ(vm->mapping_count(), 0u);
  gate->signal(0);
  ASSERT_EQ(syncobj_wait(*f, t, 3), 0);
  EXPECT_TRUE(syncobj_signalled(*f, t, 1));
  EXPECT_TRUE(syncobj_signalled(*f, t, 2));
  EXPECT_EQ(vm->gpu_view(va)[0], 'b');
  EXPECT_EQ(vm->mapping_count(), 1u);
  munmap(ca, k4K);
  munmap(cb, k4K);
}

TEST_F(VmAsync, QueueRunsJobsInSubmissionOrder) {
  uint32_t a = bo_create(*f, k4K), b = bo_create(*f, k4K);
  uint8_t* ca = bo_mmap(*f, a, k4K);
  uint8_t* cb = bo_mmap(*f, b, k4K);
  ASSERT_TRUE(ca && cb);
  ca[0] = 1;
  cb[0] = 2;
  const uint64_t va = 0x700000;
  for (int i = 0; i < 60; i++) {
    uint32_t bo = i % 2 ? b : a;
    ASSERT_EQ(bind(*f, vm_id, {map_op(bo, 0, va, k4K)}, true), 0);
    if (i % 3 == 2) {
      ASSERT_EQ(bind(*f, vm_id, {unmap_op(va, k4K)}, true), 0);
    }
  }
  ASSERT_EQ(bind(*f, vm_id, {map_op(a, 0, va, k4K), map_op(b, 0, va, k4K)}, true), 0);
  drain();
  EXPECT_EQ(vm->gpu_view(va)[0], 2);
  EXPECT_EQ(vm->mapping_count(), 1u);
  EXPECT_EQ(vm->pt_counters().overruns, 0u);
  munmap(ca, k4K);
  munmap(cb, k4K);
}

TEST_F(VmAsync, FailingJobErrorsItsFenceAndMakesTheVmUnusable) {
  VMTEST_REQUIRE_PROBES();
  uint32_t bo = bo_create(*f, 4 * k4K);
  const uint64_t kept = 0x100000;
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, kept, k4K), 0);
  ASSERT_EQ(bind(*f, vm_id, {map_op(bo, 0, 0x900000, k4K)}, true), 0);  // a good job first
  drain();

  // The kernel's run step can fail (page-table allocation, MMU errors); the
  // model's test hook makes the next one fail like that.
  vm->inject_run_failures(-ENOMEM, 1);
  uint32_t s1 = syncobj_create(*f), s2 = syncobj_create(*f), s3 = syncobj_create(*f);
  auto op1 = map_op(bo, 0, 0x200000, k4K);
  auto op2 = map_op(bo, k4K, 0x201000, k4K);
  auto op3 = unmap_op(0x900000, k4K);
  std::vector<drm_panthor_sync_op> y1 = {signal_sync(s1)}, y2 = {signal_sync(s2)},
                                   y3 = {signal_sync(s3)};
  attach(op1, y1);
  attach(op2, y2);
  attach(op3, y3);
  ASSERT_EQ(bind(*f, vm_id, {op1, op2, op3}, true), 0);
  ASSERT_EQ(syncobj_wait(*f, s3, 0), 0);
  EXPECT_EQ(syncobj_error(*f, s1), -ENOMEM);
  EXPECT_EQ(syncobj_error(*f, s2), -EINVAL) << "a MAP on an unusable VM fails";
  EXPECT_EQ(syncobj_error(*f, s3), 0) << "an UNMAP still works";
  EXPECT_EQ(probe_read(vm->gpu_view(0x200000)), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(0x201000)), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(0x900000)), 0);

  uint32_t state = 0;
  ASSERT_EQ(vm_state(*f, vm_id, &state), 0);
  EXPECT_EQ(state, static_cast<uint32_t>(DRM_PANTHOR_VM_STATE_UNUSABLE));
  // No more async work at all, not even an UNMAP or a SYNC_ONLY.
  uint32_t s4 = syncobj_create(*f);
  EXPECT_EQ(bind1(unmap_op(kept, k4K), {signal_sync(s4)}), -EINVAL);
  EXPECT_EQ(bind1(sync_only_op(), {signal_sync(s4)}), -EINVAL);
  EXPECT_FALSE(syncobj_available(*f, s4));
  // Synchronous MAP fails, synchronous UNMAP works.
  uint32_t count = 9;
  EXPECT_EQ(bind(*f, vm_id, {map_op(bo, 0, 0x300000, k4K)}, false, &count), -EINVAL);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(probe_read(vm->gpu_view(kept)), 1);
  EXPECT_EQ(unmap_sync(*f, vm_id, kept, k4K), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(kept)), 0);
  EXPECT_EQ(vm->mapping_count(), 0u);
  // Only destroying it gets out of this state.
  ASSERT_EQ(vm_state(*f, vm_id, &state), 0);
  EXPECT_EQ(state, static_cast<uint32_t>(DRM_PANTHOR_VM_STATE_UNUSABLE));
  EXPECT_EQ(vm->pt_counters().live, 1u);
  EXPECT_EQ(vm_destroy(*f, vm_id), 0);
}

TEST_F(VmAsync, SyncRunFailureReportsTheIndexAndKeepsTheVmUsable) {
  uint32_t bo = bo_create(*f, 4 * k4K);
  vm->inject_run_failures(-ENOMEM, 1);
  uint32_t count = 0;
  EXPECT_EQ(bind(*f, vm_id, {map_op(bo, 0, 0x100000, k4K), map_op(bo, 0, 0x200000, k4K)}, false,
                 &count),
            -ENOMEM);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(vm->mapping_count(), 0u);
  uint32_t state = 1;
  ASSERT_EQ(vm_state(*f, vm_id, &state), 0);
  EXPECT_EQ(state, static_cast<uint32_t>(DRM_PANTHOR_VM_STATE_USABLE));
  PageTableCounters c = vm->pt_counters();
  EXPECT_EQ(c.reserved, c.returned) << "the failed op's reservation went back";
  EXPECT_EQ(c.live, 1u);
}

TEST_F(VmAsync, DestroyWithJobsPendingCancelsThem) {
  VMTEST_REQUIRE_PROBES();
  SimDevice* dev = f->file().device();
  const uint64_t bos_before = dev->live_bos();
  uint32_t bo = bo_create(*f, k4K);
  uint32_t in = syncobj_create(*f);
  FencePtr gate = install_unsignalled_fence(*f, in);
  uint32_t s1 = syncobj_create(*f), s2 = syncobj_create(*f), s3 = syncobj_create(*f);
  auto op1 = map_op(bo, 0, 0x100000, k4K);
  auto op2 = unmap_op(0x100000, k4K);
  auto op3 = sync_only_op();
  std::vector<drm_panthor_sync_op> y1 = {wait_sync(in), signal_sync(s1)}, y2 = {signal_sync(s2)},
                                   y3 = {signal_sync(s3)};
  attach(op1, y1);
  attach(op2, y2);
  attach(op3, y3);
  ASSERT_EQ(bind(*f, vm_id, {op1, op2, op3}, true), 0);
  ASSERT_EQ(gem_close(*f, bo), 0);  // the pending MAP holds the only reference
  EXPECT_EQ(dev->live_bos(), bos_before + 1);
  let_workers_run();
  EXPECT_EQ(vm->bind_queue()->pending(), 3u);
  const uint8_t* view = vm->gpu_view(0x100000);
  EXPECT_EQ(probe_read(view), 0);

  ASSERT_EQ(vm_destroy(*f, vm_id), 0);
  // Every fence signalled, with an error: none is left hanging.
  for (uint32_t s : {s1, s2, s3}) {
    EXPECT_TRUE(syncobj_signalled(*f, s));
    EXPECT_EQ(syncobj_error(*f, s), -ESRCH);
  }
  EXPECT_EQ(vm->bind_queue()->pending(), 0u);
  EXPECT_EQ(vm->mapping_count(), 0u);
  EXPECT_EQ(dev->live_bos(), bos_before);
  PageTableCounters c = vm->pt_counters();
  EXPECT_EQ(c.reserved, c.used + c.returned);
  gate->signal(0);  // nothing waits on it any more
}

TEST(VmAsyncClose, ClosingTheFileCancelsPendingJobs) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t vm_id = 0;
  ASSERT_EQ(vm_create(*f, &vm_id), 0);
  uint32_t bo = bo_create(*f, k4K);
  uint32_t in = syncobj_create(*f), out = syncobj_create(*f);
  FencePtr gate = install_unsignalled_fence(*f, in);
  auto op = map_op(bo, 0, 0x100000, k4K);
  std::vector<drm_panthor_sync_op> y = {wait_sync(in), signal_sync(out)};
  attach(op, y);
  ASSERT_EQ(bind(*f, vm_id, {op}, true), 0);
  SyncobjPtr out_obj = f->file().lookup_syncobj(out);
  ASSERT_TRUE(out_obj);
  f.reset();  // drm_file release: VMs are destroyed, their queues drained
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    EXPECT_TRUE(out_obj->signalled_locked(0));
    EXPECT_EQ(out_obj->status_locked(0), -ESRCH);
  }
  gate->signal(0);
}

// Several threads bind and unbind disjoint ranges of one VM asynchronously,
// each ordering its own jobs with a timeline syncobj and checking what it
// mapped; one more binds synchronously and one polls the VM state.
TEST_F(VmAsync, ThreadsBindDisjointRangesConcurrently) {
  VMTEST_REQUIRE_PROBES();
  constexpr int kThreads = 4;
  const uint64_t kBoSize = 16 * k4K;
  uint32_t bos[kThreads + 1];
  for (int t = 0; t <= kThreads; t++) {
    bos[t] = bo_create(*f, kBoSize);
    uint8_t* cpu = bo_mmap(*f, bos[t], kBoSize);
    ASSERT_TRUE(cpu);
    fill_tags(cpu, static_cast<uint32_t>(t + 1), kBoSize);
    munmap(cpu, kBoSize);
  }
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  auto range_of = [](int t) { return 0x10000000ull + static_cast<uint64_t>(t) * 4 * k2M; };

  auto async_worker = [&](int t) {
    uint32_t tl = syncobj_create(*f);
    const uint64_t va = range_of(t) + static_cast<uint64_t>(t) * k4K;  // not 2 MiB-aligned
    uint64_t point = 0;
    for (int i = 0; i < kStressIters && failures == 0; i++) {
      uint64_t pages = 1 + static_cast<uint64_t>(i % 8);
      uint64_t off = static_cast<uint64_t>(i % 4) * k4K;
      auto m = map_op(bos[t], off, va, pages * k4K);
      std::vector<drm_panthor_sync_op> ms = {signal_sync(tl, ++point)};
      attach(m, ms);
      if (bind(*f, vm_id, {m}, true) != 0) failures++;
      if (i % 8 == 0) {
        if (syncobj_wait(*f, tl, point) != 0) failures++;
        for (uint64_t p = 0; p < pages; p++)
          if (read_tag(vm->gpu_view(va + p * k4K)) != page_tag(t + 1, off / k4K + p)) failures++;
      }
      auto u = unmap_op(va, pages * k4K);
      std::vector<drm_panthor_sync_op> us = {wait_sync(tl, point), signal_sync(tl, point + 1)};
      point++;
      attach(u, us);
      if (bind(*f, vm_id, {u}, true) != 0) failures++;
      if (i % 16 == 0) {
        if (syncobj_wait(*f, tl, point) != 0) failures++;
        if (probe_read(vm->gpu_view(va)) != 0) failures++;
      }
    }
    if (syncobj_wait(*f, tl, point) != 0) failures++;
    if (syncobj_error(*f, tl, point) != 0) failures++;
  };
  auto sync_worker = [&] {
    const uint64_t va = range_of(kThreads) + k2M;
    for (int i = 0; i < kStressIters && failures == 0; i++) {
      if (map_sync(*f, vm_id, bos[kThreads], 0, va, kBoSize) != 0) failures++;
      if (read_tag(vm->gpu_view(va + k4K)) != page_tag(kThreads + 1, 1)) failures++;
      if (unmap_sync(*f, vm_id, va, kBoSize) != 0) failures++;
    }
  };
  auto state_poller = [&] {
    while (!done) {
      uint32_t state = 7;
      if (vm_state(*f, vm_id, &state) != 0 || state != DRM_PANTHOR_VM_STATE_USABLE) failures++;
      (void)vm->pt_counters();
      std::this_thread::yield();
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) threads.emplace_back(async_worker, t);
  threads.emplace_back(sync_worker);
  std::thread poller(state_poller);
  for (auto& th : threads) th.join();
  done = true;
  poller.join();
  EXPECT_EQ(failures.load(), 0);
  drain();
  EXPECT_EQ(vm->mapping_count(), 0u);
  PageTableCounters c = vm->pt_counters();
  EXPECT_EQ(c.overruns, 0u);
  EXPECT_EQ(c.live, 1u);
  EXPECT_EQ(c.reserved, c.used + c.returned);
  EXPECT_EQ(signalling_violations().total(), 0u);
}

}  // namespace
}  // namespace wsys::sim::vmtest
