// VK_EXT_external_memory_dma_buf on the kernel model, backed by the central
// allocator (wsys::SharedBuffer; a model extension, docs/deferred-allocation.md).
//
// Exported memory is an allocator buffer with no placement: the application
// hands its fd to the display or camera, they attach, and the buffer is
// placed at its first use with all of their constraints. The GPU's attach
// (the PRIME import into the VkDevice's wsys device, which binds it into the
// VM and so is a first use) is therefore put off until the GPU can first
// touch the memory: the next queue submission of that VkDevice (or a sparse
// bind of it). Until then lavapipe reaches the pages through a CPU mapping
// of the dma-buf, the same pages the GPU mapping shows later.
//
// Each submission also announces a GPU access of every allocator buffer of
// the device (SYNC GPU): the kernel cannot see which buffers a queue-based
// GPU's job touches, so the frontend says so, and the allocator decides
// whether CPU caches need maintenance. Announcing all of them is the
// conservative choice (a buffer the job did not touch may be counted as
// accessed).
//
// Only devices that enabled the extension on the model get the queue
// wrappers below from vkGetDeviceProcAddr; every other device keeps
// lavapipe's queue commands with nothing in between.
#pragma once

#include <unordered_set>
#include <vector>

#include "vulkan/objects.h"

namespace wsys::vk {

struct SharedMemoryDevice {
  PFN_vkGetDeviceQueue GetDeviceQueue = nullptr;
  PFN_vkGetDeviceQueue2 GetDeviceQueue2 = nullptr;
  PFN_vkQueueSubmit QueueSubmit = nullptr;
  PFN_vkQueueSubmit2 QueueSubmit2 = nullptr;
  // Under Device::lock.
  std::vector<VkQueue> known_queues;     // registered for find_queue_device
  std::unordered_set<Memory*> memories;  // allocator-backed memory of the device
};

// At vkCreateDevice, when the application enabled the extension on a
// device whose dma-bufs are the allocator's (PhysicalDevice::dma_buf_shared).
bool shared_memory_init(Device& d);
// At vkDestroyDevice: forgets the queues.
void shared_memory_finish(Device& d);
// The wrappers vkGetDeviceProcAddr hands out for such a device (null for
// other names).
PFN_vkVoidFunction shared_memory_command(const char* name);

// The GPU's attach of an allocator-backed memory, once (caller holds
// Device::lock): its import into the wsys device. -EINVAL when the
// allocator refuses the GPU's constraints, -ENOMEM when the first use
// finds no room.
Result<void> shared_memory_attach_gpu(Device& d, Memory& m);

}  // namespace wsys::vk
