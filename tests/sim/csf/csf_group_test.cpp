// panthor groups: GROUP_CREATE/DESTROY/GET_STATE/SUBMIT validation, job
// ordering on a queue and across queues through syncobjs, pure sync-point
// submits, faults and timeouts, destroy with jobs pending.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "csf_test_util.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/signalling.h"

namespace wsys::sim::csftest {
namespace {

using GroupIoctl = CsfFixture;

TEST_F(GroupIoctl, CreateValidationTable) {
  const GpuIdentity& gpu = f->file().device()->gpu();
  struct Case {
    const char* what;
    void (*mutate)(GroupArgs&, const GpuIdentity&);
    int err;
  };
  std::vector<Case> cases = {
      {"valid", [](GroupArgs&, const GpuIdentity&) {}, 0},
      {"zero queues", [](GroupArgs& a, const GpuIdentity&) { a.queues.clear(); }, -EINVAL},
      {"priority 4", [](GroupArgs& a, const GpuIdentity&) { a.c.priority = 4; }, -EINVAL},
      {"pad", [](GroupArgs& a, const GpuIdentity&) { a.c.pad = 1; }, -EINVAL},
      {"unknown vm", [](GroupArgs& a, const GpuIdentity&) { a.c.vm_id = 9; }, -EINVAL},
      {"compute mask outside shader_present",
       [](GroupArgs& a, const GpuIdentity& g) { a.c.compute_core_mask = g.shader_present | (1ull << 63); },
       -EINVAL},
      {"fragment mask outside shader_present",
       [](GroupArgs& a, const GpuIdentity& g) { a.c.fragment_core_mask = ~g.shader_present; }, -EINVAL},
      {"tiler mask outside tiler_present",
       [](GroupArgs& a, const GpuIdentity& g) { a.c.tiler_core_mask = g.tiler_present << 1; }, -EINVAL},
      {"too few compute cores",
       [](GroupArgs& a, const GpuIdentity& g) {
         a.c.max_compute_cores = static_cast<uint8_t>(__builtin_popcountll(g.shader_present) + 1);
       },
       -EINVAL},
      {"too few tiler cores", [](GroupArgs& a, const GpuIdentity&) { a.c.max_tiler_cores = 64; }, -EINVAL},
      {"ring 2K", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].ringbuf_size = 2048; }, -EINVAL},
      {"ring 128K", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].ringbuf_size = 131072; }, -EINVAL},
      {"ring not pow2", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].ringbuf_size = 12288; }, -EINVAL},
      {"ring 4K ok", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].ringbuf_size = 4096; }, 0},
      {"ring 64K ok", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].ringbuf_size = 65536; }, 0},
      {"queue prio 16", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].priority = 16; }, -EINVAL},
      {"queue prio 15 ok", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].priority = 15; }, 0},
      {"queue pad", [](GroupArgs& a, const GpuIdentity&) { a.queues[0].pad[1] = 1; }, -EINVAL},
      {"zero masks, zero max ok",
       [](GroupArgs& a, const GpuIdentity&) {
         a.c.compute_core_mask = a.c.fragment_core_mask = a.c.tiler_core_mask = 0;
         a.c.max_compute_cores = a.c.max_fragment_cores = a.c.max_tiler_cores = 0;
       },
       0},
  };
  for (Case& c : cases) {
    GroupArgs a = group_args(*f, vm_id, 2);
    c.mutate(a, gpu);
    uint32_t h = 0;
    int r = group_create(*f, a, &h);
    EXPECT_EQ(r, c.err) << c.what;
    if (r == 0) {
      EXPECT_GE(h, 1u);
      EXPECT_LE(h, 128u);
      EXPECT_EQ(group_destroy(*f, h), 0);
    }
  }
}

TEST_F(GroupIoctl, QueueArrayStrideRules) {
  GroupArgs a = group_args(*f, vm_id);
  a.c.queues.stride = 4;  // below the minimum element size
  a.c.queues.count = 1;
  a.c.queues.array = reinterpret_cast<uintptr_t>(a.queues.data());
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c), -EINVAL);
  // A larger stride with non-zero tail bytes: -E2BIG; zero tail: fine.
  struct Big {
    drm_panthor_queue_create q;
    uint64_t extra;
  } big[1] = {{queue(), 1}};
  a.c.queues.stride = sizeof(Big);
  a.c.queues.array = reinterpret_cast<uintptr_t>(big);
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c), -E2BIG);
  big[0].extra = 0;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c), 0);
  a.c.queues.array = 8;  // bad pointer
  a.c.queues.stride = sizeof(drm_panthor_queue_create);
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c), -EFAULT);
}

// A group has at most 32 queues (MAX_CS_PER_CSG): the kernel refuses a
// larger count with -EINVAL before it copies the array. Found by the
// fuzzer: the model copied (and zeroed) any count up to 2^28 elements first
// (seconds and a gigabyte for one ioctl) and accepted groups of more than
// 32 queues.
TEST_F(GroupIoctl, AtMost32Queues) {
  GroupArgs a = group_args(*f, vm_id, 33);
  EXPECT_EQ(group_create(*f, a), -EINVAL) << "33 valid queues";
  a.c.queues.count = 0x10000000;  // the array is 33 long: the count is refused first
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c), -EINVAL);
  a.c.queues.count = 0xffffffff;
  a.c.queues.array = 8;  // and never read
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c), -EINVAL);
  GroupArgs ok = group_args(*f, vm_id, 32);
  uint32_t h = 0;
  ASSERT_EQ(group_create(*f, ok, &h), 0) << "32 queues";
  EXPECT_EQ(group_destroy(*f, h), 0);
}

TEST_F(GroupIoctl, HighPrioritiesNeedSysNice) {
  for (uint8_t prio : {PANTHOR_GROUP_PRIORITY_HIGH, PANTHOR_GROUP_PRIORITY_REALTIME}) {
    panthor_set_sys_nice_override(0);
    GroupArgs a = group_args(*f, vm_id);
    a.c.priority = prio;
    EXPECT_EQ(group_create(*f, a), -EACCES) << int(prio);
    a.c.priority = PANTHOR_GROUP_PRIORITY_MEDIUM;
    EXPECT_EQ(group_create(*f, a), 0);
    panthor_set_sys_nice_override(1);
    a.c.priority = prio;
    EXPECT_EQ(group_create(*f, a), 0) << int(prio);
  }
  panthor_set_sys_nice_override(-1);
}

// The real check: a child process drops CAP_SYS_NICE from its effective
// set (capset) and asks for HIGH priority.
TEST(GroupCaps, HighPriorityWithoutCapSysNiceIsEacces) {
#if defined(WSYS_SANITIZE_THREAD)
  GTEST_SKIP() << "fork() in a threaded TSan process";
#else
  if (!panthor_capable_sys_nice()) GTEST_SKIP() << "not running with CAP_SYS_NICE";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    __user_cap_header_struct hdr{};
    __user_cap_data_struct data[2]{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    if (syscall(SYS_capget, &hdr, data)) _exit(10);
    data[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
    if (syscall(SYS_capset, &hdr, data)) _exit(11);
    auto f = SimDrmFile::open("panthor", nullptr);
    if (!f.ok()) _exit(12);
    uint32_t vm_id = 0;
    drm_panthor_vm_create vc{};
    if ((*f)->ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &vc)) _exit(13);
    vm_id = vc.id;
    GroupArgs a = group_args(**f, vm_id);
    a.c.priority = PANTHOR_GROUP_PRIORITY_HIGH;
    int r = group_create(**f, a);
    a.c.priority = PANTHOR_GROUP_PRIORITY_MEDIUM;
    int r2 = group_create(**f, a);
    _exit(r == -EACCES && r2 == 0 ? 0 : 20);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
#endif
}

TEST_F(GroupIoctl, HandlesAre1To128ThenEbusy) {
  std::vector<uint32_t> hs;
  for (int i = 0; i < 128; i++) {
    GroupArgs a = group_args(*f, vm_id);
    uint32_t h = 0;
    ASSERT_EQ(group_create(*f, a, &h), 0) << i;
    EXPECT_EQ(h, uint32_t(i + 1));
    hs.push_back(h);
  }
  GroupArgs a = group_args(*f, vm_id);
  EXPECT_EQ(group_create(*f, a), -EBUSY);
  ASSERT_EQ(group_destroy(*f, 42), 0);
  uint32_t h = 0;
  ASSERT_EQ(group_create(*f, a, &h), 0);
  EXPECT_EQ(h, 42u);
}

TEST_F(GroupIoctl, DestroyAndGetStateValidation) {
  uint32_t g = make_group();
  uint32_t st = 99, fq = 99;
  EXPECT_EQ(group_state(*f, g, &st, &fq), 0);
  EXPECT_EQ(st, 0u);
  EXPECT_EQ(fq, 0u);
  EXPECT_EQ(group_state(*f, g, &st, &fq, 1), -EINVAL);
  EXPECT_EQ(group_state(*f, g + 1, &st, &fq), -EINVAL);
  EXPECT_EQ(group_state(*f, 0, &st, &fq), -EINVAL);
  EXPECT_EQ(group_destroy(*f, g, 1), -EINVAL);
  EXPECT_EQ(group_destroy(*f, g + 1), -EINVAL);
  EXPECT_EQ(group_destroy(*f, g), 0);
  EXPECT_EQ(group_destroy(*f, g), -EINVAL);
  EXPECT_EQ(group_state(*f, g, &st, &fq), -EINVAL);
}

TEST_F(GroupIoctl, SubmitValidationTable) {
  uint32_t g = make_group(2);
  Stream s;  // jobs of both queues run it concurrently: it touches no data
  s.nop();
  uint32_t size = s.store(*vm, stream_va(0));
  uint32_t sync = syncobj_create(*f);
  struct Case {
    const char* what;
    Submit sub;
    uint32_t group;
    int err;
  };
  auto with = [&](auto fn) {
    Submit x = job(0, stream_va(0), size);
    fn(x);
    return x;
  };
  std::vector<Case> cases = {
      {"valid", job(0, stream_va(0), size), g, 0},
      {"queue 1 valid", job(1, stream_va(0), size), g, 0},
      {"pure sync point", job(0, 0, 0), g, 0},
      {"bad group", job(0, stream_va(0), size), g + 1, -EINVAL},
      {"bad queue", job(2, stream_va(0), size), g, -EINVAL},
      {"addr without size", job(0, stream_va(0), 0), g, -EINVAL},
      {"size without addr", job(0, 0, size), g, -EINVAL},
      {"addr not 64-aligned", job(0, stream_va(0) + 32, size), g, -EINVAL},
      {"size not 8-aligned", job(0, stream_va(0), size + 4), g, -EINVAL},
      {"pad", with([](Submit& x) { x.q.pad = 1; }), g, -EINVAL},
      {"latest_flush ignored", with([](Submit& x) { x.q.latest_flush = 0x1234; }), g, 0},
      {"sync bad flags", with([&](Submit& x) { x.syncs = {signal_sync(sync)}; x.syncs[0].flags |= 0x100; }), g, -EINVAL},
      {"binary sync with value", with([&](Submit& x) { x.syncs = {wait_sync(sync)}; x.syncs[0].timeline_value = 3; }), g, -EINVAL},
      {"signal unknown syncobj", with([&](Submit& x) { x.syncs = {signal_sync(sync + 100)}; }), g, -EINVAL},
      {"wait unknown syncobj", with([&](Submit& x) { x.syncs = {wait_sync(sync + 100)}; }), g, -ENOENT},
      {"wait syncobj without fence", with([&](Submit& x) { x.syncs = {wait_sync(sync)}; }), g, -EINVAL},
  };
  for (Case& c : cases) EXPECT_EQ(submit1(*f, c.group, c.sub), c.err) << c.what;

  std::vector<Submit> none;
  EXPECT_EQ(submit(*f, g, none, 1), -EINVAL);  // pad
  EXPECT_EQ(submit(*f, 77, none), 0);          // no jobs: the group is never looked up

  // All or nothing: the second job is bad, the first (which would signal
  // `sync`) is not queued and `sync` stays without a fence.
  std::vector<Submit> two = {job(0, stream_va(0), size, {signal_sync(sync)}), job(5, stream_va(0), size)};
  EXPECT_EQ(submit(*f, g, two), -EINVAL);
  EXPECT_FALSE(syncobj_available(*f, sync));

  // A job may wait on what an earlier job of the same ioctl signals.
  std::vector<Submit> chain = {job(0, stream_va(0), size, {signal_sync(sync)}),
                               job(1, stream_va(0), size, {wait_sync(sync)})};
  EXPECT_EQ(submit(*f, g, chain), 0);
  EXPECT_EQ(syncobj_wait(*f, sync, 0), 0);
}

TEST_F(GroupIoctl, JobsRunInOrderOnAQueue) {
  uint32_t g = make_group();
  // Job 1 sleeps then writes A = 5; job 2 copies A to B. Queue order makes B 5.
  Stream s1;
  s1.sleep_ns(30'000'000);
  s1.write32(kDataVa, 5);
  Stream s2;
  s2.copy(kDataVa + 4, kDataVa, 4);
  uint32_t n1 = s1.store(*vm, stream_va(0)), n2 = s2.store(*vm, stream_va(1));
  uint32_t done = syncobj_create(*f);
  std::vector<Submit> subs = {job(0, stream_va(0), n1), job(0, stream_va(1), n2, {signal_sync(done)})};
  ASSERT_EQ(submit(*f, g, subs), 0);
  ASSERT_EQ(syncobj_wait(*f, done, 0), 0);
  EXPECT_EQ(syncobj_error(*f, done), 0);
  EXPECT_EQ(u32_at(kDataVa + 4), 5u);
}

TEST_F(GroupIoctl, SyncobjsOrderJobsAcrossQueuesAndGroups) {
  uint32_t g1 = make_group(2), g2 = make_group();
  Stream s1;
  s1.sleep_ns(30'000'000);
  s1.write32(kDataVa, 7);
  Stream s2;
  s2.copy(kDataVa + 4, kDataVa, 4);
  Stream s3;
  s3.copy(kDataVa + 8, kDataVa + 4, 4);
  uint32_t n1 = s1.store(*vm, stream_va(0)), n2 = s2.store(*vm, stream_va(1)),
           n3 = s3.store(*vm, stream_va(2));
  uint32_t tl = syncobj_create(*f), done = syncobj_create(*f);
  // Submitted in reverse: the g2 job waits for point 2, which does not exist yet -> -EINVAL.
  ASSERT_EQ(submit1(*f, g2, job(0, stream_va(2), n3, {wait_sync(tl, 2), signal_sync(done)})), -EINVAL);
  std::vector<Submit> subs = {job(0, stream_va(0), n1, {signal_sync(tl, 1)}),
                              job(1, stream_va(1), n2, {wait_sync(tl, 1), signal_sync(tl, 2)})};
  ASSERT_EQ(submit(*f, g1, subs), 0);
  ASSERT_EQ(submit1(*f, g2, job(0, stream_va(2), n3, {wait_sync(tl, 2), signal_sync(done)})), 0);
  ASSERT_EQ(syncobj_wait(*f, done, 0), 0);
  EXPECT_EQ(u32_at(kDataVa + 8), 7u);
}

TEST_F(GroupIoctl, PureSyncPointWaitsThenSignals) {
  uint32_t g = make_group();
  uint32_t in = syncobj_create(*f), out = syncobj_create(*f);
  FencePtr ext = install_unsignalled_fence(*f, in);
  ASSERT_EQ(submit1(*f, g, job(0, 0, 0, {wait_sync(in), signal_sync(out)})), 0);
  EXPECT_TRUE(syncobj_available(*f, out));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(syncobj_signalled(*f, out));
  ext->signal();
  ASSERT_EQ(syncobj_wait(*f, out, 0), 0);
  EXPECT_EQ(syncobj_error(*f, out), 0);
}

TEST_F(GroupIoctl, FaultMarksTheGroupFatalWhileAnotherGroupKeepsRunning) {
  uint32_t bad = make_group(2), good = make_group();
  Stream s;
  s.write32(user_end - 4096 * 16, 1);  // unmapped
  uint32_t n = s.store(*vm, stream_va(0));
  uint32_t sync = syncobj_create(*f);
  ASSERT_EQ(submit1(*f, bad, job(1, stream_va(0), n, {signal_sync(sync)})), 0);
  ASSERT_EQ(syncobj_wait(*f, sync, 0), 0);
  EXPECT_EQ(syncobj_error(*f, sync), -EFAULT);
  uint32_t st = 0, fq = 0;
  ASSERT_EQ(group_state(*f, bad, &st, &fq), 0);
  EXPECT_EQ(st, uint32_t{DRM_PANTHOR_GROUP_STATE_FATAL_FAULT});
  EXPECT_EQ(fq, 1u << 1);
  EXPECT_EQ(submit1(*f, bad, job(0, 0, 0)), -EINVAL);
  // The other group is unaffected.
  Stream ok;
  ok.write32(kDataVa, 9);
  uint32_t n2 = ok.store(*vm, stream_va(1));
  uint32_t s2 = syncobj_create(*f);
  ASSERT_EQ(submit1(*f, good, job(0, stream_va(1), n2, {signal_sync(s2)})), 0);
  ASSERT_EQ(syncobj_wait(*f, s2, 0), 0);
  EXPECT_EQ(syncobj_error(*f, s2), 0);
  EXPECT_EQ(u32_at(kDataVa), 9u);
  ASSERT_EQ(group_state(*f, good, &st, &fq), 0);
  EXPECT_EQ(st, 0u);
}

TEST_F(GroupIoctl, HangTimesOutAndMarksTimedout) {
  int64_t old = job_timeout_ms();
  set_job_timeout_ms(100);
  uint32_t g = make_group();
  Stream s;
  s.hang();
  uint32_t n = s.store(*vm, stream_va(0));
  uint32_t sync = syncobj_create(*f);
  ASSERT_EQ(submit1(*f, g, job(0, stream_va(0), n, {signal_sync(sync)})), 0);
  ASSERT_EQ(syncobj_wait(*f, sync, 0), 0);
  set_job_timeout_ms(old);
  EXPECT_EQ(syncobj_error(*f, sync), -ETIMEDOUT);
  uint32_t st = 0, fq = 0;
  ASSERT_EQ(group_state(*f, g, &st, &fq), 0);
  EXPECT_EQ(st, uint32_t{DRM_PANTHOR_GROUP_STATE_TIMEDOUT});
  EXPECT_EQ(fq, 0u);
  EXPECT_EQ(submit1(*f, g, job(0, 0, 0)), -EINVAL);
}

TEST_F(GroupIoctl, DestroyCancelsPendingAndRunningJobs) {
  uint32_t g = make_group(2);
  uint32_t in = syncobj_create(*f), a = syncobj_create(*f), b = syncobj_create(*f);
  FencePtr never = install_unsignalled_fence(*f, in);
  Stream s;
  s.hang();
  uint32_t n = s.store(*vm, stream_va(0));
  ASSERT_EQ(submit1(*f, g, job(0, 0, 0, {wait_sync(in), signal_sync(a)})), 0);
  ASSERT_EQ(submit1(*f, g, job(1, stream_va(0), n, {signal_sync(b)})), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(group_destroy(*f, g), 0);
  ASSERT_EQ(syncobj_wait(*f, a, 0), 0);
  ASSERT_EQ(syncobj_wait(*f, b, 0), 0);
  EXPECT_EQ(syncobj_error(*f, a), -ECANCELED);
  EXPECT_EQ(syncobj_error(*f, b), -ECANCELED);
  never->signal();
}

TEST(GroupClose, ClosingTheFileCancelsJobs) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t vm_id = 0;
  ASSERT_EQ(vm_create(*f, &vm_id), 0);
  GroupArgs a = group_args(*f, vm_id);
  uint32_t g = 0;
  ASSERT_EQ(group_create(*f, a, &g), 0);
  uint32_t in = syncobj_create(*f), out = syncobj_create(*f);
  FencePtr never = install_unsignalled_fence(*f, in);
  ASSERT_EQ(submit1(*f, g, job(0, 0, 0, {wait_sync(in), signal_sync(out)})), 0);
  FencePtr done;
  {
    SyncobjPtr s = f->file().lookup_syncobj(out);
    std::lock_guard<std::mutex> l(SyncState::get().lock());
    std::vector<FencePtr> fs;
    ASSERT_TRUE(s->collect_locked(0, &fs));
    ASSERT_EQ(fs.size(), 1u);
    done = fs[0];
  }
  f.reset();
  EXPECT_TRUE(done->is_signalled());
  EXPECT_EQ(done->status(), -ECANCELED);
  never->signal();
}

TEST(CsfSignalling, SectionsWereEnteredAndStayedClean) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint64_t before = signalling_sections_entered();
  uint32_t vm_id = 0;
  ASSERT_EQ(vm_create(*f, &vm_id), 0);
  GroupArgs a = group_args(*f, vm_id);
  uint32_t g = 0;
  ASSERT_EQ(group_create(*f, a, &g), 0);
  uint32_t out = syncobj_create(*f);
  ASSERT_EQ(submit1(*f, g, job(0, 0, 0, {signal_sync(out)})), 0);
  ASSERT_EQ(syncobj_wait(*f, out, 0), 0);
  EXPECT_GT(signalling_sections_entered(), before);
  EXPECT_EQ(signalling_violations().total(), 0u);
}

}  // namespace
}  // namespace wsys::sim::csftest
