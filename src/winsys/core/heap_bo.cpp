// A Heap backed by a growable heap BO (kBoAllocOnFault): no pages until the
// GPU faults on them, then the kernel commits them a fault step at a time.
// It starts empty whatever the policy recommends.
#include <algorithm>
#include <cstring>

#include "winsys/core/debug_log.h"
#include "winsys/core/heap_backend.h"

namespace wsys::core {

namespace {

// The kernel commits a grow-on-fault BO's pages this much per fault.
constexpr uint64_t kFaultStepBytes = uint64_t{2} << 20;

uint64_t round_up(uint64_t v, uint64_t unit) {
  return (v + unit - 1) / unit * unit;
}

class BoKernelHeap final : public KernelHeap {
 public:
  BoKernelHeap(kmod::BoPtr bo, uint64_t reserved_bytes)
      : bo_(std::move(bo)), reserved_(reserved_bytes) {}
  void fill_target(HeapTarget& t) const override {
    t.handle = bo_->handle();
    t.heap_va = bo_->kernel_va();
    t.heap_size_bytes = bo_->size();
  }
  std::shared_ptr<kmod::Bo> bo() const override { return bo_; }
  uint64_t initial_commit_bytes() const override { return 0; }
  uint64_t committed_bytes(uint64_t max_used) const override {
    // The tiler writes from heap_va up; pages fault in whole steps.
    return round_up(std::min(max_used, reserved_), kFaultStepBytes);  // reserved: a step multiple
  }

 private:
  kmod::BoPtr bo_;
  uint64_t reserved_;
};

class HeapBoBackend final : public HeapBackend {
 public:
  HeapBoBackend(kmod::Device& k, const HeapConfig& c) : k_(k), cfg_(c) {}
  HeapKind kind() const override { return HeapKind::GrowableBo; }
  uint64_t granule_bytes() const override { return kFaultStepBytes; }
  uint64_t reserved_bytes() const override {
    return round_up(uint64_t{cfg_.chunk_size_bytes} * cfg_.max_chunks, kFaultStepBytes);
  }
  uint64_t commit_for_create(uint64_t) const override { return 0; }
  bool commits_on_demand() const override { return true; }
  Result<std::unique_ptr<KernelHeap>> create(kmod::Vm&, uint64_t) const override {
    const uint64_t reserved = reserved_bytes();
    Result<kmod::BoPtr> b = k_.bo_create(reserved, kmod::kBoAllocOnFault | kmod::kBoNoMmap);
    if (!b.ok()) {
      WSYS_LOG(Heap, "%s: HEAP BO of %llu MiB failed: %s", cfg_.label.c_str(),
               static_cast<unsigned long long>(reserved >> 20), strerror(-b.error()));
      return Error(b.error());
    }
    if (!cfg_.label.empty()) (void)k_.bo_set_label(**b, cfg_.label);  // best effort
    WSYS_LOG(Heap, "%s: HEAP BO %u at %#llx, %llu MiB reserved", cfg_.label.c_str(), (*b)->handle(),
             static_cast<unsigned long long>((*b)->kernel_va()),
             static_cast<unsigned long long>((*b)->size() >> 20));
    return std::unique_ptr<KernelHeap>(std::make_unique<BoKernelHeap>(std::move(*b), reserved));
  }

 private:
  kmod::Device& k_;
  const HeapConfig& cfg_;
};

}  // namespace

std::unique_ptr<HeapBackend> make_heap_bo_backend(kmod::Device& k, const HeapConfig& config) {
  return std::make_unique<HeapBoBackend>(k, config);
}

}  // namespace wsys::core
