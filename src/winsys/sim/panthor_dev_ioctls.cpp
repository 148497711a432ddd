// PLACEHOLDER: replaced by the panthor device/BO ioctl implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_panthor_dev_query(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_bo_create(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_bo_mmap_offset(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_bo_set_label(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_set_user_mmio_offset(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
