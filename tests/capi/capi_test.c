/*
 * A C11 program driving the wsys C API end to end on the kernel model, both
 * flavours: devices, buffers (alloc, map, write, cache reuse, export and
 * import into a second device), syncobjs, a VM with address allocation,
 * bind batches (coalescing, immediate and async binds), deferred frees,
 * statistics, and the argument checks. Prints one line per check and exits
 * non-zero if any failed.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wsys/wsys.h"

static int failures;
static int checks;

#define CHECK(cond)                                                      \
  do {                                                                   \
    checks++;                                                            \
    if (!(cond)) {                                                       \
      failures++;                                                        \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                    \
  } while (0)

#define CHECK_OK(expr)                                                          \
  do {                                                                          \
    int r_ = (expr);                                                            \
    checks++;                                                                   \
    if (r_ != 0) {                                                              \
      failures++;                                                               \
      fprintf(stderr, "%s:%d: %s = %d (%s)\n", __FILE__, __LINE__, #expr, r_,    \
              wsys_strerror(r_));                                               \
    }                                                                           \
  } while (0)

static int64_t deadline_ms(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + ms * 1000000LL;
}

static void argument_checks(void) {
  wsys_device *d = NULL;
  wsys_bo *b = NULL;
  CHECK(wsys_device_open(NULL, NULL) == -EINVAL);
  CHECK(strcmp(wsys_last_error(), "") == 0); /* nothing recorded yet on this thread */
  CHECK(wsys_device_open("no-such-device-spec", &d) == -EINVAL);
  CHECK(d == NULL);
  /* The reason, naming the spec it could not use, is kept for the caller. */
  CHECK(strstr(wsys_last_error(), "no-such-device-spec") != NULL);
  CHECK(wsys_bo_alloc(NULL, 4096, 0, NULL, &b) == -EINVAL);
  CHECK(wsys_bo_map(NULL, NULL) == -EINVAL);
  CHECK(wsys_bo_size(NULL) == 0);
  CHECK(wsys_vm_bind(NULL, NULL, WSYS_BIND_IMMEDIATE, NULL) == -EINVAL);
  CHECK(wsys_bind_batch_op_count(NULL) == -EINVAL);
  wsys_bo_unref(NULL);      /* harmless */
  wsys_device_unref(NULL);  /* harmless */
  /* Any int names a message; INT_MIN has no positive counterpart (found by
   * tests/fuzz/capi_fuzzer: the negation overflowed, UBSan's report). */
  CHECK(wsys_strerror(INT_MIN) != NULL);
  CHECK(strcmp(wsys_strerror(-EINVAL), wsys_strerror(EINVAL)) == 0);
}

static void buffers(wsys_device *dev, const char *driver) {
  struct wsys_device_info info = {.size = sizeof info};
  CHECK_OK(wsys_device_get_info(dev, &info));
  CHECK(strcmp(info.driver, driver) == 0);
  CHECK(info.model == 1);
  CHECK(info.memory_bytes >= (1ull << 20)); /* the model's budget */

  wsys_bo *bo = NULL;
  CHECK(wsys_bo_alloc(dev, 0, 0, NULL, &bo) == -EINVAL);
  CHECK(wsys_bo_alloc(dev, 4096, 1u << 30, NULL, &bo) == -EINVAL);
  CHECK_OK(wsys_bo_alloc(dev, 100000, 0, "c-test", &bo));
  CHECK(wsys_bo_size(bo) >= 100000);
  CHECK(wsys_bo_gpu_va(bo) != 0);
  void *p = NULL;
  CHECK_OK(wsys_bo_map(bo, &p));
  memset(p, 0x5a, 100000);
  CHECK(((unsigned char *)p)[99999] == 0x5a);
  CHECK(wsys_bo_busy(bo) == 0);
  uint32_t handle = wsys_bo_handle(bo);
  wsys_bo_unref(bo);

  /* The same class comes back from the cache. */
  CHECK_OK(wsys_bo_alloc(dev, 100000, 0, NULL, &bo));
  CHECK(wsys_bo_handle(bo) == handle);
  struct wsys_device_stats st = {.size = sizeof st};
  CHECK_OK(wsys_device_get_stats(dev, &st));
  CHECK(st.cache_hits == 1);
  CHECK(st.bos_live == 1);
  wsys_bo_unref(bo);

  /* Export, import into a second device: the same memory. */
  wsys_device *dev2 = NULL;
  char spec[32];
  snprintf(spec, sizeof spec, "sim:%s", driver);
  CHECK_OK(wsys_device_open(spec, &dev2));
  wsys_bo *shared = NULL, *imported = NULL, *again = NULL;
  CHECK_OK(wsys_bo_alloc(dev, 65536, WSYS_ALLOC_SHAREABLE, NULL, &shared));
  int fd = -1;
  CHECK_OK(wsys_bo_export(shared, &fd));
  CHECK_OK(wsys_bo_import(dev2, fd, &imported));
  CHECK_OK(wsys_bo_import(dev2, fd, &again));
  CHECK(imported == again);
  void *a = NULL, *b = NULL;
  CHECK_OK(wsys_bo_map(shared, &a));
  CHECK_OK(wsys_bo_map(imported, &b));
  ((volatile unsigned *)a)[7] = 0xc0de;
  CHECK(((volatile unsigned *)b)[7] == 0xc0de);
  close(fd);
  wsys_bo_unref(again);
  wsys_bo_unref(imported);
  /* Drop the device handle before its buffer: the buffer keeps it alive. */
  wsys_device_unref(dev2);
  wsys_bo_unref(shared);

  /* A private buffer cannot be exported. */
  CHECK_OK(wsys_bo_alloc(dev, 4096, 0, NULL, &bo));
  CHECK(wsys_bo_export(bo, &fd) == -EINVAL);
  wsys_bo_unref(bo);

  CHECK(wsys_device_trim(dev, UINT64_MAX) > 0);
  CHECK_OK(wsys_device_get_stats(dev, &st));
  CHECK(st.cache_bytes == 0);
}

static void syncobjs(wsys_device *dev, int timelines) {
  uint32_t s = 0;
  CHECK_OK(wsys_syncobj_create(dev, 0, &s));
  uint64_t pt = timelines ? 4 : 0;
  CHECK(wsys_syncobj_wait(dev, s, pt, 0) != 0);
  CHECK_OK(wsys_syncobj_signal(dev, s, pt));
  CHECK_OK(wsys_syncobj_wait(dev, s, pt, deadline_ms(1000)));
  if (timelines) {
    uint64_t v = 0;
    CHECK_OK(wsys_syncobj_query(dev, s, &v));
    CHECK(v == 4);
  }
  CHECK_OK(wsys_syncobj_destroy(dev, s));
  CHECK(wsys_syncobj_destroy(dev, s) != 0);
}

/* A context's heap: created, described, fed frames; stats follow. */
static void heaps(wsys_device *dev, int panthor) {
  wsys_heap *h = NULL;
  struct wsys_heap_config bad = {.size = sizeof bad, .chunk_size_bytes = 3000};
  CHECK(wsys_heap_create(dev, &bad, &h) == -EINVAL);
  CHECK_OK(wsys_heap_create(dev, NULL, &h));
  struct wsys_heap_target t;
  CHECK_OK(wsys_heap_get_target(h, &t));
  if (panthor) {
    CHECK(t.context_va != 0);
    CHECK(t.first_chunk_va != 0);
  } else {
    CHECK(t.heap_va != 0);
    CHECK(t.heap_size == 128u << 20);
  }
  struct wsys_heap_stats st = {.size = sizeof st};
  CHECK_OK(wsys_heap_get_stats(h, &st));
  CHECK(st.reserved_bytes == 128u << 20);
  CHECK_OK(wsys_heap_record_frame(h, 20u << 20, t.generation));
  CHECK_OK(wsys_heap_get_stats(h, &st));
  CHECK(st.frames == 1);
  CHECK(st.recommended_commit_bytes >= 20u << 20);
  CHECK(wsys_heap_maybe_shrink(h, 0) == 0); /* not idle yet */
  CHECK(wsys_heap_mark_used(h, NULL) == -EINVAL);
  wsys_heap_destroy(h);
}

/* The device's scratch pool: sized by the formula, shared, grown. */
static void scratch(wsys_device *dev) {
  struct wsys_device_info info = {.size = sizeof info};
  CHECK_OK(wsys_device_get_info(dev, &info));
  struct wsys_scratch_binding a, b, c;
  CHECK_OK(wsys_scratch_tls(dev, 0, &a));
  CHECK(a.bo == NULL && a.size == 0);
  CHECK_OK(wsys_scratch_tls(dev, 100, &a)); /* npot(align16(100)) = 128 bytes a thread */
  CHECK(a.bo != NULL);
  CHECK(a.size % (128u * info.core_id_range) == 0);
  CHECK(a.size_field == 3); /* log2(128 / 16) */
  CHECK_OK(wsys_scratch_tls(dev, 64, &b));     /* fits: the same buffer */
  CHECK(b.gpu_va == a.gpu_va);
  CHECK_OK(wsys_scratch_tls(dev, 4096, &c));   /* grows */
  CHECK(c.gpu_va != a.gpu_va);
  CHECK(c.size == a.size / 128 * 4096);
  uint32_t s = 0;
  CHECK_OK(wsys_syncobj_create(dev, 1, &s));
  struct wsys_sync_point done = {.syncobj = s, .point = 0};
  CHECK_OK(wsys_scratch_mark_used(dev, &c, &done));
  CHECK(wsys_scratch_mark_used(dev, &c, NULL) == -EINVAL);
  struct wsys_scratch_binding w;
  CHECK(wsys_scratch_wls(dev, 256, 0, 1, 1, 0, &w) == -EINVAL);
  CHECK_OK(wsys_scratch_wls(dev, 256, 1, 1, 1, 1, &w));
  CHECK(w.wls_instances == 128);
  wsys_bo_unref(a.bo);
  wsys_bo_unref(b.bo);
  wsys_bo_unref(c.bo);
  wsys_bo_unref(w.bo);
  CHECK_OK(wsys_syncobj_destroy(dev, s));
}

static void vms(wsys_device *dev) {
  wsys_vm *vm = NULL;
  CHECK_OK(wsys_vm_create(dev, 0, &vm));
  CHECK(wsys_vm_usable(vm) == 1);
  wsys_bo *bo = NULL;
  CHECK_OK(wsys_bo_alloc(dev, 1 << 20, 0, NULL, &bo));
  struct wsys_va_range r;
  CHECK_OK(wsys_vm_alloc_va(vm, 1 << 20, 1 << 16, &r));
  CHECK(r.addr % (1 << 16) == 0);
  wsys_bind_batch *batch = NULL;
  CHECK_OK(wsys_bind_batch_create(&batch));
  for (int i = 0; i < 16; i++)
    CHECK_OK(wsys_bind_batch_map(batch, bo, (uint64_t)i << 16, r.addr + ((uint64_t)i << 16),
                                 1 << 16, WSYS_MAP_NO_EXEC));
  CHECK(wsys_bind_batch_op_count(batch) == 1);
  CHECK(wsys_bind_batch_map(batch, bo, 0, r.addr, 4096, 1u << 7) == -EINVAL);
  size_t failed = 99;
  CHECK_OK(wsys_vm_bind(vm, batch, WSYS_BIND_IMMEDIATE, &failed));
  CHECK(failed == 1);
  CHECK(wsys_bind_batch_op_count(batch) == 0);

  /* An async sync-only batch signalling a point. */
  uint32_t s = 0;
  CHECK_OK(wsys_syncobj_create(dev, 0, &s));
  struct wsys_sync_point sp = {.syncobj = s, .point = 1};
  CHECK_OK(wsys_bind_batch_signal(batch, &sp));
  CHECK_OK(wsys_vm_bind(vm, batch, WSYS_BIND_ASYNC, NULL));
  /* Any value of the enum's type is legal C; the library answers -EINVAL
   * (and must not read it as a C++ enum: UBSan, capi_fuzzer). */
  CHECK(wsys_vm_bind(vm, batch, (enum wsys_bind_mode)0xa400ffffu, NULL) == -EINVAL);
  CHECK(wsys_vm_bind(vm, batch, (enum wsys_bind_mode)3, NULL) == -EINVAL);
  CHECK_OK(wsys_syncobj_wait(dev, s, 1, deadline_ms(2000)));

  struct wsys_vm_stats vs = {.size = sizeof vs};
  CHECK_OK(wsys_vm_get_stats(vm, &vs));
  CHECK(vs.ops_requested == 16);
  CHECK(vs.ops_submitted == 1);
  CHECK(vs.mappings == 1);

  /* A range freed behind a point comes back only once it signals. */
  struct wsys_va_range r2;
  CHECK_OK(wsys_vm_alloc_va(vm, 1 << 16, 0, &r2));
  uint32_t s2 = 0;
  CHECK_OK(wsys_syncobj_create(dev, 0, &s2));
  struct wsys_sync_point done = {.syncobj = s2, .point = 1};
  CHECK_OK(wsys_vm_free_va_after(vm, &r2, &done));
  CHECK(wsys_vm_reclaim(vm, 0) == 0);
  CHECK_OK(wsys_syncobj_signal(dev, s2, 1));
  CHECK(wsys_vm_reclaim(vm, 0) == 1);

  CHECK_OK(wsys_vm_unmap_and_free(vm, &r, NULL));
  CHECK_OK(wsys_vm_get_stats(vm, &vs));
  CHECK(vs.mappings == 0);
  CHECK(vs.va_allocated_bytes == 0);

  /* A sparse buffer in this VM: bind two pages, read through a mapping
   * of the device (the bound buffer's contents), unbind. */
  wsys_sparse *sparse = NULL;
  CHECK(wsys_sparse_create(dev, vm, 0, &sparse) == -EINVAL);
  /* A size no VM holds fails at once, before wsys sizes its per-page
   * tables for it (found by tests/fuzz/capi_fuzzer: 2^47 bytes first
   * allocated a 256 MiB residency bitmap, then a BoRef per 64 KiB page). */
  {
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    CHECK(wsys_sparse_create(dev, vm, 1ull << 47, &sparse) < 0);
    CHECK(sparse == NULL);
    getrusage(RUSAGE_SELF, &after);
    CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024); /* KiB */
  }
  CHECK_OK(wsys_sparse_create(dev, vm, 1 << 20, &sparse));
  CHECK(wsys_sparse_size(sparse) == 1 << 20);
  CHECK(wsys_sparse_gpu_va(sparse) % 65536 == 0);
  CHECK(wsys_sparse_is_resident(sparse, 3) == 0);
  CHECK_OK(wsys_sparse_bind(sparse, 3, 2, bo, 0, WSYS_MAP_NO_EXEC));
  CHECK(wsys_sparse_bind(sparse, 15, 2, bo, 0, WSYS_MAP_NO_EXEC) == -EINVAL); /* past the end */
  CHECK(wsys_sparse_bind(sparse, 0, 1, bo, 4096, WSYS_MAP_NO_EXEC) == -EINVAL); /* misaligned */
  CHECK_OK(wsys_sparse_submit(sparse, WSYS_BIND_IMMEDIATE, NULL, 0, NULL, 0));
  CHECK(wsys_sparse_submit(sparse, (enum wsys_bind_mode)0xa400ffffu, NULL, 0, NULL, 0) == -EINVAL);
  CHECK(wsys_sparse_is_resident(sparse, 3) == 1);
  CHECK(wsys_sparse_is_resident(sparse, 4) == 1);
  CHECK(wsys_sparse_is_resident(sparse, 5) == 0);
  CHECK_OK(wsys_sparse_unbind(sparse, 3, 1));
  CHECK_OK(wsys_sparse_submit(sparse, WSYS_BIND_IMMEDIATE, NULL, 0, NULL, 0));
  CHECK(wsys_sparse_is_resident(sparse, 3) == 0);
  wsys_sparse_destroy(sparse, NULL);

  wsys_bind_batch_destroy(batch);
  CHECK_OK(wsys_syncobj_destroy(dev, s));
  CHECK_OK(wsys_syncobj_destroy(dev, s2));
  wsys_bo_unref(bo);
  wsys_vm_destroy(vm);

  /* The device's own VM is borrowed. */
  wsys_vm *own = NULL;
  CHECK_OK(wsys_device_vm(dev, &own));
  CHECK(wsys_vm_id(own) != 0);
  wsys_vm_destroy(own); /* a no-op */
  CHECK(wsys_vm_id(own) != 0);
}

/* User queues: a kernel-model extension on panthor; -EOPNOTSUPP elsewhere. */
static void user_queues(wsys_device *dev, int panthor) {
  wsys_vm *own = NULL;
  CHECK_OK(wsys_device_vm(dev, &own));
  wsys_user_queue *q = NULL;
  CHECK(wsys_user_queue_create(NULL, 0, &q) == -EINVAL);
  int r = wsys_user_queue_create(own, 4096, &q);
  if (!panthor) {
    CHECK(r == -EOPNOTSUPP);
    return;
  }
  CHECK_OK(r);
  if (r) return;
  const uint32_t nop[2] = {1u, 8u}; /* the model's NOP */
  uint64_t s = 0;
  for (int i = 0; i < 600; i++) { /* wraps the 4 KiB ring */
    CHECK_OK(wsys_user_queue_push(q, nop, sizeof nop));
    CHECK_OK(wsys_user_queue_end_submission(q, &s));
  }
  CHECK(wsys_user_queue_wait(q, s, deadline_ms(100)) == -EINVAL); /* not rung */
  wsys_user_queue_ring(q);
  CHECK_OK(wsys_user_queue_wait(q, s, deadline_ms(5000)));
  CHECK(wsys_user_queue_completed(q) == s);
  uint32_t so = 0;
  CHECK_OK(wsys_syncobj_create(dev, 0, &so));
  CHECK_OK(wsys_user_queue_export(q, s, so, 0));
  CHECK(wsys_user_queue_export(q, s + 1, so, 0) == -EINVAL); /* never a future fence */
  int sf = -1;
  CHECK(wsys_user_queue_export_sync_file(NULL, s, &sf) == -EINVAL);
  CHECK(wsys_user_queue_export_sync_file(q, s, NULL) == -EINVAL);
  CHECK(wsys_user_queue_export_sync_file(q, s + 1, &sf) == -EINVAL);
  CHECK_OK(wsys_user_queue_export_sync_file(q, s, &sf));
  CHECK(sf >= 0);
  {
    struct pollfd p = {sf, POLLIN, 0};
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN)); /* completed: readable */
  }
  close(sf);
  CHECK_OK(wsys_syncobj_wait(dev, so, 0, deadline_ms(5000)));
  CHECK(wsys_user_queue_push(q, nop, 4) == -EINVAL);
  wsys_user_queue_destroy(q);
}

/* Host memory: an upload that keeps the range is a copy (contents on both
 * sides), private memory cannot be Shared, arguments are checked. */
static void host_memory(wsys_device *dev) {
  const size_t size = 256 * 1024;
  void *p = NULL;
  CHECK(posix_memalign(&p, 4096, size) == 0);
  if (!p) return;
  memset(p, 0x5a, size);
  wsys_bo *bo = NULL;
  uint32_t path = 99;
  CHECK(wsys_bo_import_host(NULL, p, size, WSYS_HOST_UPLOAD_KEEP, &bo, &path) == -EINVAL);
  CHECK(wsys_bo_import_host(dev, NULL, size, WSYS_HOST_UPLOAD_KEEP, &bo, &path) == -EINVAL);
  CHECK(wsys_bo_import_host(dev, p, 0, WSYS_HOST_UPLOAD_KEEP, &bo, &path) == -EINVAL);
  CHECK(wsys_bo_import_host(dev, p, size, 7, &bo, &path) == -EINVAL);
  CHECK(wsys_bo_import_host(dev, (char *)p + 8, 4096, WSYS_HOST_SHARED, &bo, &path) == -EINVAL);
  CHECK_OK(wsys_bo_import_host(dev, p, size, WSYS_HOST_UPLOAD_KEEP, &bo, &path));
  CHECK(path == WSYS_HOST_PATH_COPY);
  void *m = NULL;
  if (bo && wsys_bo_map(bo, &m) == 0) {
    CHECK(memcmp(m, p, size) == 0);
    ((unsigned char *)m)[0] = 0;
    CHECK(((unsigned char *)p)[0] == 0x5a); /* never the GPU side's writes */
  }
  wsys_bo_unref(bo);
  free(p);
}

/* Shared buffers (the model's allocator extension): attach before the first
 * use, placement from the union, a refusal with its reason, real memory
 * from the camera to the display, import into the GPU device. */
static void shared_buffers(wsys_device *dev) {
  wsys_shared_buffer *sb = NULL;
  CHECK(wsys_shared_buffer_create(0, WSYS_SHARED_USE_GPU, &sb) == -EINVAL);
  CHECK(wsys_shared_buffer_fd(NULL) == -EINVAL);
  CHECK_OK(wsys_shared_buffer_create(1 << 20, WSYS_SHARED_USE_CAMERA | WSYS_SHARED_USE_DISPLAY |
                                                  WSYS_SHARED_USE_GPU, &sb));
  if (!sb) return;
  CHECK(wsys_shared_buffer_fd(sb) >= 0);
  uint32_t cam = 0, disp = 0, bad = 0;
  CHECK(wsys_shared_buffer_attach(sb, WSYS_SHARED_DISPLAY, 100, 16, &bad) == -EINVAL);
  CHECK(strcmp(wsys_shared_refusal_name(wsys_shared_buffer_refusal(sb)), "pitch-alignment") == 0);
  CHECK(wsys_shared_buffer_attach(sb, 7, 1024, 16, &bad) == -EINVAL);
  CHECK_OK(wsys_shared_buffer_attach(sb, WSYS_SHARED_CAMERA, 1024, 1024, &cam));
  CHECK_OK(wsys_shared_buffer_attach(sb, WSYS_SHARED_DISPLAY, 1024, 1024, &disp));
  struct wsys_shared_placement pl;
  memset(&pl, 0, sizeof pl);
  pl.size = sizeof pl;
  CHECK_OK(wsys_shared_buffer_get_placement(sb, &pl));
  CHECK(pl.placed == 0 && pl.attachments == 2);
  CHECK_OK(wsys_shared_buffer_map(sb, WSYS_SHARED_CAMERA, cam));
  CHECK_OK(wsys_shared_buffer_map(sb, WSYS_SHARED_DISPLAY, disp));
  CHECK_OK(wsys_shared_buffer_use(sb, WSYS_SHARED_CAMERA, cam, 1, NULL));
  uint64_t sum = 0;
  CHECK_OK(wsys_shared_buffer_use(sb, WSYS_SHARED_DISPLAY, disp, 0, &sum));
  CHECK(sum == (1u << 20));
  CHECK_OK(wsys_shared_buffer_get_placement(sb, &pl));
  CHECK(pl.placed == 1 && pl.extents == 1 && pl.highest_address < (1ull << 32));
  wsys_bo *bo = NULL;
  CHECK_OK(wsys_shared_buffer_import(sb, dev, &bo));
  CHECK(wsys_bo_size(bo) >= (1u << 20));
  wsys_bo_unref(bo);
  CHECK_OK(wsys_shared_buffer_detach(sb, WSYS_SHARED_DISPLAY, disp));
  wsys_shared_buffer_destroy(sb);
}

int main(void) {
  argument_checks();
  const char *drivers[] = {"panthor", "panfrost"};
  for (int i = 0; i < 2; i++) {
    char spec[32];
    snprintf(spec, sizeof spec, "sim:%s", drivers[i]);
    wsys_device *dev = NULL;
    int r = wsys_device_open(spec, &dev);
    CHECK(r == 0);
    if (r != 0) continue;
    buffers(dev, drivers[i]);
    syncobjs(dev, i == 0);
    heaps(dev, i == 0);
    scratch(dev);
    user_queues(dev, i == 0);
    host_memory(dev);
    shared_buffers(dev);
    if (i == 0) {
      vms(dev);
    } else {
      wsys_vm *vm = NULL;
      CHECK(wsys_vm_create(dev, 0, &vm) == -EBUSY); /* one address space per file */
      wsys_vm *own = NULL;
      CHECK_OK(wsys_device_vm(dev, &own));
      struct wsys_va_range rr;
      CHECK(wsys_vm_alloc_va(own, 4096, 0, &rr) == -EOPNOTSUPP);
      wsys_sparse *sp = NULL;
      CHECK(wsys_sparse_create(dev, NULL, 1 << 20, &sp) == -EOPNOTSUPP);
    }
    wsys_device_unref(dev);
  }
  printf("capi: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
