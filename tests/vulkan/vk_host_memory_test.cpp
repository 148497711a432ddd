// VK_EXT_external_memory_host on the wsys ICD: host pointers imported as
// wsys BOs (Device::import_host Shared; the model's HOST_IMPORT extension),
// computed into through lavapipe and read back through the original
// pointer, plus cases in the style of dEQP-VK.memory.external_memory_host.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "scale_add.spv.h"  // kScaleAddSpv
#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

constexpr VkExternalMemoryHandleTypeFlagBits kHostAlloc =
    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
constexpr VkExternalMemoryHandleTypeFlagBits kHostForeign =
    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_MAPPED_FOREIGN_MEMORY_BIT_EXT;

class HostMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    if (!inst.has_extension(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME))
      GTEST_SKIP() << "the device cannot make host pointers BOs";
    VK_OK(dev.init(inst, {VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME}));
    props_fn = reinterpret_cast<PFN_vkGetMemoryHostPointerPropertiesEXT>(
        vkGetDeviceProcAddr(dev.get(), "vkGetMemoryHostPointerPropertiesEXT"));
    ASSERT_NE(props_fn, nullptr);
  }

  VkResult pointer_props(VkExternalMemoryHandleTypeFlagBits t, const void* p, uint32_t* bits) {
    VkMemoryHostPointerPropertiesEXT hp{};
    hp.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT;
    VkResult r = props_fn(dev.get(), t, p, &hp);
    *bits = hp.memoryTypeBits;
    return r;
  }

  // A storage buffer bound to `size` bytes of host memory at `p`.
  VkResult import_buffer(void* p, VkDeviceSize size, VkExternalMemoryHandleTypeFlagBits t,
                         Buffer* out) {
    out->device = dev.get();
    out->size = size;
    VkExternalMemoryBufferCreateInfo ext{};
    ext.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
    ext.handleTypes = t;
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.pNext = &ext;
    bi.size = size;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkResult r = vkCreateBuffer(dev.get(), &bi, nullptr, &out->buffer);
    if (r != VK_SUCCESS) return r;
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dev.get(), out->buffer, &req);
    uint32_t bits = 0;
    r = pointer_props(t, p, &bits);
    if (r != VK_SUCCESS) return r;
    bits &= req.memoryTypeBits;
    if (!bits) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    VkImportMemoryHostPointerInfoEXT host{};
    host.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
    host.handleType = t;
    host.pHostPointer = p;
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.pNext = &host;
    ai.allocationSize = size;
    ai.memoryTypeIndex = static_cast<uint32_t>(__builtin_ctz(bits));
    r = vkAllocateMemory(dev.get(), &ai, nullptr, &out->memory);
    if (r != VK_SUCCESS) return r;
    out->memory_size = size;
    return vkBindBufferMemory(dev.get(), out->buffer, out->memory, 0);
  }

  Instance inst;
  Device dev;
  PFN_vkGetMemoryHostPointerPropertiesEXT props_fn = nullptr;
};

TEST_F(HostMemory, AlignmentIsTheCpuPageAndHandleTypesAreImportOnly) {
  VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp{};
  hp.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT;
  VkPhysicalDeviceProperties2 p2{};
  p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  p2.pNext = &hp;
  vkGetPhysicalDeviceProperties2(inst.physical(), &p2);
  EXPECT_EQ(hp.minImportedHostPointerAlignment, static_cast<VkDeviceSize>(sysconf(_SC_PAGESIZE)));
  for (auto t : {kHostAlloc, kHostForeign}) {
    VkPhysicalDeviceExternalBufferInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    bi.handleType = t;
    VkExternalBufferProperties out{};
    out.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES;
    vkGetPhysicalDeviceExternalBufferProperties(inst.physical(), &bi, &out);
    EXPECT_EQ(out.externalMemoryProperties.externalMemoryFeatures,
              VkExternalMemoryFeatureFlags{VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT});
    EXPECT_EQ(out.externalMemoryProperties.compatibleHandleTypes,
              VkExternalMemoryHandleTypeFlags{t});
  }
}

TEST_F(HostMemory, PointerPropertiesAcceptAlignedWritableMemoryOnly) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  uint32_t bits = 0;
  VK_OK(pointer_props(kHostAlloc, p, &bits));
  EXPECT_NE(bits, 0u);
  const VkPhysicalDeviceMemoryProperties& m = inst.memory();
  for (uint32_t i = 0; i < m.memoryTypeCount; i++) {
    if (bits & (1u << i)) {
      EXPECT_TRUE(m.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) << i;
    }
  }
  EXPECT_EQ(pointer_props(kHostAlloc, static_cast<char*>(p) + 64, &bits),
            VK_ERROR_INVALID_EXTERNAL_HANDLE);
  EXPECT_EQ(bits, 0u);
  EXPECT_EQ(pointer_props(VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT, p, &bits),
            VK_ERROR_INVALID_EXTERNAL_HANDLE);
  ASSERT_EQ(mprotect(p, 4 * page, PROT_READ), 0);
  EXPECT_EQ(pointer_props(kHostAlloc, p, &bits), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  munmap(p, 4 * page);
}

TEST_F(HostMemory, ComputeIntoAHostAllocationAndReadItBackThroughThePointer) {
  const uint32_t n = 50000;
  const VkDeviceSize bytes = (n * 4 + 4095) & ~VkDeviceSize{4095};
  // An application allocation: private anonymous memory.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* host = static_cast<uint32_t*>(p);
  for (uint32_t i = 0; i < bytes / 4; i++) host[i] = 0xcdcdcdcd;
  {
    Buffer in, out;
    VK_OK(make_buffer(inst, dev, n * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &in));
    auto* a = static_cast<uint32_t*>(in.map);
    for (uint32_t i = 0; i < n; i++) a[i] = i * 7u + 1u;
    VK_OK(import_buffer(p, bytes, kHostAlloc, &out));
    EXPECT_EQ(host[0], 0xcdcdcdcdu);  // contents kept by the import
    // wsys's report shows the import.
    EXPECT_NE(dev.report().find("host:backed"), std::string::npos) << dev.report();
    ScaleAdd shader;
    VK_OK(shader.init(dev.get(), kScaleAddSpv, sizeof kScaleAddSpv));
    shader.set_buffers(in.buffer, out.buffer);
    VK_OK(dev.run([&](VkCommandBuffer cb) { shader.record(cb, 5, 3, n); }));
    for (uint32_t i = 0; i < n; i++)
      ASSERT_EQ(host[i], (i * 7u + 1u) * 5u + 3u + i) << "element " << i;
    for (uint32_t i = n; i < bytes / 4; i++) ASSERT_EQ(host[i], 0xcdcdcdcdu) << i;
    // And the other way: the application writes, the GPU reads.
    host[0] = 0x12345678;
    VK_OK(dev.run([&](VkCommandBuffer cb) {
      VkBufferCopy c{0, 4, 4};
      vkCmdCopyBuffer(cb, out.buffer, in.buffer, 1, &c);
    }));
    EXPECT_EQ(a[1], 0x12345678u);
  }  // the memory is freed before the application's range goes
  munmap(p, bytes);
}

TEST_F(HostMemory, ForeignSharedMappingIsFilledByTheGpu) {
  const VkDeviceSize bytes = 64 * 1024;
  int fd = memfd_create("vk-host-foreign", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, bytes), 0);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  {
    Buffer out;
    VK_OK(import_buffer(p, bytes, kHostForeign, &out));
    VK_OK(dev.run([&](VkCommandBuffer cb) {
      vkCmdFillBuffer(cb, out.buffer, 4096, 8192, 0x5eed5eed);
    }));
  }
  auto* w = static_cast<uint32_t*>(p);
  EXPECT_EQ(w[0], 0u);
  EXPECT_EQ(w[1024], 0x5eed5eedu);
  EXPECT_EQ(w[1024 + 2047], 0x5eed5eedu);
  EXPECT_EQ(w[1024 + 2048], 0u);
  // A second mapping of the same memfd sees the GPU's writes too.
  void* q = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(q, MAP_FAILED);
  EXPECT_EQ(static_cast<uint32_t*>(q)[1024], 0x5eed5eedu);
  munmap(q, bytes);
  munmap(p, bytes);
  close(fd);
}

TEST_F(HostMemory, BadImportsAreRefused) {
  const VkDeviceSize bytes = 16 * 1024;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  uint32_t type = UINT32_MAX;
  const VkPhysicalDeviceMemoryProperties& m = inst.memory();
  for (uint32_t i = 0; i < m.memoryTypeCount && type == UINT32_MAX; i++)
    if (m.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) type = i;
  ASSERT_NE(type, UINT32_MAX);
  VkImportMemoryHostPointerInfoEXT host{};
  host.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
  host.handleType = kHostAlloc;
  host.pHostPointer = static_cast<char*>(p) + 16;  // not page-aligned
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.pNext = &host;
  ai.allocationSize = 4096;
  ai.memoryTypeIndex = type;
  VkDeviceMemory mem = VK_NULL_HANDLE;
  EXPECT_EQ(vkAllocateMemory(dev.get(), &ai, nullptr, &mem), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  host.pHostPointer = p;
  host.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;  // not a host type
  EXPECT_EQ(vkAllocateMemory(dev.get(), &ai, nullptr, &mem), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  munmap(p, bytes);
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) { return wsys::vktest::test_main(argc, argv); }
