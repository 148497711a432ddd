// What the ICD keeps per Vulkan object. Dispatchable handles are lavapipe's
// own (the loader writes its dispatch pointer into their first word), so
// nothing can be stored in them: records are found through handle tables
// (registry.cpp). VkDeviceMemory handles are lavapipe's too, so every
// command that only passes memory along (binds, flushes) is forwarded
// untouched and only the memory commands look the record up.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vulkan/memory_types.h"
#include "vulkan/vk.h"
#include "wsys/bo.hpp"
#include "wsys/device.hpp"
#include "wsys/shared_buffer.hpp"

namespace wsys::vk {

struct Instance;
struct Device;
struct SparseDevice;  // sparse.h
struct SharedMemoryDevice;  // shared_memory.h

// lavapipe's instance-level commands, looked up with the real VkInstance
// (lavapipe answers only global commands for a null one).
struct InstanceFns {
  PFN_vkDestroyInstance DestroyInstance = nullptr;
  PFN_vkEnumeratePhysicalDevices EnumeratePhysicalDevices = nullptr;
  PFN_vkEnumeratePhysicalDeviceGroups EnumeratePhysicalDeviceGroups = nullptr;
  PFN_vkGetPhysicalDeviceProperties GetPhysicalDeviceProperties = nullptr;
  PFN_vkGetPhysicalDeviceProperties2 GetPhysicalDeviceProperties2 = nullptr;
  PFN_vkGetPhysicalDeviceMemoryProperties GetPhysicalDeviceMemoryProperties = nullptr;
  PFN_vkGetPhysicalDeviceFeatures GetPhysicalDeviceFeatures = nullptr;
  PFN_vkGetPhysicalDeviceFeatures2 GetPhysicalDeviceFeatures2 = nullptr;
  PFN_vkGetPhysicalDeviceQueueFamilyProperties GetPhysicalDeviceQueueFamilyProperties = nullptr;
  PFN_vkGetPhysicalDeviceQueueFamilyProperties2 GetPhysicalDeviceQueueFamilyProperties2 = nullptr;
  PFN_vkEnumerateDeviceExtensionProperties EnumerateDeviceExtensionProperties = nullptr;
  PFN_vkGetPhysicalDeviceImageFormatProperties GetPhysicalDeviceImageFormatProperties = nullptr;
  PFN_vkGetPhysicalDeviceImageFormatProperties2 GetPhysicalDeviceImageFormatProperties2 = nullptr;
  PFN_vkCreateDevice CreateDevice = nullptr;
  PFN_vkGetDeviceProcAddr GetDeviceProcAddr = nullptr;
};

struct PhysicalDevice {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  Instance* instance = nullptr;
  DeviceInfo wsys_info;      // of the wsys device every VkDevice opens
  std::string wsys_node;     // its spec ("sim:panthor", "/dev/dri/renderD128")
  std::string gpu_name;      // "Mali-G610"
  std::string device_name;   // VkPhysicalDeviceProperties::deviceName
  uint64_t heap_bytes = 0;
  VkDeviceSize max_allocation_bytes = 0;
  MemoryTypes memory;  // what the application sees, and lavapipe's type behind each
  std::vector<VkExtensionProperties> extensions;  // likewise
  // VK_EXT_external_memory_dma_buf is offered: on a real device BOs export
  // as real dma-bufs other drivers can import; on the model (whose GEM
  // exports are memfds) only where it has the central allocator
  // (DeviceInfo::shared_buffers, a model extension), and then dma-buf
  // memory is the allocator's buffers (dma_buf_shared, shared_memory.h).
  bool dma_buf = false;
  bool dma_buf_shared = false;
  // VK_EXT_external_memory_host is wsys's to offer: host pointers become
  // wsys BOs (Device::import_host Shared: the model's HOST_IMPORT, or
  // udmabuf; docs/host-memory.md).
  bool host_memory = false;
  static constexpr VkExternalMemoryHandleTypeFlags kHostHandleTypes =
      VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT |
      VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_MAPPED_FOREIGN_MEMORY_BIT_EXT;
  // `t` is exactly one host handle type and host memory is offered.
  bool host_type_ok(VkExternalMemoryHandleTypeFlags t) const {
    return host_memory && t != 0 && (t & (t - 1)) == 0 && (t & kHostHandleTypes) != 0;
  }
  // The external memory handle types memory of this device can have.
  VkExternalMemoryHandleTypeFlags handle_types() const {
    return VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT |
           (dma_buf ? VkExternalMemoryHandleTypeFlags{VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT} : 0u);
  }
  // `t` names exactly one of those.
  bool handle_type_ok(VkExternalMemoryHandleTypeFlags t) const {
    return t != 0 && (t & (t - 1)) == 0 && (t & handle_types()) != 0;
  }
  uint8_t device_uuid[VK_UUID_SIZE] = {};
  uint8_t driver_uuid[VK_UUID_SIZE] = {};
  // Sparse binding is offered (sparse.h): wsys has sparse buffers here
  // (not panfrost) and lavapipe reaches memory through the device VM (the
  // model's GPU view; not a real device, not WSYS_VK_EXECUTOR_VIEW=cpu).
  bool sparse = false;
  VkDeviceSize sparse_address_space_bytes = 0;  // the device VM's user range

  std::mutex devices_lock;
  std::vector<Device*> devices;  // live VkDevices: their memory is the heap's usage
};

struct Instance {
  VkInstance handle = VK_NULL_HANDLE;
  InstanceFns fn;
  std::mutex lock;  // guards what follows
  bool enumerated = false;
  std::vector<std::unique_ptr<PhysicalDevice>> physical;  // the usable ones, lavapipe's order
};

// One VkDeviceMemory: a wsys BO that lavapipe sees as host memory.
struct Memory {
  ~Memory();  // memory.cpp: unmaps shared_map
  // Null only for exported dma-buf memory on the model until the GPU's
  // first use (shared_memory.h).
  BoRef bo;
  // dma-buf memory on the model: the central allocator's buffer (exported:
  // made by vkAllocateMemory; imported: the application's fd), and for
  // exported memory lavapipe's CPU mapping of it.
  std::shared_ptr<SharedBuffer> shared;
  void* shared_map = nullptr;
  VkDeviceSize shared_map_bytes = 0;
  VkDeviceSize size = 0;             // allocationSize
  VkDeviceSize executor_size = 0;    // what lavapipe imported (4 KiB multiple)
  void* executor_address = nullptr;  // what lavapipe imported: the GPU view, or the CPU mapping
  uint32_t type_index = 0;           // the application's numbering (memory_types.h)
  bool cpu_cached = false;           // a kAllocCpuCached BO: flushes do cache maintenance
  // The range vkMapMemory mapped (under Device::lock; memory_sync.cpp checks
  // flushed ranges against it).
  bool mapped = false;
  VkDeviceSize map_offset = 0, map_end = 0;
  bool exportable = false;
  bool imported = false;
  bool dedicated = false;
  bool host = false;  // VK_EXT_external_memory_host: the application's pages
};

struct DeviceFns {
  PFN_vkGetDeviceProcAddr GetDeviceProcAddr = nullptr;
  PFN_vkDestroyDevice DestroyDevice = nullptr;
  PFN_vkAllocateMemory AllocateMemory = nullptr;
  PFN_vkFreeMemory FreeMemory = nullptr;
};

// The memory requirement commands whose memoryTypeBits the ICD translates
// where its memory types are not lavapipe's (memory_requirements.cpp): the
// sparse paths' on a device with sparse state, else lavapipe's.
struct RequirementFns {
  PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements = nullptr;
  PFN_vkGetBufferMemoryRequirements2 GetBufferMemoryRequirements2 = nullptr;
  PFN_vkGetDeviceBufferMemoryRequirements GetDeviceBufferMemoryRequirements = nullptr;
  PFN_vkGetImageMemoryRequirements GetImageMemoryRequirements = nullptr;
  PFN_vkGetImageMemoryRequirements2 GetImageMemoryRequirements2 = nullptr;
  PFN_vkGetDeviceImageMemoryRequirements GetDeviceImageMemoryRequirements = nullptr;
};

struct Device {
  Device();
  ~Device();  // out of line: SparseDevice is complete in device.cpp only
  VkDevice handle = VK_NULL_HANDLE;
  PhysicalDevice* physical = nullptr;
  std::shared_ptr<wsys::Device> wsys;
  DeviceFns fn;
  RequirementFns requirements;  // set where physical->memory.remapped
  // lavapipe gets CPU mappings instead of the GPU view (a real device has
  // no GPU view; WSYS_VK_EXECUTOR_VIEW=cpu forces it on the model).
  bool executor_via_cpu = false;

  std::mutex lock;  // guards `memory`
  std::unordered_map<VkDeviceMemory, std::unique_ptr<Memory>> memory;
  std::atomic<uint64_t> peak_committed_bytes{0};  // max of live + cached, sampled per allocation
  // Lost (a failed bind in vkQueueBindSparse): every later queue and wait
  // command says VK_ERROR_DEVICE_LOST (device_lost.cpp).
  std::atomic<bool> lost{false};
  // Sparse buffers and vkQueueBindSparse; null unless the application
  // enabled a sparse feature (then GetDeviceProcAddr returns lavapipe's own
  // buffer and queue commands, with no lookup in between).
  std::unique_ptr<SparseDevice> sparse;
  // The model's dma-buf memory (shared_memory.h); null unless the
  // application enabled VK_EXT_external_memory_dma_buf on such a device.
  std::unique_ptr<SharedMemoryDevice> shared;
};

// --- handle tables (registry.cpp); lookups are safe from any thread ---
Instance* find_instance(VkInstance h);
PhysicalDevice* find_physical_device(VkPhysicalDevice h);
Device* find_device(VkDevice h);
Device* find_queue_device(VkQueue h);  // queues of devices with sparse or dma-buf state only

void add_instance(std::unique_ptr<Instance> inst);
std::unique_ptr<Instance> remove_instance(VkInstance h);
void add_physical_device(PhysicalDevice* pd);  // owned by its Instance
void remove_physical_device(VkPhysicalDevice h);
void add_device(std::unique_ptr<Device> dev);
std::unique_ptr<Device> remove_device(VkDevice h);
void add_queue(VkQueue q, Device* d);
void remove_queue(VkQueue q);

}  // namespace wsys::vk
