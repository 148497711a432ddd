// Sparse VkImages: SPARSE_BINDING (and SPARSE_ALIASED), bound opaquely.
// lavapipe has none: like a sparse buffer (sparse_buffer.cpp), a sparse
// image is a lavapipe image made without the sparse flags and bound, at
// creation, to host memory that is the GPU view of a wsys::SparseBuffer's
// VA range sized to the image's memory requirements (lavapipe's size
// rounded up to the 64 KiB block). vkQueueBindSparse's pImageOpaqueBinds
// bind and unbind block ranges of that VA range exactly as buffer binds
// do. Residency (SPARSE_RESIDENCY, pImageBinds, metadata) is not offered:
// the sparse memory requirements of every image are empty.
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

// A sparse image's requirements: lavapipe's memory types and its size
// rounded up to the sparse block, which is also the alignment (the size of
// one opaque bind); never a dedicated allocation.
void put_sparse_requirements(VkMemoryRequirements* r) {
  r->alignment = kSparseBlockBytes;
  r->size = align_up(r->size, kSparseBlockBytes);
}

void put_sparse_requirements2(VkMemoryRequirements2* r) {
  put_sparse_requirements(&r->memoryRequirements);
  if (auto* ded = find_in_chain<VkMemoryDedicatedRequirements>(
          r->pNext, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS)) {
    ded->prefersDedicatedAllocation = VK_FALSE;
    ded->requiresDedicatedAllocation = VK_FALSE;
  }
}

// What the ICD cannot honour, or invalid usage: refused with a message.
VkResult refuse(const char* what) {
  log_error("vkCreateImage: %s", what);
  return VK_ERROR_FEATURE_NOT_PRESENT;
}

VkResult check_sparse_create(const SparseDevice& s, const VkImageCreateInfo& ci) {
  if (!(ci.flags & VK_IMAGE_CREATE_SPARSE_BINDING_BIT))
    return refuse("SPARSE_RESIDENCY/SPARSE_ALIASED without SPARSE_BINDING");
  if (!s.enabled.binding) return refuse("sparseBinding is not enabled");
  if (ci.flags & VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT)
    return refuse("sparse residency images are not offered (sparseResidencyImage* false)");
  if ((ci.flags & VK_IMAGE_CREATE_SPARSE_ALIASED_BIT) && !s.enabled.residency_aliased)
    return refuse("sparseResidencyAliased is not enabled");
  if (ci.flags & VK_IMAGE_CREATE_DISJOINT_BIT)
    return refuse("disjoint sparse images are not supported");
  if (ci.tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT)
    return refuse("sparse images have no DRM format modifiers");
  if (const auto* ext = find_in_chain<VkExternalMemoryImageCreateInfo>(
          ci.pNext, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO);
      ext && ext->handleTypes)
    return refuse("sparse images have no external memory");
  return VK_SUCCESS;
}

}  // namespace

std::shared_ptr<wsys::SparseBuffer> find_sparse_image(Device& d, VkImage i,
                                                      SparseImageRecord* copy) {
  if (!d.sparse || d.sparse->image_count.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard<std::mutex> g(d.sparse->lock);
  auto it = d.sparse->images.find(i);
  if (it == d.sparse->images.end()) return nullptr;
  if (copy) *copy = *it->second;
  return it->second->sb;
}

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL CreateImage(VkDevice device, const VkImageCreateInfo* ci,
                                           const VkAllocationCallbacks* alloc, VkImage* out) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || !ci || !out) return VK_ERROR_INITIALIZATION_FAILED;
  if (!(ci->flags & kSparseImageFlags)) return s->fn.CreateImage(device, ci, alloc, out);
  if (VkResult r = check_sparse_create(*s, *ci); r != VK_SUCCESS) return r;

  // lavapipe's image first: its requirements size the range.
  VkImageCreateInfo lci = *ci;
  lci.flags &= ~kSparseImageFlags;
  VkResult r = s->fn.CreateImage(device, &lci, alloc, out);
  if (r != VK_SUCCESS) return r;
  VkMemoryRequirements req{};
  s->fn.GetImageMemoryRequirements(device, *out, &req);
  put_sparse_requirements(&req);
  auto fail = [&](VkResult why) {
    s->fn.DestroyImage(device, *out, alloc);
    *out = VK_NULL_HANDLE;
    return why;
  };
  if (req.size > d->physical->sparse_address_space_bytes)
    return fail(VK_ERROR_OUT_OF_DEVICE_MEMORY);

  auto rec = std::make_unique<SparseImageRecord>();
  rec->size = req.size;
  rec->flags = ci->flags;
  rec->memory_type_bits = d->physical->memory.to_app_bits(req.memoryTypeBits);
  // Unbound pages are the writable sink, as for buffers: a store there is
  // discarded, a load reads whatever the sink holds.
  Result<std::shared_ptr<wsys::SparseBuffer>> sb =
      wsys::SparseBuffer::create(d->wsys, rec->size, wsys::SparseUnbound::WritableSink);
  if (!sb.ok())
    return fail(vk_result_of(sb.error(), FailureKind::DeviceMemory, "vkCreateImage",
                             "reserving the sparse range"));
  rec->sb = *sb;
  // lavapipe's image lives at the start of the range's view.
  r = import_sparse_range(*d, *rec->sb, req.memoryTypeBits, &rec->executor_memory);
  if (r == VK_SUCCESS) {
    r = s->fn.BindImageMemory(device, *out, rec->executor_memory, 0);
    if (r != VK_SUCCESS) d->fn.FreeMemory(device, rec->executor_memory, nullptr);
  }
  if (r != VK_SUCCESS) return fail(r);  // the range goes with `rec`
  std::lock_guard<std::mutex> g(s->lock);
  s->images[*out] = std::move(rec);
  s->image_count.store(s->images.size(), std::memory_order_release);
  return VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL DestroyImage(VkDevice device, VkImage image,
                                        const VkAllocationCallbacks* alloc) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || image == VK_NULL_HANDLE) return;
  std::unique_ptr<SparseImageRecord> rec = take_record(*s, s->images, s->image_count, image);
  s->fn.DestroyImage(device, image, alloc);
  if (!rec) return;
  d->fn.FreeMemory(device, rec->executor_memory, nullptr);
  // As for buffers: the range (and the BOs still bound in it) goes now; a
  // bind still queued for it finds it destroyed and is dropped.
  (void)rec->sb->destroy();
}

VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements(VkDevice device, VkImage image,
                                                      VkMemoryRequirements* req) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s) return;
  s->fn.GetImageMemoryRequirements(device, image, req);
  if (find_sparse_image(*d, image)) put_sparse_requirements(req);
}

VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements2(VkDevice device,
                                                       const VkImageMemoryRequirementsInfo2* info,
                                                       VkMemoryRequirements2* req) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || !info) return;
  s->fn.GetImageMemoryRequirements2(device, info, req);
  if (find_sparse_image(*d, info->image)) put_sparse_requirements2(req);
}

VKAPI_ATTR void VKAPI_CALL GetDeviceImageMemoryRequirements(
    VkDevice device, const VkDeviceImageMemoryRequirements* info, VkMemoryRequirements2* req) {
  SparseDevice* s = sparse_of(device);
  if (!s || !info || !info->pCreateInfo) return;
  if (!(info->pCreateInfo->flags & kSparseImageFlags)) {
    s->fn.GetDeviceImageMemoryRequirements(device, info, req);
    return;
  }
  // What vkCreateImage would give lavapipe, then the sparse rules.
  VkImageCreateInfo lci = *info->pCreateInfo;
  lci.flags &= ~kSparseImageFlags;
  VkDeviceImageMemoryRequirements linfo = *info;
  linfo.pCreateInfo = &lci;
  s->fn.GetDeviceImageMemoryRequirements(device, &linfo, req);
  put_sparse_requirements2(req);
}

// A sparse image is bound by vkQueueBindSparse only: refused here before
// lavapipe sees anything (its lavapipe image is bound to the range).
VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory(VkDevice device, VkImage image,
                                               VkDeviceMemory memory, VkDeviceSize offset) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s) return VK_ERROR_INITIALIZATION_FAILED;
  if (find_sparse_image(*d, image)) {
    log_error("vkBindImageMemory on a sparse image (use vkQueueBindSparse)");
    return VK_ERROR_VALIDATION_FAILED_EXT;
  }
  return s->fn.BindImageMemory(device, image, memory, offset);
}

VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory2(VkDevice device, uint32_t count,
                                                const VkBindImageMemoryInfo* infos) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s) return VK_ERROR_INITIALIZATION_FAILED;
  for (uint32_t i = 0; i < count; i++) {
    if (find_sparse_image(*d, infos[i].image)) {
      log_error("vkBindImageMemory2: bind %u is of a sparse image (use vkQueueBindSparse)", i);
      return VK_ERROR_VALIDATION_FAILED_EXT;
    }
  }
  return s->fn.BindImageMemory2(device, count, infos);
}

// No image of this device is partially resident (SPARSE_RESIDENCY is
// refused), so every image's sparse requirements are the empty list (the
// spec's answer for an image without SPARSE_RESIDENCY). lavapipe's own
// commands are stubs that leave the count unwritten.
VKAPI_ATTR void VKAPI_CALL
GetImageSparseMemoryRequirements(VkDevice /*device*/, VkImage /*image*/, uint32_t* count,
                                 VkSparseImageMemoryRequirements* /*reqs*/) {
  if (count) *count = 0;
}

VKAPI_ATTR void VKAPI_CALL GetImageSparseMemoryRequirements2(
    VkDevice /*device*/, const VkImageSparseMemoryRequirementsInfo2* /*info*/, uint32_t* count,
    VkSparseImageMemoryRequirements2* /*reqs*/) {
  if (count) *count = 0;
}

VKAPI_ATTR void VKAPI_CALL GetDeviceImageSparseMemoryRequirements(
    VkDevice /*device*/, const VkDeviceImageMemoryRequirements* /*info*/, uint32_t* count,
    VkSparseImageMemoryRequirements2* /*reqs*/) {
  if (count) *count = 0;
}

}  // namespace icd

}  // namespace wsys::vk
