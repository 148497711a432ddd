// wsys-vk-demo: a small Vulkan workload with its results checked, the
// Vulkan half of the main job (scripts/run-main.sh) and of the ICD bench
// (bench/icd_ratio).
//
// Each frame does what a driver's frame does to device memory: it
// allocates staging, input, output and readback buffers of a size that
// changes from frame to frame, uploads data, runs a compute shader
// (out[i] = in[i] * mul + add + i) and copies the result back, then frees
// everything. On the wsys ICD those allocations are wsys BOs, so the
// frame-to-frame churn is served by the BO cache; the memory report at the
// end shows it. Runs on any Vulkan driver (the report is wsys's only).
//
//   wsys-vk-demo [--frames N] [--max-mib M] [--quiet]
//
// Exit status: 0 when every element of every frame was right, 1 on a wrong
// result or a Vulkan error, 2 on bad arguments, 77 when there is no Vulkan
// device at all.
#include <vulkan/vulkan.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vk_common/scale_add_compute.h"
#include "vulkan/wsys_vk.h"

namespace {

struct Options {
  uint32_t frames = 60;
  uint32_t max_mib = 8;
  bool quiet = false;
};

[[noreturn]] void fail(const char* what, VkResult r) {
  std::fprintf(stderr, "wsys-vk-demo: %s failed (VkResult %d)\n", what, static_cast<int>(r));
  std::exit(1);
}

#define CHECK(expr)                         \
  do {                                      \
    VkResult check_r_ = (expr);             \
    if (check_r_ != VK_SUCCESS) fail(#expr, check_r_); \
  } while (0)

bool parse_u32(const char* s, uint32_t lo, uint32_t hi, uint32_t* out) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quiet") {
      o->quiet = true;
    } else if ((a == "--frames" || a == "--max-mib") && i + 1 < argc) {
      bool ok = a == "--frames" ? parse_u32(argv[++i], 1, 100000, &o->frames)
                                : parse_u32(argv[++i], 1, 1024, &o->max_mib);
      if (!ok) {
        std::fprintf(stderr, "wsys-vk-demo: bad value '%s' for %s\n", argv[i], a.c_str());
        return false;
      }
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: wsys-vk-demo [--frames N] [--max-mib M] [--quiet]\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "wsys-vk-demo: unknown argument '%s' (try --help)\n", a.c_str());
      return false;
    }
  }
  return true;
}

// One buffer with memory of its own (a dedicated allocation, as drivers
// make for large buffers, so every buffer is one device-memory object).
struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
};

class Demo {
 public:
  explicit Demo(const Options& o) : opt_(o) {}
  ~Demo();
  // False (exit 77) when there is no device.
  bool init();
  // Runs one frame of `elements` uint32s; false on a wrong result.
  bool frame(uint32_t index, uint32_t elements);
  void print_report();
  std::string device_name() const { return vk_.props.deviceName; }

 private:
  uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags want) const;
  Buffer make_buffer(VkDeviceSize size, VkBufferUsageFlags usage, bool host);
  void destroy_buffer(Buffer& b);

  Options opt_;
  wsys::tools::ScaleAddCompute vk_{"wsys-vk-demo"};  // destroyed after the members below
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

Demo::~Demo() {
  if (vk_.device) {
    vkDeviceWaitIdle(vk_.device);
    vkDestroyFence(vk_.device, fence_, nullptr);  // the rest goes with vk_
  }
}

bool Demo::init() {
  using wsys::tools::VkSetup;
  VkSetup st = vk_.open("wsys-vk-demo");
  if (st == VkSetup::kOk) st = vk_.create({}, 1, false);
  if (st == VkSetup::kFailed) std::exit(1);  // printed
  if (st == VkSetup::kNoDevice) return false;
  VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = vk_.pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  CHECK(vkAllocateCommandBuffers(vk_.device, &cai, &cmd_));
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  CHECK(vkCreateFence(vk_.device, &fci, nullptr, &fence_));
  VkDescriptorSetAllocateInfo dsai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dsai.descriptorPool = vk_.descriptor_pool;
  dsai.descriptorSetCount = 1;
  dsai.pSetLayouts = &vk_.scale_add.set_layout;
  CHECK(vkAllocateDescriptorSets(vk_.device, &dsai, &set_));
  return true;
}

uint32_t Demo::memory_type(uint32_t bits, VkMemoryPropertyFlags want) const {
  return vk_.memory_type(bits, want);
}

Buffer Demo::make_buffer(VkDeviceSize size, VkBufferUsageFlags usage, bool host) {
  Buffer b;
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = size;
  bci.usage = usage;
  CHECK(vkCreateBuffer(vk_.device, &bci, nullptr, &b.buffer));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vk_.device, b.buffer, &req);
  VkMemoryPropertyFlags want = host ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                   : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  uint32_t type = memory_type(req.memoryTypeBits, want);
  if (type == UINT32_MAX) type = memory_type(req.memoryTypeBits, 0);
  VkMemoryDedicatedAllocateInfo dedicated{VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO};
  dedicated.buffer = b.buffer;
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.pNext = &dedicated;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  CHECK(vkAllocateMemory(vk_.device, &mai, nullptr, &b.memory));
  CHECK(vkBindBufferMemory(vk_.device, b.buffer, b.memory, 0));
  if (host) CHECK(vkMapMemory(vk_.device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped));
  return b;
}

void Demo::destroy_buffer(Buffer& b) {
  vkDestroyBuffer(vk_.device, b.buffer, nullptr);
  vkFreeMemory(vk_.device, b.memory, nullptr);  // unmaps too
  b = Buffer{};
}

bool Demo::frame(uint32_t index, uint32_t elements) {
  const VkDeviceSize bytes = VkDeviceSize{elements} * sizeof(uint32_t);
  const VkBufferUsageFlags src = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  const VkBufferUsageFlags dst = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  const VkBufferUsageFlags storage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  Buffer staging = make_buffer(bytes, src, true);
  Buffer input = make_buffer(bytes, dst | storage, false);
  Buffer output = make_buffer(bytes, src | storage, false);
  Buffer readback = make_buffer(bytes, dst, true);

  auto* in = static_cast<uint32_t*>(staging.mapped);
  for (uint32_t i = 0; i < elements; i++) in[i] = i * 2654435761u + index;
  std::memset(readback.mapped, 0xa5, bytes);

  vk_.bind_buffers(set_, input.buffer, output.buffer);

  const uint32_t params[3] = {3 + index % 7, 1000 + index, elements};
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  CHECK(vkBeginCommandBuffer(cmd_, &begin));
  VkBufferCopy whole{0, 0, bytes};
  vkCmdCopyBuffer(cmd_, staging.buffer, input.buffer, 1, &whole);
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       0, 1, &barrier, 0, nullptr, 0, nullptr);
  vk_.scale_add.record(cmd_, set_, params[0], params[1], params[2]);
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                       0, 1, &barrier, 0, nullptr, 0, nullptr);
  vkCmdCopyBuffer(cmd_, output.buffer, readback.buffer, 1, &whole);
  barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &barrier, 0, nullptr, 0, nullptr);
  CHECK(vkEndCommandBuffer(cmd_));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  CHECK(vkQueueSubmit(vk_.queue, 1, &si, fence_));
  CHECK(vkWaitForFences(vk_.device, 1, &fence_, VK_TRUE, UINT64_MAX));
  CHECK(vkResetFences(vk_.device, 1, &fence_));

  const auto* out = static_cast<const uint32_t*>(readback.mapped);
  bool ok = true;
  for (uint32_t i = 0; i < elements && ok; i++) {
    uint32_t want = in[i] * params[0] + params[1] + i;
    if (out[i] != want) {
      std::fprintf(stderr, "wsys-vk-demo: frame %u element %u is 0x%08x, expected 0x%08x\n", index,
                   i, out[i], want);
      ok = false;
    }
  }
  destroy_buffer(readback);
  destroy_buffer(output);
  destroy_buffer(input);
  destroy_buffer(staging);
  return ok;
}

void Demo::print_report() {
  auto report = reinterpret_cast<PFN_vkGetWsysMemoryReportWSYS>(
      vkGetDeviceProcAddr(vk_.device, "vkGetWsysMemoryReportWSYS"));
  if (!report) {
    std::printf("(%s is not the wsys ICD: no wsys memory report)\n", vk_.props.deviceName);
    return;
  }
  size_t size = 0;
  if (report(vk_.device, &size, nullptr) != VK_SUCCESS) return;
  std::string text(size, '\0');
  if (report(vk_.device, &size, text.data()) != VK_SUCCESS) return;
  text.resize(size ? size - 1 : 0);
  std::fputs(text.c_str(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, &opt)) return 2;
  Demo demo(opt);
  if (!demo.init()) {
    std::fprintf(stderr, "wsys-vk-demo: no Vulkan device (is the loader pointed at a driver?)\n");
    return 77;
  }
  // Sizes from 64 KiB to max-mib, a different one each frame (a fixed
  // sequence, so every run does the same work), with sizes recurring as
  // they do in real frames.
  const uint32_t max_elements = opt.max_mib * 1024 * 1024 / 4;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  uint64_t checked = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t f = 0; f < opt.frames; f++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t steps = static_cast<uint32_t>((state >> 33) % 8);
    uint32_t elements = std::max<uint32_t>(16384, max_elements >> steps);
    if (!demo.frame(f, elements)) return 1;
    checked += elements;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!opt.quiet) {
    std::printf("wsys-vk-demo on %s: %u frames, %" PRIu64 " results checked, all right (%.2f s)\n",
                demo.device_name().c_str(), opt.frames, checked, secs);
    demo.print_report();
  }
  return 0;
}
