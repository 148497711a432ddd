// panfrost GET_PARAM, CREATE_BO, MMAP_BO, GET_BO_OFFSET at the ioctl
// boundary, and the per-file GPU address space the kernel manages for
// panfrost: [32 MiB, 4 GiB), alignment rules, reuse after GEM_CLOSE.
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dev_test_util.h"
#include "winsys/sim/vm.h"

using namespace wsys::sim;
using namespace wsys::sim::devtest;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kVaStart = 32 * MiB;
constexpr uint64_t kVaEnd = 4 * GiB;

class Panfrost : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = open_model_file("panfrost");
    ASSERT_TRUE(f_);
  }
  SimDrmFile& f() { return *f_; }
  const GpuIdentity& gpu() { return f_->file().device()->gpu(); }

  // Creates a BO; skips the test if the VM implementation is not there yet.
  uint32_t create(uint64_t size, uint32_t flags, uint64_t* va, int* ret = nullptr) {
    uint32_t h = 0;
    int r = create_bo(f(), size, &h, flags, nullptr, va);
    if (ret) *ret = r;
    return r ? 0 : h;
  }
  std::unique_ptr<SimDrmFile> f_;
};

bool vm_modelled() {
  auto f = open_model_file("panfrost");
  if (!f) return false;
  uint32_t h = 0;
  return create_bo(*f, 4096, &h, PANFROST_BO_NOEXEC) != -EOPNOTSUPP;
}

#define REQUIRE_VM()                                                                 \
  do {                                                                               \
    if (!vm_modelled()) GTEST_SKIP() << "SimVm is not implemented in this tree yet"; \
  } while (0)

// --- GET_PARAM ---------------------------------------------------------

int get_param(SimDrmFile& f, uint32_t param, uint64_t* value, uint32_t pad = 0) {
  drm_panfrost_get_param p{};
  p.param = param;
  p.pad = pad;
  p.value = 0xdeadbeef;
  int r = f.ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &p);
  *value = p.value;
  return r;
}

TEST_F(Panfrost, GetParamReportsEveryParameter) {
  const GpuIdentity& g = gpu();
  std::vector<uint64_t> want(WSYS_PANFROST_PARAM_COUNT, ~0ull);
  want[DRM_PANFROST_PARAM_GPU_PROD_ID] = g.gpu_id >> 16;
  want[DRM_PANFROST_PARAM_GPU_REVISION] = g.gpu_id & 0xffff;
  want[DRM_PANFROST_PARAM_SHADER_PRESENT] = g.shader_present;
  want[DRM_PANFROST_PARAM_TILER_PRESENT] = g.tiler_present;
  want[DRM_PANFROST_PARAM_L2_PRESENT] = g.l2_present;
  want[DRM_PANFROST_PARAM_STACK_PRESENT] = g.stack_present;
  want[DRM_PANFROST_PARAM_AS_PRESENT] = g.as_present;
  want[DRM_PANFROST_PARAM_JS_PRESENT] = g.js_present;
  want[DRM_PANFROST_PARAM_L2_FEATURES] = g.l2_features;
  want[DRM_PANFROST_PARAM_CORE_FEATURES] = g.core_features;
  want[DRM_PANFROST_PARAM_TILER_FEATURES] = g.tiler_features;
  want[DRM_PANFROST_PARAM_MEM_FEATURES] = g.mem_features;
  want[DRM_PANFROST_PARAM_MMU_FEATURES] = g.mmu_features;
  want[DRM_PANFROST_PARAM_THREAD_FEATURES] = g.thread_features;
  want[DRM_PANFROST_PARAM_MAX_THREADS] = g.max_threads;
  want[DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ] = g.thread_max_workgroup_size;
  want[DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ] = g.thread_max_barrier_size;
  want[DRM_PANFROST_PARAM_COHERENCY_FEATURES] = g.coherency_features;
  for (int i = 0; i < 4; i++)
    want[DRM_PANFROST_PARAM_TEXTURE_FEATURES0 + i] = g.texture_features[i];
  for (int i = 0; i < 16; i++) want[DRM_PANFROST_PARAM_JS_FEATURES0 + i] = g.js_features[i];
  want[DRM_PANFROST_PARAM_NR_CORE_GROUPS] = g.nr_core_groups;
  want[DRM_PANFROST_PARAM_THREAD_TLS_ALLOC] = g.thread_tls_alloc;
  want[DRM_PANFROST_PARAM_AFBC_FEATURES] = g.afbc_features;
  want[DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY] = g.timestamp_frequency;
  want[DRM_PANFROST_PARAM_SELECTED_COHERENCY] = DRM_PANFROST_GPU_COHERENCY_ACE_LITE;
  for (uint32_t p = 0; p < WSYS_PANFROST_PARAM_COUNT; p++) {
    uint64_t v = 0;
    ASSERT_EQ(get_param(f(), p, &v), 0) << "param " << p;
    if (p == DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP) continue;
    if (p == DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES) {  // LOW, MEDIUM (+ HIGH with CAP_SYS_NICE)
      EXPECT_EQ(v & 3u, 3u);
      EXPECT_EQ(v & ~7ull, 0u);
      continue;
    }
    ASSERT_NE(want[p], ~0ull) << "param " << p << " has no expectation";
    EXPECT_EQ(v, want[p]) << "param " << p;
  }
}

TEST_F(Panfrost, GetParamValidation) {
  uint64_t v = 0;
  EXPECT_EQ(get_param(f(), DRM_PANFROST_PARAM_GPU_PROD_ID, &v, 1), -EINVAL) << "pad";
  EXPECT_EQ(get_param(f(), WSYS_PANFROST_PARAM_COUNT, &v), -EINVAL) << "past 1.6's last";
  EXPECT_EQ(get_param(f(), 45, &v), -EINVAL);
  EXPECT_EQ(get_param(f(), 1000, &v), -EINVAL);
  EXPECT_EQ(get_param(f(), 0xffffffffu, &v), -EINVAL);
  ASSERT_EQ(get_param(f(), DRM_PANFROST_PARAM_GPU_PROD_ID, &v), 0);
  EXPECT_EQ(v, gpu().product_id());
  EXPECT_LT(gpu().arch_major(), 10u) << "panfrost drives Job Manager GPUs";
}

TEST_F(Panfrost, SystemTimestampIsTheMonotonicClockInTicks) {
  uint64_t hz = 0, ts = 0;
  ASSERT_EQ(get_param(f(), DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY, &hz), 0);
  ASSERT_EQ(hz, 24000000u);
  timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ASSERT_EQ(get_param(f(), DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP, &ts), 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  auto ticks = [hz](const timespec& t) {
    return static_cast<uint64_t>(t.tv_sec) * hz +
           static_cast<uint64_t>(t.tv_nsec) * hz / 1000000000ull;
  };
  EXPECT_GE(ts, ticks(a));
  EXPECT_LE(ts, ticks(b));
}

// --- CREATE_BO ---------------------------------------------------------

TEST_F(Panfrost, CreateBoValidation) {
  struct Case {
    const char* what;
    uint32_t size, flags, pad;
    int ret;
  } cases[] = {
      {"size 0", 0, 0, 0, -EINVAL},
      {"pad", 4096, 0, 1, -EINVAL},
      {"WB_MMAP with HEAP", 4096, PANFROST_BO_WB_MMAP | PANFROST_BO_HEAP | PANFROST_BO_NOEXEC, 0,
       -EINVAL},
      {"unknown flag", 4096, 1u << 3, 0, -EINVAL},
      {"HEAP without NOEXEC", 4096, PANFROST_BO_HEAP, 0, -EINVAL},
      {"HEAP without NOEXEC, size 0", 0, PANFROST_BO_HEAP, 0, -EINVAL},
      // Valid HEAP objects: tests/sim/exec (heap growth on GPU fault).
  };
  for (const Case& c : cases) {
    drm_panfrost_create_bo a{};
    a.size = c.size;
    a.flags = c.flags;
    a.pad = c.pad;
    EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &a), c.ret) << c.what;
    EXPECT_EQ(f().file().bo_handle_count(), 0u) << c.what;
  }
}

TEST_F(Panfrost, CreateBoPageAlignsAndReturnsAVa) {
  REQUIRE_VM();
  struct Case {
    uint32_t in;
    uint64_t out;
    uint32_t flags;
  } cases[] = {{1, 4096, 0},
               {4097, 8192, PANFROST_BO_NOEXEC},
               {3 * 4096, 3 * 4096, 0},
               {0xfffff001u, 4 * GiB, PANFROST_BO_NOEXEC}};
  for (const Case& c : cases) {
    drm_panfrost_create_bo a{};
    a.size = c.in;
    a.flags = c.flags;
    int r = f().ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &a);
    if (c.out >= 4 * GiB) {
      // Larger than the whole address space: the object is made, the VA
      // allocation fails, and no handle is left behind.
      EXPECT_EQ(r, -ENOSPC);
      continue;
    }
    ASSERT_EQ(r, 0) << c.in;
    SimBoPtr bo = f().file().lookup_bo(a.handle);
    ASSERT_TRUE(bo);
    EXPECT_EQ(bo->size(), c.out);
    EXPECT_NE(a.offset, 0u);
    EXPECT_EQ(bo->create_flags, c.flags);
    uint64_t va = 0;
    ASSERT_EQ(bo_gpu_va(f(), a.handle, &va), 0);
    EXPECT_EQ(va, a.offset);
  }
  EXPECT_EQ(f().file().bo_handle_count(), 3u);
}

// --- MMAP_BO and GET_BO_OFFSET -----------------------------------------

TEST_F(Panfrost, MmapBoValidation) {
  REQUIRE_VM();
  uint64_t va = 0;
  uint32_t h = create(4096, PANFROST_BO_NOEXEC, &va);
  ASSERT_NE(h, 0u);
  struct Case {
    const char* what;
    uint32_t handle, flags;
    int ret;
  } cases[] = {
      {"flags", h, 1, -EINVAL},
      {"flags before handle", 9999, 1, -EINVAL},
      {"handle 0", 0, 0, -ENOENT},
      {"unknown handle", 9999, 0, -ENOENT},
      {"ok", h, 0, 0},
  };
  for (const Case& c : cases) {
    drm_panfrost_mmap_bo m{};
    m.handle = c.handle;
    m.flags = c.flags;
    EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m), c.ret) << c.what;
    if (c.ret == 0) {
      EXPECT_EQ(m.offset % 4096, 0u);
      EXPECT_GE(m.offset, 1ull << 32);
    }
  }
}

TEST_F(Panfrost, GetBoOffsetValidation) {
  REQUIRE_VM();
  uint64_t va = 0;
  uint32_t h = create(4096, 0, &va);
  ASSERT_NE(h, 0u);
  uint64_t got = 0;
  EXPECT_EQ(bo_gpu_va(f(), 0, &got), -ENOENT);
  EXPECT_EQ(bo_gpu_va(f(), 9999, &got), -ENOENT);
  ASSERT_EQ(bo_gpu_va(f(), h, &got), 0);
  EXPECT_EQ(got, va);
  // The kernel does not check this pad; neither does the model.
  drm_panfrost_get_bo_offset g{};
  g.handle = h;
  g.pad = 7;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &g), 0);
  EXPECT_EQ(g.offset, va);
}

// --- The per-file address space ------------------------------------------

struct Placed {
  uint64_t va, size;
  bool exec;
};

void check_rules(const std::vector<Placed>& all) {
  for (size_t i = 0; i < all.size(); i++) {
    const Placed& p = all[i];
    EXPECT_NE(p.va, 0u);
    EXPECT_GE(p.va, kVaStart) << i;
    EXPECT_LE(p.va + p.size, kVaEnd) << i;
    EXPECT_EQ(p.va % 4096, 0u) << i;
    if (p.exec) {
      EXPECT_EQ(p.va % p.size, 0u) << "executable BO " << i << " not aligned to its size";
      EXPECT_NE(p.va + p.size, kVaEnd) << "executable BO " << i << " ends on 4 GiB";
    } else if (p.size >= 2 * MiB) {
      EXPECT_EQ(p.va % (2 * MiB), 0u) << "no-exec BO " << i << " >= 2 MiB not 2 MiB-aligned";
    }
    for (size_t j = 0; j < i; j++) {
      const Placed& q = all[j];
      EXPECT_TRUE(p.va + p.size <= q.va || q.va + q.size <= p.va)
          << "BOs " << i << " and " << j << " overlap";
    }
  }
}

TEST_F(Panfrost, VaRules) {
  REQUIRE_VM();
  struct Req {
    uint64_t size;
    uint32_t flags;
  } reqs[] = {
      {5 * 4096, 0},  // executable: aligned to 20 KiB
      {3 * 4096, 0},  // executable: aligned to 12 KiB, not to a power of two
      {4096, PANFROST_BO_NOEXEC},
      {4096, 0},
      {2 * MiB, PANFROST_BO_NOEXEC},
      {3 * MiB + 4096, PANFROST_BO_NOEXEC},
      {8192, PANFROST_BO_NOEXEC},
      {1 * MiB, 0},
      {6 * MiB, 0},
      {12288, PANFROST_BO_NOEXEC},
      {5 * MiB, PANFROST_BO_NOEXEC},
      {7 * 4096, 0},
  };
  std::vector<Placed> all;
  for (const Req& r : reqs) {
    uint64_t va = 0;
    int ret = 0;
    uint32_t h = create(r.size, r.flags, &va, &ret);
    ASSERT_EQ(ret, 0);
    ASSERT_NE(h, 0u);
    all.push_back({va, r.size, !(r.flags & PANFROST_BO_NOEXEC)});
  }
  check_rules(all);
  // First fit in a fresh file: the 20 KiB executable BO at the first
  // multiple of 20 KiB from 32 MiB, the 12 KiB one at the first multiple of
  // 12 KiB after it (a power-of-two alignment would give 32 MiB + 32 KiB),
  // and the small no-exec BO in the gap left at 32 MiB.
  EXPECT_EQ(all[0].va, (kVaStart + 20479) / 20480 * 20480);
  EXPECT_EQ(all[0].va, kVaStart + 12 * 1024);
  EXPECT_EQ(all[1].va, (all[0].va + 20480 + 12287) / 12288 * 12288);
  EXPECT_EQ(all[1].va, kVaStart + 40 * 1024);
  EXPECT_EQ(all[2].va, kVaStart);
}

TEST_F(Panfrost, VaIsReusedAfterGemClose) {
  REQUIRE_VM();
  uint64_t va1 = 0, va2 = 0, va3 = 0;
  uint32_t a = create(64 * 4096, PANFROST_BO_NOEXEC, &va1);
  uint32_t b = create(4096, PANFROST_BO_NOEXEC, &va2);
  ASSERT_TRUE(a && b);
  EXPECT_NE(va1, va2);
  ASSERT_EQ(gem_close(f(), a), 0);
  // The freed range is handed out again (and merges with its neighbours).
  uint32_t c = create(64 * 4096, PANFROST_BO_NOEXEC, &va3);
  ASSERT_NE(c, 0u);
  EXPECT_EQ(va3, va1);
  ASSERT_EQ(gem_close(f(), b), 0);
  ASSERT_EQ(gem_close(f(), c), 0);
  uint64_t va4 = 0;
  ASSERT_NE(create(66 * 4096, PANFROST_BO_NOEXEC, &va4), 0u);
  EXPECT_EQ(va4, kVaStart);
}

TEST_F(Panfrost, GemCloseUnmapsAndFreesTheObject) {
  REQUIRE_VM();
  SimDevice* dev = f().file().device();
  uint64_t live = dev->live_bos();
  uint64_t va = 0;
  uint32_t h = create(8192, PANFROST_BO_NOEXEC, &va);
  ASSERT_NE(h, 0u);
  EXPECT_EQ(dev->live_bos(), live + 1);
  ASSERT_EQ(gem_close(f(), h), 0);
  // The VM mapping held a reference; unmapping on close released it.
  EXPECT_EQ(dev->live_bos(), live);
  EXPECT_EQ(bo_gpu_va(f(), h, &va), -ENOENT);
}

TEST_F(Panfrost, TheGpuSeesTheBoAtItsVa) {
  REQUIRE_VM();
  uint64_t va = 0;
  uint32_t h = create(2 * 4096, PANFROST_BO_NOEXEC, &va);
  ASSERT_NE(h, 0u);
  uint64_t off = 0;
  ASSERT_EQ(mmap_offset(f(), h, &off), 0);
  auto p = f().mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, off);
  ASSERT_TRUE(p.ok());
  auto* cpu = static_cast<uint32_t*>(*p);
  for (uint32_t i = 0; i < 2048; i++) cpu[i] = i * 2654435761u;
  SimVmPtr vm = f().file().panfrost_vm();
  ASSERT_TRUE(vm);
  const uint32_t* gpu = reinterpret_cast<const uint32_t*>(vm->gpu_view(va));
  ASSERT_NE(gpu, nullptr);
  for (uint32_t i = 0; i < 2048; i++) ASSERT_EQ(gpu[i], i * 2654435761u) << i;
  EXPECT_EQ(f().munmap(*p, 2 * 4096), 0);
}

TEST_F(Panfrost, NoRoomIsEnospcAndLeavesNoHandle) {
  REQUIRE_VM();
  // One no-exec object fills [32 MiB, 4 GiB - 8 MiB). The memfd is sparse.
  uint64_t va = 0;
  ASSERT_NE(create(4 * GiB - 40 * MiB, PANFROST_BO_NOEXEC, &va), 0u);
  EXPECT_EQ(va, kVaStart);
  size_t handles = f().file().bo_handle_count();
  int r = 0;
  // 8 MiB left, but all of it within 16 MiB of 4 GiB: no executable BO fits.
  create(4096, 0, &va, &r);
  EXPECT_EQ(r, -ENOSPC);
  create(8 * MiB + 4096, PANFROST_BO_NOEXEC, &va, &r);
  EXPECT_EQ(r, -ENOSPC);
  EXPECT_EQ(f().file().bo_handle_count(), handles);
  // A no-exec BO still fits, right after the big one.
  ASSERT_NE(create(4096, PANFROST_BO_NOEXEC, &va, &r), 0u);
  EXPECT_EQ(va, 4 * GiB - 8 * MiB);
}

TEST_F(Panfrost, ExecutableBosAvoidTheTopOf4GiB) {
  REQUIRE_VM();
  uint64_t va = 0;
  // Leaves the hole [4 GiB - 32 MiB, 4 GiB).
  ASSERT_NE(create(4 * GiB - 64 * MiB, PANFROST_BO_NOEXEC, &va), 0u);
  int r = 0;
  // A 32 MiB executable BO would have to end exactly at 4 GiB.
  create(32 * MiB, 0, &va, &r);
  EXPECT_EQ(r, -ENOSPC);
  // 8 MiB executable: aligned to 8 MiB, inside the hole.
  ASSERT_NE(create(8 * MiB, 0, &va, &r), 0u);
  EXPECT_EQ(va, 4 * GiB - 32 * MiB);
  // The rest of the hole starts 24 MiB below 4 GiB: a 16 MiB executable BO
  // aligned to 16 MiB would start at 4 GiB - 16 MiB and end at 4 GiB: no.
  create(16 * MiB, 0, &va, &r);
  EXPECT_EQ(r, -ENOSPC);
  // A no-exec 16 MiB BO is fine there (2 MiB-aligned).
  ASSERT_NE(create(16 * MiB, PANFROST_BO_NOEXEC, &va, &r), 0u);
  EXPECT_EQ(va, 4 * GiB - 24 * MiB);
}

TEST_F(Panfrost, EachFileHasItsOwnAddressSpace) {
  REQUIRE_VM();
  auto g = open_model_file("panfrost");
  ASSERT_TRUE(g);
  uint64_t va_f = 0;
  uint32_t h = create(4096, PANFROST_BO_NOEXEC, &va_f);
  ASSERT_NE(h, 0u);
  uint32_t hg = 0;
  uint64_t va_g = 0;
  ASSERT_EQ(create_bo(*g, 3 * 4096, &hg, PANFROST_BO_NOEXEC, nullptr, &va_g), 0);
  EXPECT_EQ(va_f, kVaStart);
  EXPECT_EQ(va_g, kVaStart);  // same VA, different address space

  // Importing f's BO into g maps it into g's space at a VA of g's choosing.
  auto fd = f().prime_handle_to_fd(h, DRM_CLOEXEC | DRM_RDWR);
  ASSERT_TRUE(fd.ok());
  auto imported = g->prime_fd_to_handle(*fd);
  close(*fd);
  ASSERT_TRUE(imported.ok());
  uint64_t va_gi = 0;
  ASSERT_EQ(bo_gpu_va(*g, *imported, &va_gi), 0);
  EXPECT_EQ(va_gi, kVaStart + 3 * 4096);

  // Both GPU views show the same memory.
  SimVmPtr vf = f().file().panfrost_vm(), vg = g->file().panfrost_vm();
  ASSERT_TRUE(vf && vg);
  std::memcpy(vf->gpu_view(va_f), "shared!", 8);
  EXPECT_STREQ(reinterpret_cast<const char*>(vg->gpu_view(va_gi)), "shared!");
}

TEST_F(Panfrost, ImportsFromAnotherDeviceAreNoExec) {
  REQUIRE_VM();
  // A 12 KiB buffer of the panthor model: as no-exec it lands at the start
  // of a fresh address space; an executable one would be 12 KiB-aligned.
  auto pt = open_model_file("panthor");
  ASSERT_TRUE(pt);
  uint32_t src = 0;
  ASSERT_EQ(create_bo(*pt, 3 * 4096, &src), 0);
  auto fd = pt->prime_handle_to_fd(src, DRM_CLOEXEC);
  ASSERT_TRUE(fd.ok());
  auto h = f().prime_fd_to_handle(*fd);
  close(*fd);
  ASSERT_TRUE(h.ok()) << h.error();
  uint64_t va = 0;
  ASSERT_EQ(bo_gpu_va(f(), *h, &va), 0);
  EXPECT_EQ(va, kVaStart);
  EXPECT_NE(kVaStart % (3 * 4096), 0u);
}

}  // namespace
