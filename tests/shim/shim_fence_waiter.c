/*
 * The other process of the cross-process fence test
 * (shim_userq_cross_process_test.cpp): an unmodified libdrm program under
 * the drm-shim that is handed a sync_file exported by the kernel model of
 * ANOTHER process (a user queue's submission fence) and waits for it the
 * way a compositor or another driver would.
 *
 * Usage: shim_fence_waiter SYNC_FILE_FD REPORT_FD
 *   1. checks the fence is still pending: poll() of the fd and a zero
 *      timeout syncobj wait after importing it into a syncobj of its own
 *      render node (DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, IMPORT_SYNC_FILE);
 *   2. writes 'R' to REPORT_FD (the exporter then lets its work finish);
 *   3. waits on the syncobj (10 s), then writes 'S' to REPORT_FD;
 *   4. checks poll() of the fd now reports it readable.
 * Exits 0 only if every check passed; prints each failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "check.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(int fd, char c) {
  if (write(fd, &c, 1) != 1) {
    failures++;
    perror("shim_fence_waiter: report");
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: shim_fence_waiter SYNC_FILE_FD REPORT_FD\n");
    return 2;
  }
  const int sf = atoi(argv[1]), rep = atoi(argv[2]);
  const int drm = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
  CHECK(drm >= 0, "open the render node: errno %d", errno);
  if (drm < 0) return 1;

  struct pollfd p = {sf, POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 0, "the fence signalled before its work was let go (revents %#x)",
        p.revents);
  uint32_t so = 0;
  int r = drmSyncobjCreate(drm, 0, &so);
  CHECK(r == 0, "drmSyncobjCreate: %d", r);
  r = drmSyncobjImportSyncFile(drm, so, sf);
  CHECK(r == 0, "import a sync_file of another process: %d (errno %d)", r, errno);
  r = drmSyncobjWait(drm, &so, 1, now_ns(), 0, NULL);
  CHECK(r == -ETIME, "a zero-timeout wait on the pending fence: %d", r);

  report(rep, 'R');
  r = drmSyncobjWait(drm, &so, 1, now_ns() + 10000000000LL, 0, NULL);
  CHECK(r == 0, "the wait for the other process's work: %d", r);
  report(rep, 'S');
  p.revents = 0;
  CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "the sync_file is readable once signalled");

  drmSyncobjDestroy(drm, so);
  close(drm);
  if (failures) fprintf(stderr, "shim_fence_waiter: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
