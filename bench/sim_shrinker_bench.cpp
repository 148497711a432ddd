// Shrinker reclaim throughput of the kernel model (panfrost).
//
// Each iteration fills the device's budget with kObjects DONTNEED objects
// of kObjectSize bytes, every page written (resident), then times one
// CREATE_BO of kObjects * kObjectSize bytes: the budget is full, so the
// shrinker must purge all of them (tear down their GPU mappings, punch the
// memfd pages out, truncate) before the allocation succeeds.
//
// Metric: shrinker_reclaim_gib_per_s = bytes purged / time of that ioctl.
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "metrics.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"

namespace {

using wsys::sim::SimDrmFile;

constexpr int kObjects = 256;
constexpr uint64_t kObjectSize = 256 * 1024;

int create_bo(SimDrmFile& f, uint64_t size, uint32_t* h) {
  drm_panfrost_create_bo c{};
  c.size = static_cast<uint32_t>(size);
  c.flags = PANFROST_BO_NOEXEC;
  int r = f.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c);
  *h = c.handle;
  return r;
}

void close_bo(SimDrmFile& f, uint32_t h) {
  drm_gem_close c{};
  c.handle = h;
  f.ioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

void BM_ShrinkerReclaim(benchmark::State& state) {
  std::string why;
  auto fr = SimDrmFile::open("panfrost", &why);
  if (!fr.ok()) {
    state.SkipWithError(("cannot open the model: " + why).c_str());
    return;
  }
  SimDrmFile& f = **fr;
  wsys::sim::Shrinker& shr = f.file().device()->shrinker();
  const uint64_t old_budget = shr.budget();
  const uint64_t total = kObjects * kObjectSize;
  shr.set_budget(shr.stats().charged + total);
  double seconds = 0, bytes = 0;
  std::vector<uint32_t> handles(kObjects);
  for (auto _ : state) {
    state.PauseTiming();
    for (uint32_t& h : handles) {
      if (create_bo(f, kObjectSize, &h)) {
        state.SkipWithError("CREATE_BO failed");
        shr.set_budget(old_budget);
        return;
      }
      drm_panfrost_mmap_bo m{};
      m.handle = h;
      f.ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m);
      auto p = f.mmap(nullptr, kObjectSize, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
      if (p.ok()) {
        std::memset(*p, 0xa5, kObjectSize);
        f.munmap(*p, kObjectSize);
      }
      drm_panfrost_madvise mv{};
      mv.handle = h;
      mv.madv = PANFROST_MADV_DONTNEED;
      f.ioctl(DRM_IOCTL_PANFROST_MADVISE, &mv);
    }
    const uint64_t purged0 = shr.stats().purged_bytes;
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    uint32_t big = 0;
    int r = create_bo(f, total, &big);
    auto t1 = std::chrono::steady_clock::now();
    state.PauseTiming();
    if (r) {
      state.SkipWithError("the big CREATE_BO failed: the shrinker did not make room");
      shr.set_budget(old_budget);
      return;
    }
    seconds += std::chrono::duration<double>(t1 - t0).count();
    bytes += static_cast<double>(shr.stats().purged_bytes - purged0);
    close_bo(f, big);
    for (uint32_t h : handles) close_bo(f, h);
    state.ResumeTiming();
  }
  shr.set_budget(old_budget);
  if (seconds > 0) {
    const double gib_s = bytes / seconds / (1ull << 30);
    state.counters["reclaim_GiB_per_s"] = gib_s;
    wsys::bench::record_metric("shrinker_reclaim_gib_per_s", gib_s, "GiB/s");
  }
}

BENCHMARK(BM_ShrinkerReclaim)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return wsys::bench::run_benchmarks_and_print_metrics(argc, argv); }
