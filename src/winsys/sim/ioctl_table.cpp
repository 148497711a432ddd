// ioctl number -> handler, per driver, and the drm_ioctl()-style dispatch.
#include <linux/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/sim/dep_check.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/host_import.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/shared_alloc.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/userq.h"

namespace wsys::sim {

namespace {

struct IoctlDesc {
  unsigned long cmd;  // the model's (newest) number: direction and size
  IoctlHandler fn;
  const char* site;   // fault-injection site "ioctl:<NAME>" (fault_inject.h)
  DriverVersion since{1, 0};  // older driver versions do not have it (driver_version.h)
  // Model extensions: whether this device offers it (null: always).
  bool (*offered)(const SimDevice&) = nullptr;
};

// EXT_QUERY answers wherever any extension is offered.
bool ext_offered(const SimDevice& dev) {
  return userq_supported(dev) || host_import_supported(dev) || deferred_alloc_supported();
}

// DRM core ioctls, indexed by nr.
const IoctlDesc* core_desc(unsigned nr) {
  static const IoctlDesc table[] = {
      {DRM_IOCTL_VERSION, ioctl_version, "ioctl:VERSION"},
      {DRM_IOCTL_GET_CAP, ioctl_get_cap, "ioctl:GET_CAP"},
      {DRM_IOCTL_GEM_CLOSE, ioctl_gem_close, "ioctl:GEM_CLOSE"},
      {DRM_IOCTL_PRIME_HANDLE_TO_FD, ioctl_prime_handle_to_fd, "ioctl:PRIME_HANDLE_TO_FD"},
      {DRM_IOCTL_PRIME_FD_TO_HANDLE, ioctl_prime_fd_to_handle, "ioctl:PRIME_FD_TO_HANDLE"},
      {DRM_IOCTL_SYNCOBJ_CREATE, ioctl_syncobj_create, "ioctl:SYNCOBJ_CREATE"},
      {DRM_IOCTL_SYNCOBJ_DESTROY, ioctl_syncobj_destroy, "ioctl:SYNCOBJ_DESTROY"},
      {DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, ioctl_syncobj_handle_to_fd, "ioctl:SYNCOBJ_HANDLE_TO_FD"},
      {DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, ioctl_syncobj_fd_to_handle, "ioctl:SYNCOBJ_FD_TO_HANDLE"},
      {DRM_IOCTL_SYNCOBJ_WAIT, ioctl_syncobj_wait, "ioctl:SYNCOBJ_WAIT"},
      {DRM_IOCTL_SYNCOBJ_RESET, ioctl_syncobj_reset, "ioctl:SYNCOBJ_RESET"},
      {DRM_IOCTL_SYNCOBJ_SIGNAL, ioctl_syncobj_signal, "ioctl:SYNCOBJ_SIGNAL"},
      {DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, ioctl_syncobj_timeline_wait, "ioctl:SYNCOBJ_TIMELINE_WAIT"},
      {DRM_IOCTL_SYNCOBJ_QUERY, ioctl_syncobj_query, "ioctl:SYNCOBJ_QUERY"},
      {DRM_IOCTL_SYNCOBJ_TRANSFER, ioctl_syncobj_transfer, "ioctl:SYNCOBJ_TRANSFER"},
      {DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, ioctl_syncobj_timeline_signal, "ioctl:SYNCOBJ_TIMELINE_SIGNAL"},
      {DRM_IOCTL_SYNCOBJ_EVENTFD, ioctl_syncobj_eventfd, "ioctl:SYNCOBJ_EVENTFD"},
  };
  for (const IoctlDesc& d : table)
    if (_IOC_NR(d.cmd) == nr) return &d;
  return nullptr;
}

const IoctlDesc* panthor_desc(unsigned nr) {
  // Newest: 1.9. An ioctl newer than the selected version falls off the
  // end of the table (SimFile::ioctl), as on that kernel.
  static const IoctlDesc table[] = {
      {DRM_IOCTL_PANTHOR_DEV_QUERY, ioctl_panthor_dev_query, "ioctl:DEV_QUERY"},
      {DRM_IOCTL_PANTHOR_VM_CREATE, ioctl_panthor_vm_create, "ioctl:VM_CREATE"},
      {DRM_IOCTL_PANTHOR_VM_DESTROY, ioctl_panthor_vm_destroy, "ioctl:VM_DESTROY"},
      {DRM_IOCTL_PANTHOR_VM_BIND, ioctl_panthor_vm_bind, "ioctl:VM_BIND"},
      {DRM_IOCTL_PANTHOR_VM_GET_STATE, ioctl_panthor_vm_get_state, "ioctl:VM_GET_STATE"},
      {DRM_IOCTL_PANTHOR_BO_CREATE, ioctl_panthor_bo_create, "ioctl:BO_CREATE"},
      {DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, ioctl_panthor_bo_mmap_offset, "ioctl:BO_MMAP_OFFSET"},
      {DRM_IOCTL_PANTHOR_GROUP_CREATE, ioctl_panthor_group_create, "ioctl:GROUP_CREATE"},
      {DRM_IOCTL_PANTHOR_GROUP_DESTROY, ioctl_panthor_group_destroy, "ioctl:GROUP_DESTROY"},
      {DRM_IOCTL_PANTHOR_GROUP_SUBMIT, ioctl_panthor_group_submit, "ioctl:GROUP_SUBMIT"},
      {DRM_IOCTL_PANTHOR_GROUP_GET_STATE, ioctl_panthor_group_get_state, "ioctl:GROUP_GET_STATE"},
      {DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, ioctl_panthor_tiler_heap_create, "ioctl:TILER_HEAP_CREATE"},
      {DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, ioctl_panthor_tiler_heap_destroy, "ioctl:TILER_HEAP_DESTROY"},
      {DRM_IOCTL_PANTHOR_BO_SET_LABEL, ioctl_panthor_bo_set_label, "ioctl:BO_SET_LABEL",
       kPanthorBoSetLabel},
      {DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, ioctl_panthor_set_user_mmio_offset,
       "ioctl:SET_USER_MMIO_OFFSET", kPanthorUserMmioOffset},
      {DRM_IOCTL_PANTHOR_BO_SYNC, ioctl_panthor_bo_sync, "ioctl:BO_SYNC", kPanthorBoSync},
      {DRM_IOCTL_PANTHOR_BO_QUERY_INFO, ioctl_panthor_bo_query_info, "ioctl:BO_QUERY_INFO",
       kPanthorBoQueryInfo},
  };
  for (const IoctlDesc& d : table)
    if (_IOC_NR(d.cmd) == nr) return &d;
  return nullptr;
}

const IoctlDesc* panfrost_desc(unsigned nr) {
  static const IoctlDesc table[] = {
      {DRM_IOCTL_PANFROST_SUBMIT, ioctl_panfrost_submit, "ioctl:SUBMIT"},
      {DRM_IOCTL_PANFROST_WAIT_BO, ioctl_panfrost_wait_bo, "ioctl:WAIT_BO"},
      {DRM_IOCTL_PANFROST_CREATE_BO, ioctl_panfrost_create_bo, "ioctl:CREATE_BO"},
      {DRM_IOCTL_PANFROST_MMAP_BO, ioctl_panfrost_mmap_bo, "ioctl:MMAP_BO"},
      {DRM_IOCTL_PANFROST_GET_PARAM, ioctl_panfrost_get_param, "ioctl:GET_PARAM"},
      {DRM_IOCTL_PANFROST_GET_BO_OFFSET, ioctl_panfrost_get_bo_offset, "ioctl:GET_BO_OFFSET"},
      {DRM_IOCTL_PANFROST_MADVISE, ioctl_panfrost_madvise, "ioctl:MADVISE"},
      {DRM_IOCTL_PANFROST_SET_LABEL_BO, ioctl_panfrost_set_label_bo, "ioctl:SET_LABEL_BO",
       kPanfrostSetLabelBo},
      {DRM_IOCTL_PANFROST_JM_CTX_CREATE, ioctl_panfrost_jm_ctx_create, "ioctl:JM_CTX_CREATE",
       kPanfrostJmContexts},
      {DRM_IOCTL_PANFROST_JM_CTX_DESTROY, ioctl_panfrost_jm_ctx_destroy, "ioctl:JM_CTX_DESTROY",
       kPanfrostJmContexts},
      {DRM_IOCTL_PANFROST_SYNC_BO, ioctl_panfrost_sync_bo, "ioctl:SYNC_BO", kPanfrostSyncBo},
      {DRM_IOCTL_PANFROST_QUERY_BO_INFO, ioctl_panfrost_query_bo_info, "ioctl:QUERY_BO_INFO",
       kPanfrostQueryBoInfo},
  };
  for (const IoctlDesc& d : table)
    if (_IOC_NR(d.cmd) == nr) return &d;
  return nullptr;
}

// The model's extensions (drm-uapi/wsys_sim_ext.h): NOT panthor or panfrost
// ioctls; each offered only where its `offered` says (SimFile::ioctl).
const IoctlDesc* ext_desc(unsigned nr) {
  static const IoctlDesc table[] = {
      {DRM_IOCTL_WSYS_SIM_EXT_QUERY, ioctl_wsys_sim_ext_query, "ioctl:WSYS_SIM_EXT_QUERY", {1, 0},
       ext_offered},
      {DRM_IOCTL_WSYS_USERQ_CREATE, ioctl_wsys_userq_create, "ioctl:WSYS_USERQ_CREATE", {1, 0},
       userq_supported},
      {DRM_IOCTL_WSYS_USERQ_DESTROY, ioctl_wsys_userq_destroy, "ioctl:WSYS_USERQ_DESTROY", {1, 0},
       userq_supported},
      {DRM_IOCTL_WSYS_USERQ_SIGNAL, ioctl_wsys_userq_signal, "ioctl:WSYS_USERQ_SIGNAL", {1, 0},
       userq_supported},
      {DRM_IOCTL_WSYS_USERQ_RESUME, ioctl_wsys_userq_resume, "ioctl:WSYS_USERQ_RESUME", {1, 0},
       userq_supported},
      {DRM_IOCTL_WSYS_USERQ_GET_STATE, ioctl_wsys_userq_get_state, "ioctl:WSYS_USERQ_GET_STATE",
       {1, 0}, userq_supported},
      {DRM_IOCTL_WSYS_HOST_IMPORT, ioctl_wsys_host_import, "ioctl:WSYS_HOST_IMPORT", {1, 0},
       host_import_supported},
      {DRM_IOCTL_WSYS_HOST_BO_STATE, ioctl_wsys_host_bo_state, "ioctl:WSYS_HOST_BO_STATE", {1, 0},
       host_import_supported},
  };
  for (const IoctlDesc& d : table)
    if (_IOC_NR(d.cmd) == nr) return &d;
  return nullptr;
}

constexpr unsigned kDriverBase = 0x40;  // DRM_COMMAND_BASE
constexpr unsigned kDriverEnd = 0xA0;   // DRM_COMMAND_END

}  // namespace


int SimFile::ioctl(unsigned long cmd, void* user_arg) {
  unsigned nr = _IOC_NR(cmd);
  const IoctlDesc* d = nullptr;
  if (nr >= DRM_WSYS_SIM_EXT_QUERY_NR && nr < kDriverEnd) {
    d = ext_desc(nr);
    if (d && d->offered && !d->offered(*dev_)) d = nullptr;
  } else if (nr >= kDriverBase && nr < kDriverEnd) {
    d = dev_->is_panthor() ? panthor_desc(nr) : panfrost_desc(nr);
  } else {
    d = core_desc(nr);
  }
  // An ioctl the selected driver version does not have yet: the kernel's
  // answer for a number past its table.
  if (!d || !dev_->at_least(d->since)) return -EINVAL;

  // As drm_ioctl(): the user's size, in and out only where both the user's
  // number and the driver's agree, and never less than the driver's struct.
  size_t in_size = _IOC_SIZE(cmd), out_size = _IOC_SIZE(cmd);
  if (!(cmd & d->cmd & (static_cast<unsigned long>(_IOC_WRITE) << _IOC_DIRSHIFT))) in_size = 0;
  if (!(cmd & d->cmd & (static_cast<unsigned long>(_IOC_READ) << _IOC_DIRSHIFT))) out_size = 0;
  size_t ksize = std::max({in_size, out_size, static_cast<size_t>(_IOC_SIZE(d->cmd))});

  alignas(16) unsigned char stack_buf[128];
  std::unique_ptr<unsigned char[]> heap_buf;
  unsigned char* kdata = stack_buf;
  if (ksize > sizeof stack_buf) {
    heap_buf.reset(new unsigned char[ksize]);
    kdata = heap_buf.get();
  }
  std::memset(kdata, 0, ksize);
  if (in_size && copy_from_user(kdata, reinterpret_cast<uintptr_t>(user_arg), in_size) != 0)
    return -EFAULT;

  // Fault injection at the ioctl's entry: fails before the handler runs,
  // so nothing changes.
  int ret = fault_inject_check(d->site);
  if (ret == 0) {
    DepContext ctx(dep_file(this));  // the dependency checker's "user space of this file"
    ret = d->fn(*this, kdata);
  }

  if (out_size && copy_to_user(reinterpret_cast<uintptr_t>(user_arg), kdata, out_size) != 0)
    ret = -EFAULT;
  return ret;
}

}  // namespace wsys::sim
