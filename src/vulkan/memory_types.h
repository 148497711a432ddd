// The memory types the ICD presents, and which of lavapipe's types each one
// is underneath. lavapipe's memory is coherent host memory; wsys's is a BO
// whose CPU mapping is coherent with the GPU or, on a non-coherent device
// with cached mappings, a write-back mapping that needs flushes. Every entry
// point that takes or returns a memory type index or memoryTypeBits goes
// through this table (memory.cpp, memory_requirements.cpp, the sparse
// paths), so the two numberings never mix.
#pragma once

#include <cstdint>

#include "vulkan/vk.h"
#include "wsys/device.hpp"

namespace wsys::vk {

struct MemoryTypes {
  VkPhysicalDeviceMemoryProperties props{};             // what the application sees
  uint32_t executor_index[VK_MAX_MEMORY_TYPES] = {};    // lavapipe's type behind each
  // Types backed by kAllocCpuCached BOs: HOST_CACHED, not HOST_COHERENT;
  // vkFlushMappedMemoryRanges / vkInvalidateMappedMemoryRanges do the
  // cache maintenance. Non-zero only on a non-coherent device with cached
  // mappings.
  uint32_t cpu_cached_bits = 0;
  // The indices are not lavapipe's (a type was added): resources' memory
  // requirements are translated (memory_requirements.cpp).
  bool remapped = false;
  // VkPhysicalDeviceLimits::nonCoherentAtomSize where cpu_cached_bits is
  // set (else lavapipe's stands).
  VkDeviceSize non_coherent_atom = 0;

  // lavapipe's memoryTypeBits for a resource as the application's: every
  // type whose lavapipe type is allowed.
  uint32_t to_app_bits(uint32_t executor_bits) const {
    if (!remapped) return executor_bits;
    uint32_t bits = 0;
    for (uint32_t i = 0; i < props.memoryTypeCount; i++)
      if (executor_bits & (1u << executor_index[i])) bits |= 1u << i;
    return bits;
  }
  bool cpu_cached(uint32_t type) const { return type < 32 && (cpu_cached_bits >> type) & 1u; }
  uint32_t all_bits() const {
    return props.memoryTypeCount >= 32 ? ~0u : (1u << props.memoryTypeCount) - 1;
  }
};

// The ICD's memory types from lavapipe's (`lavapipe`, its nonCoherentAtomSize
// `lavapipe_atom`) and the wsys device, all in one device-local heap of
// `heap_bytes`. A coherent device gets lavapipe's types unchanged. A
// non-coherent one: its BOs' plain mappings are write-combined, so
// lavapipe's host-visible types lose HOST_CACHED; with cached mappings
// (DeviceInfo::cpu_cached_mappings) a DEVICE_LOCAL | HOST_VISIBLE |
// HOST_CACHED type is added after them, on lavapipe's first host-visible
// type. False when lavapipe has no host-visible type to put it on.
bool build_memory_types(const VkPhysicalDeviceMemoryProperties& lavapipe,
                        VkDeviceSize lavapipe_atom, const DeviceInfo& info, uint64_t heap_bytes,
                        MemoryTypes* out);

}  // namespace wsys::vk
