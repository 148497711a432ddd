// PLACEHOLDER: replaced by the Kernel model II implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_panthor_group_create(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_group_destroy(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_group_submit(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_group_get_state(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
