// The C API (include/wsys/wsys.h) over the C++ core. Each entry point
// validates its handles and pointers, catches anything the C++ side could
// throw (allocation failure) and returns a negative errno.
#include "wsys/wsys.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "wsys/device.hpp"
#include "wsys/heap.hpp"
#include "wsys/scratch.hpp"
#include "wsys/shared_buffer.hpp"
#include "wsys/sparse.hpp"
#include "wsys/trace.hpp"
#include "wsys/user_queue.hpp"
#include "wsys/vm.hpp"

struct wsys_user_queue {
  std::unique_ptr<wsys::UserQueue> q;
};

struct wsys_vm {
  std::shared_ptr<wsys::Vm> owned;  // null for the device's own VM
  wsys::Vm* vm = nullptr;
  bool borrowed = false;
};

struct wsys_device {
  std::shared_ptr<wsys::Device> dev;
  std::atomic<uint32_t> refs{1};
  wsys_vm own_vm;  // handed out by wsys_device_vm
  std::mutex scratch_lock;
  std::shared_ptr<wsys::ScratchPool> scratch;  // the device's pool, held while the handle lives
};

struct wsys_bind_batch {
  wsys::BindBatch batch;
};

struct wsys_sparse {
  std::shared_ptr<wsys::SparseBuffer> sp;
};

struct wsys_shared_buffer {
  std::shared_ptr<wsys::SharedBuffer> sb;
};

struct wsys_heap {
  std::unique_ptr<wsys::Heap> heap;
};

namespace {

using wsys::Bo;

Bo* bo_of(wsys_bo* b) { return reinterpret_cast<Bo*>(b); }
const Bo* bo_of(const wsys_bo* b) { return reinterpret_cast<const Bo*>(b); }
wsys_bo* handle_of(Bo* b) { return reinterpret_cast<wsys_bo*>(b); }

void copy_str(char* dst, size_t n, const char* s) {
  std::strncpy(dst, s, n - 1);
  dst[n - 1] = '\0';
}
void copy_str(char* dst, size_t n, const std::string& s) { copy_str(dst, n, s.c_str()); }

// What wsys_last_error() returns: the explanation of this thread's last
// failed call that had one. A fixed buffer, so recording it cannot fail.
thread_local char t_last_error[256];

void set_last_error(const std::string& why) { copy_str(t_last_error, sizeof t_last_error, why); }

// Runs `f`, turning an exception into -ENOMEM (the only one the core can
// raise is std::bad_alloc) so nothing unwinds into C.
template <typename F>
int guarded(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    copy_str(t_last_error, sizeof t_last_error, "out of memory (std::bad_alloc)");
    return -ENOMEM;
  } catch (...) {
    copy_str(t_last_error, sizeof t_last_error, "internal error (unexpected exception)");
    return -EIO;
  }
}

int wrap_device(wsys::Result<std::shared_ptr<wsys::Device>> d, wsys_device** out) {
  if (!d.ok()) return d.error();
  auto* h = new wsys_device;
  h->dev = std::move(*d);
  h->own_vm.vm = &h->dev->vm();
  h->own_vm.borrowed = true;
  *out = h;
  return 0;
}

wsys::VaAllocation va_of(const wsys_va_range* r) {
  wsys::VaAllocation a;
  a.addr = r->addr;
  a.size = r->size;
  a.block = r->cookie;
  return a;
}

void range_of(const wsys::VaAllocation& a, wsys_va_range* out) {
  std::memset(out, 0, sizeof *out);
  out->addr = a.addr;
  out->size = a.size;
  out->cookie = a.block;
}

// Copies the first `size` bytes of a filled struct into the caller's one
// (the versioning rule: fill what fits, keep the caller's size).
template <typename S>
int copy_sized(const S& full, S* out) {
  uint32_t size = out->size;
  if (size < sizeof(uint32_t)) return -EINVAL;
  std::memcpy(out, &full, std::min<size_t>(size, sizeof(S)));
  out->size = size;
  return 0;
}

// A C caller may pass any value of the enum's compatible type (C allows
// it), but in C++ loading a value outside the enumerators' range as the
// enum is undefined (UBSan's -fsanitize=enum fires; capi_fuzzer found it).
// So the parameter is taken by reference and its bytes read as an integer,
// never loaded as the enum.
bool bind_mode_of(const enum wsys_bind_mode& mode, wsys::BindMode* out) {
  static_assert(sizeof(mode) == sizeof(uint32_t), "wsys_bind_mode is an int-sized enum");
  uint32_t raw;
  std::memcpy(&raw, &mode, sizeof raw);
  switch (raw) {
    case WSYS_BIND_IMMEDIATE: *out = wsys::BindMode::Immediate; return true;
    case WSYS_BIND_ASYNC: *out = wsys::BindMode::Async; return true;
    case WSYS_BIND_DEFER_TO_IDLE: *out = wsys::BindMode::DeferToIdle; return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" {

// ---- devices ----

int wsys_device_open(const char* spec, wsys_device** out) {
  if (!out) return -EINVAL;
  return guarded([&] {
    std::string why;
    int r = spec ? wrap_device(wsys::Device::open(std::string_view(spec), wsys::DeviceOptions{}, &why), out)
                 : wrap_device(wsys::Device::open(wsys::DeviceOptions{}, &why), out);
    if (r < 0)
      set_last_error(why.empty() ? std::string("wsys_device_open: ") + std::strerror(-r) : why);
    return r;
  });
}

int wsys_device_open_fd(int fd, wsys_device** out) {
  if (!out) return -EINVAL;
  return guarded([&] { return wrap_device(wsys::Device::from_fd(fd), out); });
}

void wsys_device_ref(wsys_device* dev) {
  if (dev) dev->refs.fetch_add(1, std::memory_order_relaxed);
}

void wsys_device_unref(wsys_device* dev) {
  if (dev && dev->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete dev;
}

int wsys_device_get_info(wsys_device* dev, wsys_device_info* out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    const wsys::DeviceInfo& i = dev->dev->info();
    wsys_device_info f{};
    f.size = sizeof f;
    copy_str(f.node, sizeof f.node, i.node);
    copy_str(f.driver, sizeof f.driver, i.driver);
    f.driver_major = i.driver_major;
    f.driver_minor = i.driver_minor;
    f.model = i.model;
    f.gpu_id = i.gpu_id;
    f.core_count = i.core_count;
    f.core_id_range = i.core_id_range;
    f.va_bits = i.va_bits;
    f.kernel_managed_va = i.kernel_managed_va;
    f.madvise = i.madvise;
    f.va_start = i.va_start;
    f.va_end = i.va_end;
    f.memory_bytes = i.memory_bytes;
    return copy_sized(f, out);
  });
}

int wsys_device_get_stats(wsys_device* dev, wsys_device_stats* out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    wsys::DeviceStats s = dev->dev->stats();
    wsys_device_stats f{};
    f.size = sizeof f;
    f.bos_live = s.bos_live;
    f.bytes_live = s.bytes_live;
    f.bytes_requested = s.bytes_requested;
    f.peak_bytes_live = s.peak_bytes_live;
    f.bo_creates = s.bo_creates;
    f.bo_destroys = s.bo_destroys;
    f.imports = s.imports;
    f.exports = s.exports;
    f.alloc_retries = s.alloc_retries;
    f.zero_fills = s.zero_fills;
    f.cache_hits = s.cache.hits;
    f.cache_misses = s.cache.misses;
    f.cache_purged_on_reuse = s.cache.purged_on_reuse;
    f.cache_evicted = s.cache.evicted;
    f.cache_entries = s.cache.entries;
    f.cache_bytes = s.cache.bytes_cached;
    f.cache_peak_bytes = s.cache.peak_bytes_cached;
    f.va_maps = s.va_maps;
    f.va_unmaps = s.va_unmaps;
    f.va_async_unmaps = s.va_async_unmaps;
    f.va_deferred = s.va_deferred;
    f.va_reclaimed = s.va_reclaimed;
    f.va_free_bytes = s.va.free_bytes;
    f.va_largest_free = s.va.largest_free_block;
    f.vm_bind_calls = s.vm.bind_calls;
    f.vm_ops_requested = s.vm.ops_requested;
    f.vm_ops_submitted = s.vm.ops_submitted;
    return copy_sized(f, out);
  });
}

uint64_t wsys_device_trim(wsys_device* dev, uint64_t bytes) {
  if (!dev) return 0;
  try {
    return dev->dev->trim(bytes);
  } catch (...) {
    return 0;
  }
}

void wsys_device_maintain(wsys_device* dev) {
  if (!dev) return;
  try {
    dev->dev->maintain();
  } catch (...) {
  }
}

// ---- buffers ----

int wsys_bo_alloc(wsys_device* dev, uint64_t size, uint32_t flags, const char* label,
                  wsys_bo** out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    auto b = dev->dev->bo_alloc(size, flags, label ? std::string_view(label) : std::string_view());
    if (!b.ok()) return b.error();
    *out = handle_of(b->release());
    return 0;
  });
}

int wsys_bo_import(wsys_device* dev, int fd, wsys_bo** out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    auto b = dev->dev->bo_import(fd);
    if (!b.ok()) return b.error();
    *out = handle_of(b->release());
    return 0;
  });
}

int wsys_bo_import_host(wsys_device* dev, void* ptr, uint64_t size, uint32_t mode,
                        wsys_bo** out, uint32_t* out_path) {
  if (!dev || !ptr || !size || !out) return -EINVAL;
  static constexpr wsys::HostMemoryMode kModes[] = {wsys::HostMemoryMode::UploadDiscard,
                                                    wsys::HostMemoryMode::UploadKeep,
                                                    wsys::HostMemoryMode::Shared};
  if (mode >= sizeof kModes / sizeof kModes[0]) return -EINVAL;
  return guarded([&] {
    wsys::HostImportPath path{};
    auto b = dev->dev->import_host(ptr, size, kModes[mode], &path);
    if (!b.ok()) return b.error();
    *out = handle_of(b->release());
    if (out_path) *out_path = static_cast<uint32_t>(path);
    return 0;
  });
}

void wsys_bo_ref(wsys_bo* bo) {
  if (bo) bo_of(bo)->ref();
}

void wsys_bo_unref(wsys_bo* bo) {
  if (!bo) return;
  try {
    bo_of(bo)->unref();
  } catch (...) {
  }
}

uint64_t wsys_bo_size(const wsys_bo* bo) { return bo ? bo_of(bo)->size() : 0; }
uint64_t wsys_bo_gpu_va(const wsys_bo* bo) { return bo ? bo_of(bo)->gpu_va() : 0; }
uint32_t wsys_bo_handle(const wsys_bo* bo) { return bo ? bo_of(bo)->handle() : 0; }

int wsys_bo_map(wsys_bo* bo, void** out) {
  if (!bo || !out) return -EINVAL;
  return guarded([&] {
    auto m = bo_of(bo)->map();
    if (!m.ok()) return m.error();
    *out = *m;
    return 0;
  });
}

int wsys_bo_export(wsys_bo* bo, int* out_fd) {
  if (!bo || !out_fd) return -EINVAL;
  return guarded([&] {
    auto fd = bo_of(bo)->export_fd();
    if (!fd.ok()) return fd.error();
    *out_fd = *fd;
    return 0;
  });
}

int wsys_bo_mark_used(wsys_bo* bo, uint32_t syncobj, uint64_t point) {
  if (!bo || !syncobj) return -EINVAL;
  return guarded([&] {
    bo_of(bo)->mark_used(syncobj, point);
    return 0;
  });
}

int wsys_bo_busy(wsys_bo* bo) {
  if (!bo) return -EINVAL;
  return guarded([&] {
    return bo_of(bo)->busy() ? 1 : 0;
  });
}

int wsys_bo_wait(wsys_bo* bo, int64_t abs_deadline_ns) {
  if (!bo) return -EINVAL;
  return guarded([&] {
    return bo_of(bo)->wait(abs_deadline_ns).error();
  });
}

// ---- syncobjs ----

int wsys_syncobj_create(wsys_device* dev, int signalled, uint32_t* out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    auto s = dev->dev->syncobj_create(signalled != 0);
    if (!s.ok()) return s.error();
    *out = *s;
    return 0;
  });
}

int wsys_syncobj_destroy(wsys_device* dev, uint32_t syncobj) {
  if (!dev) return -EINVAL;
  return guarded([&] {
    return dev->dev->syncobj_destroy(syncobj).error();
  });
}

int wsys_syncobj_signal(wsys_device* dev, uint32_t syncobj, uint64_t point) {
  if (!dev) return -EINVAL;
  return guarded([&] {
    return dev->dev->syncobj_signal(syncobj, point).error();
  });
}

int wsys_syncobj_wait(wsys_device* dev, uint32_t syncobj, uint64_t point,
                      int64_t abs_deadline_ns) {
  if (!dev) return -EINVAL;
  return dev->dev->syncobj_wait(wsys::SyncPoint{syncobj, point}, abs_deadline_ns).error();
}

int wsys_syncobj_query(wsys_device* dev, uint32_t syncobj, uint64_t* out_point) {
  if (!dev || !out_point) return -EINVAL;
  return guarded([&] {
    auto q = dev->dev->syncobj_query(syncobj);
    if (!q.ok()) return q.error();
    *out_point = *q;
    return 0;
  });
}

// ---- VMs ----

int wsys_vm_create(wsys_device* dev, uint64_t va_range, wsys_vm** out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    auto v = wsys::Vm::create(dev->dev, va_range);
    if (!v.ok()) return v.error();
    auto* h = new wsys_vm;
    h->owned = std::move(*v);
    h->vm = h->owned.get();
    *out = h;
    return 0;
  });
}

int wsys_device_vm(wsys_device* dev, wsys_vm** out) {
  if (!dev || !out) return -EINVAL;
  *out = &dev->own_vm;
  return 0;
}

void wsys_vm_destroy(wsys_vm* vm) {
  if (vm && !vm->borrowed) delete vm;
}

int wsys_vm_alloc_va(wsys_vm* vm, uint64_t size, uint64_t align, wsys_va_range* out) {
  if (!vm || !out) return -EINVAL;
  return guarded([&] {
    auto a = vm->vm->alloc_va(size, align);
    if (!a.ok()) return a.error();
    range_of(*a, out);
    return 0;
  });
}

int wsys_vm_alloc_va_fixed(wsys_vm* vm, uint64_t addr, uint64_t size, wsys_va_range* out) {
  if (!vm || !out) return -EINVAL;
  return guarded([&] {
    auto a = vm->vm->alloc_va_fixed(addr, size);
    if (!a.ok()) return a.error();
    range_of(*a, out);
    return 0;
  });
}

int wsys_vm_free_va(wsys_vm* vm, const wsys_va_range* range) {
  if (!vm || !range) return -EINVAL;
  return guarded([&] {
    return vm->vm->free_va(va_of(range)).error();
  });
}

int wsys_vm_free_va_after(wsys_vm* vm, const wsys_va_range* range, const wsys_sync_point* done) {
  if (!vm || !range || !done) return -EINVAL;
  return guarded([&] {
    return vm->vm->free_va_after(va_of(range), wsys::SyncPoint{done->syncobj, done->point}).error();
  });
}

int wsys_vm_unmap_and_free(wsys_vm* vm, const wsys_va_range* range, const wsys_sync_point* after) {
  if (!vm || !range) return -EINVAL;
  return guarded([&] {
    std::optional<wsys::SyncPoint> a;
    if (after) a = wsys::SyncPoint{after->syncobj, after->point};
    return vm->vm->unmap_and_free(va_of(range), a).error();
  });
}

int wsys_vm_reclaim(wsys_vm* vm, int block) {
  if (!vm) return -EINVAL;
  return guarded([&] { return static_cast<int>(vm->vm->reclaim(block != 0)); });
}

int wsys_bind_batch_create(wsys_bind_batch** out) {
  if (!out) return -EINVAL;
  return guarded([&] {
    *out = new wsys_bind_batch;
    return 0;
  });
}

void wsys_bind_batch_destroy(wsys_bind_batch* batch) { delete batch; }

int wsys_bind_batch_map(wsys_bind_batch* batch, wsys_bo* bo, uint64_t bo_offset, uint64_t va,
                        uint64_t size, uint32_t map_flags) {
  if (!batch || !bo) return -EINVAL;
  if (map_flags & ~(WSYS_MAP_READ_ONLY | WSYS_MAP_NO_EXEC | WSYS_MAP_UNCACHED)) return -EINVAL;
  return guarded([&] {
    batch->batch.map(*bo_of(bo), bo_offset, va, size, map_flags);
    return 0;
  });
}

int wsys_bind_batch_unmap(wsys_bind_batch* batch, uint64_t va, uint64_t size) {
  if (!batch) return -EINVAL;
  return guarded([&] {
    batch->batch.unmap(va, size);
    return 0;
  });
}

int wsys_bind_batch_wait(wsys_bind_batch* batch, const wsys_sync_point* p) {
  if (!batch || !p || !p->syncobj) return -EINVAL;
  return guarded([&] {
    batch->batch.wait(wsys::SyncPoint{p->syncobj, p->point});
    return 0;
  });
}

int wsys_bind_batch_signal(wsys_bind_batch* batch, const wsys_sync_point* p) {
  if (!batch || !p || !p->syncobj) return -EINVAL;
  return guarded([&] {
    batch->batch.signal(wsys::SyncPoint{p->syncobj, p->point});
    return 0;
  });
}

int wsys_bind_batch_op_count(const wsys_bind_batch* batch) {
  if (!batch) return -EINVAL;
  return static_cast<int>(batch->batch.op_count());
}

int wsys_vm_bind(wsys_vm* vm, wsys_bind_batch* batch, enum wsys_bind_mode mode,
                 size_t* failed_op) {
  if (!vm || !batch) return -EINVAL;
  wsys::BindMode m;
  if (!bind_mode_of(mode, &m)) return -EINVAL;
  return guarded([&] { return vm->vm->bind(batch->batch, m, failed_op).error(); });
}

int wsys_vm_usable(wsys_vm* vm) {
  if (!vm) return -EINVAL;
  return vm->vm->usable() ? 1 : 0;
}

int wsys_vm_recreate(wsys_vm* vm) {
  if (!vm) return -EINVAL;
  return guarded([&] { return vm->vm->recreate().error(); });
}

uint32_t wsys_vm_id(wsys_vm* vm) {
  return vm ? vm->vm->kernel_id() : 0;
}

int wsys_vm_get_stats(wsys_vm* vm, wsys_vm_stats* out) {
  if (!vm || !out) return -EINVAL;
  return guarded([&] {
    wsys::VmStats s = vm->vm->stats();
    wsys_vm_stats f{};
    f.size = sizeof f;
    f.bind_calls = s.bind_calls;
    f.ops_requested = s.ops_requested;
    f.ops_submitted = s.ops_submitted;
    f.immediate = s.immediate;
    f.async = s.async;
    f.deferred = s.deferred;
    f.mappings = s.mappings;
    f.va_parked = s.va_parked;
    f.va_reclaimed = s.va_reclaimed;
    f.recreations = s.recreations;
    f.va_allocated_bytes = s.va.allocated_bytes;
    f.va_free_bytes = s.va.free_bytes;
    f.va_largest_free = s.va.largest_free_block;
    return copy_sized(f, out);
  });
}

// ---- sparse ----

int wsys_sparse_create(wsys_device* dev, wsys_vm* vm, uint64_t size, wsys_sparse** out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    wsys::Result<std::shared_ptr<wsys::SparseBuffer>> s =
        (vm && !vm->borrowed) ? wsys::SparseBuffer::create(vm->owned, size)
                              : wsys::SparseBuffer::create(dev->dev, size);
    if (!s.ok()) return s.error();
    *out = new wsys_sparse{std::move(*s)};
    return 0;
  });
}

void wsys_sparse_destroy(wsys_sparse* sp, const wsys_sync_point* after) {
  if (!sp) return;
  try {
    std::optional<wsys::SyncPoint> a;
    if (after) a = wsys::SyncPoint{after->syncobj, after->point};
    (void)sp->sp->destroy(a);
  } catch (...) {
  }
  delete sp;
}

uint64_t wsys_sparse_gpu_va(const wsys_sparse* sp) { return sp ? sp->sp->gpu_va() : 0; }
uint64_t wsys_sparse_size(const wsys_sparse* sp) { return sp ? sp->sp->size() : 0; }

int wsys_sparse_bind(wsys_sparse* sp, uint64_t block_first, uint64_t block_count, wsys_bo* bo,
                     uint64_t bo_offset, uint32_t map_flags) {
  if (!sp || !bo) return -EINVAL;
  return guarded([&] {
    return sp->sp->bind(block_first, block_count, *bo_of(bo), bo_offset, map_flags).error();
  });
}

int wsys_sparse_unbind(wsys_sparse* sp, uint64_t block_first, uint64_t block_count) {
  if (!sp) return -EINVAL;
  return guarded([&] { return sp->sp->unbind(block_first, block_count).error(); });
}

int wsys_sparse_submit(wsys_sparse* sp, enum wsys_bind_mode mode, const wsys_sync_point* waits,
                       size_t nwaits, const wsys_sync_point* signals, size_t nsignals) {
  if (!sp || (nwaits && !waits) || (nsignals && !signals)) return -EINVAL;
  wsys::BindMode m;
  if (!bind_mode_of(mode, &m)) return -EINVAL;
  return guarded([&] {
    std::vector<wsys::SyncPoint> w, s;
    for (size_t i = 0; i < nwaits; ++i) w.push_back({waits[i].syncobj, waits[i].point});
    for (size_t i = 0; i < nsignals; ++i) s.push_back({signals[i].syncobj, signals[i].point});
    return sp->sp->submit(m, w, s).error();
  });
}

int wsys_sparse_is_resident(const wsys_sparse* sp, uint64_t block) {
  if (!sp) return -EINVAL;
  return sp->sp->is_resident(block) ? 1 : 0;
}

// ---- heaps ----

int wsys_heap_create(wsys_device* dev, const wsys_heap_config* cfg, wsys_heap** out) {
  if (!dev || !out) return -EINVAL;
  if (cfg && cfg->size < sizeof(uint32_t)) return -EINVAL;
  return guarded([&] {
    wsys::HeapConfig c;
    if (cfg) {
      wsys_heap_config full{};
      std::memcpy(&full, cfg, std::min<size_t>(cfg->size, sizeof full));
      if (full.chunk_size_bytes) c.chunk_size_bytes = full.chunk_size_bytes;
      if (full.max_chunks) c.max_chunks = full.max_chunks;
      c.fixed_initial_chunks = full.fixed_initial_chunks;
      c.idle_shrink = full.no_idle_shrink == 0;
      if (full.idle_shrink_ns) c.idle_shrink_ns = full.idle_shrink_ns;
    }
    auto h = wsys::Heap::create(dev->dev, c);
    if (!h.ok()) return h.error();
    *out = new wsys_heap{std::move(*h)};
    return 0;
  });
}

void wsys_heap_destroy(wsys_heap* heap) { delete heap; }

int wsys_heap_get_target(wsys_heap* heap, wsys_heap_target* out) {
  if (!heap || !out) return -EINVAL;
  return guarded([&] {
    wsys::HeapTarget t = heap->heap->target();
    std::memset(out, 0, sizeof *out);
    out->handle = t.handle;
    out->context_va = t.context_va;
    out->first_chunk_va = t.first_chunk_va;
    out->heap_va = t.heap_va;
    out->heap_size = t.heap_size_bytes;
    out->generation = t.generation;
    return 0;
  });
}

int wsys_heap_mark_used(wsys_heap* heap, const wsys_sync_point* done) {
  if (!heap || !done || !done->syncobj) return -EINVAL;
  return guarded([&] {
    heap->heap->mark_used(wsys::SyncPoint{done->syncobj, done->point});
    return 0;
  });
}

int wsys_heap_record_frame(wsys_heap* heap, uint64_t used_bytes, uint64_t generation) {
  if (!heap) return -EINVAL;
  return guarded([&] {
    heap->heap->record_frame(used_bytes, generation);
    return 0;
  });
}

int wsys_heap_maybe_shrink(wsys_heap* heap, uint64_t now_ns) {
  if (!heap) return -EINVAL;
  return guarded([&] {
    auto r = heap->heap->maybe_shrink(now_ns);
    if (!r.ok()) return r.error();
    return *r ? 1 : 0;
  });
}

int wsys_heap_get_stats(wsys_heap* heap, wsys_heap_stats* out) {
  if (!heap || !out) return -EINVAL;
  return guarded([&] {
    wsys::HeapStats s = heap->heap->stats();
    wsys_heap_stats f{};
    f.size = sizeof f;
    f.reserved_bytes = s.reserved_bytes;
    f.committed_bytes = s.committed_bytes;
    f.peak_committed_bytes = s.peak_committed_bytes;
    f.initial_commit_bytes = s.initial_commit_bytes;
    f.recommended_commit_bytes = s.recommended_commit_bytes;
    f.frames = s.frames;
    f.recreations = s.recreations;
    f.generation = s.generation;
    return copy_sized(f, out);
  });
}

// ---- scratch ----

}  // extern "C": the helpers below return C++ types

namespace {

wsys::Result<wsys::ScratchPool*> pool_of(wsys_device* dev) {
  std::lock_guard<std::mutex> g(dev->scratch_lock);
  if (!dev->scratch) {
    auto p = dev->dev->scratch_pool();
    if (!p.ok()) return wsys::Error(p.error());
    dev->scratch = std::move(*p);
  }
  return dev->scratch.get();
}

int fill_binding(wsys::Result<wsys::ScratchBinding> r, wsys_scratch_binding* out) {
  if (!r.ok()) return r.error();
  std::memset(out, 0, sizeof *out);
  out->gpu_va = r->gpu_va;
  out->size = r->size;
  out->size_field = r->size_field;
  out->wls_instances = r->wls_instances;
  out->bo = handle_of(r->bo.release());
  return 0;
}

}  // namespace

extern "C" {

int wsys_scratch_tls(wsys_device* dev, uint32_t per_thread_bytes, wsys_scratch_binding* out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    auto p = pool_of(dev);
    if (!p.ok()) return p.error();
    return fill_binding((*p)->tls(per_thread_bytes), out);
  });
}

int wsys_scratch_wls(wsys_device* dev, uint32_t per_wg_bytes, uint32_t x, uint32_t y, uint32_t z,
                     int indirect, wsys_scratch_binding* out) {
  if (!dev || !out) return -EINVAL;
  return guarded([&] {
    auto p = pool_of(dev);
    if (!p.ok()) return p.error();
    return fill_binding((*p)->wls(per_wg_bytes, x, y, z, indirect != 0), out);
  });
}

int wsys_scratch_mark_used(wsys_device* dev, const wsys_scratch_binding* b,
                           const wsys_sync_point* done) {
  if (!dev || !b || !b->bo || !done || !done->syncobj) return -EINVAL;
  return guarded([&] {
    auto p = pool_of(dev);
    if (!p.ok()) return p.error();
    wsys::ScratchBinding sb;
    Bo* bo = bo_of(b->bo);
    bo->ref();
    sb.bo = wsys::BoRef::adopt(bo);
    sb.gpu_va = b->gpu_va;
    sb.size = b->size;
    sb.size_field = b->size_field;
    sb.wls_instances = b->wls_instances;
    return (*p)->mark_used(sb, wsys::SyncPoint{done->syncobj, done->point}).error();
  });
}

const char* wsys_last_error(void) { return t_last_error; }

const char* wsys_strerror(int err) {
  // -INT_MIN does not exist (and is no errno either).
  return std::strerror(err < 0 && err != INT_MIN ? -err : err);
}

// --- user queues ---

int wsys_user_queue_create(wsys_vm* vm, uint32_t ring_bytes, wsys_user_queue** out) {
  if (!vm || !vm->vm || !out) return -EINVAL;
  return guarded([&] {
    wsys::UserQueueOptions o;
    if (ring_bytes) o.ring_bytes = ring_bytes;
    auto q = wsys::UserQueue::create(*vm->vm, o);
    if (!q.ok()) return q.error();
    *out = new wsys_user_queue{std::move(*q)};
    return 0;
  });
}

void wsys_user_queue_destroy(wsys_user_queue* q) { delete q; }

int wsys_user_queue_push(wsys_user_queue* q, const void* commands, size_t bytes) {
  if (!q || (!commands && bytes)) return -EINVAL;
  return guarded([&] {
    return q->q->push({static_cast<const uint8_t*>(commands), bytes}).error();
  });
}

int wsys_user_queue_end_submission(wsys_user_queue* q, uint64_t* out_seqno) {
  if (!q || !out_seqno) return -EINVAL;
  return guarded([&] {
    auto s = q->q->end_submission();
    if (!s.ok()) return s.error();
    *out_seqno = *s;
    return 0;
  });
}

void wsys_user_queue_ring(wsys_user_queue* q) {
  if (q) q->q->ring();
}

uint64_t wsys_user_queue_completed(const wsys_user_queue* q) { return q ? q->q->completed() : 0; }

int wsys_user_queue_wait(wsys_user_queue* q, uint64_t seqno, int64_t abs_deadline_ns) {
  if (!q) return -EINVAL;
  return guarded([&] { return q->q->wait(seqno, abs_deadline_ns).error(); });
}

int wsys_user_queue_export(wsys_user_queue* q, uint64_t seqno, uint32_t syncobj, uint64_t point) {
  if (!q) return -EINVAL;
  return guarded([&] { return q->q->export_point(seqno, wsys::SyncPoint{syncobj, point}).error(); });
}

int wsys_user_queue_export_sync_file(wsys_user_queue* q, uint64_t seqno, int* out_fd) {
  if (!q || !out_fd) return -EINVAL;
  return guarded([&] {
    auto fd = q->q->export_sync_file(seqno);
    if (!fd) return fd.error();
    *out_fd = *fd;
    return 0;
  });
}

struct wsys_trace_span {
  explicit wsys_trace_span(const char* name, uint64_t follows) : span(name, follows) {}
  wsys::trace::Span span;
};

int wsys_trace_enabled(void) { return wsys::trace::enabled() ? 1 : 0; }

wsys_trace_span* wsys_trace_begin(const char* name, uint64_t follows) {
  if (!wsys::trace::enabled()) return nullptr;
  if (!name) {
    set_last_error("wsys_trace_begin: name is NULL");
    return nullptr;
  }
  try {
    return new wsys_trace_span(name, follows);
  } catch (...) {
    set_last_error("out of memory (std::bad_alloc)");
    return nullptr;
  }
}

int wsys_trace_end(wsys_trace_span* span) {
  if (!span) return 0;
  if (!span->span.innermost()) {
    set_last_error("wsys_trace_end: not this thread's innermost span (end spans in reverse order, "
                   "on the thread that began them)");
    return -EINVAL;
  }
  delete span;
  return 0;
}

uint64_t wsys_trace_flow(wsys_trace_span* span) {
  if (!span) return 0;
  try {
    return span->span.flow();
  } catch (...) {
    return 0;
  }
}

}  // extern "C"

// ---- shared buffers ----

namespace {
wsys::SharedDevice shared_device(uint32_t d) {
  return d == WSYS_SHARED_CAMERA ? wsys::SharedDevice::Camera : wsys::SharedDevice::Display;
}
// A plain integer, never an out-of-range enum value (undefined in C++).
bool valid_device(uint32_t d) { return d == WSYS_SHARED_DISPLAY || d == WSYS_SHARED_CAMERA; }
}  // namespace

int wsys_shared_buffer_create(uint64_t size, uint32_t uses, wsys_shared_buffer** out) {
  if (!out) return -EINVAL;
  return guarded([&] {
    auto b = wsys::SharedBuffer::create(size, uses);
    if (!b.ok()) return b.error();
    *out = new wsys_shared_buffer{std::move(*b)};
    return 0;
  });
}

void wsys_shared_buffer_destroy(wsys_shared_buffer* sb) { delete sb; }

int wsys_shared_buffer_fd(const wsys_shared_buffer* sb) { return sb ? sb->sb->fd() : -EINVAL; }

int wsys_shared_buffer_import(wsys_shared_buffer* sb, wsys_device* dev, wsys_bo** out) {
  if (!sb || !dev || !out) return -EINVAL;
  return guarded([&] {
    auto b = sb->sb->import_into(*dev->dev);
    if (!b.ok()) return b.error();
    *out = handle_of(b->release());
    return 0;
  });
}

int wsys_shared_buffer_attach(wsys_shared_buffer* sb, uint32_t d, uint32_t pitch,
                              uint32_t height, uint32_t* out_attachment) {
  if (!sb || !out_attachment || !valid_device(d)) return -EINVAL;
  return guarded([&] {
    auto a = sb->sb->attach(shared_device(d), pitch, height);
    if (!a.ok()) return a.error();
    *out_attachment = *a;
    return 0;
  });
}

int wsys_shared_buffer_map(wsys_shared_buffer* sb, uint32_t d, uint32_t attachment) {
  if (!sb || !valid_device(d)) return -EINVAL;
  return guarded([&] { return sb->sb->map(shared_device(d), attachment).error(); });
}

int wsys_shared_buffer_unmap(wsys_shared_buffer* sb, uint32_t d, uint32_t attachment) {
  if (!sb || !valid_device(d)) return -EINVAL;
  return guarded([&] { return sb->sb->unmap(shared_device(d), attachment).error(); });
}

int wsys_shared_buffer_detach(wsys_shared_buffer* sb, uint32_t d, uint32_t attachment) {
  if (!sb || !valid_device(d)) return -EINVAL;
  return guarded([&] { return sb->sb->detach(shared_device(d), attachment).error(); });
}

int wsys_shared_buffer_use(wsys_shared_buffer* sb, uint32_t d, uint32_t attachment,
                           uint8_t fill, uint64_t* out_sum) {
  if (!sb || !valid_device(d)) return -EINVAL;
  return guarded([&] {
    auto r = sb->sb->use(shared_device(d), attachment, fill);
    if (!r.ok()) return r.error();
    if (out_sum) *out_sum = *r;
    return 0;
  });
}

int wsys_shared_buffer_begin_cpu_access(wsys_shared_buffer* sb, int read, int write) {
  if (!sb || (!read && !write)) return -EINVAL;
  return guarded([&] { return sb->sb->begin_cpu_access(read != 0, write != 0).error(); });
}

uint32_t wsys_shared_buffer_refusal(const wsys_shared_buffer* sb) {
  return sb ? static_cast<uint32_t>(sb->sb->refusal()) : 0;
}

const char* wsys_shared_refusal_name(uint32_t refusal) {
  return wsys::shared_refusal_name(static_cast<wsys::SharedRefusal>(refusal));
}

int wsys_shared_buffer_get_placement(const wsys_shared_buffer* sb,
                                     struct wsys_shared_placement* out) {
  if (!sb || !out || out->size < sizeof(wsys_shared_placement)) return -EINVAL;
  return guarded([&] {
    auto p = sb->sb->placement();
    if (!p.ok()) return p.error();
    out->placed = p->placed;
    out->in_use = p->in_use;
    out->cpu_used = p->cpu_used;
    out->contiguous_pool = p->contiguous_pool;
    out->extents = p->extents;
    out->attachments = p->attachments;
    out->migrations = p->migrations;
    out->highest_address = p->highest_address;
    return 0;
  });
}
