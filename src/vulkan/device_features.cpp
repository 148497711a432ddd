// The features the ICD adds (sparse binding) and the chain vkCreateDevice
// hands lavapipe: lavapipe has no sparse support and refuses a device with
// sparse features enabled, so they are taken out of what it gets; the
// sparse queue machinery needs timeline semaphores, so those are put in.
#include <vulkan/vk_layer.h>

#include <cstring>

#include "vulkan/sparse.h"

#ifdef WSYS_VK_HAVE_CHAIN_SIZES
#include "device_chain_sizes.h"  // generated from vk.xml by gen_chain_sizes.py
#else
namespace wsys::vk {
namespace {
// Without the registry: the structs vkCreateDevice chains most often.
size_t device_chain_struct_size(VkStructureType t) {
  switch (t) {
    case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2:
      return sizeof(VkPhysicalDeviceFeatures2);
    case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES:
      return sizeof(VkPhysicalDeviceVulkan11Features);
    case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES:
      return sizeof(VkPhysicalDeviceVulkan12Features);
    case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES:
      return sizeof(VkPhysicalDeviceVulkan13Features);
    case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
      return sizeof(VkPhysicalDeviceTimelineSemaphoreFeatures);
    default:
      return 0;
  }
}
}  // namespace
}  // namespace wsys::vk
#endif

namespace wsys::vk {

namespace {

// The registry's structs, and the loader's own: it chains a
// VkLayerDeviceCreateInfo (LOADER_DEVICE_CREATE_INFO) into what reaches the
// ICD, usually in front.
size_t chain_struct_size(VkStructureType t) {
  if (t == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO) return sizeof(VkLayerDeviceCreateInfo);
  return device_chain_struct_size(t);
}

bool strip_sparse(VkPhysicalDeviceFeatures* f) {
  const bool had = f->sparseBinding || f->sparseResidencyBuffer || f->sparseResidencyAliased;
  f->sparseBinding = VK_FALSE;
  f->sparseResidencyBuffer = VK_FALSE;
  f->sparseResidencyAliased = VK_FALSE;
  return had;
}

void note_requested(const VkPhysicalDeviceFeatures& f, SparseFeatures* r) {
  r->binding = r->binding || f.sparseBinding;
  r->residency_buffer = r->residency_buffer || f.sparseResidencyBuffer;
  r->residency_aliased = r->residency_aliased || f.sparseResidencyAliased;
}

}  // namespace

void put_sparse_features(const PhysicalDevice& pd, VkPhysicalDeviceFeatures* f) {
  f->sparseBinding = pd.sparse ? VK_TRUE : VK_FALSE;
  f->sparseResidencyBuffer = pd.sparse ? VK_TRUE : VK_FALSE;
  f->sparseResidencyAliased = pd.sparse ? VK_TRUE : VK_FALSE;
  // Images bind opaquely (sparseBinding, SPARSE_BINDING images); partially
  // resident images (block-shaped binds, metadata) are not offered.
  f->sparseResidencyImage2D = VK_FALSE;
  f->sparseResidencyImage3D = VK_FALSE;
  f->sparseResidency2Samples = VK_FALSE;
  f->sparseResidency4Samples = VK_FALSE;
  f->sparseResidency8Samples = VK_FALSE;
  f->sparseResidency16Samples = VK_FALSE;
}

VkResult LavapipeFeatureChain::build(const VkDeviceCreateInfo& ci, bool need_timeline,
                                     SparseFeatures* requested) {
  *requested = {};
  copies_.clear();
  enabled_ = ci.pEnabledFeatures;
  if (ci.pEnabledFeatures) {
    note_requested(*ci.pEnabledFeatures, requested);
    features_ = *ci.pEnabledFeatures;
    if (strip_sparse(&features_)) enabled_ = &features_;
  }

  // Which structs of the chain change (their index), and whether a
  // timeline feature struct is there at all.
  std::vector<const VkBaseInStructure*> chain;
  int last_changed = -1;
  bool has_timeline_struct = false;
  for (auto* s = static_cast<const VkBaseInStructure*>(ci.pNext); s; s = s->pNext) {
    const int i = static_cast<int>(chain.size());
    chain.push_back(s);
    switch (s->sType) {
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2: {
        const auto& f = reinterpret_cast<const VkPhysicalDeviceFeatures2*>(s)->features;
        note_requested(f, requested);
        if (f.sparseBinding || f.sparseResidencyBuffer || f.sparseResidencyAliased)
          last_changed = i;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES:
        has_timeline_struct = true;
        if (need_timeline &&
            !reinterpret_cast<const VkPhysicalDeviceVulkan12Features*>(s)->timelineSemaphore)
          last_changed = i;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
        has_timeline_struct = true;
        if (need_timeline && !reinterpret_cast<const VkPhysicalDeviceTimelineSemaphoreFeatures*>(s)
                                  ->timelineSemaphore)
          last_changed = i;
        break;
      default:
        break;
    }
  }

  // Copies of chain[0..last_changed], relinked; the rest is the
  // application's own.
  const void* head = ci.pNext;
  if (last_changed >= 0) {
    VkBaseOutStructure* prev = nullptr;
    for (int i = 0; i <= last_changed; i++) {
      const VkBaseInStructure* s = chain[i];
      const size_t bytes = chain_struct_size(s->sType);
      if (bytes < sizeof(VkBaseInStructure)) {
        log_error(
            "vkCreateDevice: cannot copy a pNext struct of type %d (unknown to this build) "
            "to take the sparse features out",
            static_cast<int>(s->sType));
        return VK_ERROR_FEATURE_NOT_PRESENT;
      }
      copies_.emplace_back(new uint64_t[(bytes + 7) / 8]);
      auto* c = reinterpret_cast<VkBaseOutStructure*>(copies_.back().get());
      std::memcpy(c, s, bytes);
      switch (c->sType) {
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2:
          strip_sparse(&reinterpret_cast<VkPhysicalDeviceFeatures2*>(c)->features);
          break;
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES:
          if (need_timeline)
            reinterpret_cast<VkPhysicalDeviceVulkan12Features*>(c)->timelineSemaphore = VK_TRUE;
          break;
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
          if (need_timeline)
            reinterpret_cast<VkPhysicalDeviceTimelineSemaphoreFeatures*>(c)->timelineSemaphore =
                VK_TRUE;
          break;
        default:
          break;
      }
      if (prev)
        prev->pNext = c;
      else
        head = c;
      prev = c;
    }
    prev->pNext = const_cast<VkBaseOutStructure*>(
        reinterpret_cast<const VkBaseOutStructure*>(chain[last_changed]->pNext));
  }
  // No timeline struct at all: one of ours in front (the spec forbids
  // adding it next to a VkPhysicalDeviceVulkan12Features, hence only here;
  // VK_KHR_timeline_semaphore is enabled for lavapipe alongside).
  if (need_timeline && !has_timeline_struct) {
    timeline_ = {};
    timeline_.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES;
    timeline_.pNext = const_cast<void*>(head);
    timeline_.timelineSemaphore = VK_TRUE;
    head = &timeline_;
  }
  next_ = head;
  return VK_SUCCESS;
}

}  // namespace wsys::vk
