// The executor: Mesa's lavapipe, dlopened from its manifest and driven
// through the same loader-ICD interface the Vulkan loader uses.
#pragma once

#include <cstdint>
#include <string>

#include "vulkan/vk.h"

namespace wsys::vk {

struct Executor {
  std::string library;
  PFN_vk_icdGetInstanceProcAddr gipa = nullptr;
  PFN_vk_icdGetPhysicalDeviceProcAddr gpdpa = nullptr;  // null before interface version 4
  PFN_vk_icdNegotiateLoaderICDInterfaceVersion negotiate = nullptr;
  uint32_t interface_version = 0;
};

// The interface version this ICD speaks at most.
inline constexpr uint32_t kMaxInterfaceVersion = 7;

// Loads lavapipe (once per process) and negotiates with it: *version is the
// loader's offer in and the agreed version out (the same is then agreed
// with the loader, so both sides of the ICD speak one version). Null with
// `why` when lavapipe cannot be found, loaded or agreed with.
const Executor* executor_negotiate(uint32_t* version, std::string* why);

// The loaded executor; loads it (interface version 1) when the loader
// never negotiated. Null when it cannot be loaded.
const Executor* executor();

// Looks `name` up in lavapipe for `instance` (null for global commands).
PFN_vkVoidFunction executor_proc(VkInstance instance, const char* name);

}  // namespace wsys::vk
