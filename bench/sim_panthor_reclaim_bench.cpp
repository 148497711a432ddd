// The panthor GEM shrinker of the kernel model (sim/panthor_reclaim.h):
// swap-out and swap-in throughput, against the cost of releasing the same
// pages alone.
//
// Each iteration maps kObjects objects of kObjectSize bytes (every page
// written) into a VM with an idle group, fills the budget with them, then:
//   reclaim: times one BO_CREATE of all their bytes in another file: the
//            shrinker must swap every one out (copy to swap, truncate);
//   restore: frees that object, then times one GROUP_SUBMIT (a pure sync
//            point job) on the VM: the submit brings every object back.
// Floor, same run and sizes: kObjects memfds written the same way, timed
// fallocate(PUNCH_HOLE) of each (what releasing the pages costs without
// saving them).
//
// Metrics: panthor_reclaim_gib_per_s, panthor_restore_gib_per_s,
// punch_hole_floor_gib_per_s, shrinker_reclaim_over_punch_hole (issue 21
// target >= 0.4).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"
#include "metrics.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"

namespace {

using wsys::sim::SimDrmFile;

constexpr int kObjects = 64;
constexpr uint64_t kObjectSize = 1ull << 20;
constexpr uint64_t kVa = 1ull << 26;

double g_reclaim_s = 0, g_reclaim_bytes = 0, g_restore_s = 0, g_restore_bytes = 0;
double g_punch_s = 0, g_punch_bytes = 0;

int create_bo(SimDrmFile& f, uint64_t size, uint32_t* h) {
  drm_panthor_bo_create c{};
  c.size = size;
  int r = f.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
  *h = c.handle;
  return r;
}

void close_bo(SimDrmFile& f, uint32_t h) {
  drm_gem_close c{};
  c.handle = h;
  f.ioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void BM_PanthorReclaimRestore(benchmark::State& state) {
  std::string why;
  auto fr = SimDrmFile::open("panthor", &why);
  auto fo = SimDrmFile::open("panthor", &why);
  if (!fr.ok() || !fo.ok()) {
    state.SkipWithError(("cannot open the model: " + why).c_str());
    return;
  }
  SimDrmFile& f = **fr;
  SimDrmFile& other = **fo;
  wsys::sim::Shrinker& shr = f.file().device()->shrinker();
  wsys::sim::PanthorReclaim* rc = shr.reclaimer();
  drm_panthor_vm_create vc{};
  if (!rc || f.ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &vc)) {
    state.SkipWithError("no panthor shrinker or VM");
    return;
  }
  const wsys::sim::GpuIdentity& gpu = f.file().device()->gpu();
  drm_panthor_queue_create q{};
  q.ringbuf_size = 16384;
  drm_panthor_group_create gc{};
  gc.queues.stride = sizeof q;
  gc.queues.count = 1;
  gc.queues.array = reinterpret_cast<uintptr_t>(&q);
  gc.max_compute_cores = gc.max_fragment_cores = gc.max_tiler_cores = 1;
  gc.compute_core_mask = gc.fragment_core_mask = gpu.shader_present;
  gc.tiler_core_mask = gpu.tiler_present;
  gc.vm_id = vc.id;
  if (f.ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &gc)) {
    state.SkipWithError("GROUP_CREATE failed");
    return;
  }
  const uint64_t old_budget = shr.budget();
  const uint64_t total = kObjects * kObjectSize;
  std::vector<uint32_t> handles(kObjects);
  for (auto _ : state) {
    state.PauseTiming();
    shr.set_budget(old_budget);
    for (int i = 0; i < kObjects; i++) {
      uint32_t& h = handles[i];
      if (create_bo(f, kObjectSize, &h)) {
        state.SkipWithError("BO_CREATE failed");
        return;
      }
      drm_panthor_vm_bind_op op{};
      op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
      op.bo_handle = h;
      op.va = kVa + i * kObjectSize;
      op.size = kObjectSize;
      drm_panthor_vm_bind b{};
      b.vm_id = vc.id;
      b.ops.stride = sizeof op;
      b.ops.count = 1;
      b.ops.array = reinterpret_cast<uintptr_t>(&op);
      f.ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b);
      drm_panthor_bo_mmap_offset m{};
      m.handle = h;
      f.ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m);
      auto p = f.mmap(nullptr, kObjectSize, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
      if (p.ok()) {
        std::memset(*p, 0x5a + i, kObjectSize);
        f.munmap(*p, kObjectSize);
      }
    }
    shr.set_budget(shr.stats().charged);  // full
    wsys::sim::ReclaimStats s0 = rc->stats();
    uint32_t big = 0;
    double t0 = now_s();
    int r = create_bo(other, total, &big);
    double t1 = now_s();
    wsys::sim::ReclaimStats s1 = rc->stats();
    if (r) {
      state.SkipWithError("the big BO_CREATE failed: reclaim did not make room");
      shr.set_budget(old_budget);
      return;
    }
    g_reclaim_s += t1 - t0;
    g_reclaim_bytes += static_cast<double>(s1.swapped_out_bytes - s0.swapped_out_bytes);
    close_bo(other, big);
    drm_panthor_queue_submit qs{};
    drm_panthor_group_submit gs{};
    gs.group_handle = gc.group_handle;
    gs.queue_submits.stride = sizeof qs;
    gs.queue_submits.count = 1;
    gs.queue_submits.array = reinterpret_cast<uintptr_t>(&qs);
    t0 = now_s();
    r = f.ioctl(DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &gs);
    t1 = now_s();
    wsys::sim::ReclaimStats s2 = rc->stats();
    if (r) {
      state.SkipWithError("GROUP_SUBMIT (restore) failed");
      shr.set_budget(old_budget);
      return;
    }
    g_restore_s += t1 - t0;
    g_restore_bytes += static_cast<double>(s2.swapped_in_bytes - s1.swapped_in_bytes);
    for (int i = 0; i < kObjects; i++) {
      drm_panthor_vm_bind_op op{};
      op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
      op.va = kVa + i * kObjectSize;
      op.size = kObjectSize;
      drm_panthor_vm_bind b{};
      b.vm_id = vc.id;
      b.ops.stride = sizeof op;
      b.ops.count = 1;
      b.ops.array = reinterpret_cast<uintptr_t>(&op);
      f.ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b);
      close_bo(f, handles[i]);
    }
    state.ResumeTiming();
  }
  shr.set_budget(old_budget);
}

// The floor: the same pages released without saving them.
void BM_PunchHoleFloor(benchmark::State& state) {
  std::vector<int> fds(kObjects, -1);
  for (int& fd : fds) {
    fd = memfd_create("bench-floor", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, kObjectSize) != 0) {
      state.SkipWithError("memfd");
      return;
    }
  }
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kObjects; i++) {
      void* p = mmap(nullptr, kObjectSize, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
      if (p == MAP_FAILED) continue;
      std::memset(p, 0x5a + i, kObjectSize);
      munmap(p, kObjectSize);
    }
    double t0 = now_s();
    for (int fd : fds)
      fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(kObjectSize));
    double t1 = now_s();
    g_punch_s += t1 - t0;
    g_punch_bytes += static_cast<double>(kObjects * kObjectSize);
    state.ResumeTiming();
  }
  for (int fd : fds) close(fd);
}

BENCHMARK(BM_PanthorReclaimRestore)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_PunchHoleFloor)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace

// Records the metrics from both benchmarks' totals (the ratio needs both),
// then prints them.
void record_all() {
  const double gib = 1ull << 30;
  double reclaim = g_reclaim_s > 0 ? g_reclaim_bytes / g_reclaim_s / gib : 0;
  double restore = g_restore_s > 0 ? g_restore_bytes / g_restore_s / gib : 0;
  double punch = g_punch_s > 0 ? g_punch_bytes / g_punch_s / gib : 0;
  wsys::bench::record_metric("panthor_reclaim_gib_per_s", reclaim, "GiB/s");
  wsys::bench::record_metric("panthor_restore_gib_per_s", restore, "GiB/s");
  wsys::bench::record_metric("punch_hole_floor_gib_per_s", punch, "GiB/s");
  if (punch > 0) wsys::bench::record_metric("shrinker_reclaim_over_punch_hole", reclaim / punch, "x");
}

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  record_all();
  wsys::bench::print_metrics();
  return 0;
}
