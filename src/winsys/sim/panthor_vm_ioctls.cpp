// PLACEHOLDER: replaced by the panthor VM ioctl implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_panthor_vm_create(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_vm_destroy(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_vm_bind(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_vm_get_state(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
