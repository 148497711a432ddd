// The ICD's memory types (memory_types.h).
#include "vulkan/memory_types.h"

#include <unistd.h>

#include <algorithm>
#include <bit>

namespace wsys::vk {

namespace {

constexpr VkMemoryPropertyFlags kHostVisible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;

// The CPU's data cache line: the kernel widens BO_SYNC ranges to whole
// lines, so an atom smaller than a line would let an invalidate of one
// range discard the CPU's writes to its neighbour.
VkDeviceSize cache_line_bytes() {
  long l = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
  return l > 0 ? std::bit_ceil(static_cast<VkDeviceSize>(l)) : 64;
}

}  // namespace

bool build_memory_types(const VkPhysicalDeviceMemoryProperties& lavapipe,
                        VkDeviceSize lavapipe_atom, const DeviceInfo& info, uint64_t heap_bytes,
                        MemoryTypes* out) {
  MemoryTypes t;
  t.props = lavapipe;
  t.props.memoryHeapCount = 1;
  t.props.memoryHeaps[0].size = heap_bytes;
  t.props.memoryHeaps[0].flags = VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
  for (uint32_t i = 1; i < VK_MAX_MEMORY_HEAPS; i++) t.props.memoryHeaps[i] = {};
  for (uint32_t i = 0; i < t.props.memoryTypeCount; i++) {
    t.props.memoryTypes[i].heapIndex = 0;
    t.executor_index[i] = i;
  }
  if (!info.coherent) {
    // A plain BO's CPU mapping is write-combined on a GPU that does not
    // snoop: coherent, but not cached.
    for (uint32_t i = 0; i < t.props.memoryTypeCount; i++)
      if (t.props.memoryTypes[i].propertyFlags & kHostVisible)
        t.props.memoryTypes[i].propertyFlags &= ~VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  }
  if (!info.coherent && info.cpu_cached_mappings) {
    uint32_t host = t.props.memoryTypeCount;
    for (uint32_t i = 0; i < t.props.memoryTypeCount && host == t.props.memoryTypeCount; i++)
      if (lavapipe.memoryTypes[i].propertyFlags & kHostVisible) host = i;
    if (host == t.props.memoryTypeCount || t.props.memoryTypeCount >= VK_MAX_MEMORY_TYPES)
      return false;
    const uint32_t n = t.props.memoryTypeCount++;
    t.props.memoryTypes[n].propertyFlags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | kHostVisible |
                                           VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    t.props.memoryTypes[n].heapIndex = 0;
    t.executor_index[n] = host;
    t.cpu_cached_bits = 1u << n;
    t.remapped = true;
    t.non_coherent_atom = std::max(std::bit_ceil(std::max<VkDeviceSize>(lavapipe_atom, 1)),
                                   cache_line_bytes());
  }
  *out = t;
  return true;
}

}  // namespace wsys::vk
