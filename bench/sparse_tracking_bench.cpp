// Host memory and time a SparseBuffer's block tracking costs: a 64 GiB
// buffer (the size a Vulkan application reserves for a sparse pool) with
// 16 blocks bound, on the model (sim:panthor).
//
// The anchor, measured in the same run, is the dense table the tracking
// used before (one BoRef and one residency bit per 64 KiB block, allocated
// and zeroed at creation): its bytes are allocated here and counted the
// same way. Metrics:
//   sparse_tracking_bytes_64g        heap bytes the buffer holds (mallinfo2)
//   sparse_tracking_bytes_64g_dense  the dense table's bytes (anchor)
//   sparse_tracking_over_dense       the ratio (lower is better)
//   sparse_create_destroy_64g_us     create + bind 16 + destroy, median of 9
//   sparse_dense_table_alloc_us      allocating and freeing the dense table
//                                    alone, median of 9 (a floor of the old
//                                    creation cost)
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "metrics.h"
#include "wsys/device.hpp"
#include "wsys/sparse.hpp"

namespace {

constexpr uint64_t kSize = 64ull << 30;
constexpr uint64_t kBlocks = kSize / wsys::kSparseBlockBytes;
constexpr int kRounds = 9;

double now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

size_t heap_in_use() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // small blocks and mmapped ones
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  wsys::DeviceOptions opt;
  opt.cache_from_env = false;
  opt.maintenance_thread = false;
  std::string why;
  auto d = wsys::Device::open("sim:panthor", opt, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "sparse_tracking_bench: %s\n", why.c_str());
    return 1;
  }
  auto bo = (*d)->bo_alloc(wsys::kSparseBlockBytes, 0);
  if (!bo.ok()) return 1;

  // Warm-up: the dummy BO (panthor < 1.9) and the VM's page tables.
  (void)wsys::SparseBuffer::create(*d, kSize);

  size_t held = 0;
  std::vector<double> create_us;
  for (int r = 0; r < kRounds; ++r) {
    const double t0 = now_us();
    const size_t before = heap_in_use();
    auto sp = wsys::SparseBuffer::create(*d, kSize);
    if (!sp.ok()) {
      std::fprintf(stderr, "sparse_tracking_bench: create: %d\n", sp.error());
      return 1;
    }
    for (uint64_t i = 0; i < 16; ++i)
      if (!(*sp)->bind(i * (kBlocks / 16), 1, **bo, 0).ok()) return 1;
    if (!(*sp)->submit(wsys::BindMode::Immediate).ok()) return 1;
    if ((*sp)->resident_blocks() != 16) return 1;
    held = heap_in_use() - before;
    sp->reset();
    create_us.push_back(now_us() - t0);
  }

  size_t dense = 0;
  std::vector<double> dense_us;
  for (int r = 0; r < kRounds; ++r) {
    const double t0 = now_us();
    const size_t before = heap_in_use();
    {
      std::vector<uint64_t> bits((kBlocks + 63) / 64, 0);
      std::vector<wsys::BoRef> refs(kBlocks);
      dense = heap_in_use() - before;
    }
    dense_us.push_back(now_us() - t0);
  }

  using wsys::bench::record_metric;
  record_metric("sparse_tracking_bytes_64g", static_cast<double>(held), "bytes");
  record_metric("sparse_tracking_bytes_64g_dense", static_cast<double>(dense), "bytes");
  record_metric("sparse_tracking_over_dense",
                static_cast<double>(held) / static_cast<double>(dense ? dense : 1), "x");
  record_metric("sparse_create_destroy_64g_us", median(create_us), "us");
  record_metric("sparse_dense_table_alloc_us", median(dense_us), "us");
  wsys::bench::print_metrics();
  return 0;
}
