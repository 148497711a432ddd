// panfrost MADVISE: {handle, madv, retained}.
//
// Order as panfrost_ioctl_madvise: the handle lookup first (-ENOENT), then
// the object's reservation lock, then the shrinker list under its lock.
// retained = 0 means the pages were already purged; a purged object stays
// purged whatever is asked (WILLNEED does not bring content back).
// Differences from the upstream kernel, both stricter:
//   - madv other than WILLNEED (0) / DONTNEED (1) is -EINVAL (the kernel
//     stores any value without checking it);
//   - the kernel refuses DONTNEED (-EINVAL) on an object mapped by more than
//     one file; the model cannot see other files' handles, so it accepts it.
//     Such objects are shared (exported/imported) and never purged anyway.
#include <cerrno>
#include <mutex>

#include "drm-uapi/panfrost_drm.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

int ioctl_panfrost_madvise(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_madvise*>(data);
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  if (a->madv != PANFROST_MADV_WILLNEED && a->madv != PANFROST_MADV_DONTNEED) return -EINVAL;

  // Where this file maps the object (the shrinker tears that mapping down).
  drm_panfrost_get_bo_offset off{};
  off.handle = a->handle;
  if (ioctl_panfrost_get_bo_offset(f, &off) != 0) off.offset = 0;

  std::lock_guard<std::mutex> g(bo->resv);
  bool retained = false;
  f.device()->shrinker().madvise(
      bo, a->madv == PANFROST_MADV_DONTNEED ? SimBo::kMadvDontNeed : SimBo::kMadvWillNeed,
      f.panfrost_vm(), off.offset, &retained);
  a->retained = retained ? 1 : 0;
  return 0;
}

}  // namespace wsys::sim
