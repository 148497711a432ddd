// RealDrmFile: a DrmFile over an open DRM render node, using libdrm.
#pragma once

#include <memory>
#include <string>

#include "winsys/drm/drm_file.h"

namespace wsys::drm {

class RealDrmFile final : public DrmFile {
 public:
  // Opens `path` (O_RDWR | O_CLOEXEC) and reads its driver version.
  static Result<std::unique_ptr<RealDrmFile>> open(const std::string& path);
  // Takes ownership of an already open fd (closed on destruction).
  static Result<std::unique_ptr<RealDrmFile>> adopt(int fd, std::string name);
  ~RealDrmFile() override;

  int ioctl(unsigned long request, void* arg) override;
  Result<void*> mmap(void* addr, size_t length, int prot, int flags,
                     uint64_t offset) override;
  int munmap(void* addr, size_t length) override;
  Result<int> prime_handle_to_fd(uint32_t handle, uint32_t flags) override;
  Result<uint32_t> prime_fd_to_handle(int fd) override;
  const DriverVersion& version() const override { return version_; }
  const std::string& node_name() const override { return node_; }
  int fd() const override { return fd_; }
  bool is_model() const override { return false; }

 private:
  RealDrmFile(int fd, std::string node, DriverVersion v)
      : fd_(fd), node_(std::move(node)), version_(std::move(v)) {}
  int fd_;
  std::string node_;
  DriverVersion version_;
};

// Reads DRM_IOCTL_VERSION from an fd through libdrm.
Result<DriverVersion> query_driver_version(int fd);

}  // namespace wsys::drm
