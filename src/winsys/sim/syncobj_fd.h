// File descriptors for syncobjs and sync_files, as real fds.
//
// The kernel gives each exported syncobj (HANDLE_TO_FD) and each sync_file
// (EXPORT_SYNC_FILE) an anonymous file. The model hands out one end of an
// AF_UNIX socket pair instead and keeps the other end in a process-wide
// table keyed by the exported socket's inode, holding a reference to the
// syncobj or fence, exactly as the kernel's file does:
//   - any dup of the fd (or an fd passed over a socket and back) finds the
//     same object, from any open file of the model in this process;
//   - when every copy of the exported end is closed, the model's end sees a
//     hang-up and the entry (and its reference) is dropped, the way the
//     kernel's release() drops it (checked whenever the table is used);
//   - a sync_file's exported end becomes POLLIN-readable when its fence
//     signals (the model sends one byte from the signalling path), so
//     poll()/epoll on it behave as on a kernel sync_file.
// Differences from the kernel: read(2) on a sync_file fd consumes the byte
// (the kernel has no read), and the sync_file ioctls (SYNC_IOC_MERGE,
// SYNC_IOC_FILE_INFO) are not available on these fds.
#pragma once

#include <cstddef>

#include "winsys/sim/fence.h"
#include "winsys/sim/syncobj.h"

namespace wsys::sim {

class SyncFdTable {
 public:
  static SyncFdTable& get();

  // A new O_CLOEXEC fd standing for `obj` (drm_syncobj_get_fd).
  // 0 or a negative errno (-EMFILE, ...).
  int export_syncobj(SyncobjPtr obj, int* fd_out);
  // The syncobj behind a syncobj fd, or null if `fd` is not one (closed,
  // not open, or another kind of file).
  SyncobjPtr import_syncobj(int fd);

  // sync_file export, in two steps so the caller can follow the kernel's
  // order (the fd is reserved before the fence is looked up):
  // reserve_sync_file() makes the socket pair, publish_sync_file() binds
  // it to `fence` (SyncState lock NOT held) and returns the user's fd.
  struct Reservation {
    int user_fd = -1;
    int our_fd = -1;
  };
  int reserve_sync_file(Reservation* r);
  void cancel_reservation(Reservation* r);
  int publish_sync_file(Reservation* r, FencePtr fence);
  // The fence behind a sync_file fd, or null if `fd` is not one.
  FencePtr import_sync_file(int fd);

  // Entries currently held (after dropping the closed ones). For tests.
  size_t live_entries();

 private:
  SyncFdTable() = default;
};

// True if `fd` is an eventfd (what eventfd_ctx_fdget accepts).
bool is_eventfd(int fd);

}  // namespace wsys::sim
