// Device extensions: lavapipe's, plus what wsys implements itself, minus
// what wsys cannot honour when it owns all device memory.
#pragma once

#include <string>
#include <vector>

#include "vulkan/vk.h"

namespace wsys::vk {

// What the application sees: lavapipe's list with wsys's own extensions
// added (replacing lavapipe's entry where it has one) and the hidden ones
// removed.
// `dma_buf`: VK_EXT_external_memory_dma_buf is wsys's to offer (a real
// device, whose BOs export as real dma-bufs).
// `host_memory`: VK_EXT_external_memory_host is wsys's to offer (the
// device can make host pointers BOs: DeviceInfo::host_import or udmabuf).
std::vector<VkExtensionProperties> advertised_extensions(
    const std::vector<VkExtensionProperties>& executor, bool dma_buf, bool host_memory);

// Whether lavapipe offers what the ICD needs of it (host-pointer import);
// `missing` names what it lacks.
bool executor_is_usable(const std::vector<VkExtensionProperties>& executor, std::string* missing);

// The extensions to enable on lavapipe for an application's list: wsys's
// own removed, what the ICD needs added. False (with `unknown` set) when the
// application asked for one that is not advertised.
bool executor_extensions(const char* const* names, uint32_t count,
                         const std::vector<VkExtensionProperties>& advertised,
                         std::vector<const char*>* out, std::string* unknown);

// Whether `name` is one wsys implements (never passed to lavapipe).
bool is_wsys_extension(const char* name);

}  // namespace wsys::vk
