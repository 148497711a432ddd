// The model's dma-buf memory at the queue: the GPU's deferred attach and
// the GPU-access announcement before each submission (shared_memory.h).
#include "vulkan/shared_memory.h"

#include "vulkan/entry_points.h"
#include "vulkan/proc_table.h"
#include "vulkan/sparse.h"
#include "vulkan/vk_result.h"
#include "wsys/shared_buffer.hpp"

namespace wsys::vk {

Result<void> shared_memory_attach_gpu(Device& d, Memory& m) {
  if (m.bo || !m.shared) return {};
  Result<BoRef> bo = m.shared->import_into(*d.wsys);
  if (!bo.ok()) return Error(bo.error());
  m.bo = std::move(*bo);
  return {};
}

namespace {

// Every allocator buffer of the device: attached by the GPU (placed, if
// nothing placed it before), then a GPU access announced.
VkResult before_submit(Device& d, const char* command) {
  std::lock_guard<std::mutex> g(d.lock);
  for (Memory* m : d.shared->memories) {
    if (Result<void> r = shared_memory_attach_gpu(d, *m); !r.ok())
      return vk_result_of(r.error(), FailureKind::DeviceMemory, command,
                          "the GPU's first use of a dma-buf");
    if (Result<void> r = m->shared->begin_gpu_access(true, true); !r.ok())
      return vk_result_of(r.error(), FailureKind::DeviceMemory, command,
                          "announcing the GPU's access to a dma-buf");
  }
  return VK_SUCCESS;
}

void remember(Device& d, VkQueue q) {
  if (q == VK_NULL_HANDLE) return;
  std::lock_guard<std::mutex> g(d.lock);
  for (VkQueue k : d.shared->known_queues)
    if (k == q) return;
  d.shared->known_queues.push_back(q);
  add_queue(q, &d);
}

Device* shared_device(VkQueue q) {
  Device* d = find_queue_device(q);
  return d && d->shared ? d : nullptr;
}

}  // namespace

namespace icd {

// A sparse device registers its queues itself (and wraps submission for
// device loss): those wrappers are called in turn.
VKAPI_ATTR void VKAPI_CALL SharedGetDeviceQueue(VkDevice device, uint32_t family, uint32_t index,
                                                VkQueue* queue) {
  Device* d = find_device(device);
  if (!d || !d->shared || !queue) return;
  if (d->sparse) return GetDeviceQueue(device, family, index, queue);
  d->shared->GetDeviceQueue(device, family, index, queue);
  remember(*d, *queue);
}

VKAPI_ATTR void VKAPI_CALL SharedGetDeviceQueue2(VkDevice device, const VkDeviceQueueInfo2* info,
                                                 VkQueue* queue) {
  Device* d = find_device(device);
  if (!d || !d->shared || !queue) return;
  if (d->sparse) return GetDeviceQueue2(device, info, queue);
  d->shared->GetDeviceQueue2(device, info, queue);
  remember(*d, *queue);
}

VKAPI_ATTR VkResult VKAPI_CALL SharedQueueSubmit(VkQueue queue, uint32_t count,
                                                 const VkSubmitInfo* submits, VkFence fence) {
  Device* d = shared_device(queue);
  if (!d) return VK_ERROR_DEVICE_LOST;  // not a queue this ICD handed out
  if (VkResult r = before_submit(*d, "vkQueueSubmit"); r != VK_SUCCESS) return r;
  if (d->sparse) return QueueSubmit(queue, count, submits, fence);
  return d->shared->QueueSubmit(queue, count, submits, fence);
}

VKAPI_ATTR VkResult VKAPI_CALL SharedQueueSubmit2(VkQueue queue, uint32_t count,
                                                  const VkSubmitInfo2* submits, VkFence fence) {
  Device* d = shared_device(queue);
  if (!d || !d->shared->QueueSubmit2) return VK_ERROR_DEVICE_LOST;
  if (VkResult r = before_submit(*d, "vkQueueSubmit2"); r != VK_SUCCESS) return r;
  if (d->sparse) return QueueSubmit2(queue, count, submits, fence);
  return d->shared->QueueSubmit2(queue, count, submits, fence);
}

}  // namespace icd

namespace {

const ProcEntry kSharedCommands[] = {
    {"vkGetDeviceQueue", proc(icd::SharedGetDeviceQueue)},
    {"vkGetDeviceQueue2", proc(icd::SharedGetDeviceQueue2)},
    {"vkQueueSubmit", proc(icd::SharedQueueSubmit)},
    {"vkQueueSubmit2", proc(icd::SharedQueueSubmit2)},
    {"vkQueueSubmit2KHR", proc(icd::SharedQueueSubmit2)},
};

}  // namespace

PFN_vkVoidFunction shared_memory_command(const char* name) {
  return find_proc(kSharedCommands, name);
}

bool shared_memory_init(Device& d) {
  auto s = std::make_unique<SharedMemoryDevice>();
  s->GetDeviceQueue = device_fn<PFN_vkGetDeviceQueue>(d, "vkGetDeviceQueue");
  s->GetDeviceQueue2 = device_fn<PFN_vkGetDeviceQueue2>(d, "vkGetDeviceQueue2");
  s->QueueSubmit = device_fn<PFN_vkQueueSubmit>(d, "vkQueueSubmit");
  s->QueueSubmit2 = device_fn<PFN_vkQueueSubmit2>(d, "vkQueueSubmit2", "vkQueueSubmit2KHR");
  if (!s->GetDeviceQueue || !s->GetDeviceQueue2 || !s->QueueSubmit) {
    log_error("lavapipe lacks the queue commands dma-buf memory needs");
    return false;
  }
  d.shared = std::move(s);
  return true;
}

void shared_memory_finish(Device& d) {
  std::vector<VkQueue> known;
  {
    std::lock_guard<std::mutex> g(d.lock);
    known.swap(d.shared->known_queues);
    d.shared->memories.clear();
  }
  for (VkQueue q : known) remove_queue(q);
}

}  // namespace wsys::vk
