#include "winsys/drm/model_opener.h"

#include "winsys/sim/alloc_file.h"
#include "winsys/sim/sim_drm_file.h"

namespace wsys::drm {

bool model_opener_available() { return true; }

Result<std::unique_ptr<DrmFile>> open_model(const std::string& driver, std::string* why) {
  // The model extension's allocator, display and camera devices
  // (drm-uapi/wsys_sim_alloc.h).
  if (sim::SimAuxFile::is_aux_name(driver)) return std::unique_ptr<DrmFile>(sim::SimAuxFile::open(driver));
  auto f = sim::SimDrmFile::open(driver, why);
  if (!f) return Error(f.error());
  return std::unique_ptr<DrmFile>(std::move(*f));
}

}  // namespace wsys::drm
