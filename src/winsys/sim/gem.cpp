#include "winsys/sim/gem.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "winsys/sim/fault_inject.h"
#include "winsys/sim/host_import.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"

namespace wsys::sim {

namespace {
// Every model GEM memfd carries this name; PRIME import checks it so a
// random fd is refused like a non-dma-buf fd is by the kernel. The shared
// allocator's memfds add a suffix, so the allocator looks up only its own
// (in its tables, which may be another process's too).
constexpr const char kMemfdName[] = "wsys-sim-gem";
constexpr const char kSharedMemfdName[] = "wsys-sim-gem:shared";

bool memfd_named(int fd, const char* name, size_t len) {
  char path[64], target[128];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = 0;
  return std::strncmp(target, "/memfd:", 7) == 0 && std::strncmp(target + 7, name, len) == 0;
}
}  // namespace

bool is_model_dmabuf(int fd) {
  return memfd_named(fd, kMemfdName, sizeof kMemfdName - 1);
}

bool is_shared_dmabuf(int fd) {
  return memfd_named(fd, kSharedMemfdName, sizeof kSharedMemfdName - 1);
}

int create_model_dmabuf(uint64_t size) {
  int fd = memfd_create(kSharedMemfdName, MFD_CLOEXEC);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno == EFBIG || errno == EINVAL ? -ENOMEM : -errno;
    ::close(fd);
    return e;
  }
  return fd;
}

SimBo::SimBo(SimDevice* dev, int memfd, uint64_t size, ino_t ino, bool imported)
    : dev_(dev), memfd_(memfd), size_(size), inode_(ino), imported_(imported) {}

SimBo::~SimBo() {
  if (host_kind_ != HostKind::None) host_import_release(*this);
  dev_->shrinker().forget(this);
  const bool was_swapped = PanthorReclaim::forget(*this);  // its charge went with it
  if (charged_ && !purged() && !was_swapped) dev_->uncharge(size_);
  if (lazy_) dev_->uncharge(heap_committed.load());
  dev_->unregister_bo(this);
  if (memfd_ >= 0) ::close(memfd_);
  if (anon_home_) ::munmap(anon_home_, size_);
}

std::shared_ptr<SimBo> SimBo::create(SimDevice* dev, uint64_t size_bytes, int* err,
                                     bool lazy) {
  if (int e = fault_inject_check("bo_alloc")) {
    *err = e;
    return nullptr;
  }
  // The budget first (may purge DONTNEED objects), as shmem allocation
  // would push the kernel into reclaim.
  if (!lazy && !dev->charge(size_bytes)) {
    *err = -ENOMEM;
    return nullptr;
  }
  int fd = memfd_create(kMemfdName, MFD_CLOEXEC);
  if (fd < 0) {
    // The kernel's shmem object takes no file descriptor: running out of
    // them (the process's or the system's) is the model's own limit, and a
    // kernel that cannot make an object says -ENOMEM (a tiler heap with
    // tens of thousands of initial chunks returned -EMFILE here).
    *err = errno == EMFILE || errno == ENFILE ? -ENOMEM : -errno;
    if (!lazy) dev->uncharge(size_bytes);
    return nullptr;
  }
  if (ftruncate(fd, static_cast<off_t>(size_bytes)) != 0) {
    *err = errno == EFBIG || errno == EINVAL ? -ENOMEM : -errno;
    ::close(fd);
    if (!lazy) dev->uncharge(size_bytes);
    return nullptr;
  }
  struct stat st;
  fstat(fd, &st);
  std::shared_ptr<SimBo> bo(new SimBo(dev, fd, size_bytes, st.st_ino, false));
  bo->lazy_ = lazy;
  bo->charged_ = !lazy;
  dev->register_bo(bo);
  return bo;
}

std::shared_ptr<SimBo> SimBo::import(SimDevice* dev, int dmabuf_fd, int* err,
                                     std::shared_ptr<SharedAttachment> shared) {
  struct stat st;
  if (fstat(dmabuf_fd, &st) != 0 || !is_model_dmabuf(dmabuf_fd)) {
    *err = -EINVAL;
    return nullptr;
  }
  int fd = fcntl(dmabuf_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    *err = -errno;
    return nullptr;
  }
  std::shared_ptr<SimBo> bo(new SimBo(dev, fd, static_cast<uint64_t>(st.st_size), st.st_ino, true));
  bo->shared_attach = std::move(shared);
  dev->register_bo(bo);
  return bo;
}

std::shared_ptr<SimBo> SimBo::create_stolen(SimDevice* dev, uint8_t* home, uint64_t size,
                                            int* err) {
  // The pages are already resident (they were the application's); the
  // budget still counts them, as shmem would once they are the object's.
  if (!dev->charge(size)) {
    *err = -ENOMEM;
    return nullptr;
  }
  std::shared_ptr<SimBo> bo(new SimBo(dev, -1, size, 0, false));
  bo->host_kind_ = HostKind::Stolen;
  bo->anon_home_ = home;
  bo->charged_ = true;
  dev->register_bo(bo);
  return bo;
}

std::shared_ptr<SimBo> SimBo::create_backed(SimDevice* dev, int fd, uint64_t file_offset,
                                            uint64_t size, int* err) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = -errno;
    ::close(fd);
    return nullptr;
  }
  // Not charged to the GPU budget: the pages are the application's, pinned
  // (RLIMIT_MEMLOCK, host_import.cpp), not the driver's.
  std::shared_ptr<SimBo> bo(new SimBo(dev, fd, size, st.st_ino, false));
  bo->host_kind_ = HostKind::Backed;
  bo->file_offset_ = file_offset;
  dev->register_bo(bo);
  return bo;
}

}  // namespace wsys::sim
