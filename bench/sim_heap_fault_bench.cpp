// Growable heap objects: the cost of servicing one GPU page fault that
// commits a 2 MiB block of a panfrost HEAP object (SIGSEGV on the executor
// thread, lookup, mmap of the block from the object's memfd, retry).
//
// Each iteration creates a 512 MiB heap object and runs one job that
// writes one word per 2 MiB block (256 faults), then runs the same job
// again on the now-committed heap (no faults); the difference divided by
// the number of blocks is the service time of one growth fault. The model
// maps the block but, like the kernel's shmem, the memfd only allocates
// the pages that are touched (one per block here).
//
//   metric heap_fault_commit_2m_us   per 2 MiB growth fault
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "metrics.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/syncobj.h"

using namespace wsys::sim;

namespace {

constexpr uint64_t k2M = 2ull << 20;
constexpr uint32_t kBlocks = 256;

struct Ctx {
  std::unique_ptr<SimDrmFile> f;
  uint32_t stream_h = 0, sync = 0;
  uint64_t stream_va = 0;
  uint8_t* stream_cpu = nullptr;
  size_t stream_size = 0;
};

int create_bo(SimDrmFile& f, uint32_t size, uint32_t flags, uint32_t* h, uint64_t* va) {
  drm_panfrost_create_bo c{};
  c.size = size;
  c.flags = flags;
  int r = f.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c);
  *h = c.handle;
  *va = c.offset;
  return r;
}

// Runs the stream (already written) with `bos`; returns the job's seconds.
double run_job(Ctx& c, uint32_t heap_h) {
  uint32_t bos[2] = {c.stream_h, heap_h};
  drm_panfrost_submit s{};
  s.jc = c.stream_va;
  s.bo_handles = reinterpret_cast<uintptr_t>(bos);
  s.bo_handle_count = 2;
  s.out_sync = c.sync;
  const int64_t t0 = monotonic_ns();
  if (c.f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &s)) return -1;
  FencePtr fence;
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    fence = c.f->file().lookup_syncobj(c.sync)->find_locked(0);
  }
  fence->wait();
  const int64_t t1 = monotonic_ns();
  return fence->status() ? -1 : static_cast<double>(t1 - t0) * 1e-9;
}

void BM_HeapFaultCommit2M(benchmark::State& state) {
  std::string why;
  auto opened = SimDrmFile::open("panfrost", &why);
  if (!opened.ok()) {
    state.SkipWithError(why.c_str());
    return;
  }
  Ctx c;
  c.f = std::move(*opened);
  c.stream_size = (kBlocks * sizeof(SimCmdWrite32) + 8 + 4095) & ~size_t{4095};
  create_bo(*c.f, static_cast<uint32_t>(c.stream_size), PANFROST_BO_NOEXEC, &c.stream_h,
            &c.stream_va);
  drm_panfrost_mmap_bo m{};
  m.handle = c.stream_h;
  c.f->ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m);
  auto p = c.f->mmap(nullptr, c.stream_size, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
  if (!p.ok()) {
    state.SkipWithError("mmap");
    return;
  }
  c.stream_cpu = static_cast<uint8_t*>(*p);
  drm_syncobj_create sc{};
  c.f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc);
  c.sync = sc.handle;

  double fault_s = 0, plain_s = 0;
  uint64_t faults = 0;
  for (auto _ : state) {
    uint32_t heap_h = 0;
    uint64_t heap_va = 0;
    if (create_bo(*c.f, kBlocks * k2M, PANFROST_BO_NOEXEC | PANFROST_BO_HEAP, &heap_h,
                  &heap_va)) {
      state.SkipWithError("CREATE_BO HEAP");
      break;
    }
    uint8_t* w = c.stream_cpu;
    for (uint32_t b = 0; b < kBlocks; b++) {
      SimCmdWrite32 cmd{{kCmdWrite32, sizeof(SimCmdWrite32)}, heap_va + b * k2M + 64, b, 0};
      std::memcpy(w, &cmd, sizeof(cmd));
      w += sizeof(cmd);
    }
    std::memset(w, 0, 8);  // END
    double a = run_job(c, heap_h);
    double b = run_job(c, heap_h);
    if (a < 0 || b < 0) {
      state.SkipWithError("job failed");
      break;
    }
    fault_s += a;
    plain_s += b;
    faults += kBlocks;
    state.SetIterationTime(a);
    drm_gem_close gc{};
    gc.handle = heap_h;
    c.f->ioctl(DRM_IOCTL_GEM_CLOSE, &gc);
  }
  c.f->munmap(c.stream_cpu, c.stream_size);
  if (faults) {
    double us = (fault_s - plain_s) / static_cast<double>(faults) * 1e6;
    state.counters["fault_us"] = us;
    wsys::bench::record_metric("heap_fault_commit_2m_us", us, "us");
  }
}
BENCHMARK(BM_HeapFaultCommit2M)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) { return wsys::bench::run_benchmarks_and_print_metrics(argc, argv); }
