// Sparse binding on the kernel model (panthor): binding 1000 adjacent
// 64 KiB pages of one SparseBuffer to one 64 MiB BO, three ways, same run:
//   per_op       one bind and one VM_BIND ioctl per page (1000 ioctls);
//   batched      one SparseBindBatch: 1000 bind() calls that coalesce into
//                one op, one ioctl;
//   uncoalesced  one SparseBindBatch, one ioctl, but pages alternate
//                between two BOs so nothing merges: 1000 ops in the ioctl
//                (what batching alone buys, without coalescing).
// Every iteration really changes the mappings: batched and per_op rebind
// the whole range alternately to BO A and BO B, uncoalesced flips the
// A/B parity of every page. Immediate binds, so each ioctl returns with the
// page tables updated. The modes alternate, best of several repetitions.
//
// Metrics:
//   bind_batch_speedup               per_op ns / batched ns (target >= 3)
//   bind_batch_speedup_uncoalesced   per_op ns / uncoalesced ns
//   bind_batch_ns_per_page_{per_op,batched,uncoalesced}
//   bind_batch_ops_per_ioctl_{batched,uncoalesced}  (from the Vm's stats)
#include <chrono>
#include <cstdio>
#include <string>

#include "metrics.h"
#include "wsys/device.hpp"
#include "wsys/sparse.hpp"

namespace {

using wsys::BindMode;
using wsys::BoRef;
using wsys::SparseBindBatch;
using wsys::SparseBuffer;

constexpr uint64_t kPages = 1000;
constexpr uint64_t kPage = wsys::kSparseBlockBytes;
constexpr int kIters = 20;  // per repetition and mode
constexpr int kReps = 5;

enum class Mode { PerOp, Batched, Uncoalesced };

struct Setup {
  std::shared_ptr<wsys::Device> dev;
  std::shared_ptr<SparseBuffer> sb;
  BoRef bo[2];
};

bool check(const wsys::Result<void>& r, const char* what) {
  if (r.ok()) return true;
  std::fprintf(stderr, "%s failed: %d\n", what, r.error());
  return false;
}

// One iteration: every page rebound. Returns false on an error.
bool iterate(Setup& s, Mode m, int it) {
  SparseBuffer& b = *s.sb;
  switch (m) {
    case Mode::PerOp: {
      wsys::Bo& bo = *s.bo[it & 1];
      for (uint64_t p = 0; p < kPages; ++p) {
        if (!check(b.bind(p, 1, bo, p * kPage), "bind")) return false;
        if (!check(b.submit(BindMode::Immediate), "submit")) return false;
      }
      return true;
    }
    case Mode::Batched: {
      wsys::Bo& bo = *s.bo[it & 1];
      SparseBindBatch batch;
      batch.ops().reserve(1);
      for (uint64_t p = 0; p < kPages; ++p)
        if (!check(b.bind(batch, p, 1, bo, p * kPage), "bind")) return false;
      return check(batch.submit(BindMode::Immediate), "submit");
    }
    case Mode::Uncoalesced: {
      SparseBindBatch batch;
      batch.ops().reserve(kPages);
      for (uint64_t p = 0; p < kPages; ++p)
        if (!check(b.bind(batch, p, 1, *s.bo[(p + it) & 1], p * kPage), "bind")) return false;
      return check(batch.submit(BindMode::Immediate), "submit");
    }
  }
  return false;
}

// ns per iteration (all pages), and ops per ioctl from the Vm's stats.
bool measure(Setup& s, Mode m, double* ns, double* ops_per_ioctl) {
  const wsys::VmStats s0 = s.sb->vm().stats();
  const auto t0 = std::chrono::steady_clock::now();
  for (int it = 0; it < kIters; ++it)
    if (!iterate(s, m, it)) return false;
  const auto t1 = std::chrono::steady_clock::now();
  const wsys::VmStats s1 = s.sb->vm().stats();
  *ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / kIters;
  *ops_per_ioctl = static_cast<double>(s1.ops_submitted - s0.ops_submitted) /
                   static_cast<double>(s1.bind_calls - s0.bind_calls);
  return s.sb->resident_blocks() == kPages;
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  wsys::DeviceOptions o;
  o.cache_from_env = false;
  o.maintenance_thread = false;
  std::string why;
  auto d = wsys::Device::open("sim:panthor", o, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "cannot open sim:panthor: %s\n", why.c_str());
    return 1;
  }
  Setup s;
  s.dev = *d;
  auto sb = SparseBuffer::create(s.dev, kPages * kPage);
  if (!sb.ok()) {
    std::fprintf(stderr, "sparse buffer: %d\n", sb.error());
    return 1;
  }
  s.sb = *sb;
  for (auto& bo : s.bo) {
    auto b = s.dev->bo_alloc(64ull << 20, wsys::kAllocNoMmap, "bench");
    if (!b.ok()) {
      std::fprintf(stderr, "bo_alloc: %d\n", b.error());
      return 1;
    }
    bo = std::move(*b);
  }
  // Warm-up: every path once (page tables populated, allocations made).
  double ns = 0, opi = 0;
  for (Mode m : {Mode::Batched, Mode::PerOp, Mode::Uncoalesced})
    if (!measure(s, m, &ns, &opi)) return 1;

  double best[3] = {0, 0, 0}, ops[3] = {0, 0, 0};
  for (int rep = 0; rep < kReps; ++rep) {
    for (Mode m : {Mode::PerOp, Mode::Batched, Mode::Uncoalesced}) {
      if (!measure(s, m, &ns, &opi)) return 1;
      const int i = static_cast<int>(m);
      if (rep == 0 || ns < best[i]) best[i] = ns;
      ops[i] = opi;
    }
  }
  const double per_op = best[0], batched = best[1], unco = best[2];
  wsys::bench::record_metric("bind_batch_speedup", per_op / batched, "x");
  wsys::bench::record_metric("bind_batch_speedup_uncoalesced", per_op / unco, "x");
  wsys::bench::record_metric("bind_batch_ns_per_page_per_op", per_op / kPages, "ns");
  wsys::bench::record_metric("bind_batch_ns_per_page_batched", batched / kPages, "ns");
  wsys::bench::record_metric("bind_batch_ns_per_page_uncoalesced", unco / kPages, "ns");
  wsys::bench::record_metric("bind_batch_ops_per_ioctl_batched", ops[1], "ops");
  wsys::bench::record_metric("bind_batch_ops_per_ioctl_uncoalesced", ops[2], "ops");
  wsys::bench::print_metrics();
  return 0;
}
