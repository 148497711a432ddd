// Host memory as GPU memory (issue 18): stealing pages vs copying them, on
// the kernel model through core's Device::import_host.
//
// Per size (1, 4, 16, 64, 256 MiB): the median time to get a filled host
// buffer into a GPU buffer with a GPU address, by
//   steal  import_host(UploadDiscard) with the steal threshold at 0: the
//          model's HOST_IMPORT moves the pages (mremap), the bind moves them
//          into the VM window;
//   copy   import_host(UploadKeep): bo_alloc (the cache, as wsys runs) +
//          memcpy.
// The source is refilled outside the timed region before every run (the
// steal empties it). Metrics:
//   host_upload_steal_vs_memcpy_<N>mib  copy time / steal time (x; > 1:
//                                        stealing wins)
//   host_upload_crossover_bytes          the smallest power of two from which
//                                        stealing wins at every size above
//   host_upload_steal_keep_vs_memcpy_16mib  the model's keep variant
//                                        (page moves + eager copy-back)
//   host_import_backed_us_per_gib        Shared (backed) imports + bind +
//                                        release of a resident memfd range,
//                                        1 GiB in 4 MiB imports
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "metrics.h"
#include "winsys/core/kernel_access.h"
#include "winsys/kmod/kmod.h"
#include "wsys/device.hpp"

namespace {

constexpr uint64_t kMiB = 1ull << 20;

double now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int reps_for(uint64_t bytes) {
  return static_cast<int>(std::clamp<uint64_t>((512 * kMiB) / bytes, 5, 41));
}

uint8_t* map_anon(uint64_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

void refill(uint8_t* p, uint64_t bytes, int round) {
  std::memset(p, 0x20 + (round & 0x3f), bytes);
}

// Median ns of one upload of `bytes` in `mode`; -1 on failure.
double time_upload(wsys::Device& d, uint64_t bytes, wsys::HostMemoryMode mode,
                   wsys::HostImportPath expect) {
  uint8_t* src = map_anon(bytes);
  if (!src) return -1;
  std::vector<double> t;
  const int reps = reps_for(bytes);
  for (int i = 0; i < reps; i++) {
    refill(src, bytes, i);
    wsys::HostImportPath path{};
    double t0 = now_ns();
    auto bo = d.import_host(src, bytes, mode, &path);
    double t1 = now_ns();
    if (!bo.ok() || path != expect) {
      std::fprintf(stderr, "host_upload_bench: import_host %llu bytes: %d (path %s)\n",
                   static_cast<unsigned long long>(bytes), bo.ok() ? 0 : bo.error(),
                   wsys::host_import_path_name(path));
      munmap(src, bytes);
      return -1;
    }
    t.push_back(t1 - t0);
  }
  munmap(src, bytes);
  return median(t);
}

// The model's keep variant, at the kmod level (core copies instead).
double time_steal_keep(wsys::Device& d, uint64_t bytes) {
  uint8_t* src = map_anon(bytes);
  if (!src) return -1;
  std::vector<double> t;
  for (int i = 0; i < reps_for(bytes); i++) {
    refill(src, bytes, i);
    double t0 = now_ns();
    auto bo = wsys::KernelAccess::device(d).bo_import_host(src, bytes,
                                                         wsys::kmod::HostImportMode::StealKeep);
    double t1 = now_ns();
    if (!bo.ok()) {
      munmap(src, bytes);
      return -1;
    }
    t.push_back(t1 - t0);
  }
  munmap(src, bytes);
  return median(t);
}

// RLIMIT_MEMLOCK bounds what one backed import may pin (8 MiB hard here,
// and no CAP_SYS_RESOURCE to lift it), so 1 GiB is imported as 256 imports
// of 4 MiB, each imported, bound, released; the figure is their total.
double backed_us_per_gib(wsys::Device& d) {
  const uint64_t bytes = 4 * kMiB, count = 256;
  int fd = memfd_create("host-upload-bench", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0) return -1;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return -1;
  std::memset(p, 1, bytes);  // resident, as a long-lived import would be
  std::vector<double> runs;
  for (int r = 0; r < 5; r++) {
    double t0 = now_ns();
    for (uint64_t i = 0; i < count; i++) {
      auto bo = d.import_host(p, bytes, wsys::HostMemoryMode::Shared);
      if (!bo.ok()) {
        std::fprintf(stderr, "host_upload_bench: backed import: %d\n", bo.error());
        return -1;
      }
    }
    runs.push_back(now_ns() - t0);
  }
  munmap(p, bytes);
  close(fd);
  return median(runs) / 1e3;
}

}  // namespace

int main() {
  // Backed imports pin: the soft RLIMIT_MEMLOCK up to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_MEMLOCK, &rl);
  }
  wsys::DeviceOptions opt;
  opt.cache_from_env = false;
  opt.maintenance_thread = false;
  opt.host_steal_min_bytes = 0;  // steal whatever is asked, to measure it
  std::string why;
  auto d = wsys::Device::open("sim:panthor", opt, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "host_upload_bench: %s\n", why.c_str());
    return 1;
  }
  if (!(*d)->info().host_import) {
    std::fprintf(stderr, "host_upload_bench: the model offers no HOST_IMPORT\n");
    return 1;
  }
  using wsys::bench::record_metric;
  using wsys::HostImportPath;
  using wsys::HostMemoryMode;

  for (uint64_t mib : {1, 4, 16, 64, 256}) {
    const uint64_t bytes = mib * kMiB;
    double copy = time_upload(**d, bytes, HostMemoryMode::UploadKeep, HostImportPath::Copy);
    double steal =
        time_upload(**d, bytes, HostMemoryMode::UploadDiscard, HostImportPath::Steal);
    if (copy < 0 || steal < 0) return 1;
    std::printf("%4llu MiB: copy %.0f us, steal %.0f us\n", static_cast<unsigned long long>(mib),
                copy / 1e3, steal / 1e3);
    record_metric("host_upload_steal_vs_memcpy_" + std::to_string(mib) + "mib", copy / steal,
                  "x");
  }

  // The crossover: powers of two from 16 KiB to 64 MiB; the smallest size
  // from which stealing wins at that size and every larger one.
  uint64_t crossover = 0;
  for (uint64_t bytes = 64 * kMiB; bytes >= 16 * 1024; bytes /= 2) {
    double copy = time_upload(**d, bytes, HostMemoryMode::UploadKeep, HostImportPath::Copy);
    double steal = time_upload(**d, bytes, HostMemoryMode::UploadDiscard, HostImportPath::Steal);
    if (copy < 0 || steal < 0) return 1;
    if (steal >= copy) break;
    crossover = bytes;
  }
  record_metric("host_upload_crossover_bytes", static_cast<double>(crossover), "bytes");

  double keep = time_steal_keep(**d, 16 * kMiB);
  double copy16 = time_upload(**d, 16 * kMiB, HostMemoryMode::UploadKeep, HostImportPath::Copy);
  if (keep > 0 && copy16 > 0)
    record_metric("host_upload_steal_keep_vs_memcpy_16mib", copy16 / keep, "x");

  double backed = backed_us_per_gib(**d);
  if (backed < 0) return 1;
  record_metric("host_import_backed_us_per_gib", backed, "us");
  wsys::bench::print_metrics();
  return 0;
}
