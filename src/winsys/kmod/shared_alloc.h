// The kernel model's central allocator and its display/camera device
// models: a MODEL EXTENSION (drm-uapi/wsys_sim_alloc.h, issue 19), in no
// released kernel. Shared buffers are dma-buf fds with deferred backing:
// devices attach with their DMA constraints and the first use places the
// buffer from their union (docs/deferred-allocation.md).
//
// Opened through the model (drm/model_opener.h); on a build or device
// without it every open is -EOPNOTSUPP. Whether a GPU Device's PRIME
// import of these fds attaches with its constraints is
// DeviceProps::has_deferred_alloc.
#pragma once

#include <cstdint>
#include <memory>

#include "wsys/result.hpp"

namespace wsys::drm {
class DrmFile;
}

namespace wsys::kmod {

// Intended uses (ALLOC), domains (SYNC, ATTACH) and refusal reasons, with
// the model's values.
enum SharedUse : uint32_t {
  kSharedUseGpu = 1u << 0,
  kSharedUseDisplay = 1u << 1,
  kSharedUseCamera = 1u << 2,
  kSharedUseCpu = 1u << 3,
};
enum class SharedDomain : uint32_t { Cpu = 1, Gpu = 2, Display = 3, Camera = 4, Other = 5 };
enum class SharedUnmet : uint32_t {
  None = 0, DmaMask, Contiguous, SegmentSize, Segments, Boundary, Alignment, Pitch, Size,
};
const char* shared_unmet_name(SharedUnmet u);

struct SharedConstraints {
  uint64_t dma_mask = 0;  // 0: 64-bit
  uint64_t max_segment_size = 0;
  uint64_t segment_boundary = 0;
  uint32_t max_segments = 0;
  uint32_t alignment = 0;
  bool contiguous = false;
};

struct SharedBufferInfo {
  bool finalized = false, mapped = false, cpu_used = false;
  uint64_t size = 0;
  uint32_t zone = 0;  // 0 none, 1 normal, 2 below 4 GiB, 3 CMA
  uint32_t extent_count = 0;
  uint64_t first_addr = 0, largest_extent = 0, highest_addr = 0;
  uint32_t attachments = 0, migrations = 0;
  SharedUnmet last_unmet = SharedUnmet::None;
};

struct SharedAllocStats {
  uint64_t cma_size = 0, cma_used = 0, cma_peak = 0, cma_largest_free = 0;
  uint64_t cache_flushes = 0, cache_invalidates = 0, cache_ops_avoided = 0;
  uint64_t migrations = 0, finalize_failures = 0, refused_attaches = 0;
};

// The allocator device.
class SharedAllocator {
 public:
  static Result<std::unique_ptr<SharedAllocator>> open();
  ~SharedAllocator();
  SharedAllocator(const SharedAllocator&) = delete;
  SharedAllocator& operator=(const SharedAllocator&) = delete;

  struct Created {
    int fd = -1;          // the dma-buf; the caller owns it
    uint32_t handle = 0;  // this allocator's reference (release())
  };
  // `upfront`: the ION-style baseline (placed now from `uses`).
  Result<Created> create(uint64_t size, uint32_t uses, bool upfront = false);
  int release(uint32_t handle);
  // -EINVAL with *why set when refused; -ENOMEM.
  Result<uint32_t> attach(int fd, SharedDomain d, const SharedConstraints& c, SharedUnmet* why);
  int detach(uint32_t attach_id);
  int map(uint32_t attach_id);
  int unmap(uint32_t attach_id);
  int begin_access(int fd, SharedDomain d, bool read, bool write);
  Result<SharedBufferInfo> query(int fd);
  Result<SharedAllocStats> stats();

 private:
  explicit SharedAllocator(std::unique_ptr<drm::DrmFile> f);
  std::unique_ptr<drm::DrmFile> file_;
};

// A display controller or camera/ISP model.
class Peripheral {
 public:
  enum class Kind { Display, Camera };
  static Result<std::unique_ptr<Peripheral>> open(Kind k);
  ~Peripheral();
  Peripheral(const Peripheral&) = delete;
  Peripheral& operator=(const Peripheral&) = delete;

  Kind kind() const { return kind_; }
  // The device's pitch (display) or stride (camera) alignment.
  Result<uint32_t> pitch_alignment();
  Result<uint32_t> attach(int fd, uint32_t pitch, uint32_t height, SharedUnmet* why);
  int detach(uint32_t attach_id);
  int map(uint32_t attach_id);
  int unmap(uint32_t attach_id);
  // Display: scans out and returns the byte sum; camera: fills with `byte`.
  Result<uint64_t> use(uint32_t attach_id, uint8_t byte = 0);

 private:
  Peripheral(Kind k, std::unique_ptr<drm::DrmFile> f);
  Kind kind_;
  std::unique_ptr<drm::DrmFile> file_;
};

}  // namespace wsys::kmod
