// Driver-version gates of the model (WSYS_SIM_DRIVER_VERSION). meson runs
// this program once per version (panthor 1.0..1.9 paired with panfrost
// 1.0..1.6) with the variable set: for the selected versions, everything
// introduced later is refused with that kernel's errno and everything
// introduced earlier works. VersionEnv.* check the variable's parsing and
// that a bad value makes the model refuse to open (in a child process: the
// model's devices read it once per process).
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../vm/vm_test_util.h"
#include "drm-uapi/panfrost_drm.h"
#include "winsys/sim/driver_version.h"

namespace wsys::sim::vmtest {
namespace {

using test::open_model_file;

// The minor the test expects for `driver`, from the variable (its own
// parse, independent of the model's): newest when unset.
int expected_minor(const char* driver) {
  int minor = std::string(driver) == "panthor" ? 9 : 6;
  const char* v = std::getenv("WSYS_SIM_DRIVER_VERSION");
  if (!v) return minor;
  std::string s = v, key = std::string(driver) + "=1.";
  size_t p = s.find(key);
  if (p != std::string::npos) minor = std::atoi(s.c_str() + p + key.size());
  return minor;
}

drm_version version_of(SimDrmFile& f) {
  drm_version v{};
  EXPECT_EQ(f.ioctl(DRM_IOCTL_VERSION, &v), 0);
  return v;
}

int dev_query(SimDrmFile& f, uint32_t type, uint32_t size, void* p, uint32_t* size_out = nullptr) {
  drm_panthor_dev_query q{};
  q.type = type;
  q.size = size;
  q.pointer = reinterpret_cast<uintptr_t>(p);
  int r = f.ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q);
  if (size_out) *size_out = q.size;
  return r;
}

TEST(PanthorVersion, GatesFollowTheSelectedVersion) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  const int m = expected_minor("panthor");
  auto has = [&](int since) { return m >= since; };
  drm_version v = version_of(*f);
  EXPECT_EQ(v.version_major, 1);
  EXPECT_EQ(v.version_minor, m);

  // 1.1 TIMESTAMP_INFO, 1.2 GROUP_PRIORITIES_INFO, 1.9 MMU_INFO: unknown
  // query types before (-EINVAL), for the size probe too.
  uint32_t size = 0;
  EXPECT_EQ(dev_query(*f, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 0, nullptr, &size),
            has(1) ? 0 : -EINVAL);
  if (has(1)) {
    EXPECT_EQ(size, has(8) ? 56u : 24u) << "the 56-byte form is 1.8";
  }
  drm_panthor_timestamp_info t{};
  EXPECT_EQ(dev_query(*f, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 24, &t), has(1) ? 0 : -EINVAL);
  // 1.8 flags: before, the kernel does not read them (copies out 24 bytes
  // and zeroes the rest); from 1.8 an invalid flag is -EINVAL.
  std::memset(&t, 0, sizeof t);
  t.flags = 1u << 8;
  int r = dev_query(*f, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, sizeof t, &t);
  EXPECT_EQ(r, !has(1) ? -EINVAL : has(8) ? -EINVAL : 0);
  if (r == 0) {
    EXPECT_EQ(t.flags, 0u) << "zero-filled past the 24 bytes";
  }
  drm_panthor_group_priorities_info pr{};
  EXPECT_EQ(dev_query(*f, DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, 4, &pr),
            has(2) ? 0 : -EINVAL);
  drm_panthor_mmu_info mmu{};
  EXPECT_EQ(dev_query(*f, DRM_PANTHOR_DEV_QUERY_MMU_INFO, 8, &mmu), has(9) ? 0 : -EINVAL);
  // 1.7 selected_coherency (before: padding, zero). The model's coherency
  // is ACE-Lite, also 0, so check the word is written either way.
  drm_panthor_gpu_info g;
  std::memset(&g, 0xaa, sizeof g);
  ASSERT_EQ(dev_query(*f, DRM_PANTHOR_DEV_QUERY_GPU_INFO, 104, &g), 0);
  EXPECT_EQ(g.selected_coherency, 0u);

  // 1.4 BO_SET_LABEL, 1.5 SET_USER_MMIO_OFFSET, 1.7 BO_SYNC/BO_QUERY_INFO:
  // unknown ioctls before.
  uint32_t bo = bo_create(*f, 4096);
  ASSERT_NE(bo, 0u);
  drm_panthor_bo_set_label l{};
  l.handle = bo;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_SET_LABEL, &l), has(4) ? 0 : -EINVAL);
  drm_panthor_set_user_mmio_offset mo{};
  mo.offset = DRM_PANTHOR_USER_MMIO_OFFSET_64BIT;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, &mo), has(5) ? 0 : -EINVAL);
  drm_panthor_bo_sync bs{};  // no ops: 0 where it exists
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_SYNC, &bs), has(7) ? 0 : -EINVAL);
  drm_panthor_bo_query_info qi{};
  qi.handle = bo;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &qi), has(7) ? 0 : -EINVAL);

  // 1.7 WB_MMAP: an unknown BO_CREATE flag before.
  drm_panthor_bo_create c{};
  c.size = 4096;
  c.flags = DRM_PANTHOR_BO_WB_MMAP;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), has(7) ? 0 : -EINVAL);
  c = {};
  c.size = 4096;
  c.flags = DRM_PANTHOR_BO_NO_MMAP;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), 0);

  // 1.9 MAP_SPARSE: an unknown MAP flag before (the kernel looks the BO up
  // first, so pass a real one to see the flag refused).
  uint32_t vm = 0;
  ASSERT_EQ(vm_create(*f, &vm), 0);
  const uint32_t sparse = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
  EXPECT_EQ(bind(*f, vm, {map_op(0, 0, 1ull << 30, 4096, sparse)}, false), has(9) ? 0 : -EINVAL);
  EXPECT_EQ(bind(*f, vm, {map_op(bo, 0, 2ull << 30, 4096, sparse)}, false), -EINVAL);
  EXPECT_EQ(vm_of(*f, vm)->mapping_count(), has(9) ? 1u : 0u);
  // What every version has: a plain map.
  EXPECT_EQ(map_sync(*f, vm, bo, 0, 3ull << 30, 4096), 0);

  // 1.2 REALTIME group priority: -EINVAL before (after: -EACCES without
  // CAP_SYS_NICE, or success).
  drm_panthor_queue_create q{};
  q.ringbuf_size = 4096;
  drm_panthor_group_create gc{};
  gc.queues.stride = sizeof q;
  gc.queues.count = 1;
  gc.queues.array = reinterpret_cast<uintptr_t>(&q);
  gc.priority = PANTHOR_GROUP_PRIORITY_REALTIME;
  gc.compute_core_mask = gc.fragment_core_mask = 1;
  gc.tiler_core_mask = 1;
  gc.max_compute_cores = gc.max_fragment_cores = gc.max_tiler_cores = 1;
  gc.vm_id = vm;
  r = f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &gc);
  if (has(2))
    EXPECT_TRUE(r == 0 || r == -EACCES) << r;
  else
    EXPECT_EQ(r, -EINVAL);
  gc.priority = PANTHOR_GROUP_PRIORITY_LOW;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &gc), 0);
}

int get_param(SimDrmFile& f, uint32_t p, uint64_t* v = nullptr) {
  drm_panfrost_get_param g{};
  g.param = p;
  int r = f.ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &g);
  if (v) *v = g.value;
  return r;
}

TEST(PanfrostVersion, GatesFollowTheSelectedVersion) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  const int m = expected_minor("panfrost");
  auto has = [&](int since) { return m >= since; };
  drm_version v = version_of(*f);
  EXPECT_EQ(v.version_major, 1);
  EXPECT_EQ(v.version_minor, m);

  // GET_PARAMs: 40 (1.2), 41/42 (1.3), 43 (1.5), 44 (1.6).
  EXPECT_EQ(get_param(*f, DRM_PANFROST_PARAM_THREAD_TLS_ALLOC), 0);
  EXPECT_EQ(get_param(*f, DRM_PANFROST_PARAM_AFBC_FEATURES), has(2) ? 0 : -EINVAL);
  EXPECT_EQ(get_param(*f, DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP), has(3) ? 0 : -EINVAL);
  EXPECT_EQ(get_param(*f, DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY), has(3) ? 0 : -EINVAL);
  EXPECT_EQ(get_param(*f, DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES), has(5) ? 0 : -EINVAL);
  EXPECT_EQ(get_param(*f, DRM_PANFROST_PARAM_SELECTED_COHERENCY), has(6) ? 0 : -EINVAL);

  // CREATE_BO flags: 1.0 takes none; NOEXEC/HEAP 1.1; WB_MMAP 1.6.
  auto create = [&](uint32_t flags, uint32_t* h = nullptr, uint64_t* va = nullptr) {
    drm_panfrost_create_bo c{};
    c.size = 4096;
    c.flags = flags;
    int r = f->ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c);
    if (h) *h = c.handle;
    if (va) *va = c.offset;
    return r;
  };
  EXPECT_EQ(create(PANFROST_BO_NOEXEC), has(1) ? 0 : -EINVAL);
  EXPECT_EQ(create(PANFROST_BO_NOEXEC | PANFROST_BO_HEAP), has(1) ? 0 : -EINVAL);
  EXPECT_EQ(create(PANFROST_BO_WB_MMAP), has(6) ? 0 : -EINVAL);
  uint32_t bo = 0;
  uint64_t bo_va = 0;
  ASSERT_EQ(create(0, &bo, &bo_va), 0);

  // Ioctls: SET_LABEL_BO 1.4, JM_CTX_* 1.5, SYNC_BO/QUERY_BO_INFO 1.6.
  drm_panfrost_set_label_bo l{};
  l.handle = bo;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SET_LABEL_BO, &l), has(4) ? 0 : -EINVAL);
  drm_panfrost_jm_ctx_create cc{};
  cc.priority = PANFROST_JM_CTX_PRIORITY_LOW;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_JM_CTX_CREATE, &cc), has(5) ? 0 : -EINVAL);
  drm_panfrost_jm_ctx_destroy cd{};
  cd.handle = cc.handle;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_JM_CTX_DESTROY, &cd), has(5) ? 0 : -EINVAL);
  drm_panfrost_sync_bo sb{};
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SYNC_BO, &sb), has(6) ? 0 : -EINVAL);
  drm_panfrost_query_bo_info qi{};
  qi.handle = bo;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &qi), has(6) ? 0 : -EINVAL);

  // SUBMIT: JD_REQ_CYCLE_COUNT is 1.3. Before 1.5 the kernel's struct ends
  // at `requirements`: a jm_ctx_handle / pad passed beyond it is ignored;
  // from 1.5 an unknown context and a non-zero pad are -EINVAL.
  std::vector<uint8_t> s(16, 0);  // END
  std::memcpy(f->file().panfrost_vm()->gpu_view(bo_va), s.data(), s.size());
  drm_panfrost_submit sub{};
  sub.jc = bo_va;
  sub.requirements = PANFROST_JD_REQ_CYCLE_COUNT;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub), has(3) ? 0 : -EINVAL);
  sub.requirements = 0;
  sub.jm_ctx_handle = 77;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub), has(5) ? -EINVAL : 0);
  sub.jm_ctx_handle = 0;
  sub.pad = 1;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub), has(5) ? -EINVAL : 0);
  sub.pad = 0;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT_V1, &sub), 0);
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub), 0);
}

// --- the variable itself ---

TEST(VersionEnv, Parsing) {
  DriverVersion v;
  std::string why;
  EXPECT_TRUE(parse_driver_versions("panthor=1.2", "panthor", &v, &why)) << why;
  EXPECT_EQ(v.minor, 2);
  EXPECT_TRUE(parse_driver_versions("panthor=1.2", "panfrost", &v, &why));
  EXPECT_EQ(v.minor, 6) << "not named: the newest";
  EXPECT_TRUE(parse_driver_versions("panthor=1.0,panfrost=1.1", "panfrost", &v, &why));
  EXPECT_EQ(v.minor, 1);
  for (const char* bad : {"panthor=1.10", "panfrost=1.7", "panthor=2.0", "panthor=0.9",
                          "nouveau=1.0", "panthor", "panthor=1.", "panthor=1.x", "panthor=1.2,",
                          "panthor=1.2,junk", " panthor=1.2"}) {
    why.clear();
    EXPECT_FALSE(parse_driver_versions(bad, "panthor", &v, &why)) << bad;
    EXPECT_NE(why.find("WSYS_SIM_DRIVER_VERSION"), std::string::npos) << bad << ": " << why;
  }
}

bool in_child() { return std::getenv("WSYS_VERSION_CHILD") != nullptr; }

TEST(VersionEnvChild, BadValueRefusesToOpen) {
  if (!in_child()) GTEST_SKIP() << "run by VersionEnv.BadValueRefusesToOpen";
  for (const char* drv : {"panthor", "panfrost"}) {
    std::string why;
    auto f = SimDrmFile::open(drv, &why);
    EXPECT_FALSE(f.ok()) << drv;
    EXPECT_NE(why.find("WSYS_SIM_DRIVER_VERSION"), std::string::npos) << why;
  }
}

TEST(VersionEnv, BadValueRefusesToOpen) {
  if (in_child()) GTEST_SKIP();
  for (const char* bad : {"panthor=1.10", "panfrost=1.7", "junk"}) {
    std::string var = std::string("WSYS_SIM_DRIVER_VERSION=") + bad;
    std::vector<std::string> env{var, "WSYS_VERSION_CHILD=1"};
    for (char** e = environ; *e; e++)
      if (std::strncmp(*e, "WSYS_SIM_DRIVER_VERSION=", 24) != 0) env.push_back(*e);
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=VersionEnvChild.*";
    std::string prog = "sim_version_test";
    char* argv[] = {prog.data(), filter.data(), nullptr};
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execve("/proc/self/exe", argv, envp.data());
      _exit(127);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << bad;
  }
}

}  // namespace
}  // namespace wsys::sim::vmtest
