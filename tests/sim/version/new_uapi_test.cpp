// The 2026 uAPI of the model at the ioctl boundary, on the newest driver
// versions (panthor 1.9, panfrost 1.6): every new ioctl's success and each
// of its rejections, MAP_SPARSE (reads zero, stores dropped, split and
// unmap like any mapping), JM contexts, fault injection of the new ioctls.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "../vm/vm_test_util.h"
#include "drm-uapi/panfrost_drm.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/gpu_fault.h"

namespace wsys::sim::vmtest {
namespace {

using test::open_model_file;

constexpr uint32_t kNoExec = DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
constexpr uint32_t kSparse = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE;

drm_panthor_vm_bind_op sparse_op(uint64_t va, uint64_t size, uint32_t flags = kNoExec | kSparse) {
  return map_op(0, 0, va, size, flags);
}

int bo_sync(SimDrmFile& f, std::vector<drm_panthor_bo_sync_op> ops, uint32_t stride = 0) {
  drm_panthor_bo_sync s{};
  s.ops.stride = stride ? stride : sizeof(drm_panthor_bo_sync_op);
  s.ops.count = static_cast<uint32_t>(ops.size());
  s.ops.array = reinterpret_cast<uintptr_t>(ops.data());
  return f.ioctl(DRM_IOCTL_PANTHOR_BO_SYNC, &s);
}

drm_panthor_bo_sync_op sync_op(uint32_t h, uint32_t type, uint64_t off, uint64_t size) {
  drm_panthor_bo_sync_op o{};
  o.handle = h;
  o.type = type;
  o.offset = off;
  o.size = size;
  return o;
}

class PanthorNew : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = open_model_file("panthor");
    ASSERT_TRUE(f_);
  }
  SimDrmFile& f() { return *f_; }
  SimDevice& dev() { return *f_->file().device(); }
  std::unique_ptr<SimDrmFile> f_;
};

TEST_F(PanthorNew, VersionIsTheNewest) {
  EXPECT_EQ(f().version().major, 1);
  EXPECT_EQ(f().version().minor, 9);
}

// --- BO_CREATE WB_MMAP, BO_QUERY_INFO ---

TEST_F(PanthorNew, WbMmapBoIsCreatedMappableAndQueried) {
  uint32_t wb = bo_create(f(), 8192, DRM_PANTHOR_BO_WB_MMAP);
  ASSERT_NE(wb, 0u);
  uint8_t* p = bo_mmap(f(), wb, 8192);
  ASSERT_NE(p, nullptr);
  p[0] = 7;
  EXPECT_EQ(p[0], 7);
  drm_panthor_bo_query_info q{};
  q.handle = wb;
  q.pad = 0x55;  // an output: cleared
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q), 0);
  EXPECT_EQ(q.create_flags, uint32_t{DRM_PANTHOR_BO_WB_MMAP});
  EXPECT_EQ(q.extra_flags, 0u);
  EXPECT_EQ(q.pad, 0u);
  munmap(p, 8192);

  uint32_t nm = bo_create(f(), 4096, DRM_PANTHOR_BO_NO_MMAP);
  q = {};
  q.handle = nm;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q), 0);
  EXPECT_EQ(q.create_flags, uint32_t{DRM_PANTHOR_BO_NO_MMAP});

  drm_panthor_bo_create c{};
  c.size = 4096;
  c.flags = DRM_PANTHOR_BO_WB_MMAP | DRM_PANTHOR_BO_NO_MMAP;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), -EINVAL);
  q = {};
  q.handle = 999;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q), -ENOENT);
}

TEST_F(PanthorNew, QueryInfoReportsImportsFromAnotherDevice) {
  // A panfrost object imported into panthor: another device's dma-buf.
  auto pf = open_model_file("panfrost");
  ASSERT_TRUE(pf);
  drm_panfrost_create_bo c{};
  c.size = 4096;
  c.flags = PANFROST_BO_NOEXEC;
  ASSERT_EQ(pf->ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c), 0);
  drm_prime_handle e{};
  e.handle = c.handle;
  e.flags = DRM_CLOEXEC | DRM_RDWR;
  ASSERT_EQ(pf->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &e), 0);
  drm_prime_handle i{};
  i.fd = e.fd;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, &i), 0);
  close(e.fd);
  drm_panthor_bo_query_info q{};
  q.handle = i.handle;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q), 0);
  EXPECT_EQ(q.extra_flags, uint32_t{DRM_PANTHOR_BO_IS_IMPORTED});
  EXPECT_EQ(q.create_flags, 0u);
  // No CPU cache maintenance on imports.
  EXPECT_EQ(bo_sync(f(), {sync_op(i.handle, DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH, 0, 4096)}),
            -EINVAL);
}

// --- BO_SYNC ---

TEST_F(PanthorNew, BoSyncValidatesAndCountsMaintenance) {
  uint32_t wb = bo_create(f(), 8192, DRM_PANTHOR_BO_WB_MMAP);
  uint32_t wc = bo_create(f(), 8192);
  const uint32_t flush = DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH;
  const uint32_t inval = DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE;
  uint64_t before = dev().cache_sync_ops();
  EXPECT_EQ(bo_sync(f(), {}), 0);  // no ops
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, flush, 0, 8192), sync_op(wb, inval, 4096, 100)}), 0);
  EXPECT_EQ(dev().cache_sync_ops(), before + 2);
  // A write-combined object and an empty range need nothing.
  EXPECT_EQ(bo_sync(f(), {sync_op(wc, flush, 0, 8192), sync_op(wb, flush, 8192, 0)}), 0);
  EXPECT_EQ(dev().cache_sync_ops(), before + 2);

  EXPECT_EQ(bo_sync(f(), {sync_op(999, flush, 0, 1)}), -ENOENT);
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, 2, 0, 1)}), -EINVAL) << "type";
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, flush, 4096, 4097)}), -EINVAL) << "past the end";
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, flush, ~0ull, 2)}), -EINVAL) << "wraps";
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, flush, 0, 1)}, 16), -EINVAL) << "stride below 24";
  // The first bad op ends the call; the ones before it were done.
  before = dev().cache_sync_ops();
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, flush, 0, 1), sync_op(wb, 9, 0, 1)}), -EINVAL);
  EXPECT_EQ(dev().cache_sync_ops(), before + 1);
  // A larger stride with non-zero extra bytes: -E2BIG.
  struct Wide {
    drm_panthor_bo_sync_op op;
    uint64_t extra;
  } w[1] = {{sync_op(wb, flush, 0, 1), 1}};
  drm_panthor_bo_sync s{};
  s.ops.stride = sizeof(Wide);
  s.ops.count = 1;
  s.ops.array = reinterpret_cast<uintptr_t>(w);
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_SYNC, &s), -E2BIG);
  w[0].extra = 0;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_SYNC, &s), 0);
}

// --- DEV_QUERY: selected_coherency, TIMESTAMP_INFO flags, MMU_INFO ---

TEST_F(PanthorNew, GpuInfoSelectedCoherencyAndMmuInfo) {
  drm_panthor_gpu_info g;
  std::memset(&g, 0xaa, sizeof g);
  drm_panthor_dev_query q{};
  q.type = DRM_PANTHOR_DEV_QUERY_GPU_INFO;
  q.size = sizeof g;
  q.pointer = reinterpret_cast<uintptr_t>(&g);
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q), 0);
  EXPECT_EQ(g.selected_coherency, uint32_t{DRM_PANTHOR_GPU_COHERENCY_ACE_LITE});
  drm_panthor_mmu_info m{};
  q.type = DRM_PANTHOR_DEV_QUERY_MMU_INFO;
  q.size = sizeof m;
  q.pointer = reinterpret_cast<uintptr_t>(&m);
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q), 0);
  EXPECT_EQ(m.page_size_bitmap, (1ull << 12) | (1ull << 21));
}

int ts_query(SimDrmFile& f, drm_panthor_timestamp_info* t, uint32_t size = sizeof(*t)) {
  drm_panthor_dev_query q{};
  q.type = DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO;
  q.size = size;
  q.pointer = reinterpret_cast<uintptr_t>(t);
  return f.ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q);
}

TEST_F(PanthorNew, TimestampInfoFlags) {
  drm_panthor_timestamp_info t{};
  t.flags = DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC | DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT |
            DRM_PANTHOR_TIMESTAMP_DURATION;
  ASSERT_EQ(ts_query(f(), &t), 0);
  EXPECT_EQ(t.timestamp_frequency, 0u) << "FREQ not asked for";
  EXPECT_EQ(t.current_timestamp, 0u) << "GPU not asked for";
  EXPECT_NE(t.cycle_count, 0u);
  EXPECT_NE(t.cpu_timestamp_sec + t.cpu_timestamp_nsec, 0u);
  EXPECT_LT(t.cpu_timestamp_nsec, 1000000000u);
  EXPECT_EQ(t.flags, t.flags);  // the input stays

  t = {};  // flags 0: GPU | GPU_OFFSET | FREQ
  ASSERT_EQ(ts_query(f(), &t), 0);
  EXPECT_NE(t.timestamp_frequency, 0u);
  EXPECT_NE(t.current_timestamp, 0u);
  EXPECT_EQ(t.cycle_count, 0u);
  EXPECT_EQ(t.cpu_timestamp_sec, 0u);

  t = {};
  t.flags = 3u << 1;  // CPU clock type 3: unknown
  EXPECT_EQ(ts_query(f(), &t), -EINVAL);
  t.flags = 1u << 8;
  EXPECT_EQ(ts_query(f(), &t), -EINVAL);
  // The old 24-byte size still works.
  t = {};
  EXPECT_EQ(ts_query(f(), &t, 24), 0);
  EXPECT_NE(t.timestamp_frequency, 0u);
  EXPECT_EQ(ts_query(f(), &t, 23), -EINVAL);
}

// --- VM_BIND MAP_SPARSE ---

class Sparse : public PanthorNew {
 protected:
  void SetUp() override {
    PanthorNew::SetUp();
    ASSERT_EQ(vm_create(f(), &vm_), 0);
  }
  uint8_t* at(uint64_t va) { return vm_of(f(), vm_)->gpu_view(va); }
  // Runs a stream (in a BO mapped at kStreamVa) on the VM.
  int run(const std::vector<uint8_t>& bytes) {
    if (!stream_bo_) {
      stream_bo_ = bo_create(f(), 4096);
      EXPECT_EQ(map_sync(f(), vm_, stream_bo_, 0, kStreamVa, 4096), 0);
    }
    std::memcpy(at(kStreamVa), bytes.data(), bytes.size());
    return execute_stream(*vm_of(f(), vm_), kStreamVa, bytes.size(), nullptr);
  }
  static constexpr uint64_t kVa = 1ull << 30;
  static constexpr uint64_t kStreamVa = 1ull << 29;
  uint32_t vm_ = 0;
  uint32_t stream_bo_ = 0;
};

template <typename T>
void put(std::vector<uint8_t>& s, const T& c) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&c);
  s.insert(s.end(), p, p + sizeof c);
}

TEST_F(Sparse, ValidationFollowsTheKernel) {
  uint32_t bo = bo_create(f(), 4096);
  uint32_t n = 0;
  EXPECT_EQ(bind(f(), vm_, {sparse_op(kVa, k64K, kSparse)}, false, &n), -EINVAL) << "no NOEXEC";
  EXPECT_EQ(bind(f(), vm_, {map_op(bo, 0, kVa, 4096, kNoExec | kSparse)}, false), -EINVAL)
      << "a BO";
  EXPECT_EQ(bind(f(), vm_, {map_op(0, 4096, kVa, 4096, kNoExec | kSparse)}, false), -EINVAL)
      << "a bo_offset";
  EXPECT_EQ(bind(f(), vm_, {sparse_op(kVa + 1, 4096)}, false), -EINVAL) << "misaligned";
  EXPECT_EQ(vm_of(f(), vm_)->mapping_count(), 0u);
  // Read-only, uncached: allowed with it.
  EXPECT_EQ(bind(f(), vm_,
                 {sparse_op(kVa, k64K, kNoExec | kSparse | DRM_PANTHOR_VM_BIND_OP_MAP_READONLY |
                                           DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED)},
                 false),
            0);
  EXPECT_EQ(vm_of(f(), vm_)->mapping_count(), 1u);
}

TEST_F(Sparse, ReadsZeroAndDropsWrites) {
  const uint64_t size = 64ull << 20;  // one mmap whatever the size
  ASSERT_EQ(bind(f(), vm_, {sparse_op(kVa, size)}, false), 0);
  EXPECT_NE(vm_of(f(), vm_)->pt_leaf(kVa), 0) << "in the page tables like any map";
  for (uint64_t off : {uint64_t{0}, uint64_t{4096}, size / 2, size - 8}) {
    uint64_t v = ~0ull;
    std::memcpy(&v, at(kVa + off), 8);
    EXPECT_EQ(v, 0u) << off;
  }
  // GPU stores: WRITE64 and FILL over several pages, then CHECKSUM and a
  // copy back into a real BO: everything still reads zero.
  uint32_t out = bo_create(f(), 3 * 4096);
  const uint64_t out_va = kVa + size + k2M;
  ASSERT_EQ(map_sync(f(), vm_, out, 0, out_va, 3 * 4096), 0);
  const uint64_t before = gpu_fault_counters().sparse_writes;
  std::vector<uint8_t> s;
  put(s, SimCmdWrite64{{kCmdWrite64, sizeof(SimCmdWrite64)}, kVa + 8, 0x1122334455667788ull});
  put(s, SimCmdFill{{kCmdFill, sizeof(SimCmdFill)}, kVa + 4096, 20 * 4096, 0xabababab, 0});
  put(s, SimCmdCopy{{kCmdCopy, sizeof(SimCmdCopy)}, out_va, kVa, 2 * 4096});
  put(s, SimCmdChecksum{{kCmdChecksum, sizeof(SimCmdChecksum)}, kVa, 8 * 4096, out_va + 2 * 4096});
  ASSERT_EQ(run(s), 0);
  EXPECT_GE(gpu_fault_counters().sparse_writes, before + 21);
  std::vector<uint8_t> zeros(8 * 4096, 0);
  uint64_t sum = 0;
  std::memcpy(&sum, at(out_va + 2 * 4096), 8);
  EXPECT_EQ(sum, fnv1a64(zeros.data(), zeros.size()));
  EXPECT_EQ(std::memcmp(at(out_va), zeros.data(), 2 * 4096), 0);
  for (uint64_t off = 0; off < 24 * 4096; off += 4096) {
    uint64_t v = ~0ull;
    std::memcpy(&v, at(kVa + off + 8), 8);
    EXPECT_EQ(v, 0u) << "a store survived at " << off;
  }
  // The process was never harmed: a job fault would have failed run().
}

TEST_F(Sparse, SplitsUnmapsAndIsReplacedLikeAnyMapping) {
  ASSERT_EQ(bind(f(), vm_, {sparse_op(kVa, 16 * 4096)}, false), 0);
  // Map a real BO over the middle: three mappings.
  uint32_t bo = bo_create(f(), 4 * 4096);
  ASSERT_EQ(map_sync(f(), vm_, bo, 0, kVa + 4 * 4096, 4 * 4096), 0);
  EXPECT_EQ(vm_of(f(), vm_)->mapping_count(), 3u);
  std::memset(at(kVa + 4 * 4096), 0x5a, 4 * 4096);
  EXPECT_EQ(at(kVa + 5 * 4096)[3], 0x5a);
  // A partial unmap of the tail of the sparse head.
  ASSERT_EQ(unmap_sync(f(), vm_, kVa + 2 * 4096, 2 * 4096), 0);
  EXPECT_EQ(vm_of(f(), vm_)->pt_leaf(kVa + 2 * 4096), 0);
  EXPECT_EQ(vm_of(f(), vm_)->pt_leaf(kVa), 1);
  EXPECT_EQ(at(kVa)[0], 0);
  // Sparse over the BO again: its contents are no longer visible there.
  ASSERT_EQ(bind(f(), vm_, {sparse_op(kVa + 4 * 4096, 4 * 4096)}, false), 0);
  EXPECT_EQ(at(kVa + 5 * 4096)[3], 0);
  uint64_t start = 0;
  SimMapping m;
  ASSERT_TRUE(vm_of(f(), vm_)->find_mapping(kVa + 5 * 4096, &start, &m));
  EXPECT_TRUE(m.flags & kSimMapSparse);
  EXPECT_EQ(m.bo, nullptr);
  // Unmap everything.
  ASSERT_EQ(unmap_sync(f(), vm_, kVa, 16 * 4096), 0);
  EXPECT_EQ(vm_of(f(), vm_)->mapping_count(), 0u);
}

TEST_F(Sparse, AsyncBindReservesLikeAMap) {
  uint32_t so = syncobj_create(f());
  std::vector<drm_panthor_sync_op> syncs{signal_sync(so)};
  drm_panthor_vm_bind_op op = sparse_op(kVa, k2M);
  attach(op, syncs);
  ASSERT_EQ(bind(f(), vm_, {op}, true), 0);
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&so);
  w.count_handles = 1;
  w.timeout_nsec = INT64_MAX;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w), 0);
  EXPECT_EQ(vm_of(f(), vm_)->mapping_count(), 1u);
  EXPECT_EQ(at(kVa + 4096)[0], 0);
}

// --- fault injection covers the new ioctls ---

TEST_F(PanthorNew, FaultInjectionCoversTheNewIoctls) {
  uint32_t wb = bo_create(f(), 4096, DRM_PANTHOR_BO_WB_MMAP);
  ASSERT_TRUE(fault_inject_set("ioctl:BO_SYNC:nth=1:errno=5;ioctl:BO_QUERY_INFO:nth=1:errno=5"));
  EXPECT_EQ(bo_sync(f(), {sync_op(wb, DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH, 0, 1)}), -EIO);
  drm_panthor_bo_query_info q{};
  q.handle = wb;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q), -EIO);
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q), 0);
  EXPECT_EQ(fault_inject_failures("ioctl:BO_SYNC"), 1u);
  // MAP_SPARSE reserves page tables like any map: pt_reserve fails it.
  uint32_t vm = 0;
  ASSERT_EQ(vm_create(f(), &vm), 0);
  ASSERT_TRUE(fault_inject_set("pt_reserve:nth=1"));
  EXPECT_EQ(bind(f(), vm, {sparse_op(1ull << 30, 4096)}, false), -ENOMEM);
  EXPECT_EQ(vm_of(f(), vm)->mapping_count(), 0u);
  fault_inject_clear();
}

// --- panfrost 1.5 / 1.6 ---

class PanfrostNew : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = open_model_file("panfrost");
    ASSERT_TRUE(f_);
  }
  SimDrmFile& f() { return *f_; }
  int ctx_create(uint32_t prio, uint32_t* h) {
    drm_panfrost_jm_ctx_create c{};
    c.priority = prio;
    int r = f().ioctl(DRM_IOCTL_PANFROST_JM_CTX_CREATE, &c);
    if (!r) *h = c.handle;
    return r;
  }
  int ctx_destroy(uint32_t h, uint32_t pad = 0) {
    drm_panfrost_jm_ctx_destroy d{};
    d.handle = h;
    d.pad = pad;
    return f().ioctl(DRM_IOCTL_PANFROST_JM_CTX_DESTROY, &d);
  }
  uint32_t bo(uint32_t flags, uint64_t* va = nullptr) {
    drm_panfrost_create_bo c{};
    c.size = 4096;
    c.flags = flags;
    EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c), 0);
    if (va) *va = c.offset;
    return c.handle;
  }
  // A job that writes `value` at `dst` and ends; returns its jc.
  uint64_t job(uint64_t dst, uint32_t value) {
    uint64_t va = 0;
    uint32_t h = bo(0, &va);
    std::vector<uint8_t> s;
    put(s, SimCmdWrite32{{kCmdWrite32, sizeof(SimCmdWrite32)}, dst, value, 0});
    put(s, SimCmdHeader{kCmdEnd, 8});
    std::memcpy(f().file().panfrost_vm()->gpu_view(va), s.data(), s.size());
    (void)h;
    return va;
  }
  int submit(uint64_t jc, uint32_t ctx, uint32_t out_sync, unsigned long cmd = DRM_IOCTL_PANFROST_SUBMIT,
             uint32_t pad = 0) {
    drm_panfrost_submit s{};
    s.jc = jc;
    s.out_sync = out_sync;
    s.jm_ctx_handle = ctx;
    s.pad = pad;
    return f().ioctl(cmd, &s);
  }
  int wait(uint32_t so) {
    drm_syncobj_wait w{};
    w.handles = reinterpret_cast<uintptr_t>(&so);
    w.count_handles = 1;
    w.timeout_nsec = INT64_MAX;
    return f().ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w);
  }
  std::unique_ptr<SimDrmFile> f_;
};

TEST_F(PanfrostNew, VersionIsTheNewest) { EXPECT_EQ(f().version().minor, 6); }

TEST_F(PanfrostNew, JmContextsCreateDestroyAndRefusals) {
  uint32_t a = 0, b = 0;
  ASSERT_EQ(ctx_create(PANFROST_JM_CTX_PRIORITY_LOW, &a), 0);
  ASSERT_EQ(ctx_create(PANFROST_JM_CTX_PRIORITY_MEDIUM, &b), 0);
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(ctx_create(3, &b), -EINVAL) << "unknown priority";
  drm_panfrost_get_param p{};
  p.param = DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &p), 0);
  uint32_t h = 0;
  EXPECT_EQ(ctx_create(PANFROST_JM_CTX_PRIORITY_HIGH, &h),
            (p.value & (1u << PANFROST_JM_CTX_PRIORITY_HIGH)) ? 0 : -EACCES);
  EXPECT_EQ(ctx_destroy(0), -EINVAL) << "the default context";
  EXPECT_EQ(ctx_destroy(a, 1), -EINVAL) << "pad";
  EXPECT_EQ(ctx_destroy(a), 0);
  EXPECT_EQ(ctx_destroy(a), -EINVAL) << "gone";
  EXPECT_EQ(ctx_destroy(777), -EINVAL);
}

TEST_F(PanfrostNew, SubmitOnAContext) {
  uint64_t dva = 0;
  uint32_t dst = bo(PANFROST_BO_NOEXEC, &dva);
  (void)dst;
  uint8_t* d = f().file().panfrost_vm()->gpu_view(dva);
  drm_syncobj_create sc{};
  ASSERT_EQ(f().ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &sc), 0);
  uint32_t ctx = 0;
  ASSERT_EQ(ctx_create(PANFROST_JM_CTX_PRIORITY_LOW, &ctx), 0);
  ASSERT_EQ(submit(job(dva, 0x11), ctx, sc.handle), 0);
  ASSERT_EQ(wait(sc.handle), 0);
  EXPECT_EQ(d[0], 0x11);
  // 0: the default context; the 40-byte layout still works.
  ASSERT_EQ(submit(job(dva, 0x22), 0, sc.handle), 0);
  ASSERT_EQ(wait(sc.handle), 0);
  EXPECT_EQ(d[0], 0x22);
  ASSERT_EQ(submit(job(dva, 0x33), 0, sc.handle, DRM_IOCTL_PANFROST_SUBMIT_V1), 0);
  ASSERT_EQ(wait(sc.handle), 0);
  EXPECT_EQ(d[0], 0x33);
  // An unknown or destroyed context, a non-zero pad: -EINVAL.
  EXPECT_EQ(submit(job(dva, 0x44), 99, 0), -EINVAL);
  EXPECT_EQ(submit(job(dva, 0x44), 0, 0, DRM_IOCTL_PANFROST_SUBMIT, 1), -EINVAL);
  ASSERT_EQ(ctx_destroy(ctx), 0);
  EXPECT_EQ(submit(job(dva, 0x44), ctx, 0), -EINVAL);
  EXPECT_EQ(d[0], 0x33);
}

int sync_bo(SimDrmFile& f, std::vector<drm_panfrost_bo_sync_op> ops, uint32_t pad = 0) {
  drm_panfrost_sync_bo s{};
  s.ops = reinterpret_cast<uintptr_t>(ops.data());
  s.op_count = static_cast<uint32_t>(ops.size());
  s.pad = pad;
  return f.ioctl(DRM_IOCTL_PANFROST_SYNC_BO, &s);
}

TEST_F(PanfrostNew, WbMmapSyncBoAndQueryBoInfo) {
  uint32_t wb = bo(PANFROST_BO_WB_MMAP | PANFROST_BO_NOEXEC);
  uint32_t heap = 0;
  {
    drm_panfrost_create_bo c{};
    c.size = 4096;
    c.flags = PANFROST_BO_HEAP | PANFROST_BO_NOEXEC;
    ASSERT_EQ(f().ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c), 0);
    heap = c.handle;
  }
  drm_panfrost_query_bo_info q{};
  q.handle = wb;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q), 0);
  EXPECT_EQ(q.create_flags, uint32_t{PANFROST_BO_WB_MMAP | PANFROST_BO_NOEXEC});
  EXPECT_EQ(q.extra_flags, 0u);
  q = {};
  q.handle = heap;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q), 0);
  EXPECT_EQ(q.create_flags, uint32_t{PANFROST_BO_HEAP | PANFROST_BO_NOEXEC});
  q.handle = 4242;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q), -ENOENT);

  SimDevice& dev = *f().file().device();
  const uint32_t flush = PANFROST_BO_SYNC_CPU_CACHE_FLUSH;
  uint64_t before = dev.cache_sync_ops();
  EXPECT_EQ(sync_bo(f(), {}), 0);
  EXPECT_EQ(sync_bo(f(), {{wb, flush, 0, 4096}, {wb, PANFROST_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE, 64, 64}}), 0);
  EXPECT_EQ(dev.cache_sync_ops(), before + 2);
  EXPECT_EQ(sync_bo(f(), {{wb, flush, 0, 4096}}, 1), -EINVAL) << "pad";
  EXPECT_EQ(sync_bo(f(), {{99, flush, 0, 1}}), -ENOENT);
  EXPECT_EQ(sync_bo(f(), {{wb, 7, 0, 1}}), -EINVAL) << "type";
  EXPECT_EQ(sync_bo(f(), {{wb, flush, 4000, 100}}), -EINVAL) << "past the end";
  EXPECT_EQ(sync_bo(f(), {{wb, flush, 0xffffff00u, 0x200}}), -EINVAL) << "wraps";
  drm_panfrost_sync_bo bad{};
  bad.ops = 8;  // unreadable
  bad.op_count = 1;
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_SYNC_BO, &bad), -EFAULT);

  drm_panfrost_get_param p{};
  p.param = DRM_PANFROST_PARAM_SELECTED_COHERENCY;
  ASSERT_EQ(f().ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &p), 0);
  EXPECT_EQ(p.value, uint64_t{DRM_PANFROST_GPU_COHERENCY_ACE_LITE});
}

TEST_F(PanfrostNew, FaultInjectionCoversTheNewIoctls) {
  ASSERT_TRUE(fault_inject_set(
      "ioctl:JM_CTX_CREATE:nth=1:errno=5;ioctl:JM_CTX_DESTROY:nth=1:errno=5;"
      "ioctl:SYNC_BO:nth=1:errno=5;ioctl:QUERY_BO_INFO:nth=1:errno=5"));
  uint32_t h = 0;
  EXPECT_EQ(ctx_create(0, &h), -EIO);
  ASSERT_EQ(ctx_create(0, &h), 0);
  EXPECT_EQ(ctx_destroy(h), -EIO);
  EXPECT_EQ(ctx_destroy(h), 0);
  EXPECT_EQ(sync_bo(f(), {}), -EIO);
  drm_panfrost_query_bo_info q{};
  q.handle = bo(0);
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q), -EIO);
  EXPECT_EQ(f().ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q), 0);
  fault_inject_clear();
}

}  // namespace
}  // namespace wsys::sim::vmtest
