// wsys::SparseBuffer and SparseBindBatch: sparse residency on top of the
// Vm's bind batches (see include/wsys/sparse.hpp and docs/sparse.md).
#include "wsys/sparse.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <functional>
#include <new>
#include <utility>

#include "winsys/core/debug_log.h"
#include "winsys/core/sparse_blocks.h"

namespace wsys {

namespace {

constexpr uint32_t kKnownMapFlags = kMapReadOnly | kMapNoExec | kMapUncached;
constexpr uint64_t kMaxSparseSize = 1ull << 48;  // no GPU VA range is larger

// MAP_SPARSE support in the bind layer (BindBatch::map_sparse), detected at
// compile time so this file and the bind layer can change independently.
template <typename B>
concept BatchHasMapSparse = requires(B& b, uint64_t va, uint64_t size) { b.map_sparse(va, size); };
constexpr bool kBindLayerHasMapSparse = BatchHasMapSparse<BindBatch>;

template <typename B>
void add_map_sparse(B& b, uint64_t va, uint64_t size) {
  if constexpr (BatchHasMapSparse<B>) {
    b.map_sparse(va, size);
  } else {
    (void)b;
    (void)va;
    (void)size;
  }
}

// The dummy ops for [va, va + size): cut at 2 MiB VA boundaries (so a
// chunk can be one 2 MiB block in the block tables), each mapping the dummy
// from offset 0. Calls f(chunk_va, chunk_size) in address order.
template <typename F>
void for_each_dummy_chunk(uint64_t va, uint64_t size, F&& f) {
  const uint64_t end = va + size;
  while (va < end) {
    const uint64_t next = std::min(end, (va + kSparseDummyBytes) & ~(kSparseDummyBytes - 1));
    f(va, next - va);
    va = next;
  }
}

}  // namespace

// The block table (sparse_blocks.h), kept out of the public header.
struct SparseBuffer::Blocks : core::SparseBlocks {};

// --- the per-device dummy -----------------------------------------------------

// Per Device at most two dummies, each shared by every sparse buffer on it
// (in any of its Vms) with that SparseUnbound mode: the zero-filled one
// (mapped read-only) and the writable sink. They are separate BOs so the
// sink's garbage can never show through a read-only mapping that promises
// zeros. The registry holds them weakly: a dummy lives while a buffer uses
// it (its BoRef keeps the Device alive meanwhile, so a live entry's Device
// pointer can never name a newer Device).
struct SparseBuffer::Dummy {
  BoRef bo;
};

namespace {

struct DummyRegistry {
  struct Entry {
    const Device* device;
    SparseUnbound mode;
    std::weak_ptr<void> dummy;
  };
  std::mutex lock;
  std::vector<Entry> entries;
};

DummyRegistry& dummy_registry() {
  static DummyRegistry* r = new DummyRegistry;  // never destroyed: no exit-order hazards
  return *r;
}

}  // namespace

const Bo* SparseBuffer::dummy_bo() const { return dummy_ ? dummy_->bo.get() : nullptr; }

// --- SparseBindBatch ---------------------------------------------------------------

void SparseBindBatch::clear() {
  ops_.clear();
  changes_.clear();
  keep_.clear();
  vm_ = nullptr;
}

Result<void> SparseBindBatch::submit(BindMode mode, size_t* failed_op) {
  if (failed_op) *failed_op = 0;
  if (ops_.empty()) return {};
  if (!vm_) {
    clear();
    return Error(-EINVAL);  // no buffer: raw ops go through Vm::bind
  }
  // The buffers this batch touches, locked in address order: their
  // tracking then follows the order in which the kernel got the binds.
  // Our references to them are released only after the locks (declared
  // after `keep`, so destroyed first): dropping the last one destroys a
  // buffer, which takes its own locks.
  std::vector<std::shared_ptr<SparseBuffer>> keep = std::move(keep_);
  keep_.clear();
  std::vector<SparseBuffer*> bufs;
  bufs.reserve(keep.size() + 1);
  for (const auto& b : keep) bufs.push_back(b.get());
  if (owner_) bufs.push_back(owner_);
  std::sort(bufs.begin(), bufs.end(), std::less<SparseBuffer*>());
  bufs.erase(std::unique(bufs.begin(), bufs.end()), bufs.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(bufs.size());
  for (SparseBuffer* b : bufs) locks.emplace_back(b->submit_lock_);
  for (SparseBuffer* b : bufs) {
    if (b->destroyed()) {
      // Its range may already belong to someone else: nothing goes out.
      clear();
      return Error(-EINVAL);
    }
  }
  return submit_locked(mode, failed_op);
}

Result<void> SparseBindBatch::submit_locked(BindMode mode, size_t* failed_op) {
  // A buffer's state lock, taken once for a run of its changes (a batch is
  // usually many single-block changes of one buffer).
  SparseBuffer* held_buf = nullptr;
  std::unique_lock<std::mutex> held;
  auto lock_state = [&](SparseBuffer* b) {
    if (held_buf == b) return;
    if (held) held.unlock();
    held = std::unique_lock<std::mutex>(b->state_lock_);
    held_buf = b;
  };
  auto unlock_state = [&] {
    if (held) held.unlock();
    held_buf = nullptr;
  };
  // Frees the chunks left empty: only an unbind, or a bind the kernel did
  // not do (its chunks were reserved for nothing), can leave one.
  auto release_empty = [&](size_t ops_done) {
    for (const Change& c : changes_) {
      if (c.bo && c.op_last < ops_done) continue;
      lock_state(c.buf);
      c.buf->blocks_table_->release_empty(c.first, c.count);
    }
    unlock_state();
  };

  // Everything the tracking update needs is allocated before the ioctl: the
  // block-table chunks the binds reach, and a slot for every reference the
  // changes may drop (no more than each buffer has bound now plus what the
  // batch's own binds add, and no more than the blocks a change covers).
  struct Bound {
    SparseBuffer* buf;
    uint64_t limit;
  };
  std::vector<Bound> bound;
  auto bound_of = [&](SparseBuffer* b) -> Bound& {
    if (!bound.empty() && bound.back().buf == b) return bound.back();
    auto it = std::find_if(bound.begin(), bound.end(), [&](const Bound& x) { return x.buf == b; });
    if (it != bound.end()) return *it;
    lock_state(b);
    bound.push_back({b, b->blocks_table_->resident_count()});
    return bound.back();
  };
  std::vector<BoRef> dropped;
  try {
    for (const Change& c : changes_) {
      Bound& lim = bound_of(c.buf);
      if (!c.bo) continue;
      lim.limit += c.count;
      lock_state(c.buf);
      if (!c.buf->blocks_table_->reserve(c.first, c.count)) throw std::bad_alloc();
    }
    unlock_state();
    uint64_t slots = 0;
    for (const Change& c : changes_) slots += std::min(c.count, bound_of(c.buf).limit);
    dropped.reserve(slots);
  } catch (const std::bad_alloc&) {
    unlock_state();
    release_empty(0);
    clear();
    return Error(-ENOMEM);
  }

  const size_t nops = ops_.op_count();
  size_t done = 0;
  Result<void> r = vm_->bind(ops_, mode, &done);
  // Vm::bind's rule: an Immediate bind did the ops before `done`; an
  // Async or deferred one all or nothing.
  const size_t ops_done = r.ok() ? nops : (mode == BindMode::Immediate ? done : 0);
  if (failed_op) *failed_op = r.ok() ? nops : done;

  for (const Change& c : changes_) {
    lock_state(c.buf);
    c.buf->apply(c, ops_done, dropped);
  }
  unlock_state();
  release_empty(ops_done);
  WSYS_LOG(Vm, "sparse submit: %zu changes, %zu ops, %zu done: %s", changes_.size(), nops,
           ops_done, r.ok() ? "ok" : std::strerror(-r.error()));
  // Whatever happened is tracked; the batch is spent either way.
  clear();
  dropped.clear();  // the references go outside every buffer lock
  return r;
}

// --- SparseBuffer ------------------------------------------------------------------

bool SparseBuffer::driver_has_map_sparse(const DeviceInfo& info) {
  return info.sparse_map;
}

bool SparseBuffer::uses_map_sparse(const DeviceInfo& info) {
  return kBindLayerHasMapSparse && driver_has_map_sparse(info);
}

Result<std::shared_ptr<SparseBuffer>> SparseBuffer::create(std::shared_ptr<Vm> vm, uint64_t size,
                                                           SparseUnbound unbound) {
  if (!vm) return Error(-EINVAL);
  std::shared_ptr<SparseBuffer> b(new SparseBuffer());
  if (Result<void> r = b->init(std::move(vm), size, unbound); !r.ok()) return Error(r.error());
  return b;
}

Result<std::shared_ptr<SparseBuffer>> SparseBuffer::create(std::shared_ptr<Device> device,
                                                           uint64_t size, SparseUnbound unbound) {
  if (!device) return Error(-EINVAL);
  // The Device owns its Vm: an aliasing pointer keeps the Device alive.
  Vm* vm = &device->vm();
  return create(std::shared_ptr<Vm>(std::move(device), vm), size, unbound);
}

Result<void> SparseBuffer::init(std::shared_ptr<Vm> vm, uint64_t size, SparseUnbound unbound) {
  vm_ = std::move(vm);
  own_.owner_ = this;
  // Nothing to destroy until the range exists.
  destroyed_.store(true, std::memory_order_relaxed);
  if (size == 0) return Error(-EINVAL);
  if (unbound != SparseUnbound::ZeroReadOnly && unbound != SparseUnbound::WritableSink)
    return Error(-EINVAL);
  if (vm_->kernel_managed_va()) return Error(-EOPNOTSUPP);  // panfrost places every BO
  if (size > kMaxSparseSize) return Error(-ENOMEM);
  size = (size + kSparseBlockBytes - 1) & ~(kSparseBlockBytes - 1);
  Device& dev = vm_->device();
  unbound_ = unbound;
  // A sink keeps its own dummy even where the kernel has MAP_SPARSE: that
  // writes to MAP_SPARSE ranges are discarded rather than faulting is not
  // checked on a panthor 1.9 kernel yet (docs/sparse.md), and discarding
  // them is the sink's whole point.
  kernel_sparse_ = unbound == SparseUnbound::ZeroReadOnly && uses_map_sparse(dev.info());

  if (!kernel_sparse_) {
    DummyRegistry& reg = dummy_registry();
    std::lock_guard<std::mutex> g(reg.lock);
    auto& e = reg.entries;
    e.erase(std::remove_if(e.begin(), e.end(), [](const auto& x) { return x.dummy.expired(); }),
            e.end());
    for (const auto& x : e) {
      if (x.device != &dev || x.mode != unbound) continue;
      if (std::shared_ptr<void> live = x.dummy.lock()) {
        dummy_ = std::static_pointer_cast<Dummy>(std::move(live));
        break;
      }
    }
    if (!dummy_) {
      // Never cached or CPU-mapped, so the zero dummy is and stays the
      // kernel's zeroed blocks, and the sink's garbage never reaches another
      // user (both not executable: the device maps them no-exec).
      const bool sink = unbound == SparseUnbound::WritableSink;
      Result<BoRef> bo =
          dev.bo_alloc(kSparseDummyBytes, kAllocZeroed | kAllocNoCache | kAllocNoMmap,
                       sink ? "sparse:sink" : "sparse:dummy");
      if (!bo.ok()) return Error(bo.error());
      dummy_ = std::make_shared<Dummy>();
      dummy_->bo = std::move(*bo);
      e.push_back({&dev, unbound, std::static_pointer_cast<void>(dummy_)});
    }
  }

  blocks_ = size / kSparseBlockBytes;
  // Large buffers 2 MiB-aligned, so their 2 MiB chunks can be blocks. The
  // range comes first: a size the VM cannot hold fails here, before the
  // per-block tables are sized for it (a BoRef per 64 KiB block: gigabytes
  // for a request near kMaxSparseSize).
  Result<VaAllocation> a =
      vm_->alloc_va(size, std::max(kSparseBlockBytes, vm_->device().va_alignment_bytes(size)));
  if (!a.ok()) return Error(a.error());
  try {
    blocks_table_ = std::make_unique<Blocks>();
    blocks_table_->init(blocks_);
  } catch (const std::bad_alloc&) {
    (void)vm_->free_va(*a);
    return Error(-ENOMEM);
  }
  BindBatch fill;
  add_unbound(fill, a->addr, size);
  if (Result<void> r = vm_->bind(fill, BindMode::Immediate); !r.ok()) {
    // Some chunks may be mapped: unmap what is there before the range goes.
    (void)vm_->unmap_and_free(*a, std::nullopt);
    return r;
  }
  va_ = *a;
  destroyed_.store(false, std::memory_order_release);
  WSYS_LOG(Vm, "sparse buffer va=0x%llx size=%llu (%llu blocks, %s)",
           static_cast<unsigned long long>(va_.addr), static_cast<unsigned long long>(size),
           static_cast<unsigned long long>(blocks_),
           kernel_sparse_                            ? "MAP_SPARSE"
           : unbound_ == SparseUnbound::WritableSink ? "writable sink"
                                                     : "zero dummy");
  return {};
}

SparseBuffer::~SparseBuffer() { (void)destroy(std::nullopt); }

void SparseBuffer::add_unbound(BindBatch& b, uint64_t va, uint64_t size) const {
  if (kernel_sparse_) {
    add_map_sparse(b, va, size);
    return;
  }
  Bo& dummy = *dummy_->bo;
  const uint32_t flags =
      unbound_ == SparseUnbound::WritableSink ? kMapNoExec : kMapReadOnly | kMapNoExec;
  for_each_dummy_chunk(va, size, [&](uint64_t cva, uint64_t csize) {
    b.map(dummy, 0, cva, csize, flags);
  });
}

Result<void> SparseBuffer::check_range(uint64_t block_first, uint64_t block_count) const {
  if (destroyed()) return Error(-EINVAL);
  if (block_count == 0 || block_count > blocks_ || block_first > blocks_ - block_count)
    return Error(-EINVAL);
  return {};
}

Result<void> SparseBuffer::check_batch(SparseBindBatch& batch) {
  if (batch.owner_ && batch.owner_ != this) return Error(-EINVAL);  // another buffer's own
  if (batch.vm_ && batch.vm_ != vm_.get()) return Error(-EINVAL);
  return {};
}

Result<void> SparseBuffer::bind(SparseBindBatch& batch, uint64_t block_first, uint64_t block_count,
                                Bo& bo, uint64_t bo_offset, uint32_t map_flags) {
  if (Result<void> r = check_range(block_first, block_count); !r.ok()) return r;
  if (Result<void> r = check_batch(batch); !r.ok()) return r;
  if (map_flags & ~kKnownMapFlags) return Error(-EINVAL);
  if (&bo.device() != &vm_->device()) return Error(-EINVAL);
  const uint64_t bytes = block_count * kSparseBlockBytes;
  if (bo_offset % kSparseBlockBytes || bo_offset > bo.size() || bytes > bo.size() - bo_offset)
    return Error(-EINVAL);
  if (bo.flags() & kAllocGpuUncached) map_flags |= kMapUncached;

  // Everything checked: from here the batch changes.
  if (!batch.owner_ && (batch.keep_.empty() || batch.keep_.back().get() != this) &&
      std::none_of(batch.keep_.begin(), batch.keep_.end(),
                   [this](const auto& k) { return k.get() == this; }))
    batch.keep_.push_back(shared_from_this());
  batch.vm_ = vm_.get();
  batch.ops_.map(bo, bo_offset, va_.addr + block_first * kSparseBlockBytes, bytes, map_flags);
  SparseBindBatch::Change c;
  c.buf = this;
  c.first = block_first;
  c.count = block_count;
  bo.ref();
  c.bo = BoRef::adopt(&bo);
  c.op_first = c.op_last = batch.ops_.op_count() - 1;  // merged or new: the last op holds it
  batch.changes_.push_back(std::move(c));
  return {};
}

Result<void> SparseBuffer::unbind(SparseBindBatch& batch, uint64_t block_first,
                                  uint64_t block_count) {
  if (Result<void> r = check_range(block_first, block_count); !r.ok()) return r;
  if (Result<void> r = check_batch(batch); !r.ok()) return r;
  if (!batch.owner_ && (batch.keep_.empty() || batch.keep_.back().get() != this) &&
      std::none_of(batch.keep_.begin(), batch.keep_.end(),
                   [this](const auto& k) { return k.get() == this; }))
    batch.keep_.push_back(shared_from_this());
  batch.vm_ = vm_.get();
  SparseBindBatch::Change c;
  c.buf = this;
  c.first = block_first;
  c.count = block_count;
  c.op_first = batch.ops_.op_count();
  add_unbound(batch.ops_, va_.addr + block_first * kSparseBlockBytes,
              block_count * kSparseBlockBytes);
  c.op_last = batch.ops_.op_count() - 1;
  if (kernel_sparse_) c.op_first = c.op_last;  // one op, possibly merged
  batch.changes_.push_back(std::move(c));
  return {};
}

Result<void> SparseBuffer::bind(uint64_t block_first, uint64_t block_count, Bo& bo,
                                uint64_t bo_offset, uint32_t map_flags) {
  std::lock_guard<std::mutex> g(own_lock_);
  return bind(own_, block_first, block_count, bo, bo_offset, map_flags);
}

Result<void> SparseBuffer::unbind(uint64_t block_first, uint64_t block_count) {
  std::lock_guard<std::mutex> g(own_lock_);
  return unbind(own_, block_first, block_count);
}

Result<void> SparseBuffer::submit(BindMode mode, std::span<const SyncPoint> waits,
                                  std::span<const SyncPoint> signals, size_t* failed_op) {
  if (failed_op) *failed_op = 0;
  if ((!waits.empty() || !signals.empty()) && mode != BindMode::Async) return Error(-EINVAL);
  for (SyncPoint p : waits)
    if (p.syncobj == 0) return Error(-EINVAL);
  for (SyncPoint p : signals)
    if (p.syncobj == 0) return Error(-EINVAL);
  std::lock_guard<std::mutex> g(own_lock_);
  if (destroyed()) {
    own_.clear();
    return Error(-EINVAL);
  }
  for (SyncPoint p : waits) own_.wait(p);
  for (SyncPoint p : signals) own_.signal(p);
  own_.vm_ = vm_.get();  // a pure sync op still goes to this buffer's Vm
  return own_.submit(mode, failed_op);
}

void SparseBuffer::apply(const SparseBindBatch::Change& c, size_t ops_done,
                         std::vector<BoRef>& dropped) {
  // Which blocks of the change the kernel did.
  uint64_t first = c.first, count = 0;
  if (c.op_last < ops_done) {
    count = c.count;
  } else if (c.op_first < ops_done && !c.bo && !kernel_sparse_) {
    // A failed Immediate bind stopped inside a multi-chunk unbind: chunk j
    // is op op_first + j.
    size_t op = c.op_first;
    const uint64_t va0 = va_.addr + c.first * kSparseBlockBytes;
    for_each_dummy_chunk(va0, c.count * kSparseBlockBytes, [&](uint64_t cva, uint64_t csize) {
      if (op++ < ops_done) count = (cva + csize - va0) / kSparseBlockBytes;
    });
  }
  blocks_table_->set(first, count, c.bo, dropped);
}

bool SparseBuffer::is_resident(uint64_t block) const {
  std::lock_guard<std::mutex> g(state_lock_);
  return blocks_table_ && blocks_table_->resident(block);
}

uint64_t SparseBuffer::resident_blocks() const {
  std::lock_guard<std::mutex> g(state_lock_);
  return blocks_table_ ? blocks_table_->resident_count() : 0;
}

Result<void> SparseBuffer::destroy(std::optional<SyncPoint> after) {
  std::lock_guard<std::mutex> og(own_lock_);
  std::lock_guard<std::mutex> sg(submit_lock_);
  if (destroyed()) return {};
  own_.clear();  // pending binds of the internal batch can no longer go anywhere
  Result<void> r = vm_->unmap_and_free(va_, after && after->syncobj ? after : std::nullopt);
  // Failed: the Vm keeps the range out of circulation (still mapped); the
  // Bos stay referenced until the buffer object goes.
  destroyed_.store(true, std::memory_order_release);
  if (!r.ok()) return r;
  core::SparseBlocks refs;  // the references, dropped after the lock
  {
    std::lock_guard<std::mutex> g(state_lock_);
    refs = blocks_table_->take();
  }
  if (after && after->syncobj) {
    // The unmap runs once `after` signals: no bound Bo may be handed out by
    // the cache before that (the use is added to the Bo's own pending ones).
    std::vector<Bo*> distinct;
    refs.for_each_bound([&](Bo& b) {
      if (distinct.empty() || distinct.back() != &b) distinct.push_back(&b);
    });
    std::sort(distinct.begin(), distinct.end(), std::less<Bo*>());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (Bo* b : distinct) b->mark_used(after->syncobj, after->point);
  }
  WSYS_LOG(Vm, "sparse buffer va=0x%llx destroyed%s", static_cast<unsigned long long>(va_.addr),
           after ? " (unmap deferred)" : "");
  return {};
}

}  // namespace wsys
