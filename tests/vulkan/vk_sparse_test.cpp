// Sparse binding through the wsys ICD: the features, properties and queue
// flag it adds (and, on panfrost or with lavapipe on CPU mappings, does
// not), vkCreateDevice taking them out of what lavapipe gets, sparse
// buffers (requirements, binds, rebinds, unbinds, aliasing) read and
// written by lavapipe's transfers and a compute shader, SPARSE_BINDING
// images bound opaquely in pieces (requirements, upload and read-back
// through buffer copies, rebinds, unbinds, refused binds), vkQueueBindSparse
// ordered against submissions by binary and timeline semaphores (a bind
// waiting for a value the host signals later) and fences, invalid binds
// refused with nothing changed, and freed memory that stays bound.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../common/run_self.h"
#include "scale_add.spv.h"  // kScaleAddSpv: shaders/scale_add.comp
#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

constexpr VkDeviceSize kBlock = 64 * 1024;
constexpr uint64_t kSecond = 1'000'000'000;

// Word w of a "tagged" range holds tag * 0x1000000 + w.
uint32_t tagged(uint32_t tag, VkDeviceSize byte) {
  return tag * 0x1000000u + static_cast<uint32_t>(byte / 4);
}

// A VkDevice with sparse features (or others) enabled, and command buffers
// recorded ahead to submit with semaphores.
class SparseDevice : public Device {
 public:
  // `features` as pEnabledFeatures, or (features2) in a
  // VkPhysicalDeviceFeatures2 at the head of the chain.
  VkResult init(const Instance& inst, const VkPhysicalDeviceFeatures& features,
                bool features2 = false, void* chain = nullptr) {
    VkResult r = Device::init(inst, {}, &features, features2, chain);
    if (r != VK_SUCCESS) return r;
    return get_stats ? VK_SUCCESS : VK_ERROR_INITIALIZATION_FAILED;
  }

  // A recorded command buffer, freed with the device (with its pool).
  VkCommandBuffer record(const std::function<void(VkCommandBuffer)>& fn) {
    VkCommandBufferAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    ai.commandPool = command_pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    if (vkAllocateCommandBuffers(get(), &ai, &cb) != VK_SUCCESS) return VK_NULL_HANDLE;
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    vkBeginCommandBuffer(cb, &bi);
    fn(cb);
    vkEndCommandBuffer(cb);
    return cb;
  }

  // Submits one command buffer with binary waits/signals; fence optional.
  VkResult submit(VkCommandBuffer cb, std::vector<VkSemaphore> waits = {},
                  std::vector<VkSemaphore> signals = {}, VkFence fence = VK_NULL_HANDLE) {
    std::vector<VkPipelineStageFlags> stages(waits.size(), VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.waitSemaphoreCount = static_cast<uint32_t>(waits.size());
    si.pWaitSemaphores = waits.data();
    si.pWaitDstStageMask = stages.data();
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    si.signalSemaphoreCount = static_cast<uint32_t>(signals.size());
    si.pSignalSemaphores = signals.data();
    return vkQueueSubmit(queue(), 1, &si, fence);
  }
};

VkPhysicalDeviceFeatures sparse_features(bool residency = true, bool aliased = true) {
  VkPhysicalDeviceFeatures f{};
  f.sparseBinding = VK_TRUE;
  f.sparseResidencyBuffer = residency ? VK_TRUE : VK_FALSE;
  f.sparseResidencyAliased = aliased ? VK_TRUE : VK_FALSE;
  return f;
}

// The features, queue flags and properties as an application sees them.
struct Offer {
  VkPhysicalDeviceFeatures features{}, features2{};
  std::vector<VkQueueFamilyProperties> families;
  std::vector<VkQueueFamilyProperties2> families2;
  VkPhysicalDeviceProperties props{};
};

Offer offer_of(VkPhysicalDevice pd) {
  Offer o;
  vkGetPhysicalDeviceFeatures(pd, &o.features);
  VkPhysicalDeviceFeatures2 f2{};
  f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  vkGetPhysicalDeviceFeatures2(pd, &f2);
  o.features2 = f2.features;
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  o.families.resize(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, o.families.data());
  uint32_t n2 = 0;
  vkGetPhysicalDeviceQueueFamilyProperties2(pd, &n2, nullptr);
  o.families2.resize(n2);
  for (auto& f : o.families2) f.sType = VK_STRUCTURE_TYPE_QUEUE_FAMILY_PROPERTIES_2;
  vkGetPhysicalDeviceQueueFamilyProperties2(pd, &n2, o.families2.data());
  vkGetPhysicalDeviceProperties(pd, &o.props);
  return o;
}

// --- where sparse binding is not offered ----------------------------------------

// Run with WSYS_DEVICE=sim:panfrost and with WSYS_VK_EXECUTOR_VIEW=cpu.
TEST(NoSparse, NeitherOfferedNorAccepted) {
  Instance inst;
  std::string why;
  ASSERT_TRUE(inst.init(&why)) << why;
  Offer o = offer_of(inst.physical());
  for (const VkPhysicalDeviceFeatures* f : {&o.features, &o.features2}) {
    EXPECT_FALSE(f->sparseBinding);
    EXPECT_FALSE(f->sparseResidencyBuffer);
    EXPECT_FALSE(f->sparseResidencyAliased);
    EXPECT_FALSE(f->sparseResidencyImage2D);
  }
  ASSERT_FALSE(o.families.empty());
  for (const auto& q : o.families) EXPECT_FALSE(q.queueFlags & VK_QUEUE_SPARSE_BINDING_BIT);
  for (const auto& q : o.families2)
    EXPECT_FALSE(q.queueFamilyProperties.queueFlags & VK_QUEUE_SPARSE_BINDING_BIT);
  // No sparse image of any kind: the format queries say so.
  VkImageFormatProperties ifp{};
  EXPECT_EQ(vkGetPhysicalDeviceImageFormatProperties(
                inst.physical(), VK_FORMAT_R8G8B8A8_UINT, VK_IMAGE_TYPE_2D,
                VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                VK_IMAGE_CREATE_SPARSE_BINDING_BIT, &ifp),
            VK_ERROR_FORMAT_NOT_SUPPORTED);
  VK_OK(vkGetPhysicalDeviceImageFormatProperties(inst.physical(), VK_FORMAT_R8G8B8A8_UINT,
                                                 VK_IMAGE_TYPE_2D, VK_IMAGE_TILING_OPTIMAL,
                                                 VK_IMAGE_USAGE_TRANSFER_DST_BIT, 0, &ifp));
  SparseDevice dev;
  EXPECT_EQ(dev.init(inst, sparse_features(false, false)), VK_ERROR_FEATURE_NOT_PRESENT);
  SparseDevice dev2;
  EXPECT_EQ(dev2.init(inst, sparse_features(false, false), true), VK_ERROR_FEATURE_NOT_PRESENT);
  // Without sparse features the device is as before.
  SparseDevice plain;
  VK_OK(plain.init(inst, VkPhysicalDeviceFeatures{}));
}

// --- where it is (the model's panthor) -------------------------------------------

class Sparse : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    // Timeline semaphores too: TimelineWaitBeforeSignal... uses them (the
    // feature must be enabled for the application to create one).
    timeline_.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES;
    timeline_.timelineSemaphore = VK_TRUE;
    VK_OK(dev.init(inst, sparse_features(), false, &timeline_));
  }
  VkPhysicalDeviceTimelineSemaphoreFeatures timeline_{};

  // A sparse buffer with `usage` (transfer src/dst added).
  VkBuffer sparse_buffer(VkDeviceSize size, VkBufferUsageFlags usage = 0,
                         VkBufferCreateFlags flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT |
                                                     VK_BUFFER_CREATE_SPARSE_RESIDENCY_BIT |
                                                     VK_BUFFER_CREATE_SPARSE_ALIASED_BIT) {
    VkBufferCreateInfo bci{};
    bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bci.flags = flags;
    bci.size = size;
    bci.usage = usage | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer b = VK_NULL_HANDLE;
    EXPECT_EQ(vkCreateBuffer(dev.get(), &bci, nullptr, &b), VK_SUCCESS);
    buffers.push_back(b);
    return b;
  }

  // Host-visible memory of `size` for sparse buffers, mapped, each word
  // tagged with `tag`.
  // `type_bits`: of an image's requirements (default: a sparse buffer's).
  VkDeviceMemory memory(VkDeviceSize size, uint32_t tag, uint32_t** map = nullptr,
                        uint32_t type_bits = 0) {
    VkMemoryRequirements req{};
    req.memoryTypeBits = type_bits;
    if (!type_bits) vkGetBufferMemoryRequirements(dev.get(), sparse_buffer(kBlock), &req);
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.allocationSize = size;
    ai.memoryTypeIndex =
        inst.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    EXPECT_NE(ai.memoryTypeIndex, UINT32_MAX);
    VkDeviceMemory m = VK_NULL_HANDLE;
    EXPECT_EQ(vkAllocateMemory(dev.get(), &ai, nullptr, &m), VK_SUCCESS);
    void* p = nullptr;
    EXPECT_EQ(vkMapMemory(dev.get(), m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    auto* w = static_cast<uint32_t*>(p);
    for (VkDeviceSize i = 0; i < size / 4; i++) w[i] = tagged(tag, i * 4);
    if (map) *map = w;
    memories.push_back(m);
    return m;
  }

  // A SPARSE_BINDING image: 2D RGBA8 (uint), one mip, transfer src/dst.
  VkImageCreateInfo image_info(uint32_t width, uint32_t height, uint32_t layers = 1,
                               VkImageCreateFlags flags = VK_IMAGE_CREATE_SPARSE_BINDING_BIT) {
    VkImageCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
    ci.flags = flags;
    ci.imageType = VK_IMAGE_TYPE_2D;
    ci.format = VK_FORMAT_R8G8B8A8_UINT;
    ci.extent = {width, height, 1};
    ci.mipLevels = 1;
    ci.arrayLayers = layers;
    ci.samples = VK_SAMPLE_COUNT_1_BIT;
    ci.tiling = VK_IMAGE_TILING_OPTIMAL;
    ci.usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    ci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    ci.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    return ci;
  }
  VkImage sparse_image(const VkImageCreateInfo& ci) {
    VkImage i = VK_NULL_HANDLE;
    EXPECT_EQ(vkCreateImage(dev.get(), &ci, nullptr, &i), VK_SUCCESS);
    if (i) images.push_back(i);
    return i;
  }

  // vkQueueBindSparse of opaque `binds` on `image` in one info.
  VkResult bind_image(VkImage image, std::vector<VkSparseMemoryBind> binds,
                      VkFence fence = VK_NULL_HANDLE) {
    VkSparseImageOpaqueMemoryBindInfo ib{};
    ib.image = image;
    ib.bindCount = static_cast<uint32_t>(binds.size());
    ib.pBinds = binds.data();
    VkBindSparseInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
    info.imageOpaqueBindCount = 1;
    info.pImageOpaqueBinds = &ib;
    return vkQueueBindSparse(dev.queue(), 1, &info, fence);
  }
  VkResult bind_image_now(VkImage image, std::vector<VkSparseMemoryBind> binds) {
    VkFence f = fence();
    VkResult r = bind_image(image, std::move(binds), f);
    if (r != VK_SUCCESS) return r;
    return vkWaitForFences(dev.get(), 1, &f, VK_TRUE, 10 * kSecond);
  }

  // The whole of a one-mip color image to/from a host buffer, the image
  // going from `from` to TRANSFER_SRC_OPTIMAL (upload) or staying there.
  static void image_barrier(VkCommandBuffer cb, VkImage image, uint32_t layers, VkImageLayout from,
                            VkImageLayout to) {
    VkImageMemoryBarrier b{};
    b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
    b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    b.oldLayout = from;
    b.newLayout = to;
    b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, layers};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                         nullptr, 0, nullptr, 1, &b);
  }
  static VkBufferImageCopy whole(const VkImageCreateInfo& ci) {
    VkBufferImageCopy c{};
    c.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, ci.arrayLayers};
    c.imageExtent = ci.extent;
    return c;
  }
  VkResult upload(VkImage image, const VkImageCreateInfo& ci, Buffer* src, VkImageLayout from) {
    const VkBufferImageCopy c = whole(ci);
    return dev.run([&](VkCommandBuffer cb) {
      image_barrier(cb, image, ci.arrayLayers, from, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
      vkCmdCopyBufferToImage(cb, src->buffer, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &c);
      image_barrier(cb, image, ci.arrayLayers, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                    VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    });
  }
  std::vector<uint32_t> download(VkImage image, const VkImageCreateInfo& ci) {
    const VkDeviceSize bytes =
        VkDeviceSize{ci.extent.width} * ci.extent.height * ci.arrayLayers * 4;
    Buffer* dst = host_buffer(bytes);
    const VkBufferImageCopy c = whole(ci);
    EXPECT_EQ(dev.run([&](VkCommandBuffer cb) {
      vkCmdCopyImageToBuffer(cb, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, dst->buffer, 1, &c);
    }),
              VK_SUCCESS);
    std::vector<uint32_t> out(bytes / 4);
    std::memcpy(out.data(), dst->map, bytes);
    return out;
  }

  // A plain host-visible buffer (its own memory), for reading back.
  Buffer* host_buffer(VkDeviceSize size, VkBufferUsageFlags usage = 0) {
    owned.push_back(std::make_unique<Buffer>());
    Buffer* b = owned.back().get();
    b->device = dev.get();
    b->size = size;
    VkBufferCreateInfo bci{};
    bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bci.size = size;
    bci.usage = usage | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    EXPECT_EQ(vkCreateBuffer(dev.get(), &bci, nullptr, &b->buffer), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dev.get(), b->buffer, &req);
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.allocationSize = req.size;
    ai.memoryTypeIndex =
        inst.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    EXPECT_EQ(vkAllocateMemory(dev.get(), &ai, nullptr, &b->memory), VK_SUCCESS);
    EXPECT_EQ(vkBindBufferMemory(dev.get(), b->buffer, b->memory, 0), VK_SUCCESS);
    EXPECT_EQ(vkMapMemory(dev.get(), b->memory, 0, VK_WHOLE_SIZE, 0, &b->map), VK_SUCCESS);
    std::memset(b->map, 0xee, size);
    return b;
  }

  static VkSparseMemoryBind range(VkDeviceSize offset, VkDeviceSize size, VkDeviceMemory m,
                                  VkDeviceSize memory_offset = 0) {
    VkSparseMemoryBind b{};
    b.resourceOffset = offset;
    b.size = size;
    b.memory = m;
    b.memoryOffset = memory_offset;
    return b;
  }

  // vkQueueBindSparse of `binds` on `buffer` in one info.
  VkResult bind(VkBuffer buffer, std::vector<VkSparseMemoryBind> binds,
                VkFence fence = VK_NULL_HANDLE, std::vector<VkSemaphore> waits = {},
                std::vector<VkSemaphore> signals = {}, const void* next = nullptr) {
    VkSparseBufferMemoryBindInfo bb{};
    bb.buffer = buffer;
    bb.bindCount = static_cast<uint32_t>(binds.size());
    bb.pBinds = binds.data();
    VkBindSparseInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
    info.pNext = next;
    info.waitSemaphoreCount = static_cast<uint32_t>(waits.size());
    info.pWaitSemaphores = waits.data();
    info.bufferBindCount = 1;
    info.pBufferBinds = &bb;
    info.signalSemaphoreCount = static_cast<uint32_t>(signals.size());
    info.pSignalSemaphores = signals.data();
    return vkQueueBindSparse(dev.queue(), 1, &info, fence);
  }

  // Binds and waits for the bind to be done (through a fence).
  VkResult bind_now(VkBuffer buffer, std::vector<VkSparseMemoryBind> binds) {
    VkFence f = fence();
    VkResult r = bind(buffer, std::move(binds), f);
    if (r != VK_SUCCESS) return r;
    return vkWaitForFences(dev.get(), 1, &f, VK_TRUE, 10 * kSecond);
  }

  VkFence fence() {
    VkFenceCreateInfo fci{};
    fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    VkFence f = VK_NULL_HANDLE;
    EXPECT_EQ(vkCreateFence(dev.get(), &fci, nullptr, &f), VK_SUCCESS);
    fences.push_back(f);
    return f;
  }

  VkSemaphore semaphore(bool timeline = false) {
    VkSemaphoreTypeCreateInfo t{};
    t.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO;
    t.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO;
    ci.pNext = timeline ? &t : nullptr;
    VkSemaphore s = VK_NULL_HANDLE;
    EXPECT_EQ(vkCreateSemaphore(dev.get(), &ci, nullptr, &s), VK_SUCCESS);
    semaphores.push_back(s);
    return s;
  }

  // Copies [offset, offset + size) of `src` into a fresh host buffer.
  std::vector<uint32_t> read(VkBuffer src, VkDeviceSize offset, VkDeviceSize size) {
    Buffer* dst = host_buffer(size);
    VkBufferCopy c{offset, 0, size};
    EXPECT_EQ(dev.run([&](VkCommandBuffer cb) { vkCmdCopyBuffer(cb, src, dst->buffer, 1, &c); }),
              VK_SUCCESS);
    std::vector<uint32_t> out(size / 4);
    std::memcpy(out.data(), dst->map, size);
    return out;
  }

  // Words [0, n) of `v` are `tag`'s from byte `from`.
  static bool is_tagged(const std::vector<uint32_t>& v, size_t first_word, size_t words,
                        uint32_t tag, VkDeviceSize from) {
    for (size_t i = 0; i < words; i++)
      if (v[first_word + i] != tagged(tag, from + i * 4)) return false;
    return true;
  }
  static bool all_are(const uint32_t* w, size_t words, uint32_t value) {
    for (size_t i = 0; i < words; i++)
      if (w[i] != value) return false;
    return true;
  }

  void TearDown() override {
    if (!dev.get()) return;
    vkDeviceWaitIdle(dev.get());
    for (VkBuffer b : buffers) vkDestroyBuffer(dev.get(), b, nullptr);
    for (VkImage i : images) vkDestroyImage(dev.get(), i, nullptr);
    for (VkDeviceMemory m : memories) vkFreeMemory(dev.get(), m, nullptr);
    for (VkFence f : fences) vkDestroyFence(dev.get(), f, nullptr);
    for (VkSemaphore s : semaphores) vkDestroySemaphore(dev.get(), s, nullptr);
    owned.clear();
    dev.destroy();
  }

  Instance inst;
  SparseDevice dev;
  std::vector<VkBuffer> buffers;
  std::vector<VkImage> images;
  std::vector<VkDeviceMemory> memories;
  std::vector<VkFence> fences;
  std::vector<VkSemaphore> semaphores;
  std::vector<std::unique_ptr<Buffer>> owned;
};

TEST_F(Sparse, FeaturesQueueFlagAndProperties) {
  Offer o = offer_of(inst.physical());
  for (const VkPhysicalDeviceFeatures* f : {&o.features, &o.features2}) {
    EXPECT_TRUE(f->sparseBinding);
    EXPECT_TRUE(f->sparseResidencyBuffer);
    EXPECT_TRUE(f->sparseResidencyAliased);
    EXPECT_FALSE(f->sparseResidencyImage2D) << "partially resident images are not offered";
    EXPECT_FALSE(f->sparseResidencyImage3D);
    EXPECT_FALSE(f->sparseResidency2Samples);
  }
  ASSERT_FALSE(o.families.empty());
  ASSERT_EQ(o.families.size(), o.families2.size());
  for (size_t i = 0; i < o.families.size(); i++) {
    EXPECT_TRUE(o.families[i].queueFlags & VK_QUEUE_SPARSE_BINDING_BIT);
    EXPECT_EQ(o.families2[i].queueFamilyProperties.queueFlags, o.families[i].queueFlags);
  }
  // Unbound pages take stray writes: not strictly resident.
  EXPECT_FALSE(o.props.sparseProperties.residencyNonResidentStrict);
  EXPECT_FALSE(o.props.sparseProperties.residencyStandard2DBlockShape);
  EXPECT_FALSE(o.props.sparseProperties.residencyAlignedMipSize);
  EXPECT_GE(o.props.limits.sparseAddressSpaceSize, 1ull << 32) << "the device VM's range";
  VkPhysicalDeviceProperties2 p2{};
  p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  vkGetPhysicalDeviceProperties2(inst.physical(), &p2);
  EXPECT_EQ(p2.properties.limits.sparseAddressSpaceSize, o.props.limits.sparseAddressSpaceSize);
}

TEST_F(Sparse, CreateDeviceTakesTheFeaturesOutOfTheApplicationsCopyOnly) {
  // Features2 in the chain with a Vulkan 1.2 struct that does not enable
  // timeline semaphores: the ICD changes copies, never these.
  VkPhysicalDeviceVulkan12Features v12{};
  v12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  VkPhysicalDeviceVulkan11Features v11{};
  v11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
  v11.pNext = &v12;
  const VkPhysicalDeviceVulkan12Features v12_before = v12;
  SparseDevice d2;
  VK_OK(d2.init(inst, sparse_features(), true, &v11));
  EXPECT_EQ(std::memcmp(&v12, &v12_before, sizeof v12), 0) << "the application's struct changed";
  EXPECT_EQ(v11.pNext, &v12);
  d2.destroy();

  // A timeline struct in front of Features2: copied too, relinked.
  VkPhysicalDeviceTimelineSemaphoreFeatures tl{};
  tl.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES;
  VkPhysicalDeviceFeatures2 f2{};
  f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  f2.features = sparse_features();
  tl.pNext = &f2;
  SparseDevice d3;  // no pEnabledFeatures: Features2 in the chain says it all
  VK_OK(d3.Device::init(inst, {}, nullptr, false, &tl));
  EXPECT_FALSE(tl.timelineSemaphore);
  EXPECT_TRUE(f2.features.sparseBinding);
  EXPECT_EQ(tl.pNext, &f2);
  d3.destroy();

  // Binding alone (no residency) and a sparse image feature (not offered).
  SparseDevice d4;
  VK_OK(d4.init(inst, sparse_features(false, false)));
  VkPhysicalDeviceFeatures img = sparse_features();
  img.sparseResidencyImage2D = VK_TRUE;
  SparseDevice d5;
  EXPECT_EQ(d5.init(inst, img), VK_ERROR_FEATURE_NOT_PRESENT);
}

TEST_F(Sparse, BufferCreateValidatesAndReportsBlockRequirements) {
  VkBuffer b = sparse_buffer(100000, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
  ASSERT_NE(b, VK_NULL_HANDLE);
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(dev.get(), b, &req);
  EXPECT_EQ(req.alignment, kBlock);
  EXPECT_EQ(req.size, 2 * kBlock);
  EXPECT_NE(req.memoryTypeBits, 0u);

  VkMemoryDedicatedRequirements ded{};
  ded.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS;
  VkMemoryRequirements2 r2{};
  r2.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  r2.pNext = &ded;
  VkBufferMemoryRequirementsInfo2 ri{};
  ri.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2;
  ri.buffer = b;
  vkGetBufferMemoryRequirements2(dev.get(), &ri, &r2);
  EXPECT_EQ(r2.memoryRequirements.alignment, kBlock);
  EXPECT_EQ(r2.memoryRequirements.size, 2 * kBlock);
  EXPECT_FALSE(ded.requiresDedicatedAllocation);

  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT;
  bci.size = 3 * kBlock + 1;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  VkDeviceBufferMemoryRequirements dbr{};
  dbr.sType = VK_STRUCTURE_TYPE_DEVICE_BUFFER_MEMORY_REQUIREMENTS;
  dbr.pCreateInfo = &bci;
  VkMemoryRequirements2 r3{};
  r3.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  vkGetDeviceBufferMemoryRequirements(dev.get(), &dbr, &r3);
  EXPECT_EQ(r3.memoryRequirements.alignment, kBlock);
  EXPECT_EQ(r3.memoryRequirements.size, 4 * kBlock);

  // Residency without binding; bound with vkBindBufferMemory.
  VkBuffer bad = VK_NULL_HANDLE;
  bci.flags = VK_BUFFER_CREATE_SPARSE_RESIDENCY_BIT;
  EXPECT_NE(vkCreateBuffer(dev.get(), &bci, nullptr, &bad), VK_SUCCESS);
  VkDeviceMemory m = memory(2 * kBlock, 1);
  EXPECT_EQ(vkBindBufferMemory(dev.get(), b, m, 0), VK_ERROR_VALIDATION_FAILED_EXT);

  // Ordinary buffers are lavapipe's as before.
  Buffer* plain = host_buffer(4096);
  vkGetBufferMemoryRequirements(dev.get(), plain->buffer, &req);
  EXPECT_LT(req.alignment, kBlock);

  // Residency on a device with binding only is refused.
  SparseDevice only_binding;
  VK_OK(only_binding.init(inst, sparse_features(false, false)));
  bci.flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT | VK_BUFFER_CREATE_SPARSE_RESIDENCY_BIT;
  EXPECT_EQ(vkCreateBuffer(only_binding.get(), &bci, nullptr, &bad), VK_ERROR_FEATURE_NOT_PRESENT);
  bci.flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT;
  VkBuffer ok = VK_NULL_HANDLE;
  VK_OK(vkCreateBuffer(only_binding.get(), &bci, nullptr, &ok));
  vkDestroyBuffer(only_binding.get(), ok, nullptr);
}

TEST_F(Sparse, TransfersAndComputeThroughBoundMemory) {
  const VkDeviceSize size = 4 * kBlock;
  VkBuffer sb = sparse_buffer(size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
  uint32_t* a = nullptr;
  VkDeviceMemory ma = memory(size, 0xa, &a);
  const uint64_t binds0 = dev.stats().vm_bind_calls;
  VK_OK(bind_now(sb, {range(0, size, ma)}));
  EXPECT_GT(dev.stats().vm_bind_calls, binds0) << "the bind was a VM_BIND";

  // lavapipe reads the bound memory through the sparse buffer...
  auto v = read(sb, 0, size);
  EXPECT_TRUE(is_tagged(v, 0, size / 4, 0xa, 0));
  // ... and writes land in it.
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, sb, kBlock, kBlock, 0x5a5a5a5a); }));
  EXPECT_TRUE(all_are(a + kBlock / 4, kBlock / 4, 0x5a5a5a5a));
  EXPECT_EQ(a[0], tagged(0xa, 0));
  EXPECT_EQ(a[2 * kBlock / 4], tagged(0xa, 2 * kBlock));
  Buffer* src = host_buffer(kBlock);
  for (VkDeviceSize i = 0; i < kBlock / 4; i++) static_cast<uint32_t*>(src->map)[i] = 7000 + i;
  VkBufferCopy c{0, 3 * kBlock, kBlock};
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdCopyBuffer(cb, src->buffer, sb, 1, &c); }));
  for (VkDeviceSize i = 0; i < kBlock / 4; i++) ASSERT_EQ(a[3 * kBlock / 4 + i], 7000 + i) << i;

  // A compute shader: input and output are sparse buffers.
  const uint32_t n = 50000;
  VkBuffer in = sparse_buffer(n * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
  VkBuffer out = sparse_buffer(n * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
  const VkDeviceSize io = 4 * kBlock;  // 200000 bytes rounded up
  uint32_t* ia = nullptr;
  uint32_t* oa = nullptr;
  VkDeviceMemory mi = memory(io, 1, &ia);
  VkDeviceMemory mo = memory(io, 2, &oa);
  for (uint32_t i = 0; i < n; i++) ia[i] = i ^ 0x9e3779b9u;
  VK_OK(bind_now(in, {range(0, n * 4, mi)}));  // reaching the buffer's end
  VK_OK(bind_now(out, {range(0, n * 4, mo)}));

  ScaleAdd shader;
  VK_OK(shader.init(dev.get(), kScaleAddSpv, sizeof kScaleAddSpv));
  shader.set_buffers(in, out);
  VK_OK(dev.run([&](VkCommandBuffer cb) { shader.record(cb, 3, 11, n); }));
  for (uint32_t i = 0; i < n; i++) ASSERT_EQ(oa[i], ia[i] * 3 + 11 + i) << i;
  EXPECT_EQ(oa[n], tagged(2, n * 4)) << "nothing past the end";
}

TEST_F(Sparse, RebindAndUnbindPages) {
  const VkDeviceSize size = 4 * kBlock;
  VkBuffer sb = sparse_buffer(size);
  uint32_t* a = nullptr;
  uint32_t* b = nullptr;
  VkDeviceMemory ma = memory(size, 0xa, &a);
  VkDeviceMemory mb = memory(4 * kBlock, 0xb, &b);
  VK_OK(bind_now(sb, {range(0, size, ma)}));

  // Pages 1 and 2 <- B from its page 2.
  VK_OK(bind_now(sb, {range(kBlock, 2 * kBlock, mb, 2 * kBlock)}));
  auto v = read(sb, 0, size);
  EXPECT_TRUE(is_tagged(v, 0, kBlock / 4, 0xa, 0));
  EXPECT_TRUE(is_tagged(v, kBlock / 4, 2 * kBlock / 4, 0xb, 2 * kBlock));
  EXPECT_TRUE(is_tagged(v, 3 * kBlock / 4, kBlock / 4, 0xa, 3 * kBlock));

  // Unbind page 3: a fill over the whole buffer writes pages 0-2 and is
  // discarded at page 3, which no longer is A's.
  VK_OK(bind_now(sb, {range(3 * kBlock, kBlock, VK_NULL_HANDLE)}));
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, sb, 0, size, 0x11111111); }));
  EXPECT_TRUE(all_are(a, kBlock / 4, 0x11111111));
  EXPECT_TRUE(all_are(b + 2 * kBlock / 4, 2 * kBlock / 4, 0x11111111));
  for (VkDeviceSize i = 0; i < kBlock / 4; i++)
    ASSERT_EQ(a[kBlock / 4 + i], tagged(0xa, kBlock + i * 4)) << "A's page 1 is not bound";
  for (VkDeviceSize i = 0; i < kBlock / 4; i++)
    ASSERT_EQ(a[3 * kBlock / 4 + i], tagged(0xa, 3 * kBlock + i * 4)) << "page 3 is unbound";
  EXPECT_TRUE(is_tagged(std::vector<uint32_t>(b, b + kBlock / 2), 0, kBlock / 2, 0xb, 0));

  // Unbinding everything keeps lavapipe going; a rebind brings A back.
  VK_OK(bind_now(sb, {range(0, size, VK_NULL_HANDLE)}));
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, sb, 0, size, 0x22222222); }));
  EXPECT_EQ(a[0], 0x11111111u);
  VK_OK(bind_now(sb, {range(2 * kBlock, kBlock, ma, 0)}));
  v = read(sb, 2 * kBlock, kBlock);
  EXPECT_TRUE(all_are(v.data(), kBlock / 4, 0x11111111));
}

TEST_F(Sparse, AliasedRangesSeeTheSameMemory) {
  VkBuffer s1 = sparse_buffer(4 * kBlock);
  VkBuffer s2 = sparse_buffer(2 * kBlock);
  uint32_t* m = nullptr;
  VkDeviceMemory mm = memory(2 * kBlock, 0xc, &m);
  // Pages 0 and 2 of s1 and page 1 of s2 all map M's page 1.
  VK_OK(bind_now(s1, {range(0, kBlock, mm, kBlock), range(2 * kBlock, kBlock, mm, kBlock)}));
  VK_OK(bind_now(s2, {range(kBlock, kBlock, mm, kBlock)}));
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, s1, 64, 256, 0xabcdef01); }));
  auto v = read(s1, 2 * kBlock, kBlock);
  EXPECT_EQ(v[16], 0xabcdef01u);
  EXPECT_EQ(v[16 + 63], 0xabcdef01u);
  EXPECT_EQ(v[16 + 64], tagged(0xc, kBlock + 16 * 4 + 256));
  auto v2 = read(s2, kBlock, kBlock);
  EXPECT_EQ(v2, v);
  EXPECT_EQ(m[kBlock / 4 + 16], 0xabcdef01u);
  // A write through s2 shows in s1.
  VK_OK(dev.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, s2, kBlock, 4, 0x77777777); }));
  EXPECT_EQ(read(s1, 0, 4)[0], 0x77777777u);
}

TEST_F(Sparse, BinarySemaphoresOrderSubmitBindSubmit) {
  const VkDeviceSize size = kBlock;
  VkBuffer sb = sparse_buffer(size);
  uint32_t* a = nullptr;
  uint32_t* b = nullptr;
  VkDeviceMemory ma = memory(size, 0xa, &a);
  VkDeviceMemory mb = memory(size, 0xb, &b);
  VK_OK(bind_now(sb, {range(0, size, ma)}));
  Buffer* dst = host_buffer(size);
  VkSemaphore s1 = semaphore(), s2 = semaphore();
  VkFence done = fence();
  // fill (A) -> s1 -> rebind to B -> s2 -> copy out (B).
  VkCommandBuffer fill =
      dev.record([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, sb, 0, size, 0x0f0f0f0f); });
  VkBufferCopy c{0, 0, size};
  VkCommandBuffer copy =
      dev.record([&](VkCommandBuffer cb) { vkCmdCopyBuffer(cb, sb, dst->buffer, 1, &c); });
  VK_OK(dev.submit(fill, {}, {s1}));
  VK_OK(bind(sb, {range(0, size, mb)}, VK_NULL_HANDLE, {s1}, {s2}));
  VK_OK(dev.submit(copy, {s2}, {}, done));
  VK_OK(vkWaitForFences(dev.get(), 1, &done, VK_TRUE, 10 * kSecond));
  EXPECT_TRUE(all_are(a, size / 4, 0x0f0f0f0f)) << "the fill ran before the rebind";
  std::vector<uint32_t> out(static_cast<uint32_t*>(dst->map),
                            static_cast<uint32_t*>(dst->map) + size / 4);
  EXPECT_TRUE(is_tagged(out, 0, size / 4, 0xb, 0)) << "the copy ran after the rebind";
}

TEST_F(Sparse, TimelineWaitBeforeSignalCompletesAfterTheHostSignals) {
  VkBuffer sb = sparse_buffer(kBlock);
  VkDeviceMemory ma = memory(kBlock, 0xa);
  VkSemaphore tl = semaphore(true);
  VkSemaphore out_tl = semaphore(true);
  VkFence bound = fence();
  const uint64_t wait_value = 1, signal_value = 5;
  VkTimelineSemaphoreSubmitInfo tsi{};
  tsi.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO;
  tsi.waitSemaphoreValueCount = 1;
  tsi.pWaitSemaphoreValues = &wait_value;
  tsi.signalSemaphoreValueCount = 1;
  tsi.pSignalSemaphoreValues = &signal_value;
  Buffer* dst = host_buffer(kBlock);  // (its allocation is a VM bind too)
  const uint64_t binds0 = dev.stats().vm_bind_calls;
  // Returns at once though nothing has signalled tl yet.
  VK_OK(bind(sb, {range(0, kBlock, ma)}, bound, {tl}, {out_tl}, &tsi));
  // A copy submitted behind it waits too.
  VkBufferCopy c{0, 0, kBlock};
  VkCommandBuffer copy =
      dev.record([&](VkCommandBuffer cb) { vkCmdCopyBuffer(cb, sb, dst->buffer, 1, &c); });
  VkFence copied = fence();
  VK_OK(dev.submit(copy, {}, {}, copied));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(vkGetFenceStatus(dev.get(), bound), VK_NOT_READY);
  EXPECT_EQ(vkGetFenceStatus(dev.get(), copied), VK_NOT_READY);
  EXPECT_EQ(dev.stats().vm_bind_calls, binds0) << "bound before its wait";
  EXPECT_EQ(static_cast<uint32_t*>(dst->map)[0], 0xeeeeeeeeu);

  VkSemaphoreSignalInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO;
  si.semaphore = tl;
  si.value = wait_value;
  VK_OK(vkSignalSemaphore(dev.get(), &si));
  VK_OK(vkWaitForFences(dev.get(), 1, &bound, VK_TRUE, 10 * kSecond));
  VK_OK(vkWaitForFences(dev.get(), 1, &copied, VK_TRUE, 10 * kSecond));
  EXPECT_GT(dev.stats().vm_bind_calls, binds0);
  uint64_t v = 0;
  VK_OK(vkGetSemaphoreCounterValue(dev.get(), out_tl, &v));
  EXPECT_EQ(v, signal_value) << "the info's timeline signal";
  std::vector<uint32_t> out(static_cast<uint32_t*>(dst->map),
                            static_cast<uint32_t*>(dst->map) + kBlock / 4);
  EXPECT_TRUE(is_tagged(out, 0, kBlock / 4, 0xa, 0));
}

TEST_F(Sparse, AFenceAloneAndEmptyInfos) {
  VkFence f = fence();
  VK_OK(vkQueueBindSparse(dev.queue(), 0, nullptr, f));
  VK_OK(vkWaitForFences(dev.get(), 1, &f, VK_TRUE, 10 * kSecond));
  // An info with no binds still passes its semaphores on.
  VkSemaphore s = semaphore();
  VkBindSparseInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
  info.signalSemaphoreCount = 1;
  info.pSignalSemaphores = &s;
  VK_OK(vkQueueBindSparse(dev.queue(), 1, &info, VK_NULL_HANDLE));
  VkFence g = fence();
  VkCommandBuffer nop = dev.record([](VkCommandBuffer) {});
  VK_OK(dev.submit(nop, {s}, {}, g));
  VK_OK(vkWaitForFences(dev.get(), 1, &g, VK_TRUE, 10 * kSecond));
  // Without a fence or infos: nothing to do.
  VK_OK(vkQueueBindSparse(dev.queue(), 0, nullptr, VK_NULL_HANDLE));
}

TEST_F(Sparse, InvalidBindsAreRefusedAndChangeNothing) {
  VkBuffer sb = sparse_buffer(2 * kBlock);
  VkDeviceMemory ma = memory(2 * kBlock, 0xa);
  VkDeviceMemory mb = memory(2 * kBlock, 0xb);
  VK_OK(bind_now(sb, {range(0, 2 * kBlock, ma)}));
  Buffer* plain = host_buffer(kBlock);
  const uint64_t binds0 = dev.stats().vm_bind_calls;
  VkFence f = fence();
  const VkSparseMemoryBind good = range(0, kBlock, mb);
  const std::vector<std::vector<VkSparseMemoryBind>> bad = {
      {good, range(4096, kBlock, mb)},           // resourceOffset not a block
      {good, range(kBlock, 2 * kBlock, mb)},     // beyond the buffer
      {good, range(0, kBlock, mb, 4096)},        // memoryOffset not a block
      {good, range(0, 2 * kBlock, mb, kBlock)},  // beyond the memory
      {good, range(0, 1000, mb)},                // a part block not at the end
      {good, range(0, 0, mb)},                   // size 0
      {good, range(0, kBlock, reinterpret_cast<VkDeviceMemory>(uintptr_t{0x1234}))},
  };
  for (size_t i = 0; i < bad.size(); i++)
    EXPECT_EQ(bind(sb, bad[i], f), VK_ERROR_VALIDATION_FAILED_EXT) << i;
  EXPECT_EQ(bind(plain->buffer, {good}, f), VK_ERROR_VALIDATION_FAILED_EXT) << "not sparse";
  VkSparseMemoryBind meta = good;
  meta.flags = VK_SPARSE_MEMORY_BIND_METADATA_BIT;
  EXPECT_EQ(bind(sb, {meta}, f), VK_ERROR_VALIDATION_FAILED_EXT);
  // Two infos, the second bad: the first is not done either.
  VkSparseMemoryBind b1 = good, b2 = range(kBlock / 2, kBlock, mb);
  VkSparseBufferMemoryBindInfo bb[2] = {{sb, 1, &b1}, {sb, 1, &b2}};
  VkBindSparseInfo infos[2] = {};
  for (int i = 0; i < 2; i++) {
    infos[i].sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
    infos[i].bufferBindCount = 1;
    infos[i].pBufferBinds = &bb[i];
  }
  EXPECT_EQ(vkQueueBindSparse(dev.queue(), 2, infos, f), VK_ERROR_VALIDATION_FAILED_EXT);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(vkGetFenceStatus(dev.get(), f), VK_NOT_READY) << "nothing was submitted";
  EXPECT_EQ(dev.stats().vm_bind_calls, binds0);
  auto v = read(sb, 0, 2 * kBlock);
  EXPECT_TRUE(is_tagged(v, 0, 2 * kBlock / 4, 0xa, 0));
}

TEST_F(Sparse, FreedMemoryStaysBoundUntilUnbound) {
  VkBuffer sb = sparse_buffer(kBlock);
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(dev.get(), sb, &req);
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = kBlock;
  ai.memoryTypeIndex = inst.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  VkDeviceMemory m = VK_NULL_HANDLE;
  VK_OK(vkAllocateMemory(dev.get(), &ai, nullptr, &m));
  void* p = nullptr;
  VK_OK(vkMapMemory(dev.get(), m, 0, VK_WHOLE_SIZE, 0, &p));
  for (VkDeviceSize i = 0; i < kBlock / 4; i++) static_cast<uint32_t*>(p)[i] = tagged(0xd, i * 4);
  VK_OK(bind_now(sb, {range(0, kBlock, m)}));
  const uint64_t live = dev.stats().bos_live;
  vkFreeMemory(dev.get(), m, nullptr);
  EXPECT_EQ(dev.stats().bos_live, live) << "the bound BO is still held";
  auto v = read(sb, 0, kBlock);
  EXPECT_TRUE(is_tagged(v, 0, kBlock / 4, 0xd, 0));
  const uint64_t live2 = dev.stats().bos_live;  // with read()'s buffer
  VK_OK(bind_now(sb, {range(0, kBlock, VK_NULL_HANDLE)}));
  EXPECT_EQ(dev.stats().bos_live, live2 - 1) << "released by the unbind";
}

TEST_F(Sparse, DestroyingABufferWithBoundPagesReleasesThem) {
  VkBuffer sb = sparse_buffer(2 * kBlock);
  VkDeviceMemory m = memory(2 * kBlock, 0xe);
  VK_OK(bind_now(sb, {range(0, 2 * kBlock, m)}));
  const WsysVkMemoryStats s0 = dev.stats();
  vkDestroyBuffer(dev.get(), sb, nullptr);
  buffers.erase(std::find(buffers.begin(), buffers.end(), sb));
  EXPECT_GT(dev.stats().vm_bind_calls, s0.vm_bind_calls) << "the range was unmapped";
  // The memory is the application's and still works.
  VkBuffer again = sparse_buffer(2 * kBlock);
  VK_OK(bind_now(again, {range(0, 2 * kBlock, m)}));
  EXPECT_TRUE(is_tagged(read(again, 0, 2 * kBlock), 0, 2 * kBlock / 4, 0xe, 0));
}

// --- Sparse images: SPARSE_BINDING, bound opaquely -------------------------------

// Texel i of the upload pattern: never zero, never a tag.
uint32_t texel(size_t i) {
  return 0x80000000u | static_cast<uint32_t>(i * 2654435761u >> 1) | 1u;
}

TEST_F(Sparse, ImageRequirementsAreWholeBlocksAndNoResidency) {
  // Opaque binding only: no residency feature, no sparse image format.
  Offer o = offer_of(inst.physical());
  EXPECT_FALSE(o.features.sparseResidencyImage2D);
  uint32_t n = 99;
  vkGetPhysicalDeviceSparseImageFormatProperties(
      inst.physical(), VK_FORMAT_R8G8B8A8_UINT, VK_IMAGE_TYPE_2D, VK_SAMPLE_COUNT_1_BIT,
      VK_IMAGE_USAGE_TRANSFER_DST_BIT, VK_IMAGE_TILING_OPTIMAL, &n, nullptr);
  EXPECT_EQ(n, 0u);
  VkPhysicalDeviceSparseImageFormatInfo2 sfi{};
  sfi.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SPARSE_IMAGE_FORMAT_INFO_2;
  sfi.format = VK_FORMAT_R8G8B8A8_UINT;
  sfi.type = VK_IMAGE_TYPE_2D;
  sfi.samples = VK_SAMPLE_COUNT_1_BIT;
  sfi.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  sfi.tiling = VK_IMAGE_TILING_OPTIMAL;
  n = 99;
  vkGetPhysicalDeviceSparseImageFormatProperties2(inst.physical(), &sfi, &n, nullptr);
  EXPECT_EQ(n, 0u);
  // The format queries accept SPARSE_BINDING (the image can be made), not
  // SPARSE_RESIDENCY (it cannot).
  VkImageFormatProperties ifp{};
  VK_OK(vkGetPhysicalDeviceImageFormatProperties(
      inst.physical(), VK_FORMAT_R8G8B8A8_UINT, VK_IMAGE_TYPE_2D, VK_IMAGE_TILING_OPTIMAL,
      VK_IMAGE_USAGE_TRANSFER_DST_BIT, VK_IMAGE_CREATE_SPARSE_BINDING_BIT, &ifp));
  EXPECT_GT(ifp.maxExtent.width, 0u);
  EXPECT_EQ(vkGetPhysicalDeviceImageFormatProperties(
                inst.physical(), VK_FORMAT_R8G8B8A8_UINT, VK_IMAGE_TYPE_2D,
                VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                VK_IMAGE_CREATE_SPARSE_BINDING_BIT | VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT, &ifp),
            VK_ERROR_FORMAT_NOT_SUPPORTED);
  EXPECT_EQ(ifp.maxExtent.width, 0u);
  VkPhysicalDeviceImageFormatInfo2 fi2{};
  fi2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2;
  fi2.format = VK_FORMAT_R8G8B8A8_UINT;
  fi2.type = VK_IMAGE_TYPE_2D;
  fi2.tiling = VK_IMAGE_TILING_OPTIMAL;
  fi2.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  fi2.flags = VK_IMAGE_CREATE_SPARSE_BINDING_BIT | VK_IMAGE_CREATE_SPARSE_ALIASED_BIT;
  VkImageFormatProperties2 ifp2{};
  ifp2.sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2;
  VK_OK(vkGetPhysicalDeviceImageFormatProperties2(inst.physical(), &fi2, &ifp2));
  fi2.flags |= VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT;
  EXPECT_EQ(vkGetPhysicalDeviceImageFormatProperties2(inst.physical(), &fi2, &ifp2),
            VK_ERROR_FORMAT_NOT_SUPPORTED);

  const VkImageCreateInfo ci = image_info(200, 100, 3);
  VkImage img = sparse_image(ci);
  ASSERT_NE(img, VK_NULL_HANDLE);
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  EXPECT_EQ(req.alignment, kBlock);
  EXPECT_EQ(req.size % kBlock, 0u);
  EXPECT_GE(req.size, VkDeviceSize{200 * 100 * 3 * 4});
  EXPECT_NE(req.memoryTypeBits, 0u);

  VkMemoryDedicatedRequirements ded{};
  ded.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS;
  VkMemoryRequirements2 r2{};
  r2.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  r2.pNext = &ded;
  VkImageMemoryRequirementsInfo2 ri{};
  ri.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
  ri.image = img;
  vkGetImageMemoryRequirements2(dev.get(), &ri, &r2);
  EXPECT_EQ(r2.memoryRequirements.size, req.size);
  EXPECT_EQ(r2.memoryRequirements.alignment, kBlock);
  EXPECT_EQ(r2.memoryRequirements.memoryTypeBits, req.memoryTypeBits);
  EXPECT_FALSE(ded.requiresDedicatedAllocation);
  EXPECT_FALSE(ded.prefersDedicatedAllocation);

  // Without an image: the same answer.
  VkDeviceImageMemoryRequirements dir{};
  dir.sType = VK_STRUCTURE_TYPE_DEVICE_IMAGE_MEMORY_REQUIREMENTS;
  dir.pCreateInfo = &ci;
  VkMemoryRequirements2 r3{};
  r3.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  vkGetDeviceImageMemoryRequirements(dev.get(), &dir, &r3);
  EXPECT_EQ(r3.memoryRequirements.size, req.size);
  EXPECT_EQ(r3.memoryRequirements.alignment, kBlock);
  EXPECT_EQ(r3.memoryRequirements.memoryTypeBits, req.memoryTypeBits);

  // Not partially resident: no sparse requirements at all.
  uint32_t count = 99;
  vkGetImageSparseMemoryRequirements(dev.get(), img, &count, nullptr);
  EXPECT_EQ(count, 0u);
  VkImageSparseMemoryRequirementsInfo2 si{};
  si.sType = VK_STRUCTURE_TYPE_IMAGE_SPARSE_MEMORY_REQUIREMENTS_INFO_2;
  si.image = img;
  count = 99;
  vkGetImageSparseMemoryRequirements2(dev.get(), &si, &count, nullptr);
  EXPECT_EQ(count, 0u);
  count = 99;
  vkGetDeviceImageSparseMemoryRequirements(dev.get(), &dir, &count, nullptr);
  EXPECT_EQ(count, 0u);

  // Ordinary images are lavapipe's as before.
  VkImage plain = sparse_image(image_info(200, 100, 3, 0));
  VkMemoryRequirements preq{};
  vkGetImageMemoryRequirements(dev.get(), plain, &preq);
  EXPECT_LT(preq.alignment, kBlock);
  EXPECT_LE(preq.size, req.size);
  EXPECT_GT(preq.size, req.size - kBlock) << "the sparse size is lavapipe's rounded up";
}

TEST_F(Sparse, ImageBoundInPiecesUploadsReadsBackRebindsAndUnbinds) {
  const VkImageCreateInfo ci = image_info(256, 256, 2);
  VkImage img = sparse_image(ci);
  ASSERT_NE(img, VK_NULL_HANDLE);
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  const VkDeviceSize blocks = req.size / kBlock;
  ASSERT_GE(blocks, 8u);
  uint32_t* a = nullptr;
  uint32_t* b = nullptr;
  VkDeviceMemory ma = memory(req.size, 0xa, &a, req.memoryTypeBits);
  VkDeviceMemory mb = memory(req.size, 0xb, &b, req.memoryTypeBits);

  // Bound one block at a time, like the CTS: the pieces in reverse order
  // in one info, each its own VM_BIND op.
  std::vector<VkSparseMemoryBind> pieces;
  for (VkDeviceSize k = blocks; k-- > 0;)
    pieces.push_back(range(k * kBlock, kBlock, ma, k * kBlock));
  const uint64_t binds0 = dev.stats().vm_bind_calls;
  VK_OK(bind_image_now(img, pieces));
  EXPECT_GT(dev.stats().vm_bind_calls, binds0) << "the bind was a VM_BIND";

  // Upload through a buffer copy, read back through another.
  const size_t texels = size_t{256} * 256 * 2;
  Buffer* src = host_buffer(texels * 4);
  auto* p = static_cast<uint32_t*>(src->map);
  for (size_t i = 0; i < texels; i++) p[i] = texel(i);
  VK_OK(upload(img, ci, src, VK_IMAGE_LAYOUT_UNDEFINED));
  std::vector<uint32_t> want(p, p + texels);
  EXPECT_EQ(download(img, ci), want);
  // The texels are in A: its tag is gone where the image lives.
  size_t untouched = 0;
  for (size_t w = 0; w < texels; w++) untouched += a[w] == tagged(0xa, w * 4);
  EXPECT_LT(untouched, texels / 100) << "the upload did not land in the bound memory";

  // Rebind blocks [1, blocks) to B holding the same bytes: still the
  // image; then A's blocks there are not the image any more.
  std::memcpy(b, a, req.size);
  VK_OK(bind_image_now(img, {range(kBlock, req.size - kBlock, mb, kBlock)}));
  std::memset(reinterpret_cast<char*>(a) + kBlock, 0, req.size - kBlock);
  EXPECT_EQ(download(img, ci), want);
  // ...and B's are: zeroing B's block 1 zeroes texels (at most a block's).
  std::memset(reinterpret_cast<char*>(b) + kBlock, 0, kBlock);
  std::vector<uint32_t> got = download(img, ci);
  const size_t zero = static_cast<size_t>(std::count(got.begin(), got.end(), 0u));
  EXPECT_GT(zero, 0u);
  EXPECT_LE(zero, kBlock / 4);
  for (size_t i = 0; i < texels; i++) ASSERT_TRUE(got[i] == 0 || got[i] == want[i]) << i;

  // A second upload writes B (blocks >= 1) and A (block 0).
  for (size_t i = 0; i < texels; i++) p[i] = texel(i + 7);
  VK_OK(upload(img, ci, src, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL));
  want.assign(p, p + texels);
  EXPECT_EQ(download(img, ci), want);
  EXPECT_TRUE(all_are(a + kBlock / 4, (req.size - kBlock) / 4, 0)) << "A is unbound there";

  // Unbind everything but block 0, then rebind the rest to B where it was:
  // the image comes back as B holds it.
  const uint64_t binds1 = dev.stats().vm_bind_calls;
  VK_OK(bind_image_now(img, {range(kBlock, req.size - kBlock, VK_NULL_HANDLE)}));
  EXPECT_GT(dev.stats().vm_bind_calls, binds1);
  VK_OK(bind_image_now(img, {range(kBlock, req.size - kBlock, mb, kBlock)}));
  EXPECT_EQ(download(img, ci), want);
}

// Writes to an unbound range of a non-resident image are invalid usage
// (SPARSE_BINDING images must be fully bound when used); the ICD's sink
// takes them, so they reach no memory. Not under the validation layer.
TEST_F(Sparse, ImageUnboundBlocksTakeNoWrites) {
  const VkImageCreateInfo ci = image_info(256, 256);
  VkImage img = sparse_image(ci);
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  uint32_t* a = nullptr;
  VkDeviceMemory ma = memory(req.size, 0xa, &a, req.memoryTypeBits);
  VK_OK(bind_image_now(img, {range(0, req.size, ma)}));
  VK_OK(bind_image_now(img, {range(kBlock, kBlock, VK_NULL_HANDLE)}));
  const size_t texels = size_t{256} * 256;
  Buffer* src = host_buffer(texels * 4);
  for (size_t i = 0; i < texels; i++) static_cast<uint32_t*>(src->map)[i] = texel(i);
  VK_OK(upload(img, ci, src, VK_IMAGE_LAYOUT_UNDEFINED));
  for (VkDeviceSize w = 0; w < kBlock / 4; w++)
    ASSERT_EQ(a[kBlock / 4 + w], tagged(0xa, kBlock + w * 4)) << "block 1 is unbound";
  EXPECT_NE(a[0], tagged(0xa, 0)) << "block 0 is bound";
}

TEST_F(Sparse, InvalidImageCreatesAndBindsAreRefused) {
  const VkImageCreateInfo ci = image_info(256, 256);
  VkImage img = sparse_image(ci);
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  VkDeviceMemory m = memory(req.size, 0xa, nullptr, req.memoryTypeBits);
  const uint64_t binds0 = dev.stats().vm_bind_calls;
  VkFence f = fence();
  const VkSparseMemoryBind good = range(0, kBlock, m);
  const std::vector<std::vector<VkSparseMemoryBind>> bad = {
      {good, range(4096, kBlock, m)},                      // resourceOffset not a block
      {good, range(req.size, kBlock, m)},                  // past the image's range
      {good, range(req.size - kBlock, 2 * kBlock, m)},     // reaching past it
      {good, range(0, kBlock, m, 4096)},                   // memoryOffset not a block
      {good, range(0, 2 * kBlock, m, req.size - kBlock)},  // beyond the memory
      {good, range(0, 1000, m)},  // a part block (the image's end is whole)
      {good, range(0, 0, m)},     // size 0
  };
  for (size_t i = 0; i < bad.size(); i++)
    EXPECT_EQ(bind_image(img, bad[i], f), VK_ERROR_VALIDATION_FAILED_EXT) << i;
  VkSparseMemoryBind meta = good;
  meta.flags = VK_SPARSE_MEMORY_BIND_METADATA_BIT;
  EXPECT_EQ(bind_image(img, {meta}, f), VK_ERROR_VALIDATION_FAILED_EXT) << "no metadata aspect";
  VkImage plain = sparse_image(image_info(64, 64, 1, 0));
  EXPECT_EQ(bind_image(plain, {good}, f), VK_ERROR_VALIDATION_FAILED_EXT) << "not sparse";
  // Non-opaque (residency) binds.
  VkSparseImageMemoryBind texels{};
  texels.subresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0};
  texels.extent = {64, 64, 1};
  texels.memory = m;
  VkSparseImageMemoryBindInfo tb{img, 1, &texels};
  VkBindSparseInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
  info.imageBindCount = 1;
  info.pImageBinds = &tb;
  EXPECT_EQ(vkQueueBindSparse(dev.queue(), 1, &info, f), VK_ERROR_VALIDATION_FAILED_EXT);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(vkGetFenceStatus(dev.get(), f), VK_NOT_READY) << "nothing was submitted";
  EXPECT_EQ(dev.stats().vm_bind_calls, binds0);

  // Bound by vkBindImageMemory(2): refused.
  EXPECT_EQ(vkBindImageMemory(dev.get(), img, m, 0), VK_ERROR_VALIDATION_FAILED_EXT);
  VkBindImageMemoryInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO;
  bi.image = img;
  bi.memory = m;
  EXPECT_EQ(vkBindImageMemory2(dev.get(), 1, &bi), VK_ERROR_VALIDATION_FAILED_EXT);

  // What is not offered: residency, and residency or aliasing without binding.
  VkImage no = VK_NULL_HANDLE;
  VkImageCreateInfo res = image_info(
      64, 64, 1, VK_IMAGE_CREATE_SPARSE_BINDING_BIT | VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT);
  EXPECT_EQ(vkCreateImage(dev.get(), &res, nullptr, &no), VK_ERROR_FEATURE_NOT_PRESENT);
  res.flags = VK_IMAGE_CREATE_SPARSE_ALIASED_BIT;
  EXPECT_EQ(vkCreateImage(dev.get(), &res, nullptr, &no), VK_ERROR_FEATURE_NOT_PRESENT);
  // Aliasing with binding is (sparseResidencyAliased is enabled here).
  res.flags = VK_IMAGE_CREATE_SPARSE_BINDING_BIT | VK_IMAGE_CREATE_SPARSE_ALIASED_BIT;
  VK_OK(vkCreateImage(dev.get(), &res, nullptr, &no));
  vkDestroyImage(dev.get(), no, nullptr);
}

TEST_F(Sparse, DestroyingAnImageWithBoundBlocksReleasesThem) {
  const VkImageCreateInfo ci = image_info(128, 128);
  VkImage img = sparse_image(ci);
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  VkDeviceMemory m = memory(req.size, 0xe, nullptr, req.memoryTypeBits);
  VK_OK(bind_image_now(img, {range(0, req.size, m)}));
  Buffer* src = host_buffer(128 * 128 * 4);
  for (size_t i = 0; i < 128 * 128; i++) static_cast<uint32_t*>(src->map)[i] = texel(i);
  VK_OK(upload(img, ci, src, VK_IMAGE_LAYOUT_UNDEFINED));
  const WsysVkMemoryStats s0 = dev.stats();
  vkDestroyImage(dev.get(), img, nullptr);
  images.erase(std::find(images.begin(), images.end(), img));
  EXPECT_GT(dev.stats().vm_bind_calls, s0.vm_bind_calls) << "the range was unmapped";
  // The memory is the application's and still works: bound to a new image.
  VkImage again = sparse_image(ci);
  VK_OK(bind_image_now(again, {range(0, req.size, m)}));
  for (size_t i = 0; i < 128 * 128; i++) static_cast<uint32_t*>(src->map)[i] = texel(i + 3);
  VK_OK(upload(again, ci, src, VK_IMAGE_LAYOUT_UNDEFINED));
  auto* p = static_cast<uint32_t*>(src->map);
  EXPECT_EQ(download(again, ci), std::vector<uint32_t>(p, p + 128 * 128));
}

// --- Device loss -----------------------------------------------------------
// A VM_BIND the kernel refuses inside vkQueueBindSparse loses that VkDevice:
// every later queue and wait command of it says VK_ERROR_DEVICE_LOST, and
// another VkDevice keeps working. The refusal is the model's fault injection
// (WSYS_SIM_FAULTS=ioctl:VM_BIND:nth=N), which is process-wide and read
// once, so the case runs in a child process; N is one more than the VM_BINDs
// the same set-up issued in the parent (the devices' vm_bind_calls).

bool in_loss_child() { return std::getenv("WSYS_VK_LOSS_CHILD") != nullptr; }

// Runs this program's case `child` with `vars` added; its exit status, -1
// if it did not exit.
int run_loss_child(std::vector<std::string> vars, const char* child = "Sparse.LossChild") {
  vars.push_back("WSYS_VK_LOSS_CHILD=1");
  return wsys::test::run_self("vk_sparse_test", {std::string("--gtest_filter=") + child},
                              {vars, {}});
}


// What both processes set up besides this fixture's device A: a second
// sparse device B, and a sparse buffer and memory on A.
struct LossSetup {
  SparseDevice b;
  VkBuffer sb = VK_NULL_HANDLE;
  VkDeviceMemory ma = VK_NULL_HANDLE;
};

TEST_F(Sparse, AFailedBindLosesTheDeviceAndOnlyThatDevice) {
  if (in_loss_child()) GTEST_SKIP() << "the parent's case";
  LossSetup s;
  VK_OK(s.b.init(inst, sparse_features()));
  s.sb = sparse_buffer(kBlock);
  s.ma = memory(kBlock, 0xa);
  const uint64_t binds = dev.stats().vm_bind_calls + s.b.stats().vm_bind_calls;
  ASSERT_GT(binds, 0u);
  // Without the fault the same bind succeeds: the child's failure is the
  // injected one.
  VK_OK(bind_now(s.sb, {range(0, kBlock, s.ma)}));
  EXPECT_EQ(run_loss_child({"WSYS_SIM_FAULTS=ioctl:VM_BIND:nth=" + std::to_string(binds + 1)}),
            0);
}

TEST_F(Sparse, LossChild) {
  if (!in_loss_child()) GTEST_SKIP() << "run by AFailedBindLosesTheDeviceAndOnlyThatDevice";
  LossSetup s;
  VK_OK(s.b.init(inst, sparse_features()));
  s.sb = sparse_buffer(kBlock);
  s.ma = memory(kBlock, 0xa);
  // The bind is accepted (it runs on the queue's worker) and fails there.
  VkFence f = fence();
  ASSERT_EQ(bind(s.sb, {range(0, kBlock, s.ma)}, f), VK_SUCCESS);
  EXPECT_EQ(vkWaitForFences(dev.get(), 1, &f, VK_TRUE, 10 * kSecond), VK_ERROR_DEVICE_LOST);
  // Every later queue and wait command of device A says so...
  EXPECT_EQ(vkGetFenceStatus(dev.get(), f), VK_ERROR_DEVICE_LOST);
  EXPECT_EQ(vkQueueWaitIdle(dev.queue()), VK_ERROR_DEVICE_LOST);
  EXPECT_EQ(vkDeviceWaitIdle(dev.get()), VK_ERROR_DEVICE_LOST);
  EXPECT_EQ(vkQueueSubmit(dev.queue(), 0, nullptr, VK_NULL_HANDLE), VK_ERROR_DEVICE_LOST);
  EXPECT_EQ(bind(s.sb, {range(0, kBlock, s.ma)}), VK_ERROR_DEVICE_LOST);
  // ...and device B keeps working: a fenced submit and a bind of its own.
  VkFenceCreateInfo fci{};
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VkFence fb = VK_NULL_HANDLE;
  VK_OK(vkCreateFence(s.b.get(), &fci, nullptr, &fb));
  VK_OK(vkQueueSubmit(s.b.queue(), 0, nullptr, fb));
  VK_OK(vkWaitForFences(s.b.get(), 1, &fb, VK_TRUE, 10 * kSecond));
  VK_OK(vkQueueWaitIdle(s.b.queue()));
  vkDestroyFence(s.b.get(), fb, nullptr);
}

// The same for an opaque image bind: one VM_BIND path, one loss.
TEST_F(Sparse, AFailedImageBindLosesTheDevice) {
  if (in_loss_child()) GTEST_SKIP() << "the parent's case";
  VkImage img = sparse_image(image_info(128, 128));
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  VkDeviceMemory m = memory(req.size, 0xa, nullptr, req.memoryTypeBits);
  const uint64_t binds = dev.stats().vm_bind_calls;
  VK_OK(bind_image_now(img, {range(0, req.size, m)}));
  EXPECT_EQ(run_loss_child({"WSYS_SIM_FAULTS=ioctl:VM_BIND:nth=" + std::to_string(binds + 1)},
                           "Sparse.ImageLossChild"),
            0);
}

TEST_F(Sparse, ImageLossChild) {
  if (!in_loss_child()) GTEST_SKIP() << "run by AFailedImageBindLosesTheDevice";
  VkImage img = sparse_image(image_info(128, 128));
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev.get(), img, &req);
  VkDeviceMemory m = memory(req.size, 0xa, nullptr, req.memoryTypeBits);
  VkFence f = fence();
  ASSERT_EQ(bind_image(img, {range(0, req.size, m)}, f), VK_SUCCESS);
  EXPECT_EQ(vkWaitForFences(dev.get(), 1, &f, VK_TRUE, 10 * kSecond), VK_ERROR_DEVICE_LOST);
  EXPECT_EQ(vkQueueWaitIdle(dev.queue()), VK_ERROR_DEVICE_LOST);
  EXPECT_EQ(bind_image(img, {range(0, req.size, m)}), VK_ERROR_DEVICE_LOST);
}

}  // namespace
}  // namespace wsys::vktest


int main(int argc, char** argv) {
  return wsys::vktest::test_main(argc, argv);
}
