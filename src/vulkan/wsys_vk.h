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
/* dma-buf memory on the kernel model: a buffer of the model's central
 * allocator (a model extension, docs/deferred-allocation.md); exported
 * memory has no BO (gpu_va 0) until the GPU's first use. */
#define WSYS_VK_MEMORY_SHARED 0x10u

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

/* The central allocator and its display/camera device models of the kernel
 * model the ICD runs on: a MODEL EXTENSION (no released kernel has them;
 * docs/deferred-allocation.md). The model runs inside the ICD, so a program
 * that hands Vulkan dma-buf memory to the modelled display or camera (or
 * imports a camera frame) reaches them through these, the same operations
 * as wsys::SharedBuffer. vkGetWsysSharedFnsWSYS fails with
 * VK_ERROR_FEATURE_NOT_PRESENT where the device does not offer dma-buf
 * memory from the allocator. Functions return 0 or a negative errno. */
typedef struct WsysVkSharedBuffer WsysVkSharedBuffer;
#define WSYS_VK_SHARED_DISPLAY 0u
#define WSYS_VK_SHARED_CAMERA 1u
typedef struct WsysVkSharedPlacement {
  uint32_t placed, in_use, cpu_used, contiguous_pool; /* booleans */
  uint32_t extents, attachments, migrations, pad;
  uint64_t highest_address;
} WsysVkSharedPlacement;
typedef struct WsysVkSharedStats {
  uint64_t contiguous_pool_bytes, contiguous_used, contiguous_peak;
  uint64_t cache_flushes, cache_invalidates, cache_ops_avoided;
  uint64_t migrations, placement_failures, refused_attaches;
} WsysVkSharedStats;
typedef struct WsysVkSharedFns {
  /* A buffer with no placement yet (uses, informational: 1 GPU, 2 display,
   * 4 camera, 8 CPU, as wsys::SharedBufferUse). */
  int (*create)(uint64_t size, uint32_t uses, WsysVkSharedBuffer** out);
  /* The allocator buffer behind a dma-buf fd (duplicated, not taken):
   * -EBADF, -EINVAL when it is not the allocator's. */
  int (*from_fd)(int fd, WsysVkSharedBuffer** out);
  void (*destroy)(WsysVkSharedBuffer* b);
  int (*fd)(const WsysVkSharedBuffer* b); /* the buffer's own dma-buf fd (not the caller's) */
  /* device: WSYS_VK_SHARED_*. Refused: -EINVAL with *refusal (the unmet
   * constraint as wsys::SharedRefusal; refusal_name names it). */
  int (*attach)(WsysVkSharedBuffer* b, uint32_t device, uint32_t pitch, uint32_t height,
                uint32_t* attachment, uint32_t* refusal);
  int (*map)(WsysVkSharedBuffer* b, uint32_t device, uint32_t attachment);
  int (*unmap)(WsysVkSharedBuffer* b, uint32_t device, uint32_t attachment);
  int (*detach)(WsysVkSharedBuffer* b, uint32_t device, uint32_t attachment);
  /* Display: scans out, *value = byte sum; camera: fills with `fill`. */
  int (*use)(WsysVkSharedBuffer* b, uint32_t device, uint32_t attachment, uint8_t fill,
             uint64_t* value);
  int (*begin_cpu_access)(WsysVkSharedBuffer* b, int read, int write);
  int (*placement)(const WsysVkSharedBuffer* b, WsysVkSharedPlacement* out);
  int (*stats)(WsysVkSharedStats* out);
  const char* (*refusal_name)(uint32_t refusal);
} WsysVkSharedFns;
typedef VkResult(VKAPI_PTR* PFN_vkGetWsysSharedFnsWSYS)(VkDevice device, WsysVkSharedFns* fns);

#ifdef __cplusplus
}
#endif

#endif /* WSYS_VK_H */
