// GpuView: the kernel model's one extra, the CPU's view of a GPU address.
//
// On the model the GPU MMU is the CPU's MMU: every VM is a window of CPU
// address space, and a CPU access at the right place behaves exactly as the
// GPU's would (unmapped pages fault, read-only pages refuse writes). Frontends
// that execute on the CPU (the Vulkan ICD hands lavapipe these addresses)
// need that address. A real kernel has nothing like it.
//
// The route is explicit and has one name: the model implements this
// interface, DrmFile::gpu_view() hands it out (null on a real render node),
// and core's Device::gpu_view() is its only user. kmod does not carry it.
#pragma once

#include <cstdint>

namespace wsys::drm {

class GpuView {
 public:
  GpuView() = default;
  GpuView(const GpuView&) = delete;
  GpuView& operator=(const GpuView&) = delete;

  // The CPU address at which the GPU sees `va` in VM `vm_id` (0: panfrost's
  // per-file address space), or null for an unknown VM. Valid while the VM
  // lives.
  virtual void* cpu_address(uint32_t vm_id, uint64_t va) const = 0;

 protected:
  ~GpuView() = default;
};

}  // namespace wsys::drm
