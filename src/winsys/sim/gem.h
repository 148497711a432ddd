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
#include <mutex>
#include <string>

namespace wsys::sim {

class SimDevice;
class SimVm;

class SimBo {
 public:
  // Creates an object of `size_bytes` (already page-aligned) on `dev`.
  // Returns null and sets *err (negative errno) on failure.
  // The size is charged to the device's memory budget (SimDevice::charge,
  // which may run the shrinker; -ENOMEM when nothing purgeable is left),
  // unless `lazy`: memory committed later (panfrost HEAP objects), whose
  // committer charges each block and adds it to heap_committed.
  static std::shared_ptr<SimBo> create(SimDevice* dev, uint64_t size_bytes, int* err,
                                       bool lazy = false);
  // Wraps an imported dma-buf fd (dup'd; the caller keeps its fd).
  static std::shared_ptr<SimBo> import(SimDevice* dev, int dmabuf_fd, int* err);
  // Host-memory imports (model extension, host_import.h). Stolen: the
  // object's pages are the anonymous mapping at `home` (size bytes, owned:
  // unmapped when the object dies), charged to the budget here; no memfd.
  // Backed: `fd` (owned) is the user's shared file, the object is
  // [file_offset, file_offset + size) of it.
  enum class HostKind : uint8_t { None, Stolen, Backed };
  static std::shared_ptr<SimBo> create_stolen(SimDevice* dev, uint8_t* home, uint64_t size,
                                              int* err);
  static std::shared_ptr<SimBo> create_backed(SimDevice* dev, int fd, uint64_t file_offset,
                                              uint64_t size, int* err);
  // `shared`: the GPU's attachment when the fd is a shared-allocator
  // buffer, set before the object becomes visible to other files.
  static std::shared_ptr<SimBo> import(SimDevice* dev, int dmabuf_fd, int* err,
                                       std::shared_ptr<class SharedAttachment> shared = nullptr);
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
  HostKind host_kind() const { return host_kind_; }
  // Where the object starts in its memfd (non-zero only for Backed).
  uint64_t file_offset() const { return file_offset_; }
  // Stolen: the pages' home while they are not in a VM window.
  uint8_t* anon_home() const { return anon_home_; }
  // Stolen: bytes currently moved into a VM window (a stolen object has at
  // most one GPU mapping: anonymous pages cannot be aliased).
  std::atomic<uint64_t> stolen_mapped_bytes{0};
  // Backed: set when the user's range was unmapped or remapped (the mmu
  // notifier's invalidation, host_import.h); never cleared.
  std::atomic<bool> host_invalid{false};
  // Backed: what the user's range must still map for the object to be
  // valid (host_import.cpp), and its import mode (uapi value).
  uintptr_t host_ptr = 0;
  ino_t host_ino = 0;
  dev_t host_dev = 0;
  uint32_t host_mode = 0;

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

  // panfrost implicit sync: the fence of the last job submitted with this
  // object in its BO list (panfrost_submit.cpp). Guarded by the SyncState
  // lock (fence.h).
  std::shared_ptr<class Fence> last_job_fence;

  // A shared buffer of the model's allocator imported here (a model
  // extension, shared_alloc.h): the GPU's attachment, and whether a GPU
  // bind (panthor) or the import itself (panfrost) has mapped it: from
  // then until the object dies the buffer counts as mapped. Set once at
  // import; shared_gpu_mapped guarded by the device lock's callers' order
  // (atomic exchange).
  std::shared_ptr<class SharedAttachment> shared_attach;
  std::atomic<bool> shared_gpu_mapped{false};

  // Label (BO_SET_LABEL / SET_LABEL_BO). Guarded by the device lock.
  std::string label;

  // --- madvise, shrinker and accounting (shrinker.h, accounting.h) ---
  // The object's madvise state: kMadvWillNeed, kMadvDontNeed, or kMadvPurged
  // once the shrinker freed its memory (final: it never gets content back).
  // Written under the device's shrinker lock and `resv`.
  static constexpr int kMadvWillNeed = 0, kMadvDontNeed = 1, kMadvPurged = -1;
  std::atomic<int> madv{kMadvWillNeed};
  bool purged() const { return madv.load(std::memory_order_acquire) == kMadvPurged; }
  // Kernel-side pins (the kernel's pin/vmap count): never purged while > 0.
  std::atomic<int> pinned{0};
  // Stand-in for the object's reservation lock: MADVISE takes it, the
  // shrinker only try-locks it (an object whose lock is held is skipped).
  std::mutex resv;
  // True for objects created `lazy` (heap objects): only heap_committed
  // bytes are resident and charged.
  bool lazy() const { return lazy_; }
  // Bytes committed to a lazy object (2 MiB blocks), charged with
  // SimDevice::charge by the committer; uncharged when the object dies.
  std::atomic<uint64_t> heap_committed{0};
  // panthor reclaim (panthor_reclaim.h): the swap-table slot while the
  // object is swapped out (or being swapped out), -1 while resident.
  std::atomic<int> swap_slot{-1};
  // Set by a user mmap (sim_mmap): a mapping may outlive the object's last
  // reference, so dying in swap brings the contents back for it first.
  std::atomic<bool> user_mapped{false};
  bool swapped() const { return swap_slot.load(std::memory_order_acquire) >= 0; }
  // A tiler heap's chunk or context object (the kernel's heap-internal
  // objects): never reclaimed.
  bool heap_internal = false;
  // Bytes of this object whose memory exists (imports included: the
  // exporter's object is what the budget is charged for).
  uint64_t resident_bytes() const {
    if (purged() || swapped()) return 0;
    return lazy_ ? heap_committed.load(std::memory_order_relaxed) : size_;
  }

 private:
  SimBo(SimDevice* dev, int memfd, uint64_t size, ino_t ino, bool imported);
  SimDevice* dev_;
  int memfd_;
  uint64_t size_;
  ino_t inode_;
  uint64_t mmap_offset_ = 0;
  bool imported_;
  bool lazy_ = false;
  HostKind host_kind_ = HostKind::None;
  uint64_t file_offset_ = 0;
  uint8_t* anon_home_ = nullptr;
  bool charged_ = false;  // size_ charged at creation (uncharged unless purged)
  friend class SimDevice;
  friend class Shrinker;
  friend class PanthorReclaim;
};

using SimBoPtr = std::shared_ptr<SimBo>;

// True if `fd` is a model GEM memfd (what PRIME import accepts).
bool is_model_dmabuf(int fd);
// True if `fd` is one of the shared-buffer allocator's memfds (a model
// dma-buf too), made by this process or another.
bool is_shared_dmabuf(int fd);
// A new model dma-buf memfd of `size` bytes (O_CLOEXEC, no pages yet), as
// the shared-buffer allocator hands out (shared_alloc.h); -errno on failure.
int create_model_dmabuf(uint64_t size);

}  // namespace wsys::sim
