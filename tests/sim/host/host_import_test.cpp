// HOST_IMPORT, a model extension (drm-uapi/wsys_sim_ext.h; in no released
// kernel), at the ioctl boundary: what the application's range and the GPU
// see at each step, the errnos, pinning and invalidation.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "csf/csf_test_util.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/host_import.h"

namespace wsys::sim {
namespace {

using namespace csftest;

constexpr uint64_t kSize = 64 * 1024;
constexpr uint64_t kHostVa = 0x4000000;

int host_import(SimDrmFile& f, void* p, uint64_t size, uint32_t mode, uint32_t* handle) {
  drm_wsys_host_import a{};
  a.user_ptr = reinterpret_cast<uintptr_t>(p);
  a.size = size;
  a.mode = mode;
  int r = f.ioctl(DRM_IOCTL_WSYS_HOST_IMPORT, &a);
  if (r == 0 && handle) *handle = a.handle;
  return r;
}

drm_wsys_host_bo_state host_state(SimDrmFile& f, uint32_t h) {
  drm_wsys_host_bo_state s{};
  s.handle = h;
  EXPECT_EQ(f.ioctl(DRM_IOCTL_WSYS_HOST_BO_STATE, &s), 0);
  return s;
}

uint8_t* anon(uint64_t size, int flags = MAP_PRIVATE) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

void fill(uint8_t* p, uint64_t size, uint8_t seed) {
  for (uint64_t i = 0; i < size; i++) p[i] = static_cast<uint8_t>(seed + i * 7);
}
bool has_pattern(const uint8_t* p, uint64_t size, uint8_t seed) {
  for (uint64_t i = 0; i < size; i++)
    if (p[i] != static_cast<uint8_t>(seed + i * 7)) return false;
  return true;
}
bool all_zero(const uint8_t* p, uint64_t size) {
  for (uint64_t i = 0; i < size; i++)
    if (p[i]) return false;
  return true;
}

class HostImport : public CsfFixture {
 public:
  // Runs one job storing `v` at `va`; returns the fence's error (0 or -EFAULT).
  int gpu_write32(uint64_t va, uint32_t v) {
    uint32_t g = make_group();
    Stream s;
    s.write32(va, v);
    uint32_t n = s.store(*vm, stream_va(0));
    uint32_t sync = syncobj_create(*f);
    EXPECT_EQ(submit1(*f, g, job(0, stream_va(0), n, {signal_sync(sync)})), 0);
    EXPECT_EQ(syncobj_wait(*f, sync, 0), 0);
    return syncobj_error(*f, sync);
  }
};

TEST(HostImportQuery, BothDriversAnswerExtQueryWithTheHostBit) {
  for (const char* drv : {"panthor", "panfrost"}) {
    auto f = test::open_model_file(drv);
    ASSERT_TRUE(f);
    drm_wsys_sim_ext_query q{};
    ASSERT_EQ(f->ioctl(DRM_IOCTL_WSYS_SIM_EXT_QUERY, &q), 0) << drv;
    EXPECT_EQ(q.version, 1u);
    EXPECT_TRUE(q.features & WSYS_SIM_EXT_FEATURE_HOST_IMPORT) << drv;
  }
}

TEST_F(HostImport, StealLoseMovesPagesAndLeavesTheRangeZero) {
  uint8_t* p = anon(kSize);
  fill(p, kSize, 3);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, &h), 0);
  EXPECT_TRUE(all_zero(p, kSize));  // still mapped, emptied
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  EXPECT_TRUE(has_pattern(vm->gpu_view(kHostVa), kSize, 3));
  EXPECT_EQ(gpu_write32(kHostVa, 0xfeedf00d), 0);
  EXPECT_EQ(u32_at(kHostVa), 0xfeedf00du);
  EXPECT_TRUE(all_zero(p, kSize));  // never the GPU's writes
  // Unmapping moves the pages home, mapping elsewhere brings them back.
  ASSERT_EQ(unmap_sync(*f, vm_id, kHostVa, kSize), 0);
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa + kSize, kSize), 0);
  EXPECT_EQ(u32_at(kHostVa + kSize), 0xfeedf00du);
  EXPECT_TRUE(has_pattern(vm->gpu_view(kHostVa + kSize) + 4, kSize - 4, 3 + 28));
  EXPECT_EQ(host_state(*f, h).mode, WSYS_HOST_IMPORT_STEAL_LOSE);
  EXPECT_EQ(gem_close(*f, h), 0);
  munmap(p, kSize);
}

TEST_F(HostImport, StealKeepLeavesTheOldContentsAndNeverTheGpusWrites) {
  uint8_t* p = anon(kSize);
  fill(p, kSize, 9);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_KEEP, &h), 0);
  EXPECT_TRUE(has_pattern(p, kSize, 9));
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  EXPECT_TRUE(has_pattern(vm->gpu_view(kHostVa), kSize, 9));
  EXPECT_EQ(gpu_write32(kHostVa, 0x12345678), 0);
  EXPECT_EQ(u32_at(kHostVa), 0x12345678u);
  EXPECT_TRUE(has_pattern(p, kSize, 9));
  p[0] = 0xaa;  // and the application's writes stay its own
  EXPECT_EQ(u32_at(kHostVa), 0x12345678u);
  EXPECT_EQ(gem_close(*f, h), 0);
  munmap(p, kSize);
}

TEST_F(HostImport, ForkChildSeesItsCopyOnWritePageNotTheGpusWrites) {
  uint8_t* p = anon(kSize);
  fill(p, kSize, 5);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_KEEP, &h), 0);
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char go;
    (void)!read(pipefd[0], &go, 1);  // after the GPU wrote
    _exit(has_pattern(p, kSize, 5) ? 0 : 1);
  }
  EXPECT_EQ(gpu_write32(kHostVa, 0xdeadbeef), 0);
  std::memset(p, 0x55, 64);  // the parent's write: the child keeps its copy
  (void)!write(pipefd[1], "g", 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(pipefd[0]);
  close(pipefd[1]);
  EXPECT_EQ(gem_close(*f, h), 0);
  munmap(p, kSize);
}

TEST_F(HostImport, StealRefusesWhatItCannotMoveWithTheKernelsErrnos) {
  uint8_t* shared = anon(kSize, MAP_SHARED);
  EXPECT_EQ(host_import(*f, shared, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, nullptr), -EINVAL);
  uint8_t* p = anon(kSize);
  EXPECT_EQ(host_import(*f, p + 1, kSize - 4096, WSYS_HOST_IMPORT_STEAL_LOSE, nullptr), -EINVAL);
  EXPECT_EQ(host_import(*f, p, kSize - 1, WSYS_HOST_IMPORT_STEAL_LOSE, nullptr), -EINVAL);
  EXPECT_EQ(host_import(*f, p, 0, WSYS_HOST_IMPORT_STEAL_LOSE, nullptr), -EINVAL);
  EXPECT_EQ(host_import(*f, p, kSize, 99, nullptr), -EINVAL);
  drm_wsys_host_import a{};
  a.user_ptr = reinterpret_cast<uintptr_t>(p);
  a.size = kSize;
  a.mode = WSYS_HOST_IMPORT_STEAL_LOSE;
  a.flags = 1;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_WSYS_HOST_IMPORT, &a), -EINVAL);
  munmap(p + kSize / 2, kSize / 2);  // half unmapped
  EXPECT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, nullptr), -EFAULT);
  munmap(p, kSize / 2);
  munmap(shared, kSize);
}

TEST_F(HostImport, StolenObjectsRefuseExportMmapAndASecondMapping) {
  uint8_t* p = anon(kSize);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, &h), 0);
  drm_prime_handle ph{};
  ph.handle = h;
  ph.flags = DRM_CLOEXEC;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph), -EPERM);
  drm_panthor_bo_mmap_offset m{};
  m.handle = h;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), 0);
  EXPECT_FALSE(f->mmap(nullptr, kSize, PROT_READ, MAP_SHARED, m.offset).ok());
  EXPECT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize / 2), -EINVAL);  // whole object only
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  EXPECT_EQ(map_sync(*f, vm_id, h, 0, kHostVa + kSize, kSize), -EBUSY);
  EXPECT_EQ(gem_close(*f, h), 0);
  munmap(p, kSize);
}

// A shared mapping of a memfd: the object and the range share pages.
struct Memfd {
  int fd = -1;
  uint8_t* p = nullptr;
  explicit Memfd(uint64_t size) {
    fd = memfd_create("host-import-test", MFD_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
    void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_NE(m, MAP_FAILED);
    p = static_cast<uint8_t*>(m);
  }
};

TEST_F(HostImport, BackedMemfdSharesPagesBothWays) {
  Memfd m(2 * kSize);
  fill(m.p, 2 * kSize, 1);
  uint32_t h = 0;
  // From the second half: a non-zero file offset.
  ASSERT_EQ(host_import(*f, m.p + kSize, kSize, WSYS_HOST_IMPORT_BACKED, &h), 0);
  EXPECT_EQ(host_state(*f, h).pinned_bytes, kSize);
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  EXPECT_EQ(std::memcmp(vm->gpu_view(kHostVa), m.p + kSize, kSize), 0);
  EXPECT_EQ(gpu_write32(kHostVa + 8, 0xcafe0001), 0);
  uint32_t seen;
  std::memcpy(&seen, m.p + kSize + 8, 4);
  EXPECT_EQ(seen, 0xcafe0001u);
  m.p[kSize + 16] = 0x77;
  EXPECT_EQ(vm->gpu_view(kHostVa)[16], 0x77);
  drm_prime_handle ph{};
  ph.handle = h;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph), -EPERM);
  ASSERT_EQ(unmap_sync(*f, vm_id, kHostVa, kSize), 0);
  EXPECT_EQ(gem_close(*f, h), 0);
  EXPECT_EQ(host_import_pinned_bytes(), 0u);
  munmap(m.p, 2 * kSize);
  close(m.fd);
}

TEST_F(HostImport, BackedAcceptsSharedAnonymousAndRefusesPrivateOrReadOnly) {
  uint8_t* s = anon(kSize, MAP_SHARED);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, s, kSize, WSYS_HOST_IMPORT_BACKED, &h), 0);
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  s[100] = 0x42;
  EXPECT_EQ(vm->gpu_view(kHostVa)[100], 0x42);
  EXPECT_EQ(gem_close(*f, h), 0);
  uint8_t* p = anon(kSize);
  EXPECT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_BACKED, nullptr), -EINVAL);
  ASSERT_EQ(mprotect(s, kSize, PROT_READ), 0);
  EXPECT_EQ(host_import(*f, s, kSize, WSYS_HOST_IMPORT_BACKED, nullptr), -EFAULT);
  munmap(p, kSize);
  munmap(s, kSize);
}

TEST_F(HostImport, BackedPinsCountAgainstRlimitMemlock) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &old), 0);
  rlimit lim = old;
  lim.rlim_cur = 2 * kSize;
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &lim), 0);
  uint8_t* s = anon(4 * kSize, MAP_SHARED);
  uint32_t a = 0, b = 0;
  EXPECT_EQ(host_import(*f, s, kSize, WSYS_HOST_IMPORT_BACKED, &a), 0);
  EXPECT_EQ(host_import(*f, s + kSize, 2 * kSize, WSYS_HOST_IMPORT_BACKED, nullptr), -ENOMEM);
  EXPECT_EQ(host_import(*f, s + kSize, kSize, WSYS_HOST_IMPORT_BACKED, &b), 0);
  EXPECT_EQ(host_state(*f, b).pinned_bytes, 2 * kSize);
  // Stealing pins nothing: the pages become the object's.
  uint8_t* p = anon(kSize);
  uint32_t c = 0;
  EXPECT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, &c), 0);
  EXPECT_EQ(gem_close(*f, a), 0);
  EXPECT_EQ(host_state(*f, b).pinned_bytes, kSize);
  EXPECT_EQ(gem_close(*f, b), 0);
  EXPECT_EQ(gem_close(*f, c), 0);
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &old), 0);
  munmap(s, 4 * kSize);
  munmap(p, kSize);
}

TEST_F(HostImport, BackedRangeIsNotInheritedByAForkChild) {
  uint8_t* s = anon(kSize, MAP_SHARED);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, s, kSize, WSYS_HOST_IMPORT_BACKED, &h), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    unsigned char vec = 0;
    // MADV_DONTFORK: the child has no mapping there (mincore: ENOMEM).
    _exit(mincore(s, 4096, &vec) != 0 && errno == ENOMEM ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(gem_close(*f, h), 0);
  munmap(s, kSize);
}

TEST_F(HostImport, UnmappingABackedRangeInvalidatesTheObjectAndTheNextJobFaults) {
  Memfd m(kSize);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, m.p, kSize, WSYS_HOST_IMPORT_BACKED, &h), 0);
  ASSERT_EQ(map_sync(*f, vm_id, h, 0, kHostVa, kSize), 0);
  EXPECT_EQ(gpu_write32(kHostVa, 1), 0);
  EXPECT_EQ(host_state(*f, h).state, 0u);
  ASSERT_EQ(munmap(m.p, kSize), 0);
  EXPECT_EQ(gpu_write32(kHostVa, 2), -EFAULT);
  EXPECT_EQ(host_state(*f, h).state, WSYS_HOST_BO_STATE_INVALIDATED);
  EXPECT_EQ(map_sync(*f, vm_id, h, 0, kHostVa + kSize, kSize), -EFAULT);
  EXPECT_EQ(gem_close(*f, h), 0);
  close(m.fd);
}

TEST_F(HostImport, FaultInjectionLeavesEverythingAsItWas) {
  uint8_t* p = anon(kSize);
  fill(p, kSize, 2);
  ASSERT_TRUE(fault_inject_set("host_steal:nth=1"));
  EXPECT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, nullptr), -ENOMEM);
  EXPECT_TRUE(has_pattern(p, kSize, 2));
  uint8_t* s = anon(kSize, MAP_SHARED);
  ASSERT_TRUE(fault_inject_set("host_pin:nth=1"));
  EXPECT_EQ(host_import(*f, s, kSize, WSYS_HOST_IMPORT_BACKED, nullptr), -ENOMEM);
  EXPECT_EQ(host_import_pinned_bytes(), 0u);
  fault_inject_clear();
  munmap(p, kSize);
  munmap(s, kSize);
}

TEST(HostImportPanfrost, StolenObjectIsPlacedByTheKernelWithItsContents) {
  auto f = test::open_model_file("panfrost");
  ASSERT_TRUE(f);
  uint8_t* p = anon(kSize);
  fill(p, kSize, 4);
  uint32_t h = 0;
  ASSERT_EQ(host_import(*f, p, kSize, WSYS_HOST_IMPORT_STEAL_LOSE, &h), 0);
  drm_panfrost_get_bo_offset g{};
  g.handle = h;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &g), 0);
  EXPECT_NE(g.offset, 0u);
  SimVmPtr vm = f->file().panfrost_vm();
  ASSERT_TRUE(vm);
  EXPECT_TRUE(has_pattern(vm->gpu_view(g.offset), kSize, 4));
  EXPECT_TRUE(all_zero(p, kSize));
  EXPECT_EQ(gem_close(*f, h), 0);
  munmap(p, kSize);
}

}  // namespace
}  // namespace wsys::sim
