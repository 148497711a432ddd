// VM_CREATE / VM_DESTROY / VM_GET_STATE / VM_BIND validation: every rule
// and errno of the kernel, at the ioctl boundary.
#include <functional>
#include <string>

#include "vm_test_util.h"

namespace wsys::sim::vmtest {
namespace {

uint64_t full_range(SimDrmFile& f) { return 1ull << va_bits(f); }
uint64_t rounddown_pow2(uint64_t v) { return 1ull << (63 - __builtin_clzll(v)); }

// --------------------------------------------------------------- VM_CREATE

TEST(VmCreate, DefaultUserRangeIsHalfOfABigVaSpace) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  const uint64_t full = full_range(*f);
  ASSERT_GT(full, 1ull << 32);  // the model's GPUs have > 32 VA bits
  uint32_t id = 0;
  uint64_t range = 0;
  ASSERT_EQ(vm_create(*f, &id, &range), 0);
  EXPECT_EQ(id, 1u);
  // TASK_SIZE (2^47) is not below the GPU range, which is over 4 GiB: half.
  EXPECT_EQ(range, full / 2);
  SimVmPtr vm = vm_of(*f, id);
  ASSERT_TRUE(vm);
  EXPECT_EQ(vm->va_size(), full);
  EXPECT_EQ(vm->user_va_start(), 0u);
  EXPECT_EQ(vm->user_va_end(), full / 2);
}

TEST(VmCreate, UserRangeRules) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  const uint64_t full = full_range(*f);
  const uint64_t kMinKernel = 256ull << 20;
  struct Case {
    const char* name;
    uint64_t request;
    int err;
    uint64_t expect;  // reported user_va_range
  };
  // The kernel reports kernel_va_start = full - rounddown_pow_of_two(full - user).
  const Case cases[] = {
      {"max allowed", full - kMinKernel, 0, full - kMinKernel},
      {"one page too many", full - kMinKernel + 4096, -EINVAL, 0},
      {"whole range", full, -EINVAL, 0},
      {"beyond the range", full * 2, -EINVAL, 0},
      {"1 GiB rounds up to the split", 1ull << 30, 0, full - rounddown_pow2(full - (1ull << 30))},
      {"just over half", full / 2 + 4096, 0, full - rounddown_pow2(full / 2 - 4096)},
      {"one page", 4096, 0, full / 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    uint32_t id = 0;
    uint64_t range = 0;
    int r = vm_create(*f, &id, &range, c.request);
    EXPECT_EQ(r, c.err);
    if (r == 0) {
      EXPECT_EQ(range, c.expect);
      SimVmPtr vm = vm_of(*f, id);
      ASSERT_TRUE(vm);
      EXPECT_EQ(vm->user_va_end(), c.expect);
      EXPECT_EQ(vm_destroy(*f, id), 0);
    }
  }
}

TEST(VmCreate, FlagsMustBeZero) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t id = 0;
  for (uint32_t flags : {1u, 2u, 0x80000000u}) {
    SCOPED_TRACE(flags);
    EXPECT_EQ(vm_create(*f, &id, nullptr, 0, flags), -EINVAL);
  }
  EXPECT_EQ(vm_of(*f, 1), nullptr);
}

TEST(VmCreate, IdsAreLowestFree1To32ThenEbusy) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  for (uint32_t want = 1; want <= 32; want++) {
    uint32_t id = 0;
    drm_panthor_vm_create c{};
    c.id = 77;  // an input value is ignored
    ASSERT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &c), 0);
    id = c.id;
    EXPECT_EQ(id, want);
  }
  uint32_t id = 0;
  // xa_alloc() with XA_LIMIT(1, 32) and no free slot: -EBUSY.
  EXPECT_EQ(vm_create(*f, &id), -EBUSY);
  EXPECT_EQ(vm_destroy(*f, 5), 0);
  EXPECT_EQ(vm_destroy(*f, 9), 0);
  ASSERT_EQ(vm_create(*f, &id), 0);
  EXPECT_EQ(id, 5u);
  ASSERT_EQ(vm_create(*f, &id), 0);
  EXPECT_EQ(id, 9u);
  EXPECT_EQ(vm_create(*f, &id), -EBUSY);
}

// -------------------------------------------------- VM_DESTROY, GET_STATE

TEST(VmDestroy, PadAndUnknownIds) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t id = 0;
  ASSERT_EQ(vm_create(*f, &id), 0);
  EXPECT_EQ(vm_destroy(*f, id, 1), -EINVAL);
  EXPECT_TRUE(vm_of(*f, id));  // a bad pad destroys nothing
  for (uint32_t bad : {0u, 2u, 32u, 33u, 0xffffffffu}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(vm_destroy(*f, bad), -EINVAL);
  }
  EXPECT_EQ(vm_destroy(*f, id), 0);
  EXPECT_EQ(vm_destroy(*f, id), -EINVAL);
  uint32_t state;
  EXPECT_EQ(vm_state(*f, id, &state), -EINVAL);
}

TEST(VmGetState, UnknownIdAndUsable) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t state = 0;
  EXPECT_EQ(vm_state(*f, 0, &state), -EINVAL);
  EXPECT_EQ(vm_state(*f, 1, &state), -EINVAL);
  EXPECT_EQ(vm_state(*f, 40, &state), -EINVAL);
  uint32_t id = 0;
  ASSERT_EQ(vm_create(*f, &id), 0);
  ASSERT_EQ(vm_state(*f, id, &state), 0);  // the helper passes state = garbage
  EXPECT_EQ(state, static_cast<uint32_t>(DRM_PANTHOR_VM_STATE_USABLE));
}

// ----------------------------------------------------------------- VM_BIND

class VmBindValidation : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panthor");
    ASSERT_TRUE(f);
    ASSERT_EQ(vm_create(*f, &vm_id, &user_end), 0);
    ASSERT_EQ(vm_create(*f, &other_vm, nullptr), 0);
    vm = vm_of(*f, vm_id);
    bo = bo_create(*f, kBoSize);
    excl_other = bo_create(*f, kBoSize, 0, other_vm);
    excl_mine = bo_create(*f, kBoSize, 0, vm_id);
    ASSERT_TRUE(bo && excl_other && excl_mine);
    empty_sync = syncobj_create(*f);
    signalled_sync = syncobj_create(*f, true);
    timeline = syncobj_create(*f);
    ASSERT_EQ(syncobj_signal(*f, timeline, 3), 0);
  }

  static constexpr uint64_t kBoSize = 64 * 1024;
  static constexpr uint64_t kVa = 0x100000;  // where a good op maps
  uint32_t fresh() { return syncobj_create(*f); }

  std::unique_ptr<SimDrmFile> f;
  uint32_t vm_id = 0, other_vm = 0;
  uint64_t user_end = 0;
  SimVmPtr vm;
  uint32_t bo = 0, excl_other = 0, excl_mine = 0;
  uint32_t empty_sync = 0, signalled_sync = 0, timeline = 0;
};

// One op, checked alone (sync and async, with and without a preceding good
// op): the errno, ops.count in sync mode, all-or-nothing in async mode.
struct OpCase {
  const char* name;
  std::function<drm_panthor_vm_bind_op(VmBindValidation&)> make;
  int sync_err;   // 1 = not applicable in sync mode
  int async_err;  // 1 = not applicable in async mode
};

class VmBindOpRules : public VmBindValidation {};

TEST_F(VmBindOpRules, EveryOpRule) {
  using V = VmBindValidation;
  const uint64_t kMapFlagsOk = DRM_PANTHOR_VM_BIND_OP_MAP_READONLY |
                               DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC |
                               DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED;
  const std::vector<OpCase> cases = {
      {"good map", [](V& t) { return map_op(t.bo, 0, 0x200000, k4K); }, 0, 0},
      {"good map, all map flags",
       [&](V& t) { return map_op(t.bo, 0, 0x200000, k4K, static_cast<uint32_t>(kMapFlagsOk)); }, 0,
       0},
      {"va not 4 KiB aligned", [](V& t) { return map_op(t.bo, 0, 0x200000 + 512, k4K); }, -EINVAL,
       -EINVAL},
      {"size not 4 KiB aligned", [](V& t) { return map_op(t.bo, 0, 0x200000, 100); }, -EINVAL,
       -EINVAL},
      {"bo_offset not 4 KiB aligned", [](V& t) { return map_op(t.bo, 16, 0x200000, k4K); },
       -EINVAL, -EINVAL},
      {"map: unknown BO handle", [](V&) { return map_op(999, 0, 0x200000, k4K); }, -EINVAL,
       -EINVAL},
      {"map: handle 0", [](V&) { return map_op(0, 0, 0x200000, k4K); }, -EINVAL, -EINVAL},
      {"map: unknown flag bit 4", [](V& t) { return map_op(t.bo, 0, 0x200000, k4K, 1u << 4); },
       -EINVAL, -EINVAL},
      {"map: MAP_SPARSE is 1.9 (model is 1.5)",
       [](V& t) {
         return map_op(t.bo, 0, 0x200000, k4K,
                       DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC);
       },
       -EINVAL, -EINVAL},
      {"type 3", [](V& t) {
         auto op = map_op(t.bo, 0, 0x200000, k4K);
         op.flags |= 3u << 28;
         return op;
       }, -EINVAL, -EINVAL},
      {"type 15", [](V& t) {
         auto op = map_op(t.bo, 0, 0x200000, k4K);
         op.flags |= 15u << 28;
         return op;
       }, -EINVAL, -EINVAL},
      {"map: size > BO", [](V& t) { return map_op(t.bo, 0, 0x200000, kBoSize + k4K); }, -EINVAL,
       -EINVAL},
      {"map: offset + size > BO", [](V& t) { return map_op(t.bo, k4K, 0x200000, kBoSize); },
       -EINVAL, -EINVAL},
      {"map: offset = BO size", [](V& t) { return map_op(t.bo, kBoSize, 0x200000, k4K); },
       -EINVAL, -EINVAL},
      {"map: whole BO at its end offset 0", [](V& t) { return map_op(t.bo, 0, 0x200000, kBoSize); },
       0, 0},
      {"map: BO private to another VM",
       [](V& t) { return map_op(t.excl_other, 0, 0x200000, k4K); }, -EINVAL, -EINVAL},
      {"map: BO private to this VM", [](V& t) { return map_op(t.excl_mine, 0, 0x200000, k4K); },
       0, 0},
      {"map: crosses the user VA end",
       [](V& t) { return map_op(t.bo, 0, t.user_end - k4K, 2 * k4K); }, -EINVAL, -EINVAL},
      {"map: at the user VA end", [](V& t) { return map_op(t.bo, 0, t.user_end, k4K); }, -EINVAL,
       -EINVAL},
      {"map: last user page", [](V& t) { return map_op(t.bo, 0, t.user_end - k4K, k4K); }, 0, 0},
      {"map: va + size wraps",
       [](V& t) { return map_op(t.bo, 0, ~uint64_t{0} - k4K + 1, 2 * k4K); }, -EINVAL, -EINVAL},
      {"unmap: READONLY flag",
       [](V&) {
         auto op = unmap_op(0x200000, k4K);
         op.flags |= DRM_PANTHOR_VM_BIND_OP_MAP_READONLY;
         return op;
       },
       -EINVAL, -EINVAL},
      {"unmap: bo_handle", [](V& t) {
         auto op = unmap_op(0x200000, k4K);
         op.bo_handle = t.bo;
         return op;
       }, -EINVAL, -EINVAL},
      {"unmap: bo_offset", [](V&) {
         auto op = unmap_op(0x200000, k4K);
         op.bo_offset = k4K;
         return op;
       }, -EINVAL, -EINVAL},
      {"unmap: nothing mapped there is fine", [](V&) { return unmap_op(0x40000000, k2M); }, 0, 0},
      {"sync-only: bo_handle", [](V& t) {
         auto op = sync_only_op();
         op.bo_handle = t.bo;
         op.size = k4K;
         return op;
       }, -EINVAL, -EINVAL},
      {"sync-only: bo_offset", [](V&) {
         auto op = sync_only_op();
         op.bo_offset = k4K;
         op.size = k4K;
         return op;
       }, -EINVAL, -EINVAL},
      {"sync-only: va", [](V&) {
         auto op = sync_only_op();
         op.va = k4K;
         op.size = k4K;
         return op;
       }, -EINVAL, -EINVAL},
      {"sync-only: size", [](V&) {
         auto op = sync_only_op();
         op.size = k4K;
         return op;
       }, -EINVAL, -EINVAL},
      {"sync-only: a map flag", [](V&) {
         auto op = sync_only_op();
         op.flags |= DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
         return op;
       }, 0, -EINVAL},  // sync: size 0, skipped
      {"sync-only with its signal", [](V&) { return sync_only_op(); }, 0, 0},
      // Synchronous quirk of the kernel: an op of size 0 is skipped before
      // any other check.
      {"sync: size 0 with junk is skipped", [](V&) {
         auto op = map_op(12345, 7, 3, 0, 1u << 20);
         return op;
       }, 0, 1},
  };

  for (const OpCase& c : cases) {
    SCOPED_TRACE(c.name);
    for (bool async : {false, true}) {
      int want = async ? c.async_err : c.sync_err;
      if (want == 1) continue;
      SCOPED_TRACE(async ? "async" : "sync");
      // A good op first: it runs (sync) or is discarded with the ioctl
      // (async) when the second fails.
      auto first = map_op(bo, 0, kVa, k4K);
      auto second = c.make(*this);
      std::vector<drm_panthor_sync_op> syncs;
      uint32_t done = 0;
      if (async) {
        done = syncobj_create(*f);
        syncs = {signal_sync(done)};
        attach(second, syncs);
      }
      uint32_t count = 0;
      int r = bind(*f, vm_id, {first, second}, async, &count);
      EXPECT_EQ(r, want);
      if (async) {
        if (want == 0) {
          if (r != 0) continue;  // reported above; nothing was queued
          EXPECT_EQ(syncobj_wait(*f, done, 0), 0);
          EXPECT_EQ(syncobj_error(*f, done), 0);
        } else {
          // All or nothing: the good op did not run, no fence published.
          EXPECT_EQ(count, 2u);
          EXPECT_FALSE(syncobj_available(*f, done)) << "a fence was published";
          EXPECT_EQ(vm->mapping_count(), 0u);
        }
      } else {
        EXPECT_EQ(count, want ? 1u : 2u);
        uint64_t start;
        SimMapping m;
        EXPECT_TRUE(vm->find_mapping(kVa, &start, &m));
      }
      uint32_t state;
      ASSERT_EQ(vm_state(*f, vm_id, &state), 0);
      EXPECT_EQ(state, static_cast<uint32_t>(DRM_PANTHOR_VM_STATE_USABLE));
      // Clean slate for the next case.
      ASSERT_EQ(unmap_sync(*f, vm_id, 0, user_end), 0);
      EXPECT_EQ(vm->mapping_count(), 0u);
    }
  }
  PageTableCounters c = vm->pt_counters();
  EXPECT_EQ(c.overruns, 0u);
  EXPECT_EQ(c.live, 1u);
  EXPECT_EQ(c.reserved, c.used + c.returned);
}

TEST_F(VmBindValidation, BadVmIdAndIgnoredBindFlags) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async);
    EXPECT_EQ(bind(*f, 0, {map_op(bo, 0, kVa, k4K)}, async), -EINVAL);
    EXPECT_EQ(bind(*f, 30, {map_op(bo, 0, kVa, k4K)}, async), -EINVAL);
    EXPECT_EQ(bind(*f, 33, {}, async), -EINVAL);  // checked before the (empty) array
  }
  // The kernel only looks at the ASYNC bit of vm_bind.flags.
  EXPECT_EQ(bind(*f, vm_id, {map_op(bo, 0, kVa, k4K)}, false, nullptr, 0xfffffffeu), 0);
  EXPECT_EQ(vm->mapping_count(), 1u);
}

TEST_F(VmBindValidation, OpArrayStrideRules) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async);
    drm_panthor_vm_bind b{};
    b.vm_id = vm_id;
    b.flags = async ? DRM_PANTHOR_VM_BIND_ASYNC : 0;
    // count 0: nothing to do, whatever the pointer.
    b.ops = {sizeof(drm_panthor_vm_bind_op), 0, 0x10};
    EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b), 0);
    // count 0 is checked before the stride (the kernel's 2024 order).
    b.ops = {0, 0, 0};
    EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b), 0);
    // stride below the op's original size (48): -EINVAL.
    auto op = map_op(bo, 0, kVa, k4K);
    b.ops = {40, 1, reinterpret_cast<uintptr_t>(&op)};
    EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b), -EINVAL);
    // A bad pointer: -EFAULT.
    b.ops = {sizeof op, 1, 0x10};
    EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b), -EFAULT);
    EXPECT_EQ(vm->mapping_count(), 0u);

    // A larger stride: element by element, the extra bytes must be zero.
    struct Big {
      drm_panthor_vm_bind_op op;
      uint64_t extra;
    } big[2] = {{map_op(bo, 0, kVa, k4K), 0}, {map_op(bo, k4K, kVa + k4K, k4K), 0}};
    b.ops = {sizeof(Big), 2, reinterpret_cast<uintptr_t>(big)};
    EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b), 0);
    if (async) {
      uint32_t s = syncobj_create(*f);
      std::vector<drm_panthor_sync_op> sy = {signal_sync(s)};
      auto fence_op = sync_only_op();
      attach(fence_op, sy);
      ASSERT_EQ(bind(*f, vm_id, {fence_op}, true), 0);
      ASSERT_EQ(syncobj_wait(*f, s, 0), 0);
    }
    EXPECT_EQ(vm->mapping_count(), 2u);
    big[1].extra = 1;
    EXPECT_EQ(f->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b), -E2BIG);
    ASSERT_EQ(unmap_sync(*f, vm_id, 0, user_end), 0);
    // Sync mode rejects before running anything: the copy comes first.
    EXPECT_EQ(vm->mapping_count(), 0u);
  }
}

TEST_F(VmBindValidation, SyncBindRejectsSyncs) {
  auto op = map_op(bo, 0, kVa, k4K);
  std::vector<drm_panthor_sync_op> syncs = {signal_sync(empty_sync)};
  attach(op, syncs);
  uint32_t count = 0;
  EXPECT_EQ(bind(*f, vm_id, {map_op(bo, 0, kVa + k4K, k4K), op}, false, &count), -EINVAL);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(vm->mapping_count(), 1u);
}

TEST_F(VmBindValidation, SyncOnlyNeedsASyncWhenAsync) {
  EXPECT_EQ(bind(*f, vm_id, {sync_only_op()}, true), -EINVAL);
  // Synchronously it has size 0 and is skipped.
  EXPECT_EQ(bind(*f, vm_id, {sync_only_op()}, false), 0);
}

TEST_F(VmBindValidation, SyncOpRules) {
  using V = VmBindValidation;
  struct SyncCase {
    const char* name;
    std::function<std::vector<drm_panthor_sync_op>(VmBindValidation&)> make;
    int err;
  };
  const std::vector<SyncCase> cases = {
      {"signal binary", [](V& t) { return std::vector{signal_sync(t.fresh())}; }, 0},
      {"signal timeline point", [](V& t) { return std::vector{signal_sync(t.fresh(), 7)}; }, 0},
      {"wait signalled binary", [](V& t) { return std::vector{wait_sync(t.signalled_sync)}; }, 0},
      {"wait timeline point 3 (submitted)", [](V& t) { return std::vector{wait_sync(t.timeline, 3)}; },
       0},
      {"wait timeline point 2 (before 3)", [](V& t) { return std::vector{wait_sync(t.timeline, 2)}; },
       0},
      {"unknown flag bit 8", [](V& t) {
         auto s = signal_sync(t.empty_sync);
         s.flags |= 1u << 8;
         return std::vector{s};
       }, -EINVAL},
      {"unknown flag bit 30 on a wait", [](V& t) {
         auto s = wait_sync(t.signalled_sync);
         s.flags |= 1u << 30;
         return std::vector{s};
       }, -EINVAL},
      {"handle type 2", [](V& t) {
         auto s = signal_sync(t.empty_sync);
         s.flags = (s.flags & ~0xffu) | 2u;
         return std::vector{s};
       }, -EINVAL},
      {"binary with a value", [](V& t) {
         auto s = signal_sync(t.empty_sync);
         s.timeline_value = 1;
         s.flags &= ~0xffu;  // SYNCOBJ
         return std::vector{s};
       }, -EINVAL},
      {"timeline type with value 0 is binary", [](V& t) {
         auto s = wait_sync(t.signalled_sync);
         s.flags |= DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ;
         return std::vector{s};
       }, 0},
      {"wait: unknown handle", [](V&) { return std::vector{wait_sync(4242)}; }, -ENOENT},
      {"signal: unknown handle", [](V&) { return std::vector{signal_sync(4242)}; }, -EINVAL},
      {"wait: syncobj without a fence", [](V& t) { return std::vector{wait_sync(t.fresh())}; },
       -EINVAL},
      {"wait: timeline point not submitted",
       [](V& t) { return std::vector{wait_sync(t.timeline, 4)}; }, -EINVAL},
      {"wait: binary wait on a timeline point of a binary syncobj",
       [](V& t) { return std::vector{wait_sync(t.signalled_sync, 1)}; }, -EINVAL},
      {"wait and signal the same empty point in one op",
       [](V& t) {
         uint32_t h = t.fresh();
         return std::vector{wait_sync(h), signal_sync(h)};
       },
       -EINVAL},
  };
  for (const SyncCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto syncs = c.make(*this);
    auto op = map_op(bo, 0, kVa, k4K);
    attach(op, syncs);
    int r = bind(*f, vm_id, {op}, true);
    EXPECT_EQ(r, c.err);
    if (r == 0) {
      // Wait for it through a signal of a fresh syncobj queued behind it.
      uint32_t s = syncobj_create(*f);
      std::vector<drm_panthor_sync_op> sy = {signal_sync(s)};
      auto fence_op = sync_only_op();
      attach(fence_op, sy);
      ASSERT_EQ(bind(*f, vm_id, {fence_op}, true), 0);
      ASSERT_EQ(syncobj_wait(*f, s, 0), 0);
      EXPECT_EQ(vm->mapping_count(), 1u);
      ASSERT_EQ(unmap_sync(*f, vm_id, 0, user_end), 0);
    } else {
      EXPECT_EQ(vm->mapping_count(), 0u);
    }
  }
}

TEST_F(VmBindValidation, SyncArrayStrideRules) {
  struct BigSync {
    drm_panthor_sync_op s;
    uint64_t extra;
  };
  BigSync big{signal_sync(empty_sync), 0};
  auto op = map_op(bo, 0, kVa, k4K);
  op.syncs = {sizeof big, 1, reinterpret_cast<uintptr_t>(&big)};
  ASSERT_EQ(bind(*f, vm_id, {op}, true), 0);
  EXPECT_EQ(syncobj_wait(*f, empty_sync, 0), 0);
  big.extra = 5;
  EXPECT_EQ(bind(*f, vm_id, {op}, true), -E2BIG);
  op.syncs = {8, 1, reinterpret_cast<uintptr_t>(&big)};
  EXPECT_EQ(bind(*f, vm_id, {op}, true), -EINVAL);
  op.syncs = {sizeof(drm_panthor_sync_op), 1, 0x20};
  EXPECT_EQ(bind(*f, vm_id, {op}, true), -EFAULT);
  // count 0 means no syncs, whatever the pointer or stride.
  op.syncs = {sizeof(drm_panthor_sync_op), 0, 0x20};
  EXPECT_EQ(bind(*f, vm_id, {op}, true), 0);
  op.syncs = {0, 0, 0};
  EXPECT_EQ(bind(*f, vm_id, {op}, true), 0);
}

TEST_F(VmBindValidation, WaitOnPointSignalledEarlierInTheSameIoctl) {
  // op0 signals (empty_sync); op1 waits on it: allowed, ordered.
  auto op0 = map_op(bo, 0, kVa, k4K);
  auto op1 = map_op(bo, k4K, kVa + k4K, k4K);
  std::vector<drm_panthor_sync_op> s0 = {signal_sync(empty_sync)};
  std::vector<drm_panthor_sync_op> s1 = {wait_sync(empty_sync), signal_sync(timeline, 10)};
  attach(op0, s0);
  attach(op1, s1);
  ASSERT_EQ(bind(*f, vm_id, {op0, op1}, true), 0);
  ASSERT_EQ(syncobj_wait(*f, timeline, 10), 0);
  EXPECT_EQ(vm->mapping_count(), 2u);
  // The other way round (the wait comes before the signal) is a wait on a
  // point with no fence yet.
  uint32_t fresh = syncobj_create(*f);
  std::vector<drm_panthor_sync_op> w = {wait_sync(fresh)};
  std::vector<drm_panthor_sync_op> s = {signal_sync(fresh)};
  auto a = unmap_op(kVa, k4K);
  auto b = unmap_op(kVa + k4K, k4K);
  attach(a, w);
  attach(b, s);
  EXPECT_EQ(bind(*f, vm_id, {a, b}, true), -EINVAL);
  EXPECT_EQ(vm->mapping_count(), 2u);
}

}  // namespace
}  // namespace wsys::sim::vmtest
