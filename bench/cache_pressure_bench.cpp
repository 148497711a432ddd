// The BO cache under a kernel that reclaims transparently (panthor's 2026
// GEM shrinker, in the model): cached buffers are idle, so the kernel swaps
// them out under pressure -- swap I/O for memory nobody uses -- unless the
// cache frees them first (DeviceOptions::trim_cache_under_pressure).
//
// Three runs of the same workload, each in its own child process (the
// model is one device per process), all with WSYS_SIM_MEMORY_BUDGET=64M on
// panthor: a working set of up to 40 MiB of buffers (256 KiB .. 4 MiB, each
// written), every step freeing a random one and allocating another; the BO
// cache at its defaults (256 MiB cap), so what it keeps exceeds the budget.
//   - cache off: the baseline; the live set fits, nothing should be swapped;
//   - cache on, pressure-aware trimming off: the kernel swaps cached buffers;
//   - cache on, pressure-aware trimming on (the default).
// Metrics (bytes the model's reclaim swapped out, from its counters):
//   cache_bytes_swapped_out_without   trimming off
//   cache_bytes_swapped_out           trimming on (target 0)
//   cache_bytes_swapped_out_cache_off the baseline
//   cache_bytes_swapped_out_ratio     with / without (target 0)
//   cache_hit_rate_pressure_aware, cache_hit_rate_without: what it costs.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "metrics.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "wsys/device.hpp"

namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kLiveBytes = 40 * kMiB;
constexpr int kSteps = 3000;

struct Result {
  unsigned long long swapped = 0, hits = 0, misses = 0, trims = 0;
};

int child(const char* mode) {
  wsys::DeviceOptions opt;
  opt.cache_from_env = false;
  opt.maintenance_thread = false;
  if (!std::strcmp(mode, "off")) opt.cache.max_cached_bytes = 0;
  opt.trim_cache_under_pressure = !std::strcmp(mode, "aware");
  std::string why;
  auto d = wsys::Device::open("sim:panthor", opt, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "cache_pressure_bench: %s\n", why.c_str());
    return 1;
  }
  std::mt19937_64 rng(5);
  std::vector<wsys::BoRef> live;
  uint64_t live_bytes = 0;
  for (int s = 0; s < kSteps; s++) {
    if (!live.empty() && (live_bytes > kLiveBytes || rng() % 2)) {
      const size_t i = rng() % live.size();
      live_bytes -= live[i]->size();
      live[i] = std::move(live.back());
      live.pop_back();
      continue;
    }
    const uint64_t size = (256 << 10) << (rng() % 5);  // 256 KiB .. 4 MiB
    auto b = (*d)->bo_alloc(size, 0, "bench");
    if (!b.ok()) return 1;
    auto m = (*b)->map();
    if (!m.ok()) return 1;
    for (uint64_t off = 0; off < size; off += 64 << 10) static_cast<char*>(*m)[off] = 1;
    live_bytes += (*b)->size();
    live.push_back(std::move(*b));
  }
  wsys::sim::SimDevice* sd = wsys::sim::SimDevice::get("panthor", nullptr);
  wsys::sim::PanthorReclaim* rc = sd ? sd->shrinker().reclaimer() : nullptr;
  if (!rc) return 1;
  const wsys::DeviceStats st = (*d)->stats();
  std::printf("%llu %llu %llu %llu\n",
              static_cast<unsigned long long>(rc->stats().swapped_out_bytes),
              static_cast<unsigned long long>(st.cache.hits),
              static_cast<unsigned long long>(st.cache.misses),
              static_cast<unsigned long long>(st.pressure_trims));
  return 0;
}

bool run_child(const char* mode, Result* r) {
  int p[2];
  if (pipe(p) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    setenv("WSYS_SIM_MEMORY_BUDGET", "64M", 1);
    execl("/proc/self/exe", "cache_pressure_bench", "--child", mode, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(p[1]);
  char buf[256] = {};
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 && (k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += static_cast<size_t>(k);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
         std::sscanf(buf, "%llu %llu %llu %llu", &r->swapped, &r->hits, &r->misses, &r->trims) == 4;
}

double hit_rate(const Result& r) {
  return r.hits + r.misses ? static_cast<double>(r.hits) / static_cast<double>(r.hits + r.misses) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && !std::strcmp(argv[1], "--child")) return child(argv[2]);
  Result off, without, aware;
  if (!run_child("off", &off) || !run_child("unaware", &without) || !run_child("aware", &aware)) {
    std::fprintf(stderr, "cache_pressure_bench: a child run failed\n");
    return 1;
  }
  using wsys::bench::record_metric;
  record_metric("cache_bytes_swapped_out_cache_off", static_cast<double>(off.swapped), "bytes");
  record_metric("cache_bytes_swapped_out_without", static_cast<double>(without.swapped), "bytes");
  record_metric("cache_bytes_swapped_out", static_cast<double>(aware.swapped), "bytes");
  record_metric("cache_bytes_swapped_out_ratio",
                without.swapped ? static_cast<double>(aware.swapped) / static_cast<double>(without.swapped)
                                : 0.0,
                "x");
  record_metric("cache_hit_rate_without", hit_rate(without), "ratio");
  record_metric("cache_hit_rate_pressure_aware", hit_rate(aware), "ratio");
  record_metric("cache_pressure_trims", static_cast<double>(aware.trims), "count");
  wsys::bench::print_metrics();
  return 0;
}
