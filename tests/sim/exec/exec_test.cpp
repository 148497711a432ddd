// panfrost jobs through the model: the executor's commands, growable HEAP
// objects committed by real GPU page faults, fatal faults, timeouts,
// implicit sync, WAIT_BO, SUBMIT validation, chaining with a program's own
// SIGSEGV handler, and page_commit fault injection.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "sim_test_util.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/gpu_fault.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/syncobj.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/vm.h"

using namespace wsys::sim;
using wsys::sim::test::open_model_file;

namespace {

constexpr uint64_t k2M = 2ull << 20;

// A command stream under construction.
struct Stream {
  std::vector<uint8_t> bytes;
  static SimCmdHeader& header(SimCmdHeader& h) { return h; }
  template <typename T>
  static SimCmdHeader& header(T& c) { return c.hdr; }
  template <typename T>
  Stream& add(uint32_t op, T cmd) {
    header(cmd).opcode = op;
    header(cmd).size = sizeof(T);
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &cmd, sizeof(T));
    return *this;
  }
  Stream& write32(uint64_t va, uint32_t v) { return add(kCmdWrite32, SimCmdWrite32{{}, va, v, 0}); }
  Stream& write64(uint64_t va, uint64_t v) { return add(kCmdWrite64, SimCmdWrite64{{}, va, v}); }
  Stream& fill(uint64_t va, uint64_t size, uint32_t v) {
    return add(kCmdFill, SimCmdFill{{}, va, size, v, 0});
  }
  Stream& copy(uint64_t dst, uint64_t src, uint64_t size) {
    return add(kCmdCopy, SimCmdCopy{{}, dst, src, size});
  }
  Stream& checksum(uint64_t va, uint64_t size, uint64_t dst) {
    return add(kCmdChecksum, SimCmdChecksum{{}, va, size, dst});
  }
  Stream& sleep_ns(uint64_t ns) { return add(kCmdSleep, SimCmdSleep{{}, ns}); }
  Stream& hang() { return add(kCmdHang, SimCmdHeader{}); }
  Stream& nop() { return add(kCmdNop, SimCmdHeader{}); }
  Stream& end() { return add(kCmdEnd, SimCmdHeader{}); }
};

class Exec : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = open_model_file("panfrost");
    ASSERT_TRUE(f_);
  }
  void TearDown() override { set_job_timeout_ms(2000); }

  int create_bo(wsys::drm::DrmFile& f, uint32_t size, uint32_t flags, uint32_t* h,
                uint64_t* va) {
    drm_panfrost_create_bo c{};
    c.size = size;
    c.flags = flags;
    int r = f.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c);
    if (r == 0) {
      *h = c.handle;
      *va = c.offset;
    }
    return r;
  }
  // A mappable no-exec BO and its CPU mapping.
  uint8_t* bo(SimDrmFile& f, uint32_t size, uint32_t* h, uint64_t* va) {
    EXPECT_EQ(create_bo(f, size, PANFROST_BO_NOEXEC, h, va), 0);
    drm_panfrost_mmap_bo m{};
    m.handle = *h;
    EXPECT_EQ(f.ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m), 0);
    auto p = f.mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
    EXPECT_TRUE(p.ok());
    maps_.push_back({static_cast<uint8_t*>(*p), size, &f});
    return static_cast<uint8_t*>(*p);
  }
  uint32_t syncobj(SimDrmFile& f) {
    drm_syncobj_create c{};
    EXPECT_EQ(f.ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c), 0);
    return c.handle;
  }
  int submit(SimDrmFile& f, uint64_t jc, std::vector<uint32_t> bos, uint32_t out_sync,
             uint32_t req = 0, std::vector<uint32_t> in = {}) {
    drm_panfrost_submit s{};
    s.jc = jc;
    s.bo_handles = reinterpret_cast<uintptr_t>(bos.data());
    s.bo_handle_count = static_cast<uint32_t>(bos.size());
    s.in_syncs = reinterpret_cast<uintptr_t>(in.data());
    s.in_sync_count = static_cast<uint32_t>(in.size());
    s.out_sync = out_sync;
    s.requirements = req;
    return f.ioctl(DRM_IOCTL_PANFROST_SUBMIT, &s);
  }
  FencePtr fence_of(SimDrmFile& f, uint32_t syncobj) {
    SyncobjPtr s = f.file().lookup_syncobj(syncobj);
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    return s ? s->find_locked(0) : nullptr;
  }
  // Waits for the job fence in `syncobj` and returns its status.
  int job_status(SimDrmFile& f, uint32_t syncobj) {
    FencePtr fence = fence_of(f, syncobj);
    EXPECT_TRUE(fence);
    if (!fence) return 1;
    EXPECT_TRUE(fence->wait(monotonic_ns() + 30'000'000'000));
    return fence->status();
  }
  // Runs `s` from a fresh stream BO with `bos` listed; returns the status.
  int run(SimDrmFile& f, const Stream& s, std::vector<uint32_t> bos = {}, uint32_t req = 0) {
    uint32_t h = 0;
    uint64_t va = 0;
    uint8_t* p = bo(f, static_cast<uint32_t>(page_align(s.bytes.size())), &h, &va);
    std::memcpy(p, s.bytes.data(), s.bytes.size());
    bos.push_back(h);
    uint32_t out = syncobj(f);
    EXPECT_EQ(submit(f, va, bos, out, req), 0);
    return job_status(f, out);
  }

  void TearDownMaps() {}
  ~Exec() override {
    for (auto& m : maps_) m.file->munmap(m.p, m.size);
  }

  struct Map {
    uint8_t* p;
    size_t size;
    SimDrmFile* file;
  };
  std::vector<Map> maps_;
  std::unique_ptr<SimDrmFile> f_;
  std::unique_ptr<SimDrmFile> other_;  // a second file (outlives maps_ cleanup)
};

uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t rd64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

TEST_F(Exec, CommandsHaveTheirEffect) {
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* d = bo(*f_, 1 << 16, &h, &va);
  for (int i = 0; i < 256; i++) d[0x1000 + i] = static_cast<uint8_t>(i * 7 + 1);
  Stream s;
  s.nop()
      .write32(va + 0, 0xdeadbeef)
      .write64(va + 8, 0x0123456789abcdefull)
      .fill(va + 0x100, 64, 0x11223344)
      .copy(va + 0x2000, va + 0x1000, 256)
      .checksum(va + 0x1000, 256, va + 0x3000)
      .add(kCmdScratch, SimCmdScratch{{}, va + 0x4000, 4, 32, 100, 0})
      .add(kCmdTiler, SimCmdTiler{{}, va + 0x5000, 100, va + 0x6000, 10, 16, 7, 0})
      .sleep_ns(1000)
      .end()
      .write32(va + 0x10, 1);  // after END: never runs
  ASSERT_EQ(run(*f_, s, {h}), 0);
  EXPECT_EQ(rd32(d), 0xdeadbeefu);
  EXPECT_EQ(rd64(d + 8), 0x0123456789abcdefull);
  for (int i = 0; i < 16; i++) EXPECT_EQ(rd32(d + 0x100 + 4 * i), 0x11223344u);
  EXPECT_EQ(rd32(d + 0x140), 0u) << "fill stops at its size";
  EXPECT_EQ(std::memcmp(d + 0x2000, d + 0x1000, 256), 0);
  EXPECT_EQ(rd64(d + 0x3000), fnv1a64(d + 0x1000, 256));
  for (uint32_t t = 0; t < 4; t++)
    for (int w = 0; w < 8; w++) EXPECT_EQ(rd32(d + 0x4000 + 32 * t + 4 * w), 100 + t);
  // 100 bytes of heap hold 6 primitives of 16 bytes.
  EXPECT_EQ(rd32(d + 0x6000), 6u);
  for (uint32_t p = 0; p < 6; p++)
    for (uint32_t i = 0; i < 16; i++)
      EXPECT_EQ(d[0x5000 + 16 * p + i], tiler_pattern_byte(7, p, i));
  EXPECT_EQ(d[0x5000 + 96], 0);
  EXPECT_EQ(rd32(d + 0x10), 0u);
}

TEST_F(Exec, ChecksumIsFnv1a64) {
  // Known FNV-1a 64 values.
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ull);
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* d = bo(*f_, 4096, &h, &va);
  std::memcpy(d, "foobar", 6);
  ASSERT_EQ(run(*f_, Stream().checksum(va, 6, va + 64).end(), {h}), 0);
  EXPECT_EQ(rd64(d + 64), 0x85944171f73967e8ull);
}

TEST_F(Exec, MalformedStreamsFailWithEinval) {
  uint32_t h = 0;
  uint64_t va = 0;
  bo(*f_, 4096, &h, &va);
  EXPECT_EQ(run(*f_, Stream().add(99, SimCmdHeader{}).end(), {h}), -EINVAL);
  Stream short_cmd;
  short_cmd.add(kCmdWrite64, SimCmdHeader{});  // size 8: too small
  EXPECT_EQ(run(*f_, short_cmd.end(), {h}), -EINVAL);
  Stream odd;
  odd.add(kCmdNop, SimCmdWrite32{{}, 0, 0, 0});
  odd.bytes[4] = 12;  // not a multiple of 8
  EXPECT_EQ(run(*f_, odd.end(), {h}), -EINVAL);
}

bool readable(const void* p) {
  uint8_t b;
  return copy_from_user(&b, reinterpret_cast<uintptr_t>(p), 1) == 0;
}

TEST_F(Exec, HeapGrowsByTouchedBlocksOnly) {
  uint32_t hh = 0;
  uint64_t hva = 0;
  ASSERT_EQ(create_bo(*f_, 32 << 20, PANFROST_BO_NOEXEC | PANFROST_BO_HEAP, &hh, &hva), 0);
  SimBoPtr heap = f_->file().lookup_bo(hh);
  ASSERT_TRUE(heap);
  EXPECT_EQ(heap->heap_committed.load(), 0u) << "no pages at creation";
  EXPECT_EQ(hva % k2M, 0u);
  const uint64_t blocks[] = {0, 5, 15};
  Stream s;
  for (uint64_t b : blocks) s.write32(hva + b * k2M + 12345 * 4, static_cast<uint32_t>(b + 1));
  s.write32(hva + 5 * k2M + 8, 77);  // same block again
  ASSERT_EQ(run(*f_, s.end(), {hh}), 0);
  EXPECT_EQ(heap->heap_committed.load(), 3 * k2M);
  SimVmPtr vm = f_->file().panfrost_vm();
  for (uint64_t b = 0; b < 16; b++) {
    bool touched = b == 0 || b == 5 || b == 15;
    const uint8_t* p = vm->gpu_view(hva + b * k2M);
    EXPECT_EQ(readable(p), touched) << "block " << b;
    EXPECT_EQ(readable(p + k2M - 1), touched) << "block " << b;
    if (touched) {
      EXPECT_EQ(rd32(p + 12345 * 4), b + 1);
    }
  }
  EXPECT_EQ(rd32(vm->gpu_view(hva + 5 * k2M + 8)), 77u);
  // A second job touching a committed block commits nothing more; a read
  // of a new block commits it too (a GPU read faults as well).
  ASSERT_EQ(run(*f_, Stream().copy(hva + 64, hva + 7 * k2M, 16).end(), {hh}), 0);
  EXPECT_EQ(heap->heap_committed.load(), 4 * k2M);
}

TEST_F(Exec, ConcurrentFaultsOnOneHeapCommitEachBlockOnce) {
  uint32_t hh = 0;
  uint64_t hva = 0;
  constexpr uint64_t kBlocks = 16;
  ASSERT_EQ(create_bo(*f_, kBlocks * k2M, PANFROST_BO_NOEXEC | PANFROST_BO_HEAP, &hh, &hva), 0);
  // Two jobs on the two slots, neither listing the heap (no implicit sync),
  // so they may fault on the same blocks at the same time.
  Stream a, b;
  for (uint64_t i = 0; i < kBlocks; i++) {
    a.write32(hva + i * k2M + 16, static_cast<uint32_t>(i));
    b.write32(hva + (kBlocks - 1 - i) * k2M + 32, static_cast<uint32_t>(100 + i));
  }
  a.end();
  b.end();
  uint32_t ha = 0, hb = 0;
  uint64_t va_a = 0, va_b = 0;
  std::memcpy(bo(*f_, 4096, &ha, &va_a), a.bytes.data(), a.bytes.size());
  std::memcpy(bo(*f_, 4096, &hb, &va_b), b.bytes.data(), b.bytes.size());
  uint32_t oa = syncobj(*f_), ob = syncobj(*f_);
  ASSERT_EQ(submit(*f_, va_a, {ha}, oa, 0), 0);
  ASSERT_EQ(submit(*f_, va_b, {hb}, ob, PANFROST_JD_REQ_FS), 0);
  EXPECT_EQ(job_status(*f_, oa), 0);
  EXPECT_EQ(job_status(*f_, ob), 0);
  EXPECT_EQ(f_->file().lookup_bo(hh)->heap_committed.load(), kBlocks * k2M);
  SimVmPtr vm = f_->file().panfrost_vm();
  for (uint64_t i = 0; i < kBlocks; i++) {
    EXPECT_EQ(rd32(vm->gpu_view(hva + i * k2M + 16)), i);
    EXPECT_EQ(rd32(vm->gpu_view(hva + (kBlocks - 1 - i) * k2M + 32)), 100 + i);
  }
}

struct TestHooks : ExecHooks {
  int fragments = 0;
  bool expire = false;
  int fragment(SimVm&, const SimCmdFragment& c) override {
    fragments++;
    return c.heap_va == 1 ? -ENOSPC : 0;
  }
  bool timed_out() override { return expire; }
};

TEST_F(Exec, ExecuteStreamApiForOtherQueues) {
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* d = bo(*f_, 4096, &h, &va);
  SimVmPtr vm = f_->file().panfrost_vm();
  Stream s;
  s.write32(va + 2048, 7).add(kCmdFragment, SimCmdFragment{{}, 0, 0});
  std::memcpy(d, s.bytes.data(), s.bytes.size());
  TestHooks hooks;
  // A sized stream needs no END; hooks see FRAGMENT.
  EXPECT_EQ(execute_stream(*vm, va, s.bytes.size(), &hooks), 0);
  EXPECT_EQ(rd32(d + 2048), 7u);
  EXPECT_EQ(hooks.fragments, 1);
  // A hook's error ends the stream with it.
  Stream e;
  e.add(kCmdFragment, SimCmdFragment{{}, 1, 0}).write32(va + 2052, 1);
  std::memcpy(d, e.bytes.data(), e.bytes.size());
  EXPECT_EQ(execute_stream(*vm, va, e.bytes.size(), &hooks), -ENOSPC);
  EXPECT_EQ(rd32(d + 2052), 0u);
  // Without hooks FRAGMENT is not a panfrost command.
  EXPECT_EQ(execute_stream(*vm, va, e.bytes.size(), nullptr), -EINVAL);
  // timed_out() ends a HANG; the cancel flag too.
  Stream hang;
  hang.hang();
  std::memcpy(d, hang.bytes.data(), hang.bytes.size());
  hooks.expire = true;
  EXPECT_EQ(execute_stream(*vm, va, hang.bytes.size(), &hooks), -ETIMEDOUT);
  std::atomic<bool> cancel{true};
  ExecOptions o;
  o.cancel = &cancel;
  EXPECT_EQ(execute_stream(*vm, va, hang.bytes.size(), nullptr, o), -ECANCELED);
  // A fault reports its GPU VA; misaligned streams are -EINVAL.
  Stream bad;
  bad.write32(0x1234560, 1);
  std::memcpy(d, bad.bytes.data(), bad.bytes.size());
  uint64_t fva = 0;
  EXPECT_EQ(execute_stream(*vm, va, bad.bytes.size(), nullptr, ExecOptions{}, &fva), -EFAULT);
  EXPECT_EQ(fva, 0x1234560u);
  EXPECT_EQ(execute_stream(*vm, va + 4, 8, nullptr), -EINVAL);
  // A stream that runs past its size is -EINVAL.
  EXPECT_EQ(execute_stream(*vm, va, 8, nullptr), -EINVAL);
}

TEST_F(Exec, HeapObjectRules) {
  uint32_t h = 0;
  uint64_t va = 0;
  EXPECT_EQ(create_bo(*f_, 4096, PANFROST_BO_HEAP, &h, &va), -EINVAL) << "HEAP needs NOEXEC";
  ASSERT_EQ(create_bo(*f_, 3 << 20, PANFROST_BO_NOEXEC | PANFROST_BO_HEAP, &h, &va), 0);
  EXPECT_EQ(f_->file().lookup_bo(h)->size(), 4ull << 20) << "rounded up to 2 MiB";
  drm_panfrost_mmap_bo m{};
  m.handle = h;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m), -EINVAL);
  auto fd = f_->prime_handle_to_fd(h, DRM_CLOEXEC);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error(), -EINVAL);
  // Its window stays inaccessible until the GPU touches it.
  EXPECT_FALSE(readable(f_->file().panfrost_vm()->gpu_view(va)));
  // Closing the handle forgets the heap: a later job faults there.
  drm_gem_close c{};
  c.handle = h;
  ASSERT_EQ(f_->ioctl(DRM_IOCTL_GEM_CLOSE, &c), 0);
  EXPECT_EQ(run(*f_, Stream().write32(va + (3 << 20) + 0x800, 1).end()), -EFAULT);
}

TEST_F(Exec, FaultFailsTheJobOthersKeepRunning) {
  other_ = open_model_file("panfrost");
  ASSERT_TRUE(other_);
  SimDrmFile* other = other_.get();
  uint32_t ho = 0;
  uint64_t vo = 0;
  uint8_t* d = bo(*other, 4096, &ho, &vo);
  Stream slow;
  slow.sleep_ns(20'000'000).write32(vo, 42).end();
  uint32_t hs = 0;
  uint64_t vs = 0;
  uint8_t* sp = bo(*other, 4096, &hs, &vs);
  std::memcpy(sp, slow.bytes.data(), slow.bytes.size());
  uint32_t out_other = syncobj(*other);
  ASSERT_EQ(submit(*other, vs, {ho, hs}, out_other), 0);

  const uint64_t before = gpu_fault_counters().job_faults;
  // 16 MiB is below the panfrost VA range: nothing is ever mapped there.
  EXPECT_EQ(run(*f_, Stream().write32(16 << 20, 1).end()), -EFAULT);
  EXPECT_GT(gpu_fault_counters().job_faults, before);
  // A stream in unmapped memory faults too.
  uint32_t out = syncobj(*f_);
  ASSERT_EQ(submit(*f_, 20 << 20, {}, out), 0);
  EXPECT_EQ(job_status(*f_, out), -EFAULT);
  // A fault at the end of the window (the access would leave the VM).
  EXPECT_EQ(run(*f_, Stream().write64((4ull << 30) - 4, 1).end()), -EFAULT);

  EXPECT_EQ(job_status(*other, out_other), 0);
  EXPECT_EQ(rd32(d), 42u);
  // The faulting file still runs jobs.
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* e = bo(*f_, 4096, &h, &va);
  EXPECT_EQ(run(*f_, Stream().write32(va, 5).end(), {h}), 0);
  EXPECT_EQ(rd32(e), 5u);
}

TEST_F(Exec, HangTimesOut) {
  set_job_timeout_ms(50);
  EXPECT_EQ(run(*f_, Stream().hang().end()), -ETIMEDOUT);
  EXPECT_EQ(run(*f_, Stream().sleep_ns(60'000'000'000ull).end()), -ETIMEDOUT);
}

TEST_F(Exec, ImplicitSyncOrdersJobsSharingABo) {
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* d = bo(*f_, 4096, &h, &va);
  // Job 1 (vertex slot) writes late; job 2 (fragment slot, another worker)
  // copies the value. Implicit sync on the shared BO orders them.
  Stream s1, s2;
  s1.sleep_ns(30'000'000).write32(va, 1234).end();
  s2.copy(va + 64, va, 4).end();
  uint32_t h1 = 0, h2 = 0;
  uint64_t v1 = 0, v2 = 0;
  std::memcpy(bo(*f_, 4096, &h1, &v1), s1.bytes.data(), s1.bytes.size());
  std::memcpy(bo(*f_, 4096, &h2, &v2), s2.bytes.data(), s2.bytes.size());
  uint32_t o1 = syncobj(*f_), o2 = syncobj(*f_);
  ASSERT_EQ(submit(*f_, v1, {h, h1}, o1, 0), 0);
  ASSERT_EQ(submit(*f_, v2, {h, h2}, o2, PANFROST_JD_REQ_FS), 0);
  EXPECT_EQ(job_status(*f_, o2), 0);
  EXPECT_TRUE(fence_of(*f_, o1)->is_signalled()) << "job 2 finished before job 1";
  EXPECT_EQ(rd32(d + 64), 1234u);
}

// panfrost jobs hold references to the mappings of the BOs they list:
// closing a handle while a job uses the BO keeps it mapped until the job is
// done, then the mapping goes (and its VA with it).
TEST_F(Exec, HandleClosedDuringAJobStaysMappedUntilTheJobIsDone) {
  uint32_t h = 0, hs = 0;
  uint64_t va = 0, vs = 0;
  uint8_t* d = bo(*f_, 4096, &h, &va);
  Stream s;
  s.sleep_ns(100'000'000).write32(va, 4321).end();
  std::memcpy(bo(*f_, 4096, &hs, &vs), s.bytes.data(), s.bytes.size());
  auto vm = f_->file().panfrost_vm();
  ASSERT_TRUE(vm);
  const size_t before = vm->mapping_count();
  uint32_t out = syncobj(*f_);
  ASSERT_EQ(submit(*f_, vs, {h, hs}, out, 0), 0);
  drm_gem_close c{};
  c.handle = h;
  ASSERT_EQ(f_->ioctl(DRM_IOCTL_GEM_CLOSE, &c), 0);
  c.handle = hs;
  ASSERT_EQ(f_->ioctl(DRM_IOCTL_GEM_CLOSE, &c), 0);
  EXPECT_EQ(vm->mapping_count(), before) << "unmapped under a running job";
  EXPECT_EQ(job_status(*f_, out), 0) << "the job faulted";
  EXPECT_EQ(rd32(d), 4321u);
  for (int i = 0; i < 2000 && vm->mapping_count() != before - 2; ++i) usleep(1000);
  EXPECT_EQ(vm->mapping_count(), before - 2) << "the mappings outlived the job";
}

// Jobs of one slot submitted concurrently from two threads on a shared BO:
// each job's implicit dependency is queued before it, so the slot never
// waits on a job behind it (a job queued after publishing its fence used to
// be able to land behind a job that depends on it: a deadlock).
TEST_F(Exec, ConcurrentSubmitsSharingABoNeverDeadlock) {
  uint32_t h = 0;
  uint64_t va = 0;
  bo(*f_, 4096, &h, &va);
  Stream s;
  s.write32(va, 1).end();
  uint32_t hs = 0;
  uint64_t vs = 0;
  std::memcpy(bo(*f_, 4096, &hs, &vs), s.bytes.data(), s.bytes.size());
  constexpr int kRounds = 200;
  std::vector<uint32_t> outs[2];
  for (auto& o : outs)
    for (int i = 0; i < kRounds; ++i) o.push_back(syncobj(*f_));
  std::atomic<int> errors{0};
  std::thread t[2];
  for (int k = 0; k < 2; ++k) {
    t[k] = std::thread([&, k] {
      for (int i = 0; i < kRounds; ++i)
        if (submit(*f_, vs, {h, hs}, outs[k][i], 0) != 0) errors++;
    });
  }
  for (auto& th : t) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (auto& o : outs) {
    FencePtr last = fence_of(*f_, o.back());
    ASSERT_TRUE(last);
    EXPECT_TRUE(last->wait(monotonic_ns() + 20'000'000'000)) << "a job slot deadlocked";
  }
}

TEST_F(Exec, WaitBo) {
  uint32_t h = 0;
  uint64_t va = 0;
  bo(*f_, 4096, &h, &va);
  drm_panfrost_wait_bo w{};
  w.handle = h;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), 0) << "idle BO, poll";
  w.pad = 1;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), -EINVAL);
  w.pad = 0;
  w.handle = 999;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), -ENOENT);
  w.handle = h;

  // A job gated on a fence the test controls keeps the BO busy.
  uint32_t gate = syncobj(*f_);
  auto gate_fence = std::make_shared<Fence>();
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    f_->file().lookup_syncobj(gate)->replace_locked(gate_fence);
  }
  uint32_t hs = 0;
  uint64_t vs = 0;
  Stream s;
  s.write32(va, 9).end();
  std::memcpy(bo(*f_, 4096, &hs, &vs), s.bytes.data(), s.bytes.size());
  uint32_t out = syncobj(*f_);
  ASSERT_EQ(submit(*f_, vs, {h, hs}, out, 0, {gate}), 0);
  EXPECT_EQ(f_->file().lookup_bo(h)->gpu_busy.load(), 1);
  w.timeout_ns = 0;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), -EBUSY);
  w.timeout_ns = monotonic_ns() - 1000;  // already past: a poll too
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), -EBUSY);
  w.timeout_ns = monotonic_ns() + 20'000'000;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), -ETIMEDOUT);
  gate_fence->signal(0);
  w.timeout_ns = monotonic_ns() + 30'000'000'000;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), 0);
  EXPECT_EQ(f_->file().lookup_bo(h)->gpu_busy.load(), 0);
  EXPECT_TRUE(fence_of(*f_, out)->is_signalled());
  EXPECT_EQ(fence_of(*f_, out)->status(), 0);
}

TEST_F(Exec, SubmitValidation) {
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* p = bo(*f_, 4096, &h, &va);
  Stream s;
  s.end();
  std::memcpy(p, s.bytes.data(), s.bytes.size());
  uint32_t ok_sync = syncobj(*f_);
  {
    drm_syncobj_create c{};
    c.flags = DRM_SYNCOBJ_CREATE_SIGNALED;
    ASSERT_EQ(f_->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c), 0);
    ok_sync = c.handle;
  }
  uint32_t empty_sync = syncobj(*f_);  // no fence
  uint32_t bad = 12345;
  struct Case {
    const char* what;
    drm_panfrost_submit s;
    int ret;
  };
  auto base = [&] {
    drm_panfrost_submit b{};
    b.jc = va;
    return b;
  };
  std::vector<Case> cases;
  cases.push_back({"ok", base(), 0});
  {
    auto b = base();
    b.jc = 0;
    cases.push_back({"jc 0", b, -EINVAL});
  }
  {
    auto b = base();
    b.requirements = 4;
    cases.push_back({"unknown requirement", b, -EINVAL});
  }
  {
    auto b = base();
    b.requirements = PANFROST_JD_REQ_FS | PANFROST_JD_REQ_CYCLE_COUNT;
    cases.push_back({"FS|CYCLE_COUNT", b, 0});
  }
  {
    auto b = base();
    b.jm_ctx_handle = 1;
    cases.push_back({"jm_ctx_handle", b, -EINVAL});
  }
  {
    auto b = base();
    b.pad = 1;
    cases.push_back({"pad", b, -EINVAL});
  }
  {
    auto b = base();
    b.out_sync = bad;
    cases.push_back({"bad out_sync", b, -ENODEV});
  }
  {
    auto b = base();
    b.in_syncs = reinterpret_cast<uintptr_t>(&bad);
    b.in_sync_count = 1;
    cases.push_back({"bad in_sync", b, -ENOENT});
  }
  {
    auto b = base();
    b.in_syncs = reinterpret_cast<uintptr_t>(&empty_sync);
    b.in_sync_count = 1;
    cases.push_back({"in_sync without fence", b, -EINVAL});
  }
  {
    auto b = base();
    b.in_syncs = reinterpret_cast<uintptr_t>(&ok_sync);
    b.in_sync_count = 1;
    cases.push_back({"signalled in_sync", b, 0});
  }
  {
    auto b = base();
    b.in_syncs = 8;
    b.in_sync_count = 1;
    cases.push_back({"in_syncs pointer", b, -EFAULT});
  }
  {
    auto b = base();
    b.bo_handles = reinterpret_cast<uintptr_t>(&bad);
    b.bo_handle_count = 1;
    cases.push_back({"bad BO", b, -ENOENT});
  }
  {
    auto b = base();
    b.bo_handles = 8;
    b.bo_handle_count = 1;
    cases.push_back({"bo_handles pointer", b, -EFAULT});
  }
  for (Case& c : cases) EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &c.s), c.ret) << c.what;
  // The 40-byte layout of userspace built before JM contexts.
  auto b = base();
  b.out_sync = ok_sync;
  EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_SUBMIT_V1, &b), 0);
  EXPECT_EQ(job_status(*f_, ok_sync), 0);
}

// Array counts the user lied about: the kernel allocates the handle arrays
// with kvmalloc_array (-ENOMEM above INT_MAX bytes: the in-sync array holds
// u32s, drm_gem_objects_lookup's an object pointer per BO) before it reads
// the user's pointer, then copy_from_user fails with -EFAULT. Found by the
// fuzzer: the model allocated and zeroed count elements first (16 GiB for
// a count of 2^32 - 1), which crashed or ran out of memory. Found again by
// a long run: under the limit, the model still allocated up to 1 GiB for a
// short buffer before the copy failed (seconds per call under ASan); it now
// checks both ends of the user's range first (user_range_ends_readable),
// with the kernel's answer, -EFAULT.
// Copies `n` bytes to the end of a readable page followed by a PROT_NONE
// one, so a copy of more than `n` bytes from the result faults there.
const void* guard_tail(const void* src, size_t n) {
  static uint8_t* base = [] {
    void* m = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return static_cast<uint8_t*>(nullptr);
    mprotect(static_cast<uint8_t*>(m) + 4096, 4096, PROT_NONE);
    return static_cast<uint8_t*>(m);
  }();
  if (!base) return nullptr;
  std::memcpy(base + 4096 - n, src, n);
  return base + 4096 - n;
}

TEST_F(Exec, SubmitWithHugeArrayCounts) {
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* p = bo(*f_, 4096, &h, &va);
  Stream s;
  s.end();
  std::memcpy(p, s.bytes.data(), s.bytes.size());
  uint32_t one[1] = {h};
  struct Case {
    const char* what;
    uint32_t in_count, bo_count;
    int ret;
  };
  const Case cases[] = {
      {"in_syncs above INT_MAX bytes", 0x80000000u, 0, -ENOMEM},
      {"in_syncs of 2^32 - 1", 0xffffffffu, 0, -ENOMEM},
      {"in_syncs just under the limit, short buffer", (INT_MAX / 4) - 1, 0, -EFAULT},
      {"bo_handles of 2^32 - 1", 0, 0xffffffffu, -ENOMEM},
      {"bo_handles: pointers above INT_MAX bytes", 0, 1u << 28, -ENOMEM},
      {"bo_handles under the limit, short buffer", 0, (1u << 28) - 1, -EFAULT},
      {"both under the limit, short buffers", 1000, 1000, -EFAULT},
      {"both of one element", 1, 1, -ENOENT},  // the checks pass: handle 0 is no syncobj
  };
  for (const Case& c : cases) {
    drm_panfrost_submit a{};
    a.jc = va;
    // Valid, but far shorter than the counts claim: the copy runs into
    // unmapped memory (or is refused before it starts).
    a.in_syncs = reinterpret_cast<uintptr_t>(guard_tail(one, sizeof one));
    a.in_sync_count = c.in_count;
    a.bo_handles = reinterpret_cast<uintptr_t>(guard_tail(one, sizeof one));
    a.bo_handle_count = c.bo_count;
    EXPECT_EQ(f_->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &a), c.ret) << c.what;
  }
  // The file still works.
  uint32_t out = syncobj(*f_);
  ASSERT_EQ(submit(*f_, va, {h}, out), 0);
  EXPECT_EQ(job_status(*f_, out), 0);
}

TEST_F(Exec, CloseCancelsQueuedJobs) {
  uint32_t gate = syncobj(*f_);
  auto gate_fence = std::make_shared<Fence>();
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    f_->file().lookup_syncobj(gate)->replace_locked(gate_fence);
  }
  uint32_t h = 0;
  uint64_t va = 0;
  uint8_t* p = bo(*f_, 4096, &h, &va);
  Stream s;
  s.end();
  std::memcpy(p, s.bytes.data(), s.bytes.size());
  uint32_t o1 = syncobj(*f_), o2 = syncobj(*f_);
  ASSERT_EQ(submit(*f_, va, {h}, o1, 0, {gate}), 0);
  ASSERT_EQ(submit(*f_, va, {h}, o2, 0), 0);
  FencePtr f1 = fence_of(*f_, o1), f2 = fence_of(*f_, o2);
  SimBoPtr obj = f_->file().lookup_bo(h);
  for (auto& m : maps_) m.file->munmap(m.p, m.size);
  maps_.clear();
  f_.reset();  // file close
  EXPECT_TRUE(f1->is_signalled());
  EXPECT_TRUE(f2->is_signalled());
  EXPECT_EQ(f1->status(), -ECANCELED);
  EXPECT_EQ(f2->status(), -ECANCELED);
  EXPECT_EQ(obj->gpu_busy.load(), 0);
  gate_fence->signal(0);
}

TEST_F(Exec, PageCommitInjectionFailsTheJob) {
  uint32_t hh = 0;
  uint64_t hva = 0;
  ASSERT_EQ(create_bo(*f_, 8 << 20, PANFROST_BO_NOEXEC | PANFROST_BO_HEAP, &hh, &hva), 0);
  // The injector allocates its per-site failure counter on the first
  // failure of a site: make that happen outside a signalling section.
  ASSERT_TRUE(fault_inject_set("page_commit:nth=1"));
  EXPECT_NE(fault_inject_check("page_commit"), 0);
  ASSERT_TRUE(fault_inject_set("page_commit:nth=1"));
  const uint64_t failures = fault_inject_failures("page_commit");
  EXPECT_EQ(run(*f_, Stream().write32(hva + 4, 1).end(), {hh}), -EFAULT);
  EXPECT_EQ(fault_inject_failures("page_commit"), failures + 1);
  fault_inject_clear();
  SimBoPtr heap = f_->file().lookup_bo(hh);
  EXPECT_EQ(heap->heap_committed.load(), 0u);
  EXPECT_FALSE(readable(f_->file().panfrost_vm()->gpu_view(hva)));
  // Without the rule the same job grows the heap.
  EXPECT_EQ(run(*f_, Stream().write32(hva + 4, 1).end(), {hh}), 0);
  EXPECT_EQ(heap->heap_committed.load(), k2M);
}

// A program with its own SIGSEGV handler, installed before the model: its
// own faults still reach it, GPU faults are the model's. Runs in a fresh
// process (threadsafe death-test style re-executes this test alone), so the
// program's handler really is the first one.
volatile uint8_t* g_guard = nullptr;
volatile int g_own_faults = 0;

void own_handler(int, siginfo_t* si, void*) {
  if (si->si_addr == g_guard) {
    g_own_faults = g_own_faults + 1;
    mprotect(const_cast<uint8_t*>(g_guard), 4096, PROT_READ | PROT_WRITE);
    return;
  }
  _exit(3);
}

void program_with_own_handler() {
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) _exit(4);
  g_guard = static_cast<uint8_t*>(page);
  struct sigaction sa {};
  sa.sa_sigaction = own_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, nullptr)) _exit(5);

  auto f = SimDrmFile::open("panfrost");
  if (!f.ok()) _exit(6);
  SimDrmFile& file = **f;
  // A GPU fault (fails the job, not the program) ...
  drm_panfrost_create_bo c{};
  c.size = 4096;
  c.flags = PANFROST_BO_NOEXEC;
  if (file.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c)) _exit(7);
  SimVmPtr vm = file.file().panfrost_vm();
  Stream s;
  s.write32(16 << 20, 1).end();
  std::memcpy(vm->gpu_view(c.offset), s.bytes.data(), s.bytes.size());
  drm_syncobj_create sc{};
  if (file.ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc)) _exit(8);
  drm_panfrost_submit sub{};
  sub.jc = c.offset;
  sub.out_sync = sc.handle;
  if (file.ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub)) _exit(9);
  FencePtr fence;
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    fence = file.file().lookup_syncobj(sc.handle)->find_locked(0);
  }
  if (!fence || !fence->wait(monotonic_ns() + 30'000'000'000) || fence->status() != -EFAULT)
    _exit(10);
  if (g_own_faults != 0) _exit(11);
  // ... and the program's own fault reaches its handler.
  g_guard[0] = 1;
  if (g_own_faults != 1 || g_guard[0] != 1) _exit(12);
  _exit(0);
}

TEST(ExecSignals, OwnHandlerInstalledFirstKeepsWorking) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(program_with_own_handler(), ::testing::ExitedWithCode(0), "");
}

// A crash outside any GPU access still crashes (the default action is
// restored and the fault re-raised), after the model's handler is in place.
TEST(ExecSignals, RealCrashStillCrashes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        gpu_fault_install();
        static volatile uintptr_t zero = 0;
        *reinterpret_cast<volatile int*>(zero) = 1;
      },
      "");
}

}  // namespace
