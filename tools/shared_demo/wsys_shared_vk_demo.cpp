// wsys-shared-vk-demo: camera model -> GPU compute through the wsys Vulkan
// ICD -> display model, with buffers from the model's central allocator
// placed on first use (issue 19; the allocator, display and camera are a
// kernel-model extension, docs/deferred-allocation.md).
//
// Three camera buffers and two display buffers are recycled over the
// frames. Camera buffers are made by the allocator, the camera attaches and
// maps them, then Vulkan imports them (VK_EXT_external_memory_dma_buf: the
// GPU's attach). Display buffers are Vulkan memory exported as dma-bufs;
// the display attaches before the first submission, so the GPU's first use
// places them with the display's constraints too. Per frame the camera
// captures, a compute shader (out[i] = in[i] * 3 + 5 + i) reads the frame
// and writes the display buffer, and the display scans out; its byte sum is
// compared with the CPU's.
//
// The allocator, display and camera live in the model inside the ICD, so
// the program reaches them through the ICD's vkGetWsysSharedFnsWSYS.
// Prints placements and the cache maintenance done versus what maintenance
// at every access would have done. Exit 0 when every frame arrived intact,
// 1 on a bad frame or error, 77 when there is no such allocator.
#include <fcntl.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

#include "vk_common/scale_add_compute.h"
#include "vulkan/wsys_vk.h"

namespace {

// 1080p, 32-bit pixels: the camera's stride and the display's pitch (7680,
// a multiple of both 128 and 64). 8 MiB: one extent of that size only the
// contiguous pool has.
constexpr uint32_t kPitch = 1920 * 4, kHeight = 1080;
constexpr VkDeviceSize kBytes = VkDeviceSize{kPitch} * kHeight;
constexpr uint32_t kWords = static_cast<uint32_t>(kBytes / 4);
constexpr int kFrames = 12;
constexpr VkExternalMemoryHandleTypeFlagBits kDmaBuf =
    VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;

#define CHECK(expr)                                                          \
  do {                                                                       \
    VkResult r_ = (expr);                                                    \
    if (r_ != VK_SUCCESS) {                                                  \
      std::fprintf(stderr, "wsys-shared-vk-demo: %s: %d\n", #expr, (int)r_); \
      return false;                                                          \
    }                                                                        \
  } while (0)

struct Frame {  // a buffer bound to dma-buf memory, and its allocator side
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  WsysVkSharedBuffer* shared = nullptr;
  uint32_t attachment = 0;
};

struct Demo {
  wsys::tools::ScaleAddCompute vk{"wsys-shared-vk-demo"};  // destroyed after the frames
  WsysVkSharedFns fns{};
  uint32_t memory_type = UINT32_MAX;
  std::vector<Frame> cam{3}, disp{2};
  bool no_allocator = false;

  ~Demo();
  bool init();
  bool make_frame(Frame& f, bool camera);
  bool run_frame(int n, int* bad);
  void print_placements();
};

bool Demo::init() {
  using wsys::tools::VkSetup;
  if (vk.open("wsys-shared-vk-demo") != VkSetup::kOk) return false;
  std::printf("device: %s\n", vk.props.deviceName);
  if (!vk.has_device_extension("VK_EXT_external_memory_dma_buf")) {
    std::fprintf(stderr,
                 "wsys-shared-vk-demo: no VK_EXT_external_memory_dma_buf (the wsys ICD on the "
                 "kernel model offers it with its central allocator, a model extension)\n");
    no_allocator = true;
    return false;
  }
  const char* const exts[] = {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME,
                              "VK_EXT_external_memory_dma_buf"};
  if (vk.create(exts, 1, true) != VkSetup::kOk) return false;
  auto get = reinterpret_cast<PFN_vkGetWsysSharedFnsWSYS>(
      vkGetDeviceProcAddr(vk.device, "vkGetWsysSharedFnsWSYS"));
  if (!get || get(vk.device, &fns) != VK_SUCCESS) {
    std::fprintf(stderr, "wsys-shared-vk-demo: not the wsys ICD on the kernel model\n");
    no_allocator = true;
    return false;
  }
  memory_type = vk.memory_type(~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);

  for (Frame& f : cam)
    if (!make_frame(f, true)) return false;
  for (Frame& f : disp)
    if (!make_frame(f, false)) return false;
  return true;
}

// Camera: allocator buffer, camera attach and map, then the Vulkan import.
// Display: exported Vulkan memory, the display attaches before any use.
bool Demo::make_frame(Frame& f, bool camera) {
  const uint32_t dev = camera ? WSYS_VK_SHARED_CAMERA : WSYS_VK_SHARED_DISPLAY;
  if (camera) {
    int rc = fns.create(kBytes, 1u | 4u, &f.shared);
    if (rc) {
      std::fprintf(stderr, "wsys-shared-vk-demo: allocator: %s\n", std::strerror(-rc));
      return false;
    }
  }
  VkExternalMemoryBufferCreateInfo ebi{};
  ebi.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
  ebi.handleTypes = kDmaBuf;
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.pNext = &ebi;
  bci.size = kBytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  CHECK(vkCreateBuffer(vk.device, &bci, nullptr, &f.buffer));
  uint32_t refusal = 0;
  if (camera && fns.attach(f.shared, dev, kPitch, kHeight, &f.attachment, &refusal) != 0) {
    std::fprintf(stderr, "camera attach refused: %s\n", fns.refusal_name(refusal));
    return false;
  }
  if (camera && fns.map(f.shared, dev, f.attachment) != 0) return false;
  VkExportMemoryAllocateInfo exp{};
  exp.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO;
  exp.handleTypes = kDmaBuf;
  VkImportMemoryFdInfoKHR imp{};
  imp.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR;
  imp.handleType = kDmaBuf;
  imp.fd = camera ? fcntl(fns.fd(f.shared), F_DUPFD_CLOEXEC, 0) : -1;
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.pNext = camera ? static_cast<const void*>(&imp) : &exp;
  mai.allocationSize = kBytes;
  mai.memoryTypeIndex = memory_type;
  VkResult r = vkAllocateMemory(vk.device, &mai, nullptr, &f.memory);
  if (r != VK_SUCCESS && imp.fd >= 0) close(imp.fd);
  CHECK(r);
  CHECK(vkBindBufferMemory(vk.device, f.buffer, f.memory, 0));
  if (camera) return true;
  auto get_fd =
      reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(vk.device, "vkGetMemoryFdKHR"));
  VkMemoryGetFdInfoKHR gi{};
  gi.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
  gi.memory = f.memory;
  gi.handleType = kDmaBuf;
  int fd = -1;
  CHECK(get_fd(vk.device, &gi, &fd));
  int rc = fns.from_fd(fd, &f.shared);
  close(fd);
  if (rc) return false;
  if (fns.attach(f.shared, dev, kPitch, kHeight, &f.attachment, &refusal) != 0) {
    std::fprintf(stderr, "display attach refused: %s\n", fns.refusal_name(refusal));
    return false;
  }
  return true;
}

bool Demo::run_frame(int n, int* bad) {
  Frame& c = cam[n % cam.size()];
  Frame& d = disp[n % disp.size()];
  const uint8_t value = static_cast<uint8_t>(1 + n % 200);
  if (fns.use(c.shared, WSYS_VK_SHARED_CAMERA, c.attachment, value, nullptr) != 0) return false;

  VkDescriptorSetAllocateInfo dai{};
  dai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  dai.descriptorPool = vk.descriptor_pool;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &vk.scale_add.set_layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  CHECK(vkAllocateDescriptorSets(vk.device, &dai, &set));
  vk.bind_buffers(set, c.buffer, d.buffer);
  VkCommandBufferAllocateInfo cai{};
  cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  cai.commandPool = vk.pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  CHECK(vkAllocateCommandBuffers(vk.device, &cai, &cb));
  VkCommandBufferBeginInfo cbi{};
  cbi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  cbi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  CHECK(vkBeginCommandBuffer(cb, &cbi));
  vk.scale_add.record(cb, set, 3, 5, kWords);
  CHECK(vkEndCommandBuffer(cb));
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  CHECK(vkQueueSubmit(vk.queue, 1, &si, VK_NULL_HANDLE));  // the GPU's first use, frame 0
  CHECK(vkQueueWaitIdle(vk.queue));
  vkFreeCommandBuffers(vk.device, vk.pool, 1, &cb);
  vkFreeDescriptorSets(vk.device, vk.descriptor_pool, 1, &set);

  // The display maps its buffer once (after the GPU placed it), then scans out.
  if (n < static_cast<int>(disp.size()) &&
      fns.map(d.shared, WSYS_VK_SHARED_DISPLAY, d.attachment) != 0)
    return false;
  uint64_t sum = 0, expect = 0;
  if (fns.use(d.shared, WSYS_VK_SHARED_DISPLAY, d.attachment, 0, &sum) != 0) return false;
  const uint32_t in = 0x01010101u * value;
  for (uint32_t i = 0; i < kWords; i++) {
    const uint32_t v = in * 3u + 5u + i;
    expect += (v & 0xff) + ((v >> 8) & 0xff) + ((v >> 16) & 0xff) + (v >> 24);
  }
  if (sum != expect) {
    std::fprintf(stderr, "frame %d: display saw byte sum %" PRIu64 ", expected %" PRIu64 "\n", n,
                 sum, expect);
    ++*bad;
  }
  return true;
}

void Demo::print_placements() {
  std::printf("placements (after each buffer's first use):\n");
  for (auto* ring : {&cam, &disp}) {
    for (size_t i = 0; i < ring->size(); i++) {
      WsysVkSharedPlacement p{};
      if (fns.placement((*ring)[i].shared, &p) != 0) continue;
      std::printf("  %s[%zu]: %s, %u extent(s), highest address 0x%" PRIx64
                  ", %s, %u attachment(s)\n",
                  ring == &cam ? "camera" : "display", i, p.placed ? "placed" : "not placed",
                  p.extents, p.highest_address,
                  p.contiguous_pool ? "contiguous pool" : "page allocator", p.attachments);
    }
  }
}

Demo::~Demo() {
  if (!vk.device) return;
  vkDeviceWaitIdle(vk.device);
  for (auto* ring : {&cam, &disp})
    for (Frame& f : *ring) {
      if (f.shared) fns.destroy(f.shared);
      vkDestroyBuffer(vk.device, f.buffer, nullptr);
      vkFreeMemory(vk.device, f.memory, nullptr);
    }
}

}  // namespace

int main() {
  Demo demo;
  if (!demo.init()) return demo.no_allocator ? 77 : 1;
  WsysVkSharedStats before{};
  demo.fns.stats(&before);
  int bad = 0;
  for (int f = 0; f < kFrames; f++) {
    if (!demo.run_frame(f, &bad)) return 1;
    if (f == static_cast<int>(demo.disp.size()) - 1) demo.print_placements();
  }
  WsysVkSharedStats st{};
  if (demo.fns.stats(&st) == 0) {
    const uint64_t done = (st.cache_flushes - before.cache_flushes) +
                          (st.cache_invalidates - before.cache_invalidates);
    const uint64_t avoided = st.cache_ops_avoided - before.cache_ops_avoided;
    std::printf("%d frames, %d bad; cache maintenance: %" PRIu64 " done, %" PRIu64
                " avoided (maintenance at every access: %" PRIu64 "); contiguous pool %" PRIu64
                " of %" PRIu64 " bytes in use, %" PRIu64 " attach(es) refused\n",
                kFrames, bad, done, avoided, done + avoided, st.contiguous_used,
                st.contiguous_pool_bytes, st.refused_attaches);
  }
  return bad ? 1 : 0;
}
