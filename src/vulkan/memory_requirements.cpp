// Resources' memory requirements where the ICD's memory types are not
// lavapipe's (memory_types.h: a non-coherent device with cached mappings):
// lavapipe's answer (or the sparse paths', which start from it) with
// memoryTypeBits translated to the ICD's numbering. Devices whose types are
// lavapipe's get lavapipe's commands directly. Sparse image requirements
// carry no memory types and stay as they are.
#include "vulkan/entry_points.h"
#include "vulkan/proc_table.h"
#include "vulkan/sparse.h"

namespace wsys::vk {

namespace {

Device* remapped_device(VkDevice device) {
  Device* d = find_device(device);
  return d && d->physical->memory.remapped ? d : nullptr;
}

void translate(const Device& d, VkMemoryRequirements* r) {
  r->memoryTypeBits = d.physical->memory.to_app_bits(r->memoryTypeBits);
}

// The commands, lavapipe's (or the sparse paths') with the bits translated.
VKAPI_ATTR void VKAPI_CALL RemappedGetBufferMemoryRequirements(VkDevice device, VkBuffer buffer,
                                                               VkMemoryRequirements* req) {
  Device* d = remapped_device(device);
  if (!d || !req) return;
  d->requirements.GetBufferMemoryRequirements(device, buffer, req);
  translate(*d, req);
}

VKAPI_ATTR void VKAPI_CALL RemappedGetBufferMemoryRequirements2(
    VkDevice device, const VkBufferMemoryRequirementsInfo2* info, VkMemoryRequirements2* req) {
  Device* d = remapped_device(device);
  if (!d || !req) return;
  d->requirements.GetBufferMemoryRequirements2(device, info, req);
  translate(*d, &req->memoryRequirements);
}

VKAPI_ATTR void VKAPI_CALL RemappedGetDeviceBufferMemoryRequirements(
    VkDevice device, const VkDeviceBufferMemoryRequirements* info, VkMemoryRequirements2* req) {
  Device* d = remapped_device(device);
  if (!d || !req) return;
  d->requirements.GetDeviceBufferMemoryRequirements(device, info, req);
  translate(*d, &req->memoryRequirements);
}

VKAPI_ATTR void VKAPI_CALL RemappedGetImageMemoryRequirements(VkDevice device, VkImage image,
                                                              VkMemoryRequirements* req) {
  Device* d = remapped_device(device);
  if (!d || !req) return;
  d->requirements.GetImageMemoryRequirements(device, image, req);
  translate(*d, req);
}

VKAPI_ATTR void VKAPI_CALL RemappedGetImageMemoryRequirements2(
    VkDevice device, const VkImageMemoryRequirementsInfo2* info, VkMemoryRequirements2* req) {
  Device* d = remapped_device(device);
  if (!d || !req) return;
  d->requirements.GetImageMemoryRequirements2(device, info, req);
  translate(*d, &req->memoryRequirements);
}

VKAPI_ATTR void VKAPI_CALL RemappedGetDeviceImageMemoryRequirements(
    VkDevice device, const VkDeviceImageMemoryRequirements* info, VkMemoryRequirements2* req) {
  Device* d = remapped_device(device);
  if (!d || !req) return;
  d->requirements.GetDeviceImageMemoryRequirements(device, info, req);
  translate(*d, &req->memoryRequirements);
}

// Core and extension spellings; GetDeviceProcAddr hands one out only when
// lavapipe has that spelling enabled on the device.
const ProcEntry kRemappedCommands[] = {
    {"vkGetBufferMemoryRequirements", proc(RemappedGetBufferMemoryRequirements)},
    {"vkGetBufferMemoryRequirements2", proc(RemappedGetBufferMemoryRequirements2)},
    {"vkGetBufferMemoryRequirements2KHR", proc(RemappedGetBufferMemoryRequirements2)},
    {"vkGetDeviceBufferMemoryRequirements", proc(RemappedGetDeviceBufferMemoryRequirements)},
    {"vkGetDeviceBufferMemoryRequirementsKHR",
     proc(RemappedGetDeviceBufferMemoryRequirements)},
    {"vkGetImageMemoryRequirements", proc(RemappedGetImageMemoryRequirements)},
    {"vkGetImageMemoryRequirements2", proc(RemappedGetImageMemoryRequirements2)},
    {"vkGetImageMemoryRequirements2KHR", proc(RemappedGetImageMemoryRequirements2)},
    {"vkGetDeviceImageMemoryRequirements", proc(RemappedGetDeviceImageMemoryRequirements)},
    {"vkGetDeviceImageMemoryRequirementsKHR", proc(RemappedGetDeviceImageMemoryRequirements)},
    {"vkFlushMappedMemoryRanges", proc(icd::FlushMappedMemoryRanges)},
    {"vkInvalidateMappedMemoryRanges", proc(icd::InvalidateMappedMemoryRanges)},
};

// What the translated command calls: the sparse path's command of that
// name on a device with sparse state, else lavapipe's (`name`, or `alt`).
template <typename Fn>
Fn inner(Device& d, const char* name, const char* alt = nullptr) {
  auto f = device_fn<PFN_vkVoidFunction>(d, name, alt);
  if (f && d.sparse)
    if (PFN_vkVoidFunction s = sparse_device_command(name)) f = s;
  return reinterpret_cast<Fn>(f);
}

}  // namespace

PFN_vkVoidFunction remapped_memory_command(const char* name) {
  return find_proc(kRemappedCommands, name);
}

void memory_requirements_init(Device& d) {
  RequirementFns& f = d.requirements;
  f.GetBufferMemoryRequirements =
      inner<PFN_vkGetBufferMemoryRequirements>(d, "vkGetBufferMemoryRequirements");
  f.GetBufferMemoryRequirements2 = inner<PFN_vkGetBufferMemoryRequirements2>(
      d, "vkGetBufferMemoryRequirements2", "vkGetBufferMemoryRequirements2KHR");
  f.GetDeviceBufferMemoryRequirements = inner<PFN_vkGetDeviceBufferMemoryRequirements>(
      d, "vkGetDeviceBufferMemoryRequirements", "vkGetDeviceBufferMemoryRequirementsKHR");
  f.GetImageMemoryRequirements =
      inner<PFN_vkGetImageMemoryRequirements>(d, "vkGetImageMemoryRequirements");
  f.GetImageMemoryRequirements2 = inner<PFN_vkGetImageMemoryRequirements2>(
      d, "vkGetImageMemoryRequirements2", "vkGetImageMemoryRequirements2KHR");
  f.GetDeviceImageMemoryRequirements = inner<PFN_vkGetDeviceImageMemoryRequirements>(
      d, "vkGetDeviceImageMemoryRequirements", "vkGetDeviceImageMemoryRequirementsKHR");
}

}  // namespace wsys::vk
