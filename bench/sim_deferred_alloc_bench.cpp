// Deferred allocation of shared buffers vs picking a heap up front (issue
// 19; the model's allocator, a model extension: src/winsys/sim/shared_alloc.h).
//
// One fixed pipeline trace (fixed seed) of camera, GPU and display buffers
// of mixed sizes and lifetimes is replayed twice, against two fresh model
// allocators in the same run:
//   - up front (ION-style, the anchor): each buffer is placed at creation
//     from its intended uses; anything that may be shown or captured goes
//     to the contiguous (CMA) heap "to be safe";
//   - deferred: the buffer is created empty, the devices that really use
//     it attach, and the first use places it from their union.
// Intended uses over-declare as applications do: half the GPU-only
// buffers are allocated "maybe displayed" and are never scanned out.
//
// Figures:
//   cma_bytes_deferred_over_upfront  peak CMA bytes, deferred / up front,
//                                    with a pool big enough for both (x);
//   alloc_failures_upfront/_deferred  allocations that could not be placed
//                                    with a CMA pool of half the up-front
//                                    peak (measured in this run);
//   cache_flushes_avoided_ratio      CPU cache maintenance avoided by
//                                    domain tracking over what maintenance
//                                    at every access would do (x).
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <vector>

#include "drm-uapi/wsys_sim_alloc.h"
#include "metrics.h"
#include "winsys/sim/alloc_file.h"
#include "winsys/sim/shared_alloc.h"

namespace {

using wsys::sim::DmaConstraints;
using wsys::sim::PhysLayoutConfig;
using wsys::sim::SharedAllocator;
using wsys::sim::SharedAttachmentPtr;
using wsys::sim::SharedBufferPtr;

constexpr uint64_t kMiB = 1ull << 20;
constexpr int kSteps = 3000;

// A tiny fixed PRNG: the trace must be the same in every run and build.
struct Lcg {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
  uint32_t below(uint32_t n) { return next() % n; }
};

enum class Kind { Camera, Gpu, Display };

struct Event {
  Kind kind;
  uint64_t size;
  uint32_t uses;       // what the application declares
  bool cpu_touch;      // the CPU reads (camera) or writes (display) it once
  int lifetime;        // steps
};

// The trace: per step one camera frame (3 sizes), one or two GPU buffers
// (256 KiB .. 16 MiB), and every few steps a display buffer (8 MiB
// framebuffer or a 1-3 MiB overlay).
std::vector<std::vector<Event>> make_trace() {
  Lcg r;
  std::vector<std::vector<Event>> t(kSteps);
  const uint64_t cam_sizes[] = {1382400, 3110400, 12441600};  // 720p, 1080p, 4K NV12
  for (int i = 0; i < kSteps; i++) {
    t[i].push_back({Kind::Camera, cam_sizes[r.below(3)],
                    WSYS_ALLOC_USE_CAMERA | WSYS_ALLOC_USE_GPU, r.below(10) == 0,
                    4 + static_cast<int>(r.below(5))});
    const int gpus = 1 + static_cast<int>(r.below(2));
    for (int g = 0; g < gpus; g++) {
      const uint64_t size = (256 * 1024) << r.below(7);  // 256 KiB .. 16 MiB
      const bool maybe_shown = r.below(2) == 0;
      t[i].push_back({Kind::Gpu, size,
                      WSYS_ALLOC_USE_GPU | (maybe_shown ? WSYS_ALLOC_USE_DISPLAY : 0u), false,
                      1 + static_cast<int>(r.below(30))});
    }
    if (r.below(4) == 0) {
      const bool fb = r.below(2) == 0;
      t[i].push_back({Kind::Display, fb ? 8294400 : (1 + r.below(3)) * kMiB,
                      WSYS_ALLOC_USE_GPU | WSYS_ALLOC_USE_DISPLAY, r.below(20) == 0,
                      3 + static_cast<int>(r.below(4))});
    }
  }
  return t;
}

struct Live {
  SharedBufferPtr buf;
  std::vector<SharedAttachmentPtr> atts;
  int dies_at;
};

struct Outcome {
  uint64_t cma_peak = 0;
  uint64_t failures = 0;
  uint64_t flushes = 0, invalidates = 0, avoided = 0;
};

// Replays `trace`; deferred or up front; with a CMA pool of `cma` bytes.
Outcome replay(const std::vector<std::vector<Event>>& trace, bool deferred, uint64_t cma) {
  PhysLayoutConfig cfg;
  cfg.cma_size = cma;
  SharedAllocator alloc(cfg);
  const DmaConstraints gpu = wsys::sim::gpu_dma_constraints(40);
  const DmaConstraints cam = wsys::sim::camera_constraints();
  const DmaConstraints disp = wsys::sim::display_constraints();
  std::deque<Live> live;
  Outcome o;
  for (int step = 0; step < static_cast<int>(trace.size()); step++) {
    for (auto it = live.begin(); it != live.end();) it = it->dies_at <= step ? live.erase(it) : it + 1;
    for (const Event& e : trace[step]) {
      Live l;
      l.dies_at = step + e.lifetime;
      if (alloc.create(e.size, e.uses, !deferred, &l.buf, nullptr) != 0) {
        o.failures++;
        continue;
      }
      // The devices that really use it: camera frames camera + GPU, display
      // buffers GPU + display, GPU buffers only the GPU.
      std::vector<std::pair<uint32_t, DmaConstraints>> devs;
      if (e.kind == Kind::Camera) devs = {{WSYS_ALLOC_DOMAIN_CAMERA, cam}, {WSYS_ALLOC_DOMAIN_GPU, gpu}};
      if (e.kind == Kind::Gpu) devs = {{WSYS_ALLOC_DOMAIN_GPU, gpu}};
      if (e.kind == Kind::Display) devs = {{WSYS_ALLOC_DOMAIN_GPU, gpu}, {WSYS_ALLOC_DOMAIN_DISPLAY, disp}};
      bool ok = true;
      for (const auto& [dom, c] : devs) {
        SharedAttachmentPtr a;
        uint32_t unmet = 0;
        if (alloc.attach(l.buf, dom, c, &a, &unmet) != 0) {
          ok = false;
          break;
        }
        l.atts.push_back(std::move(a));
      }
      // First use: the producer maps it.
      if (ok && alloc.map(*l.atts.front()) != 0) ok = false;
      if (!ok) {
        o.failures++;
        continue;
      }
      // The hand-overs of one frame.
      using wsys::sim::SharedBuffer;
      SharedBuffer& b = *l.buf;
      if (e.kind == Kind::Camera) {
        alloc.sync(b, WSYS_ALLOC_DOMAIN_CAMERA, WSYS_ALLOC_SYNC_WRITE);
        if (e.cpu_touch) alloc.sync(b, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_READ);
        alloc.sync(b, WSYS_ALLOC_DOMAIN_GPU, WSYS_ALLOC_SYNC_READ);
      } else if (e.kind == Kind::Gpu) {
        alloc.sync(b, WSYS_ALLOC_DOMAIN_GPU, WSYS_ALLOC_SYNC_WRITE);
        alloc.sync(b, WSYS_ALLOC_DOMAIN_GPU, WSYS_ALLOC_SYNC_READ);
      } else {
        alloc.sync(b, WSYS_ALLOC_DOMAIN_GPU, WSYS_ALLOC_SYNC_WRITE);
        if (e.cpu_touch) alloc.sync(b, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_WRITE);
        alloc.sync(b, WSYS_ALLOC_DOMAIN_DISPLAY, WSYS_ALLOC_SYNC_READ);
      }
      live.push_back(std::move(l));
    }
  }
  live.clear();
  const auto s = alloc.stats();
  o.cma_peak = s.cma_peak;
  o.flushes = s.cache_flushes;
  o.invalidates = s.cache_invalidates;
  o.avoided = s.cache_ops_avoided;
  return o;
}

}  // namespace

int main() {
  const auto trace = make_trace();
  // Pool big enough that nothing fails: what each policy uses.
  const uint64_t big = 3ull << 30;
  const Outcome up = replay(trace, false, big);
  const Outcome def = replay(trace, true, big);
  // A pool of half what up front needed: where up front fails.
  const uint64_t small = ((up.cma_peak / 2) + kMiB - 1) & ~(kMiB - 1);
  const Outcome up_small = replay(trace, false, small);
  const Outcome def_small = replay(trace, true, small);

  if (up.failures || def.failures) {
    std::fprintf(stderr, "sim_deferred_alloc_bench: failures with the big pool (%" PRIu64 ", %" PRIu64 ")\n",
                 up.failures, def.failures);
    return 1;
  }
  using wsys::bench::record_metric;
  record_metric("cma_peak_bytes_upfront", static_cast<double>(up.cma_peak), "bytes");
  record_metric("cma_peak_bytes_deferred", static_cast<double>(def.cma_peak), "bytes");
  record_metric("cma_bytes_deferred_over_upfront",
                up.cma_peak ? static_cast<double>(def.cma_peak) / static_cast<double>(up.cma_peak) : 0.0,
                "x");
  record_metric("cma_pool_bytes_small", static_cast<double>(small), "bytes");
  record_metric("alloc_failures_upfront", static_cast<double>(up_small.failures), "allocs");
  record_metric("alloc_failures_deferred", static_cast<double>(def_small.failures), "allocs");
  const double naive = static_cast<double>(def.flushes + def.invalidates + def.avoided);
  record_metric("cache_ops_deferred", static_cast<double>(def.flushes + def.invalidates), "ops");
  record_metric("cache_ops_every_access", naive, "ops");
  record_metric("cache_flushes_avoided_ratio", naive ? static_cast<double>(def.avoided) / naive : 0.0,
                "x");
  wsys::bench::print_metrics();
  return 0;
}
