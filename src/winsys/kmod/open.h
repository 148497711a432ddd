// Opening a device: the one place where a WSYS_DEVICE-style spec (or an fd
// a frontend opened) becomes a DrmFile and then a kmod Device. Core calls
// these and never sees the transport (src/winsys/drm) itself.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "winsys/kmod/kmod.h"

namespace wsys::kmod {

// Opens the device `spec` selects (auto | sim | sim:panthor | sim:panfrost
// | /dev/dri/renderDNNN; empty is auto). On failure `why` (if given) says
// what went wrong.
Result<std::unique_ptr<Device>> open_device(std::string_view spec, std::string* why = nullptr);
// The same for the spec in WSYS_DEVICE (unset or empty: auto).
Result<std::unique_ptr<Device>> open_default_device(std::string* why = nullptr);

// Takes a render-node fd the frontend opened (closed by the Device, and on
// failure). -EBADF for a negative fd.
Result<std::unique_ptr<Device>> open_device_fd(int fd);

}  // namespace wsys::kmod
