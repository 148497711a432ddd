// The kmod objects behind core's, for in-tree code that submits GPU work.
//
// Core's public API (include/wsys) covers memory and synchronisation; it
// does not submit jobs. Code that does (the project's tests and benches
// driving the kernel model; a frontend built in this tree with the static
// libraries) needs the kmod Device, Bo and Vm to fill a GROUP_SUBMIT or a
// job chain. This header is that route, named and in one place: it is not
// installed, it is the only way to reach a kmod object from a core one,
// and nothing in include/wsys hands one out.
#pragma once

#include <memory>

#include "winsys/kmod/kmod.h"
#include "wsys/bo.hpp"
#include "wsys/device.hpp"
#include "wsys/heap.hpp"
#include "wsys/vm.hpp"

namespace wsys {

struct KernelAccess {
  static kmod::Device& device(const Device& d) { return d.kmod(); }
  static kmod::Bo& bo(const Bo& b) { return *b.kbo_; }
  // Shared: Vm::recreate() may replace the kernel VM meanwhile, and the
  // caller's reference stays valid (the old VM, unusable).
  static std::shared_ptr<kmod::Vm> vm(const Vm& v) { return v.kernel_vm(); }
  // The heap BO of a GrowableBo heap's use (for the job's BO list); null
  // for a TilerHeap. Valid while the HeapUse lives.
  static kmod::Bo* heap_bo(const HeapUse& u) { return u.kernel_bo_.get(); }
};

}  // namespace wsys
