// PLACEHOLDER: replaced by the Kernel model II implementation.
#include <cerrno>
#include "winsys/sim/ioctls.h"
namespace wsys::sim {
int ioctl_panfrost_madvise(SimFile&, void*) { return -EOPNOTSUPP; }
}  // namespace wsys::sim
