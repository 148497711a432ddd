// Non-coherent memory through the wsys ICD. On a GPU that does not snoop
// the CPU's caches (the model with WSYS_SIM_GPU=g610,coherency_features=0)
// and a kernel with write-back mappings and BO_SYNC (panthor 1.7), the ICD
// offers a HOST_VISIBLE | HOST_CACHED type that is not HOST_COHERENT, backed
// by CPU-cached BOs, and vkFlushMappedMemoryRanges /
// vkInvalidateMappedMemoryRanges become BO_SYNC ranges. What the device is
// expected to be comes from WSYS_VK_TEST_COHERENCY (set by meson.build):
//   cached    non-coherent, with the cached type (and no coherent type
//             claims HOST_CACHED: plain BOs are write-combined there)
//   coherent  the default device, or a kernel too old to say that it is
//             not (panthor before 1.7): no non-coherent type
// The kernel model lives inside the ICD, out of this program's reach, so
// the BO_SYNC ranges are read from wsys's count (WsysVkMemoryStats::
// cache_sync_ops), which core_pressure_noncoherent checks against the
// model's own counter.
#include <cstdlib>
#include <cstring>
#include <string>

#include "scale_add.spv.h"  // kScaleAddSpv: shaders/scale_add.comp, compiled at build time
#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

constexpr VkMemoryPropertyFlags kHostVisible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
constexpr VkMemoryPropertyFlags kCoherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
constexpr VkMemoryPropertyFlags kCached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;

std::string expected_coherency() {
  const char* v = std::getenv("WSYS_VK_TEST_COHERENCY");
  return v ? v : "";
}

class NonCoherent : public ::testing::Test {
 protected:
  void SetUp() override {
    mode = expected_coherency();
    ASSERT_TRUE(mode == "cached" || mode == "coherent")
        << "WSYS_VK_TEST_COHERENCY must say what the device is (meson.build)";
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    VK_OK(dev.init(inst));
    ASSERT_NE(dev.get_stats, nullptr);
    for (uint32_t i = 0; i < inst.memory().memoryTypeCount; i++) {
      VkMemoryPropertyFlags f = inst.memory().memoryTypes[i].propertyFlags;
      if ((f & kHostVisible) && !(f & kCoherent)) {
        noncoherent_types++;
        if (cached_type == UINT32_MAX) cached_type = i;
      }
    }
    atom = inst.properties().limits.nonCoherentAtomSize;
  }
  bool cached() const { return mode == "cached"; }
  uint64_t sync_ops() const { return dev.stats().cache_sync_ops; }

  // A buffer in memory of the flush tests' kind, mapped whole: the
  // non-coherent type where it exists (the only HOST_CACHED one there),
  // else a coherent host-visible type (flushes there need nothing).
  VkResult make(VkDeviceSize size, VkBufferUsageFlags usage, Buffer* out) {
    return make_buffer_with(inst, dev, size, usage, kHostVisible | (cached() ? kCached : kCoherent),
                            out);
  }
  static VkMappedMemoryRange range(VkDeviceMemory m, VkDeviceSize offset, VkDeviceSize size) {
    VkMappedMemoryRange r{};
    r.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
    r.memory = m;
    r.offset = offset;
    r.size = size;
    return r;
  }

  std::string mode;
  Instance inst;
  Device dev;
  uint32_t noncoherent_types = 0;
  uint32_t cached_type = UINT32_MAX;
  VkDeviceSize atom = 0;
};

TEST_F(NonCoherent, TheCachedTypeIsOfferedOnlyWhereTheDeviceNeedsIt) {
  const VkPhysicalDeviceMemoryProperties& m = inst.memory();
  if (cached()) {
    ASSERT_EQ(noncoherent_types, 1u);
    const VkMemoryType& t = m.memoryTypes[cached_type];
    EXPECT_EQ(t.propertyFlags, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | kHostVisible | kCached);
    EXPECT_LT(t.heapIndex, m.memoryHeapCount);
    // Flushes act on whole CPU cache lines: the atom is at least one, and a
    // power of two as the spec requires.
    EXPECT_GE(atom, 64u);
    EXPECT_EQ(atom & (atom - 1), 0u) << atom;
  } else {
    EXPECT_EQ(noncoherent_types, 0u) << "a non-coherent type where the device does not need one";
  }
  // The spec's minimum: a host-visible coherent type exists everywhere.
  EXPECT_NE(inst.memory_type(~0u, kHostVisible | kCoherent), UINT32_MAX);
  if (cached()) {
    // Plain BOs are write-combined on a non-coherent device: no coherent
    // type claims the CPU's caches.
    for (uint32_t i = 0; i < m.memoryTypeCount; i++) {
      VkMemoryPropertyFlags f = m.memoryTypes[i].propertyFlags;
      if (f & kCoherent) {
        EXPECT_FALSE(f & kCached) << "type " << i;
      }
    }
  }
}

TEST_F(NonCoherent, ResourcesMayUseTheCachedType) {
  if (!cached()) GTEST_SKIP() << "no cached type on this device (" << mode << ")";
  const uint32_t bit = 1u << cached_type;
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = 1 << 16;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  VkBuffer b;
  VK_OK(vkCreateBuffer(dev.get(), &bci, nullptr, &b));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev.get(), b, &req);
  EXPECT_TRUE(req.memoryTypeBits & bit);
  EXPECT_TRUE(req.memoryTypeBits & (1u << inst.memory_type(~0u, kHostVisible | kCoherent)));
  EXPECT_EQ(req.memoryTypeBits >> inst.memory().memoryTypeCount, 0u) << "bits past the last type";
  VkBufferMemoryRequirementsInfo2 bi{};
  bi.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2;
  bi.buffer = b;
  VkMemoryRequirements2 r2{};
  r2.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  vkGetBufferMemoryRequirements2(dev.get(), &bi, &r2);
  EXPECT_EQ(r2.memoryRequirements.memoryTypeBits, req.memoryTypeBits);
  VkDeviceBufferMemoryRequirements dbi{};
  dbi.sType = VK_STRUCTURE_TYPE_DEVICE_BUFFER_MEMORY_REQUIREMENTS;
  dbi.pCreateInfo = &bci;
  VkMemoryRequirements2 r3{};
  r3.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  vkGetDeviceBufferMemoryRequirements(dev.get(), &dbi, &r3);
  EXPECT_EQ(r3.memoryRequirements.memoryTypeBits, req.memoryTypeBits);
  vkDestroyBuffer(dev.get(), b, nullptr);

  VkImageCreateInfo ici{};
  ici.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
  ici.imageType = VK_IMAGE_TYPE_2D;
  ici.format = VK_FORMAT_R8G8B8A8_UNORM;
  ici.extent = {64, 64, 1};
  ici.mipLevels = 1;
  ici.arrayLayers = 1;
  ici.samples = VK_SAMPLE_COUNT_1_BIT;
  ici.tiling = VK_IMAGE_TILING_LINEAR;
  ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  VkImage img;
  VK_OK(vkCreateImage(dev.get(), &ici, nullptr, &img));
  VkMemoryRequirements ireq;
  vkGetImageMemoryRequirements(dev.get(), img, &ireq);
  EXPECT_TRUE(ireq.memoryTypeBits & bit);
  VkImageMemoryRequirementsInfo2 ii{};
  ii.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
  ii.image = img;
  VkMemoryRequirements2 ir2{};
  ir2.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  vkGetImageMemoryRequirements2(dev.get(), &ii, &ir2);
  EXPECT_EQ(ir2.memoryRequirements.memoryTypeBits, ireq.memoryTypeBits);
  VkDeviceImageMemoryRequirements dii{};
  dii.sType = VK_STRUCTURE_TYPE_DEVICE_IMAGE_MEMORY_REQUIREMENTS;
  dii.pCreateInfo = &ici;
  VkMemoryRequirements2 ir3{};
  ir3.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  vkGetDeviceImageMemoryRequirements(dev.get(), &dii, &ir3);
  EXPECT_EQ(ir3.memoryRequirements.memoryTypeBits, ireq.memoryTypeBits);
  vkDestroyImage(dev.get(), img, nullptr);
}

TEST_F(NonCoherent, SparseBuffersAllowAndBindTheCachedType) {
  if (!cached()) GTEST_SKIP() << "no cached type on this device (" << mode << ")";
  VkPhysicalDeviceFeatures offered{};
  vkGetPhysicalDeviceFeatures(inst.physical(), &offered);
  if (!offered.sparseBinding) GTEST_SKIP() << "sparse binding is not offered here (panfrost)";
  // The memory requirements pass through the sparse path and the memory
  // type translation both; vkQueueBindSparse checks the type in the
  // application's numbering.
  Device sdev;
  VkPhysicalDeviceFeatures f{};
  f.sparseBinding = VK_TRUE;
  VK_OK(sdev.init(inst, {}, &f));
  const VkDeviceSize size = 2 * 64 * 1024;
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT;
  bci.size = size;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  VkBuffer b;
  VK_OK(vkCreateBuffer(sdev.get(), &bci, nullptr, &b));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(sdev.get(), b, &req);
  EXPECT_EQ(req.alignment, 64u * 1024u);
  ASSERT_TRUE(req.memoryTypeBits & (1u << cached_type)) << req.memoryTypeBits;
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = cached_type;
  VkDeviceMemory m;
  VK_OK(vkAllocateMemory(sdev.get(), &mai, nullptr, &m));
  void* p = nullptr;
  VK_OK(vkMapMemory(sdev.get(), m, 0, VK_WHOLE_SIZE, 0, &p));
  VkSparseMemoryBind bind{0, req.size, m, 0, 0};
  VkSparseBufferMemoryBindInfo bb{b, 1, &bind};
  VkBindSparseInfo bsi{};
  bsi.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
  bsi.bufferBindCount = 1;
  bsi.pBufferBinds = &bb;
  VkFenceCreateInfo fci{};
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VkFence fence;
  VK_OK(vkCreateFence(sdev.get(), &fci, nullptr, &fence));
  VK_OK(vkQueueBindSparse(sdev.queue(), 1, &bsi, fence));
  VK_OK(vkWaitForFences(sdev.get(), 1, &fence, VK_TRUE, 10'000'000'000ull));
  VK_OK(sdev.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, b, 0, size, 0x77777777u); }));
  const uint64_t before = sdev.stats().cache_sync_ops;
  VkMappedMemoryRange inv = range(m, 0, VK_WHOLE_SIZE);
  VK_OK(vkInvalidateMappedMemoryRanges(sdev.get(), 1, &inv));
  EXPECT_EQ(sdev.stats().cache_sync_ops - before, 1u);
  const auto* words = static_cast<const uint32_t*>(p);
  EXPECT_EQ(words[0], 0x77777777u);
  EXPECT_EQ(words[size / 4 - 1], 0x77777777u);
  vkDestroyFence(sdev.get(), fence, nullptr);
  vkDestroyBuffer(sdev.get(), b, nullptr);
  vkFreeMemory(sdev.get(), m, nullptr);
}

TEST_F(NonCoherent, AFlushedWriteReachesTheComputeShaderAndAnInvalidateShowsItsResult) {
  const uint32_t n = 50000;
  Buffer in, out;
  VK_OK(make(n * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &in));
  VK_OK(make(n * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &out));
  auto* a = static_cast<uint32_t*>(in.map);
  for (uint32_t i = 0; i < n; i++) a[i] = i * 7u + 1u;
  const uint64_t before = sync_ops();
  VkMappedMemoryRange flush = range(in.memory, 0, VK_WHOLE_SIZE);
  VK_OK(vkFlushMappedMemoryRanges(dev.get(), 1, &flush));
  EXPECT_EQ(sync_ops() - before, cached() ? 1u : 0u) << "one BO_SYNC range per flushed range";

  ScaleAdd shader;
  VK_OK(shader.init(dev.get(), kScaleAddSpv, sizeof kScaleAddSpv));
  shader.set_buffers(in.buffer, out.buffer);
  VK_OK(dev.run([&](VkCommandBuffer cb) { shader.record(cb, 5, 3, n); }));
  // Two ranges, one call: the first half, then the rest to the end.
  const VkDeviceSize half = (n * 4 / 2) / atom * atom;
  VkMappedMemoryRange inv[2] = {range(out.memory, 0, half), range(out.memory, half, VK_WHOLE_SIZE)};
  VK_OK(vkInvalidateMappedMemoryRanges(dev.get(), 2, inv));
  EXPECT_EQ(sync_ops() - before, cached() ? 3u : 0u);
  const auto* b = static_cast<const uint32_t*>(out.map);
  for (uint32_t i = 0; i < n; i++) ASSERT_EQ(b[i], a[i] * 5u + 3u + i) << "element " << i;
}

TEST_F(NonCoherent, TransferWritesAreSeenAfterInvalidateAndFreeingCleansTheCaches) {
  const VkDeviceSize size = 256 << 10;
  Buffer src, dst;
  VK_OK(make(size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &src));
  VK_OK(make(size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &dst));
  std::memset(src.map, 0x3c, size);
  const uint64_t before = sync_ops();
  VkMappedMemoryRange f = range(src.memory, 4096, 8192);
  VK_OK(vkFlushMappedMemoryRanges(dev.get(), 1, &f));
  VK_OK(dev.run([&](VkCommandBuffer cb) {
    vkCmdFillBuffer(cb, dst.buffer, 0, size, 0xa5a5a5a5u);
    VkBufferCopy c{4096, 0, 8192};
    VkBufferMemoryBarrier bar{};
    bar.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER;
    bar.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    bar.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    bar.srcQueueFamilyIndex = bar.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    bar.buffer = dst.buffer;
    bar.size = VK_WHOLE_SIZE;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                         nullptr, 1, &bar, 0, nullptr);
    vkCmdCopyBuffer(cb, src.buffer, dst.buffer, 1, &c);
  }));
  VkMappedMemoryRange i = range(dst.memory, 0, VK_WHOLE_SIZE);
  VK_OK(vkInvalidateMappedMemoryRanges(dev.get(), 1, &i));
  const auto* d = static_cast<const uint8_t*>(dst.map);
  EXPECT_EQ(d[0], 0x3c);
  EXPECT_EQ(d[8191], 0x3c);
  EXPECT_EQ(d[8192], 0xa5);
  EXPECT_EQ(d[size - 1], 0xa5);
  EXPECT_EQ(sync_ops() - before, cached() ? 2u : 0u);
  // vkFreeMemory of cached memory cleans and drops its lines before the BO
  // is reused (one range); nothing for coherent memory.
  dst.reset();
  EXPECT_EQ(sync_ops() - before, cached() ? 3u : 0u);
}

TEST_F(NonCoherent, RangesAreCheckedAgainstTheMappingAndTheAtom) {
  if (!cached())
    GTEST_SKIP() << "no non-coherent type: flush and invalidate are lavapipe's (" << mode << ")";
  ASSERT_GE(atom, 2u);
  // allocationSize not a multiple of the atom: a range may end at its end.
  const VkDeviceSize size = 3 * atom + atom / 2;
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = size;
  mai.memoryTypeIndex = cached_type;
  VkDeviceMemory m;
  VK_OK(vkAllocateMemory(dev.get(), &mai, nullptr, &m));
  const uint64_t before = sync_ops();
  VkMappedMemoryRange r = range(m, 0, atom);
  EXPECT_EQ(vkFlushMappedMemoryRanges(dev.get(), 1, &r), VK_ERROR_VALIDATION_FAILED_EXT)
      << "not mapped";
  void* p = nullptr;
  VK_OK(vkMapMemory(dev.get(), m, atom, VK_WHOLE_SIZE, 0, &p));
  struct Case {
    VkDeviceSize offset, size;
    VkResult want;
    const char* what;
  } cases[] = {
      {atom, atom, VK_SUCCESS, "one atom"},
      {atom, VK_WHOLE_SIZE, VK_SUCCESS, "to the end of a mapping that ends at the memory's end"},
      {2 * atom, size - 2 * atom, VK_SUCCESS, "a partial atom at the end of the memory"},
      {0, atom, VK_ERROR_VALIDATION_FAILED_EXT, "before the mapping"},
      {atom + 1, atom, VK_ERROR_VALIDATION_FAILED_EXT, "offset not a multiple of the atom"},
      {atom, atom + 1, VK_ERROR_VALIDATION_FAILED_EXT, "size not a multiple, not to the end"},
      {atom, 3 * atom, VK_ERROR_VALIDATION_FAILED_EXT, "past the end of the memory"},
      {4 * atom, VK_WHOLE_SIZE, VK_ERROR_VALIDATION_FAILED_EXT, "offset past the mapping"},
  };
  uint64_t good = 0;
  for (const Case& c : cases) {
    VkMappedMemoryRange cr = range(m, c.offset, c.size);
    EXPECT_EQ(vkFlushMappedMemoryRanges(dev.get(), 1, &cr), c.want) << c.what;
    EXPECT_EQ(vkInvalidateMappedMemoryRanges(dev.get(), 1, &cr), c.want) << c.what;
    if (c.want == VK_SUCCESS) good += 2;
  }
  EXPECT_EQ(sync_ops() - before, good) << "a refused range reaches no kernel";
  // One bad range in a batch: nothing done at all.
  VkMappedMemoryRange batch[2] = {range(m, atom, atom), range(m, atom + 1, atom)};
  EXPECT_EQ(vkFlushMappedMemoryRanges(dev.get(), 2, batch), VK_ERROR_VALIDATION_FAILED_EXT);
  EXPECT_EQ(sync_ops() - before, good);
  // A mapping that ends neither on an atom nor at the memory's end cannot
  // be flushed with VK_WHOLE_SIZE.
  vkUnmapMemory(dev.get(), m);
  VK_OK(vkMapMemory(dev.get(), m, 0, atom + 8, 0, &p));
  VkMappedMemoryRange w = range(m, 0, VK_WHOLE_SIZE);
  EXPECT_EQ(vkFlushMappedMemoryRanges(dev.get(), 1, &w), VK_ERROR_VALIDATION_FAILED_EXT);
  vkUnmapMemory(dev.get(), m);
  VkMappedMemoryRange after = range(m, 0, atom);
  EXPECT_EQ(vkFlushMappedMemoryRanges(dev.get(), 1, &after), VK_ERROR_VALIDATION_FAILED_EXT)
      << "unmapped";
  EXPECT_EQ(sync_ops() - before, good);
  vkFreeMemory(dev.get(), m, nullptr);
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) { return wsys::vktest::test_main(argc, argv); }
