// The scale-add compute shader's Vulkan objects (tests/vulkan/shaders/
// scale_add.comp: out[i] = in[i] * mul + add + i for i < n; storage buffers
// `in` and `out` at bindings 0 and 1, push constants mul, add, n; 64
// invocations per group), shared by the tools' demos (ScaleAddCompute) and
// the Vulkan tests (tests/vulkan/vk_test_util's ScaleAdd), so the layout the
// shader expects is written down once. Any Vulkan driver.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>

namespace wsys::tools {

struct ScaleAddPipeline {
  VkShaderModule shader = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;

  // Creates the four objects on `device` from the shader's SPIR-V. On a
  // failure returns that call's result and names it in `*failed_call` (when
  // given; untouched on success); what was made stays for destroy().
  VkResult create(VkDevice device, const uint32_t* spirv, size_t bytes,
                  const char** failed_call = nullptr);
  // Destroys what create() made (any subset; all handles become null).
  void destroy(VkDevice device);
  // Records the dispatch of `n` elements with `set` (made from set_layout).
  void record(VkCommandBuffer cb, VkDescriptorSet set, uint32_t mul, uint32_t add,
              uint32_t n) const;
};

// Points a scale-add descriptor set at `in` (binding 0) and `out` (binding
// 1), both whole.
void write_scale_add_buffers(VkDevice device, VkDescriptorSet set, VkBuffer in, VkBuffer out);

}  // namespace wsys::tools
