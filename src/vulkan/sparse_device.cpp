// A VkDevice's sparse state: lavapipe's commands it calls, the commands
// GetDeviceProcAddr hands out for it, and its teardown.
#include <cstring>
#include <iterator>

#include "vulkan/proc_table.h"
#include "vulkan/sparse.h"

namespace wsys::vk {

namespace {

// Core and extension spellings alike: GetDeviceProcAddr returns one only
// when lavapipe has that spelling enabled on the device.
const ProcEntry kSparseCommands[] = {
    {"vkCreateBuffer", proc(icd::CreateBuffer)},
    {"vkDestroyBuffer", proc(icd::DestroyBuffer)},
    {"vkGetBufferMemoryRequirements", proc(icd::GetBufferMemoryRequirements)},
    {"vkGetBufferMemoryRequirements2", proc(icd::GetBufferMemoryRequirements2)},
    {"vkGetBufferMemoryRequirements2KHR", proc(icd::GetBufferMemoryRequirements2)},
    {"vkGetDeviceBufferMemoryRequirements", proc(icd::GetDeviceBufferMemoryRequirements)},
    {"vkGetDeviceBufferMemoryRequirementsKHR", proc(icd::GetDeviceBufferMemoryRequirements)},
    {"vkBindBufferMemory", proc(icd::BindBufferMemory)},
    {"vkBindBufferMemory2", proc(icd::BindBufferMemory2)},
    {"vkBindBufferMemory2KHR", proc(icd::BindBufferMemory2)},
    {"vkGetDeviceQueue", proc(icd::GetDeviceQueue)},
    {"vkGetDeviceQueue2", proc(icd::GetDeviceQueue2)},
    {"vkQueueBindSparse", proc(icd::QueueBindSparse)},
    // device loss (device_lost.cpp)
    {"vkQueueSubmit", proc(icd::QueueSubmit)},
    {"vkQueueSubmit2", proc(icd::QueueSubmit2)},
    {"vkQueueSubmit2KHR", proc(icd::QueueSubmit2)},
    {"vkQueueWaitIdle", proc(icd::QueueWaitIdle)},
    {"vkDeviceWaitIdle", proc(icd::DeviceWaitIdle)},
    {"vkWaitForFences", proc(icd::WaitForFences)},
    {"vkGetFenceStatus", proc(icd::GetFenceStatus)},
    {"vkWaitSemaphores", proc(icd::WaitSemaphores)},
    {"vkWaitSemaphoresKHR", proc(icd::WaitSemaphores)},
    {"vkGetSemaphoreCounterValue", proc(icd::GetSemaphoreCounterValue)},
    {"vkGetSemaphoreCounterValueKHR", proc(icd::GetSemaphoreCounterValue)},
};

// lavapipe's `name`, else its `alt` spelling (the extension's, for an
// application whose API version predates the core one).
template <typename Fn>
Fn device_fn(Device& d, const char* name, const char* alt = nullptr) {
  PFN_vkVoidFunction f = d.fn.GetDeviceProcAddr(d.handle, name);
  if (!f && alt) f = d.fn.GetDeviceProcAddr(d.handle, alt);
  return reinterpret_cast<Fn>(f);
}

}  // namespace

PFN_vkVoidFunction sparse_device_command(const char* name) {
  return find_proc(kSparseCommands, name);
}

bool sparse_device_init(Device& d, const SparseFeatures& enabled) {
  auto s = std::make_unique<SparseDevice>();
  s->enabled = enabled;
  SparseFns& f = s->fn;
  f.CreateBuffer = device_fn<PFN_vkCreateBuffer>(d, "vkCreateBuffer");
  f.DestroyBuffer = device_fn<PFN_vkDestroyBuffer>(d, "vkDestroyBuffer");
  f.GetBufferMemoryRequirements =
      device_fn<PFN_vkGetBufferMemoryRequirements>(d, "vkGetBufferMemoryRequirements");
  f.GetBufferMemoryRequirements2 = device_fn<PFN_vkGetBufferMemoryRequirements2>(
      d, "vkGetBufferMemoryRequirements2", "vkGetBufferMemoryRequirements2KHR");
  f.GetDeviceBufferMemoryRequirements = device_fn<PFN_vkGetDeviceBufferMemoryRequirements>(
      d, "vkGetDeviceBufferMemoryRequirements", "vkGetDeviceBufferMemoryRequirementsKHR");
  f.BindBufferMemory = device_fn<PFN_vkBindBufferMemory>(d, "vkBindBufferMemory");
  f.BindBufferMemory2 =
      device_fn<PFN_vkBindBufferMemory2>(d, "vkBindBufferMemory2", "vkBindBufferMemory2KHR");
  f.GetDeviceQueue = device_fn<PFN_vkGetDeviceQueue>(d, "vkGetDeviceQueue");
  f.GetDeviceQueue2 = device_fn<PFN_vkGetDeviceQueue2>(d, "vkGetDeviceQueue2");
  f.QueueSubmit = device_fn<PFN_vkQueueSubmit>(d, "vkQueueSubmit");
  f.CreateSemaphore = device_fn<PFN_vkCreateSemaphore>(d, "vkCreateSemaphore");
  f.DestroySemaphore = device_fn<PFN_vkDestroySemaphore>(d, "vkDestroySemaphore");
  f.WaitSemaphores = device_fn<PFN_vkWaitSemaphores>(d, "vkWaitSemaphores", "vkWaitSemaphoresKHR");
  f.SignalSemaphore =
      device_fn<PFN_vkSignalSemaphore>(d, "vkSignalSemaphore", "vkSignalSemaphoreKHR");
  f.QueueSubmit2 = device_fn<PFN_vkQueueSubmit2>(d, "vkQueueSubmit2", "vkQueueSubmit2KHR");
  f.QueueWaitIdle = device_fn<PFN_vkQueueWaitIdle>(d, "vkQueueWaitIdle");
  f.DeviceWaitIdle = device_fn<PFN_vkDeviceWaitIdle>(d, "vkDeviceWaitIdle");
  f.WaitForFences = device_fn<PFN_vkWaitForFences>(d, "vkWaitForFences");
  f.GetFenceStatus = device_fn<PFN_vkGetFenceStatus>(d, "vkGetFenceStatus");
  f.GetSemaphoreCounterValue = device_fn<PFN_vkGetSemaphoreCounterValue>(
      d, "vkGetSemaphoreCounterValue", "vkGetSemaphoreCounterValueKHR");
  // The optional ones (GetBufferMemoryRequirements2, GetDeviceBuffer...,
  // BindBufferMemory2, GetDeviceQueue2) are only reached through their own
  // names, which GetDeviceProcAddr hands out only when lavapipe has them.
  if (!f.CreateBuffer || !f.DestroyBuffer || !f.GetBufferMemoryRequirements ||
      !f.BindBufferMemory || !f.GetDeviceQueue || !f.QueueSubmit || !f.CreateSemaphore ||
      !f.DestroySemaphore || !f.WaitSemaphores || !f.SignalSemaphore || !f.QueueWaitIdle ||
      !f.DeviceWaitIdle || !f.WaitForFences || !f.GetFenceStatus) {
    log_error(
        "vkCreateDevice: lavapipe lacks commands sparse binding needs "
        "(timeline semaphores?)");
    return false;
  }
  d.sparse = std::move(s);
  return true;
}

void sparse_device_finish(Device& d) {
  SparseDevice& s = *d.sparse;
  std::unordered_map<VkQueue, SparseQueuePtr> queues;
  std::unordered_map<VkBuffer, std::unique_ptr<SparseBufferRecord>> buffers;
  std::vector<VkQueue> known;
  {
    std::lock_guard<std::mutex> g(s.lock);
    queues.swap(s.queues);
    buffers.swap(s.buffers);
    known.swap(s.known_queues);
  }
  for (VkQueue q : known) remove_queue(q);
  // Workers first: they wait on and signal lavapipe's semaphores.
  queues.clear();
  // Buffers the application did not destroy: their lavapipe buffers are
  // the application's (made with its allocator), left as lavapipe would
  // leave them; the ICD's import goes before lavapipe's device, the VA
  // range with the record.
  for (auto& [h, rec] : buffers) {
    (void)h;
    d.fn.FreeMemory(d.handle, rec->executor_memory, nullptr);
    (void)rec->sb->destroy();
  }
}

}  // namespace wsys::vk
