// spec -> DrmFile -> kmod::Device, written once (see open.h).
#include "winsys/kmod/open.h"

#include <cerrno>

#include "winsys/drm/device_select.h"
#include "winsys/drm/real_drm_file.h"

namespace wsys::kmod {

namespace {
Result<std::unique_ptr<Device>> open_spec(const Result<drm::DeviceSpec>& spec, std::string* why) {
  if (!spec.ok()) return Error(spec.error());
  Result<std::unique_ptr<drm::DrmFile>> f = drm::open_device(*spec, why);
  if (!f.ok()) return Error(f.error());
  return Device::create(std::move(*f));
}
}  // namespace

Result<std::unique_ptr<Device>> open_device(std::string_view spec, std::string* why) {
  return open_spec(drm::parse_device_spec(spec, why), why);
}

Result<std::unique_ptr<Device>> open_default_device(std::string* why) {
  return open_spec(drm::device_spec_from_env(why), why);
}

Result<std::unique_ptr<Device>> open_device_fd(int fd) {
  if (fd < 0) return Error(-EBADF);
  Result<std::unique_ptr<drm::RealDrmFile>> f = drm::RealDrmFile::adopt(fd, "fd");
  if (!f.ok()) return Error(f.error());
  return Device::create(std::move(*f));
}

}  // namespace wsys::kmod
