#include "vulkan/extensions.h"

#include <cstring>
#include <iterator>

namespace wsys::vk {

namespace {

// Implemented by wsys: external memory fds are wsys BOs' dma-buf fds and the
// budget comes from wsys's statistics.
const VkExtensionProperties kWsysExtensions[] = {
    {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, VK_KHR_EXTERNAL_MEMORY_FD_SPEC_VERSION},
    {VK_EXT_MEMORY_BUDGET_EXTENSION_NAME, VK_EXT_MEMORY_BUDGET_SPEC_VERSION},
};

// Implemented by wsys where it can make host pointers BOs (the model's
// HOST_IMPORT extension, or udmabuf): application pointers become wsys BOs
// (Device::import_host Shared), never memory lavapipe owns.
const VkExtensionProperties kWsysHostMemory = {VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,
                                               VK_EXT_EXTERNAL_MEMORY_HOST_SPEC_VERSION};

// Implemented by wsys on a real device only: the model's BOs export as
// memfds, which no other driver could import as a dma-buf.
const VkExtensionProperties kWsysDmaBuf = {"VK_EXT_external_memory_dma_buf", 1};

// Offered by lavapipe but not honourable when every allocation is a wsys
// BO: lavapipe's host-pointer import and dma-bufs would be memory wsys does
// not own (wsys offers its own external_memory_host above) (and VK_KHR_map_memory2 would map lavapipe's view instead of the BO's
// CPU mapping). Hidden, so a newer lavapipe cannot reintroduce them.
const char* const kHidden[] = {
    VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,
    "VK_EXT_external_memory_dma_buf",
    "VK_EXT_image_drm_format_modifier",
    "VK_KHR_map_memory2",
    "VK_EXT_device_memory_report",
    "VK_EXT_pageable_device_local_memory",
};

// What the ICD itself needs lavapipe to enable.
const char* const kRequired[] = {VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME};

bool in(const char* name, const char* const* list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (std::strcmp(name, list[i]) == 0) return true;
  return false;
}

bool has(const std::vector<VkExtensionProperties>& v, const char* name) {
  for (const VkExtensionProperties& e : v)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

}  // namespace

bool is_wsys_extension(const char* name) {
  if (std::strcmp(name, kWsysDmaBuf.extensionName) == 0) return true;
  if (std::strcmp(name, kWsysHostMemory.extensionName) == 0) return true;
  for (const VkExtensionProperties& e : kWsysExtensions)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

std::vector<VkExtensionProperties> advertised_extensions(
    const std::vector<VkExtensionProperties>& executor, bool dma_buf, bool host_memory) {
  std::vector<VkExtensionProperties> out;
  for (const VkExtensionProperties& e : executor) {
    if (in(e.extensionName, kHidden, std::size(kHidden)) || is_wsys_extension(e.extensionName))
      continue;
    out.push_back(e);
  }
  for (const VkExtensionProperties& e : kWsysExtensions) out.push_back(e);
  if (dma_buf) out.push_back(kWsysDmaBuf);
  if (host_memory) out.push_back(kWsysHostMemory);
  return out;
}

bool executor_is_usable(const std::vector<VkExtensionProperties>& executor, std::string* missing) {
  for (const char* r : kRequired) {
    if (!has(executor, r)) {
      if (missing) *missing = r;
      return false;
    }
  }
  return true;
}

bool executor_extensions(const char* const* names, uint32_t count,
                         const std::vector<VkExtensionProperties>& advertised,
                         std::vector<const char*>* out, std::string* unknown) {
  out->clear();
  for (uint32_t i = 0; i < count; i++) {
    const char* n = names[i];
    if (!n || !has(advertised, n)) {
      if (unknown) *unknown = n ? n : "(null)";
      return false;
    }
    if (is_wsys_extension(n) || in(n, kRequired, std::size(kRequired))) continue;
    bool dup = false;
    for (const char* o : *out) dup = dup || std::strcmp(o, n) == 0;
    if (!dup) out->push_back(n);
  }
  for (const char* r : kRequired) out->push_back(r);
  return true;
}

}  // namespace wsys::vk
