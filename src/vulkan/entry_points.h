// The commands the ICD implements itself (everything else is lavapipe's,
// returned as it is by the proc-address functions in icd_entry.cpp).
#pragma once

#include "vulkan/objects.h"
#include "vulkan/vk.h"
#include "vulkan/wsys_vk.h"

namespace wsys::vk::icd {

#define WSYS_VK_ENTRY VKAPI_ATTR

// instance.cpp
WSYS_VK_ENTRY VkResult VKAPI_CALL CreateInstance(const VkInstanceCreateInfo* ci,
                                                 const VkAllocationCallbacks* alloc,
                                                 VkInstance* out);
WSYS_VK_ENTRY void VKAPI_CALL DestroyInstance(VkInstance instance,
                                              const VkAllocationCallbacks* alloc);
WSYS_VK_ENTRY VkResult VKAPI_CALL EnumeratePhysicalDevices(VkInstance instance, uint32_t* count,
                                                           VkPhysicalDevice* out);
WSYS_VK_ENTRY VkResult VKAPI_CALL EnumeratePhysicalDeviceGroups(
    VkInstance instance, uint32_t* count, VkPhysicalDeviceGroupProperties* out);

// physical_device.cpp
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceProperties(VkPhysicalDevice pd,
                                                          VkPhysicalDeviceProperties* p);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceProperties2(VkPhysicalDevice pd,
                                                           VkPhysicalDeviceProperties2* p);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceMemoryProperties(
    VkPhysicalDevice pd, VkPhysicalDeviceMemoryProperties* p);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceMemoryProperties2(
    VkPhysicalDevice pd, VkPhysicalDeviceMemoryProperties2* p);
WSYS_VK_ENTRY VkResult VKAPI_CALL EnumerateDeviceExtensionProperties(
    VkPhysicalDevice pd, const char* layer, uint32_t* count, VkExtensionProperties* out);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceExternalBufferProperties(
    VkPhysicalDevice pd, const VkPhysicalDeviceExternalBufferInfo* info,
    VkExternalBufferProperties* out);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetPhysicalDeviceImageFormatProperties(
    VkPhysicalDevice pd, VkFormat format, VkImageType type, VkImageTiling tiling,
    VkImageUsageFlags usage, VkImageCreateFlags flags, VkImageFormatProperties* out);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetPhysicalDeviceImageFormatProperties2(
    VkPhysicalDevice pd, const VkPhysicalDeviceImageFormatInfo2* info,
    VkImageFormatProperties2* out);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceFeatures(VkPhysicalDevice pd,
                                                        VkPhysicalDeviceFeatures* f);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceFeatures2(VkPhysicalDevice pd,
                                                         VkPhysicalDeviceFeatures2* f);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceQueueFamilyProperties(
    VkPhysicalDevice pd, uint32_t* count, VkQueueFamilyProperties* out);
WSYS_VK_ENTRY void VKAPI_CALL GetPhysicalDeviceQueueFamilyProperties2(
    VkPhysicalDevice pd, uint32_t* count, VkQueueFamilyProperties2* out);

// device.cpp
WSYS_VK_ENTRY VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice pd, const VkDeviceCreateInfo* ci,
                                               const VkAllocationCallbacks* alloc, VkDevice* out);
WSYS_VK_ENTRY void VKAPI_CALL DestroyDevice(VkDevice device, const VkAllocationCallbacks* alloc);
WSYS_VK_ENTRY PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* name);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetWsysMemoryStatsWSYS(VkDevice device,
                                                         WsysVkMemoryStats* stats);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetWsysMemoryReportWSYS(VkDevice device, size_t* size,
                                                          char* text);

// memory.cpp
WSYS_VK_ENTRY VkResult VKAPI_CALL AllocateMemory(VkDevice device, const VkMemoryAllocateInfo* info,
                                                 const VkAllocationCallbacks* alloc,
                                                 VkDeviceMemory* out);
WSYS_VK_ENTRY void VKAPI_CALL FreeMemory(VkDevice device, VkDeviceMemory memory,
                                         const VkAllocationCallbacks* alloc);
WSYS_VK_ENTRY VkResult VKAPI_CALL MapMemory(VkDevice device, VkDeviceMemory memory,
                                            VkDeviceSize offset, VkDeviceSize size,
                                            VkMemoryMapFlags flags, void** data);
WSYS_VK_ENTRY void VKAPI_CALL UnmapMemory(VkDevice device, VkDeviceMemory memory);
WSYS_VK_ENTRY void VKAPI_CALL GetDeviceMemoryCommitment(VkDevice device, VkDeviceMemory memory,
                                                        VkDeviceSize* committed);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetMemoryFdKHR(VkDevice device, const VkMemoryGetFdInfoKHR* info,
                                                 int* fd);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetMemoryFdPropertiesKHR(VkDevice device,
                                                           VkExternalMemoryHandleTypeFlagBits type,
                                                           int fd,
                                                           VkMemoryFdPropertiesKHR* props);
WSYS_VK_ENTRY VkResult VKAPI_CALL GetMemoryHostPointerPropertiesEXT(
    VkDevice device, VkExternalMemoryHandleTypeFlagBits type, const void* ptr,
    VkMemoryHostPointerPropertiesEXT* props);
// shared_api.cpp
WSYS_VK_ENTRY VkResult VKAPI_CALL GetWsysSharedFnsWSYS(VkDevice device, WsysVkSharedFns* fns);

WSYS_VK_ENTRY VkResult VKAPI_CALL GetWsysMemoryInfoWSYS(VkDevice device, VkDeviceMemory memory,
                                                        WsysVkMemoryInfo* info);

// memory_sync.cpp (where the ICD offers a non-coherent memory type)
WSYS_VK_ENTRY VkResult VKAPI_CALL FlushMappedMemoryRanges(VkDevice device, uint32_t count,
                                                          const VkMappedMemoryRange* ranges);
WSYS_VK_ENTRY VkResult VKAPI_CALL InvalidateMappedMemoryRanges(VkDevice device, uint32_t count,
                                                               const VkMappedMemoryRange* ranges);

#undef WSYS_VK_ENTRY

}  // namespace wsys::vk::icd

namespace wsys::vk {

// Bytes of device memory the physical device's VkDevices hold (wsys's live
// bytes): the heap's usage for VK_EXT_memory_budget.
uint64_t heap_usage_bytes(PhysicalDevice& pd);

// lavapipe's device command `name` on `d`, else its `alt` spelling (the
// extension's, for an application whose API version predates the core one).
template <typename Fn>
Fn device_fn(Device& d, const char* name, const char* alt = nullptr) {
  PFN_vkVoidFunction f = d.fn.GetDeviceProcAddr(d.handle, name);
  if (!f && alt) f = d.fn.GetDeviceProcAddr(d.handle, alt);
  return reinterpret_cast<Fn>(f);
}

// Where the ICD's memory types are not lavapipe's (MemoryTypes::remapped):
// the commands GetDeviceProcAddr hands out for it (memory requirements with
// translated memoryTypeBits, flush and invalidate; null for other names),
// and what they call, set up at vkCreateDevice (memory_requirements.cpp).
PFN_vkVoidFunction remapped_memory_command(const char* name);
void memory_requirements_init(Device& d);

// WSYS_VK_EXECUTOR_VIEW=cpu (device.cpp): lavapipe gets CPU mappings even
// where the device VM has a GPU view.
bool executor_via_cpu_from_env();

}  // namespace wsys::vk
