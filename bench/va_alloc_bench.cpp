// wsys::VaAllocator (TLSF) against Mesa's util_vma_heap algorithm.
//
// The workload: one heap of 2^47 bytes holding L live ranges (prefilled),
// then steady state: each step frees a random live range and allocates a new
// one of a random size in its place. Sizes are a GPU-driver-like mix from
// 4 KiB to 8 MiB, mostly small; alignment 4 KiB, 64 KiB for some, 2 MiB for
// everything of 2 MiB or more (as panthor's userspace does). The whole
// sequence (prefill, warm-up, timed steps) is generated up front from a fixed
// seed, and both allocators run exactly the same one.
//
//   va_alloc_free_ns_1k / _100k / _1m   mean ns of one (free + alloc) pair
//       with 1k, 100k, 1M live ranges (TLSF).
//   va_scaling_1m_over_1k               ns_1m / ns_1k (target <= 4).
//   va_util_vma_heap_ns_100k            the anchor at 100k live ranges:
//       util_vma_heap's algorithm (UtilVmaHeapModel below: holes sorted
//       high to low, top-down first fit, a node per hole, linear free).
//   va_speedup_vs_util_vma_heap_100k    anchor ns / TLSF ns (target >= 100).
//   va_harness_ns_1k / _1m              the loop alone (no allocator): the
//       random access to the victim's entry; va_scaling_1m_over_1k_allocator_only
//       is the scaling with it subtracted.
//   va_record_miss_floor_ns_1m          the loop plus one dependent read of a
//       48-byte record in an array as large as the allocator's: the access a
//       free by handle cannot avoid; va_alloc_free_1m_over_record_miss_floor
//       says how many such misses a pair costs.
//   va_fragmentation_1m                 the TLSF heap's fragmentation at the
//       end of the 1M run (1 - largest free block / free bytes).
#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "metrics.h"
#include "wsys/va_allocator.hpp"

namespace {

constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB;
constexpr uint64_t kHeapStart = uint64_t{1} << 32;
constexpr uint64_t kHeapSize = uint64_t{1} << 47;

struct Request {
  uint32_t size_pages;  // in 4 KiB pages
  uint32_t align_log2;
};
struct Step {
  uint32_t victim;  // index of the live range to free
  Request req;      // what to allocate in its place
};
struct Workload {
  std::vector<Request> prefill;
  std::vector<Step> warmup, timed;
};

Request random_request(std::mt19937_64& rng) {
  // A size class by weight (mostly small), then a size inside it.
  static constexpr uint32_t kWeights[] = {250, 150, 120, 100, 100, 80, 60, 50, 40, 30, 15, 5};
  uint32_t pick = static_cast<uint32_t>(rng() % 1000), cls = 0;
  while (pick >= kWeights[cls]) pick -= kWeights[cls++];
  // Class c spans (2^(c-1), 2^c] pages: 4 KiB, 8 KiB, ..., 8 MiB.
  const uint32_t hi = 1u << cls, lo = cls ? hi / 2 + 1 : 1;
  const uint32_t pages = lo + static_cast<uint32_t>(rng() % (hi - lo + 1));
  uint32_t align_log2 = 12;
  if (uint64_t{pages} * 4 * kKiB >= 2 * kMiB)
    align_log2 = 21;
  else if (rng() % 10 == 0)
    align_log2 = 16;
  return {pages, align_log2};
}

Workload make_workload(size_t live, size_t warmup, size_t timed, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Workload w;
  w.prefill.reserve(live);
  for (size_t i = 0; i < live; i++) w.prefill.push_back(random_request(rng));
  auto steps = [&](std::vector<Step>& out, size_t n) {
    out.reserve(n);
    for (size_t i = 0; i < n; i++)
      out.push_back({static_cast<uint32_t>(rng() % live), random_request(rng)});
  };
  steps(w.warmup, warmup);
  steps(w.timed, timed);
  return w;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "va_alloc_bench: %s\n", what);
  std::abort();
}

// The timed sections use this thread's CPU time, not wall time: on a shared
// machine wall time also counts other processes' slices.
double thread_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// ---------------------------------------------------------------- TLSF

constexpr size_t kBaselineSteps = 20000;

struct TlsfRun {
  double ns_per_pair;
  double ns_first_steps;  // over the first kBaselineSteps timed steps only
  double fragmentation;
};

TlsfRun run_tlsf(const Workload& w) {
  wsys::VaAllocator va;
  auto heap = va.add_heap(kHeapStart, kHeapSize);
  if (!heap.ok()) die("add_heap");
  va.reserve(w.prefill.size());
  std::vector<wsys::VaAllocation> live(w.prefill.size());
  auto alloc = [&](const Request& r) {
    auto a = va.alloc(*heap, uint64_t{r.size_pages} * 4 * kKiB, uint64_t{1} << r.align_log2);
    if (!a.ok()) die("TLSF alloc failed");
    return *a;
  };
  for (size_t i = 0; i < live.size(); i++) live[i] = alloc(w.prefill[i]);
  auto run = [&](const Step* s, const Step* end) {
    for (; s != end; ++s) {
      if (!va.free(live[s->victim]).ok()) die("TLSF free failed");
      live[s->victim] = alloc(s->req);
    }
  };
  run(w.warmup.data(), w.warmup.data() + w.warmup.size());
  const size_t first = std::min(kBaselineSteps, w.timed.size());
  const double t0 = thread_ns();
  run(w.timed.data(), w.timed.data() + first);
  const double ns_first = thread_ns() - t0;
  run(w.timed.data() + first, w.timed.data() + w.timed.size());
  const double ns = (thread_ns() - t0) / static_cast<double>(w.timed.size());
  return {ns, ns_first / static_cast<double>(first), va.stats(*heap).fragmentation};
}

// ---------------------------------------------------------------- harness

// The loop's own cost without any allocator: the same steps, reading and
// replacing the victim's entry of the live array (a random access into
// L x 24 bytes, which at 1M live ranges misses every cache level). What is
// left of va_alloc_free_ns_* after this is the allocator's.
// With `touch_record`, each step also reads the 48-byte record the victim's
// handle names in an array as large as the allocator's (2 per live range:
// allocations and holes), dependent on the live entry as a handle lookup
// is: the one memory access freeing a range by handle cannot avoid.
double run_harness(const Workload& w, bool touch_record) {
  struct Record {
    uint64_t words[6];
  };
  std::vector<wsys::VaAllocation> live(w.prefill.size());
  std::vector<Record> records(touch_record ? 2 * live.size() : 1);
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < live.size(); i++) live[i].block = touch_record ? rng() % records.size() : 0;
  uint64_t sink = 0;
  auto run = [&](const Step* s, const Step* end) {
    for (; s != end; ++s) {
      const wsys::VaAllocation& v = live[s->victim];
      sink += v.addr;
      if (touch_record) sink += records[v.block].words[sink & 3];
      live[s->victim] = wsys::VaAllocation{sink + s->req.size_pages, s->req.size_pages,
                                           touch_record ? static_cast<uint32_t>((sink * 2654435761u) % records.size()) : 0u};
    }
  };
  run(w.warmup.data(), w.warmup.data() + w.warmup.size());
  const double t0 = thread_ns();
  run(w.timed.data(), w.timed.data() + w.timed.size());
  const double ns = (thread_ns() - t0) / static_cast<double>(w.timed.size());
  benchmark::DoNotOptimize(sink);
  return ns;
}

// ---------------------------------------------------------------- baseline

// The anchor: Mesa's util_vma_heap algorithm, re-implemented here from its
// description (not its code). Holes are kept in one doubly linked list
// sorted by address, highest first, each hole a separately allocated node,
// and the heap allocates top-down (util_vma_heap's default, alloc_high):
//   alloc: walk the holes from the highest; the first hole that can hold
//     the size with the start rounded *down* to the alignment from the top
//     of the hole gets it; the hole shrinks from the top, from the bottom,
//     disappears, or is split in two (a new node) when the range falls
//     strictly inside it;
//   free: walk from the highest hole down to the first hole below the
//     range; merge with the hole just above and/or just below, else insert
//     a new node between them.
// Both are linear in the number of holes above the point of interest.
class UtilVmaHeapModel {
 public:
  UtilVmaHeapModel(uint64_t start, uint64_t size) {
    head_.prev = head_.next = &head_;
    link_after(&head_, new Hole{start, size, nullptr, nullptr});
  }
  ~UtilVmaHeapModel() {
    for (Hole* h = head_.next; h != &head_;) {
      Hole* n = h->next;
      delete h;
      h = n;
    }
  }
  UtilVmaHeapModel(const UtilVmaHeapModel&) = delete;
  UtilVmaHeapModel& operator=(const UtilVmaHeapModel&) = delete;

  bool alloc(uint64_t size, uint64_t align, uint64_t* out) {
    for (Hole* h = head_.next; h != &head_; h = h->next) {  // highest first
      if (h->size < size) continue;
      uint64_t off = h->offset + h->size - size;  // as high as possible
      off -= off % align;                         // rounded down
      if (off < h->offset) continue;              // alignment pushed it out
      carve(h, off, size);
      *out = off;
      return true;
    }
    return false;
  }

  void free(uint64_t off, uint64_t size) {
    Hole* high = nullptr;  // the lowest hole above the range
    Hole* low = nullptr;   // the highest hole below it
    for (Hole* h = head_.next; h != &head_; h = h->next) {
      if (h->offset <= off) {
        low = h;
        break;
      }
      high = h;
    }
    const bool join_high = high && high->offset == off + size;
    const bool join_low = low && low->offset + low->size == off;
    if (join_high && join_low) {
      low->size += size + high->size;
      unlink(high);
      delete high;
    } else if (join_high) {
      high->offset = off;
      high->size += size;
    } else if (join_low) {
      low->size += size;
    } else {
      link_after(high ? high : &head_, new Hole{off, size, nullptr, nullptr});
    }
  }

 private:
  struct Hole {
    uint64_t offset, size;
    Hole* prev;
    Hole* next;
  };
  // Takes [off, off + size) out of hole h.
  void carve(Hole* h, uint64_t off, uint64_t size) {
    const uint64_t h_end = h->offset + h->size, end = off + size;
    if (off == h->offset && end == h_end) {
      unlink(h);
      delete h;
    } else if (off == h->offset) {
      h->offset = end;
      h->size = h_end - end;
    } else if (end == h_end) {
      h->size = off - h->offset;
    } else {
      // Split: the upper part becomes a new hole just before h (higher).
      Hole* upper = new Hole{end, h_end - end, nullptr, nullptr};
      link_after(h->prev, upper);
      h->size = off - h->offset;
    }
  }
  void link_after(Hole* at, Hole* h) {
    h->prev = at;
    h->next = at->next;
    at->next->prev = h;
    at->next = h;
  }
  static void unlink(Hole* h) {
    h->prev->next = h->next;
    h->next->prev = h->prev;
  }
  Hole head_{0, 0, nullptr, nullptr};
};

double run_util_vma_heap(const Workload& w) {
  UtilVmaHeapModel heap(kHeapStart, kHeapSize);
  struct Range {
    uint64_t addr, size;
  };
  std::vector<Range> live(w.prefill.size());
  auto alloc = [&](const Request& r) {
    Range x{0, uint64_t{r.size_pages} * 4 * kKiB};
    if (!heap.alloc(x.size, uint64_t{1} << r.align_log2, &x.addr)) die("anchor alloc failed");
    return x;
  };
  for (size_t i = 0; i < live.size(); i++) live[i] = alloc(w.prefill[i]);
  auto run = [&](const std::vector<Step>& steps) {
    for (const Step& s : steps) {
      heap.free(live[s.victim].addr, live[s.victim].size);
      live[s.victim] = alloc(s.req);
    }
  };
  run(w.warmup);
  const double t0 = thread_ns();
  run(w.timed);
  return (thread_ns() - t0) / static_cast<double>(w.timed.size());
}

// ---------------------------------------------------------------- benchmarks

double g_tlsf_ns_1k = 0, g_tlsf_ns_1m = 0, g_tlsf_ns_100k_first = 0, g_anchor_ns_100k = 0;
double g_harness_ns_1k = 0, g_harness_ns_1m = 0;

// Warm-up: enough steps that the heap reaches its steady fragmentation
// (every live range replaced about twice), capped for time.
size_t warmup_steps(size_t live) { return std::max<size_t>(200000, std::min<size_t>(2 * live, 2000000)); }

void BM_TlsfFreeAlloc(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const size_t timed = 1000000;
  const Workload w = make_workload(live, warmup_steps(live), timed, 42 + live);
  TlsfRun r{};
  for (auto _ : state) r = run_tlsf(w);
  state.counters["ns_per_pair"] = r.ns_per_pair;
  state.counters["fragmentation"] = r.fragmentation;
  const char* name = live == 1000 ? "1k" : live == 100000 ? "100k" : "1m";
  wsys::bench::record_metric(std::string("va_alloc_free_ns_") + name, r.ns_per_pair, "ns");
  if (live == 1000) g_tlsf_ns_1k = r.ns_per_pair;
  if (live == 100000) g_tlsf_ns_100k_first = r.ns_first_steps;
  if (live == 1000000) {
    g_tlsf_ns_1m = r.ns_per_pair;
    wsys::bench::record_metric("va_fragmentation_1m", r.fragmentation, "ratio");
  }
}
BENCHMARK(BM_TlsfFreeAlloc)->Arg(1000)->Arg(100000)->Arg(1000000)->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_Harness(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const Workload w = make_workload(live, warmup_steps(live), 1000000, 42 + live);
  double ns = 0;
  for (auto _ : state) ns = run_harness(w, false);
  state.counters["ns_per_pair"] = ns;
  wsys::bench::record_metric(live == 1000 ? "va_harness_ns_1k" : "va_harness_ns_1m", ns, "ns");
  (live == 1000 ? g_harness_ns_1k : g_harness_ns_1m) = ns;
}
BENCHMARK(BM_Harness)->Arg(1000)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

double g_record_miss_ns_1m = 0;
void BM_RecordMissFloor1m(benchmark::State& state) {
  const size_t live = 1000000;
  const Workload w = make_workload(live, warmup_steps(live), 1000000, 42 + live);
  double ns = 0;
  for (auto _ : state) ns = run_harness(w, true);
  state.counters["ns_per_pair"] = ns;
  wsys::bench::record_metric("va_record_miss_floor_ns_1m", ns, "ns");
  g_record_miss_ns_1m = ns;
}
BENCHMARK(BM_RecordMissFloor1m)->Iterations(1)->Unit(benchmark::kMillisecond);

// The anchor runs the 100k workload's prefill and warm-up, then only the
// first kBaselineSteps timed steps (it is far slower); the speedup compares
// it with the TLSF run's time over exactly those steps.
void BM_UtilVmaHeap100k(benchmark::State& state) {
  const size_t live = 100000;
  Workload w = make_workload(live, warmup_steps(live), 1000000, 42 + live);
  w.timed.resize(kBaselineSteps);
  double ns = 0;
  for (auto _ : state) ns = run_util_vma_heap(w);
  state.counters["ns_per_pair"] = ns;
  g_anchor_ns_100k = ns;
  wsys::bench::record_metric("va_util_vma_heap_ns_100k", ns, "ns");
}
BENCHMARK(BM_UtilVmaHeap100k)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Ratios of figures measured in this run (skipped when a filter left one out).
  if (g_tlsf_ns_1k > 0 && g_tlsf_ns_1m > 0)
    wsys::bench::record_metric("va_scaling_1m_over_1k", g_tlsf_ns_1m / g_tlsf_ns_1k, "x");
  // The same without the loop's own cost (BM_Harness): the allocator's part.
  if (g_tlsf_ns_1k > g_harness_ns_1k && g_tlsf_ns_1m > g_harness_ns_1m && g_harness_ns_1m > 0)
    wsys::bench::record_metric("va_scaling_1m_over_1k_allocator_only",
                               (g_tlsf_ns_1m - g_harness_ns_1m) / (g_tlsf_ns_1k - g_harness_ns_1k),
                               "x");
  if (g_record_miss_ns_1m > 0 && g_tlsf_ns_1m > 0)
    wsys::bench::record_metric("va_alloc_free_1m_over_record_miss_floor",
                               g_tlsf_ns_1m / g_record_miss_ns_1m, "x");
  if (g_tlsf_ns_100k_first > 0 && g_anchor_ns_100k > 0)
    wsys::bench::record_metric("va_speedup_vs_util_vma_heap_100k",
                               g_anchor_ns_100k / g_tlsf_ns_100k_first, "x");
  wsys::bench::print_metrics();
  return 0;
}
