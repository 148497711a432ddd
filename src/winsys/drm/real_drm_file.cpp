// RealDrmFile: the only file in wsys that calls libdrm for ioctls.
#include "winsys/drm/real_drm_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include <cerrno>

namespace wsys::drm {

Result<DriverVersion> query_driver_version(int fd) {
  drmVersionPtr v = drmGetVersion(fd);
  if (!v) return Error(errno ? -errno : -ENODEV);
  DriverVersion out;
  out.name.assign(v->name ? v->name : "", v->name ? static_cast<size_t>(v->name_len) : 0);
  out.major = v->version_major;
  out.minor = v->version_minor;
  out.patchlevel = v->version_patchlevel;
  if (v->date) out.date.assign(v->date, static_cast<size_t>(v->date_len));
  if (v->desc) out.desc.assign(v->desc, static_cast<size_t>(v->desc_len));
  drmFreeVersion(v);
  return out;
}

Result<std::unique_ptr<RealDrmFile>> RealDrmFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Error(-errno);
  return adopt(fd, path);
}

Result<std::unique_ptr<RealDrmFile>> RealDrmFile::adopt(int fd, std::string name) {
  auto v = query_driver_version(fd);
  if (!v) {
    ::close(fd);
    return Error(v.error());
  }
  return std::unique_ptr<RealDrmFile>(new RealDrmFile(fd, std::move(name), std::move(*v)));
}

RealDrmFile::~RealDrmFile() {
  if (fd_ >= 0) ::close(fd_);
}

int RealDrmFile::ioctl(unsigned long request, void* arg) {
  // drmIoctl restarts on EINTR and EAGAIN, as the kernel expects callers to.
  if (drmIoctl(fd_, request, arg) == 0) return 0;
  return -errno;
}

Result<void*> RealDrmFile::mmap(void* addr, size_t length, int prot, int flags,
                                uint64_t offset) {
  void* p = ::mmap64(addr, length, prot, flags, fd_, static_cast<off64_t>(offset));
  if (p == MAP_FAILED) return Error(-errno);
  return p;
}

int RealDrmFile::munmap(void* addr, size_t length) {
  return ::munmap(addr, length) == 0 ? 0 : -errno;
}

Result<int> RealDrmFile::prime_handle_to_fd(uint32_t handle, uint32_t flags) {
  int out = -1;
  if (drmPrimeHandleToFD(fd_, handle, flags, &out) != 0) return Error(-errno);
  return out;
}

Result<uint32_t> RealDrmFile::prime_fd_to_handle(int fd) {
  uint32_t handle = 0;
  if (drmPrimeFDToHandle(fd_, fd, &handle) != 0) return Error(-errno);
  return handle;
}

}  // namespace wsys::drm
