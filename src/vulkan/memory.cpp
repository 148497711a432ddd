// Device memory: every VkDeviceMemory is a wsys BO, mapped in the VkDevice's
// wsys VM, that lavapipe imports as host memory (VK_EXT_external_memory_host)
// at the BO's GPU view: the CPU address through which the VM's address
// reads and writes as the GPU would, so every access lavapipe makes goes
// through wsys's VM. Without a GPU view (a real device) lavapipe gets the
// BO's CPU mapping.
//
// dma-buf memory on the kernel model is the central allocator's
// (shared_memory.h): an import is the GPU's attach with its constraints; an
// export is an allocator buffer the GPU attaches to at the first submission,
// so the display or camera the application hands the fd to can attach
// before anything is placed.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "vulkan/chain.h"
#include "vulkan/entry_points.h"
#include "vulkan/shared_memory.h"
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

constexpr VkExternalMemoryHandleTypeFlags kDmaBuf = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;

// Exported dma-buf memory on the model: an allocator buffer with no
// placement yet, which lavapipe reaches through a CPU mapping of the
// dma-buf (a mapping is not a first use; the model cannot see it) until
// and after the GPU attaches at the first submission.
VkResult make_shared_export(Device& d, Memory& mem) {
  if (mem.size == 0 || mem.size > d.physical->max_allocation_bytes)
    return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  Result<std::shared_ptr<SharedBuffer>> sb =
      SharedBuffer::create(align_up(mem.size, kHostImportAlign),
                           kSharedUseGpu | kSharedUseDisplay | kSharedUseCamera | kSharedUseCpu);
  if (!sb.ok())
    return vk_result_of(sb.error(), FailureKind::DeviceMemory, "vkAllocateMemory",
                        "creating the shared buffer");
  mem.shared = std::move(*sb);
  mem.shared_map_bytes = mem.shared->size();
  void* p = ::mmap(nullptr, mem.shared_map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                   mem.shared->fd(), 0);
  if (p == MAP_FAILED)
    return vk_result_of(-errno, FailureKind::HostResource, "vkAllocateMemory",
                        "mapping the shared buffer for lavapipe");
  mem.shared_map = p;
  mem.exportable = true;
  mem.cpu_cached = false;  // the allocator tracks its cache domains (SYNC), not BO_SYNC
  return VK_SUCCESS;
}

}  // namespace

Memory::~Memory() {
  if (shared_map) ::munmap(shared_map, shared_map_bytes);
}

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
  // The model's dma-bufs are the allocator's, handled on devices that
  // enabled the extension only (their queues announce GPU use).
  const bool shared_export = pd.dma_buf_shared && exp && (exp->handleTypes & kDmaBuf);
  const bool shared_import = pd.dma_buf_shared && imp && imp->handleType == kDmaBuf;
  if ((shared_export || shared_import) && !d->shared) return VK_ERROR_INVALID_EXTERNAL_HANDLE;

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
    if (shared_import) {
      // Only the allocator's buffers are dma-bufs on the model (a GEM
      // export is a memfd: that is an opaque fd).
      Result<std::shared_ptr<SharedBuffer>> sb = SharedBuffer::from_fd(imp->fd);
      if (!sb.ok())
        return vk_result_of(sb.error(), FailureKind::ExternalHandle, "vkAllocateMemory",
                            "the fd is not a dma-buf of the central allocator");
      mem->shared = std::move(*sb);
      mem->cpu_cached = false;
    }
    // The GPU's attach: on the model an allocator buffer is checked against
    // the GPU's constraints here (a refusal is -EINVAL).
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
  } else if (shared_export) {
    if (VkResult r = make_shared_export(*d, *mem); r != VK_SUCCESS) return r;
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
  if (mem->shared_map) mem->executor_address = mem->shared_map;
  if (!d->executor_via_cpu && !mem->executor_address)
    mem->executor_address = d->wsys->gpu_view(mem->bo->gpu_va());
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
    if (mem->shared && d->shared) d->shared->memories.insert(mem.get());
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
      if (d->shared) d->shared->memories.erase(mem.get());
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
  // An allocator buffer: the CPU's access is announced (a first use: it
  // is placed with the constraints attached so far, and caches are
  // maintained if a device wrote since). Later CPU accesses through the
  // same mapping are not seen, as with any persistent dma-buf mapping.
  if (mem->shared) {
    if (Result<void> r = mem->shared->begin_cpu_access(true, true); !r.ok())
      return vk_result_of(r.error(), FailureKind::DeviceMemory, "vkMapMemory",
                          "the CPU's access to a dma-buf");
  }
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
  if (committed) *committed = !mem ? 0 : mem->bo ? mem->bo->size() : mem->executor_size;
}

VKAPI_ATTR VkResult VKAPI_CALL GetMemoryFdKHR(VkDevice device, const VkMemoryGetFdInfoKHR* info,
                                              int* fd) {
  Device* d = find_device(device);
  Memory* mem = d && info ? find_memory(*d, info->memory) : nullptr;
  if (!mem || !fd || !d->physical->handle_type_ok(info->handleType) || !mem->exportable)
    return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  // On the model a dma-buf is an allocator buffer; memory that is not
  // one has only an opaque fd. An allocator buffer's fd serves as both
  // (an opaque import of it is the same GPU attach).
  if (d->physical->dma_buf_shared && info->handleType == kDmaBuf && !mem->shared)
    return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  Result<int> r = mem->shared ? mem->shared->export_fd() : mem->bo->export_fd();
  if (!r.ok())
    return vk_result_of(r.error(), FailureKind::HostResource, "vkGetMemoryFdKHR",
                        "exporting the BO");
  *fd = *r;
  return VK_SUCCESS;
}

// Defined for non-opaque handle types only: a dma-buf on a real device,
// which any memory type can import (every type is a wsys BO; an imported
// BO's mapping is not write-back, so the cached type's flushes are no-ops
// on it, which is what such a mapping needs). On the model only the
// central allocator's buffers are dma-bufs: any other fd is refused.
VKAPI_ATTR VkResult VKAPI_CALL GetMemoryFdPropertiesKHR(VkDevice device,
                                                        VkExternalMemoryHandleTypeFlagBits type,
                                                        int fd, VkMemoryFdPropertiesKHR* props) {
  Device* d = find_device(device);
  if (!props) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  props->memoryTypeBits = 0;
  if (!d || type != VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT || !d->physical->dma_buf ||
      fd < 0 || ::fcntl(fd, F_GETFD) < 0)
    return VK_ERROR_INVALID_EXTERNAL_HANDLE;
  if (d->physical->dma_buf_shared && !SharedBuffer::from_fd(fd).ok())
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
  if (mem->bo) {  // not yet for exported dma-buf memory before the GPU's first use
    out->gpu_va = mem->bo->gpu_va();
    out->bo_size = mem->bo->size();
    out->gem_handle = mem->bo->handle();
  }
  out->executor_size = mem->executor_size;
  out->flags = (mem->imported ? WSYS_VK_MEMORY_IMPORTED : 0u) |
               (mem->exportable ? WSYS_VK_MEMORY_EXPORTABLE : 0u) |
               (mem->dedicated ? WSYS_VK_MEMORY_DEDICATED : 0u) |
               (d->executor_via_cpu || mem->shared_map ? WSYS_VK_MEMORY_EXECUTOR_VIA_CPU : 0u) |
               (mem->shared ? WSYS_VK_MEMORY_SHARED : 0u);
  out->executor_address = mem->executor_address;
  out->gpu_view = mem->bo ? d->wsys->gpu_view(mem->bo->gpu_va()) : nullptr;
  return VK_SUCCESS;
}

}  // namespace icd

}  // namespace wsys::vk
