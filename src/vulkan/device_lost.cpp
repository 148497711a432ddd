// Device loss. A VM_BIND that fails inside vkQueueBindSparse leaves the
// device VM in a state the application did not ask for (the kernel's answer
// is an unusable VM), so the VkDevice is lost: from then on every queue and
// wait command of that device returns VK_ERROR_DEVICE_LOST, as the Vulkan
// spec lets a lost device do, while other VkDevices carry on. Only devices
// with sparse state can be lost (nothing else binds on a queue), so only
// they get these wrappers from GetDeviceProcAddr (sparse_device.cpp): the
// other devices keep lavapipe's commands with no lookup in between.
#include <cstdarg>
#include <cstdio>

#include "vulkan/sparse.h"

namespace wsys::vk {

void lose_device(Device& d, const char* fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  bool was = d.lost.exchange(true);
  if (!was) log_error("device lost: %s (every later queue and wait command says so)", why);
}

namespace icd {

namespace {

SparseFns* fns_of(Device* d) { return d && d->sparse ? &d->sparse->fn : nullptr; }

// A wait or a status query: lavapipe answers first (the work it waits for
// may end), then a lost device says so whatever lavapipe said.
VkResult after(Device* d, VkResult r) {
  return d && d->lost.load() ? VK_ERROR_DEVICE_LOST : r;
}

}  // namespace

VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit(VkQueue queue, uint32_t count,
                                           const VkSubmitInfo* submits, VkFence fence) {
  Device* d = find_queue_device(queue);
  SparseFns* f = fns_of(d);
  if (!f) return VK_ERROR_DEVICE_LOST;  // not a queue this ICD handed out
  if (d->lost.load()) return VK_ERROR_DEVICE_LOST;
  return f->QueueSubmit(queue, count, submits, fence);
}

VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit2(VkQueue queue, uint32_t count,
                                            const VkSubmitInfo2* submits, VkFence fence) {
  Device* d = find_queue_device(queue);
  SparseFns* f = fns_of(d);
  if (!f || !f->QueueSubmit2) return VK_ERROR_DEVICE_LOST;
  if (d->lost.load()) return VK_ERROR_DEVICE_LOST;
  return f->QueueSubmit2(queue, count, submits, fence);
}

VKAPI_ATTR VkResult VKAPI_CALL QueueWaitIdle(VkQueue queue) {
  Device* d = find_queue_device(queue);
  SparseFns* f = fns_of(d);
  if (!f) return VK_ERROR_DEVICE_LOST;
  return after(d, f->QueueWaitIdle(queue));
}

VKAPI_ATTR VkResult VKAPI_CALL DeviceWaitIdle(VkDevice device) {
  Device* d = find_device(device);
  SparseFns* f = fns_of(d);
  if (!f) return VK_ERROR_DEVICE_LOST;
  return after(d, f->DeviceWaitIdle(device));
}

VKAPI_ATTR VkResult VKAPI_CALL WaitForFences(VkDevice device, uint32_t count,
                                             const VkFence* fences, VkBool32 all,
                                             uint64_t timeout) {
  Device* d = find_device(device);
  SparseFns* f = fns_of(d);
  if (!f) return VK_ERROR_DEVICE_LOST;
  if (d->lost.load()) return VK_ERROR_DEVICE_LOST;  // its fences may never signal
  return after(d, f->WaitForFences(device, count, fences, all, timeout));
}

VKAPI_ATTR VkResult VKAPI_CALL GetFenceStatus(VkDevice device, VkFence fence) {
  Device* d = find_device(device);
  SparseFns* f = fns_of(d);
  if (!f) return VK_ERROR_DEVICE_LOST;
  return after(d, f->GetFenceStatus(device, fence));
}

VKAPI_ATTR VkResult VKAPI_CALL WaitSemaphores(VkDevice device, const VkSemaphoreWaitInfo* info,
                                              uint64_t timeout) {
  Device* d = find_device(device);
  SparseFns* f = fns_of(d);
  if (!f) return VK_ERROR_DEVICE_LOST;
  if (d->lost.load()) return VK_ERROR_DEVICE_LOST;
  return after(d, f->WaitSemaphores(device, info, timeout));
}

VKAPI_ATTR VkResult VKAPI_CALL GetSemaphoreCounterValue(VkDevice device, VkSemaphore sem,
                                                        uint64_t* value) {
  Device* d = find_device(device);
  SparseFns* f = fns_of(d);
  if (!f || !f->GetSemaphoreCounterValue) return VK_ERROR_DEVICE_LOST;
  return after(d, f->GetSemaphoreCounterValue(device, sem, value));
}

}  // namespace icd

}  // namespace wsys::vk
