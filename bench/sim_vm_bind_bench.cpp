// VM_BIND throughput of the kernel model: map + unmap of one BO range,
// synchronously and asynchronously, through the ioctl boundary.
//
// One op = one VM_BIND ioctl carrying one MAP or one UNMAP. Async batches
// submit kBatch ioctls, the last one signalling a timeline point, and wait
// for that point at the end of each batch (so the figure includes running
// the jobs, not just queueing them).
//
// Metrics (ops/s): vm_bind_map_unmap_{4k,64k,2m}_ops_per_s and
// vm_bind_async_map_unmap_{4k,64k,2m}_ops_per_s; the floor, what the model
// cannot avoid for one map + unmap of 4 KiB (an mmap MAP_FIXED of the BO's
// memfd page into a reserved window, and an mmap of PROT_NONE back over it),
// as mmap_floor_map_unmap_4k_ops_per_s in the same run, and
// vm_bind_4k_over_floor (target >= 0.5).
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"
#include "metrics.h"
#include "winsys/sim/sim_drm_file.h"

namespace {

using wsys::sim::SimDrmFile;

constexpr int kBatch = 64;

struct Setup {
  std::unique_ptr<SimDrmFile> f;
  uint32_t vm = 0, bo = 0;
  uint64_t va = 0;
  bool ok = false;
};

Setup make_setup(uint64_t size) {
  Setup s;
  std::string why;
  auto f = SimDrmFile::open("panthor", &why);
  if (!f.ok()) {
    std::fprintf(stderr, "cannot open the model: %s\n", why.c_str());
    return s;
  }
  s.f = std::move(*f);
  drm_panthor_vm_create vc{};
  if (s.f->ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &vc)) return s;
  s.vm = vc.id;
  drm_panthor_bo_create bc{};
  bc.size = size;
  if (s.f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &bc)) return s;
  s.bo = bc.handle;
  s.va = 1ull << 30;  // 2 MiB-aligned: the 2 MiB case maps one block
  s.ok = true;
  return s;
}

drm_panthor_vm_bind_op op_map(const Setup& s, uint64_t size) {
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
  op.bo_handle = s.bo;
  op.va = s.va;
  op.size = size;
  return op;
}

drm_panthor_vm_bind_op op_unmap(const Setup& s, uint64_t size) {
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
  op.va = s.va;
  op.size = size;
  return op;
}

int bind_one(const Setup& s, drm_panthor_vm_bind_op* op, bool async) {
  drm_panthor_vm_bind b{};
  b.vm_id = s.vm;
  b.flags = async ? DRM_PANTHOR_VM_BIND_ASYNC : 0;
  b.ops.stride = sizeof *op;
  b.ops.count = 1;
  b.ops.array = reinterpret_cast<uintptr_t>(op);
  return s.f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b);
}

uint32_t syncobj_create(const Setup& s) {
  drm_syncobj_create c{};
  return s.f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c) == 0 ? c.handle : 0;
}

bool syncobj_wait(const Setup& s, uint32_t handle, uint64_t point) {
  drm_syncobj_timeline_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&handle);
  w.points = reinterpret_cast<uintptr_t>(&point);
  w.count_handles = 1;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  w.timeout_nsec = INT64_MAX;
  return s.f->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w) == 0;
}

const char* size_name(uint64_t size) {
  switch (size) {
    case 4096: return "4k";
    case 64 * 1024: return "64k";
    default: return "2m";
  }
}

double g_floor_4k_ops_per_s = 0;  // BM_MmapFloor's figure (it runs first)

void BM_MmapFloor(benchmark::State& state) {
  const size_t size = 4096;
  int fd = memfd_create("floor", MFD_CLOEXEC);
  void* window = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
  if (fd < 0 || ftruncate(fd, size) != 0 || window == MAP_FAILED) {
    state.SkipWithError("memfd or window failed");
    return;
  }
  uint64_t ops = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (mmap(window, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
        mmap(window, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
             0) == MAP_FAILED) {
      state.SkipWithError("mmap failed");
      break;
    }
    ops += 2;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  munmap(window, 1 << 20);
  close(fd);
  g_floor_4k_ops_per_s = static_cast<double>(ops) / secs;
  wsys::bench::record_metric("mmap_floor_map_unmap_4k_ops_per_s", g_floor_4k_ops_per_s, "ops/s");
}

void BM_VmBindSync(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  Setup s = make_setup(size);
  if (!s.ok) {
    state.SkipWithError("model setup failed");
    return;
  }
  auto map = op_map(s, size), unmap = op_unmap(s, size);
  uint64_t ops = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (bind_one(s, &map, false) || bind_one(s, &unmap, false)) {
      state.SkipWithError("VM_BIND failed");
      return;
    }
    ops += 2;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(ops),
                                                   benchmark::Counter::kIsRate);
  wsys::bench::record_metric(std::string("vm_bind_map_unmap_") + size_name(size) + "_ops_per_s",
                             static_cast<double>(ops) / secs, "ops/s");
  if (size == 4096 && g_floor_4k_ops_per_s > 0)
    wsys::bench::record_metric("vm_bind_4k_over_floor",
                               static_cast<double>(ops) / secs / g_floor_4k_ops_per_s, "x");
}

void BM_VmBindAsync(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  Setup s = make_setup(size);
  if (!s.ok) {
    state.SkipWithError("model setup failed");
    return;
  }
  uint32_t timeline = syncobj_create(s);
  if (!timeline) {
    state.SkipWithError("SYNCOBJ_CREATE failed");
    return;
  }
  uint64_t point = 0;
  auto map = op_map(s, size), unmap = op_unmap(s, size);
  drm_panthor_sync_op sig{};
  sig.flags = DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ |
              static_cast<uint32_t>(DRM_PANTHOR_SYNC_OP_SIGNAL);
  sig.handle = timeline;
  auto last = unmap;
  last.syncs.stride = sizeof sig;
  last.syncs.count = 1;
  last.syncs.array = reinterpret_cast<uintptr_t>(&sig);
  uint64_t ops = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    // One iteration = one batch of kBatch ioctls, then the wait.
    for (int i = 0; i < kBatch - 2; i += 2) {
      if (bind_one(s, &map, true) || bind_one(s, &unmap, true)) {
        state.SkipWithError("VM_BIND failed");
        return;
      }
    }
    sig.timeline_value = ++point;
    if (bind_one(s, &map, true) || bind_one(s, &last, true) || !syncobj_wait(s, timeline, point)) {
      state.SkipWithError("VM_BIND or wait failed");
      return;
    }
    ops += kBatch;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(ops),
                                                   benchmark::Counter::kIsRate);
  wsys::bench::record_metric(
      std::string("vm_bind_async_map_unmap_") + size_name(size) + "_ops_per_s",
      static_cast<double>(ops) / secs, "ops/s");
}

BENCHMARK(BM_MmapFloor)->UseRealTime();
BENCHMARK(BM_VmBindSync)->Arg(4096)->Arg(64 * 1024)->Arg(2 << 20)->UseRealTime();
BENCHMARK(BM_VmBindAsync)->Arg(4096)->Arg(64 * 1024)->Arg(2 << 20)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return wsys::bench::run_benchmarks_and_print_metrics(argc, argv); }
