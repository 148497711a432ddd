// User queues (a model extension, drm-uapi/wsys_sim_ext.h) against
// GROUP_SUBMIT, on the kernel model, same command stream, same run:
//   userq_submit_ns            producer cost of one submission: the
//                              commands + SEQNO into the ring, the write
//                              pointer, the doorbell store (steady state,
//                              the executor running)
//   group_submit_ioctl_ns      one GROUP_SUBMIT ioctl of the same commands
//                              (already in GPU memory) with a SIGNAL
//   userq_over_group_submit    their ratio (x; below 1 is the point)
//   userq_roundtrip_ns / group_submit_roundtrip_ns
//                              submit one and wait for it, idle queue (the
//                              userq side includes the doorbell trap and the
//                              executor's wake-up)
//   userq_evict_restore_us     one VM with 4 MiB of buffers and a busy
//                              queue: pressure from another file preempts
//                              it (eviction fence: suspend at a command
//                              boundary), swaps its memory out; then the
//                              doorbell restores and resumes it and a
//                              submission completes (median of 20)
//   userq_pinned_bytes_ratio   bytes the coarse policy keeps resident while
//                              the queue runs (everything its VM maps: 16
//                              buffers + the ring BO) over the bytes its
//                              commands touched (4 buffers, 2 pages)
// The model runs in process, so an "ioctl" is a function call plus the
// kernel-side work (copies, allocation, queueing to a worker thread): the
// ratio understates what a real system call would add.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "metrics.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"

namespace {

using namespace wsys::sim;

constexpr uint64_t kBase = 0x1000000;  // 2 MiB: ring, control, stream, data
constexpr uint32_t kRing = 1024 * 1024;  // room for a whole round: the producer never waits
constexpr uint64_t kCtrl = kBase + kRing;
constexpr uint64_t kStream = kBase + kRing + 0x10000;
constexpr uint64_t kData = kBase + kRing + 0x20000;
constexpr uint64_t kBoSize = 2 << 20;

int64_t now() { return monotonic_ns(); }

struct Setup {
  std::unique_ptr<SimDrmFile> f;
  uint32_t vm = 0, bo = 0, group = 0, q = 0;
  uint8_t* cpu = nullptr;
  volatile uint32_t* db = nullptr;
  uint64_t w = 0;

  bool init() {
    auto r = SimDrmFile::open("panthor");
    if (!r.ok()) return false;
    f = std::move(*r);
    drm_panthor_vm_create vc{};
    if (f->ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &vc)) return false;
    vm = vc.id;
    bo = make_bo(kBoSize, kBase);
    drm_panthor_bo_mmap_offset mo{};
    mo.handle = bo;
    f->ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo);
    auto m = f->mmap(nullptr, kBoSize, PROT_READ | PROT_WRITE, MAP_SHARED, mo.offset);
    if (!m.ok()) return false;
    cpu = static_cast<uint8_t*>(*m);
    drm_panthor_queue_create qc{};
    qc.ringbuf_size = 65536;
    drm_panthor_group_create g{};
    const GpuIdentity& gpu = f->file().device()->gpu();
    g.queues.stride = sizeof qc;
    g.queues.count = 1;
    g.queues.array = reinterpret_cast<uintptr_t>(&qc);
    g.max_compute_cores = g.max_fragment_cores = g.max_tiler_cores = 1;
    g.compute_core_mask = g.fragment_core_mask = gpu.shader_present;
    g.tiler_core_mask = gpu.tiler_present;
    g.priority = PANTHOR_GROUP_PRIORITY_MEDIUM;
    g.vm_id = vm;
    if (f->ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &g)) return false;
    group = g.group_handle;
    drm_wsys_userq_create uc{};
    uc.group_handle = group;
    uc.ring_va = kBase;
    uc.ring_size = kRing;
    uc.rptr_va = kCtrl;
    uc.wptr_va = kCtrl + 8;
    uc.seqno_va = kCtrl + 16;
    if (f->ioctl(DRM_IOCTL_WSYS_USERQ_CREATE, &uc)) return false;
    q = uc.handle;
    auto d = f->mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, uc.doorbell_offset);
    if (!d.ok()) return false;
    db = static_cast<volatile uint32_t*>(*d);
    return true;
  }
  uint32_t make_bo(uint64_t size, uint64_t va) {
    drm_panthor_bo_create c{};
    c.size = size;
    f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
    drm_panthor_vm_bind_op op{};
    op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
    op.bo_handle = c.handle;
    op.va = va;
    op.size = size;
    drm_panthor_vm_bind b{};
    b.vm_id = vm;
    b.ops.stride = sizeof op;
    b.ops.count = 1;
    b.ops.array = reinterpret_cast<uintptr_t>(&op);
    f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b);
    return c.handle;
  }
  volatile uint64_t* ctrl() { return reinterpret_cast<volatile uint64_t*>(cpu + (kCtrl - kBase)); }
  uint64_t seqno() { return __atomic_load_n(&ctrl()[2], __ATOMIC_ACQUIRE); }
  // Appends bytes to the ring (NOP-padding the tail), waiting for room.
  void put(const void* p, uint32_t n) {
    uint32_t off = static_cast<uint32_t>(w & (kRing - 1));
    if (off + n > kRing) {
      uint32_t pad = kRing - off;
      while (w + pad - __atomic_load_n(&ctrl()[0], __ATOMIC_ACQUIRE) > kRing) std::this_thread::yield();
      SimCmdHeader h{kCmdNop, pad};
      std::memcpy(cpu + off, &h, 8);
      w += pad;
      off = 0;
    }
    while (w + n - __atomic_load_n(&ctrl()[0], __ATOMIC_ACQUIRE) > kRing) std::this_thread::yield();
    std::memcpy(cpu + off, p, n);
    w += n;
  }
  void commit() {
    __atomic_store_n(&ctrl()[1], w, __ATOMIC_RELEASE);
    *db = 1;
  }
};

// The shared stream: two 64-bit stores.
struct Work {
  SimCmdWrite64 a, b;
};
Work work(uint64_t i) {
  Work wk{};
  wk.a.hdr = {kCmdWrite64, sizeof(SimCmdWrite64)};
  wk.a.va = kData;
  wk.a.value = i;
  wk.b.hdr = {kCmdWrite64, sizeof(SimCmdWrite64)};
  wk.b.va = kData + 8;
  wk.b.value = ~i;
  return wk;
}

void userq_submit(Setup& s, uint64_t seq) {
  Work wk = work(seq);
  s.put(&wk, sizeof wk);
  SimCmdSeqno sq{{kCmdSeqno, sizeof(SimCmdSeqno)}, seq};
  s.put(&sq, sizeof sq);
  s.commit();
}

int group_submit(Setup& s, uint32_t syncobj) {
  drm_panthor_sync_op op{};
  op.flags = DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL;
  op.handle = syncobj;
  drm_panthor_queue_submit qs{};
  qs.stream_addr = kStream;
  qs.stream_size = sizeof(Work);
  qs.syncs.stride = sizeof op;
  qs.syncs.count = 1;
  qs.syncs.array = reinterpret_cast<uintptr_t>(&op);
  drm_panthor_group_submit g{};
  g.group_handle = s.group;
  g.queue_submits.stride = sizeof qs;
  g.queue_submits.count = 1;
  g.queue_submits.array = reinterpret_cast<uintptr_t>(&qs);
  return s.f->ioctl(DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &g);
}

bool wait_syncobj(Setup& s, uint32_t h) {
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&h);
  w.count_handles = 1;
  w.timeout_nsec = monotonic_ns() + 10'000'000'000LL;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  return s.f->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w) == 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main() {
  Setup s;
  if (!s.init()) {
    std::fprintf(stderr, "sim_userq_bench: the model has no user queues\n");
    return 1;
  }
  Work wk = work(0);
  std::memcpy(s.cpu + (kStream - kBase), &wk, sizeof wk);
  drm_syncobj_create sc{};
  s.f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc);
  const uint32_t so = sc.handle;
  constexpr int kN = 10000, kRounds = 5;  // 48 bytes each: fits the ring
  uint64_t seq = 0;

  // Throughput, producer side, alternated rounds (same load on both).
  std::vector<double> uq, gs;
  for (int r = 0; r < kRounds; r++) {
    int64_t t0 = now();
    for (int i = 0; i < kN; i++) userq_submit(s, ++seq);
    int64_t t1 = now();
    while (s.seqno() < seq) std::this_thread::yield();
    uq.push_back(double(t1 - t0) / kN);
    t0 = now();
    for (int i = 0; i < kN; i++) group_submit(s, so);
    t1 = now();
    wait_syncobj(s, so);
    gs.push_back(double(t1 - t0) / kN);
  }
  // Round trips: one submission, wait for it, idle in between. Both sides
  // sleep in the kernel while waiting (a spinning waiter would take the
  // executor's CPU on a small machine): the user queue polls 20 us, then
  // asks for a submission fence and waits on it, as wsys::UserQueue does.
  std::vector<double> uq_rt, gs_rt;
  drm_syncobj_create sc2{};
  s.f->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc2);
  for (int i = 0; i < 200; i++) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // the queue goes idle, arms
    int64_t t0 = now();
    userq_submit(s, ++seq);
    while (s.seqno() < seq && now() - t0 < 20000) std::this_thread::yield();
    if (s.seqno() < seq) {
      drm_wsys_userq_signal us{};
      us.handle = s.q;
      us.syncobj = sc2.handle;
      us.seqno = seq;
      if (s.f->ioctl(DRM_IOCTL_WSYS_USERQ_SIGNAL, &us) == 0) wait_syncobj(s, sc2.handle);
      while (s.seqno() < seq) std::this_thread::yield();
    }
    uq_rt.push_back(double(now() - t0));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    t0 = now();
    group_submit(s, so);
    wait_syncobj(s, so);
    gs_rt.push_back(double(now() - t0));
  }
  const double u = median(uq), g = median(gs);
  wsys::bench::record_metric("userq_submit_ns", u, "ns");
  wsys::bench::record_metric("group_submit_ioctl_ns", g, "ns");
  wsys::bench::record_metric("userq_over_group_submit", g > 0 ? u / g : 0, "x");
  wsys::bench::record_metric("userq_roundtrip_ns", median(uq_rt), "ns");
  wsys::bench::record_metric("group_submit_roundtrip_ns", median(gs_rt), "ns");

  // Evict/restore: 16 x 256 KiB buffers on the VM, the queue busy.
  for (int i = 0; i < 16; i++) s.make_bo(256 * 1024, 0x4000000 + i * 0x40000ull);
  auto other = SimDrmFile::open("panthor");
  SimDevice* dev = s.f->file().device();
  std::vector<double> er;
  double pinned_ratio = 0;
  for (int i = 0; i < 20; i++) {
    // The context's work touches 4 of its 16 buffers.
    for (int b = 0; b < 4; b++) {
      SimCmdFill fl{{kCmdFill, sizeof(SimCmdFill)}, 0x4000000 + b * 0x40000ull, 256 * 1024,
                    static_cast<uint32_t>(i), 0};
      s.put(&fl, sizeof fl);
    }
    SimCmdSleep sl{{kCmdSleep, sizeof(SimCmdSleep)}, 200'000};  // busy when pressed
    s.put(&sl, sizeof sl);
    userq_submit(s, ++seq);
    if (i == 0) {
      while (s.seqno() < seq) std::this_thread::yield();
      // Coarse pinning: while the queue runs, everything the VM maps is
      // resident; the commands touched 4 buffers, the control page and a
      // page of ring.
      const double touched = 4 * 256 * 1024.0 + 2 * 4096.0;
      pinned_ratio = double(sim_file_usage(s.f->file()).resident) / touched;
      userq_submit(s, ++seq);
    }
    const int64_t t0 = now();
    const uint64_t old = dev->shrinker().budget();
    dev->shrinker().set_budget(dev->shrinker().stats().charged);
    drm_panthor_bo_create c{};
    c.size = 4 << 20;
    int r = -1;
    for (int t = 0; t < 100 && r; t++) r = (*other)->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
    dev->shrinker().set_budget(old);
    drm_gem_close cl{};
    cl.handle = c.handle;
    if (!r) (*other)->ioctl(DRM_IOCTL_GEM_CLOSE, &cl);
    s.commit();  // next use: the doorbell
    while (s.seqno() < seq) std::this_thread::yield();
    er.push_back(double(now() - t0) / 1000.0);
  }
  wsys::bench::record_metric("userq_evict_restore_us", median(er), "us");
  wsys::bench::record_metric("userq_pinned_bytes_ratio", pinned_ratio, "x");
  wsys::bench::print_metrics();
  return 0;
}
