// PLACEHOLDER: replaced by the VM implementation.
#include "winsys/sim/vm.h"
#include <cerrno>
namespace wsys::sim {
SimVmPtr SimVm::create(SimDevice*, const Config&, int* err) { *err = -EOPNOTSUPP; return nullptr; }
SimVm::~SimVm() = default;
void SimVm::destroy() {}
uint8_t* SimVm::gpu_view(uint64_t) const { return nullptr; }
uint64_t SimVm::va_size() const { return 0; }
bool SimVm::usable() const { return false; }
int SimVm::map(const SimBoPtr&, uint64_t, uint64_t, uint64_t, uint32_t) { return -EOPNOTSUPP; }
int SimVm::unmap(uint64_t, uint64_t) { return -EOPNOTSUPP; }
PageTableCounters SimVm::pt_counters() const { return {}; }
}  // namespace wsys::sim
