// A GEM object of the model: a memfd of page-aligned size.
//
// The memfd is the object's memory and also its dma-buf: PRIME export hands
// out a dup of it, so another open file or another process can import it
// (imports are matched by the memfd's inode). Objects are shared between
// files by shared_ptr; a file's handle holds one reference, and so do VM
// mappings (the kernel pins mapped pages).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace wsys::sim {

class SimDevice;
class SimVm;

class SimBo {
 public:
  // Creates an object of `size_bytes` (already page-aligned) on `dev`.
  // Returns null and sets *err (negative errno) on failure.
  static std::shared_ptr<SimBo> create(SimDevice* dev, uint64_t size_bytes, int* err);
  // Wraps an imported dma-buf fd (dup'd; the caller keeps its fd).
  static std::shared_ptr<SimBo> import(SimDevice* dev, int dmabuf_fd, int* err);
  ~SimBo();
  SimBo(const SimBo&) = delete;
  SimBo& operator=(const SimBo&) = delete;

  SimDevice* device() const { return dev_; }
  int memfd() const { return memfd_; }
  uint64_t size() const { return size_; }
  ino_t inode() const { return inode_; }
  // The fake mmap offset (DRM's vma offset node), unique per device.
  uint64_t mmap_offset() const { return mmap_offset_; }
  bool imported() const { return imported_; }

  // Driver-specific creation flags (panthor DRM_PANTHOR_BO_*, panfrost
  // PANFROST_BO_*), set once at creation.
  uint32_t create_flags = 0;
  // panthor: the VM this BO is private to (0 = none), and that VM's owner.
  uint32_t exclusive_vm_id = 0;
  const void* exclusive_file = nullptr;
  std::weak_ptr<SimVm> exclusive_vm;
  // True once PRIME-exported (the shrinker never purges shared objects).
  std::atomic<bool> exported{false};
  // Number of in-flight GPU jobs using this object (panfrost SUBMIT BO
  // lists). The shrinker never purges a busy object; WAIT_BO waits for 0.
  std::atomic<int> gpu_busy{0};
  // False for panthor NO_MMAP and panfrost HEAP objects: mmap() is refused.
  bool mmap_allowed = true;
  // False for panthor exclusive-VM and panfrost HEAP objects: PRIME export
  // is refused with -EINVAL.
  bool exportable = true;

  // Label (BO_SET_LABEL / SET_LABEL_BO). Guarded by the device lock.
  std::string label;

 private:
  SimBo(SimDevice* dev, int memfd, uint64_t size, ino_t ino, bool imported);
  SimDevice* dev_;
  int memfd_;
  uint64_t size_;
  ino_t inode_;
  uint64_t mmap_offset_ = 0;
  bool imported_;
  friend class SimDevice;
};

using SimBoPtr = std::shared_ptr<SimBo>;

// True if `fd` is a model GEM memfd (what PRIME import accepts).
bool is_model_dmabuf(int fd);

}  // namespace wsys::sim
