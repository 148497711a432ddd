// VK_EXT_external_memory_dma_buf on the kernel model, backed by its central
// allocator (a model extension, docs/deferred-allocation.md): a camera
// frame imported as VkDeviceMemory and read by a compute shader, the
// result written into exported memory the modelled display attached to
// before anything placed it, the display's scan-out checksum compared with
// the CPU's; the refusal when the GPU placed the buffer first; honest
// vkGetMemoryFdPropertiesKHR and bad fds.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "scale_add.spv.h"  // kScaleAddSpv
#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

constexpr VkExternalMemoryHandleTypeFlagBits kDmaBuf =
    VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
constexpr VkExternalMemoryHandleTypeFlagBits kOpaque = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
constexpr const char* kExt = "VK_EXT_external_memory_dma_buf";

// A frame both devices accept: pitch a multiple of the display's 64 and
// the camera's 128, 256 KiB in all.
constexpr uint32_t kPitch = 4096, kHeight = 64;
constexpr VkDeviceSize kBytes = VkDeviceSize{kPitch} * kHeight;

// WSYS_SIM_DEFERRED_ALLOC=0 turns the model's allocator off (then nothing
// may be offered).
bool allocator_on() {
  const char* v = std::getenv("WSYS_SIM_DEFERRED_ALLOC");
  return !(v && v[0] == '0');
}

// Owns a WsysVkSharedBuffer.
struct Shared {
  const WsysVkSharedFns* fns = nullptr;
  WsysVkSharedBuffer* b = nullptr;
  ~Shared() {
    if (b) fns->destroy(b);
  }
};

class DmaBuf : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    if (!inst.has_extension(kExt)) GTEST_SKIP() << "dma-buf memory is not offered here";
    VK_OK(dev.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, kExt}));
    auto get = reinterpret_cast<PFN_vkGetWsysSharedFnsWSYS>(
        vkGetDeviceProcAddr(dev.get(), "vkGetWsysSharedFnsWSYS"));
    ASSERT_NE(get, nullptr);
    VK_OK(get(dev.get(), &fns));
    get_fd =
        reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(dev.get(), "vkGetMemoryFdKHR"));
    fd_props = reinterpret_cast<PFN_vkGetMemoryFdPropertiesKHR>(
        vkGetDeviceProcAddr(dev.get(), "vkGetMemoryFdPropertiesKHR"));
    ASSERT_NE(get_fd, nullptr);
    ASSERT_NE(fd_props, nullptr);
  }

  // A storage buffer on external memory: exported (`handles`) or imported
  // from `import_fd`. Not mapped: vkMapMemory is a CPU first use.
  VkResult external_buffer(VkDeviceSize size, VkExternalMemoryHandleTypeFlags handles,
                           int import_fd, Buffer* out) {
    out->device = dev.get();
    out->size = size;
    VkExternalMemoryBufferCreateInfo ebi{};
    ebi.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
    ebi.handleTypes = handles;
    VkBufferCreateInfo bci{};
    bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bci.pNext = &ebi;
    bci.size = size;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if (VkResult r = vkCreateBuffer(dev.get(), &bci, nullptr, &out->buffer); r != VK_SUCCESS)
      return r;
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dev.get(), out->buffer, &req);
    VkExportMemoryAllocateInfo exp{};
    exp.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO;
    exp.handleTypes = handles;
    VkImportMemoryFdInfoKHR imp{};
    imp.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR;
    imp.handleType = kDmaBuf;
    imp.fd = import_fd;
    VkMemoryAllocateInfo mai{};
    mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    mai.pNext = import_fd >= 0 ? static_cast<const void*>(&imp) : &exp;
    mai.allocationSize = import_fd >= 0 ? size : req.size;
    mai.memoryTypeIndex =
        inst.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (VkResult r = vkAllocateMemory(dev.get(), &mai, nullptr, &out->memory); r != VK_SUCCESS) {
      out->memory = VK_NULL_HANDLE;
      return r;
    }
    out->memory_size = mai.allocationSize;
    return vkBindBufferMemory(dev.get(), out->buffer, out->memory, 0);
  }

  int export_fd(VkDeviceMemory m, VkExternalMemoryHandleTypeFlagBits type) {
    VkMemoryGetFdInfoKHR gi{};
    gi.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
    gi.memory = m;
    gi.handleType = type;
    int fd = -1;
    return get_fd(dev.get(), &gi, &fd) == VK_SUCCESS ? fd : -1;
  }

  VkResult props(int fd, uint32_t* bits) {
    VkMemoryFdPropertiesKHR fp{};
    fp.sType = VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR;
    VkResult r = fd_props(dev.get(), kDmaBuf, fd, &fp);
    *bits = fp.memoryTypeBits;
    return r;
  }

  WsysVkSharedPlacement placement(const Shared& s) {
    WsysVkSharedPlacement p{};
    EXPECT_EQ(fns.placement(s.b, &p), 0);
    return p;
  }

  Instance inst;
  Device dev;
  WsysVkSharedFns fns{};
  PFN_vkGetMemoryFdKHR get_fd = nullptr;
  PFN_vkGetMemoryFdPropertiesKHR fd_props = nullptr;
};

// Offered on the model exactly where kmod reports the allocator (and on a
// real render node, where BOs are real dma-bufs).
TEST(DmaBufOffer, OfferedWhereTheModelHasTheAllocator) {
  Instance inst;
  std::string why;
  ASSERT_TRUE(inst.init(&why)) << why;
  const bool model = std::string(inst.properties().deviceName).find(" model)") != std::string::npos;
  const bool expected = !model || allocator_on();
  EXPECT_EQ(inst.has_extension(kExt), expected) << inst.properties().deviceName;
  VkPhysicalDeviceExternalBufferInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  bi.handleType = kDmaBuf;
  VkExternalBufferProperties bp{};
  bp.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES;
  vkGetPhysicalDeviceExternalBufferProperties(inst.physical(), &bi, &bp);
  const VkExternalMemoryFeatureFlags both =
      VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT | VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
  EXPECT_EQ(bp.externalMemoryProperties.externalMemoryFeatures & both, expected ? both : 0u);
  Device dev;
  EXPECT_EQ(dev.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, kExt}),
            expected ? VK_SUCCESS : VK_ERROR_EXTENSION_NOT_PRESENT);
  if (!model) return;
  Device plain;
  VK_OK(plain.init(inst));
  auto get = reinterpret_cast<PFN_vkGetWsysSharedFnsWSYS>(
      vkGetDeviceProcAddr(plain.get(), "vkGetWsysSharedFnsWSYS"));
  ASSERT_NE(get, nullptr);
  WsysVkSharedFns fns{};
  EXPECT_EQ(get(plain.get(), &fns), expected ? VK_SUCCESS : VK_ERROR_FEATURE_NOT_PRESENT);
  if (expected) {
    // Without the extension enabled a device refuses dma-buf memory.
    Buffer b;
    EXPECT_EQ(make_buffer(inst, plain, 64 << 10, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &b,
                          External::Export, -1, 0, kDmaBuf),
              VK_ERROR_INVALID_EXTERNAL_HANDLE);
  }
}

// Camera -> compute -> display, with no CPU access in between.
TEST_F(DmaBuf, CameraFrameComputedIntoADisplayedBuffer) {
  WsysVkSharedStats before{};
  ASSERT_EQ(fns.stats(&before), 0);

  // The camera captures a frame into an allocator buffer.
  Shared frame{&fns};
  ASSERT_EQ(fns.create(kBytes, 1u | 4u, &frame.b), 0);
  uint32_t cam = 0, why = 0;
  ASSERT_EQ(fns.attach(frame.b, WSYS_VK_SHARED_CAMERA, kPitch, kHeight, &cam, &why), 0);
  ASSERT_EQ(fns.map(frame.b, WSYS_VK_SHARED_CAMERA, cam), 0);
  ASSERT_EQ(fns.use(frame.b, WSYS_VK_SHARED_CAMERA, cam, 0x21, nullptr), 0);

  // Imported as VkDeviceMemory: the GPU's attach.
  uint32_t bits = 0;
  VK_OK(props(fns.fd(frame.b), &bits));
  EXPECT_EQ(bits, (1u << inst.memory().memoryTypeCount) - 1);
  int in_fd = fcntl(fns.fd(frame.b), F_DUPFD_CLOEXEC, 0);
  ASSERT_GE(in_fd, 0);
  Buffer in;
  VkResult r = external_buffer(kBytes, kDmaBuf, in_fd, &in);
  if (r != VK_SUCCESS) close(in_fd);
  VK_OK(r);
  EXPECT_EQ(fcntl(in_fd, F_GETFD), -1) << "a successful import takes the fd";
  WsysVkMemoryInfo ii = dev.info(in.memory);
  EXPECT_EQ(ii.flags & (WSYS_VK_MEMORY_SHARED | WSYS_VK_MEMORY_IMPORTED),
            WSYS_VK_MEMORY_SHARED | WSYS_VK_MEMORY_IMPORTED);
  EXPECT_NE(ii.gpu_va, 0u);
  EXPECT_EQ(placement(frame).attachments, 2u);  // camera and GPU

  // Exported memory; the display attaches before anything uses it.
  Buffer out;
  VK_OK(external_buffer(kBytes, kDmaBuf, -1, &out));
  EXPECT_EQ(dev.info(out.memory).gpu_va, 0u) << "the GPU attaches at its first use";
  int out_fd = export_fd(out.memory, kDmaBuf);
  ASSERT_GE(out_fd, 0);
  Shared shown{&fns};
  ASSERT_EQ(fns.from_fd(out_fd, &shown.b), 0);
  close(out_fd);
  EXPECT_FALSE(placement(shown).placed);
  uint32_t disp = 0;
  ASSERT_EQ(fns.attach(shown.b, WSYS_VK_SHARED_DISPLAY, kPitch, kHeight, &disp, &why), 0)
      << fns.refusal_name(why);
  EXPECT_FALSE(placement(shown).placed);

  // The GPU computes out[i] = in[i] * 3 + 5 + i from the camera's bytes.
  const uint32_t n = static_cast<uint32_t>(kBytes / 4);
  ScaleAdd shader;
  VK_OK(shader.init(dev.get(), kScaleAddSpv, sizeof kScaleAddSpv));
  shader.set_buffers(in.buffer, out.buffer);
  VK_OK(dev.run([&](VkCommandBuffer cb) { shader.record(cb, 3, 5, n); }));

  // Placed at the GPU's first use with the display's constraints too: one
  // extent below 4 GiB.
  WsysVkSharedPlacement p = placement(shown);
  EXPECT_TRUE(p.placed);
  EXPECT_EQ(p.extents, 1u);
  EXPECT_LT(p.highest_address, uint64_t{1} << 32);
  EXPECT_EQ(p.attachments, 2u);  // display and GPU
  EXPECT_NE(dev.info(out.memory).gpu_va, 0u);

  // The display scans it out: the byte sum of what the shader wrote.
  ASSERT_EQ(fns.map(shown.b, WSYS_VK_SHARED_DISPLAY, disp), 0);
  uint64_t sum = 0;
  ASSERT_EQ(fns.use(shown.b, WSYS_VK_SHARED_DISPLAY, disp, 0, &sum), 0);
  uint64_t expect = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t v = 0x21212121u * 3u + 5u + i;
    for (int b = 0; b < 4; b++) expect += (v >> (8 * b)) & 0xffu;
  }
  EXPECT_EQ(sum, expect);

  // Camera -> GPU -> display without the CPU: no cache maintenance, and
  // some avoided.
  WsysVkSharedStats after{};
  ASSERT_EQ(fns.stats(&after), 0);
  EXPECT_EQ(after.cache_flushes, before.cache_flushes);
  EXPECT_EQ(after.cache_invalidates, before.cache_invalidates);
  EXPECT_GT(after.cache_ops_avoided, before.cache_ops_avoided);
  EXPECT_EQ(fns.unmap(shown.b, WSYS_VK_SHARED_DISPLAY, disp), 0);
  EXPECT_EQ(fns.detach(shown.b, WSYS_VK_SHARED_DISPLAY, disp), 0);
}

// The GPU used the memory first (placed for the GPU alone, above 4 GiB):
// the display's later attach is refused with the reason, and the memory
// keeps working.
TEST_F(DmaBuf, DisplayAttachAfterTheGpuPlacedItIsRefusedWithTheReason) {
  Buffer out;
  VK_OK(external_buffer(kBytes, kDmaBuf, -1, &out));
  VK_OK(dev.run(
      [&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, out.buffer, 0, kBytes, 0x01010101u); }));
  int fd = export_fd(out.memory, kDmaBuf);
  ASSERT_GE(fd, 0);
  Shared s{&fns};
  ASSERT_EQ(fns.from_fd(fd, &s.b), 0);
  close(fd);
  WsysVkSharedPlacement p = placement(s);
  EXPECT_TRUE(p.placed);
  EXPECT_TRUE(p.in_use);  // the GPU's mapping pins it
  EXPECT_GE(p.highest_address, uint64_t{1} << 32);
  WsysVkSharedStats before{};
  ASSERT_EQ(fns.stats(&before), 0);
  uint32_t id = 0, why = 0;
  EXPECT_EQ(fns.attach(s.b, WSYS_VK_SHARED_DISPLAY, kPitch, kHeight, &id, &why), -EINVAL);
  EXPECT_STREQ(fns.refusal_name(why), "dma-mask");
  WsysVkSharedStats after{};
  ASSERT_EQ(fns.stats(&after), 0);
  EXPECT_EQ(after.refused_attaches, before.refused_attaches + 1);
  // A pitch no display takes is refused for that, before any placement.
  Buffer fresh;
  VK_OK(external_buffer(kBytes, kDmaBuf, -1, &fresh));
  int fd2 = export_fd(fresh.memory, kDmaBuf);
  ASSERT_GE(fd2, 0);
  Shared s2{&fns};
  ASSERT_EQ(fns.from_fd(fd2, &s2.b), 0);
  close(fd2);
  EXPECT_EQ(fns.attach(s2.b, WSYS_VK_SHARED_DISPLAY, kPitch + 8, 16, &id, &why), -EINVAL);
  EXPECT_STREQ(fns.refusal_name(why), "pitch-alignment");
  // The refused memory still works for the GPU.
  Buffer check;
  VK_OK(make_buffer(inst, dev, 4096, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &check));
  VK_OK(dev.run([&](VkCommandBuffer cb) {
    VkBufferCopy c{0, 0, 4096};
    vkCmdCopyBuffer(cb, out.buffer, check.buffer, 1, &c);
  }));
  EXPECT_EQ(static_cast<const uint32_t*>(check.map)[1023], 0x01010101u);
}

// The CPU first: vkMapMemory of unplaced exported memory is a first use.
TEST_F(DmaBuf, MappingIsTheCpusFirstUse) {
  Buffer out;
  VK_OK(external_buffer(kBytes, kDmaBuf | kOpaque, -1, &out));
  int fd = export_fd(out.memory, kDmaBuf);
  ASSERT_GE(fd, 0);
  Shared s{&fns};
  ASSERT_EQ(fns.from_fd(fd, &s.b), 0);
  close(fd);
  EXPECT_FALSE(placement(s).placed);
  void* map = nullptr;
  VK_OK(vkMapMemory(dev.get(), out.memory, 0, VK_WHOLE_SIZE, 0, &map));
  WsysVkSharedPlacement p = placement(s);
  EXPECT_TRUE(p.placed);
  EXPECT_TRUE(p.cpu_used);
  static_cast<uint32_t*>(map)[0] = 0xfeedf00du;
  // Memory made for both types: its opaque fd is the same allocator buffer.
  int opaque = export_fd(out.memory, kOpaque);
  ASSERT_GE(opaque, 0);
  uint32_t bits = 0;
  EXPECT_EQ(props(opaque, &bits), VK_SUCCESS);
  close(opaque);
  // The GPU sees the CPU's write.
  Buffer check;
  VK_OK(make_buffer(inst, dev, 4096, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &check));
  VK_OK(dev.run([&](VkCommandBuffer cb) {
    VkBufferCopy c{0, 0, 4};
    vkCmdCopyBuffer(cb, out.buffer, check.buffer, 1, &c);
  }));
  EXPECT_EQ(static_cast<const uint32_t*>(check.map)[0], 0xfeedf00du);
  vkUnmapMemory(dev.get(), out.memory);
}

// What is not the allocator's dma-buf is refused, and a refused import
// leaves the application's fd open.
TEST_F(DmaBuf, BadFdsAreInvalidExternalHandles) {
  uint32_t bits = 0xffffffffu;
  EXPECT_EQ(props(-1, &bits), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  EXPECT_EQ(bits, 0u);
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  EXPECT_EQ(props(pipefd[0], &bits), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  // An opaque fd (a plain BO's memfd) is not a dma-buf here.
  Buffer opaque_mem;
  VK_OK(make_buffer(inst, dev, 64 << 10, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &opaque_mem,
                    External::Export, -1, 0, kOpaque));
  EXPECT_EQ(export_fd(opaque_mem.memory, kDmaBuf), -1);
  int opaque = export_fd(opaque_mem.memory, kOpaque);
  ASSERT_GE(opaque, 0);
  EXPECT_EQ(props(opaque, &bits), VK_ERROR_INVALID_EXTERNAL_HANDLE);

  WsysVkMemoryStats before = dev.stats();
  for (int fd : {pipefd[0], opaque}) {
    Buffer b;
    EXPECT_EQ(external_buffer(kBytes, kDmaBuf, fd, &b), VK_ERROR_INVALID_EXTERNAL_HANDLE) << fd;
    EXPECT_EQ(fcntl(fd, F_GETFD) >= 0, true) << "a refused import leaves the fd open";
  }
  EXPECT_EQ(dev.stats().imports, before.imports);
  close(pipefd[0]);
  close(pipefd[1]);
  close(opaque);
  // A closed fd.
  Buffer b;
  EXPECT_EQ(external_buffer(kBytes, kDmaBuf, pipefd[0], &b), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  WsysVkSharedBuffer* none = nullptr;
  EXPECT_EQ(fns.from_fd(pipefd[1], &none), -EBADF);
  EXPECT_EQ(none, nullptr);
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) {
  return wsys::vktest::test_main(argc, argv);
}
