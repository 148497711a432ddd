// PLACEHOLDER: replaced by the Kernel model II implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_panthor_tiler_heap_create(SimFile&, void*) { return -EOPNOTSUPP; }
int ioctl_panthor_tiler_heap_destroy(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
