// A Heap backed by a kernel tiler heap (TILER_HEAP_CREATE): chunks of
// chunk_size_bytes, the initial count chosen by the policy, grown by the
// kernel on tiler out-of-memory events up to max_chunks.
#include <algorithm>
#include <cstring>

#include "winsys/core/debug_log.h"
#include "winsys/core/heap_backend.h"

namespace wsys::core {

namespace {

constexpr uint32_t kChunkHeaderBytes = 64;  // {u64 next; u32[14]} at the start of each chunk

class TilerKernelHeap final : public KernelHeap {
 public:
  TilerKernelHeap(kmod::Device& k, const HeapConfig& c, kmod::TilerHeap t, uint32_t chunks)
      : k_(k), cfg_(c), t_(t), initial_chunks_(chunks) {}
  ~TilerKernelHeap() override {
    // -EINVAL when the VM went first (Vm::recreate): the heap went with it.
    Result<void> r = k_.tiler_heap_destroy(t_.handle);
    if (!r.ok())
      WSYS_LOG(Heap, "%s: TILER_HEAP_DESTROY %#x: %s", cfg_.label.c_str(), t_.handle,
               strerror(-r.error()));
  }
  void fill_target(HeapTarget& t) const override {
    t.handle = t_.handle;
    t.context_va = t_.context_va;
    t.first_chunk_va = t_.first_chunk_va;
  }
  uint64_t initial_commit_bytes() const override {
    return uint64_t{initial_chunks_} * cfg_.chunk_size_bytes;
  }
  uint64_t committed_bytes(uint64_t max_used) const override {
    // max(initial chunks, chunks_for(peak)) x chunk size, at most max_chunks.
    const uint64_t payload = cfg_.chunk_size_bytes - kChunkHeaderBytes;
    const uint64_t need = max_used / payload + (max_used % payload != 0);  // no overflow
    const uint64_t chunks =
        std::min<uint64_t>(std::max<uint64_t>(initial_chunks_, need), cfg_.max_chunks);
    return chunks * cfg_.chunk_size_bytes;
  }

 private:
  kmod::Device& k_;
  const HeapConfig& cfg_;
  kmod::TilerHeap t_;
  uint32_t initial_chunks_;
};

class TilerHeapBackend final : public HeapBackend {
 public:
  TilerHeapBackend(kmod::Device& k, const HeapConfig& c) : k_(k), cfg_(c) {}
  HeapKind kind() const override { return HeapKind::TilerHeap; }
  uint64_t granule_bytes() const override { return cfg_.chunk_size_bytes; }
  uint64_t reserved_bytes() const override {
    return uint64_t{cfg_.chunk_size_bytes} * cfg_.max_chunks;
  }
  uint64_t commit_for_create(uint64_t recommended_bytes) const override {
    if (cfg_.fixed_initial_chunks)
      return uint64_t{cfg_.fixed_initial_chunks} * cfg_.chunk_size_bytes;
    return recommended_bytes;
  }
  Result<std::unique_ptr<KernelHeap>> create(kmod::Vm& vm, uint64_t commit_bytes) const override {
    const uint64_t cs = cfg_.chunk_size_bytes;
    const uint64_t n = std::clamp<uint64_t>((commit_bytes + cs - 1) / cs, 1, cfg_.max_chunks);
    kmod::TilerHeapCreateInfo ci;
    ci.initial_chunk_count = static_cast<uint32_t>(n);
    ci.chunk_size_bytes = cfg_.chunk_size_bytes;
    ci.max_chunks = cfg_.max_chunks;
    ci.target_in_flight = cfg_.target_in_flight;
    Result<kmod::TilerHeap> t = k_.tiler_heap_create(vm, ci);
    if (!t.ok()) {
      WSYS_LOG(Heap, "%s: TILER_HEAP_CREATE (%u chunks) failed: %s", cfg_.label.c_str(),
               ci.initial_chunk_count, strerror(-t.error()));
      return Error(t.error());
    }
    WSYS_LOG(Heap, "%s: tiler heap %#x: %u x %u KiB chunks committed, max %u", cfg_.label.c_str(),
             t->handle, ci.initial_chunk_count, cfg_.chunk_size_bytes >> 10, cfg_.max_chunks);
    return std::unique_ptr<KernelHeap>(
        std::make_unique<TilerKernelHeap>(k_, cfg_, *t, ci.initial_chunk_count));
  }

 private:
  kmod::Device& k_;
  const HeapConfig& cfg_;
};

}  // namespace

std::unique_ptr<HeapBackend> make_tiler_heap_backend(kmod::Device& k, const HeapConfig& config) {
  return std::make_unique<TilerHeapBackend>(k, config);
}

}  // namespace wsys::core
