#include "scale_add_compute.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "scale_add.spv.h"  // kScaleAddSpv (tests/vulkan/shaders/scale_add.comp)

namespace wsys::tools {

bool ScaleAddCompute::ok(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return true;
  std::fprintf(stderr, "%s: %s: %d\n", tool_, what, static_cast<int>(r));
  return false;
}

ScaleAddCompute::~ScaleAddCompute() {
  if (device) {
    vkDeviceWaitIdle(device);
    scale_add.destroy(device);
    vkDestroyDescriptorPool(device, descriptor_pool, nullptr);
    vkDestroyCommandPool(device, pool, nullptr);
    vkDestroyDevice(device, nullptr);  // the wsys ICD prints its report here (WSYS_VK_REPORT)
  }
  if (instance) vkDestroyInstance(instance, nullptr);
}

VkSetup ScaleAddCompute::open(const char* app_name) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = app_name;
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  VkResult r = vkCreateInstance(&ici, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) return VkSetup::kNoDevice;
  if (!ok(r, "vkCreateInstance")) return VkSetup::kFailed;
  uint32_t n = 1;
  r = vkEnumeratePhysicalDevices(instance, &n, &physical);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n == 0) {
    std::fprintf(stderr, "%s: no Vulkan device\n", tool_);
    return VkSetup::kNoDevice;
  }
  vkGetPhysicalDeviceProperties(physical, &props);
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  return VkSetup::kOk;
}

bool ScaleAddCompute::has_device_extension(const char* name) const {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> v(n);
  vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, v.data());
  for (const VkExtensionProperties& e : v)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

void ScaleAddCompute::bind_buffers(VkDescriptorSet set, VkBuffer in, VkBuffer out) const {
  write_scale_add_buffers(device, set, in, out);
}

uint32_t ScaleAddCompute::memory_type(uint32_t bits, VkMemoryPropertyFlags want) const {
  for (uint32_t i = 0; i < memory.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (memory.memoryTypes[i].propertyFlags & want) == want) return i;
  return UINT32_MAX;
}

VkSetup ScaleAddCompute::create(std::span<const char* const> device_extensions, uint32_t sets,
                                bool free_sets) {
  uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, nullptr);
  std::vector<VkQueueFamilyProperties> fp(families);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, fp.data());
  family = UINT32_MAX;
  for (uint32_t i = 0; i < families && family == UINT32_MAX; i++)
    if (fp[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
  if (family == UINT32_MAX) {
    std::fprintf(stderr, "%s: %s has no compute queue\n", tool_, props.deviceName);
    return VkSetup::kNoDevice;
  }
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<uint32_t>(device_extensions.size());
  dci.ppEnabledExtensionNames = device_extensions.data();
  if (!ok(vkCreateDevice(physical, &dci, nullptr, &device), "vkCreateDevice"))
    return VkSetup::kFailed;
  vkGetDeviceQueue(device, family, 0, &queue);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = family;
  if (!ok(vkCreateCommandPool(device, &pci, nullptr, &pool), "vkCreateCommandPool"))
    return VkSetup::kFailed;

  const char* failed = "the scale-add pipeline";
  if (!ok(scale_add.create(device, kScaleAddSpv, sizeof kScaleAddSpv, &failed), failed))
    return VkSetup::kFailed;
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2 * sets};
  VkDescriptorPoolCreateInfo dpci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  if (free_sets) dpci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  dpci.maxSets = sets;
  dpci.poolSizeCount = 1;
  dpci.pPoolSizes = &ps;
  if (!ok(vkCreateDescriptorPool(device, &dpci, nullptr, &descriptor_pool),
          "vkCreateDescriptorPool"))
    return VkSetup::kFailed;

  return VkSetup::kOk;
}

}  // namespace wsys::tools
