// Fault sweep over core's public operations on the kernel model (issue 16).
//
// For every operation below and both model flavours: run it once with the
// model's fault sites recorded (sim/fault_inject.h) to learn which sites it
// reaches and how often, then for every (site, nth call) pair run it again
// on a fresh device with exactly that call failing, and check what the
// documented contract promises:
//   - the operation either reports a negative errno (never crashes, never
//     claims success over a half-done state) or recovers by itself;
//   - memory already committed before it (a buffer with a pattern, mapped in
//     the device VM) is unchanged, through the CPU and through the GPU view;
//   - with the fault gone, the same operation succeeds (after Vm::recreate
//     where a failed bind made the VM unusable, which is the documented
//     recovery);
//   - once the device is gone, the model holds no more objects than before
//     and the process no more file descriptors (ASan's LeakSanitizer checks
//     heap memory in the sanitizer configurations).
// The case count (operations x injection points) is printed at the end as
// `fault_sweep_cases`.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model_jobs.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/sim_device.h"
#include "wsys/device.hpp"
#include "wsys/heap.hpp"
#include "wsys/scratch.hpp"
#include "wsys/sparse.hpp"
#include "wsys/vm.hpp"

namespace wsys {
namespace {

using sim::fault_inject_clear;
using sim::fault_inject_failures;
using sim::fault_inject_record_start;
using sim::fault_inject_record_stop;
using sim::fault_inject_set;

constexpr uint64_t kKiB = 1024;

size_t open_fds() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') n++;
    closedir(d);
  }
  return n;
}

std::shared_ptr<Device> open_device(const std::string& driver) {
  DeviceOptions opt;
  opt.cache_from_env = false;
  opt.maintenance_thread = false;
  std::string why;
  auto d = Device::open("sim:" + driver, opt, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

// What an operation leaves alive until the case is checked (buffers, VMs,
// fds...): dropped before the device goes.
struct Held {
  std::vector<BoRef> bos;
  std::vector<std::shared_ptr<Vm>> vms;
  std::vector<std::shared_ptr<SparseBuffer>> sparse;
  std::vector<std::unique_ptr<Heap>> heaps;
  std::vector<std::shared_ptr<ScratchPool>> pools;
  std::vector<std::shared_ptr<Device>> devices;
  std::vector<uint32_t> syncobjs;
  std::vector<int> fds;
  std::shared_ptr<Device> dev;  // for the syncobjs
  ~Held() {
    for (uint32_t s : syncobjs) (void)dev->syncobj_destroy(s);
    for (int fd : fds) close(fd);
  }
};

struct Operation {
  const char* name;
  bool panthor_only;
  // Prepares state the operation needs (not under injection).
  std::function<void(Device&, Held&)> setup;
  // The operation: 0 or a negative errno.
  std::function<int(const std::shared_ptr<Device>&, Held&)> run;
};

int err(const Result<void>& r) { return r.ok() ? 0 : r.error(); }
template <typename T>
int err(const Result<T>& r) {
  return r.ok() ? 0 : r.error();
}

// A recognisable pattern in a buffer, and whether `va` shows it.
int fill_pattern(Bo& bo) {
  auto m = bo.map();
  if (!m.ok()) return m.error();
  auto* p = static_cast<uint32_t*>(*m);
  for (uint64_t i = 0; i < bo.size() / 4; i++) p[i] = static_cast<uint32_t>(i) ^ 0xC0FFEEu;
  return 0;
}
bool maps_pattern(const Device& d, const Bo& bo, uint64_t va) {
  const auto* g = static_cast<const uint32_t*>(d.gpu_view(va));
  if (!g) return false;
  for (uint64_t i = 0; i < bo.size() / 4; i += 1021)
    if (g[i] != (static_cast<uint32_t>(i) ^ 0xC0FFEEu)) return false;
  return true;
}

std::vector<Operation> operations() {
  std::vector<Operation> ops;
  ops.push_back({"bo_alloc+map+write", false, nullptr, [](auto& d, Held& h) {
                   auto b = d->bo_alloc(256 * kKiB, kAllocZeroed, "sweep");
                   if (!b.ok()) return b.error();
                   auto m = (*b)->map();
                   if (!m.ok()) return m.error();
                   std::memset(*m, 0x5a, 256 * kKiB);
                   h.bos.push_back(std::move(*b));
                   return 0;
                 }});
  ops.push_back({"bo_alloc from the cache", false,
                 [](Device& d, Held&) {
                   auto b = d.bo_alloc(128 * kKiB, 0, "sweep");
                   ASSERT_TRUE(b.ok());
                   (void)(*b)->map();
                 },
                 [](auto& d, Held& h) {
                   auto b = d->bo_alloc(128 * kKiB, kAllocZeroed, "sweep-reuse");
                   if (!b.ok()) return b.error();
                   auto m = (*b)->map();
                   if (!m.ok()) return m.error();
                   if (static_cast<uint8_t*>(*m)[7] != 0) return -EBADMSG;  // not zeroed
                   h.bos.push_back(std::move(*b));
                   return 0;
                 }});
  ops.push_back({"export+import", false, nullptr, [](auto& d, Held& h) {
                   auto b = d->bo_alloc(64 * kKiB, kAllocShareable);
                   if (!b.ok()) return b.error();
                   h.bos.push_back(*b);
                   auto fd = (*b)->export_fd();
                   if (!fd.ok()) return fd.error();
                   h.fds.push_back(*fd);
                   auto same = d->bo_import(*fd);
                   if (!same.ok()) return same.error();
                   if (same->get() != b->get()) return -EBADMSG;  // one Bo per buffer
                   h.bos.push_back(std::move(*same));
                   DeviceOptions opt;
                   opt.cache_from_env = false;
                   opt.maintenance_thread = false;
                   auto other = Device::open("sim:" + d->info().driver, opt);
                   if (!other.ok()) return other.error();
                   h.devices.push_back(*other);
                   auto imp = (*other)->bo_import(*fd);
                   if (!imp.ok()) return imp.error();
                   h.bos.push_back(std::move(*imp));
                   return 0;
                 }});
  ops.push_back({"vm bind immediate", true, nullptr, [](auto& d, Held& h) {
                   auto b = d->bo_alloc(128 * kKiB, 0);
                   if (!b.ok()) return b.error();
                   h.bos.push_back(*b);
                   if (int e = fill_pattern(**b)) return e;
                   auto va = d->vm().alloc_va(128 * kKiB);
                   if (!va.ok()) return va.error();
                   BindBatch batch;
                   batch.map(**b, 0, va->addr, 128 * kKiB);
                   if (int e = err(d->vm().bind(batch, BindMode::Immediate))) {
                     (void)d->vm().free_va(*va);
                     return e;
                   }
                   // Success means the mapping is there: never a stale one.
                   if (!maps_pattern(*d, **b, va->addr)) return -EBADMSG;
                   return err(d->vm().unmap_and_free(*va, std::nullopt));
                 }});
  ops.push_back({"vm bind async", true, nullptr, [](auto& d, Held& h) {
                   auto b = d->bo_alloc(128 * kKiB, 0);
                   if (!b.ok()) return b.error();
                   h.bos.push_back(*b);
                   if (int e = fill_pattern(**b)) return e;
                   auto va = d->vm().alloc_va(128 * kKiB);
                   if (!va.ok()) return va.error();
                   auto done = d->syncobj_create(false);
                   if (!done.ok()) {
                     (void)d->vm().free_va(*va);
                     return done.error();
                   }
                   h.syncobjs.push_back(*done);
                   BindBatch batch;
                   batch.map(**b, 0, va->addr, 128 * kKiB);
                   batch.signal({*done, 1});
                   if (int e = err(d->vm().bind(batch, BindMode::Async))) {
                     (void)d->vm().free_va(*va);
                     return e;
                   }
                   // The bind's own completion point.
                   if (int e = err(d->syncobj_wait({*done, 1}, test::deadline_ms(5000)))) return e;
                   if (!d->vm().usable()) return -EIO;  // the kernel refused it later
                   if (!maps_pattern(*d, **b, va->addr)) return -EBADMSG;
                   return err(d->vm().unmap_and_free(*va, std::nullopt));
                 }});
  ops.push_back({"vm create", true, nullptr, [](auto& d, Held& h) {
                   auto vm = Vm::create(d, 0);
                   if (!vm.ok()) return vm.error();
                   h.vms.push_back(std::move(*vm));
                   return 0;
                 }});
  ops.push_back({"sparse create+bind+unbind", true, nullptr, [](auto& d, Held& h) {
                   auto sp = SparseBuffer::create(d, 4 * 64 * kKiB);
                   if (!sp.ok()) return sp.error();
                   h.sparse.push_back(*sp);
                   auto b = d->bo_alloc(128 * kKiB, 0);
                   if (!b.ok()) return b.error();
                   h.bos.push_back(*b);
                   if (int e = err((*sp)->bind(1, 2, **b, 0))) return e;
                   if (int e = err((*sp)->unbind(2, 1))) return e;
                   return err((*sp)->submit(BindMode::Immediate));
                 }});
  ops.push_back({"syncobj create+signal+wait+destroy", false, nullptr, [](auto& d, Held& h) {
                   auto s = d->syncobj_create(false);
                   if (!s.ok()) return s.error();
                   h.syncobjs.push_back(*s);
                   const uint64_t p = d->info().driver == "panthor" ? 3 : 0;
                   if (int e = err(d->syncobj_signal(*s, p))) return e;
                   if (int e = err(d->syncobj_wait({*s, p}, test::deadline_ms(1000)))) return e;
                   h.syncobjs.pop_back();
                   return err(d->syncobj_destroy(*s));
                 }});
  ops.push_back({"scratch tls", false, nullptr, [](auto& d, Held& h) {
                   auto pool = d->scratch_pool();
                   if (!pool.ok()) return pool.error();
                   h.pools.push_back(*pool);
                   return err((*pool)->tls(256));
                 }});
  ops.push_back({"heap create", false, nullptr, [](auto& d, Held& h) {
                   auto heap = Heap::create(d);
                   if (!heap.ok()) return heap.error();
                   h.heaps.push_back(std::move(*heap));
                   return 0;
                 }});
  return ops;
}

// A buffer committed before the operation: 64 KiB with a pattern, mapped in
// the device VM. Checked through the CPU mapping and the GPU view.
struct Committed {
  BoRef bo;
  void fill() {
    auto* p = static_cast<uint32_t*>(*bo->map());
    for (uint32_t i = 0; i < 16 * kKiB; i++) p[i] = i * 2654435761u;
  }
  bool intact(const Device& d) const {
    const auto* cpu = static_cast<const uint32_t*>(bo->cpu());
    const auto* gpu = static_cast<const uint32_t*>(d.gpu_view(bo->gpu_va()));
    if (!cpu || !gpu) return false;
    for (uint32_t i = 0; i < 16 * kKiB; i++)
      if (cpu[i] != i * 2654435761u || gpu[i] != i * 2654435761u) return false;
    return true;
  }
};

struct SweepTotals {
  uint64_t cases = 0, failed_with_errno = 0, recovered = 0, recreations = 0;
};

class FaultSweep : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { fault_inject_clear(); }
};

// One case: a fresh device, the committed buffer, the operation with
// `rule` armed, then the checks. `site` empty: no injection (recording).
// With `recorded` set (and no site): records the sites the operation itself
// reaches (not the fixture's).
void run_case(const std::string& driver, const Operation& op, const std::string& site,
              uint64_t nth, SweepTotals* totals, std::vector<sim::SiteCount>* recorded = nullptr) {
  SCOPED_TRACE(std::string(op.name) + " with " + (site.empty() ? "no fault" : site) +
               " failing at call " + std::to_string(nth));
  sim::SimDevice* sd = sim::SimDevice::get(driver, nullptr);
  ASSERT_NE(sd, nullptr);
  const uint64_t bos_before = sd->live_bos();
  const size_t fds_before = open_fds();
  {
    auto dev = open_device(driver);
    ASSERT_TRUE(dev);
    Committed c;
    auto b = dev->bo_alloc(64 * kKiB, 0, "committed");
    ASSERT_TRUE(b.ok());
    c.bo = std::move(*b);
    c.fill();
    ASSERT_TRUE(c.intact(*dev));
    Held setup_held;
    setup_held.dev = dev;
    if (op.setup) op.setup(*dev, setup_held);
    {
      Held h;
      h.dev = dev;
      int e = 0;
      if (site.empty()) {
        if (recorded) fault_inject_record_start();
        e = op.run(dev, h);
        if (recorded) {
          bool overflowed = false;
          *recorded = fault_inject_record_stop(&overflowed);
          EXPECT_FALSE(overflowed);
        }
        EXPECT_EQ(e, 0) << "the operation fails without any fault: " << std::strerror(-e);
      } else {
        const uint64_t failed_before = fault_inject_failures(site.c_str());
        std::string why;
        ASSERT_TRUE(fault_inject_set(site + ":nth=" + std::to_string(nth), &why)) << why;
        e = op.run(dev, h);
        fault_inject_clear();
        // The recording said this call happens; it must have been failed.
        EXPECT_EQ(fault_inject_failures(site.c_str()), failed_before + 1)
            << "the injection point was not reached again";
        EXPECT_LE(e, 0);
        if (e < 0) {
          // The injected error or what core documents for a failed kernel
          // call under it; never success-looking values or corruption.
          EXPECT_TRUE(e == -ENOMEM || e == -EIO || e == -ENOSPC) << std::strerror(-e);
          totals->failed_with_errno++;
        } else {
          totals->recovered++;
          std::printf("  recovered by itself: %s, %s call %llu\n", op.name, site.c_str(),
                      static_cast<unsigned long long>(nth));
        }
      }
      EXPECT_TRUE(c.intact(*dev)) << "committed memory changed";
    }
    if (!site.empty()) {
      // Recovery: the documented step for a VM a failed bind made unusable.
      if (!dev->vm().usable()) {
        ASSERT_TRUE(dev->vm().recreate().ok());
        totals->recreations++;
      }
      Held h2;
      h2.dev = dev;
      int e2 = op.run(dev, h2);
      EXPECT_EQ(e2, 0) << "the operation still fails once the fault is gone: "
                       << std::strerror(-e2);
      EXPECT_TRUE(c.intact(*dev)) << "committed memory changed on the retry";
    }
    // Idle before teardown, so deferred unmaps and frees complete.
    dev->vm().reclaim(true);
  }
  EXPECT_EQ(sd->live_bos(), bos_before) << "GEM objects leaked";
  EXPECT_EQ(open_fds(), fds_before) << "file descriptors leaked";
  totals->cases++;
}

TEST_P(FaultSweep, EveryInjectionPointOfEveryOperation) {
  const std::string driver = GetParam();
  SweepTotals totals;
  uint64_t points = 0;
  for (const Operation& op : operations()) {
    if (op.panthor_only && driver != "panthor") continue;
    // Learn the sites the operation reaches (one clean run).
    std::vector<sim::SiteCount> sites;
    run_case(driver, op, "", 0, &totals, &sites);
    if (HasFatalFailure()) return;
    ASSERT_FALSE(sites.empty()) << op.name << " reaches no fault site";
    for (const sim::SiteCount& s : sites) {
      for (uint64_t n = 1; n <= s.calls; n++) {
        run_case(driver, op, s.site, n, &totals);
        points++;
        if (HasFatalFailure()) return;
      }
    }
  }
  std::printf("metric fault_sweep_cases_%s %llu cases\n", driver.c_str(),
              static_cast<unsigned long long>(points));
  std::printf("  failed with an errno: %llu, recovered by themselves: %llu, VM recreations: %llu\n",
              static_cast<unsigned long long>(totals.failed_with_errno),
              static_cast<unsigned long long>(totals.recovered),
              static_cast<unsigned long long>(totals.recreations));
  EXPECT_GT(points, driver == "panthor" ? 60u : 20u);
}

INSTANTIATE_TEST_SUITE_P(Model, FaultSweep, ::testing::Values("panthor", "panfrost"));

}  // namespace
}  // namespace wsys
