// The loader-ICD interface: the three exported vk_icd* functions, and the
// proc-address lookups that return the ICD's own commands by name and
// lavapipe's for everything else.
#include <cstring>
#include <string>

#include "vulkan/entry_points.h"
#include "vulkan/executor.h"
#include "vulkan/proc_table.h"
#include "vulkan/shared_memory.h"
#include "vulkan/sparse.h"

#define WSYS_VK_EXPORT extern "C" __attribute__((visibility("default")))

WSYS_VK_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vk_icdNegotiateLoaderICDInterfaceVersion(
    uint32_t* version);
WSYS_VK_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vk_icdGetInstanceProcAddr(
    VkInstance instance, const char* name);
WSYS_VK_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vk_icdGetPhysicalDeviceProcAddr(
    VkInstance instance, const char* name);

namespace wsys::vk {

namespace {

// Commands on a VkDevice or its children.
const ProcEntry kDeviceCommands[] = {
    {"vkGetDeviceProcAddr", proc(icd::GetDeviceProcAddr)},
    {"vkDestroyDevice", proc(icd::DestroyDevice)},
    {"vkAllocateMemory", proc(icd::AllocateMemory)},
    {"vkFreeMemory", proc(icd::FreeMemory)},
    {"vkMapMemory", proc(icd::MapMemory)},
    {"vkUnmapMemory", proc(icd::UnmapMemory)},
    {"vkGetDeviceMemoryCommitment", proc(icd::GetDeviceMemoryCommitment)},
    {"vkGetMemoryFdKHR", proc(icd::GetMemoryFdKHR)},
    {"vkGetMemoryFdPropertiesKHR", proc(icd::GetMemoryFdPropertiesKHR)},
    {"vkGetMemoryHostPointerPropertiesEXT", proc(icd::GetMemoryHostPointerPropertiesEXT)},
    {"vkGetWsysMemoryStatsWSYS", proc(icd::GetWsysMemoryStatsWSYS)},
    {"vkGetWsysMemoryInfoWSYS", proc(icd::GetWsysMemoryInfoWSYS)},
    {"vkGetWsysSharedFnsWSYS", proc(icd::GetWsysSharedFnsWSYS)},
    {"vkGetWsysMemoryReportWSYS", proc(icd::GetWsysMemoryReportWSYS)},
};

// Commands on a VkPhysicalDevice (core and KHR spellings: the loader asks
// for whichever the application's API version calls for).
const ProcEntry kPhysicalDeviceCommands[] = {
    {"vkGetPhysicalDeviceProperties", proc(icd::GetPhysicalDeviceProperties)},
    {"vkGetPhysicalDeviceProperties2", proc(icd::GetPhysicalDeviceProperties2)},
    {"vkGetPhysicalDeviceProperties2KHR", proc(icd::GetPhysicalDeviceProperties2)},
    {"vkGetPhysicalDeviceMemoryProperties", proc(icd::GetPhysicalDeviceMemoryProperties)},
    {"vkGetPhysicalDeviceMemoryProperties2", proc(icd::GetPhysicalDeviceMemoryProperties2)},
    {"vkGetPhysicalDeviceMemoryProperties2KHR", proc(icd::GetPhysicalDeviceMemoryProperties2)},
    {"vkEnumerateDeviceExtensionProperties", proc(icd::EnumerateDeviceExtensionProperties)},
    {"vkGetPhysicalDeviceExternalBufferProperties",
     proc(icd::GetPhysicalDeviceExternalBufferProperties)},
    {"vkGetPhysicalDeviceExternalBufferPropertiesKHR",
     proc(icd::GetPhysicalDeviceExternalBufferProperties)},
    {"vkGetPhysicalDeviceImageFormatProperties", proc(icd::GetPhysicalDeviceImageFormatProperties)},
    {"vkGetPhysicalDeviceImageFormatProperties2", proc(icd::GetPhysicalDeviceImageFormatProperties2)},
    {"vkGetPhysicalDeviceImageFormatProperties2KHR",
     proc(icd::GetPhysicalDeviceImageFormatProperties2)},
    {"vkGetPhysicalDeviceFeatures", proc(icd::GetPhysicalDeviceFeatures)},
    {"vkGetPhysicalDeviceFeatures2", proc(icd::GetPhysicalDeviceFeatures2)},
    {"vkGetPhysicalDeviceFeatures2KHR", proc(icd::GetPhysicalDeviceFeatures2)},
    {"vkGetPhysicalDeviceQueueFamilyProperties", proc(icd::GetPhysicalDeviceQueueFamilyProperties)},
    {"vkGetPhysicalDeviceQueueFamilyProperties2", proc(icd::GetPhysicalDeviceQueueFamilyProperties2)},
    {"vkGetPhysicalDeviceQueueFamilyProperties2KHR",
     proc(icd::GetPhysicalDeviceQueueFamilyProperties2)},
    {"vkCreateDevice", proc(icd::CreateDevice)},
};

// Commands on the instance, and the loader-interface functions themselves
// (interface version 7 lets the loader look those up by name).
const ProcEntry kInstanceCommands[] = {
    {"vkGetInstanceProcAddr", proc(vk_icdGetInstanceProcAddr)},
    {"vkCreateInstance", proc(icd::CreateInstance)},
    {"vkDestroyInstance", proc(icd::DestroyInstance)},
    {"vkEnumeratePhysicalDevices", proc(icd::EnumeratePhysicalDevices)},
    {"vkEnumeratePhysicalDeviceGroups", proc(icd::EnumeratePhysicalDeviceGroups)},
    {"vkEnumeratePhysicalDeviceGroupsKHR", proc(icd::EnumeratePhysicalDeviceGroups)},
    {"vk_icdNegotiateLoaderICDInterfaceVersion", proc(vk_icdNegotiateLoaderICDInterfaceVersion)},
    {"vk_icdGetInstanceProcAddr", proc(vk_icdGetInstanceProcAddr)},
    {"vk_icdGetPhysicalDeviceProcAddr", proc(vk_icdGetPhysicalDeviceProcAddr)},
};


}  // namespace

namespace icd {

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* name) {
  if (!name) return nullptr;
  if (PFN_vkVoidFunction f = find_proc(kDeviceCommands, name)) return f;
  Device* d = find_device(device);
  if (!d) return nullptr;
  PFN_vkVoidFunction executor_fn = d->fn.GetDeviceProcAddr(device, name);
  // Memory requirements (memoryTypeBits), flush and invalidate are the
  // ICD's where its memory types are not lavapipe's (a non-coherent device
  // with cached mappings); they call the sparse commands where those apply.
  if (executor_fn && d->physical->memory.remapped)
    if (PFN_vkVoidFunction f = remapped_memory_command(name)) return f;
  // Queue commands around the model's dma-buf memory (shared_memory.h),
  // which call the sparse ones in turn.
  if (executor_fn && d->shared)
    if (PFN_vkVoidFunction f = shared_memory_command(name)) return f;
  // Buffer and queue commands are the ICD's only on a device with sparse
  // features enabled (and only where lavapipe has the command enabled
  // too): every other device calls lavapipe's directly.
  if (executor_fn && d->sparse)
    if (PFN_vkVoidFunction f = sparse_device_command(name)) return f;
  return executor_fn;
}

}  // namespace icd

}  // namespace wsys::vk

using namespace wsys::vk;

WSYS_VK_EXPORT VKAPI_ATTR VkResult VKAPI_CALL vk_icdNegotiateLoaderICDInterfaceVersion(
    uint32_t* version) {
  if (!version) return VK_ERROR_INCOMPATIBLE_DRIVER;
  std::string why;
  if (!executor_negotiate(version, &why)) {
    log_error("%s", why.c_str());
    return VK_ERROR_INCOMPATIBLE_DRIVER;
  }
  return VK_SUCCESS;
}

WSYS_VK_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vk_icdGetInstanceProcAddr(
    VkInstance instance, const char* name) {
  if (!name) return nullptr;
  if (PFN_vkVoidFunction f = find_proc(kInstanceCommands, name)) return f;
  if (PFN_vkVoidFunction f = find_proc(kPhysicalDeviceCommands, name)) return f;
  if (PFN_vkVoidFunction f = find_proc(kDeviceCommands, name)) return f;
  return executor_proc(instance, name);
}

WSYS_VK_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vk_icdGetPhysicalDeviceProcAddr(
    VkInstance instance, const char* name) {
  if (!name) return nullptr;
  if (PFN_vkVoidFunction f = find_proc(kPhysicalDeviceCommands, name)) return f;
  const Executor* e = executor();
  return e && e->gpdpa ? e->gpdpa(instance, name) : nullptr;
}
