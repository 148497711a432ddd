// wsys::Heap on the kernel model, panthor (tiler heaps) and panfrost (HEAP
// BOs): tiler frames run through the winsys (TILER writing N bytes, then
// FRAGMENT on panthor), the winsys's committed estimate checked against the
// model's own figures, the adaptive initial commitment, the idle shrink,
// the conditions that hold a shrink off, kernel refusals, and concurrency.
//
// The model's figure for "committed" (model_committed below):
//   panfrost  the HEAP BO's committed 2 MiB blocks (SimBo::heap_committed):
//             the model, like the kernel, keeps them until the BO goes.
//   panthor   the model's TilerHeapStats::peak_committed of the heap. The
//             model hands a heap's chunks back at FRAGMENT (and frees them
//             after the job); a real panthor keeps every chunk the heap ever
//             linked until TILER_HEAP_DESTROY, which is exactly the model's
//             peak since the heap was created. That is the memory the winsys
//             estimates and the idle shrink gives back.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "model_jobs.h"
#include "winsys/core/kernel_access.h"
#include "winsys/kmod/kmod.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/tiler_heap.h"
#include "winsys/sim/vm.h"
#include "wsys/device.hpp"
#include "wsys/heap.hpp"

namespace wsys {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kUnit = 2 * kMiB;  // chunk (panthor) and fault step (panfrost)
constexpr uint32_t kPrim = 256;       // primitive size the tiler commands use
constexpr uint64_t kSecond = 1'000'000'000;

using test::deadline_ms;

// A clock tests move by hand (any thread may read it).
struct FakeClock {
  std::atomic<uint64_t> now{kSecond};
  std::function<uint64_t()> fn() {
    return [this] { return now.load(); };
  }
  void advance(uint64_t ns) { now.fetch_add(ns); }
};

std::shared_ptr<Device> open_device(const std::string& driver) {
  DeviceOptions opt;
  opt.cache_from_env = false;
  std::string why;
  auto d = Device::open("sim:" + driver, opt, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

// --- the model's side ---------------------------------------------------

sim::SimFile& sim_file(Device& d) {
  return dynamic_cast<sim::SimDrmFile&>(KernelAccess::device(d).file()).file();
}

// The model's tiler heap behind a panthor heap handle ((vm_id << 16) | id).
std::shared_ptr<sim::TilerHeap> model_tiler_heap(Device& d, uint32_t handle) {
  sim::SimFile& f = sim_file(d);
  const uint32_t vm_id = handle >> 16;
  sim::SimVmPtr vm = sim::SimVm::lookup(f, vm_id);
  if (!vm) return nullptr;
  auto pool = sim::panthor_priv(f)->heap_pool(f.device(), vm_id, vm, false, nullptr);
  return pool ? pool->get(handle & 0xffff) : nullptr;
}

// What the model says the heap holds (see the top of the file); 0 if gone.
uint64_t model_committed(Device& d, const HeapTarget& t, bool panthor) {
  if (panthor) {
    auto h = model_tiler_heap(d, t.handle);
    return h ? h->stats().peak_committed : 0;
  }
  sim::SimBoPtr bo = sim_file(d).lookup_bo(t.handle);
  return bo ? bo->heap_committed.load() : 0;
}

// True while the model still has the kernel heap `t` named.
bool model_has(Device& d, const HeapTarget& t, bool panthor) {
  if (panthor) return model_tiler_heap(d, t.handle) != nullptr;
  return sim_file(d).lookup_bo(t.handle) != nullptr;
}

uint64_t diff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

// --- tiler frames through the winsys ------------------------------------

// Runs tiler frames on heaps of one device: TILER of `bytes` in 256-byte
// primitives (+ FRAGMENT on panthor, which ends the render pass), waits,
// and records what the tiler stored (the count it writes to result_va).
class Frames {
 public:
  explicit Frames(Device& d) : d_(d), jobs_(d), panthor_(d.info().driver == "panthor") {
    auto r = d.bo_alloc(4096, kAllocZeroed, "tiler-result");
    EXPECT_TRUE(r.ok());
    if (r.ok()) result_ = *r;
    if (result_) {
      EXPECT_TRUE(result_->map().ok());
    }
    auto s = d.syncobj_create(false);
    EXPECT_TRUE(s.ok());
    syncobj_ = s.ok() ? *s : 0;
  }
  ~Frames() {
    if (syncobj_) (void)d_.syncobj_destroy(syncobj_);
  }
  Frames(const Frames&) = delete;
  Frames& operator=(const Frames&) = delete;

  uint32_t syncobj() const { return syncobj_; }

  // The bytes the tiler stored (recorded on `heap` with the generation the
  // frame ran on), or the error.
  Result<uint64_t> run(Heap& heap, uint64_t bytes, uint32_t seed = 1) {
    if (!result_ || !syncobj_) return Error(-EINVAL);
    Result<HeapUse> use = heap.begin_use();
    if (!use.ok()) return Error(use.error());
    const HeapTarget t = use->target();
    sim::SimCmdTiler tc{};
    tc.hdr = {sim::kCmdTiler, sizeof tc};
    tc.heap_va = panthor_ ? t.context_va : t.heap_va;
    tc.heap_size = panthor_ ? 0 : t.heap_size_bytes;
    tc.result_va = result_->gpu_va();
    tc.count = static_cast<uint32_t>(bytes / kPrim);
    tc.prim_size = kPrim;
    tc.seed = seed;
    test::Stream s;
    s.add(tc);
    if (panthor_) s.add(sim::SimCmdFragment{{sim::kCmdFragment, sizeof(sim::SimCmdFragment)},
                                            t.context_va, 0});
    const uint64_t point = panthor_ ? ++point_ : 0;
    BoRef stream;  // panfrost: kept until the job is done
    Result<void> sub = panthor_ ? jobs_.run(s, {result_.get()}, syncobj_, point)
                                : submit_panfrost(s, KernelAccess::heap_bo(*use), &stream);
    if (!sub.ok()) return Error(sub.error());  // the HeapUse is dropped uncommitted
    use->commit({syncobj_, point});
    Result<void> w = d_.syncobj_wait(SyncPoint{syncobj_, point}, deadline_ms(60000));
    if (!w.ok()) return Error(w.error());
    uint32_t stored = 0;
    std::memcpy(&stored, result_->cpu(), sizeof stored);
    const uint64_t used = uint64_t{stored} * kPrim;
    heap.record_frame(used, t.generation);
    return used;
  }

 private:
  // A panfrost job chain with the heap BO on the job's BO list, as a
  // frontend submits it.
  Result<void> submit_panfrost(const test::Stream& s, kmod::Bo* heap_bo, BoRef* keep) {
    auto st = d_.bo_alloc(s.bytes().size() + 64, kAllocExecutable | kAllocNoCache, "stream");
    if (!st.ok()) return Error(st.error());
    *keep = *st;
    auto m = (*st)->map();
    if (!m.ok()) return Error(m.error());
    std::memcpy(*m, s.bytes().data(), s.bytes().size());
    sim::SimCmdHeader end{sim::kCmdEnd, sizeof(sim::SimCmdHeader)};
    std::memcpy(static_cast<uint8_t*>(*m) + s.bytes().size(), &end, sizeof end);
    kmod::Bo* bos[] = {&KernelAccess::bo(*result_), &KernelAccess::bo(*(*st)), heap_bo};
    kmod::JobChainSubmit js;
    js.jc = (*st)->gpu_va();
    js.out_sync = syncobj_;
    js.bos = bos;
    Result<void> r = KernelAccess::device(d_).submit_job_chain(js);
    if (r.ok()) {
      result_->mark_used(syncobj_, 0);
      (*st)->mark_used(syncobj_, 0);
    }
    return r;
  }

  Device& d_;
  test::Jobs jobs_;
  bool panthor_;
  BoRef result_;
  uint32_t syncobj_ = 0;
  uint64_t point_ = 0;
};

class HeapModelBase : public ::testing::Test {
 protected:
  virtual std::string driver() const = 0;
  void SetUp() override {
    dev = open_device(driver());
    ASSERT_TRUE(dev);
  }
  void TearDown() override { sim::fault_inject_clear(); }
  bool panthor() const { return driver() == "panthor"; }
  uint64_t point(uint64_t p) const { return panthor() ? p : 0; }

  HeapConfig config() {
    HeapConfig c;
    c.clock = clock.fn();
    c.label = "heap-test";
    return c;
  }
  std::unique_ptr<Heap> make(const HeapConfig& c) {
    auto h = Heap::create(dev, c);
    EXPECT_TRUE(h.ok()) << h.error();
    return h.ok() ? std::move(*h) : nullptr;
  }
  // Runs a frame and checks the tiler stored all of it.
  void frame(Frames& f, Heap& h, uint64_t bytes) {
    Result<uint64_t> r = f.run(h, bytes);
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(*r, bytes);
    clock.advance(16'000'000);
  }

  std::shared_ptr<Device> dev;
  FakeClock clock;
};

// Both flavours.
class HeapModel : public HeapModelBase, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string driver() const override { return GetParam(); }
};

class HeapModelPanthor : public HeapModelBase {
 protected:
  std::string driver() const override { return "panthor"; }
};

TEST_P(HeapModel, CreateReservesTheWorstCaseAndCommitsTheColdStart) {
  auto h = make(config());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind() == HeapKind::TilerHeap, panthor());
  HeapStats st = h->stats();
  EXPECT_EQ(st.reserved_bytes, 128 * kMiB);
  EXPECT_TRUE(st.live);
  EXPECT_EQ(st.generation, 1u);
  EXPECT_EQ(st.frames, 0u);
  // Cold start: 4 units recommended; panthor commits them as initial
  // chunks, a panfrost HEAP BO starts empty.
  EXPECT_EQ(st.recommended_commit_bytes, 8 * kMiB);
  const HeapTarget t = h->target();
  EXPECT_EQ(t.generation, 1u);
  if (panthor()) {
    EXPECT_EQ(st.initial_commit_bytes, 8 * kMiB);
    EXPECT_EQ(st.committed_bytes, 8 * kMiB);
    EXPECT_NE(t.context_va, 0u);
    EXPECT_NE(t.first_chunk_va, 0u);
    EXPECT_EQ(t.heap_va, 0u);
    {
      Result<HeapUse> u = h->begin_use();
      ASSERT_TRUE(u.ok());
      EXPECT_EQ(KernelAccess::heap_bo(*u), nullptr);
    }
    EXPECT_EQ(h->context_va(), t.context_va);
    EXPECT_EQ(h->handle(), t.handle);
    // On the device VM, as the model sees it.
    EXPECT_EQ(t.handle >> 16, dev->vm().kernel_id());
    auto mh = model_tiler_heap(*dev, t.handle);
    ASSERT_TRUE(mh);
    EXPECT_EQ(mh->ctx_va(), t.context_va);
    EXPECT_EQ(mh->first_chunk_va(), t.first_chunk_va);
    EXPECT_EQ(mh->stats().chunk_count, 4u);
    EXPECT_EQ(mh->stats().committed_bytes, 8 * kMiB);
  } else {
    EXPECT_EQ(st.initial_commit_bytes, 0u);
    EXPECT_EQ(st.committed_bytes, 0u);
    EXPECT_EQ(t.context_va, 0u);
    EXPECT_NE(t.heap_va, 0u);
    EXPECT_EQ(t.heap_size_bytes, 128 * kMiB);
    EXPECT_EQ(h->heap_va(), t.heap_va);
    EXPECT_EQ(h->heap_size_bytes(), t.heap_size_bytes);
    {
      Result<HeapUse> u = h->begin_use();
      ASSERT_TRUE(u.ok());
      ASSERT_NE(KernelAccess::heap_bo(*u), nullptr);
      EXPECT_EQ(KernelAccess::heap_bo(*u)->kernel_va(), t.heap_va);
    }
    sim::SimBoPtr bo = sim_file(*dev).lookup_bo(t.handle);
    ASSERT_TRUE(bo);
    EXPECT_EQ(bo->size(), 128 * kMiB);
    EXPECT_EQ(bo->heap_committed.load(), 0u);
  }
  EXPECT_EQ(model_committed(*dev, t, panthor()), st.committed_bytes);
  // Destroying the Heap destroys the kernel heap.
  h.reset();
  EXPECT_FALSE(model_has(*dev, t, panthor()));
}

TEST_P(HeapModel, CreateValidatesItsArguments) {
  EXPECT_EQ(Heap::create(nullptr, config()).error(), -EINVAL);
  struct Case {
    const char* what;
    void (*edit)(HeapConfig&);
  };
  const Case cases[] = {
      {"chunk not a power of two", [](HeapConfig& c) { c.chunk_size_bytes = 3 << 20; }},
      {"chunk below 128 KiB", [](HeapConfig& c) { c.chunk_size_bytes = 64 << 10; }},
      {"chunk above 8 MiB", [](HeapConfig& c) { c.chunk_size_bytes = 16 << 20; }},
      {"no chunks", [](HeapConfig& c) { c.max_chunks = 0; }},
      {"fixed initial above max", [](HeapConfig& c) { c.fixed_initial_chunks = 65; }},
      {"reservation beyond 2^48", [](HeapConfig& c) {
         c.chunk_size_bytes = 8 << 20;
         c.max_chunks = UINT32_MAX;
       }},
      {"no history", [](HeapConfig& c) { c.history_frames = 0; }},
      {"history above 64", [](HeapConfig& c) { c.history_frames = 65; }},
      {"negative headroom", [](HeapConfig& c) { c.headroom = -0.5; }},
      {"shrink factor 1", [](HeapConfig& c) { c.shrink_factor = 1.0; }},
      {"idle time 0", [](HeapConfig& c) { c.idle_shrink_ns = 0; }},
  };
  for (const Case& k : cases) {
    HeapConfig c = config();
    k.edit(c);
    EXPECT_EQ(Heap::create(dev, c).error(), -EINVAL) << k.what;
  }
  // The smallest and largest chunks are fine.
  for (uint32_t cs : {128u << 10, 8u << 20}) {
    HeapConfig c = config();
    c.chunk_size_bytes = cs;
    c.max_chunks = 16;
    auto h = Heap::create(dev, c);
    ASSERT_TRUE(h.ok()) << cs << ": " << h.error();
    EXPECT_EQ((*h)->stats().reserved_bytes, uint64_t{cs} * 16);
  }
  // The kernel's errno comes through.
  ASSERT_TRUE(sim::fault_inject_set(panthor() ? "ioctl:TILER_HEAP_CREATE:nth=1:errno=28"
                                              : "ioctl:CREATE_BO:nth=1:errno=28"));
  EXPECT_EQ(Heap::create(dev, config()).error(), -ENOSPC);
}

// For workloads of very different sizes, on a heap that starts at one unit:
// the model's committed memory is at least what the tiler wrote and at most
// one unit more, and the winsys's estimate is within one unit of the model.
TEST_P(HeapModel, CommittedStaysWithinOneUnitOfWhatTheTilerWrote) {
  Frames f(*dev);
  for (uint64_t mib : {1, 6, 40}) {
    SCOPED_TRACE(testing::Message() << mib << " MiB");
    HeapConfig c = config();
    c.cold_start_granules = 1;
    auto h = make(c);
    ASSERT_TRUE(h);
    const uint64_t written = mib * kMiB;
    frame(f, *h, written);
    const HeapTarget t = h->target();
    const uint64_t model = model_committed(*dev, t, panthor());
    EXPECT_GE(model, written);
    EXPECT_LE(model, written + kUnit);
    const HeapStats st = h->stats();
    EXPECT_LE(diff(st.committed_bytes, model), kUnit) << st.committed_bytes << " vs " << model;
    EXPECT_GE(st.committed_bytes, written);
    EXPECT_EQ(st.last_frame_bytes, written);
    EXPECT_EQ(st.frames, 1u);
    EXPECT_EQ(st.peak_committed_bytes, st.committed_bytes);
    if (panthor()) {
      // The tiler grew the heap chunk by chunk; the model agrees.
      EXPECT_EQ(model_tiler_heap(*dev, t.handle)->stats().bytes_written, written);
    }
  }
}

// The initial commitment follows the recent frames: big after big frames,
// small again after many small ones.
TEST_P(HeapModel, InitialCommitmentFollowsRecentFrames) {
  Frames f(*dev);
  auto h = make(config());
  ASSERT_TRUE(h);
  frame(f, *h, 16 * kMiB);
  HeapStats st = h->stats();
  EXPECT_EQ(st.window_peak_bytes, 16 * kMiB);
  EXPECT_EQ(st.recommended_commit_bytes, 20 * kMiB);  // 16 + 25 %, whole units
  ASSERT_TRUE(h->recreate().ok());
  st = h->stats();
  EXPECT_EQ(st.generation, 2u);
  EXPECT_EQ(st.rebuilds, 1u);
  HeapTarget t = h->target();
  if (panthor()) {
    EXPECT_EQ(st.initial_commit_bytes, 20 * kMiB);
    EXPECT_EQ(st.committed_bytes, 20 * kMiB);
    auto mh = model_tiler_heap(*dev, t.handle);
    ASSERT_TRUE(mh);
    EXPECT_EQ(mh->stats().chunk_count, 10u);
    EXPECT_EQ(mh->stats().committed_bytes, 20 * kMiB);
    // A 16 MiB frame (9 chunks) now fits the initial chunks: no growth.
    frame(f, *h, 16 * kMiB);
    EXPECT_EQ(mh->stats().grow_count, 0u);
    EXPECT_EQ(model_committed(*dev, t, true), 20 * kMiB);
  } else {
    EXPECT_EQ(st.initial_commit_bytes, 0u);  // a HEAP BO cannot start committed
    frame(f, *h, 16 * kMiB);
    EXPECT_EQ(model_committed(*dev, t, false), 16 * kMiB);
  }
  EXPECT_EQ(h->stats().committed_bytes, model_committed(*dev, t, panthor()));

  for (int i = 0; i < 16; ++i) frame(f, *h, kMiB / 2);
  st = h->stats();
  EXPECT_EQ(st.window_peak_bytes, kMiB / 2);
  EXPECT_EQ(st.recommended_commit_bytes, 4 * kMiB);  // 0.5 + one unit of headroom, whole units
  EXPECT_EQ(st.frames, 1u + 1u + 16u);
  ASSERT_TRUE(h->recreate().ok());
  t = h->target();
  if (panthor()) {
    EXPECT_EQ(h->stats().initial_commit_bytes, 4 * kMiB);
    EXPECT_EQ(model_tiler_heap(*dev, t.handle)->stats().chunk_count, 2u);
  }
  EXPECT_EQ(h->stats().committed_bytes, model_committed(*dev, t, panthor()));
}

// A heap that grew big, then ran small frames and went idle, is recreated
// at the recommendation and the model's memory for it drops.
TEST_P(HeapModel, IdleOversizedHeapIsRecreatedSmaller) {
  Frames f(*dev);
  auto h = make(config());
  ASSERT_TRUE(h);
  frame(f, *h, 16 * kMiB);
  for (int i = 0; i < 16; ++i) frame(f, *h, kMiB / 2);
  const HeapTarget big = h->target();
  const uint64_t big_model = model_committed(*dev, big, panthor());
  // 16 MiB in 256-byte primitives: 9 chunks of (2 MiB - header), or 8
  // fault blocks of 2 MiB.
  EXPECT_EQ(big_model, panthor() ? 18 * kMiB : 16 * kMiB);
  HeapStats st = h->stats();
  EXPECT_EQ(st.committed_bytes, big_model);
  EXPECT_EQ(st.recommended_commit_bytes, 4 * kMiB);
  const uint64_t device_heap_before =
      panthor() ? 0 : sim::sim_device_usage(*sim_file(*dev).device()).heap_committed;

  // Oversized (18 or 16 > 2 x 4) but used 16 ms ago: kept.
  auto r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(h->stats().recreations, 0u);

  clock.advance(2 * kSecond);
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(*r);
  st = h->stats();
  EXPECT_EQ(st.recreations, 1u);
  EXPECT_EQ(st.generation, 2u);
  EXPECT_EQ(st.committed_bytes, panthor() ? 4 * kMiB : 0u);
  EXPECT_EQ(st.initial_commit_bytes, panthor() ? 4 * kMiB : 0u);
  EXPECT_EQ(st.peak_committed_bytes, big_model);  // history keeps the peak
  const HeapTarget small = h->target();
  EXPECT_EQ(small.generation, 2u);
  EXPECT_FALSE(model_has(*dev, big, panthor())) << "the big heap is gone";
  EXPECT_EQ(model_committed(*dev, small, panthor()), st.committed_bytes);
  if (!panthor()) {
    EXPECT_NE(small.handle, big.handle);
    // The device's heap memory drops by the old BO's 16 MiB once the model
    // lets go of it: its last job drops its BO references just after
    // signalling, as the kernel's job cleanup does (waited for, bounded).
    auto device_heap = [&] { return sim::sim_device_usage(*sim_file(*dev).device()).heap_committed; };
    const int64_t until = deadline_ms(10000);
    while (device_heap() + 16 * kMiB > device_heap_before && deadline_ms(0) < until)
      std::this_thread::yield();
    EXPECT_LE(device_heap() + 16 * kMiB, device_heap_before);
  }

  // Any recorded usage is accepted; the estimate stops at the reservation.
  {
    HeapConfig c = config();
    auto huge = make(c);
    ASSERT_TRUE(huge);
    huge->record_frame(UINT64_MAX);
    EXPECT_EQ(huge->stats().committed_bytes, 128 * kMiB);
    EXPECT_EQ(huge->stats().recommended_commit_bytes, 128 * kMiB);
  }

  // A frame recorded late for the old heap teaches the policy but does not
  // inflate the new heap's estimate.
  h->record_frame(16 * kMiB, big.generation);
  EXPECT_EQ(h->stats().committed_bytes, st.committed_bytes);
  EXPECT_EQ(h->stats().window_peak_bytes, 16 * kMiB);
  for (int i = 0; i < 16; ++i) h->record_frame(1 * kMiB);

  // The new heap works and stays small.
  frame(f, *h, 1 * kMiB);
  st = h->stats();
  EXPECT_EQ(st.committed_bytes, panthor() ? 4 * kMiB : 2 * kMiB);
  EXPECT_EQ(model_committed(*dev, small, panthor()), st.committed_bytes);
  // Not oversized any more. A heap that commits up front (panthor's tiler
  // heap) stays, idle or not; one that commits on demand (panfrost's heap
  // BO) gives its pages back once idle: a new one holds nothing until a
  // frame faults it in.
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r) << "just used";
  clock.advance(10 * kSecond);
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, !panthor());
  st = h->stats();
  EXPECT_EQ(st.recreations, panthor() ? 1u : 2u);
  EXPECT_EQ(st.committed_bytes, panthor() ? 4 * kMiB : 0u);
  EXPECT_EQ(model_committed(*dev, h->target(), panthor()), st.committed_bytes);
  // Holding no more than a new heap would, it is never recreated again.
  clock.advance(10 * kSecond);
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(h->stats().recreations, panthor() ? 1u : 2u);
}

// Oversized and idle by the clock, but: a use that has not signalled, an
// open begin_use(), or shrinking turned off each keep the heap.
TEST_P(HeapModel, PendingUseOpenUseOrShrinkOffKeepTheHeap) {
  // The estimate comes from recorded usage: no GPU work needed here.
  auto h = make(config());
  ASSERT_TRUE(h);
  h->record_frame(24 * kMiB);
  for (int i = 0; i < 16; ++i) h->record_frame(1 * kMiB);
  ASSERT_GT(h->stats().committed_bytes, 2 * h->stats().recommended_commit_bytes);

  auto s = dev->syncobj_create(false);
  ASSERT_TRUE(s.ok());
  h->mark_used({*s, point(1)});  // nothing will signal it until we do
  clock.advance(10 * kSecond);
  auto r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r) << "the last use has not signalled";

  Result<HeapUse> use = h->begin_use();
  ASSERT_TRUE(use.ok());
  ASSERT_TRUE(dev->syncobj_signal(*s, point(1)).ok());
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r) << "a submission is being built on it";
  const HeapTarget held = use->target();
  EXPECT_EQ(held.generation, 1u);
  EXPECT_EQ(h->recreate().error(), -EBUSY);
  use->abandon();

  r = h->maybe_shrink();  // the config's clock
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(h->generation(), 2u);

  HeapConfig off = config();
  off.idle_shrink = false;
  auto h2 = make(off);
  ASSERT_TRUE(h2);
  h2->record_frame(24 * kMiB);
  for (int i = 0; i < 16; ++i) h2->record_frame(1 * kMiB);
  clock.advance(10 * kSecond);
  r = h2->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(h2->stats().generation, 1u);
  (void)dev->syncobj_destroy(*s);
}

// Two queues used the heap: it is busy until both are done, whichever
// finishes first (PendingUses: one entry per syncobj, not only the last).
TEST_P(HeapModel, EveryQueueThatUsedTheHeapKeepsIt) {
  auto h = make(config());
  ASSERT_TRUE(h);
  h->record_frame(24 * kMiB);
  for (int i = 0; i < 16; ++i) h->record_frame(1 * kMiB);
  auto a = dev->syncobj_create(false);
  auto b = dev->syncobj_create(false);
  ASSERT_TRUE(a.ok() && b.ok());
  h->mark_used({*a, point(1)});
  h->mark_used({*b, point(1)});
  ASSERT_TRUE(dev->syncobj_signal(*b, point(1)).ok());  // the later mark finishes first
  clock.advance(10 * kSecond);
  auto r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r) << "queue a's use has not signalled";
  ASSERT_TRUE(dev->syncobj_signal(*a, point(1)).ok());
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  (void)dev->syncobj_destroy(*a);
  (void)dev->syncobj_destroy(*b);
}

// The anchors' panthor policy: 5 initial chunks whatever the history. Idle
// and "oversized" against a small recommendation, it is still not
// recreated at the same 5 chunks (that would free nothing).
TEST_F(HeapModelPanthor, FixedInitialCountIsKeptAndNeverRecreatedAtTheSameSize) {
  HeapConfig c = config();
  c.fixed_initial_chunks = 5;
  auto h = make(c);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->stats().initial_commit_bytes, 10 * kMiB);
  EXPECT_EQ(model_tiler_heap(*dev, h->handle())->stats().chunk_count, 5u);
  for (int i = 0; i < 16; ++i) h->record_frame(kMiB / 2);
  EXPECT_EQ(h->stats().recommended_commit_bytes, 4 * kMiB);
  clock.advance(10 * kSecond);
  auto r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  // Grown beyond the fixed count, it shrinks back to it.
  h->record_frame(30 * kMiB);
  for (int i = 0; i < 16; ++i) h->record_frame(kMiB / 2);
  r = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(h->stats().committed_bytes, 10 * kMiB);
  EXPECT_EQ(model_tiler_heap(*dev, h->handle())->stats().chunk_count, 5u);
}

// The kernel refusing the smaller heap leaves the old one in place and
// working; a failed rebuild leaves no heap until begin_use() manages.
TEST_P(HeapModel, KernelRefusalsKeepTheHeapUsable) {
  Frames f(*dev);  // its buffers exist before any fault is injected
  auto h = make(config());
  ASSERT_TRUE(h);
  h->record_frame(24 * kMiB);
  for (int i = 0; i < 16; ++i) h->record_frame(1 * kMiB);
  clock.advance(10 * kSecond);
  const HeapTarget before = h->target();
  const char* site = panthor() ? "ioctl:TILER_HEAP_CREATE:every=1" : "ioctl:CREATE_BO:every=1";
  ASSERT_TRUE(sim::fault_inject_set(site));
  auto r = h->maybe_shrink(clock.now.load());
  EXPECT_EQ(r.error(), -ENOMEM);
  HeapStats st = h->stats();
  EXPECT_EQ(st.shrink_failures, 1u);
  EXPECT_EQ(st.recreations, 0u);
  EXPECT_TRUE(st.live);
  EXPECT_EQ(h->target().generation, before.generation);
  EXPECT_TRUE(model_has(*dev, before, panthor()));
  sim::fault_inject_clear();
  frame(f, *h, 1 * kMiB);  // the old heap still works
  EXPECT_EQ(h->target().generation, before.generation);

  // recreate() destroys first: refused, the heap has no kernel heap.
  ASSERT_TRUE(sim::fault_inject_set(site));
  EXPECT_EQ(h->recreate().error(), -ENOMEM);
  EXPECT_FALSE(h->stats().live);
  EXPECT_FALSE(model_has(*dev, before, panthor()));
  EXPECT_EQ(h->target().generation, 0u);
  EXPECT_EQ(h->stats().committed_bytes, 0u);
  EXPECT_EQ(h->begin_use().error(), -ENOMEM);
  auto again = h->maybe_shrink(clock.now.load());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  sim::fault_inject_clear();
  // begin_use() (through a frame) creates it again.
  frame(f, *h, 1 * kMiB);
  st = h->stats();
  EXPECT_TRUE(st.live);
  EXPECT_EQ(st.generation, before.generation + 1);
  EXPECT_EQ(st.rebuilds, 2u);  // the failed recreate() and the lazy one
}

// Several contexts rendering at once on one device, and one heap shared by
// a submitting thread and a thread shrinking and reading it: every frame
// stores all its primitives (begin_use keeps the heap it was built for).
TEST_P(HeapModel, ConcurrentContextsAndShrinksAreSafe) {
  constexpr int kContexts = 3;
  constexpr int kFrames = 6;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kContexts; ++c) {
    threads.emplace_back([&, c] {
      Frames f(*dev);
      HeapConfig cfg = config();
      cfg.cold_start_granules = 1;
      auto h = Heap::create(dev, cfg);
      if (!h.ok()) {
        failures++;
        return;
      }
      for (int i = 0; i < kFrames; ++i) {
        const uint64_t bytes = (uint64_t{256} << 10) * static_cast<uint64_t>(1 + (i + c) % 8);
        Result<uint64_t> r = f.run(**h, bytes, static_cast<uint32_t>(c * 100 + i));
        if (!r.ok() || *r != bytes) failures++;
        clock.advance(300'000'000);
        if (!(*h)->maybe_shrink().ok()) failures++;
      }
      HeapStats st = (*h)->stats();
      if (st.frames != kFrames || st.committed_bytes > st.reserved_bytes ||
          st.peak_committed_bytes < st.committed_bytes)
        failures++;
    });
  }

  auto shared = make(config());
  ASSERT_TRUE(shared);
  shared->record_frame(40 * kMiB);  // oversized once the small frames fill the window
  std::atomic<bool> done{false};
  std::thread shrinker([&] {
    while (!done.load()) {
      if (!shared->maybe_shrink(clock.now.load() + 100 * kSecond).ok()) failures++;
      HeapStats st = shared->stats();
      if (st.committed_bytes > st.reserved_bytes) failures++;
      (void)shared->target();
      std::this_thread::yield();
    }
  });
  {
    Frames f(*dev);
    for (int i = 0; i < 20; ++i) {
      Result<uint64_t> r = f.run(*shared, 512 << 10, static_cast<uint32_t>(1000 + i));
      if (!r.ok() || *r != (512u << 10)) failures++;
    }
  }
  // The shared heap is idle now and oversized (the 40 MiB frame left the
  // window): the shrinking thread recreates it; wait for that (bounded).
  const int64_t until = deadline_ms(20000);
  while (shared->stats().recreations == 0 && deadline_ms(0) < until) std::this_thread::yield();
  done = true;
  shrinker.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(shared->stats().recreations, 1u) << "the idle, oversized shared heap shrank";
  EXPECT_EQ(shared->stats().frames, 21u);
}

INSTANTIATE_TEST_SUITE_P(Flavours, HeapModel, ::testing::Values("panthor", "panfrost"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace wsys
