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
    vkDestroyPipeline(device, pipeline, nullptr);
    vkDestroyShaderModule(device, shader, nullptr);
    vkDestroyPipelineLayout(device, pipeline_layout, nullptr);
    vkDestroyDescriptorPool(device, descriptor_pool, nullptr);
    vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
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
  const VkDescriptorBufferInfo infos[2] = {{in, 0, VK_WHOLE_SIZE}, {out, 0, VK_WHOLE_SIZE}};
  VkWriteDescriptorSet writes[2] = {};
  for (uint32_t i = 0; i < 2; i++) {
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device, 2, writes, 0, nullptr);
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

  VkDescriptorSetLayoutBinding bindings[2] = {};
  for (uint32_t i = 0; i < 2; i++) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  lci.bindingCount = 2;
  lci.pBindings = bindings;
  if (!ok(vkCreateDescriptorSetLayout(device, &lci, nullptr, &set_layout),
          "vkCreateDescriptorSetLayout"))
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

  VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, 3 * sizeof(uint32_t)};
  VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &set_layout;
  plci.pushConstantRangeCount = 1;
  plci.pPushConstantRanges = &pcr;
  if (!ok(vkCreatePipelineLayout(device, &plci, nullptr, &pipeline_layout),
          "vkCreatePipelineLayout"))
    return VkSetup::kFailed;
  VkShaderModuleCreateInfo smci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smci.codeSize = sizeof kScaleAddSpv;
  smci.pCode = kScaleAddSpv;
  if (!ok(vkCreateShaderModule(device, &smci, nullptr, &shader), "vkCreateShaderModule"))
    return VkSetup::kFailed;
  VkComputePipelineCreateInfo cpci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpci.stage.module = shader;
  cpci.stage.pName = "main";
  cpci.layout = pipeline_layout;
  if (!ok(vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &cpci, nullptr, &pipeline),
          "vkCreateComputePipelines"))
    return VkSetup::kFailed;
  return VkSetup::kOk;
}

}  // namespace wsys::tools
