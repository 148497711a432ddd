// A table of commands by name, as the proc-address functions hand them out.
#pragma once

#include <cstring>

#include "vulkan/vk.h"

namespace wsys::vk {

struct ProcEntry {
  const char* name;
  PFN_vkVoidFunction fn;
};

template <typename Fn>
constexpr PFN_vkVoidFunction proc(Fn f) {
  return reinterpret_cast<PFN_vkVoidFunction>(f);
}

// The entry of `table` called `name`, or null.
template <size_t N>
PFN_vkVoidFunction find_proc(const ProcEntry (&table)[N], const char* name) {
  for (const ProcEntry& e : table)
    if (std::strcmp(e.name, name) == 0) return e.fn;
  return nullptr;
}

}  // namespace wsys::vk
