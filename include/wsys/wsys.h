/*
 * wsys.h: the C API of the wsys winsys.
 *
 * Conventions
 *  - Every fallible call returns 0 or a negative errno (as the kernel
 *    does); outputs are written only on success. A NULL handle or output
 *    pointer is -EINVAL, never a crash.
 *  - Handles are opaque. Reference-counted ones (wsys_device, wsys_bo) are
 *    released with *_unref; a buffer keeps its device alive, so the order in
 *    which a program releases them does not matter. wsys_vm and
 *    wsys_bind_batch have one owner and are released with *_destroy.
 *  - Thread safety: every call may be made from any thread, except that a
 *    wsys_bind_batch must not be used by two threads at once.
 *  - Statistics structs start with a `size` field the caller sets to
 *    sizeof(the struct): later versions only append fields, and wsys fills
 *    what fits.
 *
 * Link with `pkg-config --cflags --libs wsys` (libwsys.so, which contains
 * the kernel model: WSYS_DEVICE=sim works without a GPU).
 */
#ifndef WSYS_WSYS_H
#define WSYS_WSYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wsys_device wsys_device;
typedef struct wsys_bo wsys_bo;
typedef struct wsys_vm wsys_vm;
typedef struct wsys_bind_batch wsys_bind_batch;
typedef struct wsys_sparse wsys_sparse;
typedef struct wsys_heap wsys_heap;

/* ---- devices ---------------------------------------------------------- */

/* spec: NULL for the WSYS_DEVICE environment variable, else "auto", "sim",
 * "sim:panthor", "sim:panfrost" or a render-node path. */
int wsys_device_open(const char *spec, wsys_device **out);
/* Takes ownership of a render-node fd (closed by wsys, also on failure). */
int wsys_device_open_fd(int fd, wsys_device **out);
void wsys_device_ref(wsys_device *dev);
void wsys_device_unref(wsys_device *dev);

struct wsys_device_info {
  uint32_t size; /* sizeof(struct wsys_device_info) */
  char node[64];
  char driver[16];
  int32_t driver_major, driver_minor;
  uint32_t model; /* 1: the in-process kernel model */
  uint32_t gpu_id;
  uint32_t core_count, core_id_range;
  uint32_t va_bits;
  uint32_t kernel_managed_va; /* 1: panfrost places buffers itself */
  uint32_t madvise;           /* 1: cached buffers are purgeable */
  uint64_t va_start, va_end;
  uint64_t memory_bytes; /* memory the device can use (the model: its budget) */
};
int wsys_device_get_info(wsys_device *dev, struct wsys_device_info *out);

struct wsys_device_stats {
  uint32_t size; /* sizeof(struct wsys_device_stats) */
  uint32_t pad;
  uint64_t bos_live, bytes_live, bytes_requested, peak_bytes_live;
  uint64_t bo_creates, bo_destroys, imports, exports, alloc_retries, zero_fills;
  uint64_t cache_hits, cache_misses, cache_purged_on_reuse, cache_evicted;
  uint64_t cache_entries, cache_bytes, cache_peak_bytes;
  uint64_t va_maps, va_unmaps, va_async_unmaps, va_deferred, va_reclaimed;
  uint64_t va_free_bytes, va_largest_free;
  uint64_t vm_bind_calls, vm_ops_requested, vm_ops_submitted;
};
int wsys_device_get_stats(wsys_device *dev, struct wsys_device_stats *out);

/* Frees up to `bytes` of cached memory now (a low-memory signal); returns
 * the bytes freed (0 for a NULL device). */
uint64_t wsys_device_trim(wsys_device *dev, uint64_t bytes);
/* Decays the cache and reclaims deferred addresses now. */
void wsys_device_maintain(wsys_device *dev);

/* ---- buffers ---------------------------------------------------------- */

enum wsys_alloc_flags {
  WSYS_ALLOC_EXECUTABLE = 1u << 0,
  WSYS_ALLOC_NO_MMAP = 1u << 1,
  WSYS_ALLOC_GPU_UNCACHED = 1u << 2,
  WSYS_ALLOC_SHAREABLE = 1u << 3,
  WSYS_ALLOC_ZEROED = 1u << 8,
  WSYS_ALLOC_NO_CACHE = 1u << 9,
};

/* A buffer of at least `size` bytes with a GPU address in the device VM;
 * label may be NULL. The caller owns one reference. */
int wsys_bo_alloc(wsys_device *dev, uint64_t size, uint32_t flags, const char *label,
                  wsys_bo **out);
/* Imports a dma-buf (the fd stays the caller's). Importing a buffer twice
 * returns the same wsys_bo (with one more reference). */
int wsys_bo_import(wsys_device *dev, int fd, wsys_bo **out);

/* Host memory as GPU memory (docs/host-memory.md). Modes: */
enum wsys_host_mode {
  WSYS_HOST_UPLOAD_DISCARD = 0, /* one-shot upload; range contents unspecified after */
  WSYS_HOST_UPLOAD_KEEP = 1,    /* one-shot upload; range keeps its contents */
  WSYS_HOST_SHARED = 2,         /* buffer and range share pages (private ones remapped) */
};
/* What was done (out_path, may be NULL). */
enum wsys_host_path {
  WSYS_HOST_PATH_STEAL = 0,
  WSYS_HOST_PATH_STEAL_KEEP = 1,
  WSYS_HOST_PATH_BACKED = 2,
  WSYS_HOST_PATH_UDMABUF = 3,
  WSYS_HOST_PATH_COPY = 4,
  WSYS_HOST_PATH_BACKED_REMAP = 5, /* private memory made shared in place, then backed */
};
/* A buffer made of [ptr, ptr + size): -EINVAL for a NULL dev/ptr/out, size
 * 0 or an unknown mode; otherwise the errors of wsys::Device::import_host
 * (-EOPNOTSUPP, -EFAULT, -ENOMEM, ...). The caller owns one reference. */
int wsys_bo_import_host(wsys_device *dev, void *ptr, uint64_t size, uint32_t mode,
                        wsys_bo **out, uint32_t *out_path);
void wsys_bo_ref(wsys_bo *bo);
/* The last reference returns the buffer to the cache (or destroys it). */
void wsys_bo_unref(wsys_bo *bo);

uint64_t wsys_bo_size(const wsys_bo *bo);   /* 0 for NULL */
uint64_t wsys_bo_gpu_va(const wsys_bo *bo); /* 0 for NULL */
uint32_t wsys_bo_handle(const wsys_bo *bo); /* GEM handle; 0 for NULL */
/* The CPU mapping (created on first use, valid while the caller holds a
 * reference). */
int wsys_bo_map(wsys_bo *bo, void **out);
/* A dma-buf fd the caller owns (close it). Needs WSYS_ALLOC_SHAREABLE. */
int wsys_bo_export(wsys_bo *bo, int *out_fd);
/* Records that a submission signals (syncobj, point) when done with it. */
int wsys_bo_mark_used(wsys_bo *bo, uint32_t syncobj, uint64_t point);
/* 1 busy, 0 idle, or a negative errno. Never blocks. */
int wsys_bo_busy(wsys_bo *bo);
/* Absolute CLOCK_MONOTONIC deadline; -ETIME when it passes. */
int wsys_bo_wait(wsys_bo *bo, int64_t abs_deadline_ns);

/* ---- syncobjs (the device's DRM file) ---------------------------------- */

struct wsys_sync_point {
  uint32_t syncobj;
  uint32_t pad;
  uint64_t point; /* 0: a binary syncobj */
};
int wsys_syncobj_create(wsys_device *dev, int signalled, uint32_t *out);
int wsys_syncobj_destroy(wsys_device *dev, uint32_t syncobj);
int wsys_syncobj_signal(wsys_device *dev, uint32_t syncobj, uint64_t point);
/* Waits for one point; absolute deadline (0 polls): -ETIME when not yet. */
int wsys_syncobj_wait(wsys_device *dev, uint32_t syncobj, uint64_t point, int64_t abs_deadline_ns);
int wsys_syncobj_query(wsys_device *dev, uint32_t syncobj, uint64_t *out_point);

/* ---- VMs and binding ---------------------------------------------------- */

enum wsys_map_flags {
  WSYS_MAP_READ_ONLY = 1u << 0,
  WSYS_MAP_NO_EXEC = 1u << 1,
  WSYS_MAP_UNCACHED = 1u << 2,
};
enum wsys_bind_mode {
  WSYS_BIND_IMMEDIATE = 0,
  WSYS_BIND_ASYNC = 1,
  WSYS_BIND_DEFER_TO_IDLE = 2,
};

/* An address range from a VM's allocator (keep it to free it). */
struct wsys_va_range {
  uint64_t addr;
  uint64_t size;
  uint32_t cookie; /* allocator record */
  uint32_t pad;
};

/* A new VM (va_range 0: the kernel's default); the caller owns it. */
int wsys_vm_create(wsys_device *dev, uint64_t va_range, wsys_vm **out);
/* The device's own VM, where every buffer has its address. Borrowed: valid
 * while the device is; wsys_vm_destroy on it is a no-op. */
int wsys_device_vm(wsys_device *dev, wsys_vm **out);
void wsys_vm_destroy(wsys_vm *vm);

int wsys_vm_alloc_va(wsys_vm *vm, uint64_t size, uint64_t align, struct wsys_va_range *out);
int wsys_vm_alloc_va_fixed(wsys_vm *vm, uint64_t addr, uint64_t size, struct wsys_va_range *out);
int wsys_vm_free_va(wsys_vm *vm, const struct wsys_va_range *range);
/* Back to the allocator once `done` signals. */
int wsys_vm_free_va_after(wsys_vm *vm, const struct wsys_va_range *range,
                          const struct wsys_sync_point *done);
/* Unmaps and frees: at once when after is NULL, else behind `after`. */
int wsys_vm_unmap_and_free(wsys_vm *vm, const struct wsys_va_range *range,
                           const struct wsys_sync_point *after);
/* Number of parked ranges returned to the allocator. */
int wsys_vm_reclaim(wsys_vm *vm, int block);

int wsys_bind_batch_create(wsys_bind_batch **out);
void wsys_bind_batch_destroy(wsys_bind_batch *batch);
int wsys_bind_batch_map(wsys_bind_batch *batch, wsys_bo *bo, uint64_t bo_offset, uint64_t va,
                        uint64_t size, uint32_t map_flags);
int wsys_bind_batch_unmap(wsys_bind_batch *batch, uint64_t va, uint64_t size);
int wsys_bind_batch_wait(wsys_bind_batch *batch, const struct wsys_sync_point *p);
int wsys_bind_batch_signal(wsys_bind_batch *batch, const struct wsys_sync_point *p);
/* Ops after coalescing (adjacent maps of one buffer merge); -EINVAL for NULL. */
int wsys_bind_batch_op_count(const wsys_bind_batch *batch);
/* One ioctl; the batch is cleared on success. failed_op (may be NULL): the
 * first op not done. */
int wsys_vm_bind(wsys_vm *vm, wsys_bind_batch *batch, enum wsys_bind_mode mode, size_t *failed_op);

/* 1 usable, 0 not (an async bind failed in the kernel), or -errno. */
int wsys_vm_usable(wsys_vm *vm);
/* A new kernel VM with every mapping replayed at the same addresses. */
int wsys_vm_recreate(wsys_vm *vm);
uint32_t wsys_vm_id(wsys_vm *vm);

struct wsys_vm_stats {
  uint32_t size; /* sizeof(struct wsys_vm_stats) */
  uint32_t pad;
  uint64_t bind_calls, ops_requested, ops_submitted;
  uint64_t immediate, async, deferred;
  uint64_t mappings, va_parked, va_reclaimed, recreations;
  uint64_t va_allocated_bytes, va_free_bytes, va_largest_free;
};
int wsys_vm_get_stats(wsys_vm *vm, struct wsys_vm_stats *out);

/* ---- sparse buffers ----------------------------------------------------- */

/* A VA range of `size` bytes (rounded up to 64 KiB blocks) whose blocks are
 * bound to buffers one by one; unbound blocks read zero (a shared dummy
 * buffer). In the device's VM (vm NULL) or in a VM from wsys_vm_create.
 * -EOPNOTSUPP on panfrost, whose kernel places every buffer itself. One
 * owner: wsys_sparse_destroy. */
int wsys_sparse_create(wsys_device *dev, wsys_vm *vm, uint64_t size, wsys_sparse **out);
/* Unmaps and frees the range: at once (after NULL) or behind `after`. */
void wsys_sparse_destroy(wsys_sparse *sp, const struct wsys_sync_point *after);
uint64_t wsys_sparse_gpu_va(const wsys_sparse *sp);
uint64_t wsys_sparse_size(const wsys_sparse *sp);
/* Queue binds / unbinds of 64 KiB blocks (bo_offset 64 KiB-aligned);
 * nothing reaches the kernel before wsys_sparse_submit. */
int wsys_sparse_bind(wsys_sparse *sp, uint64_t block_first, uint64_t block_count, wsys_bo *bo,
                     uint64_t bo_offset, uint32_t map_flags);
int wsys_sparse_unbind(wsys_sparse *sp, uint64_t block_first, uint64_t block_count);
/* One ioctl; waits/signals need WSYS_BIND_ASYNC. */
int wsys_sparse_submit(wsys_sparse *sp, enum wsys_bind_mode mode,
                       const struct wsys_sync_point *waits, size_t nwaits,
                       const struct wsys_sync_point *signals, size_t nsignals);
/* 1 resident, 0 not (or outside the buffer), -EINVAL for NULL. */
int wsys_sparse_is_resident(const wsys_sparse *sp, uint64_t block);

/* ---- growable heaps (one per context) ----------------------------------- */

struct wsys_heap_config {
  uint32_t size;             /* sizeof(struct wsys_heap_config) */
  uint32_t chunk_size_bytes; /* 0: 2 MiB; a power of two in [128 KiB, 8 MiB] */
  uint32_t max_chunks;       /* 0: 64 (128 MiB reserved) */
  uint32_t fixed_initial_chunks; /* 0: sized from recent frames */
  uint32_t no_idle_shrink;   /* 1: never recreate smaller */
  uint32_t pad;
  uint64_t idle_shrink_ns;   /* 0: 1 s */
};
/* panthor: a tiler heap in the device VM; panfrost: a growable HEAP BO.
 * cfg NULL: the defaults. One owner: wsys_heap_destroy. */
int wsys_heap_create(wsys_device *dev, const struct wsys_heap_config *cfg, wsys_heap **out);
void wsys_heap_destroy(wsys_heap *heap);

struct wsys_heap_target {
  uint32_t handle; /* panthor: tiler heap handle; panfrost: the BO's GEM handle */
  uint32_t pad;
  uint64_t context_va, first_chunk_va; /* panthor */
  uint64_t heap_va, heap_size;         /* panfrost */
  uint64_t generation;                 /* changes when the heap is recreated */
};
int wsys_heap_get_target(wsys_heap *heap, struct wsys_heap_target *out);
/* The last submission using the heap signals `done`. */
int wsys_heap_mark_used(wsys_heap *heap, const struct wsys_sync_point *done);
/* What the tiler used in a frame (from its own counters), for the sizing. */
int wsys_heap_record_frame(wsys_heap *heap, uint64_t used_bytes, uint64_t generation);
/* Recreates an idle, oversized heap smaller: 1 done, 0 not, or -errno. */
int wsys_heap_maybe_shrink(wsys_heap *heap, uint64_t now_ns);

struct wsys_heap_stats {
  uint32_t size; /* sizeof(struct wsys_heap_stats) */
  uint32_t pad;
  uint64_t reserved_bytes, committed_bytes, peak_committed_bytes;
  uint64_t initial_commit_bytes, recommended_commit_bytes;
  uint64_t frames, recreations, generation;
};
int wsys_heap_get_stats(wsys_heap *heap, struct wsys_heap_stats *out);

/* ---- scratch (TLS / WLS), one pool per device ---------------------------- */

struct wsys_scratch_binding {
  wsys_bo *bo;      /* one reference for the caller: wsys_bo_unref when done */
  uint64_t gpu_va;  /* the buffer's address */
  uint64_t size;    /* bytes this request needs (<= the buffer's size) */
  uint32_t size_field; /* the descriptor's size field */
  uint32_t wls_instances;
};
/* The device's shared TLS buffer, grown to fit per_thread_bytes of stack
 * per thread (TLS = npot(align16(n)) x threads per core x core id range). A
 * request of 0 bytes gives an empty binding (bo NULL). */
int wsys_scratch_tls(wsys_device *dev, uint32_t per_thread_bytes,
                     struct wsys_scratch_binding *out);
/* The shared WLS buffer for x*y*z workgroups (indirect: 128 instances). */
int wsys_scratch_wls(wsys_device *dev, uint32_t per_wg_bytes, uint32_t x, uint32_t y, uint32_t z,
                     int indirect, struct wsys_scratch_binding *out);
/* A job using the binding signals `done`: a buffer the pool replaces is
 * freed only after every such point has signalled. */
int wsys_scratch_mark_used(wsys_device *dev, const struct wsys_scratch_binding *b,
                           const struct wsys_sync_point *done);

/* ---- misc ----------------------------------------------------------------- */

/* --- User queues: submission without a system call (docs/user-queues.md).
 * A kernel-model extension, in no released kernel: create is -EOPNOTSUPP
 * there. Commands are the kernel's command format, multiples of 8 bytes. */
typedef struct wsys_user_queue wsys_user_queue;
/* ring_bytes 0: 64 KiB (else a power of two, 4 KiB .. 1 MiB). */
int wsys_user_queue_create(wsys_vm *vm, uint32_t ring_bytes, wsys_user_queue **out);
void wsys_user_queue_destroy(wsys_user_queue *q);
int wsys_user_queue_push(wsys_user_queue *q, const void *commands, size_t bytes);
/* Ends the submission; *out_seqno is its seqno (seen by the GPU after ring). */
int wsys_user_queue_end_submission(wsys_user_queue *q, uint64_t *out_seqno);
/* Publishes what was pushed and writes the doorbell. */
void wsys_user_queue_ring(wsys_user_queue *q);
/* The last completed seqno (0 for a NULL queue). */
uint64_t wsys_user_queue_completed(const wsys_user_queue *q);
/* Polls, then sleeps on a submission fence; -ETIME at the absolute
 * CLOCK_MONOTONIC deadline (0 polls), -EINVAL for a seqno not rung. */
int wsys_user_queue_wait(wsys_user_queue *q, uint64_t seqno, int64_t abs_deadline_ns);
/* A fence for `seqno` (rung) at (syncobj, point); -EAGAIN while evicting. */
int wsys_user_queue_export(wsys_user_queue *q, uint64_t seqno, uint32_t syncobj,
                           uint64_t point);
/* A new sync_file fd in *out_fd (O_CLOEXEC; the caller closes it) that
 * signals when `seqno` (rung) completes; it may be passed to and imported
 * in another process. -EAGAIN while evicting. */
int wsys_user_queue_export_sync_file(wsys_user_queue *q, uint64_t seqno, int *out_fd);

/* --- WSYS_TRACE (docs/trace.md): a C frontend marks its API calls so every
 * wsys event a call causes is linked to it by a flow arrow in the trace.
 * wsys_trace_begin returns NULL when no trace is being written (one relaxed
 * load: call it unconditionally). Spans end in reverse order of beginning,
 * on the thread that began them: wsys_trace_end of any other span is
 * -EINVAL and changes nothing. `name` must outlive the span (a literal).
 * `follows`: a flow id from wsys_trace_flow on another thread, or 0. */
typedef struct wsys_trace_span wsys_trace_span;
int wsys_trace_enabled(void);
wsys_trace_span *wsys_trace_begin(const char *name, uint64_t follows);
int wsys_trace_end(wsys_trace_span *span); /* NULL: 0, nothing to do */
/* An id another thread's span can follow (0 for NULL or when not tracing). */
uint64_t wsys_trace_flow(wsys_trace_span *span);

/* ---- shared buffers (GPU, display, camera) -------------------------------- */

/* A buffer placed on first use from every attached device's DMA constraints
 * (include/wsys/shared_buffer.hpp). The kernel model offers the central
 * allocator as an extension (docs/deferred-allocation.md); elsewhere
 * create is -EOPNOTSUPP. One owner: wsys_shared_buffer_destroy. */
typedef struct wsys_shared_buffer wsys_shared_buffer;
#define WSYS_SHARED_USE_GPU     (1u << 0)
#define WSYS_SHARED_USE_DISPLAY (1u << 1)
#define WSYS_SHARED_USE_CAMERA  (1u << 2)
#define WSYS_SHARED_USE_CPU     (1u << 3)
/* `device` arguments: */
enum wsys_shared_device { WSYS_SHARED_DISPLAY = 0, WSYS_SHARED_CAMERA = 1 };
int wsys_shared_buffer_create(uint64_t size, uint32_t uses, wsys_shared_buffer **out);
void wsys_shared_buffer_destroy(wsys_shared_buffer *sb);
/* The dma-buf fd (owned by the buffer); -EINVAL for NULL. */
int wsys_shared_buffer_fd(const wsys_shared_buffer *sb);
/* The GPU of `dev` attaches; the device binds it at once (a first use). */
int wsys_shared_buffer_import(wsys_shared_buffer *sb, wsys_device *dev, wsys_bo **out);
/* A display (pitch) or camera (stride) attaches; -EINVAL: see _refusal. */
int wsys_shared_buffer_attach(wsys_shared_buffer *sb, uint32_t device, uint32_t pitch,
                              uint32_t height, uint32_t *out_attachment);
int wsys_shared_buffer_map(wsys_shared_buffer *sb, uint32_t device, uint32_t attachment);
int wsys_shared_buffer_unmap(wsys_shared_buffer *sb, uint32_t device,
                             uint32_t attachment);
int wsys_shared_buffer_detach(wsys_shared_buffer *sb, uint32_t device,
                              uint32_t attachment);
/* Display: scans out, *out_sum gets the byte sum; camera: fills with `fill`. */
int wsys_shared_buffer_use(wsys_shared_buffer *sb, uint32_t device, uint32_t attachment,
                           uint8_t fill, uint64_t *out_sum);
int wsys_shared_buffer_begin_cpu_access(wsys_shared_buffer *sb, int read, int write);
/* The last refused attach's unmet constraint (0 none) and its name. */
uint32_t wsys_shared_buffer_refusal(const wsys_shared_buffer *sb);
const char *wsys_shared_refusal_name(uint32_t refusal);
struct wsys_shared_placement {
  uint32_t size; /* sizeof(struct wsys_shared_placement) */
  uint32_t placed, in_use, cpu_used, contiguous_pool;
  uint32_t extents, attachments, migrations;
  uint64_t highest_address;
};
int wsys_shared_buffer_get_placement(const wsys_shared_buffer *sb, struct wsys_shared_placement *out);

/* A static string describing a negative errno ("Invalid argument"). */
const char *wsys_strerror(int err);

/* Why this thread's last failed call failed, when wsys knows more than the
 * errno: for example which WSYS_DEVICE or model setting was bad in
 * wsys_device_open ("WSYS_DEVICE: ..."), or that an allocation failed.
 * Empty ("") until a call has recorded something; calls that succeed do
 * not clear it. The string lives until the thread's next call into wsys. */
const char *wsys_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* WSYS_WSYS_H */
