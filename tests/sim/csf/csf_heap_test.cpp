// panthor tiler heaps: TILER_HEAP_CREATE/DESTROY validation, handle
// encoding, the chunk list as read back from GPU memory, growth up to
// max_chunks, the target_in_flight refusal, incremental rendering and the
// committed-versus-written bound.
#include <thread>

#include "csf_test_util.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/signalling.h"

namespace wsys::sim::csftest {
namespace {

constexpr uint32_t k128K = 128u << 10;
constexpr uint32_t k8M = 8u << 20;

using HeapIoctl = CsfFixture;

TEST_F(HeapIoctl, CreateValidationTable) {
  struct Case {
    const char* what;
    drm_panthor_tiler_heap_create c;
    int err;
  };
  std::vector<Case> cases = {
      {"unknown vm", heap_args(vm_id + 1), -EINVAL},
      {"vm 0", heap_args(0), -EINVAL},
      {"no initial chunk", heap_args(vm_id, 0), -EINVAL},
      {"initial > max", heap_args(vm_id, 5, k128K, 4), -EINVAL},
      {"chunk not page-aligned", heap_args(vm_id, 1, k128K + 100), -EINVAL},
      {"chunk below 128K", heap_args(vm_id, 1, k128K - 4096), -EINVAL},
      {"chunk above 8M", heap_args(vm_id, 1, k8M + 4096), -EINVAL},
      {"chunk 128K ok", heap_args(vm_id, 1, k128K), 0},
      {"chunk 8M ok", heap_args(vm_id, 1, k8M), 0},
      {"initial == max ok", heap_args(vm_id, 3, k128K, 3), 0},
      {"target 0 ok", heap_args(vm_id, 1, k128K, 1, 0), 0},
  };
  for (Case& c : cases) EXPECT_EQ(heap_create(*f, c.c), c.err) << c.what;
}

TEST_F(HeapIoctl, HandleEncodingContextAndLimit) {
  std::vector<uint32_t> handles;
  for (uint32_t i = 0; i < kTilerHeapsPerVm; i++) {
    auto c = heap_args(vm_id);
    ASSERT_EQ(heap_create(*f, c), 0) << i;
    EXPECT_EQ(c.handle, (vm_id << 16) | i);
    // The context lives in the kernel's VA range, 32 zeroed bytes.
    EXPECT_GE(c.tiler_heap_ctx_gpu_va, user_end);
    EXPECT_LT(c.tiler_heap_ctx_gpu_va, vm->va_size());
    const uint8_t* ctx = vm->gpu_view(c.tiler_heap_ctx_gpu_va);
    for (uint32_t b = 0; b < kTilerHeapCtxSize; b++) ASSERT_EQ(ctx[b], 0);
    EXPECT_GE(c.first_heap_chunk_gpu_va, user_end);
    handles.push_back(c.handle);
  }
  auto c = heap_args(vm_id);
  EXPECT_EQ(heap_create(*f, c), -EBUSY);  // xa_alloc over 128 heaps
  // A second VM has its own pool.
  uint32_t vm2 = 0;
  ASSERT_EQ(vm_create(*f, &vm2), 0);
  auto c2 = heap_args(vm2);
  ASSERT_EQ(heap_create(*f, c2), 0);
  EXPECT_EQ(c2.handle, vm2 << 16);
  // Destroy frees the id for reuse.
  ASSERT_EQ(heap_destroy(*f, handles[7]), 0);
  EXPECT_EQ(heap_destroy(*f, handles[7]), -EINVAL);
  auto c3 = heap_args(vm_id);
  ASSERT_EQ(heap_create(*f, c3), 0);
  EXPECT_EQ(c3.handle, handles[7]);
}

TEST_F(HeapIoctl, DestroyValidation) {
  auto c = heap_args(vm_id);
  ASSERT_EQ(heap_create(*f, c), 0);
  EXPECT_EQ(heap_destroy(*f, c.handle, 1), -EINVAL);            // pad
  EXPECT_EQ(heap_destroy(*f, c.handle + (5u << 16)), -EINVAL);  // no such VM
  EXPECT_EQ(heap_destroy(*f, c.handle + 1), -EINVAL);           // no such heap
  uint32_t vm2 = 0;
  ASSERT_EQ(vm_create(*f, &vm2), 0);
  EXPECT_EQ(heap_destroy(*f, vm2 << 16), -EINVAL);  // VM without a pool
  EXPECT_EQ(heap_destroy(*f, c.handle), 0);
}

TEST_F(HeapIoctl, UserBindsCannotReachTheKernelRange) {
  auto c = heap_args(vm_id);
  ASSERT_EQ(heap_create(*f, c), 0);
  uint32_t b = bo_create(*f, 4096);
  const uint64_t ctx_page = c.tiler_heap_ctx_gpu_va & ~0xfffull;
  EXPECT_EQ(map_sync(*f, vm_id, b, 0, ctx_page, 4096), -EINVAL);
  // Nor can an UNMAP take the kernel's mappings away (the capi fuzzer's
  // finding: an unmap of the kernel range left the contexts unmapped and
  // the next TILER_HEAP_CREATE wrote into nothing), whether it covers
  // them or only straddles the boundary.
  const uint64_t kernel_start = vm->user_va_end();
  EXPECT_EQ(unmap_sync(*f, vm_id, ctx_page, 4096), -EINVAL);
  EXPECT_EQ(unmap_sync(*f, vm_id, kernel_start, 1ull << 32), -EINVAL);
  EXPECT_EQ(unmap_sync(*f, vm_id, kernel_start - 4096, 8192), -EINVAL);
  EXPECT_EQ(unmap_sync(*f, vm_id, kernel_start - 4096, 4096), 0) << "the user range's last page";
  // Still mapped: the context and the first chunk; another heap's context
  // is written at creation.
  uint64_t start = 0;
  SimMapping m;
  EXPECT_TRUE(vm->find_mapping(ctx_page, &start, &m));
  EXPECT_TRUE(vm->find_mapping(c.first_heap_chunk_gpu_va, &start, &m));
  auto c2 = heap_args(vm_id);
  ASSERT_EQ(heap_create(*f, c2), 0);
  EXPECT_EQ(u64_at(c.first_heap_chunk_gpu_va + 8), 0u) << "the chunk header reads";
}

TEST_F(HeapIoctl, InitialChunksAreLinkedInGpuMemory) {
  const uint32_t n = 4;
  auto c = heap_args(vm_id, n, 256u << 10, 8);
  ASSERT_EQ(heap_create(*f, c), 0);
  uint64_t va = c.first_heap_chunk_gpu_va;
  ASSERT_NE(va, 0u);
  std::vector<uint64_t> seen;
  for (uint32_t i = 0; i < n; i++) {
    ASSERT_NE(va, 0u) << "list ended after " << i;
    seen.push_back(va);
    uint64_t next = u64_at(va);
    // unknown[14] are zero.
    const uint8_t* hdr = vm->gpu_view(va);
    for (uint32_t b = 8; b < kTilerChunkHeaderSize; b++) ASSERT_EQ(hdr[b], 0);
    if (i + 1 < n) {
      EXPECT_EQ(next & 0xfff, (256u << 10) >> 12) << "size field of link " << i;
      va = next & ~0xfffull;
    } else {
      EXPECT_EQ(next, 0u) << "the last chunk ends the list";
    }
  }
  for (uint64_t v : seen) {
    EXPECT_GE(v, user_end);
    EXPECT_EQ(v % 4096, 0u);
  }
  auto h = heap_of(*f, c.handle);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->stats().chunk_count, n);
  EXPECT_EQ(h->stats().committed_bytes, uint64_t{n} * (256u << 10));
}

TEST_F(HeapIoctl, GrowthUpToMaxChunksThenRefusalAndLinkOfGrownChunk) {
  auto c = heap_args(vm_id, 1, k128K, 3);
  ASSERT_EQ(heap_create(*f, c), 0);
  auto h = heap_of(*f, c.handle);
  ASSERT_TRUE(h);
  h->prepare_spares(10);  // capped at max_chunks
  EXPECT_EQ(h->stats().chunk_count + h->stats().spare_chunks, 3u);
  {
    SignallingSection s;  // growth is allocation-free
    EXPECT_TRUE(h->grow());
    EXPECT_TRUE(h->grow());
    EXPECT_FALSE(h->grow());  // chunk_count >= max_chunks
  }
  TilerHeapStats st = h->stats();
  EXPECT_EQ(st.chunk_count, 3u);
  EXPECT_EQ(st.grow_count, 2u);
  EXPECT_EQ(st.grow_refused, 1u);
  // first -> second -> third -> 0, as the GPU reads them.
  uint64_t l1 = u64_at(c.first_heap_chunk_gpu_va);
  ASSERT_NE(l1, 0u);
  EXPECT_EQ(l1 & 0xfff, k128K >> 12);
  uint64_t l2 = u64_at(l1 & ~0xfffull);
  ASSERT_NE(l2, 0u);
  EXPECT_EQ(u64_at(l2 & ~0xfffull), 0u);
}

TEST_F(HeapIoctl, GrowWithoutPreparedChunkOrInjectedFailureIsNoChunk) {
  auto c = heap_args(vm_id, 1, k128K, 8);
  ASSERT_EQ(heap_create(*f, c), 0);
  auto h = heap_of(*f, c.handle);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->grow());  // nothing prepared
  h->prepare_spares(2);
  ASSERT_TRUE(fault_inject_set("chunk_grow:nth=1"));
  EXPECT_FALSE(h->grow());
  fault_inject_clear();
  EXPECT_TRUE(h->grow());
  h->trim_spares(0);
  EXPECT_EQ(h->stats().spare_chunks, 0u);
}

TEST_F(HeapIoctl, ChunkGrowInjectionFailsCreateCleanly) {
  ASSERT_TRUE(fault_inject_set("chunk_grow:nth=2"));
  auto c = heap_args(vm_id, 3, k128K, 8);
  EXPECT_EQ(heap_create(*f, c), -ENOMEM);
  fault_inject_clear();
  size_t maps = vm->mapping_count();
  // The pool keeps its context mapping; no chunk mapping is left behind.
  auto c2 = heap_args(vm_id, 3, k128K, 8);
  ASSERT_EQ(heap_create(*f, c2), 0);
  EXPECT_EQ(c2.handle, vm_id << 16);  // id 0 was never taken
  EXPECT_EQ(vm->mapping_count(), maps + 3);
  ASSERT_EQ(heap_destroy(*f, c2.handle), 0);
  EXPECT_EQ(vm->mapping_count(), maps);
}

// ---- through GROUP_SUBMIT ----

class HeapJobs : public CsfFixture {
 public:
  // Runs `s` as one job on a fresh group's queue 0 and waits for it.
  int run(const Stream& s, unsigned slot = 0) {
    uint32_t g = make_group();
    uint32_t sync = syncobj_create(*f);
    uint32_t size = s.store(*vm, stream_va(slot));
    int r = submit1(*f, g, job(0, stream_va(slot), size, {signal_sync(sync)}));
    if (r) return r;
    r = syncobj_wait(*f, sync, 0);
    if (r) return r;
    // The job's cleanup (freeing unused spare chunks) runs after its fence
    // signalled, outside the signalling section: wait for the queue to idle.
    PanthorGroupPtr grp = panthor_priv(f->file())->lookup_group(g);
    while (grp && grp->pending()) std::this_thread::yield();
    return syncobj_error(*f, sync);
  }
};

TEST_F(HeapJobs, TilerGrowsUpToMaxChunksThenStops) {
  // 128 KiB chunks hold 31 primitives of 4 KiB after the 64-byte header.
  auto c = heap_args(vm_id, 1, k128K, 4);
  ASSERT_EQ(heap_create(*f, c), 0);
  Stream s;
  s.tiler(c.tiler_heap_ctx_gpu_va, 1000, 4096, kDataVa);
  ASSERT_EQ(run(s), 0);
  EXPECT_EQ(u32_at(kDataVa), 4u * 31);
  auto h = heap_of(*f, c.handle);
  TilerHeapStats st = h->stats();
  EXPECT_EQ(st.chunk_count, 4u);
  EXPECT_EQ(st.grow_count, 3u);
  EXPECT_GE(st.grow_refused, 1u);
  EXPECT_EQ(st.bytes_written, 4u * 31 * 4096);
  EXPECT_EQ(st.spare_chunks, 0u);
  // The primitives are in the chunks: first primitive of the first chunk.
  const uint8_t* p = vm->gpu_view(c.first_heap_chunk_gpu_va + kTilerChunkHeaderSize);
  for (uint32_t b = 0; b < 64; b++) ASSERT_EQ(p[b], tiler_pattern_byte(1, 0, b));
}

TEST_F(HeapJobs, TargetInFlightRefusesGrowth) {
  auto c = heap_args(vm_id, 2, k128K, 64, /*target_in_flight=*/0);
  ASSERT_EQ(heap_create(*f, c), 0);
  Stream s;
  s.tiler(c.tiler_heap_ctx_gpu_va, 1000, 4096, kDataVa);
  ASSERT_EQ(run(s), 0);
  // One render pass in flight > 0: only the initial chunks are used.
  EXPECT_EQ(u32_at(kDataVa), 2u * 31);
  TilerHeapStats st = heap_of(*f, c.handle)->stats();
  EXPECT_EQ(st.chunk_count, 2u);
  EXPECT_EQ(st.grow_count, 0u);
  EXPECT_GE(st.grow_refused, 1u);
  EXPECT_EQ(st.in_flight, 1u);
}

TEST_F(HeapJobs, IncrementalRenderingContinuesAfterFragment) {
  auto c = heap_args(vm_id, 1, k128K, 2);
  ASSERT_EQ(heap_create(*f, c), 0);
  Stream s;
  s.tiler(c.tiler_heap_ctx_gpu_va, 100, 4096, kDataVa);       // stores 62: no chunk
  s.fragment(c.tiler_heap_ctx_gpu_va, kDataVa + 16);          // frees chunk 2
  s.tiler(c.tiler_heap_ctx_gpu_va, 100 - 62, 4096, kDataVa + 4, 2);  // the rest
  s.fragment(c.tiler_heap_ctx_gpu_va, kDataVa + 24);
  ASSERT_EQ(run(s), 0);
  EXPECT_EQ(u32_at(kDataVa), 62u);
  EXPECT_EQ(u32_at(kDataVa + 4), 38u);
  EXPECT_NE(u64_at(kDataVa + 16), 0u);
  EXPECT_NE(u64_at(kDataVa + 16), u64_at(kDataVa + 24));
  TilerHeapStats st = heap_of(*f, c.handle)->stats();
  EXPECT_EQ(st.bytes_written, 100u * 4096);
  EXPECT_EQ(st.chunk_count, 1u);  // the fragments handed chunks back
  EXPECT_EQ(st.in_flight, 0u);
  EXPECT_EQ(st.spare_chunks, 0u);  // freed after the job
  EXPECT_EQ(u64_at(c.first_heap_chunk_gpu_va), 0u);  // first chunk's link reset
}

TEST_F(HeapJobs, FragmentChecksumCoversWhatTheTilerWrote) {
  auto c = heap_args(vm_id, 1, k128K, 8);
  ASSERT_EQ(heap_create(*f, c), 0);
  Stream s;
  s.tiler(c.tiler_heap_ctx_gpu_va, 3, 100, kDataVa, 7);
  s.fragment(c.tiler_heap_ctx_gpu_va, kDataVa + 8);
  ASSERT_EQ(run(s), 0);
  std::vector<uint8_t> expect;
  for (uint32_t i = 0; i < 3; i++)
    for (uint32_t b = 0; b < 100; b++) expect.push_back(tiler_pattern_byte(7, i, b));
  EXPECT_EQ(u64_at(kDataVa + 8), fnv1a64(expect.data(), expect.size()));
}

TEST_F(HeapJobs, TilerOnANonHeapAddressFaultsTheGroup) {
  Stream s;
  s.tiler(kDataVa, 1, 64, 0);
  EXPECT_NE(run(s), 0);
}

class HeapCommit : public HeapJobs, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(HeapCommit, CommittedStaysWithinOneChunkOfWritten) {
  const uint64_t mib = GetParam();
#if defined(WSYS_SANITIZE_THREAD)
  if (mib > 10) GTEST_SKIP() << "100 MiB of instrumented stores is too slow under TSan";
#endif
  // A big workload may take longer than the default job timeout on a slow
  // (sanitized, shared) machine: this test is about memory, not time.
  struct TimeoutGuard {
    int64_t old = job_timeout_ms();
    TimeoutGuard() { set_job_timeout_ms(120'000); }
    ~TimeoutGuard() { set_job_timeout_ms(old); }
  } guard;
  const uint32_t chunk = 2u << 20, prim = 256;
  auto c = heap_args(vm_id, 1, chunk, 1000);
  ASSERT_EQ(heap_create(*f, c), 0);
  uint32_t count = static_cast<uint32_t>((mib << 20) / prim);
  Stream s;
  s.tiler(c.tiler_heap_ctx_gpu_va, count, prim, kDataVa);
  ASSERT_EQ(run(s), 0);
  ASSERT_EQ(u32_at(kDataVa), count);
  TilerHeapStats st = heap_of(*f, c.handle)->stats();
  EXPECT_EQ(st.bytes_written, mib << 20);
  // Headers and per-chunk tails are the only slack besides the last chunk.
  uint64_t slack = uint64_t{st.chunk_count} * (kTilerChunkHeaderSize + prim);
  EXPECT_LE(st.peak_committed, st.bytes_written + chunk + slack);
  EXPECT_EQ(st.spare_chunks, 0u);
}

INSTANTIATE_TEST_SUITE_P(Workloads, HeapCommit, ::testing::Values(1u, 10u, 100u));

}  // namespace
}  // namespace wsys::sim::csftest
