// Sparse binding in the ICD: what a VkDevice with a sparse feature enabled
// keeps (sparse buffers and images, per-queue bind workers) and the helpers
// the device, buffer, image and queue code share. lavapipe has no sparse
// support: a sparse VkBuffer (or VkImage) is an ordinary lavapipe buffer
// (image) bound to host memory that is the GPU view of a
// wsys::SparseBuffer's VA range, so what the VM maps there (bound memory,
// or the writable sink) is what lavapipe reads and writes.
// vkQueueBindSparse turns into VM_BIND on a worker thread, fenced into
// lavapipe's queue with two private timeline semaphores (see
// queue_sparse.cpp and README.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vulkan/objects.h"
#include "wsys/sparse.hpp"

namespace wsys::vk {

inline constexpr VkBufferCreateFlags kSparseBufferFlags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT |
                                                          VK_BUFFER_CREATE_SPARSE_RESIDENCY_BIT |
                                                          VK_BUFFER_CREATE_SPARSE_ALIASED_BIT;
// Images: binding (opaque binds only) and aliasing; residency is refused.
inline constexpr VkImageCreateFlags kSparseImageFlags = VK_IMAGE_CREATE_SPARSE_BINDING_BIT |
                                                        VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT |
                                                        VK_IMAGE_CREATE_SPARSE_ALIASED_BIT;
// The sparse features of VkPhysicalDeviceFeatures the ICD adds.
struct SparseFeatures {
  bool binding = false;
  bool residency_buffer = false;
  bool residency_aliased = false;
  bool any() const { return binding || residency_buffer || residency_aliased; }
};

// Puts the sparse features the physical device offers into `f` (and clears
// the image ones, which are never offered).
void put_sparse_features(const PhysicalDevice& pd, VkPhysicalDeviceFeatures* f);

// lavapipe's device commands the sparse paths call.
struct SparseFns {
  PFN_vkCreateBuffer CreateBuffer = nullptr;
  PFN_vkDestroyBuffer DestroyBuffer = nullptr;
  PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements = nullptr;
  PFN_vkGetBufferMemoryRequirements2 GetBufferMemoryRequirements2 = nullptr;
  PFN_vkGetDeviceBufferMemoryRequirements GetDeviceBufferMemoryRequirements = nullptr;
  PFN_vkBindBufferMemory BindBufferMemory = nullptr;
  PFN_vkBindBufferMemory2 BindBufferMemory2 = nullptr;
  PFN_vkCreateImage CreateImage = nullptr;
  PFN_vkDestroyImage DestroyImage = nullptr;
  PFN_vkGetImageMemoryRequirements GetImageMemoryRequirements = nullptr;
  PFN_vkGetImageMemoryRequirements2 GetImageMemoryRequirements2 = nullptr;
  PFN_vkGetDeviceImageMemoryRequirements GetDeviceImageMemoryRequirements = nullptr;
  PFN_vkBindImageMemory BindImageMemory = nullptr;
  PFN_vkBindImageMemory2 BindImageMemory2 = nullptr;
  PFN_vkGetDeviceQueue GetDeviceQueue = nullptr;
  PFN_vkGetDeviceQueue2 GetDeviceQueue2 = nullptr;
  PFN_vkQueueSubmit QueueSubmit = nullptr;
  PFN_vkCreateSemaphore CreateSemaphore = nullptr;
  PFN_vkDestroySemaphore DestroySemaphore = nullptr;
  PFN_vkWaitSemaphores WaitSemaphores = nullptr;
  PFN_vkSignalSemaphore SignalSemaphore = nullptr;
  // Wrapped so a lost device says so (device_lost.cpp); the optional ones
  // (QueueSubmit2, GetSemaphoreCounterValue) only when lavapipe has them.
  PFN_vkQueueSubmit2 QueueSubmit2 = nullptr;
  PFN_vkQueueWaitIdle QueueWaitIdle = nullptr;
  PFN_vkDeviceWaitIdle DeviceWaitIdle = nullptr;
  PFN_vkWaitForFences WaitForFences = nullptr;
  PFN_vkGetFenceStatus GetFenceStatus = nullptr;
  PFN_vkGetSemaphoreCounterValue GetSemaphoreCounterValue = nullptr;
};

// One sparse VkBuffer.
struct SparseBufferRecord {
  std::shared_ptr<wsys::SparseBuffer> sb;           // its VA range (WritableSink)
  VkDeviceMemory executor_memory = VK_NULL_HANDLE;  // lavapipe's import of the range's view
  VkDeviceSize size = 0;                            // VkBufferCreateInfo::size
  VkDeviceSize aligned_size = 0;                    // rounded up to the sparse block
  VkBufferCreateFlags flags = 0;
  uint32_t memory_type_bits = 0;  // the application's numbering (memory_types.h)
};

// One sparse VkImage (SPARSE_BINDING: opaque binds only). Its resource is
// the range [0, size): lavapipe's image lives at its start.
struct SparseImageRecord {
  std::shared_ptr<wsys::SparseBuffer> sb;           // its VA range (WritableSink)
  VkDeviceMemory executor_memory = VK_NULL_HANDLE;  // lavapipe's import of the range's view
  VkDeviceSize size = 0;  // the memory requirements' size: lavapipe's, rounded up to the block
  VkImageCreateFlags flags = 0;
  uint32_t memory_type_bits = 0;  // the application's numbering (memory_types.h)
};

// One block-range bind or unbind, checked and holding what it needs.
struct SparseBind {
  std::shared_ptr<wsys::SparseBuffer> buffer;  // the VA range of a sparse buffer or image
  uint64_t block_first = 0, block_count = 0;
  BoRef bo;  // null: unbind
  uint64_t bo_offset = 0;
};

class SparseQueue;
// Stops the queue's worker (joined) and destroys its semaphores
// (queue_sparse.cpp; out of line, so SparseQueue stays private there).
struct SparseQueueDeleter {
  void operator()(SparseQueue* q) const;
};
using SparseQueuePtr = std::unique_ptr<SparseQueue, SparseQueueDeleter>;

struct SparseDevice {
  SparseFeatures enabled;
  SparseFns fn;
  std::mutex lock;  // guards what follows
  std::unordered_map<VkBuffer, std::unique_ptr<SparseBufferRecord>> buffers;
  // buffers.size(), read without the lock: while no sparse buffer lives,
  // other buffers' commands skip the table (the device lookup is all).
  std::atomic<size_t> buffer_count{0};
  std::unordered_map<VkImage, std::unique_ptr<SparseImageRecord>> images;
  std::atomic<size_t> image_count{0};                  // images.size(), like buffer_count
  std::unordered_map<VkQueue, SparseQueuePtr> queues;  // created lazily
  std::vector<VkQueue> known_queues;                   // registered for find_queue_device
};

// Takes the record of `handle` out of a SparseDevice table (`buffers` with
// `buffer_count`, or `images` with `image_count`), or null when it has none;
// without the lock while the table is empty (the common case).
template <typename Map>
typename Map::mapped_type take_record(SparseDevice& s, Map& table, std::atomic<size_t>& count,
                                      typename Map::key_type handle) {
  typename Map::mapped_type rec;
  if (count.load(std::memory_order_acquire) == 0) return rec;
  std::lock_guard<std::mutex> g(s.lock);
  auto it = table.find(handle);
  if (it != table.end()) {
    rec = std::move(it->second);
    table.erase(it);
    count.store(table.size(), std::memory_order_release);
  }
  return rec;
}

// vkCreateDevice's chain for lavapipe: the application's, with the sparse
// features taken out and (when the ICD needs it) timelineSemaphore put in.
// The structs that change, and every struct before them, are copies; the
// application's are never written.
class LavapipeFeatureChain {
 public:
  // Reads `ci` and builds the chain; `requested` gets the sparse features
  // the application asked for. VK_ERROR_FEATURE_NOT_PRESENT when a struct
  // before one that must change is of a type the ICD cannot size.
  VkResult build(const VkDeviceCreateInfo& ci, bool need_timeline, SparseFeatures* requested);
  const void* next() const { return next_; }
  const VkPhysicalDeviceFeatures* enabled_features() const { return enabled_; }

 private:
  const void* next_ = nullptr;
  const VkPhysicalDeviceFeatures* enabled_ = nullptr;
  VkPhysicalDeviceFeatures features_{};
  VkPhysicalDeviceTimelineSemaphoreFeatures timeline_{};
  std::vector<std::unique_ptr<uint64_t[]>> copies_;  // 8-byte aligned storage
};

// Resolves lavapipe's commands and makes the device's sparse state; false
// (with a message) when lavapipe lacks one.
bool sparse_device_init(Device& d, const SparseFeatures& enabled);
// Stops the queue workers and destroys what the application left: before
// lavapipe's vkDestroyDevice.
void sparse_device_finish(Device& d);
// The sparse commands for GetDeviceProcAddr (null for other names).
PFN_vkVoidFunction sparse_device_command(const char* name);

// The buffer the VkBuffer is, if sparse (null otherwise).
std::shared_ptr<wsys::SparseBuffer> find_sparse_buffer(Device& d, VkBuffer b,
                                                       SparseBufferRecord* copy = nullptr);

// lavapipe's import (host memory of the first of `type_bits`' types) of
// the GPU view of the whole of `sb`'s range, which a sparse buffer or
// image is bound to at offset 0 (sparse_buffer.cpp).
VkResult import_sparse_range(Device& d, const wsys::SparseBuffer& sb, uint32_t type_bits,
                             VkDeviceMemory* out);

// The image the VkImage is, if sparse (null otherwise).
std::shared_ptr<wsys::SparseBuffer> find_sparse_image(Device& d, VkImage i,
                                                      SparseImageRecord* copy = nullptr);

// The commands of a device with sparse state (sparse_buffer.cpp,
// sparse_image.cpp, queue_sparse.cpp); each forwards to lavapipe what is
// not sparse.
namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL CreateBuffer(VkDevice device, const VkBufferCreateInfo* ci,
                                            const VkAllocationCallbacks* alloc, VkBuffer* out);
VKAPI_ATTR void VKAPI_CALL DestroyBuffer(VkDevice device, VkBuffer buffer,
                                         const VkAllocationCallbacks* alloc);
VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements(VkDevice device, VkBuffer buffer,
                                                       VkMemoryRequirements* req);
VKAPI_ATTR void VKAPI_CALL GetBufferMemoryRequirements2(VkDevice device,
                                                        const VkBufferMemoryRequirementsInfo2* info,
                                                        VkMemoryRequirements2* req);
VKAPI_ATTR void VKAPI_CALL GetDeviceBufferMemoryRequirements(
    VkDevice device, const VkDeviceBufferMemoryRequirements* info, VkMemoryRequirements2* req);
VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory(VkDevice device, VkBuffer buffer,
                                                VkDeviceMemory memory, VkDeviceSize offset);
VKAPI_ATTR VkResult VKAPI_CALL BindBufferMemory2(VkDevice device, uint32_t count,
                                                 const VkBindBufferMemoryInfo* infos);
VKAPI_ATTR VkResult VKAPI_CALL CreateImage(VkDevice device, const VkImageCreateInfo* ci,
                                           const VkAllocationCallbacks* alloc, VkImage* out);
VKAPI_ATTR void VKAPI_CALL DestroyImage(VkDevice device, VkImage image,
                                        const VkAllocationCallbacks* alloc);
VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements(VkDevice device, VkImage image,
                                                      VkMemoryRequirements* req);
VKAPI_ATTR void VKAPI_CALL GetImageMemoryRequirements2(VkDevice device,
                                                       const VkImageMemoryRequirementsInfo2* info,
                                                       VkMemoryRequirements2* req);
VKAPI_ATTR void VKAPI_CALL GetDeviceImageMemoryRequirements(
    VkDevice device, const VkDeviceImageMemoryRequirements* info, VkMemoryRequirements2* req);
VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory(VkDevice device, VkImage image,
                                               VkDeviceMemory memory, VkDeviceSize offset);
VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory2(VkDevice device, uint32_t count,
                                                const VkBindImageMemoryInfo* infos);
VKAPI_ATTR void VKAPI_CALL GetImageSparseMemoryRequirements(
    VkDevice device, VkImage image, uint32_t* count, VkSparseImageMemoryRequirements* reqs);
VKAPI_ATTR void VKAPI_CALL GetImageSparseMemoryRequirements2(
    VkDevice device, const VkImageSparseMemoryRequirementsInfo2* info, uint32_t* count,
    VkSparseImageMemoryRequirements2* reqs);
VKAPI_ATTR void VKAPI_CALL GetDeviceImageSparseMemoryRequirements(
    VkDevice device, const VkDeviceImageMemoryRequirements* info, uint32_t* count,
    VkSparseImageMemoryRequirements2* reqs);
VKAPI_ATTR void VKAPI_CALL GetDeviceQueue(VkDevice device, uint32_t family, uint32_t index,
                                          VkQueue* queue);
VKAPI_ATTR void VKAPI_CALL GetDeviceQueue2(VkDevice device, const VkDeviceQueueInfo2* info,
                                           VkQueue* queue);
VKAPI_ATTR VkResult VKAPI_CALL QueueBindSparse(VkQueue queue, uint32_t count,
                                               const VkBindSparseInfo* infos, VkFence fence);

// device_lost.cpp: lavapipe's queue and wait commands, answering
// VK_ERROR_DEVICE_LOST once the device is lost.
VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit(VkQueue queue, uint32_t count,
                                           const VkSubmitInfo* submits, VkFence fence);
VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit2(VkQueue queue, uint32_t count,
                                            const VkSubmitInfo2* submits, VkFence fence);
VKAPI_ATTR VkResult VKAPI_CALL QueueWaitIdle(VkQueue queue);
VKAPI_ATTR VkResult VKAPI_CALL DeviceWaitIdle(VkDevice device);
VKAPI_ATTR VkResult VKAPI_CALL WaitForFences(VkDevice device, uint32_t count,
                                             const VkFence* fences, VkBool32 all,
                                             uint64_t timeout);
VKAPI_ATTR VkResult VKAPI_CALL GetFenceStatus(VkDevice device, VkFence fence);
VKAPI_ATTR VkResult VKAPI_CALL WaitSemaphores(VkDevice device, const VkSemaphoreWaitInfo* info,
                                              uint64_t timeout);
VKAPI_ATTR VkResult VKAPI_CALL GetSemaphoreCounterValue(VkDevice device, VkSemaphore sem,
                                                        uint64_t* value);

}  // namespace icd

// Marks `d` lost (logged once, with the reason): device_lost.cpp.
void lose_device(Device& d, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace wsys::vk
