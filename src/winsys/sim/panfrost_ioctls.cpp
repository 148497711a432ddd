// PLACEHOLDER: replaced by the panfrost ioctl implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_panfrost_create_bo(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panfrost_mmap_bo(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panfrost_get_param(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panfrost_get_bo_offset(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panfrost_set_label_bo(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
