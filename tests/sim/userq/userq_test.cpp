// User queues (a model extension, drm-uapi/wsys_sim_ext.h; sim/userq.h) at
// the ioctl boundary: creation and its errors, the ring and doorbell, the
// wrap-around, many producers, doorbell storms, submission fences (never a
// future one), waits with a timeout, the timeout kill and its isolation,
// the eviction fence under a small budget (zero lost bytes), and the
// dependency checker.
#include <sys/mman.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "mem/mem_test_util.h"
#include "userq/userq_test_util.h"
#include "winsys/sim/dep_check.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/userq.h"

namespace wsys::sim::userqtest {
namespace {

using memtest::BudgetOverride;
using memtest::kMiB;

constexpr uint64_t kBase = 0x1000000;       // 1 MiB BO: ring, control, data
constexpr uint64_t kRingVa = kBase;         // up to 64 KiB
constexpr uint64_t kCtrlVa = kBase + 0x10000;
constexpr uint64_t kDataVa = kBase + 0x20000;

class UserQ : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panthor");
    ASSERT_TRUE(f);
    ASSERT_EQ(vm_create(*f, &vm_id), 0);
    vm = vm_of(*f, vm_id);
    bo = bo_create(*f, kMiB);
    ASSERT_NE(bo, 0u);
    ASSERT_EQ(map_sync(*f, vm_id, bo, 0, kBase, kMiB), 0);
    cpu = bo_mmap(*f, bo, kMiB);
    ASSERT_NE(cpu, nullptr);
    GroupArgs a = group_args(*f, vm_id);
    ASSERT_EQ(group_create(*f, a, &group), 0);
    cycles_before = dep_stats().cycles;
    violations_before = signalling_violations().total();
  }
  void TearDown() override {
    for (auto& [p, n] : maps) f->munmap(p, n);
    if (cpu) munmap(cpu, kMiB);
    set_job_timeout_ms(-1);
    userq_set_allow_future_fences(false);
    EXPECT_EQ(signalling_violations().total(), violations_before);
    EXPECT_EQ(dep_stats().cycles - cycles_before, expected_cycles)
        << "dependency cycles: " << dep_last_cycle();
  }
  uint8_t* at(uint64_t va) { return cpu + (va - kBase); }
  uint64_t u64(uint64_t va) {
    uint64_t v;
    std::memcpy(&v, at(va), 8);
    return v;
  }
  volatile uint32_t* map_doorbell(uint64_t off) {
    auto p = f->mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, off);
    EXPECT_TRUE(p.ok());
    if (!p.ok()) return nullptr;
    maps.emplace_back(*p, 4096);
    return static_cast<volatile uint32_t*>(*p);
  }
  // A queue on `group` with its ring at ring_va (ctrl at ctrl_va).
  std::unique_ptr<Producer> make_queue(uint32_t* h, uint32_t ring_size = 4096,
                                       uint64_t ring_va = kRingVa, uint64_t ctrl_va = kCtrlVa,
                                       uint32_t grp = 0) {
    uint64_t off = 0;
    EXPECT_EQ(userq_create(*f, grp ? grp : group, ring_va, ring_size, ctrl_va, h, &off), 0);
    volatile uint32_t* db = map_doorbell(off);
    if (!db) return nullptr;
    return std::make_unique<Producer>(at(ring_va), ring_size,
                                      reinterpret_cast<volatile uint64_t*>(at(ctrl_va)), db);
  }

  std::unique_ptr<SimDrmFile> f;
  uint32_t vm_id = 0, bo = 0, group = 0;
  SimVmPtr vm;
  uint8_t* cpu = nullptr;
  std::vector<std::pair<void*, size_t>> maps;
  uint64_t cycles_before = 0, violations_before = 0, expected_cycles = 0;
};

TEST_F(UserQ, TheExtensionIsAdvertisedAndBadArgumentsGetClearErrnos) {
  drm_wsys_sim_ext_query q{};
  ASSERT_EQ(f->ioctl(DRM_IOCTL_WSYS_SIM_EXT_QUERY, &q), 0);
  EXPECT_EQ(q.version, 1u);
  EXPECT_TRUE(q.features & WSYS_SIM_EXT_FEATURE_USER_QUEUES);
  uint32_t h = 0;
  uint64_t off = 0;
  EXPECT_EQ(userq_create(*f, 99, kRingVa, 4096, kCtrlVa, &h, &off), -ENOENT);  // no group
  EXPECT_EQ(userq_create(*f, group, kRingVa, 3000, kCtrlVa, &h, &off), -EINVAL);  // not pow2
  EXPECT_EQ(userq_create(*f, group, kRingVa, 2048, kCtrlVa, &h, &off), -EINVAL);  // too small
  EXPECT_EQ(userq_create(*f, group, kRingVa + 8, 4096, kCtrlVa, &h, &off), -EINVAL);  // align
  EXPECT_EQ(userq_create(*f, group, kRingVa, 4096, kCtrlVa + 4, &h, &off), -EINVAL);
  EXPECT_EQ(userq_create(*f, group, 0x7000000, 4096, kCtrlVa, &h, &off), -EFAULT);  // unmapped
  drm_wsys_userq_create c{};
  c.group_handle = group;
  c.ring_va = kRingVa;
  c.ring_size = 4096;
  c.rptr_va = kCtrlVa;
  c.wptr_va = kCtrlVa + 8;
  c.seqno_va = kCtrlVa + 16;
  c.flags = 1;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_WSYS_USERQ_CREATE, &c), -EINVAL);  // flags MBZ
  ASSERT_EQ(userq_create(*f, group, kRingVa, 4096, kCtrlVa, &h, &off), 0);
  EXPECT_GE(off, WSYS_USERQ_DOORBELL_OFFSET_BASE);
  // The doorbell: one page, shared, this file only.
  EXPECT_FALSE(f->mmap(nullptr, 8192, PROT_WRITE, MAP_SHARED, off).ok());
  EXPECT_FALSE(f->mmap(nullptr, 4096, PROT_WRITE, MAP_PRIVATE, off).ok());
  auto other = open_model_file("panthor");
  auto denied = other->mmap(nullptr, 4096, PROT_WRITE, MAP_SHARED, off);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error(), -EACCES);
  uint32_t so = syncobj_create(*f);
  EXPECT_EQ(userq_signal(*f, 77, so, 1), -ENOENT);
  EXPECT_EQ(userq_signal(*f, h, 9999, 1), -ENOENT);
  EXPECT_EQ(userq_destroy(*f, h), 0);
  EXPECT_EQ(userq_destroy(*f, h), -ENOENT);
}

TEST_F(UserQ, ADoorbellRunsTheRingWithoutAnIoctlPerSubmission) {
  uint32_t h = 0;
  auto p = make_queue(&h);
  ASSERT_TRUE(p);
  UserqStats s0 = userq_stats();
  p->write32(kDataVa, 0xabcd1234);
  p->write64(kDataVa + 8, 0x1122334455667788ull);
  p->seqno(1);
  p->commit();
  ASSERT_TRUE(p->wait_seqno(1));
  uint32_t v;
  std::memcpy(&v, at(kDataVa), 4);
  EXPECT_EQ(v, 0xabcd1234u);
  EXPECT_EQ(u64(kDataVa + 8), 0x1122334455667788ull);
  // The read pointer follows (written after the batch).
  for (int i = 0; i < 1000 && p->rptr() != p->wptr(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(p->rptr(), p->wptr());
  drm_wsys_userq_get_state st = userq_state(*f, h);
  EXPECT_EQ(st.completed_seqno, 1u);
  EXPECT_EQ(st.state, 0u);
  // The idle queue armed its doorbell: the next ring trapped and woke it.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  p->write32(kDataVa, 7);
  p->seqno(2);
  p->commit();
  ASSERT_TRUE(p->wait_seqno(2));
  EXPECT_GT(userq_stats().doorbell_faults, s0.doorbell_faults);
  EXPECT_EQ(userq_destroy(*f, h), 0);
}

TEST_F(UserQ, TheRingWrapsAroundManyTimesInOrder) {
  uint32_t h = 0;
  auto p = make_queue(&h, 4096);
  ASSERT_TRUE(p);
  constexpr unsigned kSubs = 3000;  // ~ 40 bytes each: ~30 laps of a 4 KiB ring
  for (unsigned i = 1; i <= kSubs; i++) {
    p->copy(kDataVa + 0x8000 + i * 8ull, kDataVa, 8);  // history[i] = last
    p->write64(kDataVa, i);                            // last = i
    if (i % 3 == 0) p->write32(kDataVa + 16, i);       // varying sizes
    p->seqno(i);
    if (i % 7 == 0 || i == kSubs) p->commit();
  }
  ASSERT_TRUE(p->wait_seqno(kSubs));
  EXPECT_EQ(u64(kDataVa), kSubs);
  for (unsigned i = 1; i <= kSubs; i++) ASSERT_EQ(u64(kDataVa + 0x8000 + i * 8ull), i - 1) << i;
  EXPECT_GT(p->wptr(), 20u * 4096u);
}

TEST_F(UserQ, ManyProducersOnOneQueueKeepTheirOrder) {
  uint32_t h = 0;
  auto p = make_queue(&h, 16384);
  ASSERT_TRUE(p);
  constexpr unsigned kThreads = 4, kEach = 500;
  std::mutex m;
  uint64_t next = 0;
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      for (unsigned i = 1; i <= kEach; i++) {
        std::lock_guard<std::mutex> g(m);
        const uint64_t s = ++next;
        // history[s] = last; last = s; mine[t] = i
        p->copy(kDataVa + 0x8000 + s * 8, kDataVa, 8);
        p->write64(kDataVa, s);
        p->write32(kDataVa + 64 + t * 4, i);
        p->seqno(s);
        p->commit();
      }
    });
  }
  for (auto& t : ts) t.join();
  ASSERT_TRUE(p->wait_seqno(kThreads * kEach));
  for (uint64_t s = 1; s <= kThreads * kEach; s++) ASSERT_EQ(u64(kDataVa + 0x8000 + s * 8), s - 1);
  for (unsigned t = 0; t < kThreads; t++) {
    uint32_t v;
    std::memcpy(&v, at(kDataVa + 64 + t * 4), 4);
    EXPECT_EQ(v, kEach);
  }
}

TEST_F(UserQ, ADoorbellStormLosesNoWork) {
  uint32_t h = 0;
  auto p = make_queue(&h, 4096);
  ASSERT_TRUE(p);
  constexpr unsigned kRings = 5000;
  for (unsigned i = 1; i <= kRings; i++) {
    p->write32(kDataVa + (i % 256) * 4, i);
    p->seqno(i);
    p->commit();
    if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let it idle
  }
  ASSERT_TRUE(p->wait_seqno(kRings));
  for (unsigned i = kRings - 255; i <= kRings; i++) {
    uint32_t v;
    std::memcpy(&v, at(kDataVa + (i % 256) * 4), 4);
    EXPECT_EQ(v, i);
  }
  // Extra rings with nothing new are harmless.
  for (int i = 0; i < 100; i++) p->commit();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(userq_state(*f, h).state, 0u);
}

TEST_F(UserQ, SubmissionFencesOnlyForPushedWork) {
  uint32_t h = 0;
  auto p = make_queue(&h);
  ASSERT_TRUE(p);
  uint32_t so = syncobj_create(*f), tl = syncobj_create(*f);
  // Nothing pushed: a fence for seqno 1 would be a future fence.
  EXPECT_EQ(userq_signal(*f, h, so, 1), -EINVAL);
  p->sleep_ns(100'000'000);
  p->write32(kDataVa, 5);
  p->seqno(1);
  p->commit();
  ASSERT_EQ(userq_signal(*f, h, so, 1), 0);           // pushed, not yet done
  EXPECT_EQ(userq_signal(*f, h, so, 2), -EINVAL);     // beyond what was pushed
  ASSERT_EQ(userq_signal(*f, h, tl, 1, 5), 0);        // a timeline point
  EXPECT_FALSE(syncobj_signalled(*f, so));
  EXPECT_EQ(syncobj_wait(*f, so, 0, 10'000'000), -ETIME);  // wait with a timeout
  EXPECT_EQ(syncobj_wait(*f, so, 0), 0);
  EXPECT_EQ(syncobj_wait(*f, tl, 5), 0);
  EXPECT_EQ(syncobj_error(*f, so), 0);
  uint32_t v;
  std::memcpy(&v, at(kDataVa), 4);
  EXPECT_EQ(v, 5u) << "the fence signalled before the work was done";
  // Completed work: a signalled fence at once.
  uint32_t done = syncobj_create(*f);
  ASSERT_EQ(userq_signal(*f, h, done, 1), 0);
  EXPECT_TRUE(syncobj_signalled(*f, done));
}

TEST_F(UserQ, AHangingQueueIsKilledAndOthersKeepRunning) {
  set_job_timeout_ms(200);
  // A second group on the same VM, and a second file, keep running.
  GroupArgs a = group_args(*f, vm_id);
  uint32_t group2 = 0;
  ASSERT_EQ(group_create(*f, a, &group2), 0);
  uint32_t bad = 0, good = 0;
  auto pb = make_queue(&bad, 4096, kRingVa, kCtrlVa);
  auto pg = make_queue(&good, 4096, kRingVa + 0x4000, kCtrlVa + 64, group2);
  ASSERT_TRUE(pb && pg);
  pb->write32(kDataVa, 1);
  pb->seqno(1);
  pb->hang();
  pb->seqno(2);
  pb->commit();
  uint32_t so = syncobj_create(*f);
  ASSERT_EQ(userq_signal(*f, bad, so, 2), 0);
  for (unsigned i = 1; i <= 50; i++) {
    pg->write32(kDataVa + 0x100, i);
    pg->seqno(i);
    pg->commit();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(pg->wait_seqno(50));
  ASSERT_EQ(syncobj_wait(*f, so, 0), 0);
  EXPECT_EQ(syncobj_error(*f, so), -ETIMEDOUT);
  EXPECT_EQ(pb->seqno(), 1u);
  drm_wsys_userq_get_state st = userq_state(*f, bad);
  EXPECT_TRUE(st.state & WSYS_USERQ_STATE_TIMEDOUT);
  uint32_t gs = 0;
  ASSERT_EQ(group_state(*f, group, &gs, nullptr), 0);
  EXPECT_TRUE(gs & DRM_PANTHOR_GROUP_STATE_TIMEDOUT);
  ASSERT_EQ(group_state(*f, group2, &gs, nullptr), 0);
  EXPECT_EQ(gs, 0u);
  // The good queue still runs after the kill.
  pg->write32(kDataVa + 0x100, 999);
  pg->seqno(51);
  pg->commit();
  ASSERT_TRUE(pg->wait_seqno(51));
  EXPECT_EQ(userq_state(*f, good).state, 0u);
  // A pushed seqno of the dead queue gets an error fence, never a hang.
  uint32_t so2 = syncobj_create(*f);
  ASSERT_EQ(userq_signal(*f, bad, so2, 2), 0);
  EXPECT_EQ(syncobj_error(*f, so2), -ETIMEDOUT);
}

// Evict/restore cycles under a small budget with the queue busy: every
// cycle the queue rewrites its data buffers from the seed and checksums
// them; pressure from another file preempts the VM (eviction fence),
// swaps the buffers out, and the next doorbell brings everything back.
TEST_F(UserQ, EvictRestoreCyclesUnderASmallBudgetLoseNothing) {
  SimDevice* dev = f->file().device();
  PanthorReclaim* rc = dev->shrinker().reclaimer();
  ASSERT_NE(rc, nullptr);
  auto other = open_model_file("panthor");
  constexpr unsigned kBufs = 4;
  constexpr uint64_t kBufSize = 256 * 1024, kBufVa = 0x4000000;
  uint32_t bufs[kBufs];
  for (unsigned i = 0; i < kBufs; i++) {
    bufs[i] = bo_create(*f, kBufSize);
    ASSERT_EQ(map_sync(*f, vm_id, bufs[i], 0, kBufVa + i * kBufSize, kBufSize), 0);
  }
  uint32_t h = 0;
  auto p = make_queue(&h, 16384);
  ASSERT_TRUE(p);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr unsigned kCycles = 200;  // ~10x slower under a sanitizer
#else
  constexpr unsigned kCycles = 1000;  // issue 17: 1000 cycles (~8 s)
#endif
  const ReclaimStats r0 = rc->stats();
  const UserqStats u0 = userq_stats();
  uint64_t seq = 0;
  std::vector<uint8_t> expect(kBufSize);
  for (unsigned c = 1; c <= kCycles; c++) {
    // Work: fill each buffer with a per-cycle pattern, checksum it into the
    // control page, then a little sleep so the queue is busy when pressed.
    for (unsigned i = 0; i < kBufs; i++) {
      p->fill(kBufVa + i * kBufSize, kBufSize, c * 16 + i);
      p->checksum(kBufVa + i * kBufSize, kBufSize, kDataVa + i * 8);
    }
    p->sleep_ns(1'000'000);
    p->seqno(++seq);
    p->commit();
    {
      BudgetOverride budget(dev, 0);
      drm_panthor_bo_create b{};
      b.size = kMiB;
      // The queue's resume races the allocation for the memory reclaim
      // freed (it has work left): the allocation may need another round.
      int r = -ENOMEM;
      for (int tries = 0; tries < 50 && r == -ENOMEM; tries++) {
        r = other->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &b);
        if (r) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (r) {
        drm_wsys_userq_get_state st = userq_state(*f, h);
        ReclaimStats rs = rc->stats();
        UserqStats us = userq_stats();
        unsigned sw = f->file().lookup_bo(bo)->swapped();
        for (unsigned i = 0; i < kBufs; i++) sw += f->file().lookup_bo(bufs[i])->swapped();
        ADD_FAILURE() << "state " << st.state << " susp " << st.suspensions << " preempt "
                      << rs.preemptions << " reclaims " << rs.reclaims << " refusals "
                      << us.eviction_refusals << " swapped " << sw << " charged "
                      << dev->shrinker().stats().charged << " budget " << dev->shrinker().budget();
      }
      ASSERT_EQ(r, 0) << "cycle " << c << ": reclaim found no memory";
      drm_gem_close cl{};
      cl.handle = b.handle;
      ASSERT_EQ(other->ioctl(DRM_IOCTL_GEM_CLOSE, &cl), 0);
    }
    // Next use: the work left in the ring resumes it (or the doorbell does).
    p->commit();
    ASSERT_TRUE(p->wait_seqno(seq)) << "cycle " << c;
    for (unsigned i = 0; i < kBufs; i++) {
      uint32_t pat = c * 16 + i;
      for (uint64_t b = 0; b < kBufSize; b += 4) std::memcpy(&expect[b], &pat, 4);
      ASSERT_EQ(u64(kDataVa + i * 8), fnv1a64(expect.data(), kBufSize)) << "cycle " << c << " buf " << i;
    }
  }
  const ReclaimStats r1 = rc->stats();
  const UserqStats u1 = userq_stats();
  // Most rounds preempt the busy VM (a round may find memory elsewhere:
  // what an earlier resume overcommitted).
  EXPECT_GE(r1.preemptions - r0.preemptions, kCycles / 2);
  EXPECT_GE(u1.eviction_fences - u0.eviction_fences, kCycles / 2);
  EXPECT_GE(u1.resumes - u0.resumes, kCycles / 2);
  EXPECT_GE(r1.reclaims - r0.reclaims, kCycles / 2);
  EXPECT_GE(userq_state(*f, h).suspensions, kCycles / 2);
  // The data read back through user mappings: the last cycle's pattern.
  for (unsigned i = 0; i < kBufs; i++) {
    uint8_t* m = bo_mmap(*f, bufs[i], kBufSize);
    ASSERT_NE(m, nullptr);
    uint32_t pat = kCycles * 16 + i;
    for (uint64_t b = 0; b < kBufSize; b += 4) std::memcpy(&expect[b], &pat, 4);
    EXPECT_EQ(std::memcmp(m, expect.data(), kBufSize), 0) << i;
    munmap(m, kBufSize);
  }
}

TEST_F(UserQ, NewFencesAreRefusedWhileSuspendedAndResumeIoctlRestores) {
  SimDevice* dev = f->file().device();
  auto other = open_model_file("panthor");
  uint32_t h = 0;
  auto p = make_queue(&h);
  ASSERT_TRUE(p);
  p->write32(kDataVa, 1);
  p->seqno(1);
  p->commit();
  ASSERT_TRUE(p->wait_seqno(1));
  {
    BudgetOverride budget(dev, 0);
    drm_panthor_bo_create b{};
    b.size = kMiB;
    ASSERT_EQ(other->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &b), 0);
    ASSERT_TRUE(userq_state(*f, h).state & WSYS_USERQ_STATE_SUSPENDED);
    ASSERT_TRUE(f->file().lookup_bo(bo)->swapped());
    uint32_t so = syncobj_create(*f);
    EXPECT_EQ(userq_signal(*f, h, so, 1), -EAGAIN);
    drm_gem_close cl{};
    cl.handle = b.handle;
    ASSERT_EQ(other->ioctl(DRM_IOCTL_GEM_CLOSE, &cl), 0);
  }
  drm_wsys_userq_resume r{};
  r.handle = h;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_WSYS_USERQ_RESUME, &r), 0);
  EXPECT_EQ(userq_state(*f, h).state, 0u);
  EXPECT_FALSE(f->file().lookup_bo(bo)->swapped());
  uint32_t so = syncobj_create(*f);
  EXPECT_EQ(userq_signal(*f, h, so, 1), 0);
  p->write32(kDataVa, 2);
  p->seqno(2);
  p->commit();
  ASSERT_TRUE(p->wait_seqno(2));
}

// The forbidden cycle: a fence for work not pushed yet (a future fence,
// allowed here by a test-only switch) is "attached to the VM's memory" (the
// eviction fence waits for every submission fence); then the same user
// space allocates, reclaim wants that VM, and would wait for a fence only
// that user space can signal. The checker reports it and reclaim does not
// wait (the allocation fails instead of hanging).
TEST_F(UserQ, TheDependencyCheckerReportsTheFutureFenceCycle) {
  SimDevice* dev = f->file().device();
  uint32_t h = 0;
  auto p = make_queue(&h);
  ASSERT_TRUE(p);
  userq_set_allow_future_fences(true);
  uint32_t so = syncobj_create(*f);
  ASSERT_EQ(userq_signal(*f, h, so, 5), 0);  // nothing pushed: a future fence
  const UserqStats u0 = userq_stats();
  {
    BudgetOverride budget(dev, 0);
    drm_panthor_bo_create b{};
    b.size = kMiB;
    int r = f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &b);  // same file: same user space
    EXPECT_EQ(r, -ENOMEM);
  }
  expected_cycles = 1;
  EXPECT_EQ(dep_stats().cycles - cycles_before, 1u);
  std::string cyc = dep_last_cycle();
  EXPECT_NE(cyc.find("eviction wait"), std::string::npos) << cyc;
  EXPECT_NE(cyc.find("user space pushes"), std::string::npos) << cyc;
  EXPECT_GT(userq_stats().eviction_refusals, u0.eviction_refusals);
  EXPECT_EQ(userq_state(*f, h).state & WSYS_USERQ_STATE_SUSPENDED, 0u) << "not preempted";
  // The same user space waiting on it (a submission-fence wait) would wait
  // for itself: -EDEADLK, reported, instead of a hang.
  EXPECT_EQ(syncobj_wait(*f, so, 0, 100'000'000), -EDEADLK);
  expected_cycles = 2;
  EXPECT_EQ(dep_stats().cycles - cycles_before, 2u);
  EXPECT_NE(dep_last_cycle().find("syncobj wait"), std::string::npos) << dep_last_cycle();
  // Pushing the work signals the fence; nothing is left behind.
  // (The checker still sees the fence as the user space's own until it
  // signals: a future fence never becomes the queue's.)
  p->seqno(5);
  p->commit();
  ASSERT_TRUE(p->wait_seqno(5));
  EXPECT_EQ(syncobj_wait(*f, so, 0), 0);
  EXPECT_EQ(dep_stats().cycles - cycles_before, 2u);
}

}  // namespace
}  // namespace wsys::sim::userqtest
