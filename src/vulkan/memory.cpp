// Device memory: every VkDeviceMemory is a wsys BO, mapped in the VkDevice's
// wsys VM, that lavapipe imports as host memory (VK_EXT_external_memory_host)
// at the BO's GPU view: the CPU address through which the VM's address
// reads and writes as the GPU would, so every access lavapipe makes goes
// through wsys's VM. Without a GPU view (a real device) lavapipe gets the
// BO's CPU mapping.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "vulkan/chain.h"
#include "vulkan/entry_points.h"
#include "vulkan/vk_result.h"
#include "wsys/trace.hpp"

namespace wsys::vk {

namespace {

// lavapipe's minImportedHostPointerAlignment: imported pointers and sizes
// must be multiples of it. BOs are page-aligned and page-sized, so their
// GPU views and CPU mappings always are.
constexpr VkDeviceSize kHostImportAlign = 4096;

VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) & ~(a - 1); }

// The memory types a host pointer can be imported into.
uint32_t host_visible_types(const PhysicalDevice& pd) {
  uint32_t bits = 0;
  // The application's numbering (memory_types.h). Not the non-coherent
  // cached types: their flushes are BO_SYNC on kAllocCpuCached BOs, which
  // an imported host range is not.
  const VkPhysicalDeviceMemoryProperties& m = pd.memory.props;
  for (uint32_t i = 0; i < m.memoryTypeCount && i < 32; i++)
    if ((m.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        !pd.memory.cpu_cached(i))
      bits |= 1u << i;
  return bits;
}

Memory* find_memory(Device& d, VkDeviceMemory m) {
  std::lock_guard<std::mutex> g(d.lock);
  auto it = d.memory.find(m);
  return it == d.memory.end() ? nullptr : it->second.get();
}

void sample_peak(Device& d) {
  DeviceStats s = d.wsys->stats();
  uint64_t committed = s.bytes_live + s.cache.bytes_cached;
  uint64_t prev = d.peak_committed_bytes.load(std::memory_order_relaxed);
  while (committed > prev &&
         !d.peak_committed_bytes.compare_exchange_weak(prev, committed, std::memory_order_relaxed)) {
  }
}

}  // namespace

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL AllocateMemory(VkDevice device, const VkMemoryAllocateInfo* info,
                                              const VkAllocationCallbacks* alloc,
                                              VkDeviceMemory* out) {
  wsys::trace::Span span("vkAllocateMemory");
  Device* d = find_device(device);
  if (!d || !info || !out) return VK_ERROR_INITIALIZATION_FAILED;
  const PhysicalDevice& pd = *d->physical;
  if (info->memoryTypeIndex >= pd.memory.props.memoryTypeCount) return VK_ERROR_OUT_OF_DEVICE_MEMORY;

  const auto* exp = find_in_chain<VkExportMemoryAllocateInfo>(
      info->pNext, VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO);
  const auto* imp = find_in_chain<VkImportMemoryFdInfoKHR>(
      info->pNext, VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR);
  const auto* dedicated = find_in_chain<VkMemoryDedicatedAllocateInfo>(
      info->pNext, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO);
  // Application host pointers become wsys BOs (Device::import_host Shared),
  // where the device offers VK_EXT_external_memory_host.
  const auto* host_imp = find_in_chain<VkImportMemoryHostPointerInfoEXT>(
      info->pNext, VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT);
  if (host_imp && host_imp->handleType != 0) {
    if (!pd.host_type_ok(host_imp->handleType) || imp || (exp && exp->handleTypes))
      return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    if (!(host_visible_types(pd) & (1u << info->memoryTypeIndex)))
      return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  }
  if (exp && (exp->handleTypes & ~pd.handle_types())) return VK_ERROR_INVALID_EXTERNAL_HANDLE;

  auto mem = std::make_unique<Memory>();
  mem->size = info->allocationSize;
  mem->type_index = info->memoryTypeIndex;
  mem->cpu_cached = pd.memory.cpu_cached(info->memoryTypeIndex);
  mem->dedicated = dedicated && (dedicated->image != VK_NULL_HANDLE ||
                                 dedicated->buffer != VK_NULL_HANDLE);
  int import_fd = -1;
  if (host_imp && host_imp->handleType != 0) {
    // allocationSize and the pointer are multiples of
    // minImportedHostPointerAlignment (the CPU page) by the spec's rules.
    Result<BoRef> bo = d->wsys->import_host(host_imp->pHostPointer, mem->size,
                                            HostMemoryMode::Shared);
    if (!bo.ok())
      return vk_result_of(bo.error(), FailureKind::ExternalHandle, "vkAllocateMemory",
                          "importing the host pointer");
    mem->bo = std::move(*bo);
    mem->imported = true;
    mem->host = true;
  } else if (imp && imp->handleType != 0) {
    if (!pd.handle_type_ok(imp->handleType) || imp->fd < 0)
      return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    Result<BoRef> bo = d->wsys->bo_import(imp->fd);
    if (!bo.ok())
      return vk_result_of(bo.error(), FailureKind::ExternalHandle, "vkAllocateMemory",
                          "importing the fd");
    mem->bo = std::move(*bo);
    mem->imported = true;
    mem->exportable = true;  // an imported dma-buf can be exported again
    import_fd = imp->fd;
    // The exporter's allocationSize; the dma-buf must hold it.
    if (mem->size == 0) mem->size = mem->bo->size();
    if (align_up(mem->size, kHostImportAlign) > mem->bo->size())
      return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  } else {
    if (mem->size == 0 || mem->size > pd.max_allocation_bytes) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    mem->exportable = exp && exp->handleTypes != 0;
    uint32_t flags = (mem->exportable ? uint32_t{kAllocShareable} : 0u) |
                     (mem->cpu_cached ? uint32_t{kAllocCpuCached} : 0u);
    const char* label = mem->dedicated ? (dedicated->image ? "vk:image" : "vk:buffer")
                                       : (mem->exportable ? "vk:exportable" : "vk:memory");
    Result<BoRef> bo = d->wsys->bo_alloc(align_up(mem->size, kHostImportAlign), flags, label);
    if (!bo.ok())
      return vk_result_of(bo.error(), FailureKind::DeviceMemory, "vkAllocateMemory",
                          "allocating the BO");
    mem->bo = std::move(*bo);
  }

  mem->executor_size = align_up(mem->size, kHostImportAlign);
  if (!d->executor_via_cpu) mem->executor_address = d->wsys->gpu_view(mem->bo->gpu_va());
  if (!mem->executor_address) {
    Result<void*> cpu = mem->bo->map();
    if (!cpu.ok())
      return vk_result_of(cpu.error(), FailureKind::HostResource, "vkAllocateMemory",
                          "mapping the BO for lavapipe");
    mem->executor_address = *cpu;
  }

  VkImportMemoryHostPointerInfoEXT host{};
  host.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
  host.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  host.pHostPointer = mem->executor_address;
  VkMemoryAllocateInfo lai{};
  lai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  lai.pNext = &host;
  lai.allocationSize = mem->executor_size;
  lai.memoryTypeIndex = pd.memory.executor_index[info->memoryTypeIndex];
  VkResult r = d->fn.AllocateMemory(device, &lai, alloc, out);
  if (r != VK_SUCCESS) return r;

  // Ownership of an imported fd passes to the implementation on success.
  if (import_fd >= 0) ::close(import_fd);
  {
    std::lock_guard<std::mutex> g(d->lock);
    d->memory[*out] = std::move(mem);
  }
  sample_peak(*d);
  return VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL FreeMemory(VkDevice device, VkDeviceMemory memory,
                                      const VkAllocationCallbacks* alloc) {
  if (memory == VK_NULL_HANDLE) return;
  wsys::trace::Span span("vkFreeMemory");
  Device* d = find_device(device);
  if (!d) return;
  std::unique_ptr<Memory> mem;
  {
    std::lock_guard<std::mutex> g(d->lock);
    auto it = d->memory.find(memory);
    if (it != d->memory.end()) {
      mem = std::move(it->second);
      d->memory.erase(it);
    }
  }
  // lavapipe forgets the pointer first; then the BO goes back to wsys's
  // cache (madvise DONTNEED where the kernel has it) as `mem` dies.
  d->fn.FreeMemory(device, memory, alloc);
  // A write-back mapping's dirty lines are cleaned by core when the BO goes
  // back to its cache (Device::release), for every user of kAllocCpuCached.
}

VKAPI_ATTR VkResult VKAPI_CALL MapMemory(VkDevice device, VkDeviceMemory memory,
                                         VkDeviceSize offset, VkDeviceSize size,
                                         VkMemoryMapFlags flags, void** data) {
  (void)flags;
  Device* d = find_device(device);
  Memory* mem = d ? find_memory(*d, memory) : nullptr;
  if (!mem || !data) return VK_ERROR_MEMORY_MAP_FAILED;
  if (offset >= mem->size || (size != VK_WHOLE_SIZE && (size == 0 || size > mem->size - offset)))
    return VK_ERROR_MEMORY_MAP_FAILED;
  // The address lavapipe was given: on a real device the BO's CPU
  // mapping; on the model the GPU view, the same pages through the device
  // VM (CPU and "GPU" share the VM there, as with SVM). One mapping per BO
  // either way: a second CPU mapping of the same pages would cost a second
  // set of page-table entries and fault-ins for nothing, and count every
  // touched page twice in the process's RSS.
  *data = static_cast<uint8_t*>(mem->executor_address) + offset;
  // The mapped range, which vkFlushMappedMemoryRanges checks (memory_sync.cpp).
  std::lock_guard<std::mutex> g(d->lock);
  mem->mapped = true;
  mem->map_offset = offset;
  mem->map_end = size == VK_WHOLE_SIZE ? mem->size : offset + size;
  return VK_SUCCESS;
}

// The mapping belongs to the BO and lives as long as it does; only the
// record of the mapped range goes.
VKAPI_ATTR void VKAPI_CALL UnmapMemory(VkDevice device, VkDeviceMemory memory) {
  Device* d = find_device(device);
  Memory* mem = d ? find_memory(*d, memory) : nullptr;
  if (!mem) return;
  std::lock_guard<std::mutex> g(d->lock);
  mem->mapped = false;
}

// Every page of a BO is committed while it is handed out.
VKAPI_ATTR void VKAPI_CALL GetDeviceMemoryCommitment(VkDevice device, VkDeviceMemory memory,
                                                     VkDeviceSize* committed) {
  Device* d = find_device(device);
  Memory* mem = d ? find_memory(*d, memory) : nullptr;
  if (committed) *committed = mem ? mem->bo->size() : 0;
}

VKAPI_ATTR VkResult VKAPI_CALL GetMemoryFdKHR(VkDevice device, const VkMemoryGetFdInfoKHR* info,
                                              int* fd) {
  Device* d = find_device(device);
  Memory* mem = d && info ? find_memory(*d, info->memory) : nullptr;
  if (!mem || !fd || !d->physical->handle_type_ok(info->handleType) || !mem->exportable)
    return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  Result<int> r = mem->bo->export_fd();
  if (!r.ok())
    return vk_result_of(r.error(), FailureKind::HostResource, "vkGetMemoryFdKHR",
                        "exporting the BO");
  *fd = *r;
  return VK_SUCCESS;
}

// Defined for non-opaque handle types only: a dma-buf on a real device,
// which any memory type can import (every type is a wsys BO; an imported
// BO's mapping is not write-back, so the cached type's flushes are no-ops
// on it, which is what such a mapping needs).
VKAPI_ATTR VkResult VKAPI_CALL GetMemoryFdPropertiesKHR(VkDevice device,
                                                        VkExternalMemoryHandleTypeFlagBits type,
                                                        int fd, VkMemoryFdPropertiesKHR* props) {
  Device* d = find_device(device);
  if (!props) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  props->memoryTypeBits = 0;
  if (!d || type != VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT || !d->physical->dma_buf ||
      fd < 0 || ::fcntl(fd, F_GETFD) < 0)
    return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  props->memoryTypeBits = d->physical->memory.all_bits();
  return VK_SUCCESS;
}

// Host pointers wsys can make BOs of: page-aligned, mapped read/write
// (Device::host_shareable); importable into the host-visible types.
VKAPI_ATTR VkResult VKAPI_CALL GetMemoryHostPointerPropertiesEXT(
    VkDevice device, VkExternalMemoryHandleTypeFlagBits type, const void* ptr,
    VkMemoryHostPointerPropertiesEXT* props) {
  Device* d = find_device(device);
  if (!props) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  props->memoryTypeBits = 0;
  if (!d || !d->physical->host_type_ok(type) ||
      !d->wsys->host_shareable(ptr, d->physical->wsys_info.page_size_bytes))
    return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  props->memoryTypeBits = host_visible_types(*d->physical);
  return VK_SUCCESS;
}

VKAPI_ATTR VkResult VKAPI_CALL GetWsysMemoryInfoWSYS(VkDevice device, VkDeviceMemory memory,
                                                     WsysVkMemoryInfo* out) {
  Device* d = find_device(device);
  Memory* mem = d ? find_memory(*d, memory) : nullptr;
  if (!mem || !out) return VK_ERROR_INITIALIZATION_FAILED;
  *out = WsysVkMemoryInfo{};
  out->gpu_va = mem->bo->gpu_va();
  out->bo_size = mem->bo->size();
  out->executor_size = mem->executor_size;
  out->gem_handle = mem->bo->handle();
  out->flags = (mem->imported ? WSYS_VK_MEMORY_IMPORTED : 0u) |
               (mem->exportable ? WSYS_VK_MEMORY_EXPORTABLE : 0u) |
               (mem->dedicated ? WSYS_VK_MEMORY_DEDICATED : 0u) |
               (d->executor_via_cpu ? WSYS_VK_MEMORY_EXECUTOR_VIA_CPU : 0u);
  out->executor_address = mem->executor_address;
  out->gpu_view = d->wsys->gpu_view(mem->bo->gpu_va());
  return VK_SUCCESS;
}

}  // namespace icd

}  // namespace wsys::vk
