/*
 * An unmodified libdrm program, run under the drm-shim (LD_PRELOAD): it
 * knows nothing of the model. It opens /dev/dri/renderD128 with plain
 * open(), finds the device with libdrm's discovery, allocates a buffer, maps
 * it into a GPU VM (panthor) and through the CPU, writes and reads it back,
 * and uses a syncobj. Exits 0 only if every check passed; prints each
 * failure.
 *
 * Usage: shim_libdrm_test panthor|panfrost  (the driver the shim must show)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"

#include "check.h"

static const char kNode[] = "/dev/dri/renderD128";
enum { kBoSize = 64 * 1024 };

/* drmIoctl returns -1 with errno; keep the errno for the message. */
static int do_ioctl(int fd, unsigned long req, void* arg) {
  return drmIoctl(fd, req, arg) == 0 ? 0 : errno;
}

static void check_discovery(int fd, const char* driver) {
  drmVersionPtr v = drmGetVersion(fd);
  CHECK(v != NULL, "drmGetVersion failed: %s", strerror(errno));
  if (v) {
    CHECK(strcmp(v->name, driver) == 0, "driver name '%s', want '%s'", v->name, driver);
    CHECK(v->version_major == 1, "driver major %d", v->version_major);
    printf("drmGetVersion: %s %d.%d.%d (%s)\n", v->name, v->version_major, v->version_minor,
           v->version_patchlevel, v->desc);
    drmFreeVersion(v);
  }

  struct stat st;
  CHECK(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
  CHECK(S_ISCHR(st.st_mode), "fstat mode 0%o is not a char device", (unsigned)st.st_mode);
  CHECK(major(st.st_rdev) == 226 && minor(st.st_rdev) == 128, "rdev %u:%u",
        major(st.st_rdev), minor(st.st_rdev));

  int n = drmGetDevices2(0, NULL, 0);
  CHECK(n >= 1, "drmGetDevices2 counted %d devices", n);
  if (n >= 1) {
    drmDevicePtr devs[16];
    int got = drmGetDevices2(0, devs, 16);
    int found = 0;
    for (int i = 0; i < got; i++) {
      if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER))) continue;
      if (strcmp(devs[i]->nodes[DRM_NODE_RENDER], kNode) != 0) continue;
      found = 1;
      CHECK(devs[i]->bustype == DRM_BUS_PLATFORM, "bus type %d, want platform",
            devs[i]->bustype);
      if (devs[i]->bustype == DRM_BUS_PLATFORM) {
        CHECK(devs[i]->businfo.platform->fullname[0] == '/', "platform fullname '%s'",
              devs[i]->businfo.platform->fullname);
        CHECK(devs[i]->deviceinfo.platform->compatible &&
                  devs[i]->deviceinfo.platform->compatible[0],
              "no compatible string");
        printf("drmGetDevices2: %s, platform %s, compatible %s\n",
               devs[i]->nodes[DRM_NODE_RENDER], devs[i]->businfo.platform->fullname,
               devs[i]->deviceinfo.platform->compatible[0]);
      }
    }
    CHECK(found, "drmGetDevices2 did not list %s (%d devices)", kNode, got);
    drmFreeDevices(devs, got);
  }

  drmDevicePtr dev = NULL;
  int r = drmGetDevice2(fd, 0, &dev);
  CHECK(r == 0 && dev, "drmGetDevice2 on the fd: %s", strerror(-r));
  if (r == 0 && dev) {
    CHECK((dev->available_nodes & (1 << DRM_NODE_RENDER)) &&
              strcmp(dev->nodes[DRM_NODE_RENDER], kNode) == 0,
          "drmGetDevice2 found another device");
    drmFreeDevice(&dev);
  }

  char* name = drmGetRenderDeviceNameFromFd(fd);
  CHECK(name && strcmp(name, kNode) == 0, "drmGetRenderDeviceNameFromFd: %s",
        name ? name : "(null)");
  free(name);
  name = drmGetDeviceNameFromFd2(fd);
  CHECK(name && strcmp(name, kNode) == 0, "drmGetDeviceNameFromFd2: %s", name ? name : "(null)");
  free(name);
  CHECK(drmGetNodeTypeFromFd(fd) == DRM_NODE_RENDER, "drmGetNodeTypeFromFd %d",
        drmGetNodeTypeFromFd(fd));
}

/* Writes a pattern through one CPU mapping of the object at `offset` and
 * reads it back through a second, independent mapping. */
static void check_cpu_mapping(int fd, uint64_t offset) {
  void* p = mmap(NULL, kBoSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
  CHECK(p != MAP_FAILED, "mmap at offset 0x%llx: %s", (unsigned long long)offset,
        strerror(errno));
  if (p == MAP_FAILED) return;
  uint32_t* w = p;
  for (uint32_t i = 0; i < kBoSize / 4; i++) w[i] = i * 2654435761u;
  void* q = mmap(NULL, kBoSize, PROT_READ, MAP_SHARED, fd, (off_t)offset);
  CHECK(q != MAP_FAILED, "second mmap: %s", strerror(errno));
  if (q != MAP_FAILED) {
    const uint32_t* rd = q;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < kBoSize / 4; i++)
      if (rd[i] != i * 2654435761u) bad++;
    CHECK(bad == 0, "%u words read back wrong", bad);
    munmap(q, kBoSize);
  }
  munmap(p, kBoSize);
}

/* libdrm's syncobj calls return -1 or -errno; errno holds the reason. */
static void check_syncobj(int fd) {
  uint32_t h = 0;
  int r = drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &h);
  CHECK(r == 0 && h != 0, "drmSyncobjCreate: %s", strerror(errno));
  if (r != 0) return;
  uint32_t first = ~0u;
  r = drmSyncobjWait(fd, &h, 1, INT64_MAX, 0, &first);
  CHECK(r == 0, "drmSyncobjWait on a signalled syncobj: %s", strerror(errno));
  CHECK(first == 0, "first signalled %u", first);
  r = drmSyncobjDestroy(fd, h);
  CHECK(r == 0, "drmSyncobjDestroy: %s", strerror(errno));
}

static void check_panthor(int fd) {
  struct drm_panthor_bo_create bo = {.size = kBoSize};
  int r = do_ioctl(fd, DRM_IOCTL_PANTHOR_BO_CREATE, &bo);
  CHECK(r == 0 && bo.handle != 0, "BO_CREATE: %s", strerror(r));
  if (r) return;

  struct drm_panthor_vm_create vc = {0};
  r = do_ioctl(fd, DRM_IOCTL_PANTHOR_VM_CREATE, &vc);
  CHECK(r == 0 && vc.id != 0, "VM_CREATE: %s", strerror(r));
  if (r == 0) {
    struct drm_panthor_vm_bind_op op = {
        .flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC,
        .bo_handle = bo.handle,
        .bo_offset = 0,
        .va = 0x10000000,
        .size = kBoSize,
    };
    struct drm_panthor_vm_bind bind = {
        .vm_id = vc.id, .flags = 0, .ops = DRM_PANTHOR_OBJ_ARRAY(1, &op)};
    r = do_ioctl(fd, DRM_IOCTL_PANTHOR_VM_BIND, &bind);
    CHECK(r == 0, "VM_BIND (synchronous MAP): %s", strerror(r));
    struct drm_panthor_vm_get_state gs = {.vm_id = vc.id};
    r = do_ioctl(fd, DRM_IOCTL_PANTHOR_VM_GET_STATE, &gs);
    CHECK(r == 0 && gs.state == DRM_PANTHOR_VM_STATE_USABLE, "VM_GET_STATE: %s, state %u",
          strerror(r), gs.state);
  }

  struct drm_panthor_bo_mmap_offset mo = {.handle = bo.handle};
  r = do_ioctl(fd, DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo);
  CHECK(r == 0, "BO_MMAP_OFFSET: %s", strerror(r));
  if (r == 0) check_cpu_mapping(fd, mo.offset);

  if (vc.id) {
    struct drm_panthor_vm_destroy vd = {.id = vc.id};
    r = do_ioctl(fd, DRM_IOCTL_PANTHOR_VM_DESTROY, &vd);
    CHECK(r == 0, "VM_DESTROY: %s", strerror(r));
  }
  struct drm_gem_close gc = {.handle = bo.handle};
  r = do_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
  CHECK(r == 0, "GEM_CLOSE: %s", strerror(r));
  r = do_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
  CHECK(r == EINVAL, "second GEM_CLOSE of the handle gave '%s', want EINVAL", strerror(r));
}

static void check_panfrost(int fd) {
  struct drm_panfrost_get_param gp = {.param = DRM_PANFROST_PARAM_GPU_PROD_ID};
  int r = do_ioctl(fd, DRM_IOCTL_PANFROST_GET_PARAM, &gp);
  CHECK(r == 0 && gp.value != 0, "GET_PARAM(GPU_PROD_ID): %s, value 0x%llx", strerror(r),
        (unsigned long long)gp.value);

  struct drm_panfrost_create_bo bo = {.size = kBoSize};
  r = do_ioctl(fd, DRM_IOCTL_PANFROST_CREATE_BO, &bo);
  CHECK(r == 0 && bo.handle != 0, "CREATE_BO: %s", strerror(r));
  if (r) return;
  CHECK(bo.offset != 0, "CREATE_BO gave GPU VA 0");

  struct drm_panfrost_mmap_bo mb = {.handle = bo.handle};
  r = do_ioctl(fd, DRM_IOCTL_PANFROST_MMAP_BO, &mb);
  CHECK(r == 0, "MMAP_BO: %s", strerror(r));
  if (r == 0) check_cpu_mapping(fd, mb.offset);

  struct drm_gem_close gc = {.handle = bo.handle};
  r = do_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
  CHECK(r == 0, "GEM_CLOSE: %s", strerror(r));
}

int main(int argc, char** argv) {
  if (argc != 2 || (strcmp(argv[1], "panthor") != 0 && strcmp(argv[1], "panfrost") != 0)) {
    fprintf(stderr, "usage: %s panthor|panfrost\n", argv[0]);
    return 2;
  }
  const char* driver = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);

  int fd = open(kNode, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "FAIL: open(%s): %s (is the drm-shim preloaded? LD_PRELOAD=%s)\n", kNode,
            strerror(errno), getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
    return 1;
  }
  check_discovery(fd, driver);
  if (strcmp(driver, "panthor") == 0)
    check_panthor(fd);
  else
    check_panfrost(fd);
  check_syncobj(fd);
  CHECK(close(fd) == 0, "close: %s", strerror(errno));
  CHECK(drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){.handle = 1}) == -1 &&
            errno == EBADF,
        "ioctl on the closed fd did not fail with EBADF");

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed (%s)\n", driver);
  return 0;
}
