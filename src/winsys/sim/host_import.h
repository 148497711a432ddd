// Host memory as GPU memory: the model's HOST_IMPORT extension.
//
// MODEL EXTENSION, NOT IN ANY RELEASED KERNEL: panthor and panfrost have no
// userptr ioctl. The uapi is in include/drm-uapi/wsys_sim_ext.h (numbers
// 0x98..0x9b, EXT_QUERY feature bit WSYS_SIM_EXT_FEATURE_HOST_IMPORT); the
// design, errnos and measurements are in docs/host-memory.md.
//
// Modes:
//   steal (lose, keep)  private anonymous pages move into the object with
//       mremap(MREMAP_DONTUNMAP): no copy. The range stays mapped and
//       reads zero (lose); keep then copies the old contents back into the
//       range eagerly. Lazy copy-on-first-touch through userfaultfd was
//       considered and rejected: the only pristine copy of a page is the
//       object's, and the GPU may write it before the application touches
//       its range, so a lazy copy needs write-protection on the GPU side
//       as well (documented in docs/host-memory.md). The object's pages
//       stay anonymous: they live at a home address while unmapped and move
//       into the one VM window that maps them (vm.cpp, move_pages); such an
//       object cannot be CPU-mmapped by offset nor exported.
//   backed  a shared mapping (memfd, POSIX/SysV shm, shared anonymous) is
//       aliased: the object maps the same file pages. The file is reached
//       through /proc/self/map_files (root or CAP_CHECKPOINT_RESTORE),
//       else through an open fd of the process on the same inode; neither:
//       -EPERM. Private mappings: -EINVAL. Counted against RLIMIT_MEMLOCK
//       (process-wide, -ENOMEM past it; the model does not exempt
//       CAP_IPC_LOCK, so the limit can be tested as root), MADV_DONTFORK on
//       the range while the object lives.
//
// Invalidation: the kernel learns of munmap/mremap through mmu notifiers;
// the model cannot, so it checks /proc/self/maps where the kernel would
// revalidate a userptr: before a job is queued (GROUP_SUBMIT, panfrost
// SUBMIT). A backed object whose range no longer maps the same file at the
// same offset is invalidated (for good): its pages leave every mapping in
// the submitting VM (SimVm::zap_bo), so the job faults on the GPU fault
// path; VM_BIND of it is -EFAULT afterwards.
//
// Fault-injection sites: host_steal (the page move), host_pin (the
// backed pin and its accounting); plus ioctl:WSYS_HOST_IMPORT.
#pragma once

#include <cstdint>

namespace wsys::sim {

class SimBo;
class SimDevice;
class SimFile;
class SimVm;

// Offered on both drivers, every version, unless WSYS_SIM_HOST_IMPORT=0.
bool host_import_supported(const SimDevice& dev);

int ioctl_wsys_host_import(SimFile& f, void* data);
int ioctl_wsys_host_bo_state(SimFile& f, void* data);

// Before a job is queued on `vm`: invalidates backed objects whose range
// changed and zaps every invalidated object mapped in `vm`. Cheap (one
// relaxed load) while no backed object exists.
void host_import_revalidate(SimVm& vm);

// From ~SimBo: the pin accounting, MADV_DOFORK back if the range is still
// the one imported.
void host_import_release(SimBo& bo);

// Bytes pinned by backed objects in this process (the RLIMIT_MEMLOCK
// charge).
uint64_t host_import_pinned_bytes();

}  // namespace wsys::sim
