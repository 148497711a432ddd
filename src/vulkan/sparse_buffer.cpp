// Sparse VkBuffers. lavapipe has none: a sparse buffer is a lavapipe buffer
// made without the sparse flags and bound, at creation, to host memory
// that is the GPU view of a wsys::SparseBuffer's VA range. What the device
// VM maps in that range (memory bound by vkQueueBindSparse, or the
// writable sink) is what lavapipe reads and writes. Other buffers go to
// lavapipe as they are (one table lookup when destroyed or queried).
#include <bit>
#include <cstring>

#include "vulkan/chain.h"
#include "vulkan/sparse.h"
#include "vulkan/vk_result.h"

namespace wsys::vk {

namespace {

VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) {
  return (v + a - 1) & ~(a - 1);
}

SparseDevice* sparse_of(VkDevice device, Device** out = nullptr) {
  Device* d = find_device(device);
  if (out) *out = d;
  return d ? d->sparse.get() : nullptr;
}

// A sparse buffer's requirements: lavapipe's memory types, the sparse
// block as alignment and size granule, never a dedicated allocation.
void put_sparse_requirements(VkDeviceSize size, VkMemoryRequirements* r) {
  r->alignment = kSparseBlockBytes;
  r->size = align_up(size, kSparseBlockBytes);
}

void put_sparse_requirements2(VkDeviceSize size, VkMemoryRequirements2* r) {
  put_sparse_requirements(size, &r->memoryRequirements);
  if (auto* ded = find_in_chain<VkMemoryDedicatedRequirements>(
          r->pNext, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS)) {
    ded->prefersDedicatedAllocation = VK_FALSE;
    ded->requiresDedicatedAllocation = VK_FALSE;
  }
}

// Invalid usage the ICD cannot honour: refused with a message.
VkResult refuse(const char* what) {
  log_error("vkCreateBuffer: %s", what);
  return VK_ERROR_FEATURE_NOT_PRESENT;
}

VkResult check_sparse_create(const SparseDevice& s, const PhysicalDevice& pd,
                             const VkBufferCreateInfo& ci) {
  if (!(ci.flags & VK_BUFFER_CREATE_SPARSE_BINDING_BIT))
    return refuse("SPARSE_RESIDENCY/SPARSE_ALIASED without SPARSE_BINDING");
  if (!s.enabled.binding) return refuse("sparseBinding is not enabled");
  if ((ci.flags & VK_BUFFER_CREATE_SPARSE_RESIDENCY_BIT) && !s.enabled.residency_buffer)
    return refuse("sparseResidencyBuffer is not enabled");
  if ((ci.flags & VK_BUFFER_CREATE_SPARSE_ALIASED_BIT) && !s.enabled.residency_aliased)
    return refuse("sparseResidencyAliased is not enabled");
  if (ci.flags & VK_BUFFER_CREATE_DEVICE_ADDRESS_CAPTURE_REPLAY_BIT)
    return refuse("sparse buffers have no capture/replay addresses");
  if (ci.size == 0) return refuse("size 0");
  if (const auto* ext = find_in_chain<VkExternalMemoryBufferCreateInfo>(
          ci.pNext, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
      ext && ext->handleTypes)
    return refuse("sparse buffers have no external memory");
  if (ci.size > pd.sparse_address_space_bytes) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  return VK_SUCCESS;
}

}  // namespace

VkResult import_sparse_range(Device& d, const wsys::SparseBuffer& sb, uint32_t type_bits,
                             VkDeviceMemory* out) {
  void* view = d.wsys->gpu_view(sb.gpu_va());
  if (!view) return VK_ERROR_OUT_OF_DEVICE_MEMORY;  // the physical device promised one
  VkImportMemoryHostPointerInfoEXT host{};
  host.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
  host.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  host.pHostPointer = view;
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.pNext = &host;
  mai.allocationSize = sb.size();
  mai.memoryTypeIndex = type_bits ? std::countr_zero(type_bits) : 0;
  return d.fn.AllocateMemory(d.handle, &mai, nullptr, out);
}

std::shared_ptr<wsys::SparseBuffer> find_sparse_buffer(Device& d, VkBuffer b,
                                                       SparseBufferRecord* copy) {
  if (!d.sparse || d.sparse->buffer_count.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard<std::mutex> g(d.sparse->lock);
  auto it = d.sparse->buffers.find(b);
  if (it == d.sparse->buffers.end()) return nullptr;
  if (copy) *copy = *it->second;
  return it->second->sb;
}

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL CreateBuffer(VkDevice device, const VkBufferCreateInfo* ci,
                                            const VkAllocationCallbacks* alloc, VkBuffer* out) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || !ci || !out) return VK_ERROR_INITIALIZATION_FAILED;
  if (!(ci->flags & kSparseBufferFlags)) return s->fn.CreateBuffer(device, ci, alloc, out);
  if (VkResult r = check_sparse_create(*s, *d->physical, *ci); r != VK_SUCCESS) return r;

  auto rec = std::make_unique<SparseBufferRecord>();
  rec->size = ci->size;
  rec->aligned_size = align_up(ci->size, kSparseBlockBytes);
  rec->flags = ci->flags;
  // The VA range: unbound pages are the writable sink, so a shader's store
  // to a non-resident page is discarded instead of faulting lavapipe.
  Result<std::shared_ptr<wsys::SparseBuffer>> sb =
      wsys::SparseBuffer::create(d->wsys, rec->aligned_size, wsys::SparseUnbound::WritableSink);
  if (!sb.ok())
    return vk_result_of(sb.error(), FailureKind::DeviceMemory, "vkCreateBuffer",
                        "reserving the sparse range");
  rec->sb = *sb;

  VkBufferCreateInfo lci = *ci;
  lci.flags &= ~kSparseBufferFlags;
  VkResult r = s->fn.CreateBuffer(device, &lci, alloc, out);
  if (r != VK_SUCCESS) return r;
  VkMemoryRequirements req{};
  s->fn.GetBufferMemoryRequirements(device, *out, &req);
  rec->memory_type_bits = d->physical->memory.to_app_bits(req.memoryTypeBits);

  // lavapipe imports the whole range's view as host memory; the buffer
  // lives at its start.
  r = import_sparse_range(*d, *rec->sb, req.memoryTypeBits, &rec->executor_memory);
  if (r == VK_SUCCESS) {
    r = s->fn.BindBufferMemory(device, *out, rec->executor_memory, 0);
    if (r != VK_SUCCESS) d->fn.FreeMemory(device, rec->executor_memory, nullptr);
  }
  if (r != VK_SUCCESS) {
    s->fn.DestroyBuffer(device, *out, alloc);
    *out = VK_NULL_HANDLE;
    return r;
  }
  std::lock_guard<std::mutex> g(s->lock);
  s->buffers[*out] = std::move(rec);
  s->buffer_count.store(s->buffers.size(), std::memory_order_release);
  return VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL DestroyBuffer(VkDevice device, VkBuffer buffer,
                                         const VkAllocationCallbacks* alloc) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || buffer == VK_NULL_HANDLE) return;
  std::unique_ptr<SparseBufferRecord> rec = take_record(*s, s->buffers, s->buffer_count, buffer);
  s->fn.DestroyBuffer(device, buffer, alloc);
  if (!rec) return;
  d->fn.FreeMemory(device, rec->executor_memory, nullptr);
  // The range goes now (the application may destroy a buffer only when no
  // work uses it); the Bos still bound are released with it. A bind still
  // queued for it finds it destroyed and is dropped.
  (void)rec->sb->destroy();
}

VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements(VkDevice device, VkBuffer buffer,
                                                       VkMemoryRequirements* req) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s) return;
  s->fn.GetBufferMemoryRequirements(device, buffer, req);
  SparseBufferRecord rec;
  if (find_sparse_buffer(*d, buffer, &rec)) put_sparse_requirements(rec.size, req);
}

VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements2(VkDevice device,
                                                        const VkBufferMemoryRequirementsInfo2* info,
                                                        VkMemoryRequirements2* req) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || !info) return;
  s->fn.GetBufferMemoryRequirements2(device, info, req);
  SparseBufferRecord rec;
  if (find_sparse_buffer(*d, info->buffer, &rec)) put_sparse_requirements2(rec.size, req);
}

VKAPI_ATTR void VKAPI_CALL GetDeviceBufferMemoryRequirements(
    VkDevice device, const VkDeviceBufferMemoryRequirements* info, VkMemoryRequirements2* req) {
  SparseDevice* s = sparse_of(device);
  if (!s || !info || !info->pCreateInfo) return;
  if (!(info->pCreateInfo->flags & kSparseBufferFlags)) {
    s->fn.GetDeviceBufferMemoryRequirements(device, info, req);
    return;
  }
  // What vkCreateBuffer would give lavapipe, then the sparse rules.
  VkBufferCreateInfo lci = *info->pCreateInfo;
  lci.flags &= ~kSparseBufferFlags;
  VkDeviceBufferMemoryRequirements linfo = *info;
  linfo.pCreateInfo = &lci;
  s->fn.GetDeviceBufferMemoryRequirements(device, &linfo, req);
  put_sparse_requirements2(lci.size, req);
}

// A sparse buffer is bound by vkQueueBindSparse only (its lavapipe buffer is
// bound to the range's view already): binding it here is invalid usage,
// refused before lavapipe sees anything.
VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory(VkDevice device, VkBuffer buffer,
                                                VkDeviceMemory memory, VkDeviceSize offset) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s) return VK_ERROR_INITIALIZATION_FAILED;
  if (find_sparse_buffer(*d, buffer)) {
    log_error("vkBindBufferMemory on a sparse buffer (use vkQueueBindSparse)");
    return VK_ERROR_VALIDATION_FAILED_EXT;
  }
  return s->fn.BindBufferMemory(device, buffer, memory, offset);
}

VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory2(VkDevice device, uint32_t count,
                                                 const VkBindBufferMemoryInfo* infos) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s) return VK_ERROR_INITIALIZATION_FAILED;
  for (uint32_t i = 0; i < count; i++) {
    if (find_sparse_buffer(*d, infos[i].buffer)) {
      log_error("vkBindBufferMemory2: bind %u is of a sparse buffer (use vkQueueBindSparse)", i);
      return VK_ERROR_VALIDATION_FAILED_EXT;
    }
  }
  return s->fn.BindBufferMemory2(device, count, infos);
}

}  // namespace icd

}  // namespace wsys::vk
