// Scratch memory held: one shared, monotonically grown ScratchPool per device
// against one scratch BO per batch (Gallium's way: each batch allocates a
// buffer sized to its own largest TLS need when it is submitted, and frees
// it when the batch's job has completed), same workload, same run, on the
// kernel model with real jobs.
//
// Workload: 8 contexts (threads), each submitting 100 batches of 4 draws;
// each draw needs a per-thread TLS size drawn log-uniformly from 256 B to
// 8 KiB (arbitrary sizes, not only powers of two); up to 3 batches in
// flight per context. A batch's job SLEEPs 2 ms (so "in flight" is real),
// then each draw's SCRATCH writes one 16-byte slice of its buffer. The
// random sequences are seeded per context and identical for both
// strategies.
//
// Bytes held: per batch, the sizes of the batch buffers not yet freed
// (allocated at submit, freed as soon as the context sees the job done,
// polled before every batch); pool, ScratchPoolStats::bytes_held (current
// buffer plus retired ones still parked behind jobs). Buffers back in the
// device's BO cache count for neither. A sampler thread reads both every
// 200 us: the mean is over samples; the peak is exact (every change).
//
// Metrics (panthor, a Mali-G610 by default; _panfrost: a Mali-G52):
//   scratch_bytes_vs_per_batch        mean bytes held, pool / per batch (target <= 0.5)
//   scratch_bytes_vs_per_batch_peak   the same for the peaks
//   scratch_{pool,per_batch}_{mean,peak}_mib
//   scratch_pool_grows                buffers the pool allocated
//   scratch_tls_hit_ns[_8_threads]    tls() when the current buffer fits
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../tests/core/model_jobs.h"
#include "metrics.h"
#include "winsys/sim/cmdstream.h"
#include "wsys/device.hpp"
#include "wsys/scratch.hpp"

namespace {

using wsys::BoRef;
using wsys::Device;
using wsys::ScratchBinding;
using wsys::ScratchPool;

constexpr int kContexts = 8;
constexpr int kBatches = 100;
constexpr int kDraws = 4;
constexpr size_t kInFlight = 3;
constexpr uint64_t kJobNs = 2'000'000;
constexpr uint32_t kMinNeed = 256, kMaxNeed = 8192;

// Per-thread TLS needs of every draw of every batch of one context.
std::vector<uint32_t> make_needs(int ctx) {
  std::mt19937 rng(1000u + static_cast<uint32_t>(ctx));
  std::uniform_real_distribution<double> u(std::log2(kMinNeed), std::log2(kMaxNeed));
  std::vector<uint32_t> v(kBatches * kDraws);
  for (uint32_t& n : v) {
    n = static_cast<uint32_t>(std::exp2(u(rng)));
    n = std::clamp(n, kMinNeed, kMaxNeed);
  }
  return v;
}

struct Footprint {
  double mean_bytes = 0;
  double peak_bytes = 0;
  uint64_t grows = 0;
  bool ok = false;
};

std::mutex g_submit_lock;  // panfrost only, see Context::submit

void raise(std::atomic<uint64_t>& peak, uint64_t v) {
  uint64_t p = peak.load(std::memory_order_relaxed);
  while (v > p && !peak.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
  }
}

// One context's submission loop. `use_pool`: bindings from the pool, else a
// batch BO of the batch's largest need.
class Context {
 public:
  Context(Device& d, ScratchPool& pool, bool use_pool, int index, std::atomic<uint64_t>& held,
          std::atomic<uint64_t>& peak)
      : d_(d), pool_(pool), use_pool_(use_pool), index_(index), held_(held), peak_(peak),
        jobs_(std::make_unique<wsys::test::Jobs>(d)), panthor_(d.info().driver == "panthor") {}
  ~Context() {
    // The job streams (marked used with our syncobjs) go first: a destroyed
    // syncobj's handle may be reused by another context's new one.
    jobs_.reset();
    for (uint32_t s : syncs_) (void)d_.syncobj_destroy(s);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  bool run() {
    const std::vector<uint32_t> needs = make_needs(index_);
    // panthor: one timeline syncobj, a point per batch; panfrost (binary
    // only): a ring of kInFlight syncobjs, reused once their batch is done.
    const size_t nsync = panthor_ ? 1 : kInFlight;
    for (size_t i = 0; i < nsync; ++i) {
      auto s = d_.syncobj_create(false);
      if (!s.ok()) return false;
      syncs_.push_back(*s);
    }
    bool ok = true;
    for (int b = 0; b < kBatches && ok; ++b) {
      ok = retire(false);
      while (ok && inflight_.size() >= kInFlight) ok = retire(true);
      if (ok) ok = submit(b, &needs[static_cast<size_t>(b) * kDraws]);
    }
    while (ok && !inflight_.empty()) ok = retire(true);
    return ok;
  }

 private:
  struct Batch {
    BoRef bo;  // per-batch strategy only
    uint32_t syncobj = 0;
    uint64_t point = 0;
  };

  bool submit(int b, const uint32_t* need) {
    Batch batch;
    batch.syncobj = syncs_[panthor_ ? 0 : static_cast<size_t>(b) % kInFlight];
    batch.point = panthor_ ? static_cast<uint64_t>(b) + 1 : 0;
    wsys::test::Stream st;
    st.sleep(kJobNs);
    std::vector<ScratchBinding> bindings;
    std::vector<wsys::Bo*> uses;
    if (use_pool_) {
      for (int i = 0; i < kDraws; ++i) {
        auto r = pool_.tls(need[i]);
        if (!r.ok()) return false;
        scratch(st, r->gpu_va);
        bindings.push_back(std::move(*r));
      }
    } else {
      const uint32_t batch_max = *std::max_element(need, need + kDraws);
      auto bytes = pool_.tls_bytes_for(batch_max);  // the same formula
      if (!bytes.ok()) return false;
      auto bo = d_.bo_alloc(*bytes, 0, "batch-tls");
      if (!bo.ok()) return false;
      const uint64_t size = (*bo)->size();
      raise(peak_, held_.fetch_add(size, std::memory_order_relaxed) + size);
      for (int i = 0; i < kDraws; ++i) scratch(st, (*bo)->gpu_va());
      batch.bo = std::move(*bo);
    }
    for (const ScratchBinding& s : bindings)
      if (std::find(uses.begin(), uses.end(), s.bo.get()) == uses.end()) uses.push_back(s.bo.get());
    if (batch.bo) uses.push_back(batch.bo.get());
    {
      // The model's panfrost SUBMIT queues a job after publishing its
      // implicit-sync fences, outside the lock that orders them: two
      // threads submitting jobs that share a BO can queue them in the
      // wrong order and deadlock the job slot (a model bug, reported).
      // Submitting one at a time per device avoids it; panthor's queues
      // are per group and need no lock.
      std::unique_lock<std::mutex> g(g_submit_lock, std::defer_lock);
      if (!panthor_) g.lock();
      if (!jobs_->run(st, uses, batch.syncobj, batch.point).ok()) return false;
    }
    for (const ScratchBinding& s : bindings)
      if (!pool_.mark_used(s, {batch.syncobj, batch.point}).ok()) return false;
    inflight_.push_back(std::move(batch));
    return true;
  }

  void scratch(wsys::test::Stream& st, uint64_t va) {
    // Each context writes its own 16-byte slice (contexts share the pool's
    // buffer: disjoint slices keep the GPU writes race-free).
    st.add(wsys::sim::SimCmdScratch{{wsys::sim::kCmdScratch, sizeof(wsys::sim::SimCmdScratch)},
                                    va + static_cast<uint64_t>(index_) * 16, 1, 16,
                                    static_cast<uint32_t>(index_), 0});
  }

  // Frees finished batches from the front (block: wait for the oldest).
  // false: a blocking wait failed (a stuck job).
  bool retire(bool block) {
    while (!inflight_.empty()) {
      Batch& f = inflight_.front();
      uint32_t h = f.syncobj;
      uint64_t p = f.point;
      auto w = d_.syncobj_wait(wsys::SyncPoint{h, p}, block ? wsys::test::deadline_ms(10000) : 0);
      if (!w.ok()) {
        if (block) std::fprintf(stderr, "scratch bench: a job did not finish in 10 s\n");
        return !block;
      }
      if (f.bo) held_.fetch_sub(f.bo->size(), std::memory_order_relaxed);
      inflight_.pop_front();  // the batch BO goes back to the device
      block = false;
    }
    return true;
  }

  Device& d_;
  ScratchPool& pool_;
  bool use_pool_;
  int index_;
  std::atomic<uint64_t>& held_;
  std::atomic<uint64_t>& peak_;
  std::unique_ptr<wsys::test::Jobs> jobs_;
  bool panthor_;
  std::vector<uint32_t> syncs_;
  std::deque<Batch> inflight_;
};

Footprint run_strategy(const std::string& driver, bool use_pool) {
  Footprint f;
  wsys::DeviceOptions o;
  o.cache_from_env = false;
  std::string why;
  auto d = Device::open("sim:" + driver, o, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "cannot open sim:%s: %s\n", driver.c_str(), why.c_str());
    return f;
  }
  auto pool = ScratchPool::create(*d);
  if (!pool.ok()) return f;
  std::atomic<uint64_t> held{0}, peak{0};
  std::atomic<bool> done{false};
  double sum = 0;
  uint64_t samples = 0;
  std::thread sampler([&] {
    while (!done.load(std::memory_order_acquire)) {
      sum += static_cast<double>(use_pool ? (*pool)->stats().bytes_held
                                          : held.load(std::memory_order_relaxed));
      ++samples;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::atomic<bool> ok{true};
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < kContexts; ++c) {
      threads.emplace_back([&, c] {
        Context ctx(**d, **pool, use_pool, c, held, peak);
        if (!ctx.run()) ok = false;
      });
    }
    for (auto& t : threads) t.join();
  }
  done = true;
  sampler.join();
  if (!ok || samples == 0) {
    std::fprintf(stderr, "scratch bench: %s %s run failed\n", driver.c_str(),
                 use_pool ? "pool" : "per-batch");
    return f;
  }
  const wsys::ScratchPoolStats st = (*pool)->stats();
  f.mean_bytes = sum / static_cast<double>(samples);
  f.peak_bytes = static_cast<double>(use_pool ? st.peak_bytes_held : peak.load());
  f.grows = st.grows;
  f.ok = true;
  return f;
}

// --- the fast path --------------------------------------------------------

std::shared_ptr<Device> g_dev;
std::shared_ptr<ScratchPool> g_pool;

// g_pool is set up in main() with a buffer for kMaxNeed, so every call
// below fits: the lock, the compare and a reference count increment.
void BM_TlsHit(benchmark::State& state) {
  uint32_t need = kMinNeed + static_cast<uint32_t>(state.thread_index()) * 64;
  for (auto _ : state) {
    auto b = g_pool->tls(need);
    benchmark::DoNotOptimize(b);
    need = need >= kMaxNeed ? kMinNeed : need + 16;
  }
}
BENCHMARK(BM_TlsHit)->Threads(1)->Threads(8)->UseRealTime();

class MetricReporter : public benchmark::ConsoleReporter {
 public:
  // No colour codes: they would run into the first `metric` line.
  MetricReporter() : benchmark::ConsoleReporter(OO_None) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      // Wall time per call; with 8 threads, calls of all threads counted
      // (so contention shows as a higher figure than 1 thread's).
      const double ns = r.GetAdjustedRealTime();
      const std::string name = r.threads > 1 ? "scratch_tls_hit_ns_8_threads" : "scratch_tls_hit_ns";
      wsys::bench::record_metric(name, ns, "ns");
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  for (const char* drv : {"panthor", "panfrost"}) {
    const std::string suffix = std::string(drv) == "panthor" ? "" : "_panfrost";
    // Alternate the two strategies (twice each) so machine noise hits both.
    Footprint pool, batch;
    for (int rep = 0; rep < 2; ++rep) {
      Footprint b = run_strategy(drv, false);
      Footprint p = run_strategy(drv, true);
      if (!b.ok || !p.ok) return 1;
      batch.mean_bytes += b.mean_bytes / 2;
      pool.mean_bytes += p.mean_bytes / 2;
      batch.peak_bytes = std::max(batch.peak_bytes, b.peak_bytes);
      pool.peak_bytes = std::max(pool.peak_bytes, p.peak_bytes);
      pool.grows = std::max(pool.grows, p.grows);
    }
    const double mib = 1024.0 * 1024.0;
    wsys::bench::record_metric("scratch_bytes_vs_per_batch" + suffix,
                               pool.mean_bytes / batch.mean_bytes, "x");
    wsys::bench::record_metric("scratch_bytes_vs_per_batch_peak" + suffix,
                               pool.peak_bytes / batch.peak_bytes, "x");
    wsys::bench::record_metric("scratch_pool_mean_mib" + suffix, pool.mean_bytes / mib, "MiB");
    wsys::bench::record_metric("scratch_per_batch_mean_mib" + suffix, batch.mean_bytes / mib,
                               "MiB");
    wsys::bench::record_metric("scratch_pool_peak_mib" + suffix, pool.peak_bytes / mib, "MiB");
    wsys::bench::record_metric("scratch_per_batch_peak_mib" + suffix, batch.peak_bytes / mib,
                               "MiB");
    wsys::bench::record_metric("scratch_pool_grows" + suffix, static_cast<double>(pool.grows),
                               "buffers");
  }

  {
    wsys::DeviceOptions o;
    o.cache_from_env = false;
    auto d = Device::open("sim:panthor", o);
    if (!d.ok()) return 1;
    g_dev = *d;
    auto p = ScratchPool::create(g_dev);
    if (!p.ok() || !(*p)->tls(kMaxNeed).ok()) return 1;
    g_pool = *p;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  MetricReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  g_pool.reset();
  g_dev.reset();
  wsys::bench::print_metrics();
  return 0;
}
