// wsys-info: lists every GPU device wsys can use.
//
// Real render nodes come from libdrm (drmGetDevices2 + drmGetVersion); only
// panthor and panfrost nodes are usable, others are listed as unsupported so
// the user sees why they are not picked. The kernel model's flavours are
// listed after them. The last section says which device WSYS_DEVICE selects.
#include <cstdio>
#include <cstring>
#include <string>

#include "winsys/drm/device_select.h"

using namespace wsys::drm;

namespace {

void print_version(const DriverVersion& v) {
  std::printf("driver %s %d.%d.%d", v.name.c_str(), v.major, v.minor, v.patchlevel);
  if (!v.desc.empty()) std::printf(" (%s)", v.desc.c_str());
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--help]\n"
               "Lists the GPU devices wsys can use and the one WSYS_DEVICE selects.\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      usage(argv[0]);
      return 0;
    }
    std::fprintf(stderr, "wsys-info: unknown argument '%s'\n", argv[i]);
    return usage(argv[0]);
  }

  int usable = 0;
  std::printf("Real render nodes (libdrm):\n");
  auto nodes = enumerate_render_nodes();
  if (nodes.empty()) std::printf("  none: this machine has no DRM render node\n");
  int supported = 0;
  for (const RenderNode& n : nodes) {
    std::printf("  %s  ", n.path.c_str());
    print_version(n.version);
    std::printf("  %s\n", n.supported ? "usable" : "not usable (wsys drives panthor and panfrost)");
    supported += n.supported ? 1 : 0;
  }
  if (!nodes.empty() && supported == 0)
    std::printf("  no panthor or panfrost node: no Mali GPU is attached\n");
  usable += supported;

  std::printf("Kernel model:\n");
  auto drivers = model_drivers();
  if (drivers.empty()) std::printf("  not available in this build\n");
  for (const std::string& drv : drivers) {
    DeviceSpec spec;
    spec.kind = DeviceSpec::Kind::Model;
    spec.model_driver = drv;
    std::string why;
    auto f = open_device(spec, &why);
    if (!f) {
      std::printf("  sim:%s  cannot open: %s\n", drv.c_str(), why.c_str());
      continue;
    }
    std::printf("  sim:%s  ", drv.c_str());
    print_version((*f)->version());
    std::printf("\n");
    usable++;
  }

  std::printf("Selected (WSYS_DEVICE=%s):\n",
              std::getenv(kDeviceEnv) ? std::getenv(kDeviceEnv) : "auto");
  std::string why;
  auto f = open_default_device(&why);
  if (!f) {
    std::printf("  none: %s\n", why.c_str());
    return usable ? 1 : 0;
  }
  std::printf("  %s  ", (*f)->node_name().c_str());
  print_version((*f)->version());
  std::printf("\n");
  return 0;
}
