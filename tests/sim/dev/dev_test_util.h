// Helpers shared by the sim_dev tests: BO creation and mapping through the
// ioctl boundary for either driver, environment guards, CPU capabilities.
#pragma once

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"
#include "sim_test_util.h"
#include "winsys/sim/sim_device.h"

namespace wsys::sim::devtest {

using test::open_model_file;

inline bool is_panthor(SimDrmFile& f) {
  return f.version().name == "panthor";
}

// BO_CREATE / CREATE_BO with driver flags; returns 0 or -errno. *size_out
// gets the size the kernel reports (panthor) or the object's size (panfrost).
inline int create_bo(SimDrmFile& f, uint64_t size, uint32_t* handle, uint32_t flags = 0,
                     uint64_t* size_out = nullptr, uint64_t* gpu_va = nullptr) {
  if (is_panthor(f)) {
    drm_panthor_bo_create c{};
    c.size = size;
    c.flags = flags;
    int r = f.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
    if (r) return r;
    *handle = c.handle;
    if (size_out) *size_out = c.size;
    return 0;
  }
  drm_panfrost_create_bo c{};
  c.size = static_cast<uint32_t>(size);
  c.flags = flags;
  int r = f.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c);
  if (r) return r;
  *handle = c.handle;
  if (gpu_va) *gpu_va = c.offset;
  if (size_out) {
    SimBoPtr bo = f.file().lookup_bo(c.handle);
    *size_out = bo ? bo->size() : 0;
  }
  return 0;
}

// BO_MMAP_OFFSET / MMAP_BO.
inline int mmap_offset(SimDrmFile& f, uint32_t handle, uint64_t* off) {
  if (is_panthor(f)) {
    drm_panthor_bo_mmap_offset m{};
    m.handle = handle;
    int r = f.ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m);
    if (!r) *off = m.offset;
    return r;
  }
  drm_panfrost_mmap_bo m{};
  m.handle = handle;
  int r = f.ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m);
  if (!r) *off = m.offset;
  return r;
}

inline int gem_close(SimDrmFile& f, uint32_t handle) {
  drm_gem_close c{};
  c.handle = handle;
  return f.ioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

// panfrost GET_BO_OFFSET.
inline int bo_gpu_va(SimDrmFile& f, uint32_t handle, uint64_t* va) {
  drm_panfrost_get_bo_offset g{};
  g.handle = handle;
  int r = f.ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &g);
  if (!r) *va = g.offset;
  return r;
}

// Sets (or unsets) an environment variable for the scope.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~EnvGuard() {
    if (old_)
      setenv(name_.c_str(), old_->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// The calling thread's capability sets (capget on itself).
struct Caps {
  __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
};
inline bool get_caps(Caps* c) {
  __user_cap_header_struct h{};
  h.version = _LINUX_CAPABILITY_VERSION_3;
  std::memset(c, 0, sizeof *c);
  return syscall(SYS_capget, &h, c->d) == 0;
}
inline bool set_caps(const Caps& c) {
  __user_cap_header_struct h{};
  h.version = _LINUX_CAPABILITY_VERSION_3;
  Caps copy = c;
  return syscall(SYS_capset, &h, copy.d) == 0;
}
inline bool has_effective(const Caps& c, int cap) {
  return (c.d[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0;
}

}  // namespace wsys::sim::devtest
