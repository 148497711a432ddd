/*
 * The model's central allocator shared by two processes through the
 * drm-shim (a MODEL EXTENSION, issue 19; docs/deferred-allocation.md,
 * "Several processes"). Plain C, libdrm and the uAPI headers only: both
 * processes see the model through LD_PRELOAD=libwsys-drm-shim.so alone,
 * and reach the allocator, display and camera as the shim's device nodes.
 *
 * Process A (this program without arguments) makes a system of its own
 * (WSYS_SIM_SYSTEM, a file in a fresh temporary directory, so that parallel
 * runs never meet), allocates the buffers and spawns itself as process B
 * with their dma-buf fds inherited. A drives B one step at a time over a
 * pipe; B answers each step with a report (its QUERY and STATS, and the
 * errno of what it tried), so every figure is checked in both processes:
 *   1. B's GPU import and A's display attach are both attachments of one
 *      buffer; A's first use (display MAP) places it, and B's QUERY sees the
 *      same placement and attachment count as A's;
 *   2. a buffer B's CPU used through its GPU (placed above 4 GiB) refuses
 *      A's display attach with EINVAL and `dma-mask`, in both QUERYs;
 *   3. a buffer placed by A and mapped by nobody migrates when B's camera
 *      attaches;
 *   4. the CMA pool is one: A's up-front contiguous buffer leaves B too
 *      little (ENOMEM) until A frees it;
 *   5. a camera capture in B handed to A's display needs no cache
 *      maintenance, a CPU read in A after it does (STATS in A), and A's
 *      scan-out reads the bytes B's camera wrote;
 *   6. B killed (SIGKILL) while attached and mapped: its attachments and
 *      references are gone at A's next QUERY;
 *   7. A lets everything go: no CMA in use, no buffer left behind its fds.
 * Exits 0 only if every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/panthor_drm.h"
#include "drm-uapi/wsys_sim_alloc.h"

#include "check.h"

extern char** environ;

#define MiB (1024u * 1024u)
enum { kBufs = 4, kFirstChildFd = 100 };
/* The buffers A makes and hands to B. */
enum { kShown = 0, kCpuUsed = 1, kMigrates = 2, kHandOver = 3 };
static const uint64_t kSizes[kBufs] = {6 * MiB, 2 * MiB, 2 * MiB, 1 * MiB};

/* What B answers to each step. */
struct report {
  int32_t err; /* errno of the step's operation, 0 if it worked */
  uint32_t unmet;
  struct drm_wsys_alloc_query q;
  struct drm_wsys_alloc_stats s;
};

static int xioctl(int fd, unsigned long req, void* arg) {
  return ioctl(fd, req, arg) == 0 ? 0 : errno;
}

static struct drm_wsys_alloc_query query(int alloc, int buf) {
  struct drm_wsys_alloc_query q = {.fd = buf};
  int e = xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_QUERY, &q);
  CHECK(e == 0, "QUERY of fd %d: errno %d", buf, e);
  return q;
}

static struct drm_wsys_alloc_stats stats(int alloc) {
  struct drm_wsys_alloc_stats s = {0};
  int e = xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_STATS, &s);
  CHECK(e == 0, "STATS: errno %d", e);
  return s;
}

static int periph_attach(int dev, int buf, uint32_t pitch, uint32_t height, uint32_t* id,
                         uint32_t* unmet) {
  struct drm_wsys_periph_attach a = {.fd = buf, .pitch = pitch, .height = height};
  int e = xioctl(dev, DRM_IOCTL_WSYS_PERIPH_ATTACH, &a);
  *id = a.attach_id;
  if (unmet) *unmet = a.unmet;
  return e;
}

static int attach_op(int dev, unsigned long cmd, uint32_t id) {
  struct drm_wsys_alloc_attach_op o = {.attach_id = id};
  return xioctl(dev, cmd, &o);
}

static int periph_use(int dev, uint32_t id, uint64_t* value) {
  struct drm_wsys_periph_use u = {.attach_id = id, .value = *value};
  int e = xioctl(dev, DRM_IOCTL_WSYS_PERIPH_USE, &u);
  *value = u.value;
  return e;
}

static int alloc_buf(int alloc, uint64_t size, uint32_t uses, uint32_t flags, int* fd,
                     uint32_t* handle) {
  struct drm_wsys_alloc_create c = {.size = size, .uses = uses, .flags = flags};
  int e = xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_CREATE, &c);
  *fd = e ? -1 : c.fd;
  *handle = c.handle;
  return e;
}

static int free_buf(int alloc, uint32_t handle) {
  struct drm_wsys_alloc_free f = {.handle = handle};
  return xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_FREE, &f);
}

static int open_node(const char* path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  return fd;
}

/* ------------------------------------------------------------------ B -- */

/* B: one step per command byte from `cmd`, one report each to `rep`. */
static int run_b(int cmd, int rep) {
  int bufs[kBufs];
  for (int i = 0; i < kBufs; i++) bufs[i] = kFirstChildFd + i;
  const int alloc = open_node("/dev/dma_heap/wsys-deferred");
  const int camera = open_node("/dev/wsys-sim-camera");
  const int gpu = open_node("/dev/dri/renderD128");
  if (alloc < 0 || camera < 0 || gpu < 0) return 1;
  uint32_t cam_migrates = 0, cam_hand = 0, extra_handle = 0;
  void* cpu_map = MAP_FAILED;
  char c;
  while (read(cmd, &c, 1) == 1) {
    struct report r;
    memset(&r, 0, sizeof r);
    int buf = bufs[kShown];
    uint32_t h = 0;
    switch (c) {
      case 'i': /* the GPU's attach: PRIME import (panthor: no first use yet) */
        r.err = drmPrimeFDToHandle(gpu, bufs[kShown], &h) ? errno : 0;
        break;
      case 'q': /* QUERY only */
        break;
      case 'm': { /* import, then the CPU maps it through the GPU: a first use */
        buf = bufs[kCpuUsed];
        r.err = drmPrimeFDToHandle(gpu, buf, &h) ? errno : 0;
        struct drm_panthor_bo_mmap_offset o;
        memset(&o, 0, sizeof o);
        o.handle = h;
        if (!r.err) r.err = xioctl(gpu, DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &o);
        if (!r.err) {
          cpu_map = mmap(NULL, kSizes[kCpuUsed], PROT_READ | PROT_WRITE, MAP_SHARED, gpu,
                         (off_t)o.offset);
          r.err = cpu_map == MAP_FAILED ? errno : 0;
        }
        break;
      }
      case 'Q': /* QUERY of the CPU-used buffer */
        buf = bufs[kCpuUsed];
        break;
      case 'c': /* the camera attaches to a placed, unmapped buffer */
        buf = bufs[kMigrates];
        r.err = periph_attach(camera, buf, 1024, 2048, &cam_migrates, &r.unmet);
        break;
      case 'u': /* an up-front contiguous (CMA) buffer of 8 MiB */
        r.err = alloc_buf(alloc, 8 * MiB, WSYS_ALLOC_USE_DISPLAY, WSYS_ALLOC_FLAG_UPFRONT, &buf,
                          &extra_handle);
        if (!r.err) {
          r.s = stats(alloc);
          close(buf);
          r.err = free_buf(alloc, extra_handle);
          /* reported: the STATS with it */
          if (write(rep, &r, sizeof r) != (ssize_t)sizeof r) return 3;
          continue;
        }
        buf = bufs[kShown];
        break;
      case 'h': { /* camera capture into the hand-over buffer */
        buf = bufs[kHandOver];
        r.err = periph_attach(camera, buf, 1024, 1024, &cam_hand, &r.unmet);
        if (!r.err) r.err = attach_op(camera, DRM_IOCTL_WSYS_PERIPH_MAP, cam_hand);
        uint64_t fill = 0x5a;
        if (!r.err) r.err = periph_use(camera, cam_hand, &fill);
        break;
      }
      case 'w': /* hold everything until killed */
        if (write(rep, &r, sizeof r) != (ssize_t)sizeof r) return 3;
        for (;;) pause();
      default:
        return 2;
    }
    r.q = query(alloc, buf);
    r.s = stats(alloc);
    if (write(rep, &r, sizeof r) != (ssize_t)sizeof r) return 3;
  }
  return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ A -- */

static int g_cmd = -1, g_rep = -1;

static struct report step(char c) {
  struct report r;
  memset(&r, 0, sizeof r);
  r.err = -1;
  CHECK(write(g_cmd, &c, 1) == 1, "command '%c' to B", c);
  ssize_t n = read(g_rep, &r, sizeof r);
  CHECK(n == (ssize_t)sizeof r, "B's report of step '%c' (%zd bytes)", c, n);
  return r;
}

static pid_t spawn_b(const int* bufs, int* cmd_w, int* rep_r) {
  int cmd[2], rep[2];
  if (pipe2(cmd, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  /* dup2 clears close-on-exec on the child's copies. */
  posix_spawn_file_actions_adddup2(&fa, cmd[0], kFirstChildFd - 2);
  posix_spawn_file_actions_adddup2(&fa, rep[1], kFirstChildFd - 1);
  for (int i = 0; i < kBufs; i++) posix_spawn_file_actions_adddup2(&fa, bufs[i], kFirstChildFd + i);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = 0;
  char* argv[] = {self, "b", NULL};
  pid_t pid = -1;
  int e = posix_spawn(&pid, self, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(cmd[0]);
  close(rep[1]);
  *cmd_w = cmd[1];
  *rep_r = rep[0];
  return e ? -1 : pid;
}

/* The system's file and directory, removed at exit whatever happened. */
static char g_sys[4200], g_dir[4096];
static void remove_system(void) {
  if (g_sys[0]) unlink(g_sys);
  if (g_dir[0]) rmdir(g_dir);
}

static int run_a(void) {
  /* A system of its own, gone at the end. */
  const char* tmp = getenv("TMPDIR");
  char dirbuf[4096];
  snprintf(dirbuf, sizeof dirbuf, "%s/wsys-shalloc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  char* d = mkdtemp(dirbuf);
  CHECK(d != NULL, "mkdtemp: %s", strerror(errno));
  if (!d) return 1;
  snprintf(g_dir, sizeof g_dir, "%s", d);
  snprintf(g_sys, sizeof g_sys, "%s/system.alloc", d);
  atexit(remove_system);
  setenv("WSYS_SIM_SYSTEM", g_sys, 1);
  setenv("WSYS_SIM_CMA_SIZE", "32M", 1);

  const int alloc = open_node("/dev/dma_heap/wsys-deferred");
  const int display = open_node("/dev/wsys-sim-display");
  if (alloc < 0 || display < 0) return 1;
  struct stat st;
  CHECK(fstat(alloc, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 240 &&
            minor(st.st_rdev) == 0,
        "the allocator node is char device 240:0 (rdev %u:%u)", major(st.st_rdev),
        minor(st.st_rdev));
  struct drm_wsys_periph_info info;
  memset(&info, 0, sizeof info);
  CHECK(xioctl(display, DRM_IOCTL_WSYS_PERIPH_INFO, &info) == 0 &&
            info.kind == WSYS_PERIPH_KIND_DISPLAY,
        "PERIPH_INFO on the display node: kind %u", info.kind);
  struct drm_wsys_alloc_stats s0 = stats(alloc);
  CHECK(s0.cma_size == 32 * MiB && s0.cma_used == 0, "a fresh system: CMA %llu, used %llu",
        (unsigned long long)s0.cma_size, (unsigned long long)s0.cma_used);

  int bufs[kBufs];
  uint32_t handles[kBufs];
  for (int i = 0; i < kBufs; i++) {
    int e = alloc_buf(alloc, kSizes[i], WSYS_ALLOC_USE_GPU | WSYS_ALLOC_USE_DISPLAY, 0, &bufs[i],
                      &handles[i]);
    CHECK(e == 0, "ALLOC %d: errno %d", i, e);
    if (e) return 1;
  }
  uint32_t disp_shown = 0, unmet = 0;
  CHECK(periph_attach(display, bufs[kShown], 4096, 1536, &disp_shown, NULL) == 0, "display attach");

  const pid_t b = spawn_b(bufs, &g_cmd, &g_rep);
  CHECK(b > 0, "spawn B");
  if (b <= 0) return 1;

  /* 1. One placement, seen by both. */
  struct report r = step('i');
  CHECK(r.err == 0, "B's PRIME import: errno %d", r.err);
  CHECK(r.q.attachments == 2 && !(r.q.state & WSYS_ALLOC_STATE_FINALIZED),
        "B sees 2 attachments, not placed (%u, state %#x)", r.q.attachments, r.q.state);
  CHECK(attach_op(display, DRM_IOCTL_WSYS_PERIPH_MAP, disp_shown) == 0, "display MAP");
  struct drm_wsys_alloc_query qa = query(alloc, bufs[kShown]);
  CHECK((qa.state & WSYS_ALLOC_STATE_FINALIZED) && qa.zone == WSYS_ALLOC_ZONE_CMA &&
            qa.extent_count == 1 && qa.highest_addr < (1ull << 32),
        "A's first use places it in one CMA extent (zone %u, %u extents, top %#llx)", qa.zone,
        qa.extent_count, (unsigned long long)qa.highest_addr);
  r = step('q');
  CHECK(r.q.state == qa.state && r.q.zone == qa.zone && r.q.first_addr == qa.first_addr &&
            r.q.extent_count == qa.extent_count && r.q.attachments == 2 && qa.attachments == 2,
        "B's QUERY matches A's (state %#x/%#x, addr %#llx/%#llx, attachments %u/%u)", r.q.state,
        qa.state, (unsigned long long)r.q.first_addr, (unsigned long long)qa.first_addr,
        r.q.attachments, qa.attachments);

  /* 2. Placed by B's CPU use above 4 GiB: A's display is refused. */
  r = step('m');
  CHECK(r.err == 0 && (r.q.state & WSYS_ALLOC_STATE_CPU_USED) && r.q.zone == WSYS_ALLOC_ZONE_NORMAL,
        "B's CPU mapping places it for the GPU alone (errno %d, state %#x, zone %u)", r.err,
        r.q.state, r.q.zone);
  uint32_t disp_refused = 0;
  int e = periph_attach(display, bufs[kCpuUsed], 4096, 512, &disp_refused, &unmet);
  CHECK(e == EINVAL && unmet == WSYS_ALLOC_UNMET_DMA_MASK,
        "A's display attach is refused: errno %d, unmet %u", e, unmet);
  r = step('Q');
  CHECK(r.q.last_unmet == WSYS_ALLOC_UNMET_DMA_MASK && r.q.attachments == 1,
        "B's QUERY names the refusal (last_unmet %u, attachments %u)", r.q.last_unmet,
        r.q.attachments);
  CHECK(r.s.refused_attaches == 1, "one refusal in the shared STATS (%llu)",
        (unsigned long long)r.s.refused_attaches);

  /* 3. Placed by A, mapped by nobody: B's camera makes it migrate. */
  struct drm_wsys_alloc_attach at;
  memset(&at, 0, sizeof at);
  at.fd = bufs[kMigrates];
  at.domain = WSYS_ALLOC_DOMAIN_OTHER;
  CHECK(xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_ATTACH, &at) == 0, "A's attach");
  CHECK(attach_op(alloc, DRM_IOCTL_WSYS_ALLOC_MAP, at.attach_id) == 0 &&
            attach_op(alloc, DRM_IOCTL_WSYS_ALLOC_UNMAP, at.attach_id) == 0,
        "A's MAP and UNMAP");
  qa = query(alloc, bufs[kMigrates]);
  CHECK(qa.zone == WSYS_ALLOC_ZONE_NORMAL, "placed above 4 GiB first (zone %u)", qa.zone);
  r = step('c');
  CHECK(r.err == 0 && r.q.migrations == 1 && r.q.zone == WSYS_ALLOC_ZONE_DMA32 &&
            r.q.highest_addr < (1ull << 32),
        "B's camera attach migrates it below 4 GiB (errno %d, migrations %u, zone %u)", r.err,
        r.q.migrations, r.q.zone);
  qa = query(alloc, bufs[kMigrates]);
  CHECK(qa.migrations == 1 && qa.zone == WSYS_ALLOC_ZONE_DMA32 && qa.attachments == 2,
        "A sees the migration (migrations %u, zone %u, attachments %u)", qa.migrations, qa.zone,
        qa.attachments);

  /* 4. One CMA pool: 6 MiB shown + 24 MiB up front leave B 2 MiB. */
  int big = -1;
  uint32_t big_handle = 0;
  CHECK(alloc_buf(alloc, 24 * MiB, WSYS_ALLOC_USE_DISPLAY, WSYS_ALLOC_FLAG_UPFRONT, &big,
                  &big_handle) == 0,
        "A's up-front 24 MiB");
  r = step('u');
  CHECK(r.err == ENOMEM, "B's up-front 8 MiB finds no CMA room: errno %d", r.err);
  CHECK(r.s.cma_used == 30 * MiB, "B's STATS count A's CMA: %llu",
        (unsigned long long)r.s.cma_used);
  CHECK(free_buf(alloc, big_handle) == 0, "A frees its 24 MiB");
  close(big);
  r = step('u');
  CHECK(r.err == 0 && r.s.cma_used == 14 * MiB,
        "B's up-front 8 MiB fits once A's is gone (errno %d, CMA used %llu)", r.err,
        (unsigned long long)r.s.cma_used);
  CHECK(stats(alloc).cma_used == 6 * MiB, "B's freed buffer left the pool");

  /* 5. Camera (B) -> display (A): no maintenance; a CPU read after it: one. */
  uint32_t disp_hand = 0;
  CHECK(periph_attach(display, bufs[kHandOver], 1024, 1024, &disp_hand, NULL) == 0,
        "display attach to the hand-over buffer");
  struct drm_wsys_alloc_stats before = stats(alloc);
  r = step('h');
  CHECK(r.err == 0, "B's camera capture: errno %d", r.err);
  CHECK(r.q.extent_count == 1 && r.q.highest_addr < (1ull << 32),
        "placed for both devices: one extent below 4 GiB (%u, top %#llx)", r.q.extent_count,
        (unsigned long long)r.q.highest_addr);
  CHECK(attach_op(display, DRM_IOCTL_WSYS_PERIPH_MAP, disp_hand) == 0, "display MAP");
  uint64_t sum = 0;
  CHECK(periph_use(display, disp_hand, &sum) == 0 && sum == 0x5aull * MiB,
        "A's scan-out reads what B's camera wrote (sum %llu)", (unsigned long long)sum);
  struct drm_wsys_alloc_stats after = stats(alloc);
  CHECK(after.cache_flushes == before.cache_flushes &&
            after.cache_invalidates == before.cache_invalidates &&
            after.cache_ops_avoided == before.cache_ops_avoided + 2,
        "device to device across processes: nothing done, 2 avoided (flushes %llu->%llu, "
        "avoided %llu->%llu)",
        (unsigned long long)before.cache_flushes, (unsigned long long)after.cache_flushes,
        (unsigned long long)before.cache_ops_avoided, (unsigned long long)after.cache_ops_avoided);
  struct drm_wsys_alloc_sync sy;
  memset(&sy, 0, sizeof sy);
  sy.fd = bufs[kHandOver];
  sy.domain = WSYS_ALLOC_DOMAIN_CPU;
  sy.flags = WSYS_ALLOC_SYNC_READ;
  CHECK(xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_SYNC, &sy) == 0, "CPU SYNC");
  CHECK(stats(alloc).cache_invalidates == after.cache_invalidates + 1,
        "a CPU read after B's camera wrote invalidates once");

  /* 6. B killed while attached (and mapped): its part is gone. */
  CHECK(query(alloc, bufs[kHandOver]).attachments == 2, "camera and display on the hand-over");
  r = step('w');
  kill(b, SIGKILL);
  int status = 0;
  CHECK(waitpid(b, &status, 0) == b && WIFSIGNALED(status), "B killed (status %#x)", status);
  qa = query(alloc, bufs[kShown]);
  CHECK(qa.attachments == 1 && (qa.state & WSYS_ALLOC_STATE_FINALIZED),
        "B's GPU attach is gone, the placement stays (attachments %u)", qa.attachments);
  qa = query(alloc, bufs[kHandOver]);
  CHECK(qa.attachments == 1 && (qa.state & WSYS_ALLOC_STATE_MAPPED),
        "B's camera attach is gone, A's display mapping stays (attachments %u, state %#x)",
        qa.attachments, qa.state);
  qa = query(alloc, bufs[kCpuUsed]);
  CHECK(qa.attachments == 0, "B's GPU import of the CPU-used buffer is gone (%u)", qa.attachments);
  qa = query(alloc, bufs[kMigrates]);
  CHECK(qa.attachments == 1, "B's camera attach of the migrated buffer is gone (%u)",
        qa.attachments);

  /* 7. A lets go of everything: nothing stays behind. */
  close(display); /* unmaps and detaches its display attachments */
  CHECK(attach_op(alloc, DRM_IOCTL_WSYS_ALLOC_DETACH, at.attach_id) == 0, "A's detach");
  for (int i = 0; i < kBufs; i++) CHECK(free_buf(alloc, handles[i]) == 0, "FREE %d", i);
  struct drm_wsys_alloc_stats end = stats(alloc);
  CHECK(end.cma_used == 0, "no CMA in use at the end (%llu)", (unsigned long long)end.cma_used);
  struct drm_wsys_alloc_query gone;
  memset(&gone, 0, sizeof gone);
  gone.fd = bufs[kShown];
  e = xioctl(alloc, DRM_IOCTL_WSYS_ALLOC_QUERY, &gone);
  CHECK(e == EINVAL, "no shared buffer behind a freed buffer's fd (errno %d)", e);
  for (int i = 0; i < kBufs; i++) close(bufs[i]);
  close(alloc);
  close(g_cmd);
  close(g_rep);
  if (failures) fprintf(stderr, "shim_shared_alloc_test: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "b") == 0) return run_b(kFirstChildFd - 2, kFirstChildFd - 1);
  if (argc != 1) {
    fprintf(stderr, "usage: shim_shared_alloc_test (runs B itself)\n");
    return 2;
  }
  return run_a();
}
