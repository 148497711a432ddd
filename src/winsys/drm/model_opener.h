// The seam between device selection and the kernel model.
//
// The model (src/winsys/sim) lives below this layer and provides a DrmFile
// implementation; device selection reaches it only through these two
// functions, defined in model_opener.cpp.
#pragma once

#include <memory>
#include <string>

#include "winsys/drm/drm_file.h"

namespace wsys::drm {

// True if this build contains the kernel model.
bool model_opener_available();

// Opens a new file on the kernel model's device for `driver`
// ("panthor" or "panfrost"). Each call is a new open file, as open(2) of a
// render node would be; all files of one driver share one model device.
// On failure `why` (if given) says why, e.g. a bad WSYS_SIM_GPU.
Result<std::unique_ptr<DrmFile>> open_model(const std::string& driver,
                                            std::string* why = nullptr);

}  // namespace wsys::drm
