// panthor tiler heaps of the model: see tiler_heap.h.
#include "winsys/sim/tiler_heap.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "winsys/sim/executor.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

// ------------------------------------------------------------- TilerHeap

TilerHeap::TilerHeap(SimDevice* dev, std::weak_ptr<SimVm> vm, const Params& p, uint64_t ctx_va)
    : dev_(dev), vm_(std::move(vm)), p_(p), ctx_va_(ctx_va) {}

TilerHeap::~TilerHeap() {
  // Outside any signalling section (the last reference is dropped by the
  // ioctl, the pool, or a job's cleanup step).
  Chunk* lists[2] = {head_, spares_};
  head_ = tail_ = cur_ = spares_ = nullptr;
  for (Chunk* c : lists) {
    while (c) {
      Chunk* n = c->next;
      free_chunk(c);
      c = n;
    }
  }
}

uint64_t TilerHeap::link_value(const Chunk* c) const {
  if (!c) return 0;
  return (c->va & ~0xfffull) | (static_cast<uint64_t>(p_.chunk_size) >> 12);
}

void TilerHeap::write_link(Chunk* c) {
  SimVmPtr vm = vm_.lock();
  if (!vm) return;
  uint8_t* p = vm->gpu_view(c->va);
  if (!p) return;
  uint64_t next = link_value(c->next);
  std::memcpy(p, &next, sizeof next);
}

int TilerHeap::make_chunk(SimVm& vm, Chunk** out) {
  int err = 0;
  SimBoPtr bo = SimBo::create(dev_, p_.chunk_size, &err);
  if (!bo) return err ? err : -ENOMEM;
  bo->mmap_allowed = false;
  bo->exportable = false;
  bo->heap_internal = true;
  uint64_t va = vm.alloc_kernel_va(p_.chunk_size, p_.chunk_size >= (2u << 20) ? (2u << 20) : 4096);
  if (!va) return -ENOMEM;
  int r = vm.map_kernel(bo, va, p_.chunk_size, kSimMapNoExec);
  if (r) {
    vm.free_kernel_va(va, p_.chunk_size);
    return r;
  }
  Chunk* c = new (std::nothrow) Chunk;
  if (!c) {
    vm.unmap(va, p_.chunk_size);
    vm.free_kernel_va(va, p_.chunk_size);
    return -ENOMEM;
  }
  c->bo = std::move(bo);
  c->va = va;
  // A fresh memfd reads as zeroes: the header is {next = 0, unknown = 0}.
  *out = c;
  return 0;
}

void TilerHeap::free_chunk(Chunk* c) {
  if (SimVmPtr vm = vm_.lock()) {
    if (!vm->destroyed()) vm->unmap(c->va, p_.chunk_size);
    vm->free_kernel_va(c->va, p_.chunk_size);
  }
  delete c;
}

uint64_t TilerHeap::first_chunk_va() const {
  std::lock_guard<std::mutex> g(lock_);
  return head_ ? head_->va : 0;
}

uint64_t TilerHeap::committed_locked() const {
  return static_cast<uint64_t>(chunk_count_ + spare_count_) * p_.chunk_size;
}

TilerHeapStats TilerHeap::stats() const {
  std::lock_guard<std::mutex> g(lock_);
  TilerHeapStats s;
  s.chunk_count = chunk_count_;
  s.spare_chunks = spare_count_;
  s.committed_bytes = committed_locked();
  s.bytes_written = bytes_written_;
  s.peak_committed = peak_;
  s.grow_count = grow_count_;
  s.grow_refused = grow_refused_;
  s.in_flight = static_cast<uint32_t>(vt_start_ - frag_end_);
  return s;
}

TilerHeap::Plan TilerHeap::plan_begin() const {
  std::lock_guard<std::mutex> g(lock_);
  Plan pl;
  pl.linked = chunk_count_;
  pl.peak = chunk_count_;
  uint32_t idx = 0;
  for (const Chunk* c = head_; c && c != cur_; c = c->next) idx++;
  pl.cur = idx;
  pl.off = cur_off_;
  return pl;
}

void TilerHeap::plan_tiler(Plan& pl, uint32_t count, uint32_t prim_size) const {
  uint64_t cs = p_.chunk_size;
  if (prim_size == 0 || prim_size > cs - kTilerChunkHeaderSize) return;
  uint64_t n = count;
  uint64_t cap = (cs - kTilerChunkHeaderSize) / prim_size;
  uint64_t fit = (cs - pl.off) / prim_size;
  while (true) {
    uint64_t take = std::min(n, fit);
    n -= take;
    pl.off += take * prim_size;
    if (n == 0) break;
    if (pl.cur + 1 >= pl.linked) {
      if (pl.linked >= p_.max_chunks) break;
      pl.linked++;
    }
    pl.cur++;
    pl.off = kTilerChunkHeaderSize;
    fit = cap;
  }
  pl.peak = std::max(pl.peak, pl.linked);
}

void TilerHeap::plan_fragment(Plan& pl) const {
  pl.linked = 1;
  pl.cur = 0;
  pl.off = kTilerChunkHeaderSize;
}

void TilerHeap::prepare_spares(uint32_t peak_linked) {
  SimVmPtr vm = vm_.lock();
  if (!vm) return;
  peak_linked = std::min(peak_linked, p_.max_chunks);
  while (true) {
    {
      std::lock_guard<std::mutex> g(lock_);
      if (chunk_count_ + spare_count_ >= peak_linked) return;
    }
    Chunk* c = nullptr;
    if (make_chunk(*vm, &c)) return;
    std::lock_guard<std::mutex> g(lock_);
    c->next = spares_;
    spares_ = c;
    spare_count_++;
    peak_ = std::max(peak_, committed_locked());
  }
}

void TilerHeap::trim_spares(uint32_t keep) {
  Chunk* gone = nullptr;
  {
    std::lock_guard<std::mutex> g(lock_);
    while (spare_count_ > keep) {
      Chunk* c = spares_;
      spares_ = c->next;
      c->next = gone;
      gone = c;
      spare_count_--;
    }
  }
  while (gone) {
    Chunk* n = gone->next;
    free_chunk(gone);
    gone = n;
  }
}

bool TilerHeap::grow_locked() {
  uint64_t in_flight = vt_start_ - frag_end_;
  if (chunk_count_ >= p_.max_chunks || in_flight > p_.target_in_flight || !spares_ ||
      fault_inject_check("chunk_grow") != 0) {
    grow_refused_++;
    return false;
  }
  Chunk* c = spares_;
  spares_ = c->next;
  spare_count_--;
  c->next = nullptr;
  c->used = kTilerChunkHeaderSize;
  write_link(c);  // next = 0
  if (tail_) {
    tail_->next = c;
    write_link(tail_);
  } else {
    head_ = c;
  }
  tail_ = c;
  chunk_count_++;
  grow_count_++;
  peak_ = std::max(peak_, committed_locked());
  return true;
}

bool TilerHeap::grow() {
  std::lock_guard<std::mutex> g(lock_);
  return grow_locked();
}

int TilerHeap::tiler(SimVm& vm, const SimCmdTiler& cmd, uint32_t* stored) {
  std::lock_guard<std::mutex> g(lock_);
  *stored = 0;
  const uint64_t cs = p_.chunk_size;
  const uint32_t ps = cmd.prim_size;
  if (ps > cs - kTilerChunkHeaderSize) return -EINVAL;  // can never fit a chunk
  if (!cur_) return -EINVAL;
  if (cmd.count && !pass_open_) {
    pass_open_ = true;
    vt_start_++;
  }
  uint32_t i = 0;
  for (; i < cmd.count; i++) {
    if (cur_off_ + ps > cs) {
      if (cur_->next) {
        cur_ = cur_->next;  // an initial chunk not written yet
      } else if (grow_locked()) {
        cur_ = tail_;
      } else {
        break;  // no chunk: incremental rendering may free some
      }
      cur_off_ = kTilerChunkHeaderSize;
      cur_->used = kTilerChunkHeaderSize;
    }
    uint8_t* p = vm.gpu_view(cur_->va + cur_off_);
    if (!p) return -EFAULT;
    for (uint32_t b = 0; b < ps; b++) p[b] = tiler_pattern_byte(cmd.seed, i, b);
    cur_off_ += ps;
    cur_->used = cur_off_;
    bytes_written_ += ps;
  }
  *stored = i;
  return 0;
}

int TilerHeap::fragment(SimVm& vm, const SimCmdFragment& cmd) {
  uint64_t h = 0xcbf29ce484222325ull;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (!head_) return -EINVAL;
    // The chunks are the heap's own kernel mappings: reading them cannot
    // fault while the VM lives.
    for (Chunk* c = head_; c; c = c->next) {
      uint8_t* p = vm.gpu_view(c->va);
      if (!p) return -EFAULT;
      if (c->used > kTilerChunkHeaderSize)
        h = fnv1a64(p + kTilerChunkHeaderSize, c->used - kTilerChunkHeaderSize, h);
      if (c == cur_) break;
    }
    // Hand every chunk but the first back (to the spare list: no free here).
    Chunk* rest = head_->next;
    while (rest) {
      Chunk* n = rest->next;
      rest->next = spares_;
      spares_ = rest;
      spare_count_++;
      chunk_count_--;
      rest = n;
    }
    head_->next = nullptr;
    write_link(head_);
    tail_ = cur_ = head_;
    cur_off_ = kTilerChunkHeaderSize;
    head_->used = kTilerChunkHeaderSize;
    if (pass_open_) {
      pass_open_ = false;
      frag_end_++;
    }
  }
  // The result goes to user memory, which may fault: never under lock_.
  if (cmd.result_va) {
    uint8_t* dst = vm.gpu_view(cmd.result_va);
    if (!dst) return -EFAULT;
    std::memcpy(dst, &h, sizeof h);
  }
  return 0;
}

// --------------------------------------------------------- TilerHeapPool

std::shared_ptr<TilerHeapPool> TilerHeapPool::create(SimDevice* dev,
                                                     const std::shared_ptr<SimVm>& vm, int* err) {
  std::shared_ptr<TilerHeapPool> pool;
  try {
    pool.reset(new TilerHeapPool());
  } catch (const std::bad_alloc&) {
    *err = -ENOMEM;
    return nullptr;
  }
  pool->vm_ = vm;
  uint64_t size = static_cast<uint64_t>(kTilerHeapsPerVm) * kTilerHeapCtxStride;
  pool->ctx_bo_ = SimBo::create(dev, size, err);
  if (!pool->ctx_bo_) return nullptr;
  pool->ctx_bo_->mmap_allowed = false;
  pool->ctx_bo_->exportable = false;
  pool->ctx_bo_->heap_internal = true;
  pool->ctx_base_ = vm->alloc_kernel_va(size, 4096);
  if (!pool->ctx_base_) {
    *err = -ENOMEM;
    return nullptr;
  }
  int r = vm->map_kernel(pool->ctx_bo_, pool->ctx_base_, size, kSimMapNoExec);
  if (r) {
    vm->free_kernel_va(pool->ctx_base_, size);
    pool->ctx_base_ = 0;
    *err = r;
    return nullptr;
  }
  return pool;
}

TilerHeapPool::~TilerHeapPool() {
  clear();
  if (!ctx_base_) return;
  uint64_t size = static_cast<uint64_t>(kTilerHeapsPerVm) * kTilerHeapCtxStride;
  if (SimVmPtr vm = vm_.lock()) {
    if (!vm->destroyed()) vm->unmap(ctx_base_, size);
    vm->free_kernel_va(ctx_base_, size);
  }
}

int TilerHeapPool::create_heap(SimDevice* dev, const TilerHeap::Params& p, uint32_t* id,
                               std::shared_ptr<TilerHeap>* out) {
  SimVmPtr vm = vm_.lock();
  if (!vm || vm->destroyed()) return -EINVAL;
  uint32_t slot = kTilerHeapsPerVm;
  {
    std::lock_guard<std::mutex> g(lock_);
    for (uint32_t i = 0; i < kTilerHeapsPerVm; i++)
      if (!heaps_[i] && !reserved_[i]) {
        slot = i;
        reserved_[i] = true;  // taken now: a concurrent create picks another (xa_alloc is atomic)
        break;
      }
  }
  // xa_alloc() over the 128-entry limit: -EBUSY.
  if (slot == kTilerHeapsPerVm) return -EBUSY;
  struct Unreserve {  // every return below gives the slot back
    TilerHeapPool* pool;
    uint32_t slot;
    ~Unreserve() {
      std::lock_guard<std::mutex> g(pool->lock_);
      pool->reserved_[slot] = false;
    }
  } unreserve{this, slot};
  uint64_t ctx_va = ctx_base_ + static_cast<uint64_t>(slot) * kTilerHeapCtxStride;
  std::shared_ptr<TilerHeap> heap;
  try {
    heap.reset(new TilerHeap(dev, vm_, p, ctx_va));
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  for (uint32_t i = 0; i < p.initial_chunk_count; i++) {
    TilerHeap::Chunk* c = nullptr;
    int r = fault_inject_check("chunk_grow");
    if (!r) r = heap->make_chunk(*vm, &c);
    if (r) return r;  // heap's destructor frees the chunks made so far
    std::lock_guard<std::mutex> g(heap->lock_);
    if (heap->tail_) heap->tail_->next = c;
    else heap->head_ = c;
    heap->tail_ = c;
    heap->chunk_count_++;
  }
  {
    std::lock_guard<std::mutex> g(heap->lock_);
    for (TilerHeap::Chunk* c = heap->head_; c; c = c->next) heap->write_link(c);
    heap->cur_ = heap->head_;
    heap->cur_off_ = kTilerChunkHeaderSize;
    heap->peak_ = heap->committed_locked();
  }
  // The context: 32 bytes zeroed.
  if (uint8_t* ctx = vm->gpu_view(ctx_va)) std::memset(ctx, 0, kTilerHeapCtxSize);
  std::lock_guard<std::mutex> g(lock_);
  heaps_[slot] = heap;  // the slot was reserved for this create
  *id = slot;
  *out = std::move(heap);
  return 0;
}

int TilerHeapPool::destroy_heap(uint32_t id) {
  std::shared_ptr<TilerHeap> h;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (id >= kTilerHeapsPerVm || !heaps_[id]) return -EINVAL;
    h.swap(heaps_[id]);
  }
  return 0;  // `h` may be the last reference: freed here, outside any section
}

std::shared_ptr<TilerHeap> TilerHeapPool::get(uint32_t id) const {
  std::lock_guard<std::mutex> g(lock_);
  return id < kTilerHeapsPerVm ? heaps_[id] : nullptr;
}

std::shared_ptr<TilerHeap> TilerHeapPool::find_by_ctx(uint64_t ctx_va) const {
  if (ctx_va < ctx_base_) return nullptr;
  uint64_t off = ctx_va - ctx_base_;
  if (off % kTilerHeapCtxStride) return nullptr;
  return get(static_cast<uint32_t>(off / kTilerHeapCtxStride));
}

size_t TilerHeapPool::heap_count() const {
  std::lock_guard<std::mutex> g(lock_);
  size_t n = 0;
  for (const auto& h : heaps_) n += h ? 1 : 0;
  return n;
}

void TilerHeapPool::clear() {
  std::array<std::shared_ptr<TilerHeap>, kTilerHeapsPerVm> gone;
  {
    std::lock_guard<std::mutex> g(lock_);
    gone.swap(heaps_);
  }
}

}  // namespace wsys::sim
