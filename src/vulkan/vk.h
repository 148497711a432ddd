// The Vulkan headers as the ICD uses them: no prototypes (an ICD never
// links the loader; every call goes through a looked-up pointer).
#pragma once

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>
#include <vulkan/vk_icd.h>

namespace wsys::vk {

// One line on stderr, "wsys-vk: ...": for what a user must know (lavapipe
// not found, a bad variable, a device that could not be opened).
void log_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace wsys::vk
