// GPU views: what a VM maps is what the "GPU" (a CPU access at
// gpu_view(va)) sees, in both directions; unmapped and read-only ranges
// refuse access; mapping over a range replaces it with drm_gpuvm's split
// semantics; VMs are private to their file; destroy releases everything.
#include "vm_test_util.h"

namespace wsys::sim::vmtest {
namespace {

class VmMap : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panthor");
    ASSERT_TRUE(f);
    ASSERT_EQ(vm_create(*f, &vm_id, &user_end), 0);
    vm = vm_of(*f, vm_id);
    ASSERT_TRUE(vm);
  }

  std::unique_ptr<SimDrmFile> f;
  uint32_t vm_id = 0;
  uint64_t user_end = 0;
  SimVmPtr vm;
};

TEST_F(VmMap, CpuWritesAreSeenByTheGpuAndBack) {
  const uint64_t size = 16 * k4K;
  uint32_t bo = bo_create(*f, size);
  uint8_t* cpu = bo_mmap(*f, bo, size);
  ASSERT_TRUE(cpu);
  for (uint64_t i = 0; i < size; i++) cpu[i] = static_cast<uint8_t>(i * 7 + 3);
  // Map the BO's pages 4..11 at a VA that is not the BO's start.
  const uint64_t va = 0x12345000, off = 4 * k4K, len = 8 * k4K;
  ASSERT_EQ(map_sync(*f, vm_id, bo, off, va, len), 0);
  uint8_t* gpu = vm->gpu_view(va);
  ASSERT_TRUE(gpu);
  for (uint64_t i = 0; i < len; i++)
    ASSERT_EQ(gpu[i], static_cast<uint8_t>((off + i) * 7 + 3)) << i;
  // GPU -> CPU.
  std::memset(gpu + k4K, 0xab, 100);
  for (uint64_t i = 0; i < 100; i++) ASSERT_EQ(cpu[off + k4K + i], 0xab);
  munmap(cpu, size);
}

TEST_F(VmMap, UnmapMakesTheRangeInaccessible) {
  VMTEST_REQUIRE_PROBES();
  uint32_t bo = bo_create(*f, 4 * k4K);
  const uint64_t va = 0x40000000;
  EXPECT_EQ(probe_read(vm->gpu_view(va)), 0) << "nothing mapped yet";
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, va, 4 * k4K), 0);
  for (int p = 0; p < 4; p++) EXPECT_EQ(probe_write(vm->gpu_view(va + p * k4K)), 1);
  ASSERT_EQ(unmap_sync(*f, vm_id, va + k4K, 2 * k4K), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(va)), 1);
  EXPECT_EQ(probe_read(vm->gpu_view(va + k4K)), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(va + 2 * k4K)), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(va + 3 * k4K)), 1);
  ASSERT_EQ(unmap_sync(*f, vm_id, va, 4 * k4K), 0);
  for (int p = 0; p < 4; p++) EXPECT_EQ(probe_read(vm->gpu_view(va + p * k4K)), 0);
  EXPECT_EQ(vm->mapping_count(), 0u);
}

TEST_F(VmMap, ReadOnlyMappingIsNotWritable) {
  VMTEST_REQUIRE_PROBES();
  const uint64_t size = 2 * k4K;
  uint32_t bo = bo_create(*f, size);
  uint8_t* cpu = bo_mmap(*f, bo, size);
  ASSERT_TRUE(cpu);
  cpu[0] = 0x5a;
  const uint64_t ro = 0x100000, rw = 0x200000;
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, ro, size,
                     DRM_PANTHOR_VM_BIND_OP_MAP_READONLY | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC),
            0);
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, rw, size, DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED), 0);
  EXPECT_EQ(probe_read(vm->gpu_view(ro)), 1);
  EXPECT_EQ(vm->gpu_view(ro)[0], 0x5a);
  EXPECT_EQ(probe_write(vm->gpu_view(ro)), 0);
  EXPECT_EQ(probe_write(vm->gpu_view(ro + k4K)), 0);
  EXPECT_EQ(probe_write(vm->gpu_view(rw)), 1);
  // The flags are recorded on the mapping.
  uint64_t start;
  SimMapping m;
  ASSERT_TRUE(vm->find_mapping(ro + k4K, &start, &m));
  EXPECT_EQ(start, ro);
  EXPECT_EQ(m.flags, kSimMapReadOnly | kSimMapNoExec);
  ASSERT_TRUE(vm->find_mapping(rw, &start, &m));
  EXPECT_EQ(m.flags, uint32_t{kSimMapUncached});
  munmap(cpu, size);
}

TEST_F(VmMap, MappingOverARangeReplacesItWithSplitRemnants) {
  const uint64_t size = 16 * k4K;
  uint32_t a = bo_create(*f, size), b = bo_create(*f, size);
  uint8_t* ca = bo_mmap(*f, a, size);
  uint8_t* cb = bo_mmap(*f, b, size);
  ASSERT_TRUE(ca && cb);
  fill_tags(ca, 1, size);
  fill_tags(cb, 2, size);
  const uint64_t va = 0x800000;
  ASSERT_EQ(map_sync(*f, vm_id, a, 0, va, 8 * k4K), 0);
  // B over pages 2..4 of A's mapping: A keeps a head and a tail.
  ASSERT_EQ(map_sync(*f, vm_id, b, 10 * k4K, va + 2 * k4K, 3 * k4K), 0);
  EXPECT_EQ(vm->mapping_count(), 3u);
  const uint64_t expect[8] = {page_tag(1, 0),  page_tag(1, 1),  page_tag(2, 10), page_tag(2, 11),
                              page_tag(2, 12), page_tag(1, 5), page_tag(1, 6),  page_tag(1, 7)};
  for (int p = 0; p < 8; p++) EXPECT_EQ(read_tag(vm->gpu_view(va + p * k4K)), expect[p]) << p;
  uint64_t start;
  SimMapping m;
  ASSERT_TRUE(vm->find_mapping(va + 6 * k4K, &start, &m));
  EXPECT_EQ(start, va + 5 * k4K);
  EXPECT_EQ(m.size, 3 * k4K);
  EXPECT_EQ(m.bo_offset, 5 * k4K);
  // A map covering the end of one mapping and the start of the next.
  ASSERT_EQ(map_sync(*f, vm_id, a, 14 * k4K, va + 4 * k4K, 2 * k4K), 0);
  EXPECT_EQ(read_tag(vm->gpu_view(va + 3 * k4K)), page_tag(2, 11));
  EXPECT_EQ(read_tag(vm->gpu_view(va + 4 * k4K)), page_tag(1, 14));
  EXPECT_EQ(read_tag(vm->gpu_view(va + 5 * k4K)), page_tag(1, 15));
  EXPECT_EQ(read_tag(vm->gpu_view(va + 6 * k4K)), page_tag(1, 6));
  EXPECT_EQ(vm->mapping_count(), 4u);
  // Unmapping a hole in the middle of one mapping leaves two.
  ASSERT_EQ(unmap_sync(*f, vm_id, 0, user_end), 0);
  ASSERT_EQ(map_sync(*f, vm_id, a, 0, va, 8 * k4K), 0);
  ASSERT_EQ(unmap_sync(*f, vm_id, va + 3 * k4K, 2 * k4K), 0);
  EXPECT_EQ(vm->mapping_count(), 2u);
  ASSERT_TRUE(vm->find_mapping(va + 5 * k4K, &start, &m));
  EXPECT_EQ(start, va + 5 * k4K);
  EXPECT_EQ(m.bo_offset, 5 * k4K);
  EXPECT_EQ(read_tag(vm->gpu_view(va + 7 * k4K)), page_tag(1, 7));
  munmap(ca, size);
  munmap(cb, size);
}

TEST_F(VmMap, MappingsHoldTheBo) {
  SimDevice* dev = f->file().device();
  const uint64_t before = dev->live_bos();
  uint32_t bo = bo_create(*f, 4 * k4K);
  uint8_t* cpu = bo_mmap(*f, bo, 4 * k4K);
  ASSERT_TRUE(cpu);
  cpu[k4K] = 0x77;
  munmap(cpu, 4 * k4K);
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 0x100000, 4 * k4K), 0);
  ASSERT_EQ(gem_close(*f, bo), 0);
  // The handle is gone but the mapping keeps the object (pinned pages).
  EXPECT_EQ(dev->live_bos(), before + 1);
  EXPECT_EQ(vm->gpu_view(0x100000 + k4K)[0], 0x77);
  // Splitting keeps it; removing the last piece releases it.
  ASSERT_EQ(unmap_sync(*f, vm_id, 0x100000 + k4K, k4K), 0);
  EXPECT_EQ(dev->live_bos(), before + 1);
  ASSERT_EQ(unmap_sync(*f, vm_id, 0x100000, k4K), 0);
  EXPECT_EQ(dev->live_bos(), before + 1);
  ASSERT_EQ(unmap_sync(*f, vm_id, 0x100000 + 2 * k4K, 2 * k4K), 0);
  EXPECT_EQ(dev->live_bos(), before);
}

TEST_F(VmMap, ExclusiveBoMapsOnlyIntoItsVm) {
  uint32_t other = 0;
  ASSERT_EQ(vm_create(*f, &other), 0);
  uint32_t bo = bo_create(*f, k4K, 0, vm_id);
  ASSERT_TRUE(bo);
  EXPECT_EQ(map_sync(*f, vm_id, bo, 0, 0x100000, k4K), 0);
  EXPECT_EQ(map_sync(*f, other, bo, 0, 0x100000, k4K), -EINVAL);
  // Once its VM is gone it maps nowhere.
  ASSERT_EQ(vm_destroy(*f, vm_id), 0);
  EXPECT_EQ(map_sync(*f, other, bo, 0, 0x100000, k4K), -EINVAL);
}

TEST_F(VmMap, TwoVmsAreSeparateAddressSpaces) {
  uint32_t other = 0;
  ASSERT_EQ(vm_create(*f, &other), 0);
  SimVmPtr vm2 = vm_of(*f, other);
  uint32_t a = bo_create(*f, k4K), b = bo_create(*f, k4K);
  uint8_t* ca = bo_mmap(*f, a, k4K);
  uint8_t* cb = bo_mmap(*f, b, k4K);
  ASSERT_TRUE(ca && cb);
  ca[0] = 1;
  cb[0] = 2;
  ASSERT_EQ(map_sync(*f, vm_id, a, 0, 0x100000, k4K), 0);
  ASSERT_EQ(map_sync(*f, other, b, 0, 0x100000, k4K), 0);
  EXPECT_NE(vm->gpu_view(0x100000), vm2->gpu_view(0x100000));
  EXPECT_EQ(vm->gpu_view(0x100000)[0], 1);
  EXPECT_EQ(vm2->gpu_view(0x100000)[0], 2);
  munmap(ca, k4K);
  munmap(cb, k4K);
}

TEST(VmIsolation, IdsAreInvisibleToOtherFiles) {
  auto fa = open_model_file("panthor");
  auto fb = open_model_file("panthor");
  ASSERT_TRUE(fa && fb);
  uint32_t a1 = 0, a2 = 0;
  ASSERT_EQ(vm_create(*fa, &a1), 0);
  ASSERT_EQ(vm_create(*fa, &a2), 0);
  uint32_t state;
  EXPECT_EQ(vm_state(*fb, a1, &state), -EINVAL);
  EXPECT_EQ(vm_state(*fb, a2, &state), -EINVAL);
  uint32_t bo_b = bo_create(*fb, k4K);
  EXPECT_EQ(map_sync(*fb, a1, bo_b, 0, 0x100000, k4K), -EINVAL);
  EXPECT_EQ(bind(*fb, a1, {unmap_op(0, k4K)}, true), -EINVAL);
  EXPECT_EQ(vm_destroy(*fb, a1), -EINVAL);
  EXPECT_TRUE(vm_of(*fa, a1));
  // B's own first VM also gets id 1, and is a different VM.
  uint32_t b1 = 0;
  ASSERT_EQ(vm_create(*fb, &b1), 0);
  EXPECT_EQ(b1, 1u);
  EXPECT_NE(vm_of(*fa, a1), vm_of(*fb, b1));
  ASSERT_EQ(map_sync(*fb, b1, bo_b, 0, 0x100000, k4K), 0);
  EXPECT_EQ(vm_of(*fa, a1)->mapping_count(), 0u);
  // A's handles mean nothing in B: BO handle 1 of A is not B's object.
  uint32_t bo_a = bo_create(*fa, 2 * k4K);
  (void)bo_a;
  EXPECT_EQ(map_sync(*fb, b1, 2, 0, 0x200000, k4K), -EINVAL);
}

TEST_F(VmMap, DestroyUnmapsEverythingAndReleasesTheWindow) {
  SimDevice* dev = f->file().device();
  const uint64_t before = dev->live_bos();
  uint32_t bo = bo_create(*f, k2M);
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 0x200000, k2M), 0);
  ASSERT_EQ(map_sync(*f, vm_id, bo, 0, 0x1000000, k4K), 0);
  ASSERT_EQ(gem_close(*f, bo), 0);
  EXPECT_EQ(dev->live_bos(), before + 1);
  ASSERT_EQ(vm_destroy(*f, vm_id), 0);
  EXPECT_EQ(dev->live_bos(), before);
  EXPECT_TRUE(vm->destroyed());
  EXPECT_EQ(vm->gpu_view(0x200000), nullptr);
  EXPECT_EQ(vm->mapping_count(), 0u);
  // A destroyed VM refuses work through any reference still held.
  EXPECT_EQ(vm->unmap(0, k4K), -EINVAL);
}

TEST(VmFileClose, ClosingTheFileDestroysItsVms) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  SimDevice* dev = f->file().device();
  const uint64_t before = dev->live_bos();
  uint32_t id = 0;
  ASSERT_EQ(vm_create(*f, &id), 0);
  SimVmPtr vm = vm_of(*f, id);
  uint32_t bo = bo_create(*f, k4K);
  ASSERT_EQ(map_sync(*f, id, bo, 0, 0x100000, k4K), 0);
  f.reset();
  EXPECT_TRUE(vm->destroyed());
  EXPECT_EQ(vm->mapping_count(), 0u);
  EXPECT_EQ(dev->live_bos(), before);
}

TEST(VmPanfrostShape, FourGigVmWithAUserWindow) {
  // The shape panfrost's CREATE_BO uses: a 4 GiB VM, user range
  // [32 MiB, 4 GiB), no bind queue, map()/unmap() directly.
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  SimVm::Config cfg;
  cfg.va_size_bytes = 4 * k1G;
  cfg.user_va_start = 32ull << 20;
  cfg.user_va_end = 4 * k1G;
  cfg.with_bind_queue = false;
  int err = 0;
  SimVmPtr vm = SimVm::create(f->file().device(), cfg, &err);
  ASSERT_TRUE(vm) << err;
  EXPECT_EQ(vm->bind_queue(), nullptr);
  int e = 0;
  SimBoPtr bo = SimBo::create(f->file().device(), 2 * k4K, &e);
  ASSERT_TRUE(bo);
  EXPECT_EQ(vm->map(bo, 0, (32ull << 20) - k4K, 2 * k4K, 0), -EINVAL);  // below the range
  EXPECT_EQ(vm->map(bo, 0, 4 * k1G - k4K, 2 * k4K, 0), -EINVAL);        // past the end
  ASSERT_EQ(vm->map(bo, 0, 32ull << 20, 2 * k4K, kSimMapNoExec), 0);
  vm->gpu_view(32ull << 20)[5] = 9;
  ASSERT_EQ(vm->unmap(32ull << 20, 2 * k4K), 0);
  EXPECT_EQ(vm->mapping_count(), 0u);
  EXPECT_EQ(vm->pt_counters().live, 1u);
  vm->destroy();
  EXPECT_EQ(vm->gpu_view(32ull << 20), nullptr);
}

}  // namespace
}  // namespace wsys::sim::vmtest
