#include "vk_test_util.h"

#include <cstdio>
#include <cstring>

#include "vulkan/lavapipe_locate.h"

namespace wsys::vktest {

int test_main(int argc, char** argv, int (*child)(int argc, char** argv)) {
  if (child && argc >= 2 && std::strcmp(argv[1], "--child") == 0) return child(argc, argv);
  std::string why;
  if (!vk::locate_lavapipe(&why)) {
    std::printf("SKIP: %s\n", why.c_str());
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

const char* result_name(VkResult r) {
  switch (r) {
#define C(x) \
  case x:    \
    return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    C(VK_ERROR_INITIALIZATION_FAILED) C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED)
    C(VK_ERROR_LAYER_NOT_PRESENT) C(VK_ERROR_EXTENSION_NOT_PRESENT)
    C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER) C(VK_ERROR_TOO_MANY_OBJECTS)
    C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_INVALID_EXTERNAL_HANDLE) C(VK_ERROR_UNKNOWN)
#undef C
    default:
      return "VkResult(other)";
  }
}

Instance::~Instance() {
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

bool Instance::init(std::string* why) {
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "wsys-vk-test";
  app.apiVersion = VK_API_VERSION_1_3;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkResult r = vkCreateInstance(&ci, nullptr, &instance_);
  if (r != VK_SUCCESS) {
    *why = std::string("vkCreateInstance: ") + result_name(r);
    instance_ = VK_NULL_HANDLE;
    return false;
  }
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(instance_, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  vkEnumeratePhysicalDevices(instance_, &n, pds.data());
  for (VkPhysicalDevice pd : pds) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    if (std::strncmp(p.deviceName, "wsys (", 6) == 0) {
      physical_ = pd;
      props_ = p;
      break;
    }
  }
  if (!physical_) {
    *why = "no wsys physical device among " + std::to_string(n) +
           " (is VK_DRIVER_FILES the wsys ICD's manifest?)";
    return false;
  }
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
  vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n, nullptr);
  extensions_.resize(n);
  vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n, extensions_.data());
  return true;
}

uint32_t Instance::memory_type(uint32_t bits, VkMemoryPropertyFlags flags) const {
  for (uint32_t i = 0; i < memory_.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & flags) == flags) return i;
  return UINT32_MAX;
}

bool Instance::has_extension(const char* name) const {
  for (const VkExtensionProperties& e : extensions_)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

Device::~Device() { destroy(); }

void Device::destroy() {
  if (!device_) return;
  vkDeviceWaitIdle(device_);
  if (pool_) vkDestroyCommandPool(device_, pool_, nullptr);
  vkDestroyDevice(device_, nullptr);
  device_ = VK_NULL_HANDLE;
  pool_ = VK_NULL_HANDLE;
}

VkResult Device::init(const Instance& inst, std::vector<const char*> extensions,
                      const VkPhysicalDeviceFeatures* features, bool features2, void* chain) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(inst.physical(), &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(inst.physical(), &n, fams.data());
  family_ = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      family_ = i;
      break;
    }
  if (family_ == UINT32_MAX) return VK_ERROR_FEATURE_NOT_PRESENT;
  float prio = 1.0f;
  VkDeviceQueueCreateInfo q{};
  q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  q.queueFamilyIndex = family_;
  q.queueCount = 1;
  q.pQueuePriorities = &prio;
  VkPhysicalDeviceFeatures2 f2{};
  f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  if (features) f2.features = *features;
  f2.pNext = chain;
  VkDeviceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  ci.pNext = features2 ? &f2 : chain;
  ci.pEnabledFeatures = features2 ? nullptr : features;
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &q;
  ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  VkResult r = vkCreateDevice(inst.physical(), &ci, nullptr, &device_);
  if (r != VK_SUCCESS) {
    device_ = VK_NULL_HANDLE;
    return r;
  }
  vkGetDeviceQueue(device_, family_, 0, &queue_);
  VkCommandPoolCreateInfo pci{};
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = family_;
  r = vkCreateCommandPool(device_, &pci, nullptr, &pool_);
  if (r != VK_SUCCESS) return r;
  get_stats = reinterpret_cast<PFN_vkGetWsysMemoryStatsWSYS>(
      vkGetDeviceProcAddr(device_, "vkGetWsysMemoryStatsWSYS"));
  get_info = reinterpret_cast<PFN_vkGetWsysMemoryInfoWSYS>(
      vkGetDeviceProcAddr(device_, "vkGetWsysMemoryInfoWSYS"));
  get_report = reinterpret_cast<PFN_vkGetWsysMemoryReportWSYS>(
      vkGetDeviceProcAddr(device_, "vkGetWsysMemoryReportWSYS"));
  return VK_SUCCESS;
}

VkResult Device::run(const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBufferAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  VkResult r = vkAllocateCommandBuffers(device_, &ai, &cb);
  if (r != VK_SUCCESS) return r;
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkBeginCommandBuffer(cb, &bi);
  record(cb);
  r = vkEndCommandBuffer(cb);
  if (r == VK_SUCCESS) {
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    r = vkQueueSubmit(queue_, 1, &si, VK_NULL_HANDLE);
    if (r == VK_SUCCESS) r = vkQueueWaitIdle(queue_);
  }
  vkFreeCommandBuffers(device_, pool_, 1, &cb);
  return r;
}

WsysVkMemoryStats Device::stats() const {
  WsysVkMemoryStats s{};
  if (get_stats) get_stats(device_, &s);
  return s;
}

WsysVkMemoryInfo Device::info(VkDeviceMemory m) const {
  WsysVkMemoryInfo i{};
  if (get_info) get_info(device_, m, &i);
  return i;
}

std::string Device::report() const {
  if (!get_report) return {};
  size_t n = 0;
  if (get_report(device_, &n, nullptr) != VK_SUCCESS) return {};
  std::string s(n, '\0');
  if (get_report(device_, &n, s.data()) != VK_SUCCESS) return {};
  s.resize(n ? n - 1 : 0);
  return s;
}

void Buffer::reset() {
  if (!device) return;
  if (buffer) vkDestroyBuffer(device, buffer, nullptr);
  if (memory) vkFreeMemory(device, memory, nullptr);
  buffer = VK_NULL_HANDLE;
  memory = VK_NULL_HANDLE;
  map = nullptr;
  device = VK_NULL_HANDLE;
}

namespace {

VkResult make_buffer_of(const Instance& inst, const Device& dev, VkDeviceSize size,
                        VkBufferUsageFlags usage, VkMemoryPropertyFlags flags, Buffer* out,
                        External ext, int import_fd, VkDeviceSize import_size,
                        VkExternalMemoryHandleTypeFlagBits handle) {
  out->reset();
  out->device = dev.get();
  out->size = size;
  VkExternalMemoryBufferCreateInfo ebi{};
  ebi.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
  ebi.handleTypes = handle;
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.pNext = ext == External::None ? nullptr : &ebi;
  bci.size = size;
  bci.usage = usage;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkResult r = vkCreateBuffer(dev.get(), &bci, nullptr, &out->buffer);
  if (r != VK_SUCCESS) return r;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev.get(), out->buffer, &req);
  uint32_t type = inst.memory_type(req.memoryTypeBits, flags);
  if (type == UINT32_MAX) return VK_ERROR_FEATURE_NOT_PRESENT;
  VkExportMemoryAllocateInfo exp{};
  exp.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO;
  exp.handleTypes = handle;
  VkImportMemoryFdInfoKHR imp{};
  imp.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR;
  imp.handleType = handle;
  imp.fd = import_fd;
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.pNext = ext == External::Export ? static_cast<const void*>(&exp)
              : ext == External::Import ? static_cast<const void*>(&imp)
                                        : nullptr;
  mai.allocationSize = ext == External::Import ? import_size : req.size;
  mai.memoryTypeIndex = type;
  r = vkAllocateMemory(dev.get(), &mai, nullptr, &out->memory);
  if (r != VK_SUCCESS) {
    out->memory = VK_NULL_HANDLE;
    return r;
  }
  out->memory_size = mai.allocationSize;
  r = vkBindBufferMemory(dev.get(), out->buffer, out->memory, 0);
  if (r != VK_SUCCESS) return r;
  return vkMapMemory(dev.get(), out->memory, 0, VK_WHOLE_SIZE, 0, &out->map);
}

}  // namespace

VkResult make_buffer(const Instance& inst, const Device& dev, VkDeviceSize size,
                     VkBufferUsageFlags usage, Buffer* out, External ext, int import_fd,
                     VkDeviceSize import_size, VkExternalMemoryHandleTypeFlagBits handle) {
  return make_buffer_of(inst, dev, size, usage,
                        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                        out, ext, import_fd, import_size, handle);
}

VkResult make_buffer_with(const Instance& inst, const Device& dev, VkDeviceSize size,
                          VkBufferUsageFlags usage, VkMemoryPropertyFlags flags, Buffer* out) {
  return make_buffer_of(inst, dev, size, usage, flags, out, External::None, -1, 0,
                        VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT);
}

ScaleAdd::~ScaleAdd() {
  if (!device_) return;
  vkDestroyDescriptorPool(device_, pool_, nullptr);
  pipeline_.destroy(device_);
}

VkResult ScaleAdd::init(VkDevice device, const uint32_t* spirv, size_t bytes) {
  device_ = device;
  if (VkResult r = pipeline_.create(device, spirv, bytes); r != VK_SUCCESS) return r;
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
  VkDescriptorPoolCreateInfo dpi{};
  dpi.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  dpi.maxSets = 1;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &ps;
  if (VkResult r = vkCreateDescriptorPool(device, &dpi, nullptr, &pool_); r != VK_SUCCESS) return r;
  VkDescriptorSetAllocateInfo dai{};
  dai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  dai.descriptorPool = pool_;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &pipeline_.set_layout;
  return vkAllocateDescriptorSets(device, &dai, &set_);
}

void ScaleAdd::set_buffers(VkBuffer in, VkBuffer out) {
  wsys::tools::write_scale_add_buffers(device_, set_, in, out);
}

void ScaleAdd::record(VkCommandBuffer cb, uint32_t mul, uint32_t add, uint32_t n) const {
  pipeline_.record(cb, set_, mul, add, n);
}

}  // namespace wsys::vktest
