// Shared by the Vulkan test programs: a main that skips (exit 77) when
// lavapipe cannot be found, and a small harness around one instance, the
// wsys physical device and its devices.
#pragma once

#include <gtest/gtest.h>
#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scale_add_pipeline.h"  // tools/vk_common
#include "vulkan/wsys_vk.h"

namespace wsys::vktest {

// Runs the GoogleTest cases, or returns 77 with the reason when lavapipe
// is missing (the only reason these tests skip). `child` (optional) runs
// instead when argv[1] is "--child": for tests that re-exec themselves.
int test_main(int argc, char** argv, int (*child)(int argc, char** argv) = nullptr);

const char* result_name(VkResult r);

#define VK_OK(expr)                                                      \
  do {                                                                   \
    VkResult vk_ok_r_ = (expr);                                          \
    ASSERT_EQ(vk_ok_r_, VK_SUCCESS) << #expr << ": " << ::wsys::vktest::result_name(vk_ok_r_); \
  } while (0)

class Instance {
 public:
  Instance() = default;
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Creates the instance (Vulkan 1.3) and picks the wsys device; false with
  // `why` when there is none (the ICD is not the loader's only driver, or
  // it offered no device).
  bool init(std::string* why);
  VkInstance get() const { return instance_; }
  VkPhysicalDevice physical() const { return physical_; }
  const VkPhysicalDeviceProperties& properties() const { return props_; }
  const VkPhysicalDeviceMemoryProperties& memory() const { return memory_; }
  // The first memory type in `bits` with all of `flags`; UINT32_MAX if none.
  uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags flags) const;
  bool has_extension(const char* name) const;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props_{};
  VkPhysicalDeviceMemoryProperties memory_{};
  std::vector<VkExtensionProperties> extensions_;
};

// A VkDevice with one queue, a command pool and the ICD's entry points.
class Device {
 public:
  Device() = default;
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // `features` (optional): as pEnabledFeatures, or with `features2` in a
  // VkPhysicalDeviceFeatures2 at the head of the pNext chain; `chain`: more
  // pNext structures.
  VkResult init(const Instance& inst, std::vector<const char*> extensions = {},
                const VkPhysicalDeviceFeatures* features = nullptr, bool features2 = false,
                void* chain = nullptr);
  VkDevice get() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return family_; }
  VkCommandPool command_pool() const { return pool_; }  // resettable buffers
  void destroy();

  // Records with `record`, submits, waits for the queue to go idle.
  VkResult run(const std::function<void(VkCommandBuffer)>& record);

  WsysVkMemoryStats stats() const;
  WsysVkMemoryInfo info(VkDeviceMemory m) const;
  std::string report() const;

  PFN_vkGetWsysMemoryStatsWSYS get_stats = nullptr;
  PFN_vkGetWsysMemoryInfoWSYS get_info = nullptr;
  PFN_vkGetWsysMemoryReportWSYS get_report = nullptr;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t family_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE;
};

// A buffer bound to memory of its own (host-visible), optionally exportable
// as an opaque fd (or `handle`) or imported from one.
struct Buffer {
  VkDevice device = VK_NULL_HANDLE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  VkDeviceSize memory_size = 0;
  void* map = nullptr;

  ~Buffer() { reset(); }
  void reset();
};

// The scale_add compute shader (tests/vulkan/shaders/scale_add.comp:
// out[i] = in[i] * mul + add + i for i < n) with its pipeline
// (tools/vk_common's ScaleAddPipeline, which the demos use too) and one
// descriptor set, for the tests that compute on wsys memory.
class ScaleAdd {
 public:
  ScaleAdd() = default;
  ~ScaleAdd();
  ScaleAdd(const ScaleAdd&) = delete;
  ScaleAdd& operator=(const ScaleAdd&) = delete;

  // `spirv`/`bytes`: the shader's code (each test program embeds it).
  VkResult init(VkDevice device, const uint32_t* spirv, size_t bytes);
  // Points the set at the two storage buffers (whole).
  void set_buffers(VkBuffer in, VkBuffer out);
  // Records the dispatch for `n` elements.
  void record(VkCommandBuffer cb, uint32_t mul, uint32_t add, uint32_t n) const;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  wsys::tools::ScaleAddPipeline pipeline_;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

enum class External { None, Export, Import };
// `import_fd` for External::Import (ownership passes on success).
VkResult make_buffer(const Instance& inst, const Device& dev, VkDeviceSize size,
                     VkBufferUsageFlags usage, Buffer* out, External ext = External::None,
                     int import_fd = -1, VkDeviceSize import_size = 0,
                     VkExternalMemoryHandleTypeFlagBits handle =
                         VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT);
// The same without external memory, in the first allowed memory type with
// all of `flags` (VK_ERROR_FEATURE_NOT_PRESENT when there is none).
VkResult make_buffer_with(const Instance& inst, const Device& dev, VkDeviceSize size,
                          VkBufferUsageFlags usage, VkMemoryPropertyFlags flags, Buffer* out);

}  // namespace wsys::vktest
