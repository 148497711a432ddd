// wsys::UserQueue on the kernel model (user queues are a model extension:
// docs/user-queues.md): submissions without an ioctl, waits (poll, then a
// submission fence, with timeouts), exported points, the ring wrapping,
// several producers, another Vm, eviction under a small budget with the
// queue busy (zero lost bytes), a killed queue, and -EOPNOTSUPP where the
// kernel has no user queues.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "model_jobs.h"
#include "winsys/core/kernel_access.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/dep_check.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"
#include "wsys/device.hpp"
#include "wsys/user_queue.hpp"
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

sim::SimDevice* model_dev(Device& d) {
  auto& f = dynamic_cast<sim::SimDrmFile&>(KernelAccess::device(d).file());
  return f.file().device();
}

// Commands in the model's format.
struct Cmds {
  std::vector<uint8_t> b;
  template <typename T>
  Cmds& add(T c, uint32_t op) {
    c.hdr.opcode = op;
    c.hdr.size = sizeof(T);
    size_t o = b.size();
    b.resize(o + sizeof(T));
    std::memcpy(b.data() + o, &c, sizeof(T));
    return *this;
  }
  Cmds& write64(uint64_t va, uint64_t v) {
    sim::SimCmdWrite64 c{};
    c.va = va;
    c.value = v;
    return add(c, sim::kCmdWrite64);
  }
  Cmds& copy(uint64_t dst, uint64_t src, uint64_t n) {
    sim::SimCmdCopy c{};
    c.dst_va = dst;
    c.src_va = src;
    c.size = n;
    return add(c, sim::kCmdCopy);
  }
  Cmds& fill(uint64_t va, uint64_t n, uint32_t v) {
    sim::SimCmdFill c{};
    c.va = va;
    c.size = n;
    c.value = v;
    return add(c, sim::kCmdFill);
  }
  Cmds& checksum(uint64_t va, uint64_t n, uint64_t dst) {
    sim::SimCmdChecksum c{};
    c.va = va;
    c.size = n;
    c.dst_va = dst;
    return add(c, sim::kCmdChecksum);
  }
  Cmds& sleep(uint64_t ns) {
    sim::SimCmdSleep c{};
    c.ns = ns;
    return add(c, sim::kCmdSleep);
  }
  Cmds& hang() {
    sim::SimCmdHeader h{sim::kCmdHang, 8};
    size_t o = b.size();
    b.resize(o + 8);
    std::memcpy(b.data() + o, &h, 8);
    return *this;
  }
};

class CoreUserQueue : public ::testing::Test {
 public:
  void SetUp() override {
    dev = open_dev("panthor");
    ASSERT_TRUE(dev);
    auto d = dev->bo_alloc(1 << 20, kAllocNoCache, "data");
    ASSERT_TRUE(d.ok());
    data = std::move(*d);
    auto m = data->map();
    ASSERT_TRUE(m.ok());
    cpu = static_cast<uint8_t*>(*m);
    cycles0 = sim::dep_stats().cycles;
  }
  void TearDown() override {
    sim::set_job_timeout_ms(-1);
    EXPECT_EQ(sim::dep_stats().cycles, cycles0) << sim::dep_last_cycle();
  }
  uint64_t u64(uint64_t off) {
    uint64_t v;
    std::memcpy(&v, cpu + off, 8);
    return v;
  }
  std::shared_ptr<Device> dev;
  BoRef data;
  uint8_t* cpu = nullptr;
  uint64_t cycles0 = 0;
};

TEST(CoreUserQueueSupport, WithoutKernelSupportCreateIsEopnotsupp) {
  auto d = open_dev("panfrost");
  ASSERT_TRUE(d);
  auto q = UserQueue::create(d->vm());
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error(), -EOPNOTSUPP);
}

TEST_F(CoreUserQueue, SubmitRingWaitAndBadOptions) {
  UserQueueOptions bad;
  bad.ring_bytes = 3000;
  EXPECT_EQ(UserQueue::create(dev->vm(), bad).error(), -EINVAL);
  auto q = UserQueue::create(dev->vm());
  ASSERT_TRUE(q.ok()) << q.error();
  const uint64_t va = data->gpu_va();
  Cmds c;
  c.write64(va, 0x1234).write64(va + 8, 0x5678);
  ASSERT_TRUE((*q)->push(c.b).ok());
  auto s = (*q)->end_submission();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 1u);
  EXPECT_EQ((*q)->wait(1, deadline_ms(100)).error(), -EINVAL) << "not rung yet";
  (*q)->ring();
  ASSERT_TRUE((*q)->wait(1, deadline_ms(5000)).ok());
  EXPECT_EQ(u64(0), 0x1234u);
  EXPECT_EQ(u64(8), 0x5678u);
  EXPECT_EQ((*q)->completed(), 1u);
  EXPECT_EQ((*q)->push(std::vector<uint8_t>(12)).error(), -EINVAL);  // not 8-byte commands
  EXPECT_FALSE((*q)->state().dead);
}

TEST_F(CoreUserQueue, WaitPollsThenSleepsOnAFenceWithATimeout) {
  UserQueueOptions o;
  o.poll_ns = 1000;
  auto q = UserQueue::create(dev->vm(), o);
  ASSERT_TRUE(q.ok());
  Cmds c;
  c.sleep(200'000'000).write64(data->gpu_va(), 7);
  ASSERT_TRUE((*q)->push(c.b).ok());
  uint64_t s = *(*q)->end_submission();
  (*q)->ring();
  EXPECT_EQ((*q)->wait(s, deadline_ms(10)).error(), -ETIME);
  EXPECT_EQ((*q)->wait(s, 0).error(), -ETIME);
  // An exported point: another waiter (here the device's syncobj wait).
  auto so = dev->syncobj_create(false);
  ASSERT_TRUE(so.ok());
  ASSERT_TRUE((*q)->export_point(s, SyncPoint{*so, 0}).ok());
  EXPECT_EQ((*q)->export_point(s + 1, SyncPoint{*so, 0}).error(), -EINVAL);  // never future
  ASSERT_TRUE(dev->syncobj_wait(SyncPoint{*so, 0}, deadline_ms(5000)).ok());
  EXPECT_EQ(u64(0), 7u);
  ASSERT_TRUE((*q)->wait(s, deadline_ms(5000)).ok());
  EXPECT_GE((*q)->stats().waits_fenced, 1u);
  (void)dev->syncobj_destroy(*so);
}

TEST_F(CoreUserQueue, TheRingWrapsAndManyProducersKeepOrder) {
  UserQueueOptions o;
  o.ring_bytes = 4096;
  auto q = UserQueue::create(dev->vm(), o);
  ASSERT_TRUE(q.ok());
  const uint64_t va = data->gpu_va();
  constexpr unsigned kThreads = 4, kEach = 400;
  std::mutex order;  // one submission = push + end_submission + ring
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      for (unsigned i = 0; i < kEach; i++) {
        std::lock_guard<std::mutex> g(order);
        const uint64_t s = (*q)->submitted() + 1;
        Cmds c;
        c.copy(va + 0x10000 + s * 8, va, 8).write64(va, s).write64(va + 64 + t * 8, i + 1);
        ASSERT_TRUE((*q)->push(c.b).ok());
        ASSERT_EQ(*(*q)->end_submission(), s);
        (*q)->ring();
      }
    });
  }
  for (auto& t : ts) t.join();
  const uint64_t last = kThreads * kEach;
  ASSERT_TRUE((*q)->wait(last, deadline_ms(10000)).ok());
  for (uint64_t s = 1; s <= last; s++) ASSERT_EQ(u64(0x10000 + s * 8), s - 1) << s;
  for (unsigned t = 0; t < kThreads; t++) EXPECT_EQ(u64(64 + t * 8), kEach);
  EXPECT_GT((*q)->stats().rings, 0u);
}

TEST_F(CoreUserQueue, AQueueOnAnotherVm) {
  auto vm = Vm::create(dev);
  ASSERT_TRUE(vm.ok());
  auto q = UserQueue::create(**vm);
  ASSERT_TRUE(q.ok()) << q.error();
  // Its ring is in that Vm; a command writes the queue's own control page.
  Cmds c;
  c.write64((*q)->ring_gpu_va() + (*q)->ring_bytes() + 64, 0xfeed);
  ASSERT_TRUE((*q)->push(c.b).ok());
  uint64_t s = *(*q)->end_submission();
  (*q)->ring();
  ASSERT_TRUE((*q)->wait(s, deadline_ms(5000)).ok());
  EXPECT_FALSE((*q)->state().dead);
}

// The coarse pinning policy for the BO cache: a queue on the device VM cuts
// the cache to DeviceOptions::user_queue_cache_bytes (its buffers are mapped
// there, so the running queue would keep them resident), the normal cap
// comes back with the last such queue, and a queue on another Vm changes
// nothing.
TEST(CoreUserQueuePolicy, QueuesOnTheDeviceVmCapTheCache) {
  DeviceOptions o;
  o.cache_from_env = false;
  o.maintenance_thread = false;
  o.trim_cache_under_pressure = false;
  o.cache.max_cached_bytes = 64ull << 20;
  o.cache.decay_half_life_ns = 0;
  o.user_queue_cache_bytes = 1ull << 20;
  std::string why;
  auto d = Device::open("sim:panthor", o, &why);
  ASSERT_TRUE(d.ok()) << why;
  std::shared_ptr<Device> dev = *d;
  auto fill_cache = [&] {
    std::vector<BoRef> bos;
    for (int i = 0; i < 16; i++) {
      auto b = dev->bo_alloc(256 * 1024, 0, "policy");
      ASSERT_TRUE(b.ok());
      bos.push_back(std::move(*b));
    }
    bos.clear();  // into the cache
  };
  fill_cache();
  const uint64_t cached = dev->cache().bytes_cached();
  ASSERT_GE(cached, 4ull << 20);

  // A queue on another Vm: the cache maps nothing there.
  auto vm = Vm::create(dev);
  ASSERT_TRUE(vm.ok());
  {
    auto other = UserQueue::create(**vm);
    ASSERT_TRUE(other.ok()) << other.error();
    EXPECT_EQ(dev->cache().bytes_cached(), cached);
    EXPECT_EQ(dev->stats().device_vm_user_queues, 0u);
  }

  auto q1 = UserQueue::create(dev->vm());
  ASSERT_TRUE(q1.ok()) << q1.error();
  EXPECT_LE(dev->cache().bytes_cached(), 1ull << 20);
  DeviceStats s = dev->stats();
  EXPECT_EQ(s.device_vm_user_queues, 1u);
  EXPECT_EQ(s.user_queue_cache_trims, 1u);
  EXPECT_EQ(s.user_queue_cache_trimmed_bytes, cached - dev->cache().bytes_cached());
  EXPECT_EQ(dev->cache().config().max_cached_bytes, 1ull << 20);
  // While the queue lives the cap holds for new frees too.
  fill_cache();
  EXPECT_LE(dev->cache().bytes_cached(), 1ull << 20);
  {
    auto q2 = UserQueue::create(dev->vm());  // a second queue: no second trim
    ASSERT_TRUE(q2.ok());
    EXPECT_EQ(dev->stats().device_vm_user_queues, 2u);
    EXPECT_EQ(dev->stats().user_queue_cache_trims, 1u);
  }
  EXPECT_EQ(dev->cache().config().max_cached_bytes, 1ull << 20);  // q1 still there
  q1->reset();
  EXPECT_EQ(dev->stats().device_vm_user_queues, 0u);
  EXPECT_EQ(dev->cache().config().max_cached_bytes, 64ull << 20);
  fill_cache();
  EXPECT_GE(dev->cache().bytes_cached(), 4ull << 20);
}

TEST_F(CoreUserQueue, AKilledQueueFailsItsWaitsAndOthersRun) {
  sim::set_job_timeout_ms(150);
  auto bad = UserQueue::create(dev->vm());
  auto good = UserQueue::create(dev->vm());
  ASSERT_TRUE(bad.ok() && good.ok());
  Cmds h;
  h.hang();
  ASSERT_TRUE((*bad)->push(h.b).ok());
  uint64_t s = *(*bad)->end_submission();
  (*bad)->ring();
  EXPECT_EQ((*bad)->wait(s, deadline_ms(5000)).error(), -ECANCELED);
  EXPECT_TRUE((*bad)->state().dead);
  Cmds c;
  c.write64(data->gpu_va(), 42);
  ASSERT_TRUE((*good)->push(c.b).ok());
  uint64_t g = *(*good)->end_submission();
  (*good)->ring();
  ASSERT_TRUE((*good)->wait(g, deadline_ms(5000)).ok());
  EXPECT_EQ(u64(0), 42u);
}

// Evict/restore under a small budget while the queue works: every cycle
// rewrites four buffers from a per-cycle pattern and checksums them; a
// second device allocates over the budget, the kernel preempts the queue's
// Vm (its eviction fence) and swaps its memory out; the next ring brings it
// back. Zero lost or corrupt bytes.
TEST_F(CoreUserQueue, EvictRestoreCyclesLoseNothing) {
  sim::SimDevice* mdev = model_dev(*dev);
  sim::PanthorReclaim* rc = mdev->shrinker().reclaimer();
  ASSERT_NE(rc, nullptr);
  auto other = open_dev("panthor");
  ASSERT_TRUE(other);
  auto q = UserQueue::create(dev->vm(), UserQueueOptions{16384, 20'000});
  ASSERT_TRUE(q.ok());
  constexpr unsigned kBufs = 4, kCycles = 40;
  constexpr uint64_t kSize = 256 * 1024;
  std::vector<BoRef> bufs;
  for (unsigned i = 0; i < kBufs; i++) {
    auto b = dev->bo_alloc(kSize, kAllocNoCache, "evicted");
    ASSERT_TRUE(b.ok());
    bufs.push_back(std::move(*b));
  }
  const uint64_t sums = data->gpu_va() + 0x1000;
  const sim::ReclaimStats r0 = rc->stats();
  std::vector<uint8_t> expect(kSize);
  for (unsigned cyc = 1; cyc <= kCycles; cyc++) {
    Cmds c;
    for (unsigned i = 0; i < kBufs; i++)
      c.fill(bufs[i]->gpu_va(), kSize, cyc * 16 + i).checksum(bufs[i]->gpu_va(), kSize, sums + i * 8);
    c.sleep(500'000);
    ASSERT_TRUE((*q)->push(c.b).ok());
    uint64_t s = *(*q)->end_submission();
    (*q)->ring();
    {
      const uint64_t old = mdev->shrinker().budget();
      mdev->shrinker().set_budget(mdev->shrinker().stats().charged);
      Result<BoRef> b = Error(-ENOMEM);
      for (int t = 0; t < 50 && !b.ok(); t++) {
        b = other->bo_alloc(1 << 20, kAllocNoCache, "pressure");
        if (!b.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      mdev->shrinker().set_budget(old);
      ASSERT_TRUE(b.ok()) << "cycle " << cyc;
    }
    (*q)->ring();  // next use
    ASSERT_TRUE((*q)->wait(s, deadline_ms(10000)).ok()) << "cycle " << cyc;
    for (unsigned i = 0; i < kBufs; i++) {
      uint32_t pat = cyc * 16 + i;
      for (uint64_t o = 0; o < kSize; o += 4) std::memcpy(&expect[o], &pat, 4);
      ASSERT_EQ(u64(0x1000 + i * 8), sim::fnv1a64(expect.data(), kSize)) << cyc << " " << i;
    }
  }
  for (unsigned i = 0; i < kBufs; i++) {
    auto m = bufs[i]->map();
    ASSERT_TRUE(m.ok());
    uint32_t pat = kCycles * 16 + i;
    for (uint64_t o = 0; o < kSize; o += 4) std::memcpy(&expect[o], &pat, 4);
    EXPECT_EQ(std::memcmp(*m, expect.data(), kSize), 0) << i;
  }
  EXPECT_GE(rc->stats().preemptions - r0.preemptions, kCycles / 2);
  EXPECT_GE((*q)->state().suspensions, kCycles / 2);
}

}  // namespace
}  // namespace wsys
