// lavapipe executing on wsys memory: transfers and a compute shader whose
// buffers are wsys BOs, results checked through the BOs' CPU mappings and
// through the device VM's view; buffer device addresses are the addresses
// lavapipe was given (the VM's view on the model).
#include <cstdint>
#include <cstring>
#include <vector>

#include "scale_add.spv.h"  // kScaleAddSpv: shaders/scale_add.comp, compiled at build time
#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

class Exec : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    VK_OK(dev.init(inst));
  }
  Instance inst;
  Device dev;
};

TEST_F(Exec, CopyBufferRegionsThroughLavapipe) {
  const VkDeviceSize size = 1u << 20;
  Buffer src, dst;
  VK_OK(make_buffer(inst, dev, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &src));
  VK_OK(make_buffer(inst, dev, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &dst));
  auto* s = static_cast<uint32_t*>(src.map);
  auto* d = static_cast<uint32_t*>(dst.map);
  const size_t words = size / 4;
  for (size_t i = 0; i < words; i++) {
    s[i] = static_cast<uint32_t>(i * 2654435761u);
    d[i] = 0xdeadbeef;
  }
  // Two regions, one shifted, and a gap left alone.
  VkBufferCopy regions[2] = {{0, 0, 64 << 10}, {128 << 10, 512 << 10, 256 << 10}};
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdCopyBuffer(cb, src.buffer, dst.buffer, 2, regions); }));
  for (size_t i = 0; i < (64 << 10) / 4; i++) ASSERT_EQ(d[i], s[i]) << i;
  for (size_t i = (64 << 10) / 4; i < (512 << 10) / 4; i++) ASSERT_EQ(d[i], 0xdeadbeefu) << i;
  for (size_t i = 0; i < (256 << 10) / 4; i++)
    ASSERT_EQ(d[(512 << 10) / 4 + i], s[(128 << 10) / 4 + i]) << i;

  // What lavapipe wrote is in the BO at its GPU address.
  WsysVkMemoryInfo info = dev.info(dst.memory);
  if (info.gpu_view) {
    EXPECT_EQ(std::memcmp(info.gpu_view, dst.map, size), 0);
  }

  // A fill and an update, then a copy back into the source's first page.
  VK_OK(dev.run([&](VkCommandBuffer cb) {
    vkCmdFillBuffer(cb, dst.buffer, 4096, 4096, 0x5a5a5a5a);
    uint32_t words4[4] = {1, 2, 3, 4};
    vkCmdUpdateBuffer(cb, dst.buffer, 0, sizeof words4, words4);
  }));
  EXPECT_EQ(d[0], 1u);
  EXPECT_EQ(d[3], 4u);
  EXPECT_EQ(d[4], s[4]);
  EXPECT_EQ(d[1024], 0x5a5a5a5au);
  EXPECT_EQ(d[2047], 0x5a5a5a5au);
  EXPECT_EQ(d[2048], s[2048]);
}

TEST_F(Exec, ComputeShaderReadsAndWritesWsysBuffers) {
  const uint32_t n = 100000;  // not a multiple of the workgroup size
  Buffer in, out;
  VK_OK(make_buffer(inst, dev, n * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &in));
  VK_OK(make_buffer(inst, dev, n * 4 + 4096, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &out));
  auto* a = static_cast<uint32_t*>(in.map);
  auto* b = static_cast<uint32_t*>(out.map);
  for (uint32_t i = 0; i < n; i++) a[i] = i ^ 0x9e3779b9u;
  for (uint32_t i = 0; i < n + 1024; i++) b[i] = 0xcdcdcdcd;

  ScaleAdd shader;
  VK_OK(shader.init(dev.get(), kScaleAddSpv, sizeof kScaleAddSpv));
  shader.set_buffers(in.buffer, out.buffer);
  VK_OK(dev.run([&](VkCommandBuffer cb) { shader.record(cb, 3, 17, n); }));
  for (uint32_t i = 0; i < n; i++) ASSERT_EQ(b[i], a[i] * 3u + 17u + i) << "element " << i;
  for (uint32_t i = n; i < n + 1024; i++) ASSERT_EQ(b[i], 0xcdcdcdcdu) << "past the end " << i;
}

TEST_F(Exec, BufferDeviceAddressesAreWhatLavapipeWasGiven) {
  // A device with bufferDeviceAddress: lavapipe's device address of a
  // buffer is the host address it reads it at.
  VkPhysicalDeviceVulkan12Features f12{};
  f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  VkPhysicalDeviceFeatures2 f2{};
  f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  f2.pNext = &f12;
  vkGetPhysicalDeviceFeatures2(inst.physical(), &f2);
  if (!f12.bufferDeviceAddress) GTEST_SKIP() << "lavapipe without bufferDeviceAddress";
  f12 = {};
  f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  f12.bufferDeviceAddress = VK_TRUE;
  float prio = 1.0f;
  VkDeviceQueueCreateInfo q{};
  q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  q.queueFamilyIndex = dev.queue_family();
  q.queueCount = 1;
  q.pQueuePriorities = &prio;
  VkDeviceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  ci.pNext = &f12;
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &q;
  VkDevice d;
  VK_OK(vkCreateDevice(inst.physical(), &ci, nullptr, &d));
  auto get_info = reinterpret_cast<PFN_vkGetWsysMemoryInfoWSYS>(
      vkGetDeviceProcAddr(d, "vkGetWsysMemoryInfoWSYS"));
  ASSERT_NE(get_info, nullptr);

  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = 64 << 10;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  VkBuffer buf;
  VK_OK(vkCreateBuffer(d, &bci, nullptr, &buf));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d, buf, &req);
  VkMemoryAllocateFlagsInfo fi{};
  fi.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
  fi.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.pNext = &fi;
  ai.allocationSize = req.size + 8192;
  ai.memoryTypeIndex = inst.memory_type(req.memoryTypeBits, 0);
  VkDeviceMemory m;
  VK_OK(vkAllocateMemory(d, &ai, nullptr, &m));
  VK_OK(vkBindBufferMemory(d, buf, m, 8192));
  VkBufferDeviceAddressInfo bai{};
  bai.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO;
  bai.buffer = buf;
  VkDeviceAddress addr = vkGetBufferDeviceAddress(d, &bai);
  WsysVkMemoryInfo info{};
  VK_OK(get_info(d, m, &info));
  EXPECT_EQ(addr, reinterpret_cast<uintptr_t>(info.executor_address) + 8192);
  if (!(info.flags & WSYS_VK_MEMORY_EXECUTOR_VIA_CPU)) {
    ASSERT_NE(info.gpu_view, nullptr);
    EXPECT_EQ(addr, reinterpret_cast<uintptr_t>(info.gpu_view) + 8192)
        << "lavapipe's device address is the BO's GPU address seen through the VM";
  } else {
    void* p = nullptr;
    VK_OK(vkMapMemory(d, m, 0, VK_WHOLE_SIZE, 0, &p));
    EXPECT_EQ(addr, reinterpret_cast<uintptr_t>(p) + 8192) << "the CPU mapping";
    vkUnmapMemory(d, m);
  }
  vkDestroyBuffer(d, buf, nullptr);
  vkFreeMemory(d, m, nullptr);
  vkDestroyDevice(d, nullptr);
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) { return wsys::vktest::test_main(argc, argv); }
