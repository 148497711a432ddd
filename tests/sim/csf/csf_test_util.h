// Helpers for the sim_csf tests: panthor groups, submits, tiler heaps and
// command streams written into GPU memory.
#pragma once

#include <cstring>
#include <vector>

#include "vm/vm_test_util.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/tiler_heap.h"

namespace wsys::sim::csftest {

using namespace vmtest;

inline drm_panthor_queue_create queue(uint8_t prio = 0, uint32_t ring = 16384) {
  drm_panthor_queue_create q{};
  q.priority = prio;
  q.ringbuf_size = ring;
  return q;
}

struct GroupArgs {
  std::vector<drm_panthor_queue_create> queues{queue()};
  drm_panthor_group_create c{};
};

inline GroupArgs group_args(SimDrmFile& f, uint32_t vm_id, uint32_t nqueues = 1) {
  GroupArgs a;
  a.queues.assign(nqueues, queue());
  const GpuIdentity& gpu = f.file().device()->gpu();
  a.c.max_compute_cores = 1;
  a.c.max_fragment_cores = 1;
  a.c.max_tiler_cores = 1;
  a.c.priority = PANTHOR_GROUP_PRIORITY_MEDIUM;
  a.c.compute_core_mask = gpu.shader_present;
  a.c.fragment_core_mask = gpu.shader_present;
  a.c.tiler_core_mask = gpu.tiler_present;
  a.c.vm_id = vm_id;
  return a;
}

inline int group_create(SimDrmFile& f, GroupArgs& a, uint32_t* handle = nullptr) {
  a.c.queues.stride = sizeof(drm_panthor_queue_create);
  a.c.queues.count = static_cast<uint32_t>(a.queues.size());
  a.c.queues.array = reinterpret_cast<uintptr_t>(a.queues.data());
  int r = f.ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &a.c);
  if (r == 0 && handle) *handle = a.c.group_handle;
  return r;
}

inline int group_destroy(SimDrmFile& f, uint32_t h, uint32_t pad = 0) {
  drm_panthor_group_destroy d{};
  d.group_handle = h;
  d.pad = pad;
  return f.ioctl(DRM_IOCTL_PANTHOR_GROUP_DESTROY, &d);
}

inline int group_state(SimDrmFile& f, uint32_t h, uint32_t* state, uint32_t* fatal_queues,
                       uint32_t pad = 0) {
  drm_panthor_group_get_state s{};
  s.group_handle = h;
  s.pad = pad;
  int r = f.ioctl(DRM_IOCTL_PANTHOR_GROUP_GET_STATE, &s);
  if (state) *state = s.state;
  if (fatal_queues) *fatal_queues = s.fatal_queues;
  return r;
}

struct Submit {
  drm_panthor_queue_submit q{};
  std::vector<drm_panthor_sync_op> syncs;
};

inline Submit job(uint32_t queue_index, uint64_t va, uint32_t size,
                  std::vector<drm_panthor_sync_op> syncs = {}) {
  Submit s;
  s.q.queue_index = queue_index;
  s.q.stream_addr = va;
  s.q.stream_size = size;
  s.syncs = std::move(syncs);
  return s;
}

inline int submit(SimDrmFile& f, uint32_t group, std::vector<Submit>& subs, uint32_t pad = 0) {
  std::vector<drm_panthor_queue_submit> qs;
  for (Submit& s : subs) {
    s.q.syncs.stride = sizeof(drm_panthor_sync_op);
    s.q.syncs.count = static_cast<uint32_t>(s.syncs.size());
    s.q.syncs.array = reinterpret_cast<uintptr_t>(s.syncs.data());
    qs.push_back(s.q);
  }
  drm_panthor_group_submit g{};
  g.group_handle = group;
  g.pad = pad;
  g.queue_submits.stride = sizeof(drm_panthor_queue_submit);
  g.queue_submits.count = static_cast<uint32_t>(qs.size());
  g.queue_submits.array = reinterpret_cast<uintptr_t>(qs.data());
  return f.ioctl(DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &g);
}

inline int submit1(SimDrmFile& f, uint32_t group, Submit s) {
  std::vector<Submit> v{std::move(s)};
  return submit(f, group, v);
}

struct HeapArgs {
  drm_panthor_tiler_heap_create c{};
};

inline drm_panthor_tiler_heap_create heap_args(uint32_t vm_id, uint32_t initial = 1,
                                               uint32_t chunk = 128u << 10, uint32_t max = 64,
                                               uint32_t target = 65535) {
  drm_panthor_tiler_heap_create c{};
  c.vm_id = vm_id;
  c.initial_chunk_count = initial;
  c.chunk_size = chunk;
  c.max_chunks = max;
  c.target_in_flight = target;
  return c;
}

inline int heap_create(SimDrmFile& f, drm_panthor_tiler_heap_create& c) {
  return f.ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, &c);
}

inline int heap_destroy(SimDrmFile& f, uint32_t handle, uint32_t pad = 0) {
  drm_panthor_tiler_heap_destroy d{};
  d.handle = handle;
  d.pad = pad;
  return f.ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, &d);
}

// The model's heap object behind a handle (statistics have no ABI).
inline std::shared_ptr<TilerHeap> heap_of(SimDrmFile& f, uint32_t handle) {
  PanthorFilePriv* p = panthor_priv(f.file());
  if (!p) return nullptr;
  uint32_t vm_id = handle >> 16;
  auto pool = p->heap_pool(f.file().device(), vm_id, vm_of(f, vm_id), false, nullptr);
  return pool ? pool->get(handle & 0xffff) : nullptr;
}

// A command stream built in a CPU buffer, then copied into GPU memory.
class Stream {
 public:
  template <typename T>
  void add(T cmd, uint32_t op) {
    cmd.hdr.opcode = op;
    cmd.hdr.size = sizeof(T);
    size_t off = bytes_.size();
    bytes_.resize(off + sizeof(T));
    std::memcpy(bytes_.data() + off, &cmd, sizeof(T));
  }
  void write32(uint64_t va, uint32_t v) {
    SimCmdWrite32 c{};
    c.va = va;
    c.value = v;
    add(c, kCmdWrite32);
  }
  void copy(uint64_t dst, uint64_t src, uint64_t size) {
    SimCmdCopy c{};
    c.dst_va = dst;
    c.src_va = src;
    c.size = size;
    add(c, kCmdCopy);
  }
  void sleep_ns(uint64_t ns) {
    SimCmdSleep c{};
    c.ns = ns;
    add(c, kCmdSleep);
  }
  void nop() {
    SimCmdHeader h{kCmdNop, 8};
    size_t off = bytes_.size();
    bytes_.resize(off + 8);
    std::memcpy(bytes_.data() + off, &h, 8);
  }
  void hang() {
    SimCmdHeader h{kCmdHang, 8};
    size_t off = bytes_.size();
    bytes_.resize(off + 8);
    std::memcpy(bytes_.data() + off, &h, 8);
  }
  void tiler(uint64_t heap_ctx, uint32_t count, uint32_t prim, uint64_t result_va,
             uint32_t seed = 1) {
    SimCmdTiler c{};
    c.heap_va = heap_ctx;
    c.count = count;
    c.prim_size = prim;
    c.result_va = result_va;
    c.seed = seed;
    add(c, kCmdTiler);
  }
  void fragment(uint64_t heap_ctx, uint64_t result_va) {
    SimCmdFragment c{};
    c.heap_va = heap_ctx;
    c.result_va = result_va;
    add(c, kCmdFragment);
  }
  uint32_t size() const { return static_cast<uint32_t>(bytes_.size()); }
  // Copies the stream to GPU VA `va` (through the VM's view); returns its size.
  uint32_t store(SimVm& vm, uint64_t va) const {
    std::memcpy(vm.gpu_view(va), bytes_.data(), bytes_.size());
    return size();
  }

 private:
  std::vector<uint8_t> bytes_;
};

// A panthor file with one VM and a 1 MiB scratch BO mapped at kScratchVa:
// streams at kStreamVa (+ 4 KiB per slot), data from kDataVa.
class CsfFixture : public ::testing::Test {
 public:
  static constexpr uint64_t kScratchVa = 0x1000000;
  static constexpr uint64_t kScratchSize = 1ull << 20;
  static constexpr uint64_t kStreamVa = kScratchVa;
  static constexpr uint64_t kDataVa = kScratchVa + (512u << 10);

  void SetUp() override {
    f = open_model_file("panthor");
    ASSERT_TRUE(f);
    ASSERT_EQ(vm_create(*f, &vm_id, &user_end), 0);
    vm = vm_of(*f, vm_id);
    ASSERT_TRUE(vm);
    bo = bo_create(*f, kScratchSize);
    ASSERT_NE(bo, 0u);
    ASSERT_EQ(map_sync(*f, vm_id, bo, 0, kScratchVa, kScratchSize), 0);
  }
  uint64_t stream_va(unsigned slot) const { return kStreamVa + slot * 4096ull; }
  uint32_t u32_at(uint64_t va) const {
    uint32_t v;
    std::memcpy(&v, vm->gpu_view(va), 4);
    return v;
  }
  uint64_t u64_at(uint64_t va) const {
    uint64_t v;
    std::memcpy(&v, vm->gpu_view(va), 8);
    return v;
  }
  uint32_t make_group(uint32_t nqueues = 1) {
    GroupArgs a = group_args(*f, vm_id, nqueues);
    uint32_t h = 0;
    EXPECT_EQ(group_create(*f, a, &h), 0);
    return h;
  }

  std::unique_ptr<SimDrmFile> f;
  uint32_t vm_id = 0;
  uint64_t user_end = 0;
  SimVmPtr vm;
  uint32_t bo = 0;
};

}  // namespace wsys::sim::csftest
