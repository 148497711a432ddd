// Host memory as GPU memory, below core: what the kernel offers.
//
// - HOST_IMPORT (steal / backed): a MODEL EXTENSION (drm-uapi/wsys_sim_ext.h),
//   the same ioctl on both drivers, probed with EXT_QUERY. A real panthor or
//   panfrost answers its number -EINVAL, so has_host_import stays false.
// - udmabuf: on real kernels the route for memfd memory is /dev/udmabuf
//   (memfd pages -> dma-buf) then PRIME import. has_udmabuf says whether the
//   node exists and opens here.
// core picks among these and a copy (docs/host-memory.md).
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/kmod/backends.h"
#include "winsys/kmod/kmod.h"

namespace wsys::kmod {

namespace {
constexpr const char kUdmabufNode[] = "/dev/udmabuf";
}  // namespace

void Device::probe_host_memory() {
  drm_wsys_sim_ext_query q{};
  props_.has_host_import = file().ioctl(DRM_IOCTL_WSYS_SIM_EXT_QUERY, &q) == 0 &&
                           q.version >= 1 && (q.features & WSYS_SIM_EXT_FEATURE_HOST_IMPORT);
  int fd = ::open(kUdmabufNode, O_RDWR | O_CLOEXEC);
  props_.has_udmabuf = fd >= 0;
  if (fd >= 0) ::close(fd);
}

Result<BoPtr> Device::bo_import_host(void* ptr, uint64_t size, HostImportMode mode) {
  if (!props_.has_host_import) return Error(-EOPNOTSUPP);
  if (!ptr || !size) return Error(-EINVAL);
  drm_wsys_host_import a{};
  a.user_ptr = reinterpret_cast<uintptr_t>(ptr);
  a.size = size;
  a.mode = static_cast<uint32_t>(mode);
  detail::DeviceCore& c = *core_;
  std::lock_guard<std::mutex> g(c.bo_lock);
  if (int r = file().ioctl(DRM_IOCTL_WSYS_HOST_IMPORT, &a)) return Error(r);
  auto kva = imported_bo_kernel_va(a.handle);  // panfrost: where the kernel put it
  if (!kva) {
    (void)c.gem_close(a.handle);
    return Error(kva.error());
  }
  return c.adopt_locked(a.handle, size, 0, false, *kva, false, 0);
}

Result<HostBoState> Device::host_bo_state(Bo& bo) {
  if (!props_.has_host_import) return Error(-EOPNOTSUPP);
  if (!owns(bo)) return Error(-EINVAL);
  drm_wsys_host_bo_state a{};
  a.handle = bo.handle();
  if (int r = file().ioctl(DRM_IOCTL_WSYS_HOST_BO_STATE, &a)) return Error(r);
  HostBoState s;
  s.mode = a.mode;
  s.invalidated = (a.state & WSYS_HOST_BO_STATE_INVALIDATED) != 0;
  s.pinned_bytes = a.pinned_bytes;
  return s;
}

Result<BoPtr> Device::bo_import_memfd(int memfd, uint64_t offset, uint64_t size) {
  if (!props_.has_udmabuf) return Error(-EOPNOTSUPP);
  if (memfd < 0 || !size) return Error(-EINVAL);
  int node = ::open(kUdmabufNode, O_RDWR | O_CLOEXEC);
  if (node < 0) return Error(-errno);
  udmabuf_create c{};
  c.memfd = static_cast<__u32>(memfd);
  c.flags = UDMABUF_FLAGS_CLOEXEC;
  c.offset = offset;
  c.size = size;
  int dmabuf = ::ioctl(node, UDMABUF_CREATE, &c);
  int err = errno;
  ::close(node);
  if (dmabuf < 0) return Error(-err);
  auto bo = bo_import(dmabuf);
  ::close(dmabuf);  // the GEM object holds the dma-buf
  return bo;
}

}  // namespace wsys::kmod
