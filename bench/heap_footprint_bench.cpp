// Tiler-heap memory footprint of wsys::Heap against the anchors' fixed
// policy, on the kernel model, both flavours, same frames, same run.
//
// The mix: kContexts contexts share one device. Each renders a seeded
// sequence of scenes at 60 frames per second: a scene has a level drawn
// log-uniformly from 1..40 MiB of tiler output (most scenes light, a few
// heavy), 20..60 frames of 85..100 % of that level, and after 60 % of the
// scenes the context goes idle for 1..8 s (a window in the background, a
// page waiting for input, a loading screen): 20 s of the mix in all. Every frame is real: a TILER
// command of 256-byte primitives on the context's heap (+ FRAGMENT on panthor), run by the model,
// waited for, and recorded with Heap::record_frame. Once per frame interval every context's heap
// gets the housekeeping call (maybe_shrink), rendering or not, on the mix's clock.
//
// Each context has two heaps fed the same frames in the same job:
//   adaptive  wsys::Heap with the default policy;
//   fixed     the anchors: panthor 5 initial chunks of 2 MiB, max 64; panfrost
//             a 128 MiB HEAP BO grown on fault; neither ever shrinks.
// Committed memory is the model's own figure, sampled for every heap once
// per frame interval (16.7 ms of the mix's clock):
//   panfrost  the HEAP BO's committed 2 MiB blocks (the model keeps them until
//             the BO goes, as the kernel does);
//   panthor   the model heap's peak_committed since it was created. The model
//             hands chunks back at FRAGMENT (a simplification of its own); a
//             real panthor keeps every chunk a heap ever linked until it is
//             destroyed, which is that peak.
//
// Metrics (ratios are mean committed bytes per context / 128 MiB, the
// anchors' worst case per context):
//   heap_footprint_ratio_vs_worst_case            adaptive, mean of the flavours (target <= 0.25)
//   heap_footprint_ratio_vs_worst_case_<flavour>  adaptive, per flavour
//   heap_footprint_ratio_fixed_policy[_<flavour>] the anchors' policy, same frames
//   heap_footprint_fixed_over_adaptive[_<flavour>] how many times more the anchors hold
//   heap_footprint_ratio_panfrost_device_shared_anchor  Mesa's panfrost shares ONE 128 MiB
//       heap per device: its committed size (the largest frame of any context so far,
//       in 2 MiB blocks, computed, not run) divided by the contexts
//   heap_growth_events_per_frame_{adaptive,fixed}_<flavour>  the cost side: chunks a
//       real panthor would grow beyond the heap's initial ones (tiler OOM events), or
//       2 MiB GPU faults (panfrost), per frame
//   heap_shrinks_<flavour>                        idle shrinks done by the adaptive heaps
//   heap_frames_<flavour>, heap_tiler_gib_<flavour>  the work done (both heaps)
//
// The full run writes about 20 GiB of primitives per flavour (both heaps)
// through the model, a minute or more of CPU; --quick runs the first 5 s of
// the mix only; --flavour panthor|panfrost runs one flavour.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../tests/core/model_jobs.h"
#include "metrics.h"
#include "winsys/kmod/kmod.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/tiler_heap.h"
#include "winsys/sim/vm.h"
#include "wsys/device.hpp"
#include "wsys/heap.hpp"

namespace {

using namespace wsys;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kWorstCase = 128 * kMiB;
constexpr uint32_t kPrim = 256;
constexpr int kContexts = 4;
constexpr int kMixTicks = 1200;  // 20 s of the mix at 60 frames per second
int g_ticks = kMixTicks;         // ticks run (--quick: the first 5 s)
constexpr uint64_t kTickNs = 16'666'667;
constexpr uint64_t kSeed = 0x5eedf00d;

// Tiler bytes per tick for one context (0: idle).
std::vector<uint64_t> make_schedule(std::mt19937_64& rng) {
  std::vector<uint64_t> out;
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  while (out.size() < static_cast<size_t>(kMixTicks)) {
    const double level = std::exp(std::log(1.0) + u01(rng) * (std::log(40.0) - std::log(1.0)));
    const int frames = 20 + static_cast<int>(rng() % 41);
    for (int i = 0; i < frames; ++i) {
      double mib = level * (0.85 + 0.15 * u01(rng));
      mib = std::clamp(mib, 1.0, 40.0);
      const uint64_t bytes = static_cast<uint64_t>(mib * static_cast<double>(kMiB)) / kPrim * kPrim;
      out.push_back(bytes);
    }
    if (u01(rng) < 0.6) {
      const int idle = 60 + static_cast<int>(rng() % 421);  // 1 .. 8 s
      out.insert(out.end(), static_cast<size_t>(idle), 0);
    }
  }
  out.resize(static_cast<size_t>(kMixTicks));
  return out;
}

// --- the model's figures ---

sim::SimFile& sim_file(Device& d) {
  return dynamic_cast<sim::SimDrmFile&>(KernelAccess::device(d).file()).file();
}

struct ModelFigure {
  uint64_t committed = 0;  // see the top of the file
  uint64_t growths = 0;    // chunks grown / 2 MiB blocks committed since creation
};

ModelFigure model_figure(Device& d, const HeapTarget& t, bool panthor, uint64_t initial_bytes) {
  ModelFigure f;
  sim::SimFile& file = sim_file(d);
  if (panthor) {
    const uint32_t vm_id = t.handle >> 16;
    sim::SimVmPtr vm = sim::SimVm::lookup(file, vm_id);
    auto pool = vm ? sim::panthor_priv(file)->heap_pool(file.device(), vm_id, vm, false, nullptr)
                   : nullptr;
    auto h = pool ? pool->get(t.handle & 0xffff) : nullptr;
    if (h) {
      // A real kernel allocates a chunk only when the tiler needs more
      // than the heap ever had (the model regrows after every FRAGMENT):
      // chunks beyond the initial ones.
      const sim::TilerHeapStats st = h->stats();
      f.committed = st.peak_committed;
      f.growths = (st.peak_committed - std::min(st.peak_committed, initial_bytes)) / h->chunk_size();
    }
  } else if (sim::SimBoPtr bo = file.lookup_bo(t.handle)) {
    f.committed = bo->heap_committed.load();
    f.growths = f.committed / (2 * kMiB);
  }
  return f;
}

// One heap's bookkeeping in the run.
struct Tracked {
  std::unique_ptr<Heap> heap;
  uint64_t gen = 0, growths_seen = 0;
  double committed_sum = 0;
  uint64_t growths = 0;

  void sample(Device& d, bool panthor) {
    const HeapTarget t = heap->target();
    ModelFigure f = model_figure(d, t, panthor, heap->stats().initial_commit_bytes);
    if (t.generation != gen) {  // a new kernel heap: its counters start again
      gen = t.generation;
      growths_seen = 0;
    }
    if (f.growths > growths_seen) growths += f.growths - growths_seen;
    growths_seen = f.growths;
    committed_sum += static_cast<double>(f.committed);
  }
};

struct Context {
  std::vector<uint64_t> schedule;
  Tracked adaptive, fixed;
  uint32_t syncobj = 0;
  uint64_t point = 0;
  BoRef result;  // two u32 results: adaptive, fixed
};

struct FlavourResult {
  double adaptive_ratio = 0, fixed_ratio = 0, shared_ratio = 0;
  double adaptive_growths_per_frame = 0, fixed_growths_per_frame = 0;
  uint64_t shrinks = 0, frames = 0, tiler_bytes = 0;
  bool ok = false;
};

int64_t deadline_s(int64_t s) { return test::deadline_ms(s * 1000); }

FlavourResult run_flavour(const std::string& driver) {
  FlavourResult res;
  DeviceOptions opt;
  opt.cache_from_env = false;
  std::string why;
  auto dr = Device::open("sim:" + driver, opt, &why);
  if (!dr.ok()) {
    std::fprintf(stderr, "heap_footprint_bench: %s: %s\n", driver.c_str(), why.c_str());
    return res;
  }
  std::shared_ptr<Device> dev = *dr;
  const bool panthor = driver == "panthor";
  uint64_t now = 1'000'000'000;
  auto clock = [&now] { return now; };

  std::mt19937_64 rng(kSeed);
  std::vector<Context> ctx(kContexts);
  for (int c = 0; c < kContexts; ++c) {
    Context& x = ctx[c];
    x.schedule = make_schedule(rng);
    HeapConfig a;
    a.clock = clock;
    a.label = "bench-adaptive";
    HeapConfig f = a;
    f.label = "bench-fixed";
    f.idle_shrink = false;
    if (panthor) f.fixed_initial_chunks = 5;
    auto ha = Heap::create(dev, a);
    auto hf = Heap::create(dev, f);
    auto s = dev->syncobj_create(false);
    auto r = dev->bo_alloc(4096, kAllocZeroed, "bench-result");
    if (!ha.ok() || !hf.ok() || !s.ok() || !r.ok() || !(*r)->map().ok()) return res;
    x.adaptive.heap = std::move(*ha);
    x.fixed.heap = std::move(*hf);
    x.syncobj = *s;
    x.result = *r;
  }
  test::Jobs jobs(*dev);
  uint64_t shared_peak = 0;  // the device-shared anchor: the largest frame so far
  double shared_sum = 0;

  for (int tick = 0; tick < g_ticks; ++tick) {
    // 1. Every rendering context submits its frame to both of its heaps.
    std::vector<BoRef> streams;
    for (Context& x : ctx) {
      const uint64_t bytes = x.schedule[tick];
      if (!bytes) continue;
      Result<HeapUse> ua = x.adaptive.heap->begin_use();
      Result<HeapUse> uf = x.fixed.heap->begin_use();
      if (!ua.ok() || !uf.ok()) return res;
      test::Stream s;
      int slot = 0;
      for (const HeapTarget* t : {&ua->target(), &uf->target()}) {
        sim::SimCmdTiler tc{};
        tc.hdr = {sim::kCmdTiler, sizeof tc};
        tc.heap_va = panthor ? t->context_va : t->heap_va;
        tc.heap_size = panthor ? 0 : t->heap_size_bytes;
        tc.result_va = x.result->gpu_va() + 4 * static_cast<uint64_t>(slot++);
        tc.count = static_cast<uint32_t>(bytes / kPrim);
        tc.prim_size = kPrim;
        tc.seed = static_cast<uint32_t>(tick);
        s.add(tc);
        if (panthor)
          s.add(sim::SimCmdFragment{{sim::kCmdFragment, sizeof(sim::SimCmdFragment)},
                                    t->context_va, 0});
      }
      const uint64_t point = panthor ? ++x.point : 0;
      Result<void> sub;
      if (panthor) {
        sub = jobs.run(s, {x.result.get()}, x.syncobj, point);
      } else {
        auto st = dev->bo_alloc(s.bytes().size() + 64, kAllocExecutable | kAllocNoCache, "stream");
        if (!st.ok()) return res;
        auto m = (*st)->map();
        if (!m.ok()) return res;
        std::memcpy(*m, s.bytes().data(), s.bytes().size());
        sim::SimCmdHeader end{sim::kCmdEnd, sizeof(sim::SimCmdHeader)};
        std::memcpy(static_cast<uint8_t*>(*m) + s.bytes().size(), &end, sizeof end);
        kmod::Bo* bos[] = {&KernelAccess::bo(*x.result), &KernelAccess::bo(*(*st)),
                           KernelAccess::heap_bo(*ua), KernelAccess::heap_bo(*uf)};
        kmod::JobChainSubmit js;
        js.jc = (*st)->gpu_va();
        js.out_sync = x.syncobj;
        js.bos = bos;
        sub = KernelAccess::device(*dev).submit_job_chain(js);
        if (sub.ok()) (*st)->mark_used(x.syncobj, 0);
        streams.push_back(std::move(*st));
      }
      if (!sub.ok()) return res;
      ua->commit({x.syncobj, point});
      uf->commit({x.syncobj, point});
    }
    // 2. Wait, record what the tiler stored.
    for (Context& x : ctx) {
      const uint64_t bytes = x.schedule[tick];
      if (!bytes) continue;
      const uint64_t p = x.point;
      Result<void> w = dev->syncobj_wait(SyncPoint{x.syncobj, panthor ? p : 0}, deadline_s(60));
      if (!w.ok()) return res;
      uint32_t stored[2];
      std::memcpy(stored, x.result->cpu(), sizeof stored);
      if (uint64_t{stored[0]} * kPrim != bytes || uint64_t{stored[1]} * kPrim != bytes) {
        std::fprintf(stderr, "heap_footprint_bench: %s: tiler stored %u/%u of %llu primitives\n",
                     driver.c_str(), stored[0], stored[1],
                     static_cast<unsigned long long>(bytes / kPrim));
        return res;
      }
      x.adaptive.heap->record_frame(bytes);
      x.fixed.heap->record_frame(bytes);
      res.frames++;
      res.tiler_bytes += bytes;
      shared_peak = std::max(shared_peak, bytes);
    }
    // 3. Housekeeping on the mix's clock, then the samples.
    now += kTickNs;
    for (Context& x : ctx) {
      Result<bool> r = x.adaptive.heap->maybe_shrink(now);
      if (!r.ok()) return res;
      (void)x.fixed.heap->maybe_shrink(now);  // shrinking off: never recreates
      x.adaptive.sample(*dev, panthor);
      x.fixed.sample(*dev, panthor);
    }
    shared_sum += static_cast<double>((shared_peak + 2 * kMiB - 1) / (2 * kMiB) * (2 * kMiB));
  }

  double a = 0, f = 0;
  uint64_t ga = 0, gf = 0;
  for (Context& x : ctx) {
    a += x.adaptive.committed_sum;
    f += x.fixed.committed_sum;
    ga += x.adaptive.growths;
    gf += x.fixed.growths;
    res.shrinks += x.adaptive.heap->stats().recreations;
    (void)dev->syncobj_destroy(x.syncobj);
  }
  const double samples = static_cast<double>(g_ticks) * kContexts;
  const double worst = static_cast<double>(kWorstCase);
  res.adaptive_ratio = a / samples / worst;
  res.fixed_ratio = f / samples / worst;
  res.shared_ratio = shared_sum / static_cast<double>(g_ticks) / kContexts / worst;
  const double frames = static_cast<double>(res.frames ? res.frames : 1);
  res.adaptive_growths_per_frame = static_cast<double>(ga) / frames;
  res.fixed_growths_per_frame = static_cast<double>(gf) / frames;
  res.ok = true;
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  // --flavour F: run one flavour only (no mean-of-flavours metrics).
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      g_ticks = 300;
    } else if (a == "--flavour" && i + 1 < argc &&
               (std::string(argv[i + 1]) == "panthor" || std::string(argv[i + 1]) == "panfrost")) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: heap_footprint_bench [--quick] [--flavour panthor|panfrost]\n");
      return 2;
    }
  }
  using wsys::bench::record_metric;
  double sum_a = 0, sum_f = 0;
  for (const char* drv : {"panthor", "panfrost"}) {
    if (!only.empty() && only != drv) continue;
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FlavourResult r = run_flavour(drv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!r.ok) {
      std::fprintf(stderr, "heap_footprint_bench: the %s run failed\n", drv);
      return 1;
    }
    const std::string s = std::string("_") + drv;
    record_metric("heap_footprint_ratio_vs_worst_case" + s, r.adaptive_ratio, "ratio");
    record_metric("heap_footprint_ratio_fixed_policy" + s, r.fixed_ratio, "ratio");
    record_metric("heap_footprint_fixed_over_adaptive" + s, r.fixed_ratio / r.adaptive_ratio, "x");
    if (std::string(drv) == "panfrost")
      record_metric("heap_footprint_ratio_panfrost_device_shared_anchor", r.shared_ratio, "ratio");
    record_metric("heap_growth_events_per_frame_adaptive" + s, r.adaptive_growths_per_frame,
                  "events");
    record_metric("heap_growth_events_per_frame_fixed" + s, r.fixed_growths_per_frame, "events");
    record_metric("heap_shrinks" + s, static_cast<double>(r.shrinks), "count");
    record_metric("heap_frames" + s, static_cast<double>(r.frames), "count");
    record_metric("heap_tiler_gib" + s, static_cast<double>(r.tiler_bytes) / (1u << 30) * 2,
                  "GiB");
    record_metric("heap_bench_run" + s,
                  static_cast<double>(t1.tv_sec - t0.tv_sec) +
                      static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e9,
                  "s");
    sum_a += r.adaptive_ratio;
    sum_f += r.fixed_ratio;
  }
  if (only.empty()) {
    record_metric("heap_footprint_ratio_vs_worst_case", sum_a / 2, "ratio");
    record_metric("heap_footprint_ratio_fixed_policy", sum_f / 2, "ratio");
    record_metric("heap_footprint_fixed_over_adaptive", sum_f / sum_a, "x");
  }
  wsys::bench::print_metrics();
  return 0;
}
