#include "winsys/sim/vm.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <new>

#include "winsys/sim/bind_queue.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_file.h"

namespace wsys::sim {

namespace {

constexpr uint64_t kVmPageSize = 4096;

int cpu_prot(uint32_t flags) {
  return (flags & kSimMapReadOnly) ? PROT_READ : PROT_READ | PROT_WRITE;
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

// A stolen object's pages are private anonymous memory, which cannot be
// mapped twice: mapping it moves the pages from its home into the window
// and unmapping moves them back (page-table moves, no copy). DONTUNMAP
// leaves the source range in place (empty), so neither side ever becomes a
// hole something else could be mapped into.
bool move_pages(void* from, uint64_t size, void* to) {
  void* p = ::mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
  return p != MAP_FAILED;
}

// A fresh mapping-list node, allocated here (ioctl context) so the run
// step can link it into the tree without allocating.
SimMappingTree::node_type make_node() {
  SimMappingTree scratch;
  scratch.emplace(0, SimMapping{});
  return scratch.extract(scratch.begin());
}

SimMappingTree::node_type take_node(VmOp& op) {
  for (auto& n : op.nodes)
    if (!n.empty()) return std::move(n);
  return {};
}

}  // namespace

VmOp::VmOp() = default;

VmOp::~VmOp() {
  // Outside any signalling section (ioctl or the bind worker after the
  // step): hand back unused reserved pages, free emptied tables; `removed`
  // and `nodes` drop their BO references with the members.
  if (vm && vm->pt_) vm->pt_->give_back(reserved_pages);
  dead_pages.free_all();
}

// ------------------------------------------------------------------ SimVm

SimVm::SimVm(SimDevice* dev, const Config& cfg) : dev_(dev), cfg_(cfg) {}

SimVmPtr SimVm::create(SimDevice* dev, const Config& cfg, int* err) {
  if (cfg.va_size_bytes == 0 || (cfg.va_size_bytes % kVmPageSize) != 0 ||
      cfg.user_va_start > cfg.user_va_end || cfg.user_va_end > cfg.va_size_bytes) {
    *err = -EINVAL;
    return nullptr;
  }
  SimVmPtr vm;
  try {
    vm.reset(new SimVm(dev, cfg));
    vm->pt_ = std::make_unique<PageTable>();
    if (cfg.with_bind_queue) vm->queue_ = std::make_unique<BindQueue>(vm.get());
  } catch (const std::bad_alloc&) {
    *err = -ENOMEM;
    return nullptr;
  }
  void* p = ::mmap(nullptr, cfg.va_size_bytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    vm->window_released_ = true;
    vm->destroyed_ = true;
    *err = -ENOMEM;
    return nullptr;
  }
  vm->window_ = static_cast<uint8_t*>(p);
  return vm;
}

SimVm::~SimVm() {
  destroy();
  if (window_) ::munmap(window_, cfg_.va_size_bytes);
}

SimVmPtr SimVm::lookup(SimFile& file, uint32_t id) { return file.lookup_vm(id); }

void SimVm::destroy() {
  std::lock_guard<std::mutex> dg(destroy_lock_);
  if (window_released_ && destroyed_) return;
  destroyed_.store(true, std::memory_order_release);
  if (queue_) queue_->stop();
  SimMappingTree gone;
  std::map<uint64_t, HeapMapping> gone_heaps;
  PtPageList dead;
  {
    std::lock_guard<std::mutex> g(op_lock_);
    if (!window_released_) {
      pt_->clear(dead);
      // Stolen objects' pages go home before the window is emptied.
      for (auto& [va, m] : mappings_) {
        if (m.bo && m.bo->host_kind() == SimBo::HostKind::Stolen &&
            move_pages(window_ + va, m.size, m.bo->anon_home() + m.bo_offset))
          m.bo->stolen_mapped_bytes.fetch_sub(m.size, std::memory_order_acq_rel);
      }
      gone.swap(mappings_);
      gone_heaps.swap(heaps_);
      // Drop every mapping but keep the address range reserved (PROT_NONE)
      // until the last reference goes (~SimVm): a job still running on a
      // destroyed VM must fault, as on the kernel, and never write into
      // whatever the process might map at a recycled address.
      ::mmap(window_, cfg_.va_size_bytes, PROT_NONE,
             MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      window_released_ = true;
    }
  }
  // `gone` drops the BO references, `dead` frees the tables, here.
}

uint8_t* SimVm::gpu_view(uint64_t va) const {
  if (destroyed() || va >= cfg_.va_size_bytes) return nullptr;
  return window_ + va;
}

PageTableCounters SimVm::pt_counters() const { return pt_->counters(); }

bool SimVm::check_user_range(uint64_t va, uint64_t size) const {
  uint64_t end = va + size;
  return end >= va && va >= cfg_.user_va_start && end <= cfg_.user_va_end;
}

int SimVm::prepare_map(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va, uint64_t size,
                       uint32_t flags, VmOpPtr* out) {
  return prepare_map_impl(bo, bo_offset, va, size, flags, /*kernel=*/false, out);
}

uint64_t SimVm::alloc_kernel_va(uint64_t size, uint64_t align) {
  if (!size || size % kVmPageSize || !align || (align & (align - 1))) return 0;
  std::lock_guard<std::mutex> g(kva_lock_);
  auto it = kva_free_.lower_bound(size);
  for (; it != kva_free_.end() && it->first == size; ++it) {
    if (it->second % align == 0) {
      uint64_t va = it->second;
      kva_free_.erase(it);
      return va;
    }
  }
  if (kva_next_ < cfg_.user_va_end) kva_next_ = cfg_.user_va_end;
  uint64_t va = (kva_next_ + align - 1) & ~(align - 1);
  if (va < kva_next_ || va + size < va || va + size > cfg_.va_size_bytes) return 0;
  kva_next_ = va + size;
  return va;
}

void SimVm::free_kernel_va(uint64_t va, uint64_t size) {
  if (!va || !size) return;
  std::lock_guard<std::mutex> g(kva_lock_);
  try {
    kva_free_.emplace(size, va);
  } catch (const std::bad_alloc&) {
    // Leaks the range: harmless, the kernel range is large.
  }
}

int SimVm::map_kernel(const SimBoPtr& bo, uint64_t va, uint64_t size, uint32_t flags) {
  VmOpPtr op;
  int r = prepare_map_impl(bo, 0, va, size, flags, /*kernel=*/true, &op);
  if (r) return r;
  return execute(*op, /*async=*/false);
}

int SimVm::prepare_map_impl(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va,
                            uint64_t size, uint32_t flags, bool kernel, VmOpPtr* out) {
  const bool sparse = (flags & kSimMapSparse) != 0;
  if (sparse ? (bo || bo_offset) : !bo) return -EINVAL;
  if (destroyed()) return -EINVAL;
  if ((va | size | bo_offset) % kVmPageSize) return -EINVAL;
  if (!sparse) {
    if (size > bo->size() || bo_offset > bo->size() - size) return -EINVAL;
    // A BO private to a VM maps only into that VM (the kernel compares the
    // VMs' root objects; a destroyed VM matches nothing).
    SimVmPtr excl = bo->exclusive_vm.lock();
    if ((bo->exclusive_vm_id != 0 || excl) && excl.get() != this) return -EINVAL;
    // An invalidated host object has no pages to map (get_user_pages
    // would fail); a stolen one maps whole (see move_pages).
    if (bo->host_invalid.load(std::memory_order_acquire)) return -EFAULT;
    if (bo->host_kind() == SimBo::HostKind::Stolen && (bo_offset != 0 || size != bo->size()))
      return -EINVAL;
  }
  if (kernel) {
    uint64_t end = va + size;
    if (end < va || va < cfg_.user_va_end || end > cfg_.va_size_bytes) return -EINVAL;
  } else if (!check_user_range(va, size)) {
    return -EINVAL;
  }
  try {
    auto op = std::make_unique<VmOp>();
    op->vm = this;
    op->type = VmOpType::Map;
    op->va = va;
    op->size = size;
    op->bo = bo;  // pins the pages until the mapping is gone
    op->bo_offset = bo_offset;
    op->flags = flags & (kSimMapReadOnly | kSimMapNoExec | kSimMapUncached | kSimMapSparse);
    for (auto& n : op->nodes) n = make_node();
    // Fault injection: the page-table reservation fails (nothing changed;
    // the op and what it holds are released on return).
    int r = fault_inject_check("pt_reserve");
    if (!r) r = pt_->reserve(op->reserved_pages, PageTable::map_reservation(va, size));
    if (r) return r;
    *out = std::move(op);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

int SimVm::prepare_unmap(uint64_t va, uint64_t size, VmOpPtr* out) {
  if (destroyed()) return -EINVAL;
  if ((va | size) % kVmPageSize) return -EINVAL;
  uint64_t end = va + size;
  if (end < va || end > cfg_.va_size_bytes) return -EINVAL;
  try {
    auto op = std::make_unique<VmOp>();
    op->vm = this;
    op->type = VmOpType::Unmap;
    op->va = va;
    op->size = size;
    op->nodes[0] = make_node();  // a remnant when unmapping a hole
    int r = pt_->reserve(op->reserved_pages, PageTable::unmap_reservation(va, size));
    if (r) return r;
    *out = std::move(op);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

int SimVm::prepare_user_unmap(uint64_t va, uint64_t size, VmOpPtr* out) {
  const uint64_t end = va + size;
  if (end < va || end > cfg_.user_va_end) return -EINVAL;
  return prepare_unmap(va, size, out);
}

VmOpPtr SimVm::prepare_sync_only() {
  auto op = std::make_unique<VmOp>();
  op->vm = this;
  op->type = VmOpType::SyncOnly;
  return op;
}

int SimVm::restore_none(uint64_t va, uint64_t size) {
  void* p = ::mmap(window_ + va, size, PROT_NONE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? -errno : 0;
}

// Removes [va, end) from the mapping list and the page tables, with
// drm_gpuvm's split semantics: a mapping partly inside keeps its outside
// part(s) (at most two remnants per request). Uses only op's pre-allocated
// node and pages; removed mappings move to op.removed.
void SimVm::remove_range_locked(VmOp& op, uint64_t va, uint64_t end, bool restore_cpu,
                                bool* pt_ok) {
  auto it = mappings_.lower_bound(va);
  if (it != mappings_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size > va) it = prev;
  }
  while (it != mappings_.end() && it->first < end) {
    uint64_t a = it->first, d = a + it->second.size;
    uint64_t ua = std::max(a, va), ud = std::min(d, end);
    if (!pt_->unmap(ua, ud - ua, op.reserved_pages, op.dead_pages)) *pt_ok = false;
    SimMapping& m = it->second;
    if (m.bo && m.bo->host_kind() == SimBo::HostKind::Stolen) {
      // The pages go home (whatever part of the mapping is removed).
      if (move_pages(window_ + ua, ud - ua, m.bo->anon_home() + m.bo_offset + (ua - a)))
        m.bo->stolen_mapped_bytes.fetch_sub(ud - ua, std::memory_order_acq_rel);
    }
    if (restore_cpu) restore_none(ua, ud - ua);
    if (a < va && d > end) {
      // A hole in the middle: the head stays in place, the tail gets the
      // pre-allocated node.
      SimMappingTree::node_type n = take_node(op);
      // prepare_unmap / prepare_map reserved a node for exactly this.
      assert(!n.empty() && "a hole needs the node prepare reserved");
      if (n.empty()) {  // release builds: keep the mapping whole rather than allocate here
        *pt_ok = false;
        break;
      }
      m.size = va - a;
      n.key() = end;
      n.mapped().size = d - end;
      n.mapped().bo = m.bo;
      n.mapped().bo_offset = m.bo_offset + (end - a);
      n.mapped().flags = m.flags;
      mappings_.insert(std::move(n));
      break;
    }
    if (a < va) {  // keep the head
      m.size = va - a;
      ++it;
      continue;
    }
    auto next = std::next(it);
    SimMappingTree::node_type nh = mappings_.extract(it);
    assert(!nh.empty() && "extract of a valid iterator");
    if (d > end) {  // keep the tail: re-key the same node
      nh.key() = end;
      nh.mapped().bo_offset += end - a;
      nh.mapped().size = d - end;
      mappings_.insert(std::move(nh));
      break;
    }
    op.removed.insert(std::move(nh));
    it = next;
  }
}

int SimVm::execute(VmOp& op, bool async) {
  if (op.type == VmOpType::SyncOnly) return 0;
  int ret = 0;
  {
    std::lock_guard<std::mutex> g(op_lock_);
    if (window_released_) {
      ret = -EINVAL;
    } else if (op.type == VmOpType::Map && !usable()) {
      ret = -EINVAL;
    } else {
      unsigned c = inject_count_.load();
      while (c > 0 && !inject_count_.compare_exchange_weak(c, c - 1)) {
      }
      if (c > 0) ret = inject_err_.load();
    }
    if (ret == 0 && op.type == VmOpType::Unmap && op.only_bo) {  // unmap_bo_at
      auto it = mappings_.find(op.va);
      if (it == mappings_.end() || it->second.bo.get() != op.only_bo ||
          it->second.size != op.size)
        ret = -ENOENT;
    }
    if (ret == 0 && op.size != 0) {
      uint64_t end = op.va + op.size;
      bool pt_ok = true;
      if (op.type == VmOpType::Unmap) {
        remove_range_locked(op, op.va, end, /*restore_cpu=*/true, &pt_ok);
      } else {
        // The new mapping replaces whatever is there; MAP_FIXED replaces
        // the CPU side in one go, so only the lists are updated first.
        remove_range_locked(op, op.va, end, /*restore_cpu=*/false, &pt_ok);
        if (!pt_->map(op.va, op.size, op.bo_offset, op.flags, op.reserved_pages,
                      op.dead_pages)) {
          restore_none(op.va, op.size);
          ret = -ENOMEM;
        } else {
          const bool stolen = op.bo && op.bo->host_kind() == SimBo::HostKind::Stolen;
          void* p = MAP_FAILED;
          int map_err = 0;
          if (op.flags & kSimMapSparse) {
            p = ::mmap(window_ + op.va, op.size, PROT_READ,
                       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
          } else if (stolen) {
            // At most one mapping of a stolen object (move_pages).
            uint64_t none = 0;
            if (!op.bo->stolen_mapped_bytes.compare_exchange_strong(none, op.size)) {
              map_err = -EBUSY;
            } else if (!move_pages(op.bo->anon_home(), op.size, window_ + op.va) ||
                       ::mprotect(window_ + op.va, op.size, cpu_prot(op.flags)) != 0) {
              map_err = -errno;
              op.bo->stolen_mapped_bytes.store(0, std::memory_order_release);
            } else {
              p = window_ + op.va;
            }
          } else {
            p = ::mmap(window_ + op.va, op.size, cpu_prot(op.flags), MAP_FIXED | MAP_SHARED,
                       op.bo->memfd(), static_cast<off_t>(op.bo_offset + op.bo->file_offset()));
          }
          if (p == MAP_FAILED) {
            ret = map_err ? map_err : -errno;
            PtPageList none;
            pt_->unmap(op.va, op.size, none, op.dead_pages);
            restore_none(op.va, op.size);
          } else {
            SimMappingTree::node_type n = take_node(op);
            // prepare_map reserved three nodes; execute may not allocate
            // (fence signalling section), so a missing one is a bug: in
            // release builds the map fails rather than allocating.
            assert(!n.empty() && "prepare_map reserved the mapping's node");
            if (n.empty()) {
              PtPageList none;
              pt_->unmap(op.va, op.size, none, op.dead_pages);
              restore_none(op.va, op.size);
              ret = -ENOMEM;
            } else {
              n.key() = op.va;
              n.mapped().size = op.size;
              n.mapped().bo = std::move(op.bo);
              n.mapped().bo_offset = op.bo_offset;
              n.mapped().flags = op.flags;
              mappings_.insert(std::move(n));
            }
          }
        }
      }
    }
  }
  if (ret && async) unusable_.store(true, std::memory_order_release);
  return ret;
}

int SimVm::map(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va, uint64_t size,
               uint32_t flags) {
  VmOpPtr op;
  int r = prepare_map(bo, bo_offset, va, size, flags, &op);
  if (r) return r;
  return execute(*op, /*async=*/false);
}

int SimVm::unmap(uint64_t va, uint64_t size) {
  VmOpPtr op;
  int r = prepare_unmap(va, size, &op);
  if (r) return r;
  return execute(*op, /*async=*/false);
}

int SimVm::unmap_bo_at(const SimBo& bo, uint64_t va, uint64_t size) {
  VmOpPtr op;
  int r = prepare_unmap(va, size, &op);
  if (r) return r;
  op->only_bo = &bo;
  return execute(*op, /*async=*/false);
}

void SimVm::inject_run_failures(int err, unsigned count) {
  inject_err_.store(err);
  inject_count_.store(count);
}

size_t SimVm::mapping_count() const {
  std::lock_guard<std::mutex> g(op_lock_);
  return mappings_.size();
}

bool SimVm::find_mapping(uint64_t va, uint64_t* start, SimMapping* out) const {
  std::lock_guard<std::mutex> g(op_lock_);
  auto it = mappings_.upper_bound(va);
  if (it == mappings_.begin()) return false;
  --it;
  if (va >= it->first + it->second.size) return false;
  *start = it->first;
  *out = it->second;  // copies a shared_ptr: no allocation under the lock
  return true;
}

uint64_t SimVm::zap_bo(const SimBo& bo) {
  std::lock_guard<std::mutex> g(op_lock_);
  if (window_released_) return 0;
  uint64_t zapped = 0;
  for (const auto& [va, m] : mappings_) {
    if (m.bo.get() != &bo) continue;
    restore_none(va, m.size);
    zapped += m.size;
  }
  return zapped;
}

int SimVm::pt_leaf(uint64_t va) const {
  std::lock_guard<std::mutex> g(op_lock_);
  switch (pt_->lookup(va)) {
    case PageTable::Leaf::Page: return 1;
    case PageTable::Leaf::Block: return 2;
    default: return 0;
  }
}

// ------------------------------------------------------- panfrost heaps

namespace {
constexpr uint64_t kHeapBlock = 2ull << 20;
}

int SimVm::map_heap(const SimBoPtr& bo, uint64_t va, uint64_t size) {
  if (!bo || destroyed()) return -EINVAL;
  if ((va | size) % kHeapBlock || size == 0 || size > bo->size()) return -EINVAL;
  if (!check_user_range(va, size)) return -EINVAL;
  HeapMapping m;
  try {
    const uint64_t blocks = size / kHeapBlock;
    m.size = size;
    m.bo = bo;
    m.committed.reset(new uint64_t[(blocks + 63) / 64]());
    std::lock_guard<std::mutex> g(op_lock_);
    if (window_released_) return -EINVAL;
    auto it = heaps_.lower_bound(va);
    if (it != heaps_.end() && it->first < va + size) return -EINVAL;
    if (it != heaps_.begin() && std::prev(it)->first + std::prev(it)->second.size > va)
      return -EINVAL;
    heaps_.emplace(va, std::move(m));
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

void SimVm::unmap_heap(uint64_t va) {
  std::map<uint64_t, HeapMapping> gone;
  std::lock_guard<std::mutex> g(op_lock_);
  auto it = heaps_.find(va);
  if (it == heaps_.end()) return;
  if (!window_released_) restore_none(va, it->second.size);
  gone.insert(heaps_.extract(it));
}

int SimVm::heap_fault(uint64_t va) {
  std::lock_guard<std::mutex> g(op_lock_);
  if (window_released_) return -EFAULT;
  auto it = heaps_.upper_bound(va);
  if (it == heaps_.begin()) return -EFAULT;
  --it;
  HeapMapping& m = it->second;
  const uint64_t off = va - it->first;
  if (off >= m.size) return -EFAULT;
  const uint64_t block = off / kHeapBlock;
  // Already committed (another executor thread of this VM got there
  // first): retry the access. The fault handler makes a fault that
  // repeats at the same block fatal, so this cannot loop.
  if (m.committed[block / 64] & (1ull << (block % 64))) return 1;
  if (fault_inject_check("page_commit")) return -EFAULT;
  SimDevice* dev = m.bo->device();
  if (!dev->try_charge(kHeapBlock)) return -EFAULT;
  void* p = ::mmap(window_ + it->first + block * kHeapBlock, kHeapBlock, PROT_READ | PROT_WRITE,
                   MAP_FIXED | MAP_SHARED, m.bo->memfd(), static_cast<off_t>(block * kHeapBlock));
  if (p == MAP_FAILED) {
    dev->uncharge(kHeapBlock);
    return -EFAULT;
  }
  m.committed[block / 64] |= 1ull << (block % 64);
  m.bo->heap_committed.fetch_add(kHeapBlock, std::memory_order_relaxed);
  return 0;
}

// ------------------------------------------------------ sparse mappings

namespace {
// The sparse mapping covering `va` in `m`, or end().
SimMappingTree::const_iterator sparse_at(const SimMappingTree& m, uint64_t va) {
  auto it = m.upper_bound(va);
  if (it == m.begin()) return m.end();
  --it;
  if (va >= it->first + it->second.size || !(it->second.flags & kSimMapSparse)) return m.end();
  return it;
}
}  // namespace

int SimVm::sparse_write_fault(uint64_t va) {
  std::lock_guard<std::mutex> g(op_lock_);
  if (window_released_ || sparse_at(mappings_, va) == mappings_.end()) return -EFAULT;
  const uint64_t page = va & ~(kVmPageSize - 1);
  void* p = ::mmap(window_ + page, kVmPageSize, PROT_READ | PROT_WRITE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? -EFAULT : 0;
}

void SimVm::sparse_discard(uint64_t va) {
  std::lock_guard<std::mutex> g(op_lock_);
  if (window_released_ || sparse_at(mappings_, va) == mappings_.end()) return;
  const uint64_t page = va & ~(kVmPageSize - 1);
  ::mmap(window_ + page, kVmPageSize, PROT_READ,
         MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

}  // namespace wsys::sim
