// pNext chains: finding a structure by its sType, in an input chain (the
// application's, read-only) or an output chain (filled in for it).
#pragma once

#include "vulkan/vk.h"

namespace wsys::vk {

template <typename T>
const T* find_in_chain(const void* chain, VkStructureType type) {
  for (auto* s = static_cast<const VkBaseInStructure*>(chain); s; s = s->pNext)
    if (s->sType == type) return reinterpret_cast<const T*>(s);
  return nullptr;
}

template <typename T>
T* find_in_chain(void* chain, VkStructureType type) {
  for (auto* s = static_cast<VkBaseOutStructure*>(chain); s; s = s->pNext)
    if (s->sType == type) return reinterpret_cast<T*>(s);
  return nullptr;
}

}  // namespace wsys::vk
