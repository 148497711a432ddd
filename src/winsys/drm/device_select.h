// Device selection: which DrmFile wsys opens.
//
// WSYS_DEVICE = auto (default)    first real panthor/panfrost render node,
//                                  else the kernel model (panthor flavour)
//             | sim | sim:panthor  the kernel model, panthor flavour
//             | sim:panfrost       the kernel model, panfrost flavour
//             | /dev/dri/renderD… a specific node (must be panthor/panfrost)
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "winsys/drm/drm_file.h"

namespace wsys::drm {

inline constexpr const char* kDeviceEnv = "WSYS_DEVICE";

struct DeviceSpec {
  enum class Kind { Auto, Model, Path };
  Kind kind = Kind::Auto;
  std::string model_driver = "panthor";  // for Kind::Model (and Auto's fallback)
  std::string path;                      // for Kind::Path
};

// Parses a WSYS_DEVICE value. On error returns -EINVAL and, if `why` is
// given, a message that names the variable and the accepted forms.
Result<DeviceSpec> parse_device_spec(std::string_view value, std::string* why = nullptr);

// Reads WSYS_DEVICE (unset or empty means auto).
Result<DeviceSpec> device_spec_from_env(std::string* why = nullptr);

// True for the DRM drivers wsys has a backend for.
bool is_supported_driver(std::string_view name);

// A render node found by enumeration.
struct RenderNode {
  std::string path;
  DriverVersion version;
  bool supported = false;  // panthor or panfrost
};

// All render nodes libdrm can see (drmGetDevices2), with their drivers.
// Nodes that cannot be opened are skipped.
std::vector<RenderNode> enumerate_render_nodes();

// The kernel-model drivers this build can open ("panthor", "panfrost").
// Empty when the model is not built.
std::vector<std::string> model_drivers();

// Opens the device `spec` selects. On error, `why` says what went wrong.
Result<std::unique_ptr<DrmFile>> open_device(const DeviceSpec& spec, std::string* why = nullptr);

// open_device(device_spec_from_env()).
Result<std::unique_ptr<DrmFile>> open_default_device(std::string* why = nullptr);

}  // namespace wsys::drm
