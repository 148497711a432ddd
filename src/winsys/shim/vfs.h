// The shim's fake files: /dev/dri/renderD128 and the sysfs entries libdrm
// reads to discover it (drmGetDevices2, drmGetDevice2, drmGetDeviceNameFromFd2,
// drmGetRenderDeviceNameFromFd), laid out as a platform device:
//
//   /dev/dri/renderD128                            char device 226:128
//   /sys/dev/char/226:128 -> ../../devices/platform/<dev>/drm/renderD128
//   /sys/class/drm/renderD128 -> ../../devices/platform/<dev>/drm/renderD128
//   /sys/devices/platform/<dev>/
//       uevent      DRIVER=, OF_FULLNAME=, OF_COMPATIBLE_<n>=, MODALIAS=
//       subsystem -> ../../../bus/platform
//       driver    -> ../../../bus/platform/drivers/<driver>
//       drm/renderD128/
//           uevent  MAJOR=226 MINOR=128 DEVNAME=dri/renderD128
//           dev     226:128
//           device -> ../../../<dev>
//           subsystem -> ../../../../../class/drm
//
// The kernel model's extra devices (a MODEL EXTENSION, issue 19,
// drm-uapi/wsys_sim_alloc.h; no released kernel has them), as character
// devices in the local/experimental major 240:
//
//   /dev/dma_heap/wsys-deferred   240:0  the central allocator ("wsys-alloc")
//   /dev/wsys-sim-display         240:1  the display controller model
//   /dev/wsys-sim-camera          240:2  the camera/ISP model
//
// Directories that exist on a real system (/dev, /dev/dri, /sys, /sys/dev,
// /sys/dev/char, /sys/devices, /sys/devices/platform, /sys/class,
// /sys/class/drm, /dev/dma_heap) are overlays: their real entries stay, the fake ones are
// added (and shadow a real entry of the same name).
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

struct statx;

namespace wsys::shim {

inline constexpr const char kNodePath[] = "/dev/dri/renderD128";
inline constexpr unsigned kNodeMajor = 226, kNodeMinor = 128;
inline constexpr unsigned kModelExtMajor = 240;  // local/experimental use
inline constexpr const char kAllocNodePath[] = "/dev/dma_heap/wsys-deferred";
inline constexpr const char kDisplayNodePath[] = "/dev/wsys-sim-display";
inline constexpr const char kCameraNodePath[] = "/dev/wsys-sim-camera";
inline constexpr const char kDriverEnv[] = "WSYS_SIM_DRIVER";

// WSYS_SIM_DRIVER: "panthor" (also when unset or empty) or "panfrost".
// Null with *why set (naming the variable) for any other value.
const char* driver_from_env(std::string* why);

enum class VKind { Dir, File, Link, Node };

struct VNode {
  std::string path;  // canonical, absolute
  VKind kind;
  bool overlay = false;  // Dir: a real directory the shim adds entries to
  // File: contents; Link: target; Node: the model device it opens, "" for
  // the render node (WSYS_SIM_DRIVER's), else an extension device's name
  // ("wsys-alloc", "wsys-display", "wsys-camera").
  std::string data;
  unsigned rdev_major = 0, rdev_minor = 0;  // Node
};

class Vfs {
 public:
  // The tree for the current WSYS_SIM_DRIVER (an invalid value gets the
  // panthor layout without a driver, as a device whose driver failed).
  static const Vfs& current();

  const VNode* find(std::string_view path) const;
  // Fake entries directly in directory `dir` (no trailing slash).
  std::vector<const VNode*> children(std::string_view dir) const;

 private:
  explicit Vfs(const char* driver);
  std::vector<VNode> nodes_;
};

// Cheap pre-check: false for every path that cannot reach a fake entry, so
// the common case costs a few compares and no allocation.
bool may_be_fake(const char* path);

struct Resolved {
  enum Kind {
    Pass,   // not the shim's: call libc with the caller's path
    Fake,   // `node` (canonical path in `path`)
    Real,   // through a fake link into a real file: call libc with `path`
    Error,  // fail with `err`
  } kind = Pass;
  const VNode* node = nullptr;
  std::string path;
  int err = 0;
};

// Resolves `path` through the fake tree (following fake symlinks, and the
// last component's only if `follow_last`). Only absolute paths are handled.
Resolved resolve(const char* path, bool follow_last);

// stat/statx of a fake entry (a node: a char device, mode 0666), also for
// fstat of an open node fd.
void fill_stat(const VNode& n, struct stat* st);
void fill_statx(const VNode& n, struct statx* stx);

}  // namespace wsys::shim
