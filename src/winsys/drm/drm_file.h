// DrmFile: the ioctl boundary between wsys and a DRM kernel driver.
//
// Everything above this layer (kmod backends) talks to the GPU only through
// this interface, using ioctl numbers and uapi structs. Two implementations:
//   RealDrmFile  - an open render node, through libdrm (real_drm_file.cpp)
//   SimDrmFile   - the in-process kernel model (src/winsys/sim)
// so the code that runs on hardware is the code the tests exercise.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "winsys/drm/gpu_view.h"
#include "wsys/result.hpp"

namespace wsys::drm {

// What DRM_IOCTL_VERSION reports.
struct DriverVersion {
  std::string name;  // "panthor", "panfrost", ...
  int major = 0;
  int minor = 0;
  int patchlevel = 0;
  std::string date;
  std::string desc;

  // True if the driver is at least major.minor (same major required).
  bool at_least(int want_major, int want_minor) const {
    return major == want_major && minor >= want_minor;
  }
};

class DrmFile {
 public:
  DrmFile() = default;
  DrmFile(const DrmFile&) = delete;
  DrmFile& operator=(const DrmFile&) = delete;
  virtual ~DrmFile() = default;

  // Issues an ioctl. Returns 0 or a negative errno. Real files retry on
  // EINTR/EAGAIN as drmIoctl does; the model never returns those.
  virtual int ioctl(unsigned long request, void* arg) = 0;

  // Maps `length` bytes at the fake offset a *_MMAP_OFFSET / MMAP_BO ioctl
  // returned. Same contract as mmap(2) but errors are values.
  virtual Result<void*> mmap(void* addr, size_t length, int prot, int flags,
                             uint64_t offset) = 0;
  virtual int munmap(void* addr, size_t length) = 0;

  // PRIME: export a GEM handle as a dma-buf fd (flags: O_CLOEXEC | O_RDWR),
  // and import one. Importing the same buffer twice gives the same handle.
  virtual Result<int> prime_handle_to_fd(uint32_t handle, uint32_t flags) = 0;
  virtual Result<uint32_t> prime_fd_to_handle(int fd) = 0;

  virtual const DriverVersion& version() const = 0;

  // Where this file came from: a device path, or "sim:<driver>".
  virtual const std::string& node_name() const = 0;

  // The OS file descriptor if there is one (real node or shim), else -1.
  virtual int fd() const = 0;

  // True for the in-process kernel model.
  virtual bool is_model() const = 0;

  // The model only: its GPU view (gpu_view.h); null for a real device.
  virtual const GpuView* gpu_view() const { return nullptr; }

  // Bytes of memory the device says it can use (the model: its memory
  // budget), or 0 when it does not say: panthor and panfrost have no such
  // query, Mali sharing the system's memory.
  virtual uint64_t memory_bytes() const { return 0; }
  // Of those, the bytes that can still be allocated before the kernel must
  // reclaim (the model: budget minus what is charged), or UINT64_MAX when
  // the device does not say (a real node: the system's figure is used).
  virtual uint64_t memory_available() const { return UINT64_MAX; }
};

}  // namespace wsys::drm
