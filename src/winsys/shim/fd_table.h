// The shim's file descriptors: each open of a node (the render node, or
// one of the model's extension devices) is a real fd (a memfd, so the
// number is reserved by the kernel and poll/close/exec behave sanely)
// mapped to a model file. dup()s share the model file, as
// they share one drm_file in the kernel; the last close releases it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "vfs.h"
#include "winsys/drm/drm_file.h"
#include "winsys/sim/sim_drm_file.h"

namespace wsys::shim {

// One open file description of a node: a model file opened exactly as the
// in-process transport opens one (SimDrmFile::open for the render node,
// drm::open_model for an extension device).
struct NodeFile {
  std::unique_ptr<drm::DrmFile> file;
  sim::SimDrmFile* gpu = nullptr;  // `file` when it is the render node's (mmap)
  const VNode* node = nullptr;     // what fstat and /proc/self/fd report
  // Identity of the backing memfd, to recognise an fd number that was
  // closed behind the shim's back (close_range, fclose, a raw syscall) and
  // reused for something else.
  dev_t dev = 0;
  ino_t ino = 0;
};
using NodeFilePtr = std::shared_ptr<NodeFile>;

class FdTable {
 public:
  static FdTable& get();

  // The node file behind `fd`, or null (the common case, answered without
  // a lock while the program has no node open). Checks that `fd` is still
  // the same open file; a stale entry is dropped.
  NodeFilePtr lookup(int fd);
  // Records `fd` (replacing a stale entry). False only when out of memory.
  bool insert(int fd, NodeFilePtr f);
  // Removes `fd` and returns its file so the caller can release it after
  // the real close, outside the table's lock (releasing a model file closes
  // its objects' memfds, which comes back through close()).
  NodeFilePtr take(int fd);
  // Removes every entry in [first, last]; returns them for release.
  std::unordered_map<int, NodeFilePtr> take_range(unsigned first, unsigned last);
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }

 private:
  FdTable() = default;
  std::mutex lock_;
  std::unordered_map<int, NodeFilePtr> map_;
  std::atomic<size_t> count_{0};
};

// fstat through libc, bypassing the shim's own fstat (for identity checks).
int real_fstat(int fd, struct stat* st);

}  // namespace wsys::shim
