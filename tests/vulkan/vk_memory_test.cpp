// Device memory through the wsys ICD: every allocation a wsys BO that
// lavapipe reaches through wsys's VM; mapping, dedicated allocations,
// commitment, budget, the BO cache under churn, the memory report, and the
// device/extension surface the ICD presents.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

class Memory : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    VK_OK(dev.init(inst));
    ASSERT_NE(dev.get_stats, nullptr) << "the ICD's debug entry points are missing";
    ASSERT_NE(dev.get_info, nullptr);
    ASSERT_NE(dev.get_report, nullptr);
  }
  bool model() const { return std::strstr(inst.properties().deviceName, " model)") != nullptr; }
  // VK_EXT_external_memory_dma_buf: a real device, or the model with its
  // central allocator (WSYS_SIM_DEFERRED_ALLOC=0 turns it off).
  bool dma_buf_offered() const {
    const char* v = std::getenv("WSYS_SIM_DEFERRED_ALLOC");
    return !model() || !(v && v[0] == '0');
  }
  uint32_t host_type() const {
    return inst.memory_type(~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                     VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  }
  VkResult alloc(VkDeviceSize size, VkDeviceMemory* m, const void* next = nullptr) {
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.pNext = next;
    ai.allocationSize = size;
    ai.memoryTypeIndex = host_type();
    return vkAllocateMemory(dev.get(), &ai, nullptr, m);
  }
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget() {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT b{};
    b.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
    VkPhysicalDeviceMemoryProperties2 p{};
    p.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
    p.pNext = &b;
    vkGetPhysicalDeviceMemoryProperties2(inst.physical(), &p);
    return b;
  }

  Instance inst;
  Device dev;
};

TEST_F(Memory, ThePhysicalDeviceIsWsysOnLavapipe) {
  std::string name = inst.properties().deviceName;
  EXPECT_EQ(name.rfind("wsys (", 0), 0u) << name;
  EXPECT_NE(name.find(") on lavapipe"), std::string::npos) << name;
  const char* spec = std::getenv("WSYS_DEVICE");
  if (spec && std::strncmp(spec, "sim:", 4) == 0) {
    EXPECT_NE(name.find(spec), std::string::npos) << name << " should name " << spec;
  }
  EXPECT_TRUE(inst.has_extension(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME));
  EXPECT_TRUE(inst.has_extension(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME));
  // Host pointers become wsys BOs where the device can (the model's
  // HOST_IMPORT extension; udmabuf on a real device).
  if (model()) {
    EXPECT_TRUE(inst.has_extension(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME));
  }

  // One heap, sized by wsys: the model's budget when the test sets it, but
  // never more than panfrost's GPU VA can hold ([32 MiB, 4 GiB): the kernel
  // maps every buffer into it at creation).
  const VkPhysicalDeviceMemoryProperties& m = inst.memory();
  ASSERT_EQ(m.memoryHeapCount, 1u);
  EXPECT_TRUE(m.memoryHeaps[0].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
  const char* b = std::getenv("WSYS_SIM_MEMORY_BUDGET");
  const char* device_env = std::getenv("WSYS_DEVICE");
  const bool panfrost = device_env && std::strcmp(device_env, "sim:panfrost") == 0;
  if (model() && b && std::strcmp(b, "6G") == 0) {
    EXPECT_EQ(m.memoryHeaps[0].size, panfrost ? (4ull << 30) - (32ull << 20) : 6ull << 30);
  }
  ASSERT_NE(host_type(), UINT32_MAX);

  // The ID properties are wsys's, and stable.
  VkPhysicalDeviceIDProperties id{};
  id.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
  VkPhysicalDeviceMaintenance3Properties m3{};
  m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
  id.pNext = &m3;
  VkPhysicalDeviceProperties2 p2{};
  p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  p2.pNext = &id;
  vkGetPhysicalDeviceProperties2(inst.physical(), &p2);
  EXPECT_STREQ(p2.properties.deviceName, inst.properties().deviceName);
  EXPECT_LE(m3.maxMemoryAllocationSize, m.memoryHeaps[0].size);
  Instance again;
  std::string why;
  ASSERT_TRUE(again.init(&why)) << why;
  VkPhysicalDeviceIDProperties id2{};
  id2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
  p2.pNext = &id2;
  vkGetPhysicalDeviceProperties2(again.physical(), &p2);
  EXPECT_EQ(std::memcmp(id.deviceUUID, id2.deviceUUID, VK_UUID_SIZE), 0);
  EXPECT_EQ(std::memcmp(id.driverUUID, id2.driverUUID, VK_UUID_SIZE), 0);
}

TEST_F(Memory, DeviceCreationTakesWsysExtensionsAndRefusesHiddenOnes) {
  Device d2;
  VK_OK(d2.init(inst, {VK_EXT_MEMORY_BUDGET_EXTENSION_NAME, VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME}));
  Device d3;
  EXPECT_EQ(
      d3.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, "VK_EXT_external_memory_dma_buf"}),
      dma_buf_offered() ? VK_SUCCESS : VK_ERROR_EXTENSION_NOT_PRESENT);
  Device d4;
  EXPECT_EQ(d4.init(inst, {"VK_WSYS_no_such_extension"}), VK_ERROR_EXTENSION_NOT_PRESENT);
}

TEST_F(Memory, AllocateMapWriteReadThroughTheVm) {
  for (VkDeviceSize size : {VkDeviceSize{100}, VkDeviceSize{4096}, VkDeviceSize{65536 + 17},
                            VkDeviceSize{3u << 20}}) {
    SCOPED_TRACE(size);
    VkDeviceMemory m;
    VK_OK(alloc(size, &m));
    WsysVkMemoryInfo info = dev.info(m);
    EXPECT_GE(info.bo_size, size);
    EXPECT_EQ(info.bo_size % 4096, 0u);
    EXPECT_EQ(info.executor_size % 4096, 0u) << "lavapipe's host-pointer alignment";
    EXPECT_GE(info.executor_size, size);
    EXPECT_LE(info.executor_size, info.bo_size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(info.executor_address) % 4096, 0u);
    EXPECT_NE(info.gpu_va, 0u);
    if (model() && !(info.flags & WSYS_VK_MEMORY_EXECUTOR_VIA_CPU)) {
      EXPECT_EQ(info.executor_address, info.gpu_view) << "lavapipe must see the VM's view";
    }

    void* p = nullptr;
    VK_OK(vkMapMemory(dev.get(), m, 0, VK_WHOLE_SIZE, 0, &p));
    ASSERT_NE(p, nullptr);
    auto* bytes = static_cast<uint8_t*>(p);
    for (VkDeviceSize i = 0; i < size; i++) bytes[i] = static_cast<uint8_t>(i * 7 + size);
    // One mapping per BO: the application gets the address lavapipe
    // reads (the GPU view on the model, the CPU mapping on a real device).
    EXPECT_EQ(p, info.executor_address);
    if (info.gpu_view) {
      // The write is at the BO's GPU address.
      const auto* view = static_cast<const uint8_t*>(info.gpu_view);
      EXPECT_EQ(view[size - 1], static_cast<uint8_t>((size - 1) * 7 + size));
    }
    vkUnmapMemory(dev.get(), m);

    // Mapped again at an offset: the same bytes.
    VkDeviceSize off = size / 2;
    VK_OK(vkMapMemory(dev.get(), m, off, VK_WHOLE_SIZE, 0, &p));
    EXPECT_EQ(static_cast<uint8_t*>(p)[0], static_cast<uint8_t>(off * 7 + size));
    vkUnmapMemory(dev.get(), m);

    vkFreeMemory(dev.get(), m, nullptr);
  }
}

// Outside the spec (vkGetDeviceMemoryCommitment is for lazily allocated
// memory only, and the validation layer says so), but a driver asked anyway
// should answer with what is committed: the whole BO.
TEST_F(Memory, CommitmentOfNonLazyMemoryIsItsBoSize) {
  for (VkDeviceSize size : {VkDeviceSize{100}, VkDeviceSize{4096}, VkDeviceSize{3u << 20}}) {
    SCOPED_TRACE(size);
    VkDeviceMemory m = VK_NULL_HANDLE;
    VK_OK(alloc(size, &m));
    WsysVkMemoryInfo info = dev.info(m);
    VkDeviceSize committed = 0;
    vkGetDeviceMemoryCommitment(dev.get(), m, &committed);
    EXPECT_EQ(committed, info.bo_size);
    EXPECT_GE(committed, size);
    vkFreeMemory(dev.get(), m, nullptr);
  }
}

TEST_F(Memory, BadRequestsFail) {
  VkDeviceMemory m = VK_NULL_HANDLE;
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = 4096;
  ai.memoryTypeIndex = inst.memory().memoryTypeCount;  // no such type
  EXPECT_NE(vkAllocateMemory(dev.get(), &ai, nullptr, &m), VK_SUCCESS);

  VkPhysicalDeviceMaintenance3Properties m3{};
  m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
  VkPhysicalDeviceProperties2 p2{};
  p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  p2.pNext = &m3;
  vkGetPhysicalDeviceProperties2(inst.physical(), &p2);
  EXPECT_EQ(alloc(m3.maxMemoryAllocationSize + 1, &m), VK_ERROR_OUT_OF_DEVICE_MEMORY);

  VK_OK(alloc(8192, &m));
  void* p = nullptr;
  EXPECT_EQ(vkMapMemory(dev.get(), m, 8192, VK_WHOLE_SIZE, 0, &p), VK_ERROR_MEMORY_MAP_FAILED);
  EXPECT_EQ(vkMapMemory(dev.get(), m, 4096, 8192, 0, &p), VK_ERROR_MEMORY_MAP_FAILED);

  // Not exportable (allocated without VkExportMemoryAllocateInfo).
  auto get_fd = reinterpret_cast<PFN_vkGetMemoryFdKHR>(
      vkGetDeviceProcAddr(dev.get(), "vkGetMemoryFdKHR"));
  ASSERT_NE(get_fd, nullptr);
  VkMemoryGetFdInfoKHR gi{};
  gi.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
  gi.memory = m;
  gi.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
  int fd = -1;
  EXPECT_NE(get_fd(dev.get(), &gi, &fd), VK_SUCCESS);
  vkFreeMemory(dev.get(), m, nullptr);

  // A host pointer off minImportedHostPointerAlignment (the CPU page) is
  // refused (tests/vulkan/vk_host_memory_test.cpp has the imports that work).
  alignas(4096) static uint8_t page[8192];
  VkImportMemoryHostPointerInfoEXT host{};
  host.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
  host.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  host.pHostPointer = page + 16;
  EXPECT_EQ(alloc(4096, &m, &host), VK_ERROR_INVALID_EXTERNAL_HANDLE);
}

TEST_F(Memory, DedicatedAllocationsForImagesAndBuffers) {
  VkImageCreateInfo ici{};
  ici.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
  ici.imageType = VK_IMAGE_TYPE_2D;
  ici.format = VK_FORMAT_R8G8B8A8_UNORM;
  ici.extent = {64, 64, 1};
  ici.mipLevels = 1;
  ici.arrayLayers = 1;
  ici.samples = VK_SAMPLE_COUNT_1_BIT;
  ici.tiling = VK_IMAGE_TILING_OPTIMAL;
  ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
              VK_IMAGE_USAGE_SAMPLED_BIT;
  VkImage image;
  VK_OK(vkCreateImage(dev.get(), &ici, nullptr, &image));
  VkMemoryDedicatedRequirements dreq{};
  dreq.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS;
  VkMemoryRequirements2 req{};
  req.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  req.pNext = &dreq;
  VkImageMemoryRequirementsInfo2 ri{};
  ri.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
  ri.image = image;
  vkGetImageMemoryRequirements2(dev.get(), &ri, &req);
  ASSERT_NE(inst.memory_type(req.memoryRequirements.memoryTypeBits, 0), UINT32_MAX)
      << "lavapipe's memoryTypeBits must name the ICD's types";

  VkMemoryDedicatedAllocateInfo ded{};
  ded.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO;
  ded.image = image;
  VkDeviceMemory m;
  VK_OK(alloc(req.memoryRequirements.size, &m, &ded));
  EXPECT_TRUE(dev.info(m).flags & WSYS_VK_MEMORY_DEDICATED);
  VK_OK(vkBindImageMemory(dev.get(), image, m, 0));

  // Clear it through lavapipe and read a texel back through a buffer.
  Buffer out;
  VK_OK(make_buffer(inst, dev, 64 * 64 * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &out));
  VK_OK(dev.run([&](VkCommandBuffer cb) {
    VkImageMemoryBarrier b{};
    b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
    b.srcAccessMask = 0;
    b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    b.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                         0, nullptr, 0, nullptr, 1, &b);
    VkClearColorValue c{};
    c.float32[0] = 1.0f;
    c.float32[1] = 0.0f;
    c.float32[2] = 1.0f;
    c.float32[3] = 1.0f;
    VkImageSubresourceRange r{VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdClearColorImage(cb, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &c, 1, &r);
    b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                         nullptr, 0, nullptr, 1, &b);
    VkBufferImageCopy copy{};
    copy.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    copy.imageExtent = {64, 64, 1};
    vkCmdCopyImageToBuffer(cb, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, out.buffer, 1, &copy);
  }));
  const auto* texels = static_cast<const uint32_t*>(out.map);
  EXPECT_EQ(texels[0], 0xffff00ffu);
  EXPECT_EQ(texels[64 * 64 - 1], 0xffff00ffu);
  vkDestroyImage(dev.get(), image, nullptr);
  vkFreeMemory(dev.get(), m, nullptr);

  // A dedicated buffer allocation.
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = 1 << 20;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  VkBuffer buf;
  VK_OK(vkCreateBuffer(dev.get(), &bci, nullptr, &buf));
  VkMemoryRequirements breq;
  vkGetBufferMemoryRequirements(dev.get(), buf, &breq);
  ded.image = VK_NULL_HANDLE;
  ded.buffer = buf;
  VK_OK(alloc(breq.size, &m, &ded));
  EXPECT_TRUE(dev.info(m).flags & WSYS_VK_MEMORY_DEDICATED);
  VK_OK(vkBindBufferMemory(dev.get(), buf, m, 0));
  vkDestroyBuffer(dev.get(), buf, nullptr);
  vkFreeMemory(dev.get(), m, nullptr);
}

TEST_F(Memory, BudgetUsageMovesWithAllocation) {
  VkPhysicalDeviceMemoryBudgetPropertiesEXT b0 = budget();
  EXPECT_GE(b0.heapBudget[0], b0.heapUsage[0]);
  EXPECT_GT(b0.heapBudget[0], 0u);
  EXPECT_LE(b0.heapBudget[0], inst.memory().memoryHeaps[0].size);
  EXPECT_EQ(b0.heapUsage[1], 0u);
  EXPECT_EQ(b0.heapBudget[1], 0u);

  const VkDeviceSize size = 32u << 20;
  VkDeviceMemory m;
  VK_OK(alloc(size, &m));
  VkPhysicalDeviceMemoryBudgetPropertiesEXT b1 = budget();
  EXPECT_GE(b1.heapUsage[0], b0.heapUsage[0] + size);
  EXPECT_LE(b1.heapUsage[0], b0.heapUsage[0] + 2 * size) << "size classes waste at most 2x";
  EXPECT_GE(b1.heapBudget[0], b1.heapUsage[0]);

  // A second device's memory counts too (the usage is the process's).
  Device d2;
  VK_OK(d2.init(inst));
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = size;
  ai.memoryTypeIndex = host_type();
  VkDeviceMemory m2;
  VK_OK(vkAllocateMemory(d2.get(), &ai, nullptr, &m2));
  EXPECT_GE(budget().heapUsage[0], b1.heapUsage[0] + size);
  vkFreeMemory(d2.get(), m2, nullptr);
  d2.destroy();

  vkFreeMemory(dev.get(), m, nullptr);
  EXPECT_EQ(budget().heapUsage[0], b0.heapUsage[0])
      << "freed memory goes to the cache, which is reclaimable, not usage";
}

TEST_F(Memory, AllocateFreeChurnIsServedByTheBoCache) {
  WsysVkMemoryStats s0 = dev.stats();
  const int rounds = 100;
  for (int i = 0; i < rounds; i++) {
    VkDeviceMemory m;
    VK_OK(alloc(1u << 20, &m));
    vkFreeMemory(dev.get(), m, nullptr);
  }
  WsysVkMemoryStats s1 = dev.stats();
  EXPECT_GE(s1.cache_hits - s0.cache_hits, static_cast<uint64_t>(rounds - 1));
  EXPECT_LE(s1.bo_creates - s0.bo_creates, 1u) << "one BO, reused";
  EXPECT_LE(s1.va_maps - s0.va_maps, 1u) << "a cached BO keeps its VM mapping";
  EXPECT_GE(s1.cache_puts - s0.cache_puts, static_cast<uint64_t>(rounds));
  EXPECT_GE(s1.peak_committed_bytes, 1u << 20);

  std::string r = dev.report();
  EXPECT_NE(r.find("wsys memory report: "), std::string::npos) << r;
  EXPECT_NE(r.find(std::to_string(s1.cache_hits) + " hits"), std::string::npos) << r;
  EXPECT_NE(r.find("VM binds:"), std::string::npos) << r;
  EXPECT_NE(r.find("committed"), std::string::npos) << r;

  // Two-call idiom and truncation.
  size_t n = 0;
  VK_OK(dev.get_report(dev.get(), &n, nullptr));
  std::string small(8, 'x');
  size_t sn = small.size();
  EXPECT_EQ(dev.get_report(dev.get(), &sn, small.data()), VK_INCOMPLETE);
  EXPECT_EQ(small.c_str(), std::string("wsys me"));
}

TEST_F(Memory, TheReportIsWrittenAtDestroyWhenAsked) {
  char path[] = "/tmp/wsys-vk-report-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  for (int i = 0; i < 3; i++) {
    VkDeviceMemory m;
    VK_OK(alloc(256u << 10, &m));
    vkFreeMemory(dev.get(), m, nullptr);
  }
  setenv("WSYS_VK_REPORT", path, 1);
  dev.destroy();
  unsetenv("WSYS_VK_REPORT");
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  unlink(path);
  std::string text = ss.str();
  EXPECT_NE(text.find("wsys memory report: "), std::string::npos) << text;
  EXPECT_NE(text.find("2 hits"), std::string::npos) << text;
  EXPECT_NE(text.find("peak:"), std::string::npos) << text;
}

TEST_F(Memory, ExternalMemoryCapabilitiesAreWsysOpaqueFds) {
  VkPhysicalDeviceExternalBufferInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO;
  bi.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  bi.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
  VkExternalBufferProperties bp{};
  bp.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES;
  vkGetPhysicalDeviceExternalBufferProperties(inst.physical(), &bi, &bp);
  const VkExternalMemoryFeatureFlags both =
      VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT | VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
  EXPECT_EQ(bp.externalMemoryProperties.externalMemoryFeatures & both, both);
  EXPECT_TRUE(bp.externalMemoryProperties.compatibleHandleTypes &
              VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT);
  // Host pointers: import only (VK_EXT_external_memory_host, offered on the
  // model through its HOST_IMPORT extension).
  bi.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  vkGetPhysicalDeviceExternalBufferProperties(inst.physical(), &bi, &bp);
  EXPECT_EQ(bp.externalMemoryProperties.externalMemoryFeatures,
            model() ? VkExternalMemoryFeatureFlags{VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT}
                    : 0u);

  VkPhysicalDeviceExternalImageFormatInfo ei{};
  ei.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO;
  ei.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
  VkPhysicalDeviceImageFormatInfo2 ii{};
  ii.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2;
  ii.pNext = &ei;
  ii.format = VK_FORMAT_R8G8B8A8_UNORM;
  ii.type = VK_IMAGE_TYPE_2D;
  ii.tiling = VK_IMAGE_TILING_OPTIMAL;
  ii.usage = VK_IMAGE_USAGE_SAMPLED_BIT;
  VkExternalImageFormatProperties ep{};
  ep.sType = VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES;
  VkImageFormatProperties2 ip{};
  ip.sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2;
  ip.pNext = &ep;
  VK_OK(vkGetPhysicalDeviceImageFormatProperties2(inst.physical(), &ii, &ip));
  EXPECT_EQ(ep.externalMemoryProperties.externalMemoryFeatures & both, both);
  // dma-bufs: the model's central allocator's buffers, where it has one.
  ei.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
  EXPECT_EQ(vkGetPhysicalDeviceImageFormatProperties2(inst.physical(), &ii, &ip),
            dma_buf_offered() ? VK_SUCCESS : VK_ERROR_FORMAT_NOT_SUPPORTED);

  // A device entry point of an extension: the device must enable it.
  Device fd_dev;
  VK_OK(fd_dev.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME}));
  auto props = reinterpret_cast<PFN_vkGetMemoryFdPropertiesKHR>(
      vkGetDeviceProcAddr(fd_dev.get(), "vkGetMemoryFdPropertiesKHR"));
  ASSERT_NE(props, nullptr);
  VkMemoryFdPropertiesKHR fp{};
  fp.sType = VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR;
  EXPECT_EQ(props(fd_dev.get(), VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, 0, &fp),
            VK_ERROR_INVALID_EXTERNAL_HANDLE);
}

TEST_F(Memory, ThreadsAllocateAndFreeConcurrently) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; i++) {
        VkDeviceMemory m;
        VkDeviceSize size = static_cast<VkDeviceSize>(4096) << ((t + i) % 5);
        if (alloc(size, &m) != VK_SUCCESS) {
          failures++;
          continue;
        }
        void* p = nullptr;
        if (vkMapMemory(dev.get(), m, 0, VK_WHOLE_SIZE, 0, &p) != VK_SUCCESS) {
          failures++;
        } else {
          static_cast<uint32_t*>(p)[0] = static_cast<uint32_t>(t * 1000 + i);
          if (static_cast<uint32_t*>(p)[0] != static_cast<uint32_t>(t * 1000 + i)) failures++;
        }
        vkFreeMemory(dev.get(), m, nullptr);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dev.stats().bos_live, 0u);
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) { return wsys::vktest::test_main(argc, argv); }
