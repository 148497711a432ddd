// vkQueueBindSparse: sparse buffer and opaque image binds as wsys VM_BINDs,
// ordered with the queue's other work through lavapipe's own queue.
//
// lavapipe cannot bind, and the calling thread must not block (an
// application may wait in vkQueueBindSparse for a timeline value it
// signals from the host afterwards). So each VkBindSparseInfo becomes, on
// the queue, two submissions around a job on the queue's worker thread,
// with two private timeline semaphores (the gate G and the bound mark B)
// and one value n per info:
//
//   lavapipe:  [wait: the info's semaphores] -> signal G = n
//   worker:    wait G >= n, VM_BIND (one SparseBindBatch, Immediate),
//              signal B = n from the host
//   lavapipe:  [wait B >= n] -> signal the info's semaphores (+ the fence
//              with the last info)
//
// The binds therefore happen after everything submitted before them and
// their waits, and everything submitted after them (which queues behind
// the second submission) sees them. Every bind is checked before anything
// is submitted, so a bad call returns an error and changes nothing.
#include <chrono>
#include <cstring>

#include "vulkan/chain.h"
#include "vulkan/shared_memory.h"
#include "vulkan/sparse.h"
#include "wsys/trace.hpp"

namespace wsys::vk {

namespace {

// How long the worker waits on the gate before looking at its stop flag:
// only vkDestroyDevice with binds still waiting (invalid usage) sees it.
constexpr uint64_t kGatePollNs = 100'000'000;

// What kind of bind a message is about.
enum class BindKind { Buffer, ImageOpaque, Image };

VkResult invalid(uint32_t info, BindKind kind, uint32_t resource_bind, uint32_t bind,
                 const char* what) {
  log_error("vkQueueBindSparse: info %u, %s bind %u, bind %u: %s (nothing submitted)", info,
            kind == BindKind::Buffer        ? "buffer"
            : kind == BindKind::ImageOpaque ? "image opaque"
                                            : "image",
            resource_bind, bind, what);
  return VK_ERROR_VALIDATION_FAILED_EXT;
}

}  // namespace

class SparseQueue {
 public:
  SparseQueue(Device& d, VkQueue q) : d_(d), fn_(d.sparse->fn), queue_(q) {}
  ~SparseQueue() {
    {
      std::lock_guard<std::mutex> g(lock_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    if (gate_) fn_.DestroySemaphore(d_.handle, gate_, nullptr);
    if (bound_) fn_.DestroySemaphore(d_.handle, bound_, nullptr);
  }
  SparseQueue(const SparseQueue&) = delete;
  SparseQueue& operator=(const SparseQueue&) = delete;

  VkResult init() {
    VkSemaphoreTypeCreateInfo type{};
    type.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO;
    type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO;
    ci.pNext = &type;
    if (VkResult r = fn_.CreateSemaphore(d_.handle, &ci, nullptr, &gate_); r != VK_SUCCESS) {
      gate_ = VK_NULL_HANDLE;
      return r;
    }
    if (VkResult r = fn_.CreateSemaphore(d_.handle, &ci, nullptr, &bound_); r != VK_SUCCESS) {
      bound_ = VK_NULL_HANDLE;
      return r;
    }
    worker_ = std::thread([this] { run(); });
    return VK_SUCCESS;
  }

  // Submits the two submissions of every info (one vkQueueSubmit) and
  // queues the binds of each. The application synchronises the queue, so
  // values follow submission order.
  VkResult submit(uint32_t count, const VkBindSparseInfo* infos,
                  std::vector<std::vector<SparseBind>>& binds, VkFence fence) {
    std::lock_guard<std::mutex> sg(submit_lock_);
    struct Pair {
      uint64_t value = 0;
      std::vector<uint64_t> wait_values, signal_values;
      std::vector<VkPipelineStageFlags> stages;
      VkPipelineStageFlags bound_stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
      VkTimelineSemaphoreSubmitInfo in{}, out{};
    };
    std::vector<Pair> pairs(count);
    std::vector<VkSubmitInfo> submits(2 * count);
    for (uint32_t i = 0; i < count; i++) {
      const VkBindSparseInfo& info = infos[i];
      Pair& p = pairs[i];
      p.value = next_value_ + 1 + i;
      // The application's timeline values, if any (zeros for binary ones).
      const auto* app = find_in_chain<VkTimelineSemaphoreSubmitInfo>(
          info.pNext, VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO);
      p.wait_values.assign(info.waitSemaphoreCount, 0);
      p.signal_values.assign(info.signalSemaphoreCount, 0);
      if (app && app->pWaitSemaphoreValues)
        for (uint32_t k = 0; k < info.waitSemaphoreCount && k < app->waitSemaphoreValueCount; k++)
          p.wait_values[k] = app->pWaitSemaphoreValues[k];
      if (app && app->pSignalSemaphoreValues)
        for (uint32_t k = 0; k < info.signalSemaphoreCount && k < app->signalSemaphoreValueCount;
             k++)
          p.signal_values[k] = app->pSignalSemaphoreValues[k];
      p.stages.assign(info.waitSemaphoreCount, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);

      // In: the info's waits, then G = n.
      p.in.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO;
      p.in.waitSemaphoreValueCount = info.waitSemaphoreCount;
      p.in.pWaitSemaphoreValues = p.wait_values.data();
      p.in.signalSemaphoreValueCount = 1;
      p.in.pSignalSemaphoreValues = &p.value;
      VkSubmitInfo& a = submits[2 * i];
      a.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
      a.pNext = &p.in;
      a.waitSemaphoreCount = info.waitSemaphoreCount;
      a.pWaitSemaphores = info.pWaitSemaphores;
      a.pWaitDstStageMask = p.stages.data();
      a.signalSemaphoreCount = 1;
      a.pSignalSemaphores = &gate_;

      // Out: B >= n, then the info's signals.
      p.out.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO;
      p.out.waitSemaphoreValueCount = 1;
      p.out.pWaitSemaphoreValues = &p.value;
      p.out.signalSemaphoreValueCount = info.signalSemaphoreCount;
      p.out.pSignalSemaphoreValues = p.signal_values.data();
      VkSubmitInfo& c = submits[2 * i + 1];
      c.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
      c.pNext = &p.out;
      c.waitSemaphoreCount = 1;
      c.pWaitSemaphores = &bound_;
      c.pWaitDstStageMask = &p.bound_stage;
      c.signalSemaphoreCount = info.signalSemaphoreCount;
      c.pSignalSemaphores = info.pSignalSemaphores;
    }
    VkResult r =
        fn_.QueueSubmit(queue_, static_cast<uint32_t>(submits.size()), submits.data(), fence);
    if (r != VK_SUCCESS) return r;
    next_value_ += count;
    {
      std::lock_guard<std::mutex> g(lock_);
      for (uint32_t i = 0; i < count; i++)
        jobs_.push_back(Job{pairs[i].value, std::move(binds[i]), wsys::trace::current_flow()});
    }
    cv_.notify_one();
    return VK_SUCCESS;
  }

 private:
  struct Job {
    uint64_t value = 0;
    std::vector<SparseBind> binds;
    uint64_t trace_flow = 0;  // WSYS_TRACE: the vkQueueBindSparse it came from
  };

  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> l(lock_);
        cv_.wait(l, [this] { return stop_ || !jobs_.empty(); });
        // A valid application idles the device before destroying it, and
        // then every job is done: what is left can never run.
        if (stop_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      if (wait(gate_, job.value)) {
        wsys::trace::Span span("sparse bind (worker)", job.trace_flow);
        apply(job);
      }
      else if (stopping())
        return;
      // Signalled whatever happened, so the queue does not hang on B.
      VkSemaphoreSignalInfo si{};
      si.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO;
      si.semaphore = bound_;
      si.value = job.value;
      if (VkResult r = fn_.SignalSemaphore(d_.handle, &si); r != VK_SUCCESS)
        log_error("vkQueueBindSparse: cannot signal the bind's completion (%d)", r);
    }
  }

  bool stopping() {
    std::lock_guard<std::mutex> g(lock_);
    return stop_;
  }

  // Waits for `sem` >= value, looking at the stop flag now and then.
  bool wait(VkSemaphore sem, uint64_t value) {
    VkSemaphoreWaitInfo wi{};
    wi.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO;
    wi.semaphoreCount = 1;
    wi.pSemaphores = &sem;
    wi.pValues = &value;
    for (;;) {
      VkResult r = fn_.WaitSemaphores(d_.handle, &wi, kGatePollNs);
      if (r == VK_SUCCESS) return true;
      if (r != VK_TIMEOUT) {
        log_error("vkQueueBindSparse: waiting for the queue failed (%d): binds dropped", r);
        return false;
      }
      if (stopping()) return false;
    }
  }

  // One VM_BIND ioctl for the whole info (page tables updated on return).
  void apply(Job& job) {
    wsys::SparseBindBatch batch;
    for (const SparseBind& b : job.binds) {
      Result<void> r = b.bo
                           ? b.buffer->bind(batch, b.block_first, b.block_count, *b.bo, b.bo_offset)
                           : b.buffer->unbind(batch, b.block_first, b.block_count);
      // Checked at submission: only a buffer (image) destroyed meanwhile
      // fails.
      if (!r.ok()) log_error("vkQueueBindSparse: bind dropped: %s", std::strerror(-r.error()));
    }
    if (batch.empty()) return;
    // The VM is not what the application asked for, and the kernel's
    // answer to a failed bind is an unusable VM: the device is lost (its
    // semaphores are still signalled below, so nothing hangs; every queue
    // and wait command says VK_ERROR_DEVICE_LOST from now on).
    if (Result<void> r = batch.submit(wsys::BindMode::Immediate); !r.ok())
      lose_device(d_, "vkQueueBindSparse: VM_BIND failed: %s", std::strerror(-r.error()));
  }

  Device& d_;
  const SparseFns& fn_;
  VkQueue queue_;
  VkSemaphore gate_ = VK_NULL_HANDLE;   // G: the info's waits are over
  VkSemaphore bound_ = VK_NULL_HANDLE;  // B: the info's binds are done
  std::mutex submit_lock_;
  uint64_t next_value_ = 0;  // the last value given out (submit_lock_)
  std::mutex lock_;          // guards jobs_, stop_
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::thread worker_;
};

void SparseQueueDeleter::operator()(SparseQueue* q) const {
  delete q;
}

namespace {

// Checks one VkSparseMemoryBind of a resource (a buffer of `size` bytes,
// `aligned_size` rounded up to the block, or an image, whose size is its
// memory requirements' and already whole blocks) and resolves what it
// names into `out`; the problem, or null.
const char* check_memory_bind(Device& d, const std::shared_ptr<wsys::SparseBuffer>& sb,
                              VkDeviceSize size, VkDeviceSize aligned_size, uint32_t type_bits,
                              bool image, const VkSparseMemoryBind& m, SparseBind* out) {
  if (m.flags)
    return image ? "flags (METADATA: the image has no metadata aspect)"
                 : "flags (metadata is for images)";
  if (m.size == 0) return "size 0";
  if (m.resourceOffset % kSparseBlockBytes) return "resourceOffset is not a multiple of 64 KiB";
  if (m.resourceOffset >= aligned_size || m.size > aligned_size - m.resourceOffset)
    return image ? "beyond the image's memory requirements" : "beyond the buffer";
  if (m.size % kSparseBlockBytes && m.resourceOffset + m.size != size)
    return "size is not a multiple of 64 KiB nor reaches the resource's end";
  SparseBind& b = *out;
  b.buffer = sb;
  b.block_first = m.resourceOffset / kSparseBlockBytes;
  b.block_count = (m.size + kSparseBlockBytes - 1) / kSparseBlockBytes;
  if (m.memory == VK_NULL_HANDLE) return nullptr;
  VkDeviceSize mem_size = 0;
  uint32_t type = 0;
  {
    std::lock_guard<std::mutex> g(d.lock);
    auto it = d.memory.find(m.memory);
    if (it == d.memory.end()) return "unknown memory";
    // Exported dma-buf memory the GPU has not used yet: this bind is its
    // first use (shared_memory.h).
    if (!shared_memory_attach_gpu(d, *it->second).ok())
      return "the dma-buf memory's GPU attach failed (WSYS_SIM_ALLOC_LOG=1 says why)";
    b.bo = it->second->bo;
    mem_size = it->second->size;
    type = it->second->type_index;
  }
  if (m.memoryOffset % kSparseBlockBytes) return "memoryOffset is not a multiple of 64 KiB";
  if (m.memoryOffset > mem_size || m.size > mem_size - m.memoryOffset) return "beyond the memory";
  if (b.block_count * kSparseBlockBytes > b.bo->size() - m.memoryOffset)
    return "the memory does not hold whole 64 KiB blocks there";
  if (!(type_bits & (1u << type)))
    return image ? "a memory type the image does not allow"
                 : "a memory type the buffer does not allow";
  b.bo_offset = m.memoryOffset;
  return nullptr;
}

// Checks every bind of the call and resolves what it names; the first
// problem is returned (and logged) with nothing done.
VkResult check_binds(Device& d, uint32_t count, const VkBindSparseInfo* infos,
                     std::vector<std::vector<SparseBind>>* out) {
  out->assign(count, {});
  for (uint32_t i = 0; i < count; i++) {
    const VkBindSparseInfo& info = infos[i];
    if (info.imageBindCount)
      return invalid(i, BindKind::Image, 0, 0,
                     "pImageBinds: sparse residency images are not supported");
    if ((info.waitSemaphoreCount && !info.pWaitSemaphores) ||
        (info.signalSemaphoreCount && !info.pSignalSemaphores) ||
        (info.bufferBindCount && !info.pBufferBinds) ||
        (info.imageOpaqueBindCount && !info.pImageOpaqueBinds))
      return invalid(i, BindKind::Buffer, 0, 0, "a count without its array");
    for (uint32_t j = 0; j < info.bufferBindCount; j++) {
      const VkSparseBufferMemoryBindInfo& bb = info.pBufferBinds[j];
      SparseBufferRecord rec;
      std::shared_ptr<wsys::SparseBuffer> sb = find_sparse_buffer(d, bb.buffer, &rec);
      if (!sb) return invalid(i, BindKind::Buffer, j, 0, "not a sparse buffer of this device");
      if (bb.bindCount && !bb.pBinds)
        return invalid(i, BindKind::Buffer, j, 0, "a count without its array");
      for (uint32_t k = 0; k < bb.bindCount; k++) {
        SparseBind b;
        if (const char* why = check_memory_bind(d, sb, rec.size, rec.aligned_size,
                                                rec.memory_type_bits, false, bb.pBinds[k], &b))
          return invalid(i, BindKind::Buffer, j, k, why);
        (*out)[i].push_back(std::move(b));
      }
    }
    // Opaque image binds: the same block ranges, of the image's range.
    for (uint32_t j = 0; j < info.imageOpaqueBindCount; j++) {
      const VkSparseImageOpaqueMemoryBindInfo& ib = info.pImageOpaqueBinds[j];
      SparseImageRecord rec;
      std::shared_ptr<wsys::SparseBuffer> sb = find_sparse_image(d, ib.image, &rec);
      if (!sb) return invalid(i, BindKind::ImageOpaque, j, 0, "not a sparse image of this device");
      if (ib.bindCount && !ib.pBinds)
        return invalid(i, BindKind::ImageOpaque, j, 0, "a count without its array");
      for (uint32_t k = 0; k < ib.bindCount; k++) {
        SparseBind b;
        if (const char* why = check_memory_bind(d, sb, rec.size, rec.size, rec.memory_type_bits,
                                                true, ib.pBinds[k], &b))
          return invalid(i, BindKind::ImageOpaque, j, k, why);
        (*out)[i].push_back(std::move(b));
      }
    }
  }
  return VK_SUCCESS;
}

SparseDevice* sparse_of(VkDevice device, Device** out) {
  Device* d = find_device(device);
  *out = d;
  return d ? d->sparse.get() : nullptr;
}

void remember_queue(Device& d, VkQueue q) {
  if (q == VK_NULL_HANDLE) return;
  SparseDevice& s = *d.sparse;
  std::lock_guard<std::mutex> g(s.lock);
  for (VkQueue k : s.known_queues)
    if (k == q) return;
  s.known_queues.push_back(q);
  add_queue(q, &d);
}

}  // namespace

namespace icd {

VKAPI_ATTR void VKAPI_CALL GetDeviceQueue(VkDevice device, uint32_t family, uint32_t index,
                                          VkQueue* queue) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || !queue) return;
  s->fn.GetDeviceQueue(device, family, index, queue);
  remember_queue(*d, *queue);
}

VKAPI_ATTR void VKAPI_CALL GetDeviceQueue2(VkDevice device, const VkDeviceQueueInfo2* info,
                                           VkQueue* queue) {
  Device* d = nullptr;
  SparseDevice* s = sparse_of(device, &d);
  if (!s || !queue) return;
  s->fn.GetDeviceQueue2(device, info, queue);
  remember_queue(*d, *queue);
}

VKAPI_ATTR VkResult VKAPI_CALL QueueBindSparse(VkQueue queue, uint32_t count,
                                               const VkBindSparseInfo* infos, VkFence fence) {
  Device* d = find_queue_device(queue);
  if (!d || !d->sparse) {
    log_error("vkQueueBindSparse: a queue the ICD did not hand out");
    return VK_ERROR_VALIDATION_FAILED_EXT;
  }
  if (d->lost.load()) return VK_ERROR_DEVICE_LOST;
  wsys::trace::Span span("vkQueueBindSparse");
  if (count && !infos) return invalid(0, BindKind::Buffer, 0, 0, "bindInfoCount without pBindInfo");
  std::vector<std::vector<SparseBind>> binds;
  if (VkResult r = check_binds(*d, count, infos, &binds); r != VK_SUCCESS) return r;
  SparseDevice& s = *d->sparse;
  // Nothing to bind: the fence alone, behind the queue's work.
  if (count == 0) return fence ? s.fn.QueueSubmit(queue, 0, nullptr, fence) : VK_SUCCESS;

  SparseQueue* q = nullptr;
  {
    std::lock_guard<std::mutex> g(s.lock);
    SparseQueuePtr& slot = s.queues[queue];
    if (!slot) {
      SparseQueuePtr fresh(new SparseQueue(*d, queue));
      if (VkResult r = fresh->init(); r != VK_SUCCESS) {
        s.queues.erase(queue);
        return r;
      }
      slot = std::move(fresh);
    }
    q = slot.get();
  }
  return q->submit(count, infos, binds, fence);
}

}  // namespace icd

}  // namespace wsys::vk
