// Every ioctl handler of the model, by area. Each takes the file and the
// kernel-side copy of the argument (zero-filled to the model's struct size)
// and returns 0 or a negative errno. ioctl_table.cpp maps numbers to them.
#pragma once

#include "winsys/sim/sim_file.h"

namespace wsys::sim {

using IoctlHandler = int (*)(SimFile& file, void* data);

// DRM core (core_ioctls.cpp)
int ioctl_version(SimFile& f, void* data);
int ioctl_get_cap(SimFile& f, void* data);
int ioctl_gem_close(SimFile& f, void* data);
int ioctl_prime_handle_to_fd(SimFile& f, void* data);
int ioctl_prime_fd_to_handle(SimFile& f, void* data);
// The GPU's first use of an imported shared buffer (a model extension,
// shared_alloc.h): finalizes its placement; no-op for other objects and
// after the first time. 0 or -ENOMEM.
int map_shared_for_gpu(SimBo& bo);

// Syncobjs (syncobj_ioctls.cpp)
int ioctl_syncobj_create(SimFile& f, void* data);
int ioctl_syncobj_destroy(SimFile& f, void* data);
int ioctl_syncobj_handle_to_fd(SimFile& f, void* data);
int ioctl_syncobj_fd_to_handle(SimFile& f, void* data);
int ioctl_syncobj_wait(SimFile& f, void* data);
int ioctl_syncobj_reset(SimFile& f, void* data);
int ioctl_syncobj_signal(SimFile& f, void* data);
int ioctl_syncobj_timeline_wait(SimFile& f, void* data);
int ioctl_syncobj_query(SimFile& f, void* data);
int ioctl_syncobj_transfer(SimFile& f, void* data);
int ioctl_syncobj_timeline_signal(SimFile& f, void* data);
int ioctl_syncobj_eventfd(SimFile& f, void* data);

// panthor: device queries and BOs (panthor_dev_ioctls.cpp)
int ioctl_panthor_dev_query(SimFile& f, void* data);
int ioctl_panthor_bo_create(SimFile& f, void* data);
int ioctl_panthor_bo_mmap_offset(SimFile& f, void* data);
int ioctl_panthor_bo_set_label(SimFile& f, void* data);
int ioctl_panthor_set_user_mmio_offset(SimFile& f, void* data);
int ioctl_panthor_bo_sync(SimFile& f, void* data);        // 1.7
int ioctl_panthor_bo_query_info(SimFile& f, void* data);  // 1.7
// panthor: VMs (panthor_vm_ioctls.cpp)
int ioctl_panthor_vm_create(SimFile& f, void* data);
int ioctl_panthor_vm_destroy(SimFile& f, void* data);
int ioctl_panthor_vm_bind(SimFile& f, void* data);
int ioctl_panthor_vm_get_state(SimFile& f, void* data);

// panfrost (panfrost_ioctls.cpp)
int ioctl_panfrost_create_bo(SimFile& f, void* data);
int ioctl_panfrost_mmap_bo(SimFile& f, void* data);
int ioctl_panfrost_get_param(SimFile& f, void* data);
int ioctl_panfrost_get_bo_offset(SimFile& f, void* data);
int ioctl_panfrost_set_label_bo(SimFile& f, void* data);
int ioctl_panfrost_sync_bo(SimFile& f, void* data);        // 1.6
int ioctl_panfrost_query_bo_info(SimFile& f, void* data);  // 1.6

// panthor: groups and queues (panthor_group_ioctls.cpp)
int ioctl_panthor_group_create(SimFile& f, void* data);
int ioctl_panthor_group_destroy(SimFile& f, void* data);
int ioctl_panthor_group_submit(SimFile& f, void* data);
int ioctl_panthor_group_get_state(SimFile& f, void* data);
// panthor: tiler heaps (panthor_tiler_heap_ioctls.cpp)
int ioctl_panthor_tiler_heap_create(SimFile& f, void* data);
int ioctl_panthor_tiler_heap_destroy(SimFile& f, void* data);

// panfrost: jobs (panfrost_submit.cpp) and madvise (panfrost_madvise.cpp)
int ioctl_panfrost_submit(SimFile& f, void* data);
int ioctl_panfrost_jm_ctx_create(SimFile& f, void* data);   // 1.5
int ioctl_panfrost_jm_ctx_destroy(SimFile& f, void* data);  // 1.5
int ioctl_panfrost_wait_bo(SimFile& f, void* data);
int ioctl_panfrost_madvise(SimFile& f, void* data);

}  // namespace wsys::sim
