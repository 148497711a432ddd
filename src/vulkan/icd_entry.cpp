// The loader-ICD interface: the three exported vk_icd* functions, and the
// proc-address lookups that return the ICD's own commands by name and
// lavapipe's for everything else.
#include <cstring>
#include <string>

#include "vulkan/entry_points.h"
#include "vulkan/executor.h"
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

struct Entry {
  const char* name;
  PFN_vkVoidFunction fn;
};

template <typename Fn>
constexpr PFN_vkVoidFunction F(Fn f) {
  return reinterpret_cast<PFN_vkVoidFunction>(f);
}

// Commands on a VkDevice or its children.
const Entry kDeviceCommands[] = {
    {"vkGetDeviceProcAddr", F(icd::GetDeviceProcAddr)},
    {"vkDestroyDevice", F(icd::DestroyDevice)},
    {"vkAllocateMemory", F(icd::AllocateMemory)},
    {"vkFreeMemory", F(icd::FreeMemory)},
    {"vkMapMemory", F(icd::MapMemory)},
    {"vkUnmapMemory", F(icd::UnmapMemory)},
    {"vkGetDeviceMemoryCommitment", F(icd::GetDeviceMemoryCommitment)},
    {"vkGetMemoryFdKHR", F(icd::GetMemoryFdKHR)},
    {"vkGetMemoryFdPropertiesKHR", F(icd::GetMemoryFdPropertiesKHR)},
    {"vkGetWsysMemoryStatsWSYS", F(icd::GetWsysMemoryStatsWSYS)},
    {"vkGetWsysMemoryInfoWSYS", F(icd::GetWsysMemoryInfoWSYS)},
    {"vkGetWsysMemoryReportWSYS", F(icd::GetWsysMemoryReportWSYS)},
};

// Commands on a VkPhysicalDevice (core and KHR spellings: the loader asks
// for whichever the application's API version calls for).
const Entry kPhysicalDeviceCommands[] = {
    {"vkGetPhysicalDeviceProperties", F(icd::GetPhysicalDeviceProperties)},
    {"vkGetPhysicalDeviceProperties2", F(icd::GetPhysicalDeviceProperties2)},
    {"vkGetPhysicalDeviceProperties2KHR", F(icd::GetPhysicalDeviceProperties2)},
    {"vkGetPhysicalDeviceMemoryProperties", F(icd::GetPhysicalDeviceMemoryProperties)},
    {"vkGetPhysicalDeviceMemoryProperties2", F(icd::GetPhysicalDeviceMemoryProperties2)},
    {"vkGetPhysicalDeviceMemoryProperties2KHR", F(icd::GetPhysicalDeviceMemoryProperties2)},
    {"vkEnumerateDeviceExtensionProperties", F(icd::EnumerateDeviceExtensionProperties)},
    {"vkGetPhysicalDeviceExternalBufferProperties",
     F(icd::GetPhysicalDeviceExternalBufferProperties)},
    {"vkGetPhysicalDeviceExternalBufferPropertiesKHR",
     F(icd::GetPhysicalDeviceExternalBufferProperties)},
    {"vkGetPhysicalDeviceImageFormatProperties2", F(icd::GetPhysicalDeviceImageFormatProperties2)},
    {"vkGetPhysicalDeviceImageFormatProperties2KHR",
     F(icd::GetPhysicalDeviceImageFormatProperties2)},
    {"vkGetPhysicalDeviceFeatures", F(icd::GetPhysicalDeviceFeatures)},
    {"vkGetPhysicalDeviceFeatures2", F(icd::GetPhysicalDeviceFeatures2)},
    {"vkGetPhysicalDeviceFeatures2KHR", F(icd::GetPhysicalDeviceFeatures2)},
    {"vkGetPhysicalDeviceQueueFamilyProperties", F(icd::GetPhysicalDeviceQueueFamilyProperties)},
    {"vkGetPhysicalDeviceQueueFamilyProperties2", F(icd::GetPhysicalDeviceQueueFamilyProperties2)},
    {"vkGetPhysicalDeviceQueueFamilyProperties2KHR",
     F(icd::GetPhysicalDeviceQueueFamilyProperties2)},
    {"vkCreateDevice", F(icd::CreateDevice)},
};

// Commands on the instance, and the loader-interface functions themselves
// (interface version 7 lets the loader look those up by name).
const Entry kInstanceCommands[] = {
    {"vkGetInstanceProcAddr", F(vk_icdGetInstanceProcAddr)},
    {"vkCreateInstance", F(icd::CreateInstance)},
    {"vkDestroyInstance", F(icd::DestroyInstance)},
    {"vkEnumeratePhysicalDevices", F(icd::EnumeratePhysicalDevices)},
    {"vkEnumeratePhysicalDeviceGroups", F(icd::EnumeratePhysicalDeviceGroups)},
    {"vkEnumeratePhysicalDeviceGroupsKHR", F(icd::EnumeratePhysicalDeviceGroups)},
    {"vk_icdNegotiateLoaderICDInterfaceVersion", F(vk_icdNegotiateLoaderICDInterfaceVersion)},
    {"vk_icdGetInstanceProcAddr", F(vk_icdGetInstanceProcAddr)},
    {"vk_icdGetPhysicalDeviceProcAddr", F(vk_icdGetPhysicalDeviceProcAddr)},
};

template <size_t N>
PFN_vkVoidFunction lookup(const Entry (&table)[N], const char* name) {
  for (const Entry& e : table)
    if (std::strcmp(e.name, name) == 0) return e.fn;
  return nullptr;
}

}  // namespace

namespace icd {

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL GetDeviceProcAddr(VkDevice device, const char* name) {
  if (!name) return nullptr;
  if (PFN_vkVoidFunction f = lookup(kDeviceCommands, name)) return f;
  Device* d = find_device(device);
  if (!d) return nullptr;
  PFN_vkVoidFunction executor_fn = d->fn.GetDeviceProcAddr(device, name);
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
  if (PFN_vkVoidFunction f = lookup(kInstanceCommands, name)) return f;
  if (PFN_vkVoidFunction f = lookup(kPhysicalDeviceCommands, name)) return f;
  if (PFN_vkVoidFunction f = lookup(kDeviceCommands, name)) return f;
  return executor_proc(instance, name);
}

WSYS_VK_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vk_icdGetPhysicalDeviceProcAddr(
    VkInstance instance, const char* name) {
  if (!name) return nullptr;
  if (PFN_vkVoidFunction f = lookup(kPhysicalDeviceCommands, name)) return f;
  const Executor* e = executor();
  return e && e->gpdpa ? e->gpdpa(instance, name) : nullptr;
}
