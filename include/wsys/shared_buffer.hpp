// wsys::SharedBuffer: a buffer several devices share (GPU, display
// controller, camera/ISP), allocated on first use with every attached
// device's DMA constraints instead of from a heap picked up front.
//
// Created empty from the system's central allocator; devices attach (a
// GPU through import_into, the display and camera through attach); the
// first use (a device map, CPU access, the GPU's first bind or CPU
// mapping) places it in memory that satisfies all of them. A later attach
// that the placement breaks moves the buffer if nobody uses it yet, and is
// refused with its reason (refusal()) if somebody does or if the
// constraints can never hold together. The allocator counts the cache
// maintenance a hand-over needs: device to device, none.
//
// No released kernel has such an allocator (dma-heaps allocate up front):
// the kernel model offers one as an extension (docs/deferred-allocation.md),
// and everywhere else create() is -EOPNOTSUPP.
//
// Thread-safe; the buffer owns its dma-buf fd.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "wsys/bo.hpp"
#include "wsys/result.hpp"

namespace wsys {

class Device;

// Intended uses, declared at creation (informational: the placement
// follows the devices that really attach).
enum SharedBufferUse : uint32_t {
  kSharedUseGpu = 1u << 0,
  kSharedUseDisplay = 1u << 1,
  kSharedUseCamera = 1u << 2,
  kSharedUseCpu = 1u << 3,
};

// Why an attach was refused: the constraint that could not be met.
enum class SharedRefusal : uint32_t {
  None = 0, DmaMask, Contiguous, SegmentSize, Segments, Boundary, Alignment, Pitch, Size,
};
const char* shared_refusal_name(SharedRefusal r);

enum class SharedDevice { Display, Camera };

struct SharedPlacement {
  bool placed = false;       // finalized by a first use
  bool in_use = false;       // some device has it mapped: it will not move
  bool cpu_used = false;     // the CPU accessed it: it will not move
  bool contiguous_pool = false;  // placed in the scarce contiguous (CMA) pool
  uint32_t extents = 0;      // physically contiguous pieces
  uint64_t highest_address = 0;  // last bus address it occupies
  uint32_t attachments = 0;
  uint32_t migrations = 0;
};

// The central allocator's figures (process-wide on the model).
struct SharedAllocatorStats {
  uint64_t contiguous_pool_bytes = 0, contiguous_used = 0, contiguous_peak = 0;
  uint64_t cache_flushes = 0, cache_invalidates = 0;
  uint64_t cache_ops_avoided = 0;  // what maintenance at every access would have added
  uint64_t migrations = 0, placement_failures = 0, refused_attaches = 0;
};

class SharedBuffer {
 public:
  // `size` bytes (rounded up to pages), no backing yet. -EINVAL for size 0
  // or no use; -EOPNOTSUPP without a central allocator.
  static Result<std::shared_ptr<SharedBuffer>> create(uint64_t size, uint32_t uses);
  // The allocator's buffer behind a dma-buf fd someone else made (another
  // API's export, a frame handed over): `fd` is duplicated, not taken.
  // Such an object holds no allocator reference of its own, so the buffer
  // lives as long as its creator's reference or an attachment does.
  // -EBADF for a closed fd, -EINVAL for an fd that is not the allocator's,
  // -EOPNOTSUPP without a central allocator.
  static Result<std::shared_ptr<SharedBuffer>> from_fd(int fd);
  ~SharedBuffer();
  SharedBuffer(const SharedBuffer&) = delete;
  SharedBuffer& operator=(const SharedBuffer&) = delete;

  uint64_t size() const { return size_; }
  // The dma-buf (owned by the buffer) and a new one for someone else.
  int fd() const { return fd_; }
  Result<int> export_fd() const;

  // The GPU of `dev` attaches (a PRIME import). A Device binds what it
  // imports into its VM at once, so this is also a first use: attach the
  // display and camera before. Refusals: -EINVAL (see refusal()), -ENOMEM.
  Result<BoRef> import_into(Device& dev);

  // A display (pitch) or camera (stride) attaches for `height` lines.
  // Returns the attachment; -EINVAL with refusal() set, -ENOMEM.
  Result<uint32_t> attach(SharedDevice d, uint32_t pitch, uint32_t height);
  Result<void> map(SharedDevice d, uint32_t attachment);    // a first use
  Result<void> unmap(SharedDevice d, uint32_t attachment);
  Result<void> detach(SharedDevice d, uint32_t attachment);
  // The device uses the mapped buffer: the display scans it out (returns
  // the byte sum), the camera captures into it (fills with `fill`).
  Result<uint64_t> use(SharedDevice d, uint32_t attachment, uint8_t fill = 0);
  // The CPU is about to read and/or write it through a mapping of fd():
  // a first use, and the point where cache maintenance happens if needed.
  Result<void> begin_cpu_access(bool read, bool write);

  // The GPU is about to read and/or write it (a job using it): where the
  // allocator decides whether CPU caches need maintenance. The kernel cannot
  // see which buffers a job touches on a queue-based GPU, so the frontend
  // announces it.
  Result<void> begin_gpu_access(bool read, bool write);

  // -EOPNOTSUPP without a central allocator.
  static Result<SharedAllocatorStats> allocator_stats();

  // The reason of the last refused attach: this object's attach(), else
  // any attach of the buffer the allocator refused (a GPU import, ...).
  SharedRefusal refusal() const;
  Result<SharedPlacement> placement() const;

  struct Impl;

 private:
  SharedBuffer(std::shared_ptr<Impl> impl, int fd, uint32_t handle, uint64_t size);
  std::shared_ptr<Impl> impl_;
  int fd_;
  uint32_t handle_;  // 0: no allocator reference (from_fd)
  uint64_t size_;
  std::atomic<uint32_t> refusal_{0};  // the last refusal of this object's attach()
};

}  // namespace wsys
