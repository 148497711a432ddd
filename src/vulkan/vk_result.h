// A wsys error (a negative errno, the kernel's or wsys's own) as the
// VkResult the Vulkan spec lets the command return, in one place, so the
// same errno never means "out of device memory" in one command and "out of
// host memory" in another. Every failure mapped here is logged once when
// WSYS_DEBUG names `vk` (or `all`): the command, what failed, the errno and
// the VkResult.
#pragma once

#include "vulkan/vk.h"

namespace wsys::vk {

// What the failing command was making, which decides the VkResult family.
enum class FailureKind {
  DeviceMemory,    // a BO, its VM mapping, a sparse range: OUT_OF_DEVICE_MEMORY
  HostResource,    // a file descriptor, a CPU mapping, host bookkeeping: OUT_OF_HOST_MEMORY
  ExternalHandle,  // importing what the application handed in: INVALID_EXTERNAL_HANDLE
};

VkResult vk_result_of(int neg_errno, FailureKind kind, const char* command, const char* what);

// Whether WSYS_DEBUG asks for the ICD's failure log (read once).
bool vk_debug_enabled();

}  // namespace wsys::vk
