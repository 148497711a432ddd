#include "kmod_test_device.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>


#ifdef WSYS_KMOD_TEST_UNDER_SHIM
#include "winsys/drm/real_drm_file.h"
#else
#include "winsys/drm/device_select.h"
#endif

namespace wsys::kmod::test {

#ifdef WSYS_KMOD_TEST_UNDER_SHIM
namespace {
constexpr const char* kShimNode = "/dev/dri/renderD128";
}

std::vector<std::string> test_drivers() {
  // The shim serves one driver per process.
  const char* d = std::getenv("WSYS_SIM_DRIVER");
  return {d && *d ? d : "panthor"};
}

Result<std::unique_ptr<drm::DrmFile>> open_test_file(const std::string& driver) {
  int fd = ::open(kShimNode, O_RDWR | O_CLOEXEC);
  if (fd < 0) return Error(-errno);
  auto f = drm::RealDrmFile::adopt(fd, kShimNode);
  if (!f) return Error(f.error());
  if ((*f)->version().name != driver) return Error(-ENODEV);
  return std::unique_ptr<drm::DrmFile>(std::move(*f));
}
#else
std::vector<std::string> test_drivers() { return {"panthor", "panfrost"}; }

Result<std::unique_ptr<drm::DrmFile>> open_test_file(const std::string& driver) {
  drm::DeviceSpec spec;
  spec.kind = drm::DeviceSpec::Kind::Model;
  spec.model_driver = driver;
  return drm::open_device(spec);
}
#endif

Result<std::unique_ptr<Device>> open_test_device(const std::string& driver) {
  auto f = open_test_file(driver);
  if (!f) return Error(f.error());
  return Device::create(std::move(*f));
}

int64_t deadline_in_ms(int64_t ms) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec + ms * 1000000;
}

}  // namespace wsys::kmod::test
