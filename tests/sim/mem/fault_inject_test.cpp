// Fault injection sites fail cleanly: the ioctl returns the error, nothing
// is created or leaked (the ASan/LSan build checks leaks), and the next call
// works. Also the WSYS_SIM_FAULTS rule parser.
#include "mem_test_util.h"
#include "vm/vm_test_util.h"

namespace wsys::sim::memtest {
namespace {

namespace vt = wsys::sim::vmtest;

class FaultInject : public ::testing::Test {
 public:
  void TearDown() override { fault_inject_clear(); }
  void set(const std::string& spec) {
    std::string why;
    ASSERT_TRUE(fault_inject_set(spec, &why)) << why;
  }
};

TEST_F(FaultInject, BoAllocFailsCreateBoWithoutCreatingAnything) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  SimDevice* dev = panfrost_device(*f);
  const uint64_t live = dev->live_bos(), charged = dev->shrinker().stats().charged;
  const uint64_t fails = fault_inject_failures("bo_alloc");
  set("bo_alloc:nth=1");
  uint32_t h = 0;
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h), -ENOMEM);
  EXPECT_EQ(f->file().bo_handle_count(), 0u);
  EXPECT_EQ(dev->live_bos(), live);
  EXPECT_EQ(dev->shrinker().stats().charged, charged);
  EXPECT_EQ(fault_inject_failures("bo_alloc"), fails + 1);
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h), 0) << "nth fails once";
  EXPECT_EQ(f->file().bo_handle_count(), 1u);
}

TEST_F(FaultInject, RecordingCountsTheSitesACallReachesWithoutFailingThem) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  const uint64_t failed_before = fault_inject_failures("ioctl:CREATE_BO");
  fault_inject_record_start();
  uint32_t h1 = 0, h2 = 0;
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h1), 0);
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h2), 0);
  bool overflowed = true;
  std::vector<SiteCount> sites = fault_inject_record_stop(&overflowed);
  EXPECT_FALSE(overflowed);
  auto calls = [&](const char* site) -> uint64_t {
    for (const SiteCount& s : sites)
      if (s.site == site) return s.calls;
    return 0;
  };
  EXPECT_EQ(calls("ioctl:CREATE_BO"), 2u);
  EXPECT_EQ(calls("bo_alloc"), 2u);
  EXPECT_EQ(calls("chunk_grow"), 0u);
  EXPECT_EQ(fault_inject_failures("ioctl:CREATE_BO"), failed_before)
      << "recording never fails a call";
  // Stopped: nothing more is counted, and a new recording starts empty.
  uint32_t h3 = 0;
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h3), 0);
  fault_inject_record_start();
  EXPECT_TRUE(fault_inject_record_stop().empty());
}

TEST_F(FaultInject, BoAllocWithErrnoAndEveryOnPanthor) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  set("bo_alloc:every=2:errno=5");
  drm_panthor_bo_create c{};
  c.size = 4096;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), 0);
  c = {};
  c.size = 4096;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), -EIO);
  EXPECT_EQ(c.handle, 0u);
  c = {};
  c.size = 4096;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), 0);
  EXPECT_EQ(f->file().bo_handle_count(), 2u);
}

TEST_F(FaultInject, PtReserveFailsVmBindAndNothingIsMapped) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t vm_id = 0;
  ASSERT_EQ(vt::vm_create(*f, &vm_id), 0);
  SimVmPtr vm = vt::vm_of(*f, vm_id);
  uint32_t bo = vt::bo_create(*f, 64 * kKiB);
  const PageTableCounters pt0 = vm->pt_counters();
  set("pt_reserve:nth=1");
  EXPECT_EQ(vt::map_sync(*f, vm_id, bo, 0, 0x100000, 64 * kKiB), -ENOMEM);
  EXPECT_EQ(vm->mapping_count(), 0u);
  const PageTableCounters pt1 = vm->pt_counters();
  EXPECT_EQ(pt1.reserved - pt0.reserved, pt1.returned - pt0.returned) << "no page kept";
  EXPECT_EQ(vt::map_sync(*f, vm_id, bo, 0, 0x100000, 64 * kKiB), 0);
  EXPECT_EQ(vm->mapping_count(), 1u);
  EXPECT_EQ(fault_inject_failures("pt_reserve") > 0, true);
}

TEST_F(FaultInject, PtReserveFailsPanfrostCreateBoWithoutAHandle) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  SimDevice* dev = panfrost_device(*f);
  uint32_t h = 0;
  ASSERT_EQ(pf_create(*f, 64 * kKiB, &h), 0);  // the file's VM exists
  const uint64_t live = dev->live_bos();
  set("pt_reserve:nth=1");
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h), -ENOMEM);
  EXPECT_EQ(f->file().bo_handle_count(), 1u);
  EXPECT_EQ(dev->live_bos(), live);
  EXPECT_EQ(f->file().panfrost_vm()->mapping_count(), 1u);
}

TEST_F(FaultInject, IoctlSitesFailAtEntryAndChangeNothing) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  // SYNCOBJ_CREATE: no handle.
  set("ioctl:SYNCOBJ_CREATE:nth=1");
  drm_syncobj_create sc{};
  EXPECT_EQ(f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc), -ENOMEM);
  EXPECT_EQ(sc.handle, 0u);
  EXPECT_FALSE(f->file().lookup_syncobj(1));
  EXPECT_EQ(f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc), 0);
  EXPECT_EQ(sc.handle, 1u);
  // SYNCOBJ_WAIT with a chosen errno.
  set("ioctl:SYNCOBJ_WAIT:nth=1:errno=4");
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&sc.handle);
  w.count_handles = 1;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w), -EINTR);
  // VM_CREATE: no VM.
  set("ioctl:VM_CREATE:nth=1");
  uint32_t vm_id = 0;
  EXPECT_EQ(vt::vm_create(*f, &vm_id), -ENOMEM);
  EXPECT_FALSE(vt::vm_of(*f, 1));
  ASSERT_EQ(vt::vm_create(*f, &vm_id), 0);
  // VM_BIND: nothing mapped.
  uint32_t bo = vt::bo_create(*f, 4096);
  set("ioctl:VM_BIND:nth=1");
  EXPECT_EQ(vt::map_sync(*f, vm_id, bo, 0, 0x200000, 4096), -ENOMEM);
  EXPECT_EQ(vt::vm_of(*f, vm_id)->mapping_count(), 0u);
  // GEM_CLOSE: the handle survives.
  set("ioctl:GEM_CLOSE:nth=1");
  EXPECT_EQ(vt::gem_close(*f, bo), -ENOMEM);
  EXPECT_TRUE(f->file().lookup_bo(bo));
  EXPECT_EQ(vt::gem_close(*f, bo), 0);
  EXPECT_EQ(fault_inject_failures("ioctl:GEM_CLOSE"), 1u);
  // Other ioctls are unaffected by a rule naming one.
  EXPECT_EQ(f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc), 0);
}

TEST_F(FaultInject, PanfrostIoctlSites) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  uint32_t h = 0;
  set("ioctl:CREATE_BO:nth=1");
  EXPECT_EQ(pf_create(*f, 4096, &h), -ENOMEM);
  EXPECT_EQ(f->file().bo_handle_count(), 0u);
  ASSERT_EQ(pf_create(*f, 4096, &h), 0);
  set("ioctl:MADVISE:nth=1");
  EXPECT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED), -ENOMEM);
  EXPECT_EQ(f->file().lookup_bo(h)->madv.load(), SimBo::kMadvWillNeed);
}

TEST_F(FaultInject, ProbabilityIsDeterministicForASeed) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  auto run = [&] {
    set("ioctl:SYNCOBJ_CREATE:prob=0.5:seed=7");
    std::string pattern;
    for (int i = 0; i < 64; i++) {
      drm_syncobj_create sc{};
      int r = f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc);
      pattern += r ? 'x' : '.';
      if (!r) {
        drm_syncobj_destroy d{};
        d.handle = sc.handle;
        EXPECT_EQ(f->ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &d), 0);
      }
    }
    return pattern;
  };
  std::string a = run(), b = run();
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find('x'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

TEST_F(FaultInject, ParserErrorsNameTheVariableAndKeepTheRules) {
  set("bo_alloc:every=1");
  for (const char* bad :
       {"bo_alloc", "bo_alloc:nth=0", "bo_alloc:nth=-1", "bo_alloc:nth=x", "bo_alloc:prob=2",
        "bo_alloc:prob=", "bo_alloc:nth=1:errno=0", "bo_alloc:nth=1:bogus=3", "bo_aloc:nth=1",
        "ioctl:nth=1", "ioctl:vm_bind:nth=1", ":nth=1", "bo_alloc:nth=1;pt_reserve"}) {
    std::string why;
    EXPECT_FALSE(fault_inject_set(bad, &why)) << bad;
    EXPECT_NE(why.find("WSYS_SIM_FAULTS"), std::string::npos) << bad << ": " << why;
  }
  // The rule set before is still in force.
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  uint32_t h = 0;
  EXPECT_EQ(pf_create(*f, 4096, &h), -ENOMEM);
  fault_inject_clear();
  EXPECT_EQ(pf_create(*f, 4096, &h), 0);
}

}  // namespace
}  // namespace wsys::sim::memtest
