// vkFlushMappedMemoryRanges / vkInvalidateMappedMemoryRanges where the ICD
// offers a non-coherent memory type (memory_types.h): the ranges of memory
// of that type become Bo::flush / Bo::invalidate (BO_SYNC on the kernel),
// the others need nothing. Every range is checked first, against the
// mapping and nonCoherentAtomSize as the spec asks; a bad call does nothing
// and returns VK_ERROR_VALIDATION_FAILED_EXT with a wsys-vk: message.
// Elsewhere these are lavapipe's (its memory is coherent).
#include <algorithm>
#include <vector>

#include "vulkan/entry_points.h"
#include "vulkan/vk_result.h"
#include "wsys/trace.hpp"

namespace wsys::vk {

namespace {

struct SyncRange {
  BoRef bo;
  uint64_t offset = 0, size = 0;
};

// Checks `r` (with d.lock held) and puts the BO range to maintain in
// `out` (size 0: nothing to do). Null, or why the range is invalid.
const char* check_range(Device& d, const VkMappedMemoryRange& r, SyncRange* out) {
  if (r.sType != VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE) return "sType is not MAPPED_MEMORY_RANGE";
  auto it = d.memory.find(r.memory);
  if (it == d.memory.end()) return "unknown memory";
  const Memory& m = *it->second;
  if (!m.mapped) return "the memory is not mapped";
  const VkDeviceSize atom = d.physical->memory.non_coherent_atom;
  if (r.offset % atom) return "offset is not a multiple of nonCoherentAtomSize";
  if (r.offset < m.map_offset || r.offset > m.map_end) return "offset is outside the mapping";
  VkDeviceSize end = 0;
  if (r.size == VK_WHOLE_SIZE) {
    if (r.offset == m.map_end) return "offset is outside the mapping";
    end = m.map_end;
    if (end % atom && end != m.size)
      return "VK_WHOLE_SIZE, and the mapping ends neither on a nonCoherentAtomSize multiple "
             "nor at the end of the memory";
  } else {
    if (r.size > m.map_end - r.offset) return "the range reaches past the mapping";
    end = r.offset + r.size;
    if (r.size % atom && end != m.size)
      return "size is not a multiple of nonCoherentAtomSize and the range does not end at the "
             "end of the memory";
  }
  if (!m.cpu_cached || end == r.offset) return nullptr;  // coherent: nothing to do
  // Whole atoms (the last one may reach past allocationSize into the BO's
  // page padding, which is the application's to touch as nothing else).
  const uint64_t stop = std::min<uint64_t>((end + atom - 1) / atom * atom, m.bo->size());
  out->bo = m.bo;
  out->offset = r.offset;
  out->size = stop - r.offset;
  return nullptr;
}

VkResult sync_ranges(VkDevice device, uint32_t count, const VkMappedMemoryRange* ranges,
                     bool invalidate) {
  const char* command =
      invalidate ? "vkInvalidateMappedMemoryRanges" : "vkFlushMappedMemoryRanges";
  wsys::trace::Span span(command);
  Device* d = find_device(device);
  if (!d) return VK_ERROR_INITIALIZATION_FAILED;
  if (count && !ranges) return VK_ERROR_VALIDATION_FAILED_EXT;
  std::vector<SyncRange> todo;
  {
    std::lock_guard<std::mutex> g(d->lock);
    for (uint32_t i = 0; i < count; i++) {
      SyncRange s;
      if (const char* why = check_range(*d, ranges[i], &s)) {
        log_error("%s: pMemoryRanges[%u]: %s", command, i, why);
        return VK_ERROR_VALIDATION_FAILED_EXT;
      }
      if (s.size) todo.push_back(std::move(s));
    }
  }
  for (const SyncRange& s : todo) {
    Result<void> r = invalidate ? s.bo->invalidate(s.offset, s.size) : s.bo->flush(s.offset, s.size);
    if (!r.ok())
      return vk_result_of(r.error(), FailureKind::HostResource, command,
                          invalidate ? "invalidating CPU caches" : "flushing CPU caches");
  }
  return VK_SUCCESS;
}

}  // namespace

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL FlushMappedMemoryRanges(VkDevice device, uint32_t count,
                                                       const VkMappedMemoryRange* ranges) {
  return sync_ranges(device, count, ranges, false);
}

VKAPI_ATTR VkResult VKAPI_CALL InvalidateMappedMemoryRanges(VkDevice device, uint32_t count,
                                                            const VkMappedMemoryRange* ranges) {
  return sync_ranges(device, count, ranges, true);
}

}  // namespace icd

}  // namespace wsys::vk
