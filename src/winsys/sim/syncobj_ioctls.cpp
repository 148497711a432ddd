// PLACEHOLDER: replaced by the syncobj ioctl implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_syncobj_create(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_destroy(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_handle_to_fd(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_fd_to_handle(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_wait(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_reset(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_signal(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_timeline_wait(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_query(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_transfer(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_timeline_signal(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_syncobj_eventfd(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
