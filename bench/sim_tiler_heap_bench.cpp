// Tiler heap memory efficiency: for tiler workloads of 1, 10 and 100 MiB
// (one TILER command of 256-byte primitives on a fresh heap of 2 MiB chunks,
// Mesa's chunk size, starting from one initial chunk), the heap's peak
// committed bytes over the bytes the tiler wrote.
//   metric tiler_heap_committed_over_used_<N>mib   per workload
//   metric tiler_heap_committed_over_used          the worst of the three
// Also times the job (GROUP_SUBMIT to fence) per workload.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"
#include "metrics.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/tiler_heap.h"
#include "winsys/sim/vm.h"

namespace {

using namespace wsys::sim;

constexpr uint32_t kChunk = 2u << 20;
constexpr uint32_t kPrim = 256;
constexpr uint64_t kStreamVa = 0x1000000;

double g_worst = 0;

// Runs one tiler workload; returns committed/written (0 on failure).
double run_workload(uint64_t mib, double* job_ms) {
  std::string why;
  auto fr = SimDrmFile::open("panthor", &why);
  if (!fr.ok()) return 0;
  SimDrmFile& f = **fr;
  drm_panthor_vm_create vc{};
  if (f.ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &vc)) return 0;
  SimVmPtr vm = SimVm::lookup(f.file(), vc.id);
  drm_panthor_bo_create bc{};
  bc.size = 64 * 1024;
  if (f.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &bc)) return 0;
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
  op.bo_handle = bc.handle;
  op.va = kStreamVa;
  op.size = bc.size;
  drm_panthor_vm_bind b{};
  b.vm_id = vc.id;
  b.ops = {sizeof op, 1, reinterpret_cast<uintptr_t>(&op)};
  if (f.ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b)) return 0;

  drm_panthor_tiler_heap_create hc{};
  hc.vm_id = vc.id;
  hc.initial_chunk_count = 1;
  hc.chunk_size = kChunk;
  hc.max_chunks = 1024;
  hc.target_in_flight = 65535;
  if (f.ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, &hc)) return 0;

  SimCmdTiler t{};
  t.hdr = {kCmdTiler, sizeof t};
  t.heap_va = hc.tiler_heap_ctx_gpu_va;
  t.count = static_cast<uint32_t>((mib << 20) / kPrim);
  t.prim_size = kPrim;
  t.result_va = kStreamVa + 4096;
  t.seed = 1;
  std::memcpy(vm->gpu_view(kStreamVa), &t, sizeof t);

  drm_panthor_queue_create q{};
  q.ringbuf_size = 16384;
  drm_panthor_group_create gc{};
  gc.queues = {sizeof q, 1, reinterpret_cast<uintptr_t>(&q)};
  gc.vm_id = vc.id;
  if (f.ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &gc)) return 0;

  drm_syncobj_create sc{};
  if (f.ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc)) return 0;
  drm_panthor_sync_op so{};
  so.flags = DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL;
  so.handle = sc.handle;
  drm_panthor_queue_submit qs{};
  qs.stream_addr = kStreamVa;
  qs.stream_size = sizeof t;
  qs.syncs = {sizeof so, 1, reinterpret_cast<uintptr_t>(&so)};
  drm_panthor_group_submit gs{};
  gs.group_handle = gc.group_handle;
  gs.queue_submits = {sizeof qs, 1, reinterpret_cast<uintptr_t>(&qs)};
  int64_t t0 = monotonic_ns();
  if (f.ioctl(DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &gs)) return 0;
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&sc.handle);
  w.count_handles = 1;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  w.timeout_nsec = INT64_MAX;
  if (f.ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w)) return 0;
  *job_ms = static_cast<double>(monotonic_ns() - t0) / 1e6;

  PanthorGroupPtr g = panthor_priv(f.file())->lookup_group(gc.group_handle);
  while (g && g->pending()) std::this_thread::yield();  // cleanup after the fence
  auto pool = panthor_priv(f.file())->heap_pool(f.file().device(), vc.id, vm, false, nullptr);
  auto heap = pool ? pool->get(hc.handle & 0xffff) : nullptr;
  if (!heap) return 0;
  TilerHeapStats st = heap->stats();
  if (!st.bytes_written) return 0;
  return static_cast<double>(st.peak_committed) / static_cast<double>(st.bytes_written);
}

void BM_TilerHeapCommittedOverUsed(benchmark::State& state) {
  uint64_t mib = static_cast<uint64_t>(state.range(0));
  double ratio = 0, ms = 0;
  for (auto _ : state) {
    ratio = run_workload(mib, &ms);
    if (ratio == 0) state.SkipWithError("workload failed");
  }
  state.counters["committed_over_used"] = ratio;
  state.counters["job_ms"] = ms;
  wsys::bench::record_metric("tiler_heap_committed_over_used_" + std::to_string(mib) + "mib",
                             ratio, "x");
  wsys::bench::record_metric("tiler_heap_job_" + std::to_string(mib) + "mib_ms", ms, "ms");
  if (ratio > g_worst) g_worst = ratio;
  wsys::bench::record_metric("tiler_heap_committed_over_used", g_worst, "x");
}

BENCHMARK(BM_TilerHeapCommittedOverUsed)->Arg(1)->Arg(10)->Arg(100)->Iterations(3)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return wsys::bench::run_benchmarks_and_print_metrics(argc, argv); }
