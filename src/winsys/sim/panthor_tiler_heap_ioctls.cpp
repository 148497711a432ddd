// panthor TILER_HEAP_CREATE / TILER_HEAP_DESTROY of the model.
//
// Kernel order (panthor_ioctl_tiler_heap_create / panthor_heap_create):
// the VM must exist (-EINVAL); the VM's heap pool is created on first use;
// initial_chunk_count == 0, initial_chunk_count > max_chunks, or chunk_size
// not page-aligned or outside [128 KiB, 8 MiB]: -EINVAL; the initial
// chunks are allocated, then the heap id comes from xa_alloc over 0..127
// (-EBUSY when the VM already has 128 heaps). handle = (vm_id << 16) | id.
// DESTROY: pad MBZ, the VM (handle >> 16) must exist and have a pool, and
// the heap (handle & 0xffff) must exist: -EINVAL otherwise.
#include <cerrno>

#include "drm-uapi/panthor_drm.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/tiler_heap.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

int ioctl_panthor_tiler_heap_create(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_tiler_heap_create*>(data);
  PanthorFilePriv* priv = panthor_priv(f);
  if (!priv) return -EINVAL;
  std::shared_ptr<SimVm> vm = f.lookup_vm(args->vm_id);
  if (!vm) return -EINVAL;
  int err = 0;
  std::shared_ptr<TilerHeapPool> pool = priv->heap_pool(f.device(), args->vm_id, vm, true, &err);
  if (!pool) return err;
  if (args->initial_chunk_count == 0) return -EINVAL;
  if (args->initial_chunk_count > args->max_chunks) return -EINVAL;
  if (args->chunk_size % 4096 || args->chunk_size < kTilerChunkMin ||
      args->chunk_size > kTilerChunkMax)
    return -EINVAL;
  TilerHeap::Params p;
  p.initial_chunk_count = args->initial_chunk_count;
  p.chunk_size = args->chunk_size;
  p.max_chunks = args->max_chunks;
  p.target_in_flight = args->target_in_flight;
  uint32_t id = 0;
  std::shared_ptr<TilerHeap> heap;
  int r = pool->create_heap(f.device(), p, &id, &heap);
  if (r) return r;
  args->handle = (args->vm_id << 16) | id;
  args->tiler_heap_ctx_gpu_va = heap->ctx_va();
  args->first_heap_chunk_gpu_va = heap->first_chunk_va();
  return 0;
}

int ioctl_panthor_tiler_heap_destroy(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_tiler_heap_destroy*>(data);
  if (args->pad) return -EINVAL;
  PanthorFilePriv* priv = panthor_priv(f);
  if (!priv) return -EINVAL;
  uint32_t vm_id = args->handle >> 16;
  std::shared_ptr<SimVm> vm = f.lookup_vm(vm_id);
  if (!vm) return -EINVAL;
  std::shared_ptr<TilerHeapPool> pool = priv->heap_pool(f.device(), vm_id, vm, false, nullptr);
  if (!pool) return -EINVAL;
  return pool->destroy_heap(args->handle & 0xffff);
}


}  // namespace wsys::sim
