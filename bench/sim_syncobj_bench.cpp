// Syncobj ioctls of the kernel model: cross-thread signal->wait latency
// and create/destroy cost.
//
//   syncobj_signal_wait_roundtrip_us  one thread TIMELINE_SIGNALs a point,
//       another sees it through TIMELINE_WAIT (WAIT_FOR_SUBMIT): two threads
//       ping-pong over two timeline syncobjs; the figure is per one-way trip.
//   syncobj_condvar_baseline_us  the same ping-pong over a bare
//       std::mutex + std::condition_variable pair, for scale.
//   syncobj_create_destroy_ns  CREATE + DESTROY of one syncobj.
//   syncobj_wait_signalled_ns  WAIT (poll) on an already signalled syncobj.
//   syscall_ns  a trivial system call (getppid), the floor of any ioctl;
//   syncobj_create_destroy_over_syscall (target <= 10),
//   syncobj_wait_signalled_over_syscall (target <= 5) and
//   syncobj_roundtrip_over_condvar (target <= 2): ratios in the same run.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

#include "drm-uapi/drm_core.h"
#include "metrics.h"
#include "winsys/sim/sim_drm_file.h"

namespace {

using wsys::sim::SimDrmFile;

std::unique_ptr<SimDrmFile> open_file() {
  std::string why;
  auto f = SimDrmFile::open("panthor", &why);
  if (!f.ok()) {
    std::fprintf(stderr, "cannot open the model: %s\n", why.c_str());
    std::abort();
  }
  return std::move(*f);
}

uint64_t uptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

uint32_t create(SimDrmFile& f, uint32_t flags = 0) {
  drm_syncobj_create c{};
  c.flags = flags;
  if (f.ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c) != 0) std::abort();
  return c.handle;
}

void destroy(SimDrmFile& f, uint32_t h) {
  drm_syncobj_destroy d{};
  d.handle = h;
  if (f.ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &d) != 0) std::abort();
}

void signal_point(SimDrmFile& f, uint32_t h, uint64_t point) {
  drm_syncobj_timeline_array a{};
  a.handles = uptr(&h);
  a.points = uptr(&point);
  a.count_handles = 1;
  if (f.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &a) != 0) std::abort();
}

void wait_point(SimDrmFile& f, uint32_t h, uint64_t point) {
  drm_syncobj_timeline_wait w{};
  w.handles = uptr(&h);
  w.points = uptr(&point);
  w.count_handles = 1;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  w.timeout_nsec = INT64_MAX;
  if (f.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w) != 0) std::abort();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double g_roundtrip_us = 0;  // BM_SignalWaitRoundtrip's, for the ratio
double g_syscall_ns = 0;    // BM_SyscallBaseline's

void BM_SignalWaitRoundtrip(benchmark::State& state) {
  auto file = open_file();
  SimDrmFile& f = *file;
  uint32_t ping = create(f), pong = create(f);
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (uint64_t i = 1;; i++) {
      wait_point(f, ping, i);
      if (stop.load(std::memory_order_acquire)) break;
      signal_point(f, pong, i);
    }
  });
  uint64_t i = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    i++;
    signal_point(f, ping, i);
    wait_point(f, pong, i);
  }
  double secs = seconds_since(t0);
  stop.store(true, std::memory_order_release);
  signal_point(f, ping, i + 1);
  partner.join();
  destroy(f, ping);
  destroy(f, pong);
  double one_way_us = secs / static_cast<double>(state.iterations()) / 2.0 * 1e6;
  state.counters["one_way_us"] = one_way_us;
  wsys::bench::record_metric("syncobj_signal_wait_roundtrip_us", one_way_us, "us");
  g_roundtrip_us = one_way_us;
}
BENCHMARK(BM_SignalWaitRoundtrip)->UseRealTime();

void BM_CondvarBaseline(benchmark::State& state) {
  std::mutex m;
  std::condition_variable cv;
  uint64_t ping = 0, pong = 0;
  bool stop = false;
  std::thread partner([&] {
    std::unique_lock<std::mutex> lk(m);
    for (uint64_t i = 1;; i++) {
      cv.wait(lk, [&] { return ping >= i || stop; });
      if (stop) break;
      pong = i;
      cv.notify_all();
    }
  });
  uint64_t i = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    i++;
    std::unique_lock<std::mutex> lk(m);
    ping = i;
    cv.notify_all();
    cv.wait(lk, [&] { return pong >= i; });
  }
  double secs = seconds_since(t0);
  {
    std::lock_guard<std::mutex> g(m);
    stop = true;
  }
  cv.notify_all();
  partner.join();
  double one_way_us = secs / static_cast<double>(state.iterations()) / 2.0 * 1e6;
  state.counters["one_way_us"] = one_way_us;
  wsys::bench::record_metric("syncobj_condvar_baseline_us", one_way_us, "us");
  if (g_roundtrip_us > 0)
    wsys::bench::record_metric("syncobj_roundtrip_over_condvar", g_roundtrip_us / one_way_us, "x");
}
BENCHMARK(BM_CondvarBaseline)->UseRealTime();

void BM_SyscallBaseline(benchmark::State& state) {
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
  g_syscall_ns = seconds_since(t0) / static_cast<double>(state.iterations()) * 1e9;
  wsys::bench::record_metric("syscall_ns", g_syscall_ns, "ns");
}
BENCHMARK(BM_SyscallBaseline);

void BM_CreateDestroy(benchmark::State& state) {
  auto file = open_file();
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) destroy(*file, create(*file));
  double ns = seconds_since(t0) / static_cast<double>(state.iterations()) * 1e9;
  wsys::bench::record_metric("syncobj_create_destroy_ns", ns, "ns");
  if (g_syscall_ns > 0)
    wsys::bench::record_metric("syncobj_create_destroy_over_syscall", ns / g_syscall_ns, "x");
}
BENCHMARK(BM_CreateDestroy);

void BM_WaitSignalled(benchmark::State& state) {
  auto file = open_file();
  uint32_t h = create(*file, DRM_SYNCOBJ_CREATE_SIGNALED);
  drm_syncobj_wait w{};
  w.handles = uptr(&h);
  w.count_handles = 1;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (file->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w) != 0) std::abort();
  }
  double ns = seconds_since(t0) / static_cast<double>(state.iterations()) * 1e9;
  wsys::bench::record_metric("syncobj_wait_signalled_ns", ns, "ns");
  if (g_syscall_ns > 0)
    wsys::bench::record_metric("syncobj_wait_signalled_over_syscall", ns / g_syscall_ns, "x");
  destroy(*file, h);
}
BENCHMARK(BM_WaitSignalled);

}  // namespace

int main(int argc, char** argv) { return wsys::bench::run_benchmarks_and_print_metrics(argc, argv); }
