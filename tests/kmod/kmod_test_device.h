// How the kmod suite opens its device, and test-only helpers.
//
// The suite is built twice from the same sources:
//   kmod_test       in process: the kernel model through
//                   wsys::drm::open_device (DeviceSpec Model), both drivers;
//   kmod_shim_test  (-DWSYS_KMOD_TEST_UNDER_SHIM) under the drm-shim:
//                   /dev/dri/renderD128 opened with plain open() and wrapped
//                   with RealDrmFile::adopt, one driver (WSYS_SIM_DRIVER).
// kmod never learns which: that is the point.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "winsys/drm/drm_file.h"
#include "winsys/kmod/kmod.h"
#include "wsys/result.hpp"

namespace wsys::kmod::test {

// The drivers this program can test ("panthor", "panfrost").
std::vector<std::string> test_drivers();

// A new open file on the test device for `driver`.
Result<std::unique_ptr<drm::DrmFile>> open_test_file(const std::string& driver);

// A kmod Device on a new open file.
Result<std::unique_ptr<Device>> open_test_device(const std::string& driver);

// CLOCK_MONOTONIC now + ms, in ns (an absolute deadline for waits).
int64_t deadline_in_ms(int64_t ms);

}  // namespace wsys::kmod::test
