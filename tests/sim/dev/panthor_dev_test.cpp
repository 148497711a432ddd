// panthor DEV_QUERY, BO_CREATE, BO_MMAP_OFFSET, BO_SET_LABEL and
// SET_USER_MMIO_OFFSET at the ioctl boundary: every validation rule and
// errno, DEV_QUERY size negotiation, and the values reported.
#include <sys/mman.h>
#include <time.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dev_test_util.h"

using namespace wsys::sim;
using namespace wsys::sim::devtest;

namespace {

// A buffer followed by an inaccessible page, for -EFAULT cases.
class GuardedBuffer {
 public:
  GuardedBuffer() {
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(base_, MAP_FAILED);
    mprotect(base_ + 4096, 4096, PROT_NONE);
  }
  ~GuardedBuffer() { munmap(base_, 2 * 4096); }
  // `n` writable bytes that end exactly at the guard page.
  uint8_t* tail(size_t n) { return base_ + 4096 - n; }
  uint8_t* guard() { return base_ + 4096; }

 private:
  uint8_t* base_;
};

int dev_query(SimDrmFile& f, uint32_t type, uint32_t size, void* ptr,
              uint32_t* size_out = nullptr) {
  drm_panthor_dev_query q{};
  q.type = type;
  q.size = size;
  q.pointer = reinterpret_cast<uintptr_t>(ptr);
  int r = f.ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q);
  if (size_out) *size_out = q.size;
  return r;
}

uint64_t monotonic_ticks(uint64_t hz) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * hz +
         static_cast<uint64_t>(ts.tv_nsec) * hz / 1000000000ull;
}

class PanthorDev : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = open_model_file("panthor");
    ASSERT_TRUE(f_);
  }
  SimDrmFile& f() { return *f_; }
  const GpuIdentity& gpu() { return f_->file().device()->gpu(); }
  std::unique_ptr<SimDrmFile> f_;
};

// --- DEV_QUERY ---------------------------------------------------------

TEST_F(PanthorDev, DevQuerySizeProbe) {
  struct Case {
    uint32_t type;
    int ret;
    uint32_t size;
  } cases[] = {
      {DRM_PANTHOR_DEV_QUERY_GPU_INFO, 0, 104},  // no gpu_features
      {DRM_PANTHOR_DEV_QUERY_CSIF_INFO, 0, 24},
      {DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 0, 56},  // the 1.8 form
      {DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, 0, 4},
      {DRM_PANTHOR_DEV_QUERY_MMU_INFO, 0, 8},  // 1.9
      {5, -EINVAL, 777},
      {0xffffffffu, -EINVAL, 777},
  };
  for (const Case& c : cases) {
    uint32_t size = 0;
    EXPECT_EQ(dev_query(f(), c.type, 777, nullptr, &size), c.ret) << "type " << c.type;
    EXPECT_EQ(size, c.size) << "type " << c.type;
  }
}

TEST_F(PanthorDev, DevQueryValidation) {
  alignas(8) uint8_t buf[256];
  struct Case {
    uint32_t type;
    uint32_t size;
    int ret;
  } cases[] = {
      {DRM_PANTHOR_DEV_QUERY_GPU_INFO, 0, -EINVAL},
      {DRM_PANTHOR_DEV_QUERY_GPU_INFO, 95, -EINVAL},  // below the original struct
      {DRM_PANTHOR_DEV_QUERY_GPU_INFO, 96, 0},
      {DRM_PANTHOR_DEV_QUERY_CSIF_INFO, 23, -EINVAL},
      {DRM_PANTHOR_DEV_QUERY_CSIF_INFO, 24, 0},
      {DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 23, -EINVAL},
      {DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 24, 0},
      {DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, 3, -EINVAL},
      {DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, 4, 0},
      {DRM_PANTHOR_DEV_QUERY_MMU_INFO, 7, -EINVAL},
      {DRM_PANTHOR_DEV_QUERY_MMU_INFO, 8, 0},
      {DRM_PANTHOR_DEV_QUERY_MMU_INFO, 256, 0},
      {9, 256, -EINVAL},
  };
  for (const Case& c : cases)
    EXPECT_EQ(dev_query(f(), c.type, c.size, buf), c.ret)
        << "type " << c.type << " size " << c.size;
}

TEST_F(PanthorDev, DevQueryBadPointersAreEfault) {
  GuardedBuffer g;
  EXPECT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_GPU_INFO, 104, g.guard()), -EFAULT);
  // The struct fits, but a larger user size runs into the guard page while
  // zero-filling.
  EXPECT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_CSIF_INFO, 24, g.tail(24)), 0);
  EXPECT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_CSIF_INFO, 32, g.tail(24)), -EFAULT);
  EXPECT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_GPU_INFO, 104, g.tail(100)), -EFAULT);
}

TEST_F(PanthorDev, GpuInfoSmallerThanCurrentCopiesOnlyTheUsersSize) {
  // 96 bytes: the original struct, smaller than the model's 104.
  alignas(8) uint8_t buf[128];
  std::memset(buf, 0xaa, sizeof buf);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_GPU_INFO, 96, buf), 0);
  drm_panthor_gpu_info i;
  std::memcpy(&i, buf, sizeof i);
  EXPECT_EQ(i.gpu_id, gpu().gpu_id);
  EXPECT_EQ(i.tiler_present, gpu().tiler_present);
  for (size_t k = 96; k < sizeof buf; k++) ASSERT_EQ(buf[k], 0xaa) << "byte " << k << " written";
}

TEST_F(PanthorDev, GpuInfoLargerThanCurrentIsZeroFilled) {
  // The newest header's struct (with gpu_features) and a much larger buffer:
  // everything past the model's 104 bytes up to the user's size is zeroed,
  // nothing beyond it is touched.
  std::vector<uint8_t> buf(4096 + 64, 0xaa);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_GPU_INFO, 4096, buf.data()), 0);
  for (size_t k = 104; k < 4096; k++) ASSERT_EQ(buf[k], 0) << "byte " << k;
  for (size_t k = 4096; k < buf.size(); k++) ASSERT_EQ(buf[k], 0xaa) << "byte " << k;

  drm_panthor_gpu_info i;
  std::memset(&i, 0xaa, sizeof i);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_GPU_INFO, sizeof i, &i), 0);
  EXPECT_EQ(i.gpu_features, 0u);
  EXPECT_EQ(i.pad, 0u);
}

TEST_F(PanthorDev, GpuInfoReportsTheIdentity) {
  drm_panthor_gpu_info i;
  std::memset(&i, 0xaa, sizeof i);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_GPU_INFO, 104, &i), 0);
  const GpuIdentity& g = gpu();
  EXPECT_EQ(i.gpu_id, g.gpu_id);
  EXPECT_EQ(i.gpu_rev, g.gpu_rev);
  EXPECT_EQ(i.csf_id, g.csf_id);
  EXPECT_EQ(i.l2_features, g.l2_features);
  EXPECT_EQ(i.tiler_features, g.tiler_features);
  EXPECT_EQ(i.mem_features, g.mem_features);
  EXPECT_EQ(i.mmu_features, g.mmu_features);
  EXPECT_EQ(DRM_PANTHOR_MMU_VA_BITS(i.mmu_features), g.va_bits());
  EXPECT_EQ(i.thread_features, g.thread_features);
  EXPECT_EQ(i.max_threads, g.max_threads);
  EXPECT_EQ(i.thread_max_workgroup_size, g.thread_max_workgroup_size);
  EXPECT_EQ(i.thread_max_barrier_size, g.thread_max_barrier_size);
  EXPECT_EQ(i.coherency_features, g.coherency_features);
  for (int t = 0; t < 4; t++) EXPECT_EQ(i.texture_features[t], g.texture_features[t]);
  EXPECT_EQ(i.as_present, g.as_present);
  EXPECT_EQ(i.pad0, 0u);  // selected_coherency is 1.7
  EXPECT_EQ(i.shader_present, g.shader_present);
  EXPECT_EQ(i.l2_present, g.l2_present);
  EXPECT_EQ(i.tiler_present, g.tiler_present);
  EXPECT_EQ(i.core_features, g.core_features);
  EXPECT_EQ(i.pad, 0u);
  EXPECT_GE(DRM_PANTHOR_ARCH_MAJOR(i.gpu_id), 10u);  // a CSF GPU
}

TEST_F(PanthorDev, CsifInfoReportsTheIdentity) {
  drm_panthor_csif_info c;
  std::memset(&c, 0xaa, sizeof c);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_CSIF_INFO, sizeof c, &c), 0);
  EXPECT_EQ(c.csg_slot_count, gpu().csg_slot_count);
  EXPECT_EQ(c.cs_slot_count, gpu().cs_slot_count);
  EXPECT_EQ(c.cs_reg_count, gpu().cs_reg_count);
  EXPECT_EQ(c.scoreboard_slot_count, gpu().scoreboard_slot_count);
  EXPECT_EQ(c.unpreserved_cs_reg_count, gpu().unpreserved_cs_reg_count);
  EXPECT_EQ(c.pad, 0u);
}

TEST_F(PanthorDev, TimestampInfoIsTheMonotonicClockInGpuTicks) {
  const uint64_t hz = gpu().timestamp_frequency;
  ASSERT_NE(hz, 0u);
  drm_panthor_timestamp_info t1, t2;
  uint64_t before = monotonic_ticks(hz);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 24, &t1), 0);
  uint64_t after = monotonic_ticks(hz);
  EXPECT_EQ(t1.timestamp_frequency, hz);
  EXPECT_EQ(t1.timestamp_offset, 0u);
  EXPECT_GE(t1.current_timestamp, before);
  EXPECT_LE(t1.current_timestamp, after);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 24, &t2), 0);
  EXPECT_GE(t2.current_timestamp, t1.current_timestamp);

  // A 1.8 caller's struct with flags 0: the pre-1.8 values (GPU, offset,
  // frequency), the rest zero (versions: tests/sim/version).
  drm_panthor_timestamp_info t3;
  std::memset(&t3, 0, sizeof t3);
  ASSERT_EQ(dev_query(f(), DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, sizeof t3, &t3), 0);
  EXPECT_EQ(t3.timestamp_frequency, hz);
  EXPECT_EQ(t3.flags, 0u);
  EXPECT_EQ(t3.duration_nsec, 0u);
  EXPECT_EQ(t3.cycle_count, 0u);
  EXPECT_EQ(t3.cpu_timestamp_sec, 0u);
  EXPECT_EQ(t3.cpu_timestamp_nsec, 0u);
}

uint8_t query_priorities(SimDrmFile& f, int* ret) {
  drm_panthor_group_priorities_info p;
  std::memset(&p, 0xaa, sizeof p);
  *ret = dev_query(f, DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, sizeof p, &p);
  EXPECT_EQ(p.pad[0] | p.pad[1] | p.pad[2], 0);
  return p.allowed_mask;
}

TEST_F(PanthorDev, GroupPrioritiesFollowCapSysNice) {
  // Capabilities are per thread, so the experiment runs on its own thread.
  std::thread t([&] {
    Caps caps;
    ASSERT_TRUE(get_caps(&caps));
    int r = 0;
    uint8_t mask = query_priorities(f(), &r);
    ASSERT_EQ(r, 0);
    const uint8_t base = (1u << 0) | (1u << 1);  // LOW | MEDIUM
    if (!has_effective(caps, CAP_SYS_NICE)) {
      EXPECT_EQ(mask, base);
      return;
    }
    EXPECT_EQ(mask, base | (1u << 2) | (1u << 3));  // + HIGH | REALTIME
    // Drop CAP_SYS_NICE from the effective set: HIGH and REALTIME go.
    Caps dropped = caps;
    dropped.d[CAP_TO_INDEX(CAP_SYS_NICE)].effective &= ~CAP_TO_MASK(CAP_SYS_NICE);
    ASSERT_TRUE(set_caps(dropped));
    EXPECT_EQ(query_priorities(f(), &r), base);
    EXPECT_TRUE(set_caps(caps));
    EXPECT_EQ(query_priorities(f(), &r), base | (1u << 2) | (1u << 3));
  });
  t.join();
}

// --- BO_CREATE ---------------------------------------------------------

TEST_F(PanthorDev, BoCreateValidation) {
  struct Case {
    const char* what;
    uint64_t size;
    uint32_t flags;
    uint32_t vm;
    uint32_t pad;
    int ret;
  } cases[] = {
      {"size 0", 0, 0, 0, 0, -EINVAL},
      {"pad", 4096, 0, 0, 1, -EINVAL},
      {"WB_MMAP", 4096, DRM_PANTHOR_BO_WB_MMAP, 0, 0, 0},
      {"unknown flag", 4096, 1u << 7, 0, 0, -EINVAL},
      {"NO_MMAP|WB_MMAP", 4096, DRM_PANTHOR_BO_NO_MMAP | DRM_PANTHOR_BO_WB_MMAP, 0, 0, -EINVAL},
      {"no such VM", 4096, 0, 1, 0, -EINVAL},
      {"VM id out of range", 4096, 0, 33, 0, -EINVAL},
      {"VM id huge", 4096, 0, 0xffffffffu, 0, -EINVAL},
      {"size beyond shmem", 1ull << 63, 0, 0, 0, -EINVAL},
      {"size that overflows the round-up", ~0ull, 0, 0, 0, -EINVAL},
      {"plain", 4096, 0, 0, 0, 0},
      {"NO_MMAP", 4096, DRM_PANTHOR_BO_NO_MMAP, 0, 0, 0},
  };
  for (const Case& c : cases) {
    drm_panthor_bo_create a{};
    a.size = c.size;
    a.flags = c.flags;
    a.exclusive_vm_id = c.vm;
    a.pad = c.pad;
    size_t before = f().file().bo_handle_count();
    EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &a), c.ret) << c.what;
    if (c.ret == 0) {
      EXPECT_NE(a.handle, 0u) << c.what;
      EXPECT_EQ(f().file().bo_handle_count(), before + 1) << c.what;
    } else {
      EXPECT_EQ(f().file().bo_handle_count(), before) << c.what;
    }
  }
}

TEST_F(PanthorDev, BoCreateWritesBackThePageAlignedSize) {
  struct Case {
    uint64_t in, out;
  } cases[] = {
      {1, 4096}, {4095, 4096}, {4096, 4096}, {4097, 8192}, {(1u << 20) + 1, (1u << 20) + 4096}};
  for (const Case& c : cases) {
    drm_panthor_bo_create a{};
    a.size = c.in;
    ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &a), 0);
    EXPECT_EQ(a.size, c.out) << c.in;
    SimBoPtr bo = f().file().lookup_bo(a.handle);
    ASSERT_TRUE(bo);
    EXPECT_EQ(bo->size(), c.out);
    EXPECT_TRUE(bo->mmap_allowed);
    EXPECT_TRUE(bo->exportable);
    EXPECT_EQ(bo->exclusive_vm_id, 0u);
  }
}

TEST_F(PanthorDev, BoCreateNoMmapRecordsTheFlag) {
  uint32_t h = 0;
  ASSERT_EQ(create_bo(f(), 4096, &h, DRM_PANTHOR_BO_NO_MMAP), 0);
  SimBoPtr bo = f().file().lookup_bo(h);
  ASSERT_TRUE(bo);
  EXPECT_FALSE(bo->mmap_allowed);
  EXPECT_EQ(bo->create_flags, static_cast<uint32_t>(DRM_PANTHOR_BO_NO_MMAP));
}

// Creates a VM through VM_CREATE; 0 (with *ret set) if it fails.
uint32_t create_vm(SimDrmFile& f, int* ret) {
  drm_panthor_vm_create v{};
  *ret = f.ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &v);
  return *ret ? 0 : v.id;
}

TEST_F(PanthorDev, BoCreateExclusiveVm) {
  int r = 0;
  uint32_t vm = create_vm(f(), &r);
  if (r == -EOPNOTSUPP) GTEST_SKIP() << "VM_CREATE is not modelled in this tree yet";
  ASSERT_EQ(r, 0);
  drm_panthor_bo_create a{};
  a.size = 8192;
  a.exclusive_vm_id = vm;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &a), 0);
  SimBoPtr bo = f().file().lookup_bo(a.handle);
  ASSERT_TRUE(bo);
  EXPECT_EQ(bo->exclusive_vm_id, vm);
  EXPECT_EQ(bo->exclusive_file, &f().file());
  EXPECT_EQ(bo->exclusive_vm.lock(), f().file().lookup_vm(vm));
  EXPECT_FALSE(bo->exportable);

  // The id names a VM of this file only.
  auto other = open_model_file("panthor");
  ASSERT_TRUE(other);
  drm_panthor_bo_create b{};
  b.size = 4096;
  b.exclusive_vm_id = vm;
  EXPECT_EQ(other->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &b), -EINVAL);

  // Once the VM is gone its id is refused again.
  drm_panthor_vm_destroy d{};
  d.id = vm;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_VM_DESTROY, &d), 0);
  drm_panthor_bo_create c{};
  c.size = 4096;
  c.exclusive_vm_id = vm;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), -EINVAL);
}

// --- BO_MMAP_OFFSET ----------------------------------------------------

TEST_F(PanthorDev, BoMmapOffsetValidation) {
  uint32_t h = 0;
  ASSERT_EQ(create_bo(f(), 4096, &h), 0);
  struct Case {
    const char* what;
    uint32_t handle, pad;
    int ret;
  } cases[] = {
      {"pad", h, 1, -EINVAL},
      {"pad before handle", 9999, 1, -EINVAL},
      {"handle 0", 0, 0, -ENOENT},
      {"unknown handle", 9999, 0, -ENOENT},
      {"ok", h, 0, 0},
  };
  for (const Case& c : cases) {
    drm_panthor_bo_mmap_offset m{};
    m.handle = c.handle;
    m.pad = c.pad;
    EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), c.ret) << c.what;
  }
}

TEST_F(PanthorDev, BoMmapOffsetsArePageAlignedFakeOffsets) {
  uint32_t a = 0, b = 0;
  ASSERT_EQ(create_bo(f(), 3 * 4096, &a), 0);
  ASSERT_EQ(create_bo(f(), 4096, &b), 0);
  uint64_t oa = 0, ob = 0, oa2 = 0;
  ASSERT_EQ(mmap_offset(f(), a, &oa), 0);
  ASSERT_EQ(mmap_offset(f(), b, &ob), 0);
  ASSERT_EQ(mmap_offset(f(), a, &oa2), 0);
  EXPECT_EQ(oa, oa2);  // stable
  EXPECT_NE(oa, ob);
  EXPECT_EQ(oa % 4096, 0u);
  EXPECT_EQ(ob % 4096, 0u);
  EXPECT_GE(oa, 1ull << 32);  // above 4 GiB, as DRM's offsets are
  // Non-overlapping offset ranges.
  EXPECT_TRUE(ob >= oa + 3 * 4096 || oa >= ob + 4096);
}

TEST_F(PanthorDev, NoMmapBoHasAnOffsetButCannotBeMapped) {
  uint32_t h = 0;
  ASSERT_EQ(create_bo(f(), 4096, &h, DRM_PANTHOR_BO_NO_MMAP), 0);
  uint64_t off = 0;
  ASSERT_EQ(mmap_offset(f(), h, &off), 0);
  auto p = f().mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, off);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error(), -EINVAL);
}

// --- BO_SET_LABEL ------------------------------------------------------

int set_label(SimDrmFile& f, uint32_t handle, const void* label, uint32_t pad = 0) {
  if (is_panthor(f)) {
    drm_panthor_bo_set_label l{};
    l.handle = handle;
    l.pad = pad;
    l.label = reinterpret_cast<uintptr_t>(label);
    return f.ioctl(DRM_IOCTL_PANTHOR_BO_SET_LABEL, &l);
  }
  drm_panfrost_set_label_bo l{};
  l.handle = handle;
  l.pad = pad;
  l.label = reinterpret_cast<uintptr_t>(label);
  return f.ioctl(DRM_IOCTL_PANFROST_SET_LABEL_BO, &l);
}

class SetLabel : public ::testing::TestWithParam<const char*> {};

TEST_P(SetLabel, Validation) {
  auto f = open_model_file(GetParam());
  ASSERT_TRUE(f);
  uint32_t h = 0;
  ASSERT_EQ(create_bo(*f, 4096, &h, is_panthor(*f) ? 0 : PANFROST_BO_NOEXEC), 0);
  SimBoPtr bo = f->file().lookup_bo(h);
  ASSERT_TRUE(bo);
  SimDevice* dev = f->file().device();
  GuardedBuffer g;

  std::string max(4095, 'm');       // 4095 characters + NUL = 4096 bytes: fits
  std::string too_long(4096, 'x');  // no NUL within 4096 bytes

  EXPECT_EQ(set_label(*f, h, "first"), 0);
  EXPECT_EQ(dev->bo_label(*bo), "first");
  EXPECT_EQ(set_label(*f, h, "second", 1), -EINVAL) << "pad";
  EXPECT_EQ(set_label(*f, 9999, "second", 1), -EINVAL) << "pad is checked before the handle";
  EXPECT_EQ(set_label(*f, 9999, "second"), -ENOENT);
  EXPECT_EQ(set_label(*f, 0, "second"), -ENOENT);
  EXPECT_EQ(set_label(*f, 9999, g.guard()), -ENOENT) << "the handle is checked before the string";
  EXPECT_EQ(set_label(*f, h, g.guard()), -EFAULT);
  EXPECT_EQ(set_label(*f, h, too_long.c_str()), -E2BIG);
  EXPECT_EQ(dev->bo_label(*bo), "first") << "failed calls leave the label alone";
  EXPECT_EQ(set_label(*f, h, max.c_str()), 0);
  EXPECT_EQ(dev->bo_label(*bo), max);
  EXPECT_EQ(set_label(*f, h, nullptr), 0) << "pointer 0 clears";
  EXPECT_EQ(dev->bo_label(*bo), "");

  // A string whose NUL is the last byte before an unmapped page is fine; one
  // that runs into the page is -EFAULT.
  uint8_t* s = g.tail(6);
  std::memcpy(s, "edge!", 6);
  EXPECT_EQ(set_label(*f, h, s), 0);
  EXPECT_EQ(dev->bo_label(*bo), "edge!");
  s[5] = '?';
  EXPECT_EQ(set_label(*f, h, s), -EFAULT);
  EXPECT_EQ(dev->bo_label(*bo), "edge!");
}

INSTANTIATE_TEST_SUITE_P(Drivers, SetLabel, ::testing::Values("panthor", "panfrost"));

// --- SET_USER_MMIO_OFFSET ----------------------------------------------

TEST_F(PanthorDev, SetUserMmioOffset) {
  EXPECT_EQ(f().file().user_mmio_offset.load(), DRM_PANTHOR_USER_MMIO_OFFSET_64BIT);
  struct Case {
    uint64_t offset;
    int ret;
  } cases[] = {
      {0, -EINVAL},
      {1ull << 44, -EINVAL},
      {(1ull << 43) + 4096, -EINVAL},
      {~0ull, -EINVAL},
      {DRM_PANTHOR_USER_MMIO_OFFSET_32BIT, 0},
      {DRM_PANTHOR_USER_MMIO_OFFSET_64BIT, 0},
  };
  for (const Case& c : cases) {
    drm_panthor_set_user_mmio_offset s{};
    s.offset = c.offset;
    EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, &s), c.ret) << std::hex << c.offset;
  }
  drm_panthor_set_user_mmio_offset s{};
  s.offset = DRM_PANTHOR_USER_MMIO_OFFSET_32BIT;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, &s), 0);
  EXPECT_EQ(f().file().user_mmio_offset.load(), DRM_PANTHOR_USER_MMIO_OFFSET_32BIT);
  s.offset = 12345;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, &s), -EINVAL);
  EXPECT_EQ(f().file().user_mmio_offset.load(), DRM_PANTHOR_USER_MMIO_OFFSET_32BIT);
  // Per file.
  auto other = open_model_file("panthor");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->file().user_mmio_offset.load(), DRM_PANTHOR_USER_MMIO_OFFSET_64BIT);
}

}  // namespace
