// The Vulkan set-up the tools' compute demos share (wsys-vk-demo,
// wsys-shared-vk-demo): an instance, the first physical device, a device
// with one compute queue and the extensions a demo asks for, a command
// pool, and the scale-add compute pipeline (tests/vulkan/shaders/
// scale_add.comp: storage buffers `in` and `out` at bindings 0 and 1, push
// constants mul, add and count). Works on any Vulkan driver.
//
// Teardown: the destructor waits for the device, then destroys what it
// made, device and instance last. A demo destroys its own objects (buffers,
// fences, command buffers) in its own destructor, which runs first.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>

#include "scale_add_pipeline.h"

namespace wsys::tools {

enum class VkSetup {
  kOk,
  kNoDevice,  // no Vulkan driver or no physical device: the demos exit 77
  kFailed,    // a Vulkan call failed (printed)
};

class ScaleAddCompute {
 public:
  // `tool` prefixes every message.
  explicit ScaleAddCompute(const char* tool) : tool_(tool) {}
  ~ScaleAddCompute();
  ScaleAddCompute(const ScaleAddCompute&) = delete;
  ScaleAddCompute& operator=(const ScaleAddCompute&) = delete;

  // The instance and the first physical device (props, memory).
  VkSetup open(const char* app_name);
  bool has_device_extension(const char* name) const;
  // The device and queue, the command pool (resettable buffers), the
  // pipeline and a descriptor pool for `sets` sets of two storage buffers
  // (`free_sets`: sets may be freed one by one).
  VkSetup create(std::span<const char* const> device_extensions, uint32_t sets, bool free_sets);
  // Points `set` (from descriptor_pool) at `in` and `out`, whole.
  void bind_buffers(VkDescriptorSet set, VkBuffer in, VkBuffer out) const;
  // The first memory type in `bits` with every flag of `want`, else UINT32_MAX.
  uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags want) const;

  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props{};
  VkPhysicalDeviceMemoryProperties memory{};
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;  // sets of scale_add.set_layout
  ScaleAddPipeline scale_add;

 private:
  bool ok(VkResult r, const char* what);
  const char* tool_;
};

}  // namespace wsys::tools
