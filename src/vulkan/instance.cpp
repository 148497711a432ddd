// Instances and physical devices: lavapipe's, each paired with the wsys
// device (WSYS_DEVICE, default auto: the kernel model where there is no
// Mali render node) whose memory the ICD hands out.
#include <algorithm>
#include <cstring>

#include "vulkan/entry_points.h"
#include "vulkan/executor.h"
#include "vulkan/extensions.h"
#include "vulkan/identity.h"

namespace wsys::vk {

namespace {

template <typename Fn>
Fn instance_proc(VkInstance instance, const char* name) {
  return reinterpret_cast<Fn>(executor_proc(instance, name));
}

bool resolve(VkInstance h, InstanceFns* f) {
#define WSYS_GET(name) f->name = instance_proc<PFN_vk##name>(h, "vk" #name)
  WSYS_GET(DestroyInstance);
  WSYS_GET(EnumeratePhysicalDevices);
  WSYS_GET(EnumeratePhysicalDeviceGroups);
  WSYS_GET(GetPhysicalDeviceProperties);
  WSYS_GET(GetPhysicalDeviceProperties2);
  WSYS_GET(GetPhysicalDeviceMemoryProperties);
  WSYS_GET(GetPhysicalDeviceFeatures);
  WSYS_GET(GetPhysicalDeviceFeatures2);
  WSYS_GET(GetPhysicalDeviceQueueFamilyProperties);
  WSYS_GET(GetPhysicalDeviceQueueFamilyProperties2);
  WSYS_GET(EnumerateDeviceExtensionProperties);
  WSYS_GET(GetPhysicalDeviceImageFormatProperties);
  WSYS_GET(GetPhysicalDeviceImageFormatProperties2);
  WSYS_GET(CreateDevice);
  WSYS_GET(GetDeviceProcAddr);
#undef WSYS_GET
  // The KHR spellings, for a lavapipe that predates Vulkan 1.1 core names.
  if (!f->GetPhysicalDeviceProperties2)
    f->GetPhysicalDeviceProperties2 = instance_proc<PFN_vkGetPhysicalDeviceProperties2>(
        h, "vkGetPhysicalDeviceProperties2KHR");
  if (!f->GetPhysicalDeviceFeatures2)
    f->GetPhysicalDeviceFeatures2 =
        instance_proc<PFN_vkGetPhysicalDeviceFeatures2>(h, "vkGetPhysicalDeviceFeatures2KHR");
  if (!f->GetPhysicalDeviceQueueFamilyProperties2)
    f->GetPhysicalDeviceQueueFamilyProperties2 =
        instance_proc<PFN_vkGetPhysicalDeviceQueueFamilyProperties2>(
            h, "vkGetPhysicalDeviceQueueFamilyProperties2KHR");
  if (!f->GetPhysicalDeviceImageFormatProperties2)
    f->GetPhysicalDeviceImageFormatProperties2 =
        instance_proc<PFN_vkGetPhysicalDeviceImageFormatProperties2>(
            h, "vkGetPhysicalDeviceImageFormatProperties2KHR");
  return f->DestroyInstance && f->EnumeratePhysicalDevices && f->GetPhysicalDeviceProperties &&
         f->GetPhysicalDeviceProperties2 && f->GetPhysicalDeviceMemoryProperties &&
         f->EnumerateDeviceExtensionProperties && f->GetPhysicalDeviceImageFormatProperties &&
         f->GetPhysicalDeviceImageFormatProperties2 &&
         f->GetPhysicalDeviceFeatures && f->GetPhysicalDeviceQueueFamilyProperties &&
         f->CreateDevice && f->GetDeviceProcAddr;
}

// The application's view of lavapipe's physical device `h` on the wsys
// device `info` (`gpu_view`: the device VM has a view lavapipe can use);
// null (with a message) when lavapipe lacks what the ICD needs.
std::unique_ptr<PhysicalDevice> make_physical(Instance* inst, VkPhysicalDevice h,
                                              const DeviceInfo& info, bool gpu_view) {
  const InstanceFns& fn = inst->fn;
  uint32_t n = 0;
  if (fn.EnumerateDeviceExtensionProperties(h, nullptr, &n, nullptr) != VK_SUCCESS) return nullptr;
  std::vector<VkExtensionProperties> exts(n);
  if (fn.EnumerateDeviceExtensionProperties(h, nullptr, &n, exts.data()) < 0) return nullptr;
  exts.resize(n);
  std::string missing;
  if (!executor_is_usable(exts, &missing)) {
    log_error("lavapipe's device lacks %s, which the ICD needs: not offered", missing.c_str());
    return nullptr;
  }

  VkPhysicalDeviceMaintenance3Properties m3{};
  m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
  VkPhysicalDeviceIDProperties id{};
  id.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
  id.pNext = &m3;
  VkPhysicalDeviceProperties2 props{};
  props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  props.pNext = &id;
  fn.GetPhysicalDeviceProperties2(h, &props);

  auto pd = std::make_unique<PhysicalDevice>();
  pd->handle = h;
  pd->instance = inst;
  pd->wsys_info = info;
  pd->wsys_node = info.node;
  pd->gpu_name = gpu_name(info.gpu_id);
  pd->device_name = device_name(info);
  pd->heap_bytes = heap_size_bytes(info);
  pd->max_allocation_bytes =
      m3.maxMemoryAllocationSize ? std::min<VkDeviceSize>(m3.maxMemoryAllocationSize, pd->heap_bytes)
                                 : pd->heap_bytes;
  pd->dma_buf_shared = info.model && info.shared_buffers;
  pd->dma_buf = !info.model || pd->dma_buf_shared;
  pd->host_memory = info.host_import || info.udmabuf;
  pd->extensions = advertised_extensions(exts, pd->dma_buf, pd->host_memory);
  make_uuids(id.driverUUID, id.deviceUUID, info, pd->driver_uuid, pd->device_uuid);
  // Sparse binding: wsys sparse buffers (not panfrost, which places every
  // BO itself) that lavapipe sees through the device VM (a real device's
  // VM has no CPU view; WSYS_VK_EXECUTOR_VIEW=cpu takes the same path).
  // vkCreateDevice decides the same way, so what is offered is accepted.
  pd->sparse = !info.kernel_managed_va && gpu_view && !executor_via_cpu_from_env();
  pd->sparse_address_space_bytes = pd->sparse ? info.va_end - info.va_start : 0;

  // lavapipe's memory types (so the memoryTypeBits it reports for
  // resources stay right), all in one heap: wsys's device memory; on a
  // non-coherent device with cached mappings, a non-coherent cached type
  // on top (memory_types.h).
  VkPhysicalDeviceMemoryProperties mem{};
  fn.GetPhysicalDeviceMemoryProperties(h, &mem);
  if (mem.memoryTypeCount == 0) {
    log_error("lavapipe reports no memory types: not offered");
    return nullptr;
  }
  if (!build_memory_types(mem, props.properties.limits.nonCoherentAtomSize, info, pd->heap_bytes,
                          &pd->memory)) {
    log_error("lavapipe has no host-visible memory type to put wsys's cached type on: not offered");
    return nullptr;
  }
  return pd;
}

// Lists lavapipe's physical devices once per instance and pairs them with
// the wsys device. Called with inst->lock held.
VkResult enumerate_locked(Instance* inst) {
  if (inst->enumerated) return VK_SUCCESS;
  uint32_t n = 0;
  VkResult r = inst->fn.EnumeratePhysicalDevices(inst->handle, &n, nullptr);
  if (r < 0) return r;
  std::vector<VkPhysicalDevice> handles(n);
  r = inst->fn.EnumeratePhysicalDevices(inst->handle, &n, handles.data());
  if (r < 0) return r;
  handles.resize(n);
  inst->enumerated = true;
  if (handles.empty()) return VK_SUCCESS;

  // Opened for its identity only (and closed again); every VkDevice opens
  // its own.
  DeviceInfo info;
  bool gpu_view = false;
  {
    DeviceOptions opt;
    opt.maintenance_thread = false;
    std::string why;
    Result<std::shared_ptr<wsys::Device>> dev = wsys::Device::open(opt, &why);
    if (!dev.ok()) {
      log_error("no device offered: cannot open the wsys device: %s",
                why.empty() ? std::strerror(-dev.error()) : why.c_str());
      return VK_SUCCESS;
    }
    info = (*dev)->info();
    gpu_view = (*dev)->gpu_view(info.va_start) != nullptr;
  }

  for (VkPhysicalDevice h : handles) {
    if (std::unique_ptr<PhysicalDevice> pd = make_physical(inst, h, info, gpu_view)) {
      add_physical_device(pd.get());
      inst->physical.push_back(std::move(pd));
    }
  }
  return VK_SUCCESS;
}

}  // namespace

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL CreateInstance(const VkInstanceCreateInfo* ci,
                                              const VkAllocationCallbacks* alloc,
                                              VkInstance* out) {
  auto create = instance_proc<PFN_vkCreateInstance>(nullptr, "vkCreateInstance");
  if (!create) return VK_ERROR_INCOMPATIBLE_DRIVER;
  VkResult r = create(ci, alloc, out);
  if (r != VK_SUCCESS) return r;
  auto inst = std::make_unique<Instance>();
  inst->handle = *out;
  if (!resolve(*out, &inst->fn)) {
    log_error("lavapipe lacks instance commands the ICD needs");
    if (inst->fn.DestroyInstance) inst->fn.DestroyInstance(*out, alloc);
    *out = VK_NULL_HANDLE;
    return VK_ERROR_INITIALIZATION_FAILED;
  }
  add_instance(std::move(inst));
  return VK_SUCCESS;
}

VKAPI_ATTR void VKAPI_CALL DestroyInstance(VkInstance instance,
                                           const VkAllocationCallbacks* alloc) {
  if (instance == VK_NULL_HANDLE) return;
  std::unique_ptr<Instance> inst = remove_instance(instance);
  if (!inst) return;
  for (const auto& pd : inst->physical) remove_physical_device(pd->handle);
  inst->fn.DestroyInstance(instance, alloc);
}

VKAPI_ATTR VkResult VKAPI_CALL EnumeratePhysicalDevices(VkInstance instance, uint32_t* count,
                                                        VkPhysicalDevice* out) {
  Instance* inst = find_instance(instance);
  if (!inst || !count) return VK_ERROR_INITIALIZATION_FAILED;
  std::lock_guard<std::mutex> g(inst->lock);
  if (VkResult r = enumerate_locked(inst); r < 0) return r;
  uint32_t n = static_cast<uint32_t>(inst->physical.size());
  if (!out) {
    *count = n;
    return VK_SUCCESS;
  }
  uint32_t k = std::min(*count, n);
  for (uint32_t i = 0; i < k; i++) out[i] = inst->physical[i]->handle;
  *count = k;
  return k < n ? VK_INCOMPLETE : VK_SUCCESS;
}

// One group per device: lavapipe has no multi-device groups, and the wsys
// device is one GPU.
VKAPI_ATTR VkResult VKAPI_CALL EnumeratePhysicalDeviceGroups(
    VkInstance instance, uint32_t* count, VkPhysicalDeviceGroupProperties* out) {
  Instance* inst = find_instance(instance);
  if (!inst || !count) return VK_ERROR_INITIALIZATION_FAILED;
  std::lock_guard<std::mutex> g(inst->lock);
  if (VkResult r = enumerate_locked(inst); r < 0) return r;
  uint32_t n = static_cast<uint32_t>(inst->physical.size());
  if (!out) {
    *count = n;
    return VK_SUCCESS;
  }
  uint32_t k = std::min(*count, n);
  for (uint32_t i = 0; i < k; i++) {
    out[i].physicalDeviceCount = 1;
    std::fill(std::begin(out[i].physicalDevices), std::end(out[i].physicalDevices),
              VkPhysicalDevice{VK_NULL_HANDLE});
    out[i].physicalDevices[0] = inst->physical[i]->handle;
    out[i].subsetAllocation = VK_FALSE;
  }
  *count = k;
  return k < n ? VK_INCOMPLETE : VK_SUCCESS;
}

}  // namespace icd

}  // namespace wsys::vk
