// wsys::SparseBuffer on the kernel model (panthor; panfrost only refuses):
// binds, rebinds and unbinds read back by GPU jobs (the model's COPY from
// the sparse VA into a normal buffer, so the GPU path is what is proved),
// unbound pages on the zeroed read-only dummy or the writable sink, async
// binds ordered against jobs with wait/signal points, coalescing,
// validation, references that
// keep bound buffers alive, deferred destruction, a second Vm, partial
// failures and concurrency. The test main checks that no fence signalling
// section allocated or waited.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "model_jobs.h"
#include "winsys/core/sparse_blocks.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/vm.h"
#include "wsys/device.hpp"
#include "wsys/sparse.hpp"
#include "wsys/vm.hpp"

namespace wsys {
namespace {

using test::deadline_ms;
constexpr uint64_t kPage = kSparseBlockBytes;

std::shared_ptr<Device> open_dev(const std::string& driver) {
  DeviceOptions o;
  o.cache_from_env = false;
  std::string why;
  auto d = Device::open("sim:" + driver, o, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

std::shared_ptr<sim::SimVm> model_vm(Device& d, Vm& vm) {
  auto& f = dynamic_cast<sim::SimDrmFile&>(KernelAccess::device(d).file());
  return f.file().lookup_vm(vm.kernel_id());
}

// Word i of the buffer holds tag * 0x10000 + i, so every word says which
// buffer and which offset it came from.
uint32_t word(uint32_t tag, uint64_t byte_offset) {
  return tag * 0x10000u + static_cast<uint32_t>(byte_offset / 4);
}

BoRef tagged_bo(Device& d, uint64_t size, uint32_t tag) {
  auto b = d.bo_alloc(size, 0);
  EXPECT_TRUE(b.ok());
  if (!b.ok()) return {};
  auto m = (*b)->map();
  EXPECT_TRUE(m.ok());
  auto* w = static_cast<uint32_t*>(*m);
  for (uint64_t i = 0; i < (*b)->size() / 4; ++i) w[i] = word(tag, i * 4);
  return *b;
}

uint32_t cpu_word(Bo& b, uint64_t byte_offset) {
  uint32_t v;
  std::memcpy(&v, static_cast<uint8_t*>(b.cpu()) + byte_offset, 4);
  return v;
}

class SparseModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dev = open_dev("panthor");
    ASSERT_TRUE(dev);
    jobs = std::make_unique<test::Jobs>(*dev);
    ASSERT_NE(jobs->group(), 0u);
    auto s = dev->syncobj_create(false);
    ASSERT_TRUE(s.ok());
    tl = *s;
  }
  // Zero-read-only buffers map the dummy BO (before panthor 1.9), not the
  // kernel's MAP_SPARSE: the tests of the dummy itself run there
  // (core_sparse_panthor_1_8) and skip on 1.9.
  bool dummy_path() const { return !SparseBuffer::uses_map_sparse(dev->info()); }
  void TearDown() override {
    if (tl) {
      // Every job done before the timeline goes.
      (void)wait_point(next);
      (void)dev->syncobj_destroy(tl);
    }
    jobs.reset();
  }

  bool wait_point(uint64_t p, int64_t ms = 10000) {
    if (p == 0) return true;
    return dev->syncobj_wait(SyncPoint{tl, p}, deadline_ms(ms)).ok();
  }

  // Submits `s` on the group, waiting for `waits` first; signals tl:point.
  Result<void> run(const test::Stream& s, std::vector<SyncPoint> waits, uint64_t point,
                   test::Jobs* on = nullptr) {
    on = on ? on : jobs.get();
    auto stream = dev->bo_alloc(s.bytes().size() + 64, kAllocExecutable | kAllocNoCache, "stream");
    if (!stream.ok()) return Error(stream.error());
    streams.push_back(*stream);
    auto m = (*stream)->map();
    if (!m.ok()) return Error(m.error());
    std::memcpy(*m, s.bytes().data(), s.bytes().size());
    std::vector<kmod::SyncOp> syncs;
    for (SyncPoint w : waits) syncs.push_back(kmod::SyncOp::wait(w.syncobj, w.point));
    syncs.push_back(kmod::SyncOp::signal(tl, point));
    kmod::QueueSubmit qs;
    qs.stream_addr = (*stream)->gpu_va();
    qs.stream_size_bytes = static_cast<uint32_t>(s.bytes().size());
    qs.syncs = syncs;
    Result<void> r = KernelAccess::device(*dev).group_submit(on->group(), {&qs, 1});
    if (r.ok()) (*stream)->mark_used(tl, point);
    return r;
  }

  static void copy(test::Stream& s, uint64_t dst, uint64_t src, uint64_t size) {
    s.add(sim::SimCmdCopy{{sim::kCmdCopy, sizeof(sim::SimCmdCopy)}, dst, src, size});
  }

  // The GPU reads pages [first, first + n) of `sb` (a COPY job into a fresh
  // buffer first filled with 0xa5 bytes): one word per page offset given.
  std::vector<uint8_t> gpu_read(SparseBuffer& sb, uint64_t first, uint64_t n) {
    auto dst = dev->bo_alloc(n * kPage, kAllocNoCache);
    EXPECT_TRUE(dst.ok());
    if (!dst.ok()) return {};
    auto m = (*dst)->map();
    EXPECT_TRUE(m.ok());
    std::memset(*m, 0xa5, n * kPage);
    test::Stream s;
    copy(s, (*dst)->gpu_va(), sb.gpu_va() + first * kPage, n * kPage);
    const uint64_t p = ++next;
    EXPECT_TRUE(run(s, {}, p).ok());
    EXPECT_TRUE(wait_point(p));
    std::vector<uint8_t> out(n * kPage);
    std::memcpy(out.data(), *m, out.size());
    return out;
  }

  static uint32_t at(const std::vector<uint8_t>& v, uint64_t byte_offset) {
    uint32_t w = 0;
    std::memcpy(&w, v.data() + byte_offset, 4);
    return w;
  }
  static bool all_zero(const std::vector<uint8_t>& v, uint64_t off, uint64_t size) {
    for (uint64_t i = off; i < off + size; ++i)
      if (v[i]) return false;
    return true;
  }
  // Pages [page, page + n) of a read came from `tag` starting at bo_offset.
  static bool from(const std::vector<uint8_t>& v, uint64_t page, uint64_t n, uint32_t tag,
                   uint64_t bo_offset) {
    for (uint64_t b = 0; b < n * kPage; b += 4)
      if (at(v, page * kPage + b) != word(tag, bo_offset + b)) return false;
    return true;
  }

  std::shared_ptr<Device> dev;
  std::unique_ptr<test::Jobs> jobs;
  std::vector<BoRef> streams;
  uint32_t tl = 0;
  uint64_t next = 0;
};

TEST(SparsePanfrost, IsNotSupportedWhereTheKernelPlacesBuffers) {
  auto dev = open_dev("panfrost");
  ASSERT_TRUE(dev);
  EXPECT_EQ(SparseBuffer::create(dev, 1 << 20).error(), -EOPNOTSUPP);
  std::shared_ptr<Vm> own(dev, &dev->vm());
  EXPECT_EQ(SparseBuffer::create(own, 1 << 20).error(), -EOPNOTSUPP);
  EXPECT_FALSE(SparseBuffer::uses_map_sparse(dev->info()));
  EXPECT_EQ(dev->stats().bo_creates, 0u) << "no dummy made for nothing";
}

// The version rule itself (panthor 1.9) is kmod's: tests/kmod/kmod_caps_test.cpp.
TEST(SparseDecision, MapSparseOnlyWhereTheKernelHasIt) {
  DeviceInfo i;
  i.sparse_map = false;
  EXPECT_FALSE(SparseBuffer::driver_has_map_sparse(i));
  i.sparse_map = true;
  EXPECT_TRUE(SparseBuffer::driver_has_map_sparse(i));
  // The model is panthor 1.9 by default; WSYS_SIM_DRIVER_VERSION may make
  // it older (core_sparse_panthor_1_8). MAP_SPARSE where the kernel has it,
  // the dummy BO elsewhere.
  auto dev = open_dev("panthor");
  ASSERT_TRUE(dev);
  const bool has = dev->info().driver_minor >= 9;
  EXPECT_EQ(SparseBuffer::driver_has_map_sparse(dev->info()), has);
  EXPECT_EQ(SparseBuffer::uses_map_sparse(dev->info()), has);
  auto sb = SparseBuffer::create(dev, kPage);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ((*sb)->kernel_sparse(), has);
  EXPECT_EQ((*sb)->dummy_bo() == nullptr, has);
}

TEST_F(SparseModel, CreateRoundsReservesAndStartsOnTheDummy) {
  if (!dummy_path()) GTEST_SKIP() << "MAP_SPARSE kernel: no dummy BO (core_sparse_panthor_1_8 runs this)";
  EXPECT_EQ(SparseBuffer::create(dev, 0).error(), -EINVAL);
  EXPECT_EQ(SparseBuffer::create(std::shared_ptr<Vm>(), kPage).error(), -EINVAL);
  const uint64_t creates = dev->stats().bo_creates;
  auto sb = SparseBuffer::create(dev, 100 << 10);
  ASSERT_TRUE(sb.ok()) << sb.error();
  SparseBuffer& b = **sb;
  EXPECT_EQ(b.size(), 128u << 10);
  EXPECT_EQ(b.block_count(), 2u);
  EXPECT_EQ(b.gpu_va() % kPage, 0u);
  EXPECT_GE(b.gpu_va(), dev->vm().stats().va_start);
  EXPECT_LE(b.gpu_va() + b.size(), dev->vm().stats().va_end);
  EXPECT_EQ(b.resident_blocks(), 0u);
  EXPECT_FALSE(b.is_resident(0));
  EXPECT_FALSE(b.is_resident(2)) << "outside the buffer";
  EXPECT_EQ(dev->stats().bo_creates, creates + 1) << "the dummy";
  EXPECT_EQ(b.dummy_bo()->size(), kSparseDummyBytes);

  // What the kernel mapped there: the dummy, read-only and no-exec.
  auto mvm = model_vm(*dev, dev->vm());
  ASSERT_TRUE(mvm);
  uint64_t start = 0;
  sim::SimMapping m;
  ASSERT_TRUE(mvm->find_mapping(b.gpu_va() + kPage, &start, &m));
  EXPECT_EQ(m.flags & (sim::kSimMapReadOnly | sim::kSimMapNoExec),
            sim::kSimMapReadOnly | sim::kSimMapNoExec);
  EXPECT_EQ(m.bo->size(), kSparseDummyBytes);
  EXPECT_EQ(m.bo_offset, 0u) << "every dummy op maps from offset 0";
  EXPECT_GE(start, b.gpu_va());

  // The GPU reads zeros there.
  auto v = gpu_read(b, 0, 2);
  ASSERT_EQ(v.size(), 2 * kPage);
  EXPECT_TRUE(all_zero(v, 0, 2 * kPage));

  // A second buffer shares the dummy: no new BO.
  const uint64_t creates2 = dev->stats().bo_creates;
  auto sb2 = SparseBuffer::create(dev, 3 * kPage);
  ASSERT_TRUE(sb2.ok());
  EXPECT_EQ((*sb2)->dummy_bo(), b.dummy_bo());
  EXPECT_EQ(dev->stats().bo_creates, creates2);
  EXPECT_EQ((*sb2)->gpu_va() % kPage, 0u);
}

TEST_F(SparseModel, LargeRangesNeedOneOpPer2MiB) {
  if (!dummy_path()) GTEST_SKIP() << "MAP_SPARSE kernel: no dummy BO (core_sparse_panthor_1_8 runs this)";
  auto first = SparseBuffer::create(dev, kPage);  // makes the dummy (a bind of its own)
  ASSERT_TRUE(first.ok());
  const VmStats s0 = dev->vm().stats();
  auto sb = SparseBuffer::create(dev, 64ull << 20);  // 1024 pages
  ASSERT_TRUE(sb.ok());
  const VmStats s1 = dev->vm().stats();
  EXPECT_EQ(s1.bind_calls - s0.bind_calls, 1u);
  EXPECT_EQ(s1.ops_submitted - s0.ops_submitted, 32u) << "2 MiB-aligned: 32 chunks of 2 MiB";
  BoRef a = tagged_bo(*dev, 64ull << 20, 1);
  ASSERT_TRUE((*sb)->bind(0, 1024, *a, 0).ok());
  ASSERT_TRUE((*sb)->submit(BindMode::Immediate).ok());
  EXPECT_EQ((*sb)->resident_blocks(), 1024u);
  // Unbinding an unaligned range: chunks cut at 2 MiB boundaries.
  const VmStats s2 = dev->vm().stats();
  ASSERT_TRUE((*sb)->unbind(16, 1000).ok());
  ASSERT_TRUE((*sb)->submit(BindMode::Immediate).ok());
  const VmStats s3 = dev->vm().stats();
  // Pages 16..1015 are [1 MiB, 63.5 MiB): a 1 MiB head, 30 x 2 MiB, a
  // 1.5 MiB tail.
  EXPECT_EQ(s3.ops_submitted - s2.ops_submitted, 32u);
  EXPECT_EQ((*sb)->resident_blocks(), 24u);
  auto v = gpu_read(**sb, 14, 4);
  EXPECT_TRUE(from(v, 0, 2, 1, 14 * kPage));
  EXPECT_TRUE(all_zero(v, 2 * kPage, 2 * kPage));
}

TEST_F(SparseModel, BindRebindUnbindReadThroughTheGpu) {
  auto sb = SparseBuffer::create(dev, 4 * kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  BoRef a = tagged_bo(*dev, 1 << 20, 0xa);
  BoRef c = tagged_bo(*dev, 1 << 20, 0xc);

  // Pages 1..3 <- A from 64 KiB.
  ASSERT_TRUE(b.bind(1, 3, *a, kPage).ok());
  EXPECT_EQ(b.resident_blocks(), 0u) << "nothing counts before it is submitted";
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(b.resident_blocks(), 3u);
  EXPECT_FALSE(b.is_resident(0));
  EXPECT_TRUE(b.is_resident(1) && b.is_resident(3));
  auto v = gpu_read(b, 0, 4);
  EXPECT_TRUE(all_zero(v, 0, kPage));
  EXPECT_TRUE(from(v, 1, 3, 0xa, kPage));

  // Rebind page 2 <- C at 5 * 64 KiB: MAP over MAP replaces it, the
  // neighbours stay.
  ASSERT_TRUE(b.bind(2, 1, *c, 5 * kPage).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(b.resident_blocks(), 3u);
  v = gpu_read(b, 0, 4);
  EXPECT_TRUE(from(v, 1, 1, 0xa, kPage));
  EXPECT_TRUE(from(v, 2, 1, 0xc, 5 * kPage));
  EXPECT_TRUE(from(v, 3, 1, 0xa, 3 * kPage));

  // Unbind page 1 (deferred to idle this time): zeros again.
  ASSERT_TRUE(b.unbind(1, 1).ok());
  ASSERT_TRUE(b.submit(BindMode::DeferToIdle).ok());
  EXPECT_FALSE(b.is_resident(1));
  EXPECT_EQ(b.resident_blocks(), 2u);
  // Deferred binds run on the bind queue: a sync-only Async submit after
  // it, signalling a point, tells when it is done (the queue is in order).
  const uint64_t p = ++next;
  const SyncPoint sig{tl, p};
  ASSERT_TRUE(b.submit(BindMode::Async, {}, {&sig, 1}).ok());
  ASSERT_TRUE(wait_point(p));
  v = gpu_read(b, 0, 4);
  EXPECT_TRUE(all_zero(v, 0, 2 * kPage));
  EXPECT_TRUE(from(v, 2, 1, 0xc, 5 * kPage));
  EXPECT_TRUE(from(v, 3, 1, 0xa, 3 * kPage));

  // Unbinding what is unbound is fine.
  ASSERT_TRUE(b.unbind(0, 4).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(b.resident_blocks(), 0u);
  v = gpu_read(b, 0, 4);
  EXPECT_TRUE(all_zero(v, 0, 4 * kPage));
}

TEST_F(SparseModel, WritesToUnboundPagesNeverLandInAnyBuffer) {
  auto sb = SparseBuffer::create(dev, 2 * kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  BoRef a = tagged_bo(*dev, 2 * kPage, 0xa);
  ASSERT_TRUE(b.bind(1, 1, *a, kPage).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());

  // A write to a bound page lands in its buffer (the control).
  test::Stream ok;
  ok.write32(b.gpu_va() + kPage + 16, 0x600d);
  uint64_t p = ++next;
  ASSERT_TRUE(run(ok, {}, p).ok());
  ASSERT_TRUE(wait_point(p));
  EXPECT_EQ(cpu_word(*a, kPage + 16), 0x600du);

  // A write to an unbound page: the dummy is read-only, the GPU faults
  // (on its own group, which the fault makes unusable); the kernel's
  // MAP_SPARSE page drops the store instead (panthor 1.9).
  test::Jobs faulty(*dev);
  ASSERT_NE(faulty.group(), 0u);
  test::Stream bad;
  bad.write32(b.gpu_va() + 16, 0xbad);
  bad.write32(b.gpu_va() + kPage - 4, 0xbad);
  p = ++next;
  ASSERT_TRUE(run(bad, {}, p, &faulty).ok());
  ASSERT_TRUE(wait_point(p));
  auto st = KernelAccess::device(*dev).group_get_state(faulty.group());
  ASSERT_TRUE(st.ok());
  if (dummy_path()) {
    EXPECT_TRUE(st->fatal_fault) << "the write did not fault";
  } else {
    EXPECT_FALSE(st->fatal_fault) << "a store to MAP_SPARSE memory is dropped, not a fault";
  }

  // Nothing landed: the unbound page still reads zeros, A is untouched
  // (but for the control word), and the dummy, the only buffer mapped
  // there, still holds zeros.
  auto v = gpu_read(b, 0, 2);
  EXPECT_TRUE(all_zero(v, 0, kPage));
  for (uint64_t off = 0; off < 2 * kPage; off += 4) {
    if (off == kPage + 16) continue;
    ASSERT_EQ(cpu_word(*a, off), word(0xa, off)) << off;
  }
  auto mvm = model_vm(*dev, dev->vm());
  ASSERT_TRUE(mvm);
  uint64_t start = 0;
  sim::SimMapping m;
  ASSERT_TRUE(mvm->find_mapping(b.gpu_va(), &start, &m));
  const uint8_t* dummy = mvm->gpu_view(start);
  for (uint64_t i = 0; i < m.size; ++i) ASSERT_EQ(dummy[i], 0) << "dummy byte " << i;
  // The job group we use was not hurt.
  auto st2 = KernelAccess::device(*dev).group_get_state(jobs->group());
  ASSERT_TRUE(st2.ok());
  EXPECT_FALSE(st2->fatal_fault);
}

TEST_F(SparseModel, AWritableSinkDiscardsWritesToUnboundPages) {
  auto bad = SparseBuffer::create(dev, kPage, static_cast<SparseUnbound>(7));
  EXPECT_EQ(bad.error(), -EINVAL) << "unknown mode";
  auto zero = SparseBuffer::create(dev, 2 * kPage);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ((*zero)->unbound_mode(), SparseUnbound::ZeroReadOnly) << "the default";
  const uint64_t creates = dev->stats().bo_creates;
  auto sb = SparseBuffer::create(dev, 2 * kPage, SparseUnbound::WritableSink);
  ASSERT_TRUE(sb.ok()) << sb.error();
  SparseBuffer& b = **sb;
  EXPECT_EQ(b.unbound_mode(), SparseUnbound::WritableSink);
  EXPECT_FALSE(b.kernel_sparse());
  ASSERT_NE(b.dummy_bo(), nullptr);
  EXPECT_NE(b.dummy_bo(), (*zero)->dummy_bo()) << "the sink is not the zero dummy";
  EXPECT_EQ(b.dummy_bo()->size(), kSparseDummyBytes);
  EXPECT_EQ(dev->stats().bo_creates, creates + 1) << "the sink";
  auto sb2 = SparseBuffer::create(dev, kPage, SparseUnbound::WritableSink);
  ASSERT_TRUE(sb2.ok());
  EXPECT_EQ((*sb2)->dummy_bo(), b.dummy_bo()) << "one sink per device";

  // The kernel maps the sink read-write, still no-exec.
  auto mvm = model_vm(*dev, dev->vm());
  ASSERT_TRUE(mvm);
  uint64_t start = 0;
  sim::SimMapping m;
  ASSERT_TRUE(mvm->find_mapping(b.gpu_va(), &start, &m));
  EXPECT_EQ(m.flags & (sim::kSimMapReadOnly | sim::kSimMapNoExec), sim::kSimMapNoExec);
  EXPECT_EQ(m.bo->size(), kSparseDummyBytes);

  BoRef a = tagged_bo(*dev, 2 * kPage, 0xa);
  ASSERT_TRUE(b.bind(1, 1, *a, kPage).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());

  // A CPU store through the GPU view of an unbound page (what a Vulkan
  // executor reading the VM through the view does) does not fault...
  auto* view = static_cast<uint8_t*>(dev->gpu_view(b.gpu_va()));
  ASSERT_NE(view, nullptr);
  const uint32_t junk = 0x5157c0de;
  std::memcpy(view + 64, &junk, 4);
  uint32_t back = 0;
  std::memcpy(&back, view + 64, 4);
  EXPECT_EQ(back, junk) << "the store landed in the sink";
  // ... and neither does a GPU job writing there.
  test::Stream st;
  st.write32(b.gpu_va() + 128, 0xbad);
  st.write32(b.gpu_va() + kPage - 4, 0xbad);
  const uint64_t p = ++next;
  ASSERT_TRUE(run(st, {}, p).ok());
  ASSERT_TRUE(wait_point(p));
  auto gs = KernelAccess::device(*dev).group_get_state(jobs->group());
  ASSERT_TRUE(gs.ok());
  EXPECT_FALSE(gs->fatal_fault) << "a write to a sink page faulted";

  // Nothing landed in a real buffer: A is intact, the bound page reads A.
  for (uint64_t off = 0; off < 2 * kPage; off += 4)
    ASSERT_EQ(cpu_word(*a, off), word(0xa, off)) << off;
  auto v = gpu_read(b, 1, 1);
  EXPECT_TRUE(from(v, 0, 1, 0xa, kPage));
  // The zero dummy is another BO: a read-only buffer's unbound pages still
  // read zero after the sink took garbage.
  auto z = gpu_read(**zero, 0, 2);
  EXPECT_TRUE(all_zero(z, 0, 2 * kPage));

  // Unbinding returns a page to the sink (read-write again).
  ASSERT_TRUE(b.unbind(1, 1).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  ASSERT_TRUE(mvm->find_mapping(b.gpu_va() + kPage, &start, &m));
  EXPECT_EQ(m.bo->size(), kSparseDummyBytes);
  EXPECT_EQ(m.flags & sim::kSimMapReadOnly, 0u);
  std::memcpy(view + kPage + 8, &junk, 4);
  EXPECT_EQ(cpu_word(*a, kPage + 8), word(0xa, kPage + 8)) << "an unbound page is not A's";
}

TEST(SparsePanfrost, AWritableSinkIsNotSupportedEither) {
  auto dev = open_dev("panfrost");
  ASSERT_TRUE(dev);
  EXPECT_EQ(SparseBuffer::create(dev, 1 << 20, SparseUnbound::WritableSink).error(), -EOPNOTSUPP);
  EXPECT_EQ(dev->stats().bo_creates, 0u) << "no sink made for nothing";
}

TEST_F(SparseModel, AsyncBindIsOrderedAgainstJobsByItsPoints) {
  auto sb = SparseBuffer::create(dev, kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  BoRef a = tagged_bo(*dev, kPage, 0xa);
  auto d1 = dev->bo_alloc(kPage, kAllocNoCache);
  auto d2 = dev->bo_alloc(kPage, kAllocNoCache);
  ASSERT_TRUE(d1.ok() && d2.ok());
  ASSERT_TRUE((*d1)->map().ok() && (*d2)->map().ok());
  std::memset((*d1)->cpu(), 0xa5, kPage);
  std::memset((*d2)->cpu(), 0xa5, kPage);

  // J1 (slow) reads the page; the bind waits for J1; J2 waits for the bind.
  test::Stream s1;
  s1.sleep(100'000'000);
  copy(s1, (*d1)->gpu_va(), b.gpu_va(), kPage);
  const uint64_t p1 = ++next, p2 = ++next, p3 = ++next;
  ASSERT_TRUE(run(s1, {}, p1).ok());
  ASSERT_TRUE(b.bind(0, 1, *a, 0).ok());
  const SyncPoint w{tl, p1}, sig{tl, p2};
  ASSERT_TRUE(b.submit(BindMode::Async, {&w, 1}, {&sig, 1}).ok());
  EXPECT_TRUE(b.is_resident(0)) << "tracked in submission order";
  test::Stream s2;
  copy(s2, (*d2)->gpu_va(), b.gpu_va(), kPage);
  ASSERT_TRUE(run(s2, {{tl, p2}}, p3).ok());
  ASSERT_TRUE(wait_point(p3));

  std::vector<uint8_t> r1(kPage), r2(kPage);
  std::memcpy(r1.data(), (*d1)->cpu(), kPage);
  std::memcpy(r2.data(), (*d2)->cpu(), kPage);
  EXPECT_TRUE(all_zero(r1, 0, kPage)) << "the bind ran before the job it waits for";
  EXPECT_TRUE(from(r2, 0, 1, 0xa, 0)) << "the job ran before the bind it waits for";

  // An external batch, with its own points, does the same for an unbind.
  SparseBindBatch batch;
  ASSERT_TRUE(b.unbind(batch, 0, 1).ok());
  const uint64_t p4 = ++next;
  batch.wait({tl, p3});
  batch.signal({tl, p4});
  ASSERT_TRUE(batch.submit(BindMode::Async).ok());
  EXPECT_TRUE(batch.empty());
  ASSERT_TRUE(wait_point(p4));
  EXPECT_FALSE(b.is_resident(0));
  auto v = gpu_read(b, 0, 1);
  EXPECT_TRUE(all_zero(v, 0, kPage));

  // Points need Async.
  ASSERT_TRUE(b.bind(0, 1, *a, 0).ok());
  EXPECT_EQ(b.submit(BindMode::Immediate, {}, {&sig, 1}).error(), -EINVAL);
  const SyncPoint zero{0, 1};
  EXPECT_EQ(b.submit(BindMode::Async, {}, {&zero, 1}).error(), -EINVAL);
  EXPECT_FALSE(b.is_resident(0));
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok()) << "the batch was kept";
  EXPECT_TRUE(b.is_resident(0));
}

TEST_F(SparseModel, AdjacentPagesOfOneBoCoalesceIntoOneOp) {
  auto sb = SparseBuffer::create(dev, 32 * kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  BoRef a = tagged_bo(*dev, 32 * kPage, 0xa);
  BoRef c = tagged_bo(*dev, 32 * kPage, 0xc);

  SparseBindBatch batch;
  for (uint64_t i = 0; i < 16; ++i) ASSERT_TRUE(b.bind(batch, i, 1, *a, i * kPage).ok());
  EXPECT_EQ(batch.op_count(), 1u);
  VmStats s0 = dev->vm().stats();
  ASSERT_TRUE(batch.submit(BindMode::Immediate).ok());
  VmStats s1 = dev->vm().stats();
  EXPECT_EQ(s1.bind_calls - s0.bind_calls, 1u);
  EXPECT_EQ(s1.ops_requested - s0.ops_requested, 16u);
  EXPECT_EQ(s1.ops_submitted - s0.ops_submitted, 1u);
  EXPECT_EQ(b.resident_blocks(), 16u);

  // Alternating buffers: nothing to merge.
  for (uint64_t i = 16; i < 32; ++i)
    ASSERT_TRUE(b.bind(batch, i, 1, i % 2 ? *a : *c, i * kPage).ok());
  EXPECT_EQ(batch.op_count(), 16u);
  ASSERT_TRUE(batch.submit(BindMode::Immediate).ok());
  VmStats s2 = dev->vm().stats();
  EXPECT_EQ(s2.bind_calls - s1.bind_calls, 1u);
  EXPECT_EQ(s2.ops_submitted - s1.ops_submitted, 16u);
  auto v = gpu_read(b, 0, 32);  // (its buffers' binds are in the stats from here)
  EXPECT_TRUE(from(v, 0, 16, 0xa, 0));
  for (uint64_t i = 16; i < 32; ++i) EXPECT_TRUE(from(v, i, 1, i % 2 ? 0xa : 0xc, i * kPage)) << i;

  // Two buffers in one batch: one ioctl.
  auto sb2 = SparseBuffer::create(dev, 2 * kPage);
  ASSERT_TRUE(sb2.ok());
  ASSERT_TRUE(b.unbind(batch, 0, 32).ok());
  ASSERT_TRUE((*sb2)->bind(batch, 0, 2, *c, 0).ok());
  const VmStats s3 = dev->vm().stats();
  ASSERT_TRUE(batch.submit(BindMode::Immediate).ok());
  EXPECT_EQ(dev->vm().stats().bind_calls - s3.bind_calls, 1u);
  EXPECT_EQ(b.resident_blocks(), 0u);
  EXPECT_EQ((*sb2)->resident_blocks(), 2u);
}

TEST_F(SparseModel, InvalidBindsAreRefusedAndChangeNothing) {
  auto sb = SparseBuffer::create(dev, 4 * kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  BoRef a = tagged_bo(*dev, 2 * kPage, 0xa);
  ASSERT_EQ(a->size(), 2 * kPage);
  auto other = open_dev("panthor");
  ASSERT_TRUE(other);
  auto foreign = other->bo_alloc(4 * kPage, 0);
  ASSERT_TRUE(foreign.ok());
  auto vm2 = Vm::create(dev);
  ASSERT_TRUE(vm2.ok());
  auto sb_vm2 = SparseBuffer::create(*vm2, kPage);
  ASSERT_TRUE(sb_vm2.ok());

  ASSERT_TRUE(b.bind(0, 1, *a, 0).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  const VmStats s0 = dev->vm().stats();

  SparseBindBatch batch;
  EXPECT_EQ(b.bind(batch, 0, 0, *a, 0).error(), -EINVAL) << "no pages";
  EXPECT_EQ(b.bind(batch, 4, 1, *a, 0).error(), -EINVAL) << "past the end";
  EXPECT_EQ(b.bind(batch, 3, 2, *a, 0).error(), -EINVAL) << "straddles the end";
  EXPECT_EQ(b.bind(batch, 1, UINT64_MAX, *a, 0).error(), -EINVAL) << "wraps";
  EXPECT_EQ(b.bind(batch, UINT64_MAX, 2, *a, 0).error(), -EINVAL) << "wraps";
  EXPECT_EQ(b.bind(batch, 0, 1, *a, 4096).error(), -EINVAL) << "misaligned offset";
  EXPECT_EQ(b.bind(batch, 0, 1, *a, 2 * kPage).error(), -EINVAL) << "offset at the end";
  EXPECT_EQ(b.bind(batch, 0, 2, *a, kPage).error(), -EINVAL) << "beyond the Bo";
  EXPECT_EQ(b.bind(batch, 0, 3, *a, 0).error(), -EINVAL) << "larger than the Bo";
  EXPECT_EQ(b.bind(batch, 0, 1, *a, UINT64_MAX - kPage + 1).error(), -EINVAL);
  EXPECT_EQ(b.bind(batch, 0, 1, *a, 0, 1u << 7).error(), -EINVAL) << "unknown flag";
  EXPECT_EQ(b.bind(batch, 0, 1, **foreign, 0).error(), -EINVAL) << "another device's Bo";
  EXPECT_EQ(b.unbind(batch, 4, 1).error(), -EINVAL);
  EXPECT_EQ(b.unbind(batch, 0, 0).error(), -EINVAL);
  EXPECT_EQ(b.unbind(batch, 2, UINT64_MAX).error(), -EINVAL);
  EXPECT_EQ(b.bind(5, 1, *a, 0).error(), -EINVAL) << "internal batch too";
  EXPECT_EQ(b.unbind(0, 5).error(), -EINVAL);
  EXPECT_TRUE(batch.empty());
  // A batch of another Vm.
  ASSERT_TRUE((*sb_vm2)->bind(batch, 0, 1, *a, 0).ok());
  const size_t ops = batch.op_count();
  EXPECT_EQ(b.bind(batch, 0, 1, *a, 0).error(), -EINVAL);
  EXPECT_EQ(b.unbind(batch, 0, 1).error(), -EINVAL);
  EXPECT_EQ(batch.op_count(), ops);
  batch.clear();

  // Nothing reached the kernel or the tracking; the internal batch is empty.
  EXPECT_EQ(dev->vm().stats().bind_calls, s0.bind_calls);
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(dev->vm().stats().bind_calls, s0.bind_calls);
  EXPECT_EQ(b.resident_blocks(), 1u);
  EXPECT_TRUE(b.is_resident(0));
  auto v = gpu_read(b, 0, 2);
  EXPECT_TRUE(from(v, 0, 1, 0xa, 0));
  EXPECT_TRUE(all_zero(v, kPage, kPage));
  // An empty batch submits nothing.
  EXPECT_TRUE(batch.submit(BindMode::Immediate).ok());
  // Raw ops alone name no buffer.
  batch.ops().unmap(b.gpu_va(), kPage);
  EXPECT_EQ(batch.submit(BindMode::Immediate).error(), -EINVAL);
  EXPECT_TRUE(batch.empty());
}

TEST_F(SparseModel, ABoundBufferStaysAliveWhileBound) {
  auto sb = SparseBuffer::create(dev, 2 * kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  uint32_t handle = 0;
  {
    BoRef a = tagged_bo(*dev, kPage, 0xa);
    handle = a->handle();
    ASSERT_TRUE(b.bind(1, 1, *a, 0).ok());
  }  // our reference goes; the pending bind holds one
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  // Still bound: the cache must not hand it out, and the GPU still reads it.
  auto x = dev->bo_alloc(kPage, 0);
  ASSERT_TRUE(x.ok());
  EXPECT_NE((*x)->handle(), handle);
  auto v = gpu_read(b, 1, 1);
  EXPECT_TRUE(from(v, 0, 1, 0xa, 0));
  // Unbound: back in the cache, handed out again.
  const uint64_t hits = dev->stats().cache.hits;
  ASSERT_TRUE(b.unbind(1, 1).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  auto y = dev->bo_alloc(kPage, 0);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ((*y)->handle(), handle);
  EXPECT_EQ(dev->stats().cache.hits, hits + 1);
}

TEST_F(SparseModel, DestroyUnmapsBehindItsPointAndFreesTheRange) {
  auto sb = SparseBuffer::create(dev, 2 * kPage);
  ASSERT_TRUE(sb.ok());
  std::shared_ptr<SparseBuffer> b = *sb;
  const uint64_t va = b->gpu_va();
  uint32_t handle = 0;
  auto dst = dev->bo_alloc(kPage, kAllocNoCache);
  ASSERT_TRUE(dst.ok() && (*dst)->map().ok());
  std::memset((*dst)->cpu(), 0xa5, kPage);
  {
    BoRef a = tagged_bo(*dev, kPage, 0xa);
    handle = a->handle();
    ASSERT_TRUE(b->bind(0, 1, *a, 0).ok());
    ASSERT_TRUE(b->submit(BindMode::Immediate).ok());
  }
  // A slow job still reads the buffer when it is destroyed.
  test::Stream s;
  s.sleep(150'000'000);
  copy(s, (*dst)->gpu_va(), va, kPage);
  const uint64_t p = ++next;
  ASSERT_TRUE(run(s, {}, p).ok());
  const VmStats s0 = dev->vm().stats();
  ASSERT_TRUE(b->destroy(SyncPoint{tl, p}).ok());
  EXPECT_TRUE(b->destroyed());
  EXPECT_EQ(b->resident_blocks(), 0u);
  EXPECT_TRUE(b->destroy().ok()) << "twice is fine";
  auto fresh = tagged_bo(*dev, kPage, 0xf);
  EXPECT_EQ(b->bind(0, 1, *fresh, 0).error(), -EINVAL);
  EXPECT_EQ(b->unbind(0, 1).error(), -EINVAL);
  EXPECT_GT(dev->vm().stats().va_parked, s0.va_parked) << "the range waits for the unmap";
  Result<uint64_t> q = dev->syncobj_query(tl);
  ASSERT_TRUE(q.ok());
  if (*q < p) {
    // The bound Bo was marked used until the point: the cache keeps it.
    auto z = dev->bo_alloc(kPage, 0);
    ASSERT_TRUE(z.ok());
    EXPECT_NE((*z)->handle(), handle);
  }
  ASSERT_TRUE(wait_point(p));
  std::vector<uint8_t> r(kPage);
  std::memcpy(r.data(), (*dst)->cpu(), kPage);
  EXPECT_TRUE(from(r, 0, 1, 0xa, 0)) << "the job saw the mapping: the unmap waited";
  auto st = KernelAccess::device(*dev).group_get_state(jobs->group());
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->fatal_fault);
  // The range comes back once the unmap ran.
  dev->vm().reclaim(true);
  EXPECT_GT(dev->vm().stats().va_reclaimed, s0.va_reclaimed);
  auto mvm = model_vm(*dev, dev->vm());
  uint64_t start;
  sim::SimMapping m;
  EXPECT_FALSE(mvm->find_mapping(va, &start, &m));
  EXPECT_FALSE(mvm->find_mapping(va + kPage, &start, &m));

  // Without a point (and by the destructor): at once.
  auto sb2 = SparseBuffer::create(dev, 3 * kPage);
  ASSERT_TRUE(sb2.ok());
  const uint64_t va2 = (*sb2)->gpu_va();
  const uint64_t allocs = dev->vm().stats().va.allocation_count;
  sb2->reset();
  EXPECT_FALSE(mvm->find_mapping(va2, &start, &m));
  EXPECT_EQ(dev->vm().stats().va.allocation_count, allocs - 1);
}

// destroy(after) adds `after` to the uses of every bound Bo: one with a
// pending use of its own (another queue) stays out of the cache until both
// have signalled, whichever comes first.
TEST_F(SparseModel, DestroyKeepsABoundBoBusyUntilItsOwnUseAndTheUnmapAreDone) {
  auto sb = SparseBuffer::create(dev, kPage);
  ASSERT_TRUE(sb.ok());
  auto other = dev->syncobj_create(false);  // another queue, host-signalled
  ASSERT_TRUE(other.ok());
  uint32_t handle = 0;
  {
    BoRef a = tagged_bo(*dev, kPage, 0xa);
    handle = a->handle();
    ASSERT_TRUE((*sb)->bind(0, 1, *a, 0).ok());
    ASSERT_TRUE((*sb)->submit(BindMode::Immediate).ok());
    a->mark_used(*other, 1);
  }
  // A slow job reads through the range; destroy waits for it.
  auto dst = dev->bo_alloc(kPage, kAllocNoCache);
  ASSERT_TRUE(dst.ok());
  test::Stream s;
  s.sleep(300'000'000);
  copy(s, (*dst)->gpu_va(), (*sb)->gpu_va(), kPage);
  const uint64_t p = ++next;
  ASSERT_TRUE(run(s, {}, p).ok());
  ASSERT_TRUE((*sb)->destroy(SyncPoint{tl, p}).ok());
  ASSERT_TRUE(dev->syncobj_signal(*other, 1).ok());  // its own use ends first
  Result<uint64_t> q = dev->syncobj_query(tl);
  ASSERT_TRUE(q.ok());
  if (*q < p) {
    auto z = dev->bo_alloc(kPage, 0);
    ASSERT_TRUE(z.ok());
    EXPECT_NE((*z)->handle(), handle) << "reused while the job still reads it";
  }
  ASSERT_TRUE(wait_point(p));
  bool reused = false;
  std::vector<BoRef> held;
  for (int i = 0; i < 4 && !reused; i++) {
    auto z = dev->bo_alloc(kPage, 0);
    ASSERT_TRUE(z.ok());
    reused = (*z)->handle() == handle;
    held.push_back(*z);
  }
  EXPECT_TRUE(reused) << "idle once both uses are done";
  held.clear();
  dev->vm().reclaim(true);
  (void)dev->syncobj_destroy(*other);
}

TEST_F(SparseModel, BuffersInAnotherVm) {
  if (!dummy_path()) GTEST_SKIP() << "MAP_SPARSE kernel: no dummy BO (core_sparse_panthor_1_8 runs this)";
  auto vm2 = Vm::create(dev);
  ASSERT_TRUE(vm2.ok());
  auto mvm = model_vm(*dev, **vm2);
  ASSERT_TRUE(mvm);
  auto sb = SparseBuffer::create(*vm2, 3 * kPage);
  ASSERT_TRUE(sb.ok());
  auto own = SparseBuffer::create(dev, kPage);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ((*sb)->dummy_bo(), (*own)->dummy_bo()) << "one dummy per device";
  EXPECT_EQ(&(*sb)->vm(), vm2->get());
  BoRef a = tagged_bo(*dev, 4 * kPage, 0xa);
  ASSERT_TRUE((*sb)->bind(1, 2, *a, 2 * kPage).ok());
  ASSERT_TRUE((*sb)->submit(BindMode::Immediate).ok());
  auto rd = [&](uint64_t va) {
    uint32_t w;
    std::memcpy(&w, mvm->gpu_view(va), 4);
    return w;
  };
  const uint64_t va = (*sb)->gpu_va();
  EXPECT_EQ(rd(va + 100 * 4), 0u);
  EXPECT_EQ(rd(va + kPage), word(0xa, 2 * kPage));
  EXPECT_EQ(rd(va + 3 * kPage - 4), word(0xa, 4 * kPage - 4));
  ASSERT_TRUE((*sb)->bind(1, 1, *a, 0).ok());
  ASSERT_TRUE((*sb)->unbind(2, 1).ok());
  ASSERT_TRUE((*sb)->submit(BindMode::Immediate).ok());
  EXPECT_EQ(rd(va + kPage + 8), word(0xa, 8));
  EXPECT_EQ(rd(va + 2 * kPage + 8), 0u);
  EXPECT_EQ((*sb)->resident_blocks(), 1u);
  // The Vm outlives our handle on it through the buffer.
  sim::SimVm* raw = mvm.get();
  vm2->reset();
  EXPECT_FALSE(raw->destroyed());
}

TEST_F(SparseModel, AFailedImmediateBindTracksWhatTheKernelDid) {
  auto sb = SparseBuffer::create(dev, 4 * kPage);
  ASSERT_TRUE(sb.ok());
  SparseBuffer& b = **sb;
  BoRef a = tagged_bo(*dev, 4 * kPage, 0xa);
  SparseBindBatch batch;
  ASSERT_TRUE(b.bind(batch, 0, 1, *a, 0).ok());
  batch.ops().unmap(b.gpu_va() + kPage, 100);  // the kernel refuses this one (misaligned)
  ASSERT_TRUE(b.bind(batch, 2, 1, *a, 2 * kPage).ok());
  size_t failed = 99;
  EXPECT_EQ(batch.submit(BindMode::Immediate, &failed).error(), -EINVAL);
  EXPECT_EQ(failed, 1u);
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(b.is_resident(0));
  EXPECT_FALSE(b.is_resident(2));
  EXPECT_EQ(b.resident_blocks(), 1u);
  auto v = gpu_read(b, 0, 3);
  EXPECT_TRUE(from(v, 0, 1, 0xa, 0));
  EXPECT_TRUE(all_zero(v, kPage, 2 * kPage));

  // A run-step failure refuses the first op: nothing tracked.
  auto mvm = model_vm(*dev, dev->vm());
  mvm->inject_run_failures(-ENOMEM, 1);
  ASSERT_TRUE(b.bind(3, 1, *a, 0).ok());
  EXPECT_EQ(b.submit(BindMode::Immediate, {}, {}, &failed).error(), -ENOMEM);
  EXPECT_EQ(failed, 0u);
  EXPECT_FALSE(b.is_resident(3));
  v = gpu_read(b, 3, 1);
  EXPECT_TRUE(all_zero(v, 0, kPage));
}

TEST_F(SparseModel, ABatchWhoseBufferWasDestroyedIsRefused) {
  auto holder = SparseBuffer::create(dev, kPage);  // keeps the dummy (its release is a bind)
  ASSERT_TRUE(holder.ok());
  auto sb = SparseBuffer::create(dev, kPage);
  ASSERT_TRUE(sb.ok());
  const uint64_t va = (*sb)->gpu_va();
  BoRef a = tagged_bo(*dev, kPage, 0xa);
  SparseBindBatch batch;
  ASSERT_TRUE((*sb)->bind(batch, 0, 1, *a, 0).ok());
  std::weak_ptr<SparseBuffer> weak = *sb;
  ASSERT_TRUE((*sb)->destroy().ok());
  sb->reset();
  EXPECT_FALSE(weak.expired()) << "the batch holds it";
  const uint64_t calls = dev->vm().stats().bind_calls;
  EXPECT_EQ(batch.submit(BindMode::Immediate).error(), -EINVAL);
  EXPECT_EQ(dev->vm().stats().bind_calls, calls);
  EXPECT_TRUE(weak.expired()) << "released with the batch";
  auto mvm = model_vm(*dev, dev->vm());
  uint64_t start;
  sim::SimMapping m;
  EXPECT_FALSE(mvm->find_mapping(va, &start, &m)) << "nothing mapped at the freed range";
}

TEST_F(SparseModel, ConcurrentBindsQueriesAndBuffers) {
  if (!dummy_path()) GTEST_SKIP() << "MAP_SPARSE kernel: no dummy BO (core_sparse_panthor_1_8 runs this)";
  constexpr int kThreads = 4;
  constexpr uint64_t kPer = 8;
  auto sb = SparseBuffer::create(dev, kThreads * kPer * kPage);
  ASSERT_TRUE(sb.ok());
  std::shared_ptr<SparseBuffer> b = *sb;
  BoRef a = tagged_bo(*dev, kPer * kPage, 0xa);
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread reader([&] {
    while (!stop.load()) {
      uint64_t n = b->resident_blocks();
      if (n > kThreads * kPer) errors++;
      for (uint64_t p = 0; p < b->block_count(); ++p) (void)b->is_resident(p);
    }
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      const uint64_t base = t * kPer;
      for (int it = 0; it < 20; ++it) {
        SparseBindBatch batch;
        if (it % 2 == 0) {
          if (!b->bind(batch, base, kPer, *a, 0).ok()) errors++;
        } else {
          if (!b->unbind(batch, base, kPer / 2).ok()) errors++;
        }
        if (!batch.submit(BindMode::Immediate).ok()) errors++;
        // Another thread's buffers share the dummy.
        auto other = SparseBuffer::create(dev, kPage);
        if (!other.ok() || (*other)->dummy_bo() != b->dummy_bo()) errors++;
      }
    });
  }
  for (auto& t : ts) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  // Each thread ended on an unbind of the first half of its range.
  EXPECT_EQ(b->resident_blocks(), kThreads * kPer / 2);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_FALSE(b->is_resident(t * kPer));
    EXPECT_TRUE(b->is_resident(t * kPer + kPer / 2));
  }
  auto v = gpu_read(*b, 0, kThreads * kPer);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(all_zero(v, t * kPer * kPage, kPer / 2 * kPage));
    EXPECT_TRUE(from(v, t * kPer + kPer / 2, kPer / 2, 0xa, kPer / 2 * kPage));
  }
}

// The block table behind a SparseBuffer (src/winsys/core/sparse_blocks.h):
// chunks exist only where something is bound, and the references follow
// binds, rebinds and unbinds.
TEST(SparseBlocks, ChunksExistOnlyWhereSomethingIsBound) {
  auto dev = open_dev("panthor");
  ASSERT_TRUE(dev);
  auto a = dev->bo_alloc(kPage, 0);
  auto b = dev->bo_alloc(kPage, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr uint64_t kChunk = core::SparseBlocks::kChunkBlocks;
  core::SparseBlocks t;
  t.init(1ull << 20);  // a 64 GiB buffer
  EXPECT_EQ(t.blocks(), 1ull << 20);
  EXPECT_EQ(t.chunks_allocated(), 0u);
  EXPECT_EQ(t.resident_count(), 0u);
  EXPECT_FALSE(t.resident(0));
  EXPECT_FALSE(t.resident(1ull << 20)) << "outside";

  std::vector<BoRef> dropped;
  dropped.reserve(1024);
  // An unbind where nothing was ever bound: nothing to do, nothing made.
  t.set(0, 3 * kChunk, BoRef(), dropped);
  EXPECT_EQ(t.chunks_allocated(), 0u);
  EXPECT_TRUE(dropped.empty());

  // 600 blocks from block 1000 span chunks 1, 2 and 3.
  ASSERT_TRUE(t.reserve(1000, 600));
  EXPECT_EQ(t.chunks_allocated(), 3u);
  t.set(1000, 600, *a, dropped);
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(t.resident_count(), 600u);
  EXPECT_FALSE(t.resident(999));
  EXPECT_TRUE(t.resident(1000));
  EXPECT_TRUE(t.resident(1599));
  EXPECT_FALSE(t.resident(1600));

  // A rebind drops the references it replaces, and counts nothing twice.
  ASSERT_TRUE(t.reserve(1200, 100));
  t.set(1200, 100, *b, dropped);
  EXPECT_EQ(dropped.size(), 100u);
  for (const BoRef& r : dropped) EXPECT_EQ(r.get(), a->get());
  dropped.clear();
  EXPECT_EQ(t.resident_count(), 600u);

  // An unbind frees the chunks it empties and keeps the others: chunk 1
  // (blocks 512..1023) held only 1000..1023; chunk 2 keeps 1100..1535.
  t.set(1000, 100, BoRef(), dropped);
  EXPECT_EQ(dropped.size(), 100u);
  dropped.clear();
  t.release_empty(1000, 100);
  EXPECT_EQ(t.chunks_allocated(), 2u);
  EXPECT_EQ(t.resident_count(), 500u);
  EXPECT_FALSE(t.resident(1099));
  EXPECT_TRUE(t.resident(1100));

  // The rest: every reference dropped, every chunk freed.
  t.set(1100, 500, BoRef(), dropped);
  EXPECT_EQ(dropped.size(), 500u);
  size_t on_b = 0;
  for (const BoRef& r : dropped) on_b += r.get() == b->get();
  EXPECT_EQ(on_b, 100u);
  dropped.clear();
  EXPECT_EQ(t.resident_count(), 0u);
  t.release_empty(1000, 600);
  EXPECT_EQ(t.chunks_allocated(), 0u);
  EXPECT_FALSE(t.resident(1300));
}

TEST(SparseBlocks, TakeMovesEveryReferenceOut) {
  auto dev = open_dev("panthor");
  ASSERT_TRUE(dev);
  auto a = dev->bo_alloc(kPage, 0);
  ASSERT_TRUE(a.ok());
  core::SparseBlocks t;
  t.init(4096);
  std::vector<BoRef> dropped;
  ASSERT_TRUE(t.reserve(10, 5) && t.reserve(4000, 96));
  t.set(10, 5, *a, dropped);
  t.set(4000, 96, *a, dropped);
  core::SparseBlocks old = t.take();
  EXPECT_EQ(t.resident_count(), 0u);
  EXPECT_EQ(t.chunks_allocated(), 0u);
  EXPECT_FALSE(t.resident(10));
  EXPECT_EQ(old.resident_count(), 101u);
  EXPECT_EQ(old.chunks_allocated(), 2u);
  EXPECT_TRUE(old.resident(4095));
  size_t n = 0;
  old.for_each_bound([&](Bo& bo) {
    EXPECT_EQ(&bo, a->get());
    ++n;
  });
  EXPECT_EQ(n, 101u);
}

// An 8 GiB buffer (the model's VM under TSan has less room than 64 GiB)
// with one block bound at each end: the tracking follows what is bound,
// and so do the references (the Bo goes back to the cache only when its
// last block is unbound).
TEST_F(SparseModel, AHugeBufferTracksOnlyWhatIsBound) {
  auto sb = SparseBuffer::create(dev, 8ull << 30);
  ASSERT_TRUE(sb.ok()) << sb.error();
  SparseBuffer& b = **sb;
  const uint64_t last = b.block_count() - 1;
  EXPECT_EQ(b.block_count(), 1ull << 17);
  BoRef a = tagged_bo(*dev, kPage, 0xa);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b.bind(0, 1, *a, 0).ok());
  ASSERT_TRUE(b.bind(last, 1, *a, 0).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(b.resident_blocks(), 2u);
  EXPECT_TRUE(b.is_resident(0));
  EXPECT_TRUE(b.is_resident(last));
  EXPECT_FALSE(b.is_resident(last / 2));
  auto v = gpu_read(b, last, 1);
  EXPECT_TRUE(from(v, 0, 1, 0xa, 0));
  const uint32_t handle = a->handle();
  a = BoRef();
  ASSERT_TRUE(b.unbind(0, 1).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(b.resident_blocks(), 1u);
  auto x = dev->bo_alloc(kPage, 0);
  ASSERT_TRUE(x.ok());
  EXPECT_NE((*x)->handle(), handle) << "still bound at the last block";
  ASSERT_TRUE(b.unbind(0, b.block_count()).ok());
  ASSERT_TRUE(b.submit(BindMode::Immediate).ok());
  EXPECT_EQ(b.resident_blocks(), 0u);
  auto y = dev->bo_alloc(kPage, 0);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ((*y)->handle(), handle) << "unbound everywhere: back in the cache";
}

}  // namespace
}  // namespace wsys
