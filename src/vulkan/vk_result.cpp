// errno -> VkResult (vk_result.h).
#include "vulkan/vk_result.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace wsys::vk {

namespace {

const char* name_of(VkResult r) {
  switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    default: return "VkResult";
  }
}

// WSYS_DEBUG is a comma list (docs/environment.md); the ICD's flag is "vk".
bool debug_from_env() {
  const char* v = std::getenv("WSYS_DEBUG");
  if (!v) return false;
  std::string s = std::string(",") + v + ",";
  return s.find(",vk,") != std::string::npos || s.find(",all,") != std::string::npos;
}

}  // namespace

bool vk_debug_enabled() {
  static const bool on = debug_from_env();
  return on;
}

VkResult vk_result_of(int neg_errno, FailureKind kind, const char* command, const char* what) {
  const int e = -neg_errno;
  VkResult r;
  if (e == EMFILE || e == ENFILE) {
    r = VK_ERROR_TOO_MANY_OBJECTS;  // out of file descriptors, whatever was made
  } else {
    switch (kind) {
      case FailureKind::DeviceMemory:
        // ENOMEM/ENOSPC from the kernel (or the model's budget), EFBIG or
        // E2BIG for a size it cannot hold; nothing else can be told apart.
        r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
        break;
      case FailureKind::HostResource:
        r = VK_ERROR_OUT_OF_HOST_MEMORY;
        break;
      case FailureKind::ExternalHandle:
        // The handle is not one this device can take (EBADF, EINVAL,
        // ENOENT, ENODEV, EOPNOTSUPP, ...), unless memory ran out taking it.
        r = (e == ENOMEM || e == ENOSPC) ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                                         : VK_ERROR_INVALID_EXTERNAL_HANDLE;
        break;
      default:
        r = VK_ERROR_UNKNOWN;
    }
  }
  if (vk_debug_enabled())
    log_error("%s: %s failed: %s (errno %d) -> %s", command, what, std::strerror(e), e,
              name_of(r));
  return r;
}

}  // namespace wsys::vk
