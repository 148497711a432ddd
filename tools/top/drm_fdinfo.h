// DRM fdinfo: what the kernel says about every process's GPU clients.
//
// Every open DRM file shows, in /proc/PID/fdinfo/FD, keys documented in the
// kernel's drm-usage-stats: drm-driver, drm-client-id (one per drm_file, so
// dup'ed fds and fds passed between processes show the same id),
// drm-pdev, drm-engine-<name> (busy nanoseconds), drm-cycles-<name>,
// drm-total-<region> / drm-shared- / drm-resident- / drm-purgeable- /
// drm-active-<region> with a unit (KiB, MiB) or bytes. wsys-top reads them
// as GPU top tools do, so it also shows processes that do not use wsys, and
// on a real kernel the kernel's view next to wsys's own segments. The
// kernel model's files print the same keys (src/winsys/sim/accounting.h),
// plus its own (drm-swapped-memory, ...), which are read like any other.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wsys::top {

struct DrmClient {
  int pid = 0;
  std::string process;  // /proc/PID/comm
  std::string driver, pdev;
  uint64_t client_id = 0;
  // drm-<kind>-<region> in bytes, by "<kind>-<region>" ("total-memory",
  // "resident-system0", "swapped-memory", ...).
  std::map<std::string, uint64_t> memory;
  std::map<std::string, uint64_t> engine_ns;  // drm-engine-<name>
  // Sums over the regions of one kind ("total", "resident", ...).
  uint64_t sum(const std::string& kind) const;
};

// Parses one fdinfo text; false if it is not a DRM file (no drm-driver).
bool parse_drm_fdinfo(const std::string& text, DrmClient* out);

// Every DRM client under `proc_root` (normally "/proc"), one per
// (pid, driver, pdev, client id), in pid order. Unreadable processes are
// skipped (another user's, or gone meanwhile).
std::vector<DrmClient> scan_drm_clients(const std::string& proc_root);

}  // namespace wsys::top
