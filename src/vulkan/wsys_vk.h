/* wsys_vk.h: the wsys Vulkan ICD's own entry points.
 *
 * Not an advertised extension: debugging and test hooks, obtained with
 * vkGetDeviceProcAddr(device, "vkGetWsysMemoryStatsWSYS") and so on (the
 * loader passes names it does not know to the ICD). A null pointer means
 * the device is not the wsys ICD's.
 */
#ifndef WSYS_VK_H
#define WSYS_VK_H

#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* wsys's statistics for one VkDevice (each VkDevice opens its own wsys
 * device, so these are that device's alone). */
typedef struct WsysVkMemoryStats {
  uint64_t bos_live, bytes_live, peak_bytes_live;
  uint64_t peak_committed_bytes; /* live + cached at its highest (sampled per allocation) */
  uint64_t bo_creates, bo_destroys, imports, exports;
  uint64_t cache_hits, cache_misses, cache_puts, cache_purged_on_reuse, cache_evicted;
  uint64_t cache_entries, cache_bytes;
  uint64_t vm_bind_calls, va_maps, va_unmaps;
  /* CPU cache maintenance ranges sent to the kernel (BO_SYNC) by
   * vkFlushMappedMemoryRanges, vkInvalidateMappedMemoryRanges and
   * vkFreeMemory of the non-coherent memory type; 0 on a coherent device. */
  uint64_t cache_sync_ops;
} WsysVkMemoryStats;

#define WSYS_VK_MEMORY_IMPORTED 0x1u
#define WSYS_VK_MEMORY_EXPORTABLE 0x2u
#define WSYS_VK_MEMORY_DEDICATED 0x4u
#define WSYS_VK_MEMORY_EXECUTOR_VIA_CPU 0x8u /* lavapipe got the CPU mapping, not the GPU view */

/* One VkDeviceMemory as wsys holds it. */
typedef struct WsysVkMemoryInfo {
  uint64_t gpu_va;        /* the BO's address in the device VM */
  uint64_t bo_size;       /* bytes the BO holds (its cache size class) */
  uint64_t executor_size; /* bytes lavapipe imported */
  uint32_t gem_handle;
  uint32_t flags;         /* WSYS_VK_MEMORY_* */
  void* executor_address; /* what lavapipe reads and writes */
  void* gpu_view;         /* where gpu_va is seen by the CPU on the kernel model (else null) */
} WsysVkMemoryInfo;

typedef VkResult(VKAPI_PTR* PFN_vkGetWsysMemoryStatsWSYS)(VkDevice device,
                                                          WsysVkMemoryStats* stats);
typedef VkResult(VKAPI_PTR* PFN_vkGetWsysMemoryInfoWSYS)(VkDevice device, VkDeviceMemory memory,
                                                         WsysVkMemoryInfo* info);
/* The memory report as text (what WSYS_VK_REPORT prints at vkDestroyDevice).
 * text null: *size is set to the length including the NUL. Otherwise up to
 * *size bytes are written, always NUL-terminated; VK_INCOMPLETE when cut. */
typedef VkResult(VKAPI_PTR* PFN_vkGetWsysMemoryReportWSYS)(VkDevice device, size_t* size,
                                                           char* text);

#ifdef __cplusplus
}
#endif

#endif /* WSYS_VK_H */
