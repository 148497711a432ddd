// DRM core ioctls of the model: VERSION, GET_CAP, GEM_CLOSE, PRIME.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shared_alloc.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/user_copy.h"

namespace wsys::sim {

int map_shared_for_gpu(SimBo& bo) {
  if (!bo.shared_attach || bo.shared_gpu_mapped.load(std::memory_order_acquire)) return 0;
  SharedAttachment& a = *bo.shared_attach;
  if (int r = a.buffer()->allocator().map(a)) return r;
  // Two racing first binds: the loser gives its map back.
  if (bo.shared_gpu_mapped.exchange(true, std::memory_order_acq_rel)) a.buffer()->allocator().unmap(a);
  return 0;
}

namespace {
// Copies as much of `s` as fits the user's buffer, then reports the full
// length, as drm_copy_field() does.
int copy_field(char* user_buf, __kernel_size_t* len, const std::string& s) {
  size_t n = std::min(static_cast<size_t>(*len), s.size());
  *len = s.size();
  if (n && user_buf) return copy_to_user(reinterpret_cast<uintptr_t>(user_buf), s.data(), n);
  return 0;
}
}  // namespace

int ioctl_version(SimFile& f, void* data) {
  auto* v = static_cast<drm_version*>(data);
  const SimDriverVersion& sv = f.device()->version();
  v->version_major = sv.major;
  v->version_minor = sv.minor;
  v->version_patchlevel = sv.patchlevel;
  int r = copy_field(v->name, &v->name_len, sv.name);
  if (!r) r = copy_field(v->date, &v->date_len, sv.date);
  if (!r) r = copy_field(v->desc, &v->desc_len, sv.desc);
  return r;
}

int ioctl_get_cap(SimFile& f, void* data) {
  auto* c = static_cast<drm_get_cap*>(data);
  switch (c->capability) {
    case DRM_CAP_PRIME: c->value = DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT; return 0;
    case DRM_CAP_SYNCOBJ: c->value = 1; return 0;
    // DRIVER_SYNCOBJ_TIMELINE: panthor has it, panfrost does not.
    case DRM_CAP_SYNCOBJ_TIMELINE: c->value = f.device()->is_panthor() ? 1 : 0; return 0;
    default: return -EINVAL;
  }
}

int ioctl_gem_close(SimFile& f, void* data) {
  auto* c = static_cast<drm_gem_close*>(data);
  return f.close_handle(c->handle);
}

int ioctl_prime_handle_to_fd(SimFile& f, void* data) {
  auto* p = static_cast<drm_prime_handle*>(data);
  if (p->flags & ~static_cast<uint32_t>(DRM_CLOEXEC | DRM_RDWR)) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(p->handle);
  if (!bo) return -ENOENT;
  // Host-memory objects (model extension): -EPERM, amdgpu's answer for
  // userptr objects; the pages belong to one process's address space.
  if (bo->host_kind() != SimBo::HostKind::None) return -EPERM;
  if (!bo->exportable) return -EINVAL;
  // The dma-buf is the object's memfd itself, so any process can import it.
  int fd = fcntl(bo->memfd(), (p->flags & DRM_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
  if (fd < 0) return -errno;
  bo->exported = true;
  // Shared objects are never reclaimed: one swapped out is brought back.
  if (PanthorReclaim* rc = f.device()->shrinker().reclaimer()) {
    if (int r = rc->restore(*bo)) {
      ::close(fd);
      return r;
    }
  }
  p->fd = fd;
  return 0;
}

// A buffer of the model's shared allocator (a model extension,
// shared_alloc.h): importing it is an attach with the GPU's constraints,
// made before the object is visible to other files (on panfrost the
// import is also a first use, below). Refusals are the allocator's
// (-EINVAL with the unmet constraint in its log, -ENOMEM).
static int attach_shared_buffer(SimFile& f, int fd, SharedAttachmentPtr* out) {
  // Only the allocator's own memfds are looked up (a GEM memfd never maps
  // the allocator's system).
  if (!deferred_alloc_supported() || !is_shared_dmabuf(fd)) return 0;
  int err = 0;
  SharedBufferPtr sb = SharedAllocator::model().find(fd, &err);
  if (!sb) return err;
  const uint32_t pa_bits = (f.device()->gpu().mmu_features >> 8) & 0xff;
  uint32_t unmet = 0;
  return sb->allocator().attach(sb, WSYS_ALLOC_DOMAIN_GPU, gpu_dma_constraints(pa_bits), out,
                                &unmet);
}

int ioctl_prime_fd_to_handle(SimFile& f, void* data) {
  auto* p = static_cast<drm_prime_handle*>(data);
  if (fcntl(p->fd, F_GETFD) < 0) return -EBADF;
  if (!is_model_dmabuf(p->fd)) return -EINVAL;
  struct stat st;
  if (fstat(p->fd, &st) != 0) return -errno;
  // The same buffer imported twice (or re-imported by its exporter) is the
  // same object, so the file gets the same handle.
  SimBoPtr bo = f.device()->bo_by_inode(st.st_ino);
  if (!bo) {
    SharedAttachmentPtr shared;
    if (int r = attach_shared_buffer(f, p->fd, &shared)) return r;
    int err = 0;
    bo = SimBo::import(f.device(), p->fd, &err, std::move(shared));
    if (!bo) return err;
    // panfrost maps every object into the file's GPU VA as it is opened.
    if (!f.device()->is_panthor()) {
      if (int r = map_shared_for_gpu(*bo)) return r;
    }
  }
  bo->exported = true;  // shared: never purged by the shrinker
  if (PanthorReclaim* rc = f.device()->shrinker().reclaimer()) {
    if (int r = rc->restore(*bo)) return r;
  }
  int err = -ENOSPC;
  uint32_t h = f.handle_for(bo, &err);
  if (!h) return err;
  p->handle = h;
  return 0;
}

}  // namespace wsys::sim
