// The two things a wsys::Heap can be, behind one interface: a kernel tiler
// heap (heap_tiler.cpp) or a growable heap BO (heap_bo.cpp). Which one is
// the kernel's capability (kmod::DeviceProps::growable_heap); heap.cpp
// holds the policy and never asks which it has.
#pragma once

#include <cstdint>
#include <memory>

#include "winsys/kmod/kmod.h"
#include "wsys/heap.hpp"

namespace wsys::core {

// One kernel heap object. Destroying it gives the kernel object back (a
// tiler heap is destroyed; a heap BO's reference dropped, the kernel
// keeping it for jobs that still list it).
class KernelHeap {
 public:
  virtual ~KernelHeap() = default;
  // The addresses a submission uses (all but the generation).
  virtual void fill_target(HeapTarget& t) const = 0;
  // The heap BO for a job's BO list (null for a tiler heap).
  virtual std::shared_ptr<kmod::Bo> bo() const { return nullptr; }
  // What the kernel committed when it created this heap.
  virtual uint64_t initial_commit_bytes() const = 0;
  // The committed estimate (heap.hpp) once usage peaked at max_used_bytes.
  virtual uint64_t committed_bytes(uint64_t max_used_bytes) const = 0;
};

class HeapBackend {
 public:
  virtual ~HeapBackend() = default;
  virtual HeapKind kind() const = 0;
  // The sizing policy's commit unit.
  virtual uint64_t granule_bytes() const = 0;
  // The most the heap can ever commit.
  virtual uint64_t reserved_bytes() const = 0;
  // What a heap created now commits, given the policy's recommendation.
  virtual uint64_t commit_for_create(uint64_t recommended_bytes) const = 0;
  // True when a new heap commits nothing up front and the kernel commits
  // only what the GPU touches (a grow-on-fault BO). Recreating an idle heap
  // then costs only the faults of its next frames, while keeping it keeps
  // every page its largest frame touched: the policy gives back all of an
  // idle heap, not only its excess over the recommendation.
  virtual bool commits_on_demand() const { return false; }
  // A new kernel heap committing about `commit_bytes`, in `vm`.
  virtual Result<std::unique_ptr<KernelHeap>> create(kmod::Vm& vm, uint64_t commit_bytes) const = 0;
};

// The backend the kernel's growable memory calls for, with `config` (which
// must outlive it); null when the kernel has none.
std::unique_ptr<HeapBackend> make_tiler_heap_backend(kmod::Device& k, const HeapConfig& config);
std::unique_ptr<HeapBackend> make_heap_bo_backend(kmod::Device& k, const HeapConfig& config);
inline std::unique_ptr<HeapBackend> make_heap_backend(kmod::Device& k, const HeapConfig& config) {
  switch (k.props().growable_heap) {
    case kmod::GrowableHeap::TilerHeap:
      return make_tiler_heap_backend(k, config);
    case kmod::GrowableHeap::GrowOnFaultBo:
      return make_heap_bo_backend(k, config);
    case kmod::GrowableHeap::None:
      break;
  }
  return nullptr;
}

}  // namespace wsys::core
