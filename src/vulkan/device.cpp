// VkDevice: lavapipe's device plus a wsys device of its own (so each
// VkDevice has its own VM, BO cache and statistics, and memory shared
// between two VkDevices really crosses devices as a dma-buf).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "vulkan/entry_points.h"
#include "vulkan/extensions.h"
#include "vulkan/memory_report.hpp"
#include "vulkan/shared_memory.h"
#include "vulkan/sparse.h"

namespace wsys::vk {

Device::Device() = default;
Device::~Device() = default;

// WSYS_VK_EXECUTOR_VIEW: how lavapipe reaches memory. "gpu" (default):
// through the device VM (the model's GPU view), "cpu": through each BO's
// CPU mapping, which is what a real device always does.
bool executor_via_cpu_from_env() {
  const char* v = std::getenv("WSYS_VK_EXECUTOR_VIEW");
  if (!v || !*v || std::strcmp(v, "gpu") == 0) return false;
  if (std::strcmp(v, "cpu") == 0) return true;
  log_error("WSYS_VK_EXECUTOR_VIEW='%s' is neither gpu nor cpu: using gpu", v);
  return false;
}

namespace {

bool offers(const PhysicalDevice& pd, const char* ext) {
  for (const VkExtensionProperties& e : pd.extensions)
    if (std::strcmp(e.extensionName, ext) == 0) return true;
  return false;
}

// The application listed `ext` in vkCreateDevice.
bool enabled(const VkDeviceCreateInfo* ci, const char* ext) {
  for (uint32_t i = 0; i < ci->enabledExtensionCount; i++)
    if (ci->ppEnabledExtensionNames[i] && std::strcmp(ci->ppEnabledExtensionNames[i], ext) == 0)
      return true;
  return false;
}

MemoryReport report_of(Device& d) {
  MemoryReport r;
  const PhysicalDevice& pd = *d.physical;
  r.title = pd.wsys_node + " (" + pd.gpu_name + (pd.wsys_info.model ? " model" : "") +
            "), VkDevice via the wsys Vulkan ICD";
  r.stats = d.wsys->stats();
  r.peak_committed_bytes = d.peak_committed_bytes.load(std::memory_order_relaxed);
  return r;
}

// WSYS_VK_REPORT: "1" or "stderr" prints the report on stderr at
// vkDestroyDevice, "json" prints it as one JSON line (docs/json-schema.md),
// "json:FILE" appends that line to FILE, any other value (but "0") appends
// the text to that file.
void report_at_destroy(Device& d) {
  const char* v = std::getenv("WSYS_VK_REPORT");
  if (!v || !*v || std::strcmp(v, "0") == 0) return;
  const bool json = std::strncmp(v, "json", 4) == 0 && (v[4] == 0 || v[4] == ':');
  std::string text = json ? format_memory_report_json(report_of(d))
                          : format_memory_report(report_of(d));
  if (json) v = v[4] == ':' ? v + 5 : "stderr";
  if (std::strcmp(v, "1") == 0 || std::strcmp(v, "stderr") == 0 || !*v) {
    std::fputs(text.c_str(), stderr);
    return;
  }
  if (FILE* f = std::fopen(v, "a")) {
    std::fputs(text.c_str(), f);
    std::fclose(f);
  } else {
    log_error("WSYS_VK_REPORT: cannot open '%s' for appending: %s", v, std::strerror(errno));
  }
}

}  // namespace

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice h, const VkDeviceCreateInfo* ci,
                                            const VkAllocationCallbacks* alloc, VkDevice* out) {
  PhysicalDevice* pd = find_physical_device(h);
  if (!pd || !ci || !out) return VK_ERROR_INITIALIZATION_FAILED;
  std::vector<const char*> exts;
  std::string unknown;
  if (!executor_extensions(ci->ppEnabledExtensionNames, ci->enabledExtensionCount, pd->extensions,
                           &exts, &unknown)) {
    log_error("vkCreateDevice: extension %s is not offered", unknown.c_str());
    return VK_ERROR_EXTENSION_NOT_PRESENT;
  }

  // The sparse features are wsys's: out of what lavapipe gets, and with
  // them timeline semaphores in (the bind workers need them).
  SparseFeatures sparse;
  LavapipeFeatureChain chain;
  if (VkResult r = chain.build(*ci, false, &sparse); r != VK_SUCCESS) return r;
  if (sparse.any()) {
    if (!pd->sparse) {
      log_error("vkCreateDevice: sparse binding is not offered on %s%s", pd->wsys_node.c_str(),
                pd->wsys_info.kernel_managed_va ? " (panfrost)" : " (no GPU view for lavapipe)");
      return VK_ERROR_FEATURE_NOT_PRESENT;
    }
    if (VkResult r = chain.build(*ci, true, &sparse); r != VK_SUCCESS) return r;
    const char* timeline = VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME;
    bool listed = false;
    for (const char* e : exts) listed = listed || std::strcmp(e, timeline) == 0;
    if (!listed && offers(*pd, timeline)) exts.push_back(timeline);
  }

  auto dev = std::make_unique<Device>();
  std::string why;
  Result<std::shared_ptr<wsys::Device>> w = wsys::Device::open(pd->wsys_node, DeviceOptions{}, &why);
  if (!w.ok()) {
    log_error("vkCreateDevice: cannot open wsys device %s: %s", pd->wsys_node.c_str(),
              why.empty() ? std::strerror(-w.error()) : why.c_str());
    return VK_ERROR_INITIALIZATION_FAILED;
  }
  dev->wsys = *w;
  dev->physical = pd;
  // No GPU view (a real device): lavapipe reads BOs through their CPU
  // mappings.
  dev->executor_via_cpu =
      executor_via_cpu_from_env() || dev->wsys->gpu_view(dev->wsys->info().va_start) == nullptr;
  if (sparse.any() && dev->executor_via_cpu) {
    // Decided like the physical device's offer; only a changed environment
    // gets here.
    log_error("vkCreateDevice: sparse binding needs lavapipe on the GPU view");
    return VK_ERROR_FEATURE_NOT_PRESENT;
  }

  VkDeviceCreateInfo lci = *ci;
  lci.pNext = chain.next();
  lci.pEnabledFeatures = chain.enabled_features();
  lci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  lci.ppEnabledExtensionNames = exts.data();
  VkResult r = pd->instance->fn.CreateDevice(h, &lci, alloc, out);
  if (r != VK_SUCCESS) return r;

  dev->handle = *out;
  auto gdpa = pd->instance->fn.GetDeviceProcAddr;
  dev->fn.GetDeviceProcAddr =
      reinterpret_cast<PFN_vkGetDeviceProcAddr>(gdpa(*out, "vkGetDeviceProcAddr"));
  if (!dev->fn.GetDeviceProcAddr) dev->fn.GetDeviceProcAddr = gdpa;
  dev->fn.DestroyDevice = reinterpret_cast<PFN_vkDestroyDevice>(gdpa(*out, "vkDestroyDevice"));
  dev->fn.AllocateMemory = reinterpret_cast<PFN_vkAllocateMemory>(gdpa(*out, "vkAllocateMemory"));
  dev->fn.FreeMemory = reinterpret_cast<PFN_vkFreeMemory>(gdpa(*out, "vkFreeMemory"));
  if (!dev->fn.DestroyDevice || !dev->fn.AllocateMemory || !dev->fn.FreeMemory) {
    log_error("lavapipe lacks device commands the ICD needs");
    if (dev->fn.DestroyDevice) dev->fn.DestroyDevice(*out, alloc);
    *out = VK_NULL_HANDLE;
    return VK_ERROR_INITIALIZATION_FAILED;
  }
  if (sparse.any() && !sparse_device_init(*dev, sparse)) {
    dev->fn.DestroyDevice(*out, alloc);
    *out = VK_NULL_HANDLE;
    return VK_ERROR_INITIALIZATION_FAILED;
  }
  // dma-buf memory from the model's central allocator: the GPU attaches
  // at the first submission (shared_memory.h).
  if (pd->dma_buf_shared && enabled(ci, "VK_EXT_external_memory_dma_buf") &&
      !shared_memory_init(*dev)) {
    if (dev->sparse) sparse_device_finish(*dev);
    dev->fn.DestroyDevice(*out, alloc);
    *out = VK_NULL_HANDLE;
    return VK_ERROR_INITIALIZATION_FAILED;
  }
  if (pd->memory.remapped) memory_requirements_init(*dev);
  {
    std::lock_guard<std::mutex> g(pd->devices_lock);
    pd->devices.push_back(dev.get());
  }
  add_device(std::move(dev));
  return VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL DestroyDevice(VkDevice device, const VkAllocationCallbacks* alloc) {
  if (device == VK_NULL_HANDLE) return;
  std::unique_ptr<Device> dev = remove_device(device);
  if (!dev) return;
  // The bind workers call into lavapipe's device: they go first.
  if (dev->sparse) sparse_device_finish(*dev);
  if (dev->shared) shared_memory_finish(*dev);
  dev->fn.DestroyDevice(device, alloc);
  // Memory the application never freed died with lavapipe's device; its
  // BOs go back to the cache now, so the report shows them as cached.
  dev->memory.clear();
  {
    PhysicalDevice* pd = dev->physical;
    std::lock_guard<std::mutex> g(pd->devices_lock);
    pd->devices.erase(std::remove(pd->devices.begin(), pd->devices.end(), dev.get()),
                      pd->devices.end());
  }
  report_at_destroy(*dev);
}

VKAPI_ATTR VkResult VKAPI_CALL GetWsysMemoryStatsWSYS(VkDevice device, WsysVkMemoryStats* out) {
  Device* d = find_device(device);
  if (!d || !out) return VK_ERROR_INITIALIZATION_FAILED;
  DeviceStats s = d->wsys->stats();
  *out = WsysVkMemoryStats{};
  out->bos_live = s.bos_live;
  out->bytes_live = s.bytes_live;
  out->peak_bytes_live = s.peak_bytes_live;
  out->peak_committed_bytes = d->peak_committed_bytes.load(std::memory_order_relaxed);
  out->bo_creates = s.bo_creates;
  out->bo_destroys = s.bo_destroys;
  out->imports = s.imports;
  out->exports = s.exports;
  out->cache_hits = s.cache.hits;
  out->cache_misses = s.cache.misses;
  out->cache_puts = s.cache.puts;
  out->cache_purged_on_reuse = s.cache.purged_on_reuse;
  out->cache_evicted = s.cache.evicted;
  out->cache_entries = s.cache.entries;
  out->cache_bytes = s.cache.bytes_cached;
  out->vm_bind_calls = s.vm.bind_calls;
  out->va_maps = s.va_maps;
  out->va_unmaps = s.va_unmaps;
  out->cache_sync_ops = s.cache_sync_ops;
  return VK_SUCCESS;
}

VKAPI_ATTR VkResult VKAPI_CALL GetWsysMemoryReportWSYS(VkDevice device, size_t* size, char* text) {
  Device* d = find_device(device);
  if (!d || !size) return VK_ERROR_INITIALIZATION_FAILED;
  std::string r = format_memory_report(report_of(*d));
  if (!text) {
    *size = r.size() + 1;
    return VK_SUCCESS;
  }
  if (*size == 0) return VK_INCOMPLETE;
  size_t n = std::min(*size - 1, r.size());
  std::memcpy(text, r.data(), n);
  text[n] = '\0';
  *size = n + 1;
  return n < r.size() ? VK_INCOMPLETE : VK_SUCCESS;
}

}  // namespace icd

}  // namespace wsys::vk
