#include "vulkan/executor.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "vulkan/lavapipe_locate.h"

namespace wsys::vk {

namespace {

std::mutex g_lock;
// Loaded once and never unloaded: lavapipe's handles live in the
// application's objects for as long as the process runs (and this library
// is linked -z nodelete for the same reason).
Executor* g_executor = nullptr;

template <typename Fn>
Fn sym(void* handle, const char* name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

Executor* load_locked(std::string* why) {
  if (g_executor) return g_executor;
  std::optional<LavapipeLocation> loc = locate_lavapipe(why);
  if (!loc) return nullptr;
  void* h = dlopen(loc->library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    if (why) *why = "cannot load lavapipe " + loc->library + ": " + (e ? e : "?");
    return nullptr;
  }
  auto gipa = sym<PFN_vk_icdGetInstanceProcAddr>(h, "vk_icdGetInstanceProcAddr");
  if (!gipa) gipa = sym<PFN_vk_icdGetInstanceProcAddr>(h, "vkGetInstanceProcAddr");
  if (!gipa) {
    if (why) *why = loc->library + " is not a Vulkan ICD (no vk_icdGetInstanceProcAddr)";
    dlclose(h);
    return nullptr;
  }
  auto* e = new Executor;
  e->library = loc->library;
  e->gipa = gipa;
  e->negotiate = sym<PFN_vk_icdNegotiateLoaderICDInterfaceVersion>(
      h, "vk_icdNegotiateLoaderICDInterfaceVersion");
  e->gpdpa = sym<PFN_vk_icdGetPhysicalDeviceProcAddr>(h, "vk_icdGetPhysicalDeviceProcAddr");
  // Interface version 7 lets an ICD stop exporting these: ask for them.
  if (!e->negotiate)
    e->negotiate = reinterpret_cast<PFN_vk_icdNegotiateLoaderICDInterfaceVersion>(
        gipa(nullptr, "vk_icdNegotiateLoaderICDInterfaceVersion"));
  if (!e->gpdpa)
    e->gpdpa = reinterpret_cast<PFN_vk_icdGetPhysicalDeviceProcAddr>(
        gipa(nullptr, "vk_icdGetPhysicalDeviceProcAddr"));
  g_executor = e;
  return e;
}

Executor* negotiate_locked(Executor* e, uint32_t* version, std::string* why) {
  uint32_t v = std::min(*version, kMaxInterfaceVersion);
  if (e->negotiate) {
    if (e->negotiate(&v) != VK_SUCCESS) {
      if (why)
        *why = e->library + " refused loader interface version " + std::to_string(*version);
      return nullptr;
    }
  } else {
    v = std::min<uint32_t>(v, 1);  // an ICD without negotiation speaks version 1 at most
  }
  e->interface_version = v;
  *version = v;
  return e;
}

}  // namespace

const Executor* executor_negotiate(uint32_t* version, std::string* why) {
  std::lock_guard<std::mutex> g(g_lock);
  Executor* e = load_locked(why);
  return e ? negotiate_locked(e, version, why) : nullptr;
}

const Executor* executor() {
  std::lock_guard<std::mutex> g(g_lock);
  if (g_executor) return g_executor;
  std::string why;
  Executor* e = load_locked(&why);
  uint32_t v = 1;
  if (e) e = negotiate_locked(e, &v, &why);
  if (!e) log_error("%s", why.c_str());
  return e;
}

PFN_vkVoidFunction executor_proc(VkInstance instance, const char* name) {
  const Executor* e = executor();
  return e ? e->gipa(instance, name) : nullptr;
}

void log_error(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "wsys-vk: %s\n", buf);
}

}  // namespace wsys::vk
