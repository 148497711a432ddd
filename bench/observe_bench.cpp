// The cost of watching memory (issue 20): WSYS_TRACE on against off on the
// same workload in the same run, and one counter update of the live
// statistics segment.
//
// The workload is a frame loop shaped like the main job's programs: per
// frame a few buffers of a changing size from the cache (labelled), each
// written once by the CPU (the demos fill their staging and input buffers),
// plus a sparse-style bind batch on a context Vm, then freed. Rounds with
// tracing off and on alternate; the ratio is of the medians.
//
//   metric trace_overhead_ratio   on / off wall time of wsys-vk-demo on the
//                                 ICD (target <= 1.05), with --demo PROGRAM
//                                 (run under scripts/wsys-vk-env.sh)
//   metric trace_overhead_ratio_alloc_loop  the same on the frame loop
//                                 below: allocation-bound, the worst case
//   metric trace_event_ns         one trace event written (on)
//   metric trace_off_site_ns      one event site with tracing off
//   metric stats_publish_ns       one counter update in the segment
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "metrics.h"
#include "winsys/core/stats_publish.h"
#include "winsys/core/trace.h"
#include "wsys/device.hpp"
#include "wsys/vm.hpp"

using namespace wsys;
using wsys::bench::print_metrics;
using wsys::bench::record_metric;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One round of `frames` frames; returns its wall time in seconds.
double run_frames(Device& dev, Vm& vm, int frames) {
  static const char* const kLabels[] = {"vk memory", "vk buffer", "staging", "readback"};
  const auto t0 = Clock::now();
  for (int f = 0; f < frames; f++) {
    const uint64_t size = (uint64_t{64} << 10) * (1 + f % 8);
    std::vector<BoRef> bos;
    for (int i = 0; i < 4; i++) {
      Result<BoRef> b = dev.bo_alloc(size, 0, kLabels[i]);
      if (!b.ok()) {
        std::fprintf(stderr, "bo_alloc: %d\n", b.error());
        std::exit(1);
      }
      Result<void*> m = (*b)->map();
      if (m.ok()) std::memset(*m, f & 0xff, size);
      bos.push_back(std::move(*b));
    }
    Result<VaAllocation> va = vm.alloc_va(size, 64 << 10);
    if (va.ok()) {
      BindBatch batch;
      batch.map(*bos[0], 0, va->addr, size);
      (void)vm.bind(batch, BindMode::Immediate);
      (void)vm.unmap_and_free(*va, std::nullopt);
    }
  }
  return seconds_since(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// Wall time of `demo --frames 60 --quiet`, with WSYS_TRACE set to `trace`
// (or unset).
double run_demo(const char* demo, const char* trace) {
  const auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (trace) setenv("WSYS_TRACE", trace, 1);
    else unsetenv("WSYS_TRACE");
    execl(demo, demo, "--frames", "60", "--quiet", static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "%s failed (status %d)\n", demo, st);
    std::exit(1);
  }
  return seconds_since(t0);
}

int main(int argc, char** argv) {
  const char* demo = argc == 3 && !std::strcmp(argv[1], "--demo") ? argv[2] : nullptr;
  std::string why;
  DeviceOptions o;
  o.maintenance_thread = false;
  auto d = Device::open("sim:panthor", o, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "cannot open sim:panthor: %s\n", why.c_str());
    return 1;
  }
  Device& dev = **d;
  auto vm = Vm::create(*d, 1ull << 32);
  if (!vm.ok()) {
    std::fprintf(stderr, "Vm::create: %d\n", vm.error());
    return 1;
  }
  char path[] = "/tmp/wsys-observe-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);

  // Warm the cache, then alternate off and on.
  run_frames(dev, **vm, 200);
  std::vector<double> off, on;
  const int frames = 400;
  for (int round = 0; round < 9; round++) {
    core::trace_close();
    off.push_back(run_frames(dev, **vm, frames));
    core::trace_open(path);
    on.push_back(run_frames(dev, **vm, frames));
  }
  core::trace_close();
  const double ratio = median(on) / median(off);
  record_metric("trace_overhead_ratio_alloc_loop", ratio, "x");
  record_metric("trace_frame_off_us", median(off) / frames * 1e6, "us");
  record_metric("trace_frame_on_us", median(on) / frames * 1e6, "us");

  // One event written, and one event site with tracing off.
  const int n = 200000;
  core::trace_open(path);
  auto t0 = Clock::now();
  for (int i = 0; i < n; i++) {
    core::TraceSpan s("bench_event");
    if (s) s.end({{"i", i}});
  }
  record_metric("trace_event_ns", seconds_since(t0) / n * 1e9, "ns");
  core::trace_close();
  t0 = Clock::now();
  for (int i = 0; i < n * 10; i++) {
    core::TraceSpan s("bench_event");
    if (s) s.end({{"i", i}});
  }
  record_metric("trace_off_site_ns", seconds_since(t0) / (n * 10) * 1e9, "ns");

  if (demo) {
    // The demo with tracing off and on, alternating. The ratio is of the
    // fastest runs: on a shared machine other work only ever adds time, so
    // the minimum is the least disturbed figure (medians printed too).
    std::vector<double> doff, don;
    run_demo(demo, nullptr);  // warm caches (shader compilation, files)
    for (int round = 0; round < 9; round++) {
      doff.push_back(run_demo(demo, nullptr));
      don.push_back(run_demo(demo, path));
    }
    const double min_off = *std::min_element(doff.begin(), doff.end());
    const double min_on = *std::min_element(don.begin(), don.end());
    record_metric("trace_overhead_ratio", min_on / min_off, "x");
    record_metric("trace_overhead_ratio_median", median(don) / median(doff), "x");
    record_metric("trace_demo_off_s", min_off, "s");
    record_metric("trace_demo_on_s", min_on, "s");
  }
  unlink(path);

  // One counter update in a published segment.
  core::StatsPublisher pub;
  pub.publish("bench", "none");
  stats::Counter& c = pub.seg().bytes_live;
  const long m = 20000000;
  t0 = Clock::now();
  for (long i = 0; i < m; i++) c.fetch_add(static_cast<uint64_t>(i), std::memory_order_relaxed);
  record_metric("stats_publish_ns", seconds_since(t0) / m * 1e9, "ns");
  print_metrics();
  return 0;
}
