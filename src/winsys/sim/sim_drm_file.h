// SimDrmFile: the kernel model behind the DrmFile seam.
#pragma once

#include <memory>
#include <string>

#include "winsys/drm/drm_file.h"
#include "winsys/sim/sim_file.h"

namespace wsys::sim {

class SimDrmFile final : public drm::DrmFile, private drm::GpuView {
 public:
  // Opens a new file on the model device for `driver` ("panthor"/"panfrost").
  static Result<std::unique_ptr<SimDrmFile>> open(const std::string& driver,
                                                  std::string* why = nullptr);
  ~SimDrmFile() override;

  int ioctl(unsigned long request, void* arg) override;
  Result<void*> mmap(void* addr, size_t length, int prot, int flags, uint64_t offset) override;
  int munmap(void* addr, size_t length) override;
  Result<int> prime_handle_to_fd(uint32_t handle, uint32_t flags) override;
  Result<uint32_t> prime_fd_to_handle(int fd) override;
  const drm::DriverVersion& version() const override { return version_; }
  const std::string& node_name() const override { return node_; }
  int fd() const override { return -1; }
  bool is_model() const override { return true; }
  const drm::GpuView* gpu_view() const override { return this; }
  void* cpu_address(uint32_t vm_id, uint64_t va) const override;
  uint64_t memory_bytes() const override;
  uint64_t memory_available() const override;

  // The model's side, for tests (GPU views, counters).
  SimFile& file() { return *file_; }

 private:
  SimDrmFile(std::unique_ptr<SimFile> f, drm::DriverVersion v, std::string node)
      : file_(std::move(f)), version_(std::move(v)), node_(std::move(node)) {}
  std::unique_ptr<SimFile> file_;
  drm::DriverVersion version_;
  std::string node_;
};

// mmap of a GEM object through a model file: the kernel's drm_gem_mmap
// rules (exact object offset, length within the object, shared mappings
// only, the file must hold a handle). Shared with the drm-shim.
Result<void*> sim_mmap(SimFile& file, void* addr, size_t length, int prot, int flags,
                       uint64_t offset);

}  // namespace wsys::sim
