#include "winsys/drm/device_select.h"

#include <fcntl.h>
#include <unistd.h>
#include <xf86drm.h>

#include <cerrno>
#include <cstdlib>

#include "winsys/drm/model_opener.h"
#include "winsys/drm/real_drm_file.h"

namespace wsys::drm {

namespace {

void set_why(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
}

constexpr const char* kAcceptedForms =
    "accepted values: auto, sim, sim:panthor, sim:panfrost, or a render node path "
    "such as /dev/dri/renderD128";

}  // namespace

bool is_supported_driver(std::string_view name) {
  return name == "panthor" || name == "panfrost";
}

Result<DeviceSpec> parse_device_spec(std::string_view value, std::string* why) {
  DeviceSpec spec;
  if (value.empty() || value == "auto") return spec;
  if (value == "sim") {
    spec.kind = DeviceSpec::Kind::Model;
    return spec;
  }
  if (value.substr(0, 4) == "sim:") {
    std::string_view drv = value.substr(4);
    if (!is_supported_driver(drv)) {
      set_why(why, std::string(kDeviceEnv) + "='" + std::string(value) +
                       "': unknown kernel-model driver '" + std::string(drv) +
                       "' (the model provides panthor and panfrost); " + kAcceptedForms);
      return Error(-EINVAL);
    }
    spec.kind = DeviceSpec::Kind::Model;
    spec.model_driver = std::string(drv);
    return spec;
  }
  if (value.front() == '/') {
    spec.kind = DeviceSpec::Kind::Path;
    spec.path = std::string(value);
    return spec;
  }
  set_why(why, std::string(kDeviceEnv) + "='" + std::string(value) +
                   "' is not a device selection; " + kAcceptedForms);
  return Error(-EINVAL);
}

Result<DeviceSpec> device_spec_from_env(std::string* why) {
  const char* v = std::getenv(kDeviceEnv);
  return parse_device_spec(v ? std::string_view(v) : std::string_view(), why);
}

std::vector<RenderNode> enumerate_render_nodes() {
  std::vector<RenderNode> nodes;
  int n = drmGetDevices2(0, nullptr, 0);
  if (n <= 0) return nodes;
  std::vector<drmDevicePtr> devs(static_cast<size_t>(n));
  n = drmGetDevices2(0, devs.data(), n);
  for (int i = 0; i < n; i++) {
    drmDevicePtr d = devs[static_cast<size_t>(i)];
    if (!(d->available_nodes & (1 << DRM_NODE_RENDER))) continue;
    const char* path = d->nodes[DRM_NODE_RENDER];
    int fd = ::open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    auto v = query_driver_version(fd);
    ::close(fd);
    if (!v) continue;
    RenderNode node;
    node.path = path;
    node.supported = is_supported_driver(v->name);
    node.version = std::move(*v);
    nodes.push_back(std::move(node));
  }
  drmFreeDevices(devs.data(), n);
  return nodes;
}

std::vector<std::string> model_drivers() {
  if (!model_opener_available()) return {};
  return {"panthor", "panfrost"};
}

Result<std::unique_ptr<DrmFile>> open_device(const DeviceSpec& spec, std::string* why) {
  switch (spec.kind) {
    case DeviceSpec::Kind::Path: {
      auto f = RealDrmFile::open(spec.path);
      if (!f) {
        set_why(why, std::string(kDeviceEnv) + "='" + spec.path + "': cannot open: " +
                         Error(f.error()).message());
        return Error(f.error());
      }
      if (!is_supported_driver((*f)->version().name)) {
        set_why(why, std::string(kDeviceEnv) + "='" + spec.path + "' is driven by '" +
                         (*f)->version().name + "', not panthor or panfrost");
        return Error(-ENODEV);
      }
      return std::unique_ptr<DrmFile>(std::move(*f));
    }
    case DeviceSpec::Kind::Auto:
      for (const RenderNode& node : enumerate_render_nodes()) {
        if (!node.supported) continue;
        auto f = RealDrmFile::open(node.path);
        if (f) return std::unique_ptr<DrmFile>(std::move(*f));
      }
      [[fallthrough]];
    case DeviceSpec::Kind::Model: {
      std::string model_why;
      auto f = open_model(spec.model_driver, &model_why);
      if (!f) {
        set_why(why, "cannot open the kernel model (" + spec.model_driver + "): " +
                         (model_why.empty() ? Error(f.error()).message() : model_why));
      }
      return f;
    }
  }
  return Error(-EINVAL);
}

Result<std::unique_ptr<DrmFile>> open_default_device(std::string* why) {
  auto spec = device_spec_from_env(why);
  if (!spec) return Error(spec.error());
  return open_device(*spec, why);
}

}  // namespace wsys::drm
