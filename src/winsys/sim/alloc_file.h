// The model's allocator, display and camera devices as open files (a
// MODEL EXTENSION, drm-uapi/wsys_sim_alloc.h): each is a DrmFile with its
// own small ioctl set over the process-wide SharedAllocator
// (shared_alloc.h). They have no mmap and no PRIME of their own: their
// buffers are dma-buf fds. Closing the file drops its buffer references
// and attachments (their mappings with them), as the kernel's release()
// would.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "winsys/drm/drm_file.h"
#include "winsys/sim/shared_alloc.h"

namespace wsys::sim {

class SimAuxFile final : public drm::DrmFile {
 public:
  enum class Kind { Allocator, Display, Camera };
  // "wsys-alloc", "wsys-display" or "wsys-camera"; null for anything else.
  static std::unique_ptr<SimAuxFile> open(const std::string& name);
  static bool is_aux_name(const std::string& name);
  ~SimAuxFile() override;

  int ioctl(unsigned long request, void* arg) override;
  Result<void*> mmap(void*, size_t, int, int, uint64_t) override { return Error(-ENODEV); }
  int munmap(void*, size_t) override { return -EINVAL; }
  Result<int> prime_handle_to_fd(uint32_t, uint32_t) override { return Error(-ENODEV); }
  Result<uint32_t> prime_fd_to_handle(int) override { return Error(-ENODEV); }
  const drm::DriverVersion& version() const override { return version_; }
  const std::string& node_name() const override { return node_; }
  int fd() const override { return -1; }
  bool is_model() const override { return true; }

  Kind kind() const { return kind_; }

 private:
  SimAuxFile(Kind k, std::string name);
  struct Attach {
    SharedAttachmentPtr a;
    uint32_t pitch = 0, height = 0;
    int maps = 0;  // this file's maps of it (unmapped when the file goes)
  };
  bool handles(unsigned long cmd) const;  // exact number (size included)
  int dispatch(unsigned long cmd, void* kdata);
  // allocator
  int alloc_create(void* d);
  int alloc_free(void* d);
  int alloc_attach(void* d);
  int attach_op(unsigned long cmd, void* d);
  int alloc_sync(void* d);
  int alloc_query(void* d);
  int alloc_stats(void* d);
  // display / camera
  int periph_info(void* d);
  int periph_attach(void* d);
  int periph_use(void* d);
  uint32_t new_id();

  Kind kind_;
  drm::DriverVersion version_;
  std::string node_;
  std::mutex mu_;
  uint32_t next_id_ = 1;
  std::map<uint32_t, SharedBufferPtr> buffers_;
  std::map<uint32_t, Attach> attaches_;
};

// The fixed constraints of the display and camera models.
DmaConstraints display_constraints();
DmaConstraints camera_constraints();
constexpr uint32_t kDisplayPitchAlign = 64;
constexpr uint32_t kCameraStrideAlign = 128;

}  // namespace wsys::sim
