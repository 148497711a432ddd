// The coarse pinning policy for user queues (docs/user-queues.md) measured
// on core over the kernel model: how many bytes a running user queue keeps
// resident, over the bytes its commands touch, with the policy's cache cap
// (DeviceOptions::user_queue_cache_bytes, the default 4 MiB) and without it
// (the cap left at the cache's own 256 MiB), same workload, same run.
//
// Workload: an earlier scene freed 32 MiB of buffers (64 x 512 KiB, now in
// the BO cache, mapped in the device VM); the context has 16 live buffers
// of 256 KiB and its submission touches 4 of them, with a 50 ms sleep so
// the queue is running when the model's resident bytes are read.
//   userq_pinned_bytes_ratio_policy     resident / touched, policy on
//   userq_pinned_bytes_ratio_no_policy  resident / touched, policy off
//   userq_pinning_policy_saving         no_policy / policy (x; above 1 is
//                                       what the policy saves)
// Resident counts every buffer of the device's file: while the queue runs
// the kernel may take none of them without preempting the queue.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "metrics.h"
#include "winsys/core/kernel_access.h"
#include "winsys/kmod/wait.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/sim_drm_file.h"
#include "wsys/device.hpp"
#include "wsys/user_queue.hpp"

namespace {

constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;

void add(std::vector<uint8_t>& b, const void* c, size_t n) {
  const auto* p = static_cast<const uint8_t*>(c);
  b.insert(b.end(), p, p + n);
}

// Resident bytes of the device's file while its queue runs, or -1.
double pinned_ratio(bool policy) {
  wsys::DeviceOptions o;
  o.cache_from_env = false;
  o.maintenance_thread = false;
  o.trim_cache_under_pressure = false;
  o.cache.decay_half_life_ns = 0;
  if (!policy) o.user_queue_cache_bytes = UINT64_MAX;
  std::string why;
  auto d = wsys::Device::open("sim:panthor", o, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "userq_pinning_bench: %s\n", why.c_str());
    return -1;
  }
  std::shared_ptr<wsys::Device> dev = *d;
  {
    std::vector<wsys::BoRef> scene;
    for (int i = 0; i < 64; i++) {
      auto b = dev->bo_alloc(512 * kKiB, 0, "scene");
      if (!b.ok()) return -1;
      if (auto m = (*b)->map(); m.ok()) std::memset(*m, i, 512 * kKiB);
      scene.push_back(std::move(*b));
    }
  }  // freed into the cache
  std::vector<wsys::BoRef> live;
  for (int i = 0; i < 16; i++) {
    auto b = dev->bo_alloc(256 * kKiB, wsys::kAllocNoCache, "context");
    if (!b.ok()) return -1;
    live.push_back(std::move(*b));
  }
  auto q = wsys::UserQueue::create(dev->vm());
  if (!q.ok()) {
    std::fprintf(stderr, "userq_pinning_bench: no user queue (%d)\n", q.error());
    return -1;
  }
  std::vector<uint8_t> cmds;
  for (int i = 0; i < 4; i++) {
    wsys::sim::SimCmdFill f{};
    f.hdr = {wsys::sim::kCmdFill, sizeof f};
    f.va = live[i]->gpu_va();
    f.size = 256 * kKiB;
    f.value = 0x5a5a0000u + i;
    add(cmds, &f, sizeof f);
  }
  wsys::sim::SimCmdSleep s{};
  s.hdr = {wsys::sim::kCmdSleep, sizeof s};
  s.ns = 50'000'000;
  add(cmds, &s, sizeof s);
  if (!(*q)->push(cmds).ok()) return -1;
  auto seq = (*q)->end_submission();
  if (!seq.ok()) return -1;
  (*q)->ring();
  auto& f = dynamic_cast<wsys::sim::SimDrmFile&>(wsys::KernelAccess::device(*dev).file());
  const double resident = double(wsys::sim::sim_file_usage(f.file()).resident);
  const bool running = (*q)->completed() < *seq;
  if (!(*q)->wait(*seq, wsys::kmod::monotonic_ns() + 10'000'000'000LL).ok()) return -1;
  if (!running) std::fprintf(stderr, "userq_pinning_bench: the queue finished before the read\n");
  // Touched: 4 buffers, the control page and a page of ring.
  const double touched = 4 * 256 * kKiB + 2 * 4 * kKiB;
  return resident / touched;
}

}  // namespace

int main() {
  const double on = pinned_ratio(true);
  const double off = pinned_ratio(false);
  if (on <= 0 || off <= 0) return 1;
  wsys::bench::record_metric("userq_pinned_bytes_ratio_policy", on, "x");
  wsys::bench::record_metric("userq_pinned_bytes_ratio_no_policy", off, "x");
  wsys::bench::record_metric("userq_pinning_policy_saving", off / on, "x");
  wsys::bench::print_metrics();
  return 0;
}
