// A VkDevice's sparse state: lavapipe's commands it calls, the commands
// GetDeviceProcAddr hands out for it, and its teardown.
#include <cstring>
#include <iterator>

#include "vulkan/entry_points.h"
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
    {"vkCreateImage", proc(icd::CreateImage)},
    {"vkDestroyImage", proc(icd::DestroyImage)},
    {"vkGetImageMemoryRequirements", proc(icd::GetImageMemoryRequirements)},
    {"vkGetImageMemoryRequirements2", proc(icd::GetImageMemoryRequirements2)},
    {"vkGetImageMemoryRequirements2KHR", proc(icd::GetImageMemoryRequirements2)},
    {"vkGetDeviceImageMemoryRequirements", proc(icd::GetDeviceImageMemoryRequirements)},
    {"vkGetDeviceImageMemoryRequirementsKHR", proc(icd::GetDeviceImageMemoryRequirements)},
    {"vkBindImageMemory", proc(icd::BindImageMemory)},
    {"vkBindImageMemory2", proc(icd::BindImageMemory2)},
    {"vkBindImageMemory2KHR", proc(icd::BindImageMemory2)},
    {"vkGetImageSparseMemoryRequirements", proc(icd::GetImageSparseMemoryRequirements)},
    {"vkGetImageSparseMemoryRequirements2", proc(icd::GetImageSparseMemoryRequirements2)},
    {"vkGetImageSparseMemoryRequirements2KHR", proc(icd::GetImageSparseMemoryRequirements2)},
    {"vkGetDeviceImageSparseMemoryRequirements", proc(icd::GetDeviceImageSparseMemoryRequirements)},
    {"vkGetDeviceImageSparseMemoryRequirementsKHR",
     proc(icd::GetDeviceImageSparseMemoryRequirements)},
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
  f.CreateImage = device_fn<PFN_vkCreateImage>(d, "vkCreateImage");
  f.DestroyImage = device_fn<PFN_vkDestroyImage>(d, "vkDestroyImage");
  f.GetImageMemoryRequirements =
      device_fn<PFN_vkGetImageMemoryRequirements>(d, "vkGetImageMemoryRequirements");
  f.GetImageMemoryRequirements2 = device_fn<PFN_vkGetImageMemoryRequirements2>(
      d, "vkGetImageMemoryRequirements2", "vkGetImageMemoryRequirements2KHR");
  f.GetDeviceImageMemoryRequirements = device_fn<PFN_vkGetDeviceImageMemoryRequirements>(
      d, "vkGetDeviceImageMemoryRequirements", "vkGetDeviceImageMemoryRequirementsKHR");
  f.BindImageMemory = device_fn<PFN_vkBindImageMemory>(d, "vkBindImageMemory");
  f.BindImageMemory2 =
      device_fn<PFN_vkBindImageMemory2>(d, "vkBindImageMemory2", "vkBindImageMemory2KHR");
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
  // BindBufferMemory2, their image twins, GetDeviceQueue2) are only reached
  // through their own names, which GetDeviceProcAddr hands out only when
  // lavapipe has them.
  if (!f.CreateBuffer || !f.DestroyBuffer || !f.GetBufferMemoryRequirements ||
      !f.BindBufferMemory || !f.CreateImage || !f.DestroyImage || !f.GetImageMemoryRequirements ||
      !f.BindImageMemory || !f.GetDeviceQueue || !f.QueueSubmit || !f.CreateSemaphore ||
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
  std::unordered_map<VkImage, std::unique_ptr<SparseImageRecord>> images;
  std::vector<VkQueue> known;
  {
    std::lock_guard<std::mutex> g(s.lock);
    queues.swap(s.queues);
    buffers.swap(s.buffers);
    images.swap(s.images);
    known.swap(s.known_queues);
  }
  for (VkQueue q : known) remove_queue(q);
  // Workers first: they wait on and signal lavapipe's semaphores.
  queues.clear();
  // Buffers and images the application did not destroy: their lavapipe
  // objects are the application's (made with its allocator), left as
  // lavapipe would leave them; the ICD's import goes before lavapipe's device, the VA
  // range with the record.
  for (auto& [h, rec] : buffers) {
    (void)h;
    d.fn.FreeMemory(d.handle, rec->executor_memory, nullptr);
    (void)rec->sb->destroy();
  }
  for (auto& [h, rec] : images) {  // likewise
    (void)h;
    d.fn.FreeMemory(d.handle, rec->executor_memory, nullptr);
    (void)rec->sb->destroy();
  }
}

}  // namespace wsys::vk
