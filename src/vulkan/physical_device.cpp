// Physical-device queries: lavapipe's answers with wsys's identity, memory
// heap, budget, extensions, external-memory capabilities and sparse binding
// put in.
#include <algorithm>
#include <cstring>

#include "vulkan/chain.h"
#include "vulkan/entry_points.h"
#include "vulkan/identity.h"
#include "vulkan/sparse.h"

namespace wsys::vk {

namespace {

// What wsys offers for a handle type: its BOs export and import as
// dma-bufs (on the model, the GEM object's memfd), for an opaque fd
// everywhere and as a dma-buf handle on a real device; on the model a
// dma-buf handle is the central allocator's buffer (shared_memory.h).
// Either handle is the same fd, so each type is compatible with the other.
VkExternalMemoryProperties external_properties(const PhysicalDevice& pd,
                                               VkExternalMemoryHandleTypeFlagBits type) {
  VkExternalMemoryProperties p{};
  if (pd.host_type_ok(type)) {  // import only, each type on its own
    p.externalMemoryFeatures = VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
    p.compatibleHandleTypes = type;
    return p;
  }
  if (!pd.handle_type_ok(type)) return p;
  p.externalMemoryFeatures =
      VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT | VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
  p.exportFromImportedHandleTypes = pd.handle_types();
  p.compatibleHandleTypes = pd.handle_types();
  // On the model a dma-buf is the central allocator's buffer: memory
  // imported from an opaque fd (a GEM object's memfd) is not one, so it
  // exports as an opaque fd only. Memory made for both types is an
  // allocator buffer, whose fd serves as either.
  if (pd.dma_buf_shared && type == VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT)
    p.exportFromImportedHandleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
  return p;
}

void put_identity(const PhysicalDevice& pd, VkPhysicalDeviceProperties* p) {
  std::memset(p->deviceName, 0, sizeof p->deviceName);
  std::memcpy(p->deviceName, pd.device_name.data(),
              std::min(pd.device_name.size(), sizeof p->deviceName - 1));
  // The non-coherent type's flushes act on whole atoms (memory_types.h).
  if (pd.memory.cpu_cached_bits) p->limits.nonCoherentAtomSize = pd.memory.non_coherent_atom;
  if (pd.sparse) {
    p->limits.sparseAddressSpaceSize = pd.sparse_address_space_bytes;
    // Residency for buffers only (images bind opaquely). Unbound pages are
    // the writable sink: reads there are not zero
    // (residencyNonResidentStrict), and no image is partially resident, so
    // no block shape or mip tail property applies.
    p->sparseProperties = VkPhysicalDeviceSparseProperties{};
  }
}

void put_queue_flags(const PhysicalDevice& pd, VkQueueFamilyProperties* q) {
  // Every family can bind: vkQueueBindSparse is fenced into whichever
  // lavapipe queue it is called on.
  if (pd.sparse) q->queueFlags |= VK_QUEUE_SPARSE_BINDING_BIT;
}

// The sparse create flags vkCreateImage accepts here (sparse_image.cpp):
// SPARSE_BINDING (SPARSE_ALIASED with it) where sparse binding is offered,
// SPARSE_RESIDENCY nowhere. lavapipe's format queries ignore the sparse
// flags, so the ICD answers for them: an image that cannot be created is
// VK_ERROR_FORMAT_NOT_SUPPORTED, which is how an application (and the CTS)
// learns that a partially resident image of that format is not available.
bool sparse_image_flags_ok(const PhysicalDevice& pd, VkImageCreateFlags flags) {
  if (!(flags & kSparseImageFlags)) return true;
  if (flags & VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT) return false;
  return pd.sparse && (flags & VK_IMAGE_CREATE_SPARSE_BINDING_BIT);
}

}  // namespace

uint64_t heap_usage_bytes(PhysicalDevice& pd) {
  uint64_t used = 0;
  std::lock_guard<std::mutex> g(pd.devices_lock);
  for (Device* d : pd.devices) used += d->wsys->stats().bytes_live;
  return used;
}

namespace icd {

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceProperties(VkPhysicalDevice h,
                                                       VkPhysicalDeviceProperties* p) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd) return;
  pd->instance->fn.GetPhysicalDeviceProperties(h, p);
  put_identity(*pd, p);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceProperties2(VkPhysicalDevice h,
                                                        VkPhysicalDeviceProperties2* p) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd) return;
  pd->instance->fn.GetPhysicalDeviceProperties2(h, p);
  put_identity(*pd, &p->properties);
  for (auto* s = static_cast<VkBaseOutStructure*>(p->pNext); s; s = s->pNext) {
    switch (s->sType) {
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT: {
        // A host pointer becomes a BO by whole CPU pages (the model maps
        // pages; udmabuf takes page-aligned ranges): wsys's own figure.
        auto* host = reinterpret_cast<VkPhysicalDeviceExternalMemoryHostPropertiesEXT*>(s);
        host->minImportedHostPointerAlignment = pd->wsys_info.page_size_bytes;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES: {
        auto* id = reinterpret_cast<VkPhysicalDeviceIDProperties*>(s);
        std::memcpy(id->deviceUUID, pd->device_uuid, VK_UUID_SIZE);
        std::memcpy(id->driverUUID, pd->driver_uuid, VK_UUID_SIZE);
        id->deviceLUIDValid = VK_FALSE;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES: {
        auto* v11 = reinterpret_cast<VkPhysicalDeviceVulkan11Properties*>(s);
        std::memcpy(v11->deviceUUID, pd->device_uuid, VK_UUID_SIZE);
        std::memcpy(v11->driverUUID, pd->driver_uuid, VK_UUID_SIZE);
        v11->deviceLUIDValid = VK_FALSE;
        v11->maxMemoryAllocationSize = pd->max_allocation_bytes;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES:
        reinterpret_cast<VkPhysicalDeviceMaintenance3Properties*>(s)->maxMemoryAllocationSize =
            pd->max_allocation_bytes;
        break;
      default:
        break;
    }
  }
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties(VkPhysicalDevice h,
                                                             VkPhysicalDeviceMemoryProperties* p) {
  if (PhysicalDevice* pd = find_physical_device(h)) *p = pd->memory.props;
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceMemoryProperties2(
    VkPhysicalDevice h, VkPhysicalDeviceMemoryProperties2* p) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd) return;
  p->memoryProperties = pd->memory.props;
  auto* budget = find_in_chain<VkPhysicalDeviceMemoryBudgetPropertiesEXT>(
      p->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT);
  if (!budget) return;
  // Usage: what this process's VkDevices hold (wsys's live bytes; cached
  // buffers are reclaimable, so they are not counted against the budget).
  // Budget: the heap, or less when the system has less left to give.
  uint64_t used = heap_usage_bytes(*pd);
  uint64_t avail = available_system_bytes();
  uint64_t limit = avail ? std::min(pd->heap_bytes, used + avail) : pd->heap_bytes;
  for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; i++) {
    budget->heapUsage[i] = i == 0 ? used : 0;
    budget->heapBudget[i] = i == 0 ? std::max(limit, used) : 0;
  }
}

VKAPI_ATTR VkResult VKAPI_CALL EnumerateDeviceExtensionProperties(VkPhysicalDevice h,
                                                                  const char* layer,
                                                                  uint32_t* count,
                                                                  VkExtensionProperties* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !count) return VK_ERROR_INITIALIZATION_FAILED;
  if (layer) return pd->instance->fn.EnumerateDeviceExtensionProperties(h, layer, count, out);
  uint32_t n = static_cast<uint32_t>(pd->extensions.size());
  if (!out) {
    *count = n;
    return VK_SUCCESS;
  }
  uint32_t k = std::min(*count, n);
  std::copy_n(pd->extensions.begin(), k, out);
  *count = k;
  return k < n ? VK_INCOMPLETE : VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceExternalBufferProperties(
    VkPhysicalDevice h, const VkPhysicalDeviceExternalBufferInfo* info,
    VkExternalBufferProperties* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !info || !out) return;
  // A sparse buffer's memory is many BOs: nothing to export or import.
  out->externalMemoryProperties = info->flags & kSparseBufferFlags
                                      ? VkExternalMemoryProperties{}
                                      : external_properties(*pd, info->handleType);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures(VkPhysicalDevice h,
                                                     VkPhysicalDeviceFeatures* f) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !f) return;
  pd->instance->fn.GetPhysicalDeviceFeatures(h, f);
  put_sparse_features(*pd, f);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2(VkPhysicalDevice h,
                                                      VkPhysicalDeviceFeatures2* f) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !f) return;
  if (pd->instance->fn.GetPhysicalDeviceFeatures2)
    pd->instance->fn.GetPhysicalDeviceFeatures2(h, f);
  else
    pd->instance->fn.GetPhysicalDeviceFeatures(h, &f->features);
  put_sparse_features(*pd, &f->features);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceQueueFamilyProperties(VkPhysicalDevice h,
                                                                  uint32_t* count,
                                                                  VkQueueFamilyProperties* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !count) return;
  pd->instance->fn.GetPhysicalDeviceQueueFamilyProperties(h, count, out);
  if (out)
    for (uint32_t i = 0; i < *count; i++) put_queue_flags(*pd, &out[i]);
}

VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceQueueFamilyProperties2(
    VkPhysicalDevice h, uint32_t* count, VkQueueFamilyProperties2* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !count) return;
  if (pd->instance->fn.GetPhysicalDeviceQueueFamilyProperties2) {
    pd->instance->fn.GetPhysicalDeviceQueueFamilyProperties2(h, count, out);
  } else if (!out) {
    pd->instance->fn.GetPhysicalDeviceQueueFamilyProperties(h, count, nullptr);
  } else {
    std::vector<VkQueueFamilyProperties> q(*count);
    pd->instance->fn.GetPhysicalDeviceQueueFamilyProperties(h, count, q.data());
    for (uint32_t i = 0; i < *count; i++) out[i].queueFamilyProperties = q[i];
  }
  if (out)
    for (uint32_t i = 0; i < *count; i++) put_queue_flags(*pd, &out[i].queueFamilyProperties);
}

VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceImageFormatProperties(
    VkPhysicalDevice h, VkFormat format, VkImageType type, VkImageTiling tiling,
    VkImageUsageFlags usage, VkImageCreateFlags flags, VkImageFormatProperties* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !out) return VK_ERROR_INITIALIZATION_FAILED;
  if (!sparse_image_flags_ok(*pd, flags)) {
    *out = {};
    return VK_ERROR_FORMAT_NOT_SUPPORTED;
  }
  return pd->instance->fn.GetPhysicalDeviceImageFormatProperties(h, format, type, tiling, usage,
                                                                 flags, out);
}

VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceImageFormatProperties2(
    VkPhysicalDevice h, const VkPhysicalDeviceImageFormatInfo2* info,
    VkImageFormatProperties2* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !info || !out) return VK_ERROR_INITIALIZATION_FAILED;
  if (!sparse_image_flags_ok(*pd, info->flags)) {
    out->imageFormatProperties = {};
    return VK_ERROR_FORMAT_NOT_SUPPORTED;
  }
  VkResult r = pd->instance->fn.GetPhysicalDeviceImageFormatProperties2(h, info, out);
  if (r != VK_SUCCESS) return r;
  const auto* ext = find_in_chain<VkPhysicalDeviceExternalImageFormatInfo>(
      info->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO);
  if (!ext || ext->handleType == 0) return VK_SUCCESS;
  // Any image lavapipe can make can live in a wsys BO; opaque fds (and on
  // a real device dma-bufs) are the only handles wsys offers. A sparse
  // image's memory is many BOs: nothing to export or import.
  if (!(pd->handle_type_ok(ext->handleType) || pd->host_type_ok(ext->handleType)) ||
      (info->flags & kSparseImageFlags)) {
    out->imageFormatProperties = {};
    return VK_ERROR_FORMAT_NOT_SUPPORTED;
  }
  if (auto* props = find_in_chain<VkExternalImageFormatProperties>(
          out->pNext, VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES))
    props->externalMemoryProperties = external_properties(*pd, ext->handleType);
  return VK_SUCCESS;
}

}  // namespace icd

}  // namespace wsys::vk
