// The kmod suite: both backends through the kmod interface only, on
// whatever open_test_device() gives (the model in process, or the model
// behind the drm-shim as /dev/dri/renderD128). Never includes the model:
// GPU-side effects are checked through what userspace can see (CPU
// mappings, syncobj points, the kernel's answers).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "kmod_test_device.h"
#include "winsys/kmod/kmod.h"
#include "winsys/kmod/panthor/panthor.h"
#include "winsys/kmod/small_array.h"

namespace wsys::kmod::test {
namespace {

std::string err_str(int e) { return e ? std::string(strerror(-e)) + " (" + std::to_string(e) + ")" : "ok"; }

#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    const auto& r_ = (expr);                                                     \
    ASSERT_TRUE(r_.ok()) << #expr << " failed: " << err_str(r_.error());         \
  } while (0)
#define EXPECT_OK(expr)                                                          \
  do {                                                                           \
    const auto& r_ = (expr);                                                     \
    EXPECT_TRUE(r_.ok()) << #expr << " failed: " << err_str(r_.error());         \
  } while (0)
#define EXPECT_ERRNO(expr, e) EXPECT_EQ((expr).error(), (e)) << #expr
// Features a kernel may lack (MADVISE, WAIT_BO, SUBMIT, HEAP BOs, groups,
// tiler heaps) answer -EOPNOTSUPP there. This suite runs on the kernel model
// (in process and under the drm-shim), which implements all of them, so an
// -EOPNOTSUPP here is a regression and fails the test instead of skipping.
#define ASSERT_MODEL_SUPPORTS(expr, what)                                          \
  do {                                                                            \
    ASSERT_NE((expr).error(), -EOPNOTSUPP)                                        \
        << "the kernel model answers -EOPNOTSUPP for " what;                      \
  } while (0)

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

// A GPU VA inside every panthor VM this suite creates (user ranges here are
// at least 4 GiB); panfrost ignores it (kernel-chosen VAs).
constexpr uint64_t kVaBase = 1 * GiB;

void fill(void* p, size_t n, uint32_t seed) {
  auto* w = static_cast<uint32_t*>(p);
  for (size_t i = 0; i < n / 4; i++) w[i] = seed ^ static_cast<uint32_t>(i * 2654435761u);
}
bool check(const void* p, size_t n, uint32_t seed) {
  auto* w = static_cast<const uint32_t*>(p);
  for (size_t i = 0; i < n / 4; i++)
    if (w[i] != (seed ^ static_cast<uint32_t>(i * 2654435761u))) return false;
  return true;
}

// --- driver-independent ---------------------------------------------------

TEST(KmodProps, CoreIdRangeCountsHoles) {
  DeviceProps p;
  p.shader_present = 0x50005;  // cores 0, 2, 16, 18
  EXPECT_EQ(p.core_count(), 4u);
  EXPECT_EQ(p.core_id_range(), 19u);
  p.shader_present = 0xf;
  EXPECT_EQ(p.core_count(), 4u);
  EXPECT_EQ(p.core_id_range(), 4u);
  p.shader_present = 1ull << 63;
  EXPECT_EQ(p.core_count(), 1u);
  EXPECT_EQ(p.core_id_range(), 64u);
  p.shader_present = 0;
  EXPECT_EQ(p.core_count(), 0u);
  EXPECT_EQ(p.core_id_range(), 0u);
}

class OtherDriverFile final : public drm::DrmFile {
 public:
  OtherDriverFile() { v_.name = "i915"; v_.major = 1; }
  int ioctl(unsigned long, void*) override { return -ENOTTY; }
  Result<void*> mmap(void*, size_t, int, int, uint64_t) override { return Error(-ENODEV); }
  int munmap(void*, size_t) override { return -EINVAL; }
  Result<int> prime_handle_to_fd(uint32_t, uint32_t) override { return Error(-ENOTTY); }
  Result<uint32_t> prime_fd_to_handle(int) override { return Error(-ENOTTY); }
  const drm::DriverVersion& version() const override { return v_; }
  const std::string& node_name() const override { return name_; }
  int fd() const override { return -1; }
  bool is_model() const override { return false; }

 private:
  drm::DriverVersion v_;
  std::string name_ = "fake";
};

TEST(KmodDevice, CreateRejectsNullFileAndOtherDrivers) {
  EXPECT_ERRNO(Device::create(nullptr), -EINVAL);
  EXPECT_ERRNO(Device::create(std::make_unique<OtherDriverFile>()), -ENODEV);
}

// --- per backend ----------------------------------------------------------

class Kmod : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto d = open_test_device(GetParam());
    ASSERT_TRUE(d.ok()) << "open_test_device(" << GetParam() << "): " << err_str(d.error());
    dev = std::move(*d);
  }
  bool panthor() const { return GetParam() == "panthor"; }

  // A Map op for `bo` at `va` (panthor) or at its kernel VA (panfrost).
  BindOp map_op(Bo& bo, uint64_t va) const {
    BindOp op;
    op.type = BindOp::Type::Map;
    op.bo = &bo;
    op.va = panthor() ? va : bo.kernel_va();
    op.size = bo.size();
    return op;
  }
  BindOp unmap_op(uint64_t va, uint64_t size) const {
    BindOp op;
    op.type = BindOp::Type::Unmap;
    op.va = va;
    op.size = size;
    return op;
  }

  std::unique_ptr<Device> dev;
};

TEST_P(Kmod, PropsAreSane) {
  const DeviceProps& p = dev->props();
  EXPECT_EQ(p.driver, panthor() ? Driver::Panthor : Driver::Panfrost);
  EXPECT_EQ(p.version.name, GetParam());
  EXPECT_EQ(p.version.major, 1);
  EXPECT_NE(p.gpu_id, 0u);
  EXPECT_NE(p.product_id(), 0u);
  EXPECT_NE(p.shader_present, 0u);
  EXPECT_NE(p.tiler_present, 0u);
  EXPECT_NE(p.l2_present, 0u);
  EXPECT_GT(p.max_threads, 0u);
  // core_id_range counts holes: equal to the count only for a contiguous mask.
  uint64_t sp = p.shader_present;
  bool contiguous = (sp & (sp + 1)) == 0;
  EXPECT_EQ(p.core_id_range(), 64u - static_cast<uint32_t>(std::countl_zero(sp)));
  if (contiguous) {
    EXPECT_EQ(p.core_id_range(), p.core_count());
  } else {
    EXPECT_GT(p.core_id_range(), p.core_count());
  }
  EXPECT_GE(p.va_bits, 32u);
  EXPECT_LE(p.va_bits, 52u);
  EXPECT_TRUE(p.page_size_bitmap & 4096) << std::hex << p.page_size_bitmap;
  EXPECT_TRUE(p.supported_bo_flags & kBoNoMmap);
  EXPECT_TRUE(p.supported_bo_flags & kBoExecutable);
  if (panthor()) {
    EXPECT_FALSE(p.kernel_managed_va);
    EXPECT_EQ(p.user_va_start, 0u);
    EXPECT_EQ(p.user_va_end, (1ull << p.va_bits) - 256 * MiB);
    EXPECT_GT(p.csg_slot_count, 0u);
    EXPECT_GT(p.cs_slot_count, 0u);
    EXPECT_EQ(p.allowed_group_priorities & 3u, 3u);  // LOW and MEDIUM always
    if (p.version.at_least(1, 1)) {
      EXPECT_GT(p.timestamp_frequency, 0u);
    }
    EXPECT_FALSE(p.supported_bo_flags & kBoAllocOnFault);
  } else {
    EXPECT_TRUE(p.kernel_managed_va);
    EXPECT_EQ(p.user_va_start, 32 * MiB);
    EXPECT_EQ(p.user_va_end, 4 * GiB);
    EXPECT_NE(p.js_present, 0u);
    EXPECT_GT(p.nr_core_groups, 0u);
    if (p.version.at_least(1, 3)) {
      EXPECT_GT(p.timestamp_frequency, 0u);
    }
    EXPECT_EQ(!!(p.supported_bo_flags & kBoAllocOnFault), p.version.at_least(1, 1));
    EXPECT_FALSE(p.supported_bo_flags & kBoGpuUncached);
  }
}

TEST_P(Kmod, GpuTimestampIsMonotonic) {
  bool supported = panthor() ? dev->props().version.at_least(1, 1)
                             : dev->props().version.at_least(1, 3);
  auto t1 = dev->gpu_timestamp();
  if (!supported) {
    EXPECT_ERRNO(t1, -EOPNOTSUPP);
    return;
  }
  ASSERT_OK(t1);
  auto t2 = dev->gpu_timestamp();
  ASSERT_OK(t2);
  EXPECT_GE(*t2, *t1);
}

// --- BOs ------------------------------------------------------------------

TEST_P(Kmod, BoCreateMmapWriteRead) {
  auto bo = dev->bo_create(5000, 0);
  ASSERT_OK(bo);
  BoPtr b = *bo;
  EXPECT_NE(b->handle(), 0u);
  EXPECT_GE(b->size(), 5000u);
  EXPECT_EQ(b->size() % 4096, 0u);
  EXPECT_FALSE(b->imported());
  EXPECT_EQ(b->flags(), 0u);
  if (panthor()) {
    EXPECT_EQ(b->kernel_va(), 0u);
  } else {
    EXPECT_GE(b->kernel_va(), 32 * MiB);
    EXPECT_LE(b->kernel_va() + b->size(), 4 * GiB);
  }
  EXPECT_EQ(dev->live_bo_count(), 1u);

  auto m1 = dev->bo_mmap(*b, PROT_READ | PROT_WRITE);
  ASSERT_OK(m1);
  fill(*m1, b->size(), 0x1234);
  auto m2 = dev->bo_mmap(*b, PROT_READ);
  ASSERT_OK(m2);
  EXPECT_NE(*m1, *m2);
  EXPECT_TRUE(check(*m2, b->size(), 0x1234));  // one object behind both mappings
  EXPECT_OK(dev->bo_munmap(*b, *m1));
  EXPECT_OK(dev->bo_munmap(*b, *m2));
  auto m3 = dev->bo_mmap(*b, PROT_READ);
  ASSERT_OK(m3);
  EXPECT_TRUE(check(*m3, b->size(), 0x1234));  // contents outlive mappings
  EXPECT_OK(dev->bo_munmap(*b, *m3));
  b.reset();
  bo = Error(-EINVAL);  // drop the Result's reference too
  EXPECT_EQ(dev->live_bo_count(), 0u);
}

TEST_P(Kmod, BoCreateRejectsBadInput) {
  EXPECT_ERRNO(dev->bo_create(0, 0), -EINVAL);          // the kernel's answer
  EXPECT_ERRNO(dev->bo_create(4096, 1u << 7), -EINVAL);  // unknown flag
  if (panthor()) {
    EXPECT_ERRNO(dev->bo_create(4096, kBoAllocOnFault), -EOPNOTSUPP);
  } else {
    EXPECT_ERRNO(dev->bo_create(4096, kBoGpuUncached), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->bo_create(4096, kBoAllocOnFault | kBoExecutable), -EINVAL);
    EXPECT_ERRNO(dev->bo_create(5 * GiB, 0), -EINVAL);  // CREATE_BO's size is 32-bit
  }
  EXPECT_EQ(dev->live_bo_count(), 0u);
}

TEST_P(Kmod, NoMmapBoRefusesCpuMapping) {
  auto bo = dev->bo_create(64 * KiB, kBoNoMmap);
  ASSERT_OK(bo);
  EXPECT_EQ((*bo)->flags(), static_cast<uint32_t>(kBoNoMmap));
  auto m = dev->bo_mmap(**bo, PROT_READ | PROT_WRITE);
  // -EINVAL at mmap() (older panthor, and kmod's panfrost rule) or -EPERM
  // from BO_MMAP_OFFSET (newer panthor).
  EXPECT_TRUE(m.error() == -EINVAL || m.error() == -EPERM) << err_str(m.error());
}

TEST_P(Kmod, ExecutableAndUncachedFlags) {
  auto exec = dev->bo_create(64 * KiB, kBoExecutable);
  ASSERT_OK(exec);
  EXPECT_EQ((*exec)->flags(), static_cast<uint32_t>(kBoExecutable));
  auto unc = dev->bo_create(64 * KiB, kBoGpuUncached);
  if (panthor()) {
    ASSERT_OK(unc);
    // Mapped (uncached) like any other BO.
    auto vm = dev->vm_create(0);
    ASSERT_OK(vm);
    BindOp ops[] = {map_op(**exec, kVaBase), map_op(**unc, kVaBase + 1 * MiB)};
    EXPECT_OK((*vm)->bind(BindMode::Immediate, ops));
  } else {
    EXPECT_ERRNO(unc, -EOPNOTSUPP);
  }
}

TEST_P(Kmod, ExportedBoReimportsAsSameObject) {
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  auto fd = dev->bo_export(**bo);
  ASSERT_OK(fd);
  auto again = dev->bo_import(*fd);
  ASSERT_OK(again);
  EXPECT_EQ(again->get(), bo->get());  // the same Bo, not a second wrapper
  EXPECT_FALSE((*again)->imported());
  auto fd2 = dev->bo_export(**bo);
  ASSERT_OK(fd2);
  auto third = dev->bo_import(*fd2);
  ASSERT_OK(third);
  EXPECT_EQ(third->get(), bo->get());
  EXPECT_EQ(dev->live_bo_count(), 1u);
  close(*fd);
  close(*fd2);
}

TEST_P(Kmod, ExportImportAcrossDevices) {
  auto other = open_test_device(GetParam());
  ASSERT_OK(other);
  Device& b_dev = **other;

  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  auto map = dev->bo_mmap(**bo, PROT_READ | PROT_WRITE);
  ASSERT_OK(map);
  fill(*map, 64 * KiB, 0xabcd);

  auto fd = dev->bo_export(**bo);
  ASSERT_OK(fd);
  auto imp = b_dev.bo_import(*fd);
  ASSERT_OK(imp);
  BoPtr ib = *imp;
  EXPECT_TRUE(ib->imported());
  EXPECT_EQ(ib->size(), 64 * KiB);
  if (!panthor()) {
    EXPECT_GE(ib->kernel_va(), 32 * MiB);  // GET_BO_OFFSET in the importer's space
    EXPECT_LE(ib->kernel_va() + ib->size(), 4 * GiB);
  }
  auto imp2 = b_dev.bo_import(*fd);
  ASSERT_OK(imp2);
  EXPECT_EQ(imp2->get(), ib.get());
  EXPECT_EQ(b_dev.live_bo_count(), 1u);

  auto bmap = b_dev.bo_mmap(*ib, PROT_READ | PROT_WRITE);
  ASSERT_OK(bmap);
  EXPECT_TRUE(check(*bmap, 64 * KiB, 0xabcd));
  fill(*bmap, 64 * KiB, 0x5555);
  EXPECT_TRUE(check(*map, 64 * KiB, 0x5555));  // shared pages, both ways
  EXPECT_OK(b_dev.bo_munmap(*ib, *bmap));
  EXPECT_OK(dev->bo_munmap(**bo, *map));
  close(*fd);
}

TEST_P(Kmod, ImportedHandleClosesWithLastReference) {
  auto other = open_test_device(GetParam());
  ASSERT_OK(other);
  Device& b_dev = **other;
  auto bo = dev->bo_create(16 * KiB, 0);
  ASSERT_OK(bo);
  auto fd = dev->bo_export(**bo);
  ASSERT_OK(fd);
  uint32_t handle;
  {
    auto i1 = b_dev.bo_import(*fd);
    ASSERT_OK(i1);
    auto i2 = b_dev.bo_import(*fd);
    ASSERT_OK(i2);
    handle = (*i1)->handle();
    i1 = Error(-EINVAL);  // one reference left: the handle stays open
    auto probe = b_dev.file().prime_handle_to_fd(handle, O_CLOEXEC);
    ASSERT_OK(probe);
    close(*probe);
  }
  EXPECT_EQ(b_dev.live_bo_count(), 0u);
  // GEM_CLOSE happened: the handle is gone in that file.
  EXPECT_ERRNO(b_dev.file().prime_handle_to_fd(handle, O_CLOEXEC), -ENOENT);
  // And a new import gets a working Bo again.
  auto i3 = b_dev.bo_import(*fd);
  ASSERT_OK(i3);
  auto probe = b_dev.bo_export(**i3);
  ASSERT_OK(probe);
  close(*probe);
  close(*fd);
}

TEST_P(Kmod, ImportRejectsWhatIsNotADmaBuf) {
  EXPECT_ERRNO(dev->bo_import(-1), -EBADF);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_ERRNO(dev->bo_import(p[0]), -EINVAL);
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(dev->live_bo_count(), 0u);
}

TEST_P(Kmod, BoOutlivesItsDevice) {
  auto bo = dev->bo_create(16 * KiB, 0);
  ASSERT_OK(bo);
  BoPtr b = *bo;
  bo = Error(-EINVAL);
  auto map = dev->bo_mmap(*b, PROT_READ | PROT_WRITE);
  ASSERT_OK(map);
  dev.reset();  // the file stays open for the Bo
  fill(*map, 16 * KiB, 7);
  EXPECT_TRUE(check(*map, 16 * KiB, 7));
  EXPECT_EQ(munmap(*map, 16 * KiB), 0);
  b.reset();  // closes the handle, then the file
}

TEST_P(Kmod, ForeignObjectsAreRefused) {
  auto other = open_test_device(GetParam());
  ASSERT_OK(other);
  auto foreign = (*other)->bo_create(64 * KiB, 0);
  ASSERT_OK(foreign);
  EXPECT_ERRNO(dev->bo_mmap(**foreign, PROT_READ), -EINVAL);
  EXPECT_ERRNO(dev->bo_export(**foreign), -EINVAL);
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  BindOp op = map_op(**foreign, kVaBase);
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&op, 1}), -EINVAL);
  auto other_vm = (*other)->vm_create(0);
  ASSERT_OK(other_vm);
  EXPECT_ERRNO(dev->bo_create(64 * KiB, 0, other_vm->get()), -EINVAL);
}

TEST_P(Kmod, ExclusiveBoStaysInItsVm) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto bo = dev->bo_create(64 * KiB, 0, vm->get());
  ASSERT_OK(bo);
  EXPECT_TRUE((*bo)->exclusive());
  EXPECT_ERRNO(dev->bo_export(**bo), -EINVAL);  // the kernel's errno on panthor
  BindOp op = map_op(**bo, kVaBase);
  EXPECT_OK((*vm)->bind(BindMode::Immediate, {&op, 1}));
  if (panthor()) {
    EXPECT_EQ((*bo)->exclusive_vm_id(), (*vm)->id());
    auto vm2 = dev->vm_create(0);
    ASSERT_OK(vm2);
    EXPECT_ERRNO((*vm2)->bind(BindMode::Immediate, {&op, 1}), -EINVAL);
  }
}

TEST_P(Kmod, Labels) {
  auto bo = dev->bo_create(4096, 0);
  ASSERT_OK(bo);
  if (!dev->props().version.at_least(1, 4)) {
    EXPECT_ERRNO(dev->bo_set_label(**bo, "x"), -EOPNOTSUPP);
    return;
  }
  EXPECT_OK(dev->bo_set_label(**bo, "kmod-test: vertex buffer"));
  EXPECT_OK(dev->bo_set_label(**bo, ""));
  // Labels are at most 4096 bytes with the NUL.
  EXPECT_FALSE(dev->bo_set_label(**bo, std::string(5000, 'x')).ok());
  EXPECT_OK(dev->bo_set_label(**bo, std::string(4095, 'y')));
}

TEST_P(Kmod, MadviseReportsRetained) {
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  if (panthor()) {  // no madvise uAPI: reported, not faked
    EXPECT_ERRNO(dev->bo_make_evictable(**bo), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->bo_make_unevictable(**bo), -EOPNOTSUPP);
    return;
  }
  auto r = dev->bo_make_evictable(**bo);
  ASSERT_MODEL_SUPPORTS(r, "MADVISE");
  ASSERT_OK(r);
  EXPECT_TRUE(*r);
  auto w = dev->bo_make_unevictable(**bo);
  ASSERT_OK(w);
  EXPECT_TRUE(*w);  // nothing purged it in between: no memory pressure here
}

TEST_P(Kmod, BoWaitOnIdleBo) {
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  if (panthor()) {
    EXPECT_ERRNO(dev->bo_wait(**bo, 0), -EOPNOTSUPP);
    return;
  }
  auto r = dev->bo_wait(**bo, 0);
  ASSERT_MODEL_SUPPORTS(r, "WAIT_BO");
  EXPECT_OK(r);  // no job uses it: idle, even when polling
  EXPECT_OK(dev->bo_wait(**bo, deadline_in_ms(100)));
}

TEST_P(Kmod, AllocOnFaultBo) {
  auto r = dev->bo_create(1 * MiB, kBoAllocOnFault);
  if (panthor()) {
    EXPECT_ERRNO(r, -EOPNOTSUPP);
    return;
  }
  if (dev->props().growable_heap == GrowableHeap::None) {  // panfrost 1.0
    EXPECT_ERRNO(r, -EOPNOTSUPP);
    return;
  }
  ASSERT_MODEL_SUPPORTS(r, "HEAP BOs");
  ASSERT_OK(r);
  EXPECT_EQ((*r)->size(), 2 * MiB);  // HEAP sizes round up to 2 MiB
  EXPECT_EQ((*r)->kernel_va() % (2 * MiB), 0u);
  EXPECT_ERRNO(dev->bo_mmap(**r, PROT_READ), -EINVAL);
  EXPECT_FALSE(dev->bo_export(**r).ok());
}

// --- VMs ------------------------------------------------------------------

TEST_P(Kmod, VmCreateReportsItsRange) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto usable = (*vm)->usable();
  ASSERT_OK(usable);
  EXPECT_TRUE(*usable);
  if (panthor()) {
    EXPECT_GE((*vm)->id(), 1u);
    EXPECT_LE((*vm)->id(), 32u);
    EXPECT_EQ((*vm)->user_va_start(), 0u);
    EXPECT_GT((*vm)->user_va_end(), 4 * GiB);
    EXPECT_LE((*vm)->user_va_end(), dev->props().user_va_end);
    EXPECT_NE((*vm)->activity_syncobj(), 0u);
    // The kernel splits the space at a power-of-two kernel range, so the
    // user range it returns is at least the one asked for.
    auto vm2 = dev->vm_create(4 * GiB);
    ASSERT_OK(vm2);
    EXPECT_GE((*vm2)->user_va_end(), 4 * GiB);
    EXPECT_LE((*vm2)->user_va_end(), dev->props().user_va_end);
    EXPECT_NE((*vm2)->id(), (*vm)->id());
    // Above range - 256 MiB: the kernel's -EINVAL.
    EXPECT_ERRNO(dev->vm_create(dev->props().user_va_end + 4096), -EINVAL);
  } else {
    EXPECT_EQ((*vm)->id(), 0u);
    EXPECT_EQ((*vm)->user_va_start(), 32 * MiB);
    EXPECT_EQ((*vm)->user_va_end(), 4 * GiB);
    EXPECT_EQ((*vm)->activity_syncobj(), 0u);
    EXPECT_ERRNO((*vm)->next_activity_point(), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->vm_create(0), -EBUSY);  // one address space per file
    EXPECT_ERRNO(dev->vm_create(1 * GiB), -EOPNOTSUPP);
    vm = Error(-EINVAL);
    auto again = dev->vm_create(4 * GiB);
    ASSERT_OK(again);
    EXPECT_EQ((*again)->id(), 0u);
  }
}

TEST_P(Kmod, BindImmediateMapUnmap) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto bo = dev->bo_create(2 * MiB, 0);
  ASSERT_OK(bo);
  auto cpu = dev->bo_mmap(**bo, PROT_READ | PROT_WRITE);
  ASSERT_OK(cpu);
  fill(*cpu, 2 * MiB, 99);

  BindOp map = map_op(**bo, kVaBase);
  size_t failed = 1234;
  EXPECT_OK((*vm)->bind(BindMode::Immediate, {&map, 1}, &failed));
  EXPECT_EQ(failed, 1u);
  if (!panthor()) {  // the kernel's choice, spelled either way
    map.va = kKernelChosenVa;
    EXPECT_OK((*vm)->bind(BindMode::Immediate, {&map, 1}));
  }
  // Binding does not touch the contents.
  auto cpu2 = dev->bo_mmap(**bo, PROT_READ);
  ASSERT_OK(cpu2);
  EXPECT_TRUE(check(*cpu2, 2 * MiB, 99));

  BindOp unmap = unmap_op(panthor() ? kVaBase : (*bo)->kernel_va(), 2 * MiB);
  EXPECT_OK((*vm)->bind(BindMode::Immediate, {&unmap, 1}, &failed));
  EXPECT_EQ(failed, 1u);
  auto usable = (*vm)->usable();
  ASSERT_OK(usable);
  EXPECT_TRUE(*usable);
  EXPECT_OK((*vm)->bind(BindMode::Immediate, {}));  // empty: nothing to do
  EXPECT_OK(dev->bo_munmap(**bo, *cpu));
  EXPECT_OK(dev->bo_munmap(**bo, *cpu2));
}

TEST_P(Kmod, BindModesAndSyncsAreChecked) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  auto sync = dev->syncobj_create(false);
  ASSERT_OK(sync);
  SyncOp sig = SyncOp::signal(*sync);
  BindOp op = map_op(**bo, kVaBase);
  op.syncs = {&sig, 1};
  size_t failed = 77;
  // Synchronous binds take no syncs (refused before the kernel sees them).
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&op, 1}, &failed), -EINVAL);
  EXPECT_EQ(failed, 0u);
  if (panthor()) {
    EXPECT_ERRNO((*vm)->bind(BindMode::DeferToNextIdle, {&op, 1}), -EINVAL);
    EXPECT_OK((*vm)->bind(BindMode::Async, {&op, 1}));
    EXPECT_OK(dev->syncobj_wait({&*sync, 1}, {}, deadline_in_ms(5000)));
  } else {
    EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&op, 1}), -EOPNOTSUPP);
    op.syncs = {};
    EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&op, 1}), -EOPNOTSUPP);
    EXPECT_ERRNO((*vm)->bind(BindMode::DeferToNextIdle, {&op, 1}), -EOPNOTSUPP);
  }
  EXPECT_OK(dev->syncobj_destroy(*sync));
}

TEST_P(Kmod, ImmediateFailureReportsIndex) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto a = dev->bo_create(64 * KiB, 0);
  auto b = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(a);
  ASSERT_OK(b);
  size_t failed = 0;
  if (panthor()) {
    BindOp ops[] = {map_op(**a, kVaBase), map_op(**b, kVaBase + 1 * MiB),
                    map_op(**a, kVaBase + 2 * MiB + 512)};  // misaligned VA
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, ops, &failed), -EINVAL);
    EXPECT_EQ(failed, 2u);
    BindOp too_big = map_op(**a, kVaBase + 4 * MiB);
    too_big.size = 128 * KiB;  // larger than the BO
    BindOp ops2[] = {map_op(**b, kVaBase + 8 * MiB), too_big};
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, ops2, &failed), -EINVAL);
    EXPECT_EQ(failed, 1u);
    BindOp off_end = map_op(**a, kVaBase + 4 * MiB);
    off_end.bo_offset = 32 * KiB;  // offset + size past the BO's end
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&off_end, 1}, &failed), -EINVAL);
    EXPECT_EQ(failed, 0u);
  } else {
    BindOp partial = map_op(**b, 0);
    partial.size = 32 * KiB;  // panfrost maps whole BOs only
    BindOp ops[] = {map_op(**a, 0), unmap_op((*a)->kernel_va(), (*a)->size()), partial};
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, ops, &failed), -EINVAL);
    EXPECT_EQ(failed, 2u);
    BindOp wrong_va = map_op(**b, 0);
    wrong_va.va = (*b)->kernel_va() + 64 * KiB;
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&wrong_va, 1}, &failed), -EINVAL);
    BindOp offset = map_op(**b, 0);
    offset.bo_offset = 4096;
    offset.size -= 4096;
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&offset, 1}, &failed), -EINVAL);
    BindOp ro = map_op(**b, 0);
    ro.read_only = true;  // panfrost maps are read-write
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&ro, 1}), -EOPNOTSUPP);
  }
  auto usable = (*vm)->usable();
  ASSERT_OK(usable);
  EXPECT_TRUE(*usable);  // a failed synchronous bind leaves the VM usable
}

TEST_P(Kmod, UnmapRules) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto a = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(a);
  uint64_t va = panthor() ? kVaBase : (*a)->kernel_va();
  BindOp map = map_op(**a, kVaBase);
  ASSERT_OK((*vm)->bind(BindMode::Immediate, {&map, 1}));
  BindOp misaligned = unmap_op(va + 100, 4096);
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&misaligned, 1}), -EINVAL);
  BindOp with_bo = unmap_op(va, 64 * KiB);
  with_bo.bo = a->get();  // UNMAP names no BO
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&with_bo, 1}), -EINVAL);
  BindOp with_flags = unmap_op(va, 64 * KiB);
  with_flags.read_only = true;  // UNMAP takes no map flags
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&with_flags, 1}), -EINVAL);
  BindOp sync_only;
  sync_only.type = BindOp::Type::SyncOnly;
  sync_only.va = va;  // SYNC_ONLY: va and size must be zero
  sync_only.size = 4096;
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&sync_only, 1}), -EINVAL);
  // Without syncs or a size there is nothing to do: a no-op on both (the
  // panthor kernel skips synchronous ops of size 0).
  sync_only.va = 0;
  sync_only.size = 0;
  EXPECT_OK((*vm)->bind(BindMode::Immediate, {&sync_only, 1}));
  if (panthor()) {
    // Unmapping part of a mapping splits it; unmapping nothing is fine.
    BindOp part = unmap_op(va + 4096, 8192);
    EXPECT_OK((*vm)->bind(BindMode::Immediate, {&part, 1}));
    BindOp empty = unmap_op(kVaBase + 512 * MiB, 64 * KiB);
    EXPECT_OK((*vm)->bind(BindMode::Immediate, {&empty, 1}));
  } else {
    // Whole BOs (or nothing): an accepted no-op, the mapping lives as long
    // as the BO. Cutting a BO would leave the rest mapped: refused.
    BindOp whole = unmap_op(va, 64 * KiB);
    EXPECT_OK((*vm)->bind(BindMode::Immediate, {&whole, 1}));
    BindOp cut = unmap_op(va + 4096, 8192);
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&cut, 1}), -EINVAL);
    BindOp outside = unmap_op(4096, 4096);  // below 32 MiB
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&outside, 1}), -EINVAL);
    BindOp above = unmap_op(4 * GiB, 4096);
    EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, {&above, 1}), -EINVAL);
  }
  BindOp again = unmap_op(va, 64 * KiB);
  EXPECT_OK((*vm)->bind(BindMode::Immediate, {&again, 1}));
}

TEST_P(Kmod, AsyncBindsOrderedBySyncobjs) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  auto tl = dev->syncobj_create(false);
  ASSERT_OK(tl);
  auto bin = dev->syncobj_create(false);
  ASSERT_OK(bin);
  uint32_t t = *tl;
  if (!panthor()) {
    BindOp op = map_op(**bo, 0);
    EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&op, 1}), -EOPNOTSUPP);
    return;
  }
  // 1: map, signalling t:1 and a binary syncobj.
  SyncOp s1[] = {SyncOp::signal(t, 1), SyncOp::signal(*bin)};
  BindOp map = map_op(**bo, kVaBase);
  map.syncs = s1;
  ASSERT_OK((*vm)->bind(BindMode::Async, {&map, 1}));
  // 2: unmap after t:1, signalling t:2.
  SyncOp s2[] = {SyncOp::wait(t, 1), SyncOp::signal(t, 2)};
  BindOp unmap = unmap_op(kVaBase, 64 * KiB);
  unmap.syncs = s2;
  ASSERT_OK((*vm)->bind(BindMode::Async, {&unmap, 1}));
  // 3: one call, two ops: the second waits for a point the first signals.
  SyncOp s3a[] = {SyncOp::wait(t, 2), SyncOp::signal(t, 3)};
  SyncOp s3b[] = {SyncOp::wait(t, 3), SyncOp::signal(t, 4)};
  BindOp ops[] = {map_op(**bo, kVaBase + 1 * MiB), unmap_op(kVaBase + 1 * MiB, 64 * KiB)};
  ops[0].syncs = s3a;
  ops[1].syncs = s3b;
  size_t failed = 9;
  ASSERT_OK((*vm)->bind(BindMode::Async, ops, &failed));
  EXPECT_EQ(failed, 2u);

  uint64_t p4 = 4;
  EXPECT_OK(dev->syncobj_wait({&t, 1}, {&p4, 1}, deadline_in_ms(5000)));
  EXPECT_OK(dev->syncobj_wait({&*bin, 1}, {}, deadline_in_ms(5000)));
  auto q = dev->syncobj_query(t);
  ASSERT_OK(q);
  EXPECT_EQ(*q, 4u);  // every point signalled, in order
  auto usable = (*vm)->usable();
  ASSERT_OK(usable);
  EXPECT_TRUE(*usable);

  // A wait on a point nobody submitted, and on a handle that does not
  // exist: the kernel's errnos, unchanged.
  SyncOp bad_point[] = {SyncOp::wait(t, 10)};
  BindOp op = map_op(**bo, kVaBase);
  op.syncs = bad_point;
  EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&op, 1}, &failed), -EINVAL);
  EXPECT_EQ(failed, 0u);
  SyncOp bad_handle[] = {SyncOp::wait(0xdead)};
  op.syncs = bad_handle;
  EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&op, 1}), -ENOENT);
  // (A SIGNAL naming an unknown handle is the kernel's -EINVAL instead.)
  SyncOp bad_signal[] = {SyncOp::signal(0xdead)};
  op.syncs = bad_signal;
  EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&op, 1}), -EINVAL);
  // SYNC_ONLY needs at least one sync (kernel rule).
  BindOp sync_only;
  sync_only.type = BindOp::Type::SyncOnly;
  EXPECT_ERRNO((*vm)->bind(BindMode::Async, {&sync_only, 1}), -EINVAL);
  EXPECT_OK(dev->syncobj_destroy(t));
  EXPECT_OK(dev->syncobj_destroy(*bin));
}

TEST_P(Kmod, DeferToNextIdleFollowsActivityTimeline) {
  auto vm_r = dev->vm_create(0);
  ASSERT_OK(vm_r);
  Vm& vm = **vm_r;
  uint32_t act = vm.activity_syncobj();
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  EXPECT_EQ(vm.activity_point(), 0u);
  if (!panthor()) {  // no activity timeline: reported, not faked
    EXPECT_EQ(act, 0u);
    EXPECT_ERRNO(vm.next_activity_point(), -EOPNOTSUPP);
    BindOp op = map_op(**bo, 0);
    EXPECT_ERRNO(vm.bind(BindMode::DeferToNextIdle, {&op, 1}), -EOPNOTSUPP);
    EXPECT_EQ(vm.activity_point(), 0u);
    return;
  }

  // Nothing used the VM yet: the bind has nothing to wait for, signals 1.
  BindOp map = map_op(**bo, kVaBase);
  ASSERT_OK(vm.bind(BindMode::DeferToNextIdle, {&map, 1}));
  EXPECT_EQ(vm.activity_point(), 1u);
  uint64_t p = 1;
  EXPECT_OK(dev->syncobj_wait({&act, 1}, {&p, 1}, deadline_in_ms(5000)));

  // A "submission" using the VM: reserves point 2 and signals it (an async
  // SYNC_ONLY bind stands in for a job, which the model cannot run yet).
  {
    auto ap = vm.next_activity_point();
    ASSERT_OK(ap);
    EXPECT_EQ(ap->syncobj(), act);
    EXPECT_EQ(ap->point(), 2u);
    SyncOp s[] = {SyncOp::signal(ap->syncobj(), ap->point())};
    BindOp job;
    job.type = BindOp::Type::SyncOnly;
    job.syncs = s;
    ASSERT_OK(vm.bind(BindMode::Async, {&job, 1}));
    ap->commit();
  }
  EXPECT_EQ(vm.activity_point(), 2u);

  // The deferred unmap waits for point 2 and signals 3.
  BindOp unmap = unmap_op(kVaBase, 64 * KiB);
  ASSERT_OK(vm.bind(BindMode::DeferToNextIdle, {&unmap, 1}));
  EXPECT_EQ(vm.activity_point(), 3u);

  // A reservation that is never committed (its submission failed) does not
  // advance the timeline: the next deferred bind waits on 3, which exists
  // (waiting on an unsubmitted 4 would be the kernel's -EINVAL).
  {
    auto ap = vm.next_activity_point();
    ASSERT_OK(ap);
    EXPECT_EQ(ap->point(), 4u);
  }
  EXPECT_EQ(vm.activity_point(), 3u);
  BindOp two[] = {map_op(**bo, kVaBase + 1 * MiB), unmap_op(kVaBase + 1 * MiB, 64 * KiB)};
  ASSERT_OK(vm.bind(BindMode::DeferToNextIdle, two));
  EXPECT_EQ(vm.activity_point(), 4u);
  p = 4;
  EXPECT_OK(dev->syncobj_wait({&act, 1}, {&p, 1}, deadline_in_ms(5000)));
  auto q = dev->syncobj_query(act);
  ASSERT_OK(q);
  EXPECT_EQ(*q, 4u);
  // A deferred bind the kernel refuses leaves the timeline where it was.
  BindOp bad = map_op(**bo, kVaBase + 4096 + 1);
  EXPECT_ERRNO(vm.bind(BindMode::DeferToNextIdle, {&bad, 1}), -EINVAL);
  EXPECT_EQ(vm.activity_point(), 4u);
}

TEST_P(Kmod, ConcurrentBindsWhileBosComeAndGo) {
  // Binds on one Vm from several threads while BOs are created, exported,
  // re-imported and dropped: the handle table and (panfrost) the unmap
  // checks against it stay consistent.
  auto vm_r = dev->vm_create(0);
  ASSERT_OK(vm_r);
  Vm& vm = **vm_r;
  constexpr int kThreads = 4, kIters = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; i++) {
        auto bo = dev->bo_create(64 * KiB, 0);
        if (!bo.ok()) {
          failures++;
          continue;
        }
        uint64_t va = panthor() ? kVaBase + (static_cast<uint64_t>(t) * kIters + i) * MiB
                                : (*bo)->kernel_va();
        BindOp ops[] = {map_op(**bo, va), unmap_op(va, 64 * KiB)};
        if (!vm.bind(BindMode::Immediate, ops).ok()) failures++;
        auto fd = dev->bo_export(**bo);
        if (!fd.ok()) {
          failures++;
          continue;
        }
        auto again = dev->bo_import(*fd);
        if (!again.ok() || again->get() != bo->get()) failures++;
        close(*fd);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dev->live_bo_count(), 0u);
}

TEST_P(Kmod, DeferredBindsAndSubmittersInterleave) {
  auto vm_r = dev->vm_create(0);
  ASSERT_OK(vm_r);
  Vm& vm = **vm_r;
  if (!panthor()) {
    EXPECT_ERRNO(vm.next_activity_point(), -EOPNOTSUPP);
    return;
  }
  constexpr int kThreads = 4, kIters = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; i++) {
        BindOp op;
        op.type = BindOp::Type::SyncOnly;
        if ((t + i) % 2) {
          // Deferred: the activity timeline's sync is the op's only sync.
          if (!vm.bind(BindMode::DeferToNextIdle, {&op, 1}).ok()) failures++;
        } else {
          auto ap = vm.next_activity_point();
          if (!ap.ok()) {
            failures++;
            continue;
          }
          SyncOp s[] = {SyncOp::signal(ap->syncobj(), ap->point())};
          op.syncs = s;
          if (vm.bind(BindMode::Async, {&op, 1}).ok())
            ap->commit();
          else
            failures++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  uint64_t last = kThreads * kIters;
  EXPECT_EQ(vm.activity_point(), last);
  uint32_t act = vm.activity_syncobj();
  EXPECT_OK(dev->syncobj_wait({&act, 1}, {&last, 1}, deadline_in_ms(10000)));
  auto q = dev->syncobj_query(act);
  ASSERT_OK(q);
  EXPECT_EQ(*q, last);
}

TEST(KmodSmallArray, InlineUpToCapacityHeapBeyond) {
  // The argument arrays of VM_BIND / GROUP_SUBMIT: the common small batch
  // costs no allocation, a large one still works.
  detail::SmallArray<drm_panthor_vm_bind_op, panthor::kInlineBindOps> ops16(16);
  EXPECT_FALSE(ops16.on_heap());
  const auto* self = reinterpret_cast<const char*>(&ops16);
  const auto* data = reinterpret_cast<const char*>(ops16.data());
  EXPECT_TRUE(data >= self && data < self + sizeof ops16);  // inside the object
  detail::SmallArray<drm_panthor_sync_op, panthor::kInlineSyncOps> syncs32(32);
  EXPECT_FALSE(syncs32.on_heap());
  detail::SmallArray<drm_panthor_vm_bind_op, panthor::kInlineBindOps> ops17(17);
  EXPECT_TRUE(ops17.on_heap());
  detail::SmallArray<drm_panthor_sync_op, panthor::kInlineSyncOps> syncs33(33);
  EXPECT_TRUE(syncs33.on_heap());
  for (size_t i = 0; i < 17; i++) {  // zeroed either way: pads are MBZ
    EXPECT_EQ(ops17[i].flags, 0u);
    EXPECT_EQ(ops17[i].syncs.count, 0u);
  }
  EXPECT_EQ(ops16[15].va, 0u);
  EXPECT_EQ(syncs32[31].timeline_value, 0u);
  EXPECT_EQ(panthor::kInlineBindOps, 16u);
  EXPECT_EQ(panthor::kInlineSyncOps, 32u);
}

TEST_P(Kmod, BatchesAtAndBeyondTheInlineCapacity) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  auto bo = dev->bo_create(64 * KiB, 0);
  ASSERT_OK(bo);
  std::vector<BindOp> ops(17);
  for (size_t i = 0; i < ops.size(); i++) ops[i] = map_op(**bo, kVaBase + i * MiB);
  if (!panthor()) {
    size_t failed = 0;
    ASSERT_OK((*vm)->bind(BindMode::Immediate, ops, &failed));
    EXPECT_EQ(failed, 17u);
    return;
  }
  auto ready = dev->syncobj_create(true);
  auto tl = dev->syncobj_create(false);
  ASSERT_OK(ready);
  ASSERT_OK(tl);
  // 16 ops with 2 sync ops each (inline arrays), then 17 with 2 each (heap).
  std::vector<SyncOp> syncs;
  for (size_t i = 0; i < 34; i += 2) {
    syncs.push_back(SyncOp::wait(*ready));
    syncs.push_back(SyncOp::signal(*tl, i / 2 + 1));
  }
  for (size_t i = 0; i < 17; i++) ops[i].syncs = std::span(syncs).subspan(2 * i, 2);
  size_t failed = 0;
  ASSERT_OK((*vm)->bind(BindMode::Async, std::span(ops).first(16), &failed));
  EXPECT_EQ(failed, 16u);
  uint64_t p = 16;
  EXPECT_OK(dev->syncobj_wait({&*tl, 1}, {&p, 1}, deadline_in_ms(5000)));
  for (size_t i = 0; i < 17; i++) {
    ops[i].va += 32 * MiB;
    syncs[2 * i + 1].point += 16;
  }
  ASSERT_OK((*vm)->bind(BindMode::Async, ops, &failed));
  EXPECT_EQ(failed, 17u);
  p = 33;
  EXPECT_OK(dev->syncobj_wait({&*tl, 1}, {&p, 1}, deadline_in_ms(5000)));
  auto q = dev->syncobj_query(*tl);
  ASSERT_OK(q);
  EXPECT_EQ(*q, 33u);  // every op's sync reached the kernel, in order
  // Immediate batches beyond the inline capacity too.
  for (BindOp& op : ops) op.syncs = {};
  ASSERT_OK((*vm)->bind(BindMode::Immediate, ops, &failed));
  EXPECT_EQ(failed, 17u);
}

// --- syncobj helpers ------------------------------------------------------

TEST_P(Kmod, SyncobjHelpers) {
  auto fresh = dev->syncobj_create(false);
  auto ready = dev->syncobj_create(true);
  ASSERT_OK(fresh);
  ASSERT_OK(ready);
  EXPECT_OK(dev->syncobj_wait({&*ready, 1}, {}, 0));  // already signalled: polling succeeds
  // No fence yet: without WAIT_FOR_SUBMIT the kernel refuses, with it the
  // poll times out.
  EXPECT_ERRNO(dev->syncobj_wait({&*fresh, 1}, {}, 0), -EINVAL);
  EXPECT_ERRNO(dev->syncobj_wait({&*fresh, 1}, {}, 0, true, true), -ETIME);
  EXPECT_OK(dev->syncobj_signal(*fresh));
  EXPECT_OK(dev->syncobj_wait({&*fresh, 1}, {}, deadline_in_ms(1000)));
  uint32_t both[] = {*fresh, *ready};
  EXPECT_OK(dev->syncobj_wait(both, {}, 0, false));

  auto tl = dev->syncobj_create(false);
  ASSERT_OK(tl);
  EXPECT_EQ(dev->props().has_timeline_syncobj, panthor());
  if (!dev->props().has_timeline_syncobj) {
    // panfrost: no DRIVER_SYNCOBJ_TIMELINE; the kernel says so, kmod passes it on.
    EXPECT_ERRNO(dev->syncobj_signal(*tl, 5), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->syncobj_query(*tl), -EOPNOTSUPP);
    uint64_t p1 = 1;
    EXPECT_ERRNO(dev->syncobj_wait({&*tl, 1}, {&p1, 1}, 0), -EOPNOTSUPP);
    EXPECT_OK(dev->syncobj_destroy(*fresh));
    EXPECT_OK(dev->syncobj_destroy(*ready));
    EXPECT_OK(dev->syncobj_destroy(*tl));
    EXPECT_FALSE(dev->syncobj_destroy(*tl).ok());
    return;
  }
  EXPECT_OK(dev->syncobj_signal(*tl, 5));
  auto q = dev->syncobj_query(*tl);
  ASSERT_OK(q);
  EXPECT_EQ(*q, 5u);
  uint64_t p5 = 5, p6 = 6;
  EXPECT_OK(dev->syncobj_wait({&*tl, 1}, {&p5, 1}, 0));
  EXPECT_ERRNO(dev->syncobj_wait({&*tl, 1}, {&p6, 1}, 0, true, true), -ETIME);
  uint64_t two_points[] = {5, 5};
  EXPECT_ERRNO(dev->syncobj_wait({&*tl, 1}, two_points, 0), -EINVAL);  // sizes differ

  EXPECT_OK(dev->syncobj_destroy(*fresh));
  EXPECT_OK(dev->syncobj_destroy(*ready));
  EXPECT_OK(dev->syncobj_destroy(*tl));
  EXPECT_FALSE(dev->syncobj_destroy(*tl).ok());
  EXPECT_ERRNO(dev->syncobj_query(*tl), -ENOENT);
}

// --- submission passthrough -----------------------------------------------

TEST_P(Kmod, CsfGroupsAndTilerHeaps) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  QueueCreateInfo q;
  GroupCreateInfo g;
  g.queues = {&q, 1};
  g.vm = vm->get();
  g.max_compute_cores = 1;
  g.max_fragment_cores = 1;
  g.max_tiler_cores = 1;
  g.compute_core_mask = dev->props().shader_present;
  g.fragment_core_mask = dev->props().shader_present;
  g.tiler_core_mask = dev->props().tiler_present;
  auto group = dev->group_create(g);
  auto heap = dev->tiler_heap_create(**vm, TilerHeapCreateInfo{});
  if (!panthor()) {
    EXPECT_ERRNO(group, -EOPNOTSUPP);
    EXPECT_ERRNO(heap, -EOPNOTSUPP);
    EXPECT_ERRNO(dev->group_get_state(1), -EOPNOTSUPP);
    return;
  }
  ASSERT_MODEL_SUPPORTS(group, "GROUP_CREATE");
  ASSERT_OK(group);
  auto st = dev->group_get_state(*group);
  ASSERT_OK(st);
  EXPECT_FALSE(st->fatal_fault);
  EXPECT_FALSE(st->timed_out);
  // A pure sync point on queue 0 signalling a binary syncobj.
  auto s = dev->syncobj_create(false);
  ASSERT_OK(s);
  SyncOp sig = SyncOp::signal(*s);
  QueueSubmit qs;
  qs.syncs = {&sig, 1};
  EXPECT_OK(dev->group_submit(*group, {&qs, 1}));
  EXPECT_OK(dev->syncobj_wait({&*s, 1}, {}, deadline_in_ms(5000)));
  EXPECT_OK(dev->group_destroy(*group));
  EXPECT_FALSE(dev->group_destroy(*group).ok());
  ASSERT_MODEL_SUPPORTS(heap, "TILER_HEAP_CREATE");
  ASSERT_OK(heap);
  EXPECT_NE(heap->context_va, 0u);
  EXPECT_NE(heap->first_chunk_va, 0u);
  EXPECT_OK(dev->tiler_heap_destroy(heap->handle));
}

// User queues: a model extension (drm-uapi/wsys_sim_ext.h), probed. The
// model offers it on panthor from 1.5; elsewhere every call is -EOPNOTSUPP.
TEST_P(Kmod, UserQueuesAreProbedAndRunFromTheRing) {
  const DeviceProps& p = dev->props();
  uint8_t cmd[16];
  if (!panthor() || !p.version.at_least(1, 5)) {
    EXPECT_FALSE(p.has_user_queues);
    EXPECT_ERRNO(dev->user_queue_create(UserQueueCreateInfo{}), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->user_queue_signal(1, 1, 1, 0), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->user_queue_seqno_command(1, cmd), -EOPNOTSUPP);
    EXPECT_ERRNO(dev->user_queue_map_doorbell(0), -EOPNOTSUPP);
    return;
  }
  ASSERT_TRUE(p.has_user_queues) << "the model offers user queues on panthor >= 1.5";
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  QueueCreateInfo q;
  GroupCreateInfo g;
  g.queues = {&q, 1};
  g.vm = vm->get();
  g.max_compute_cores = g.max_fragment_cores = g.max_tiler_cores = 1;
  g.compute_core_mask = g.fragment_core_mask = p.shader_present;
  g.tiler_core_mask = p.tiler_present;
  auto group = dev->group_create(g);
  ASSERT_OK(group);
  auto bo = dev->bo_create(64 * 1024, 0);
  ASSERT_OK(bo);
  const uint64_t va = 0x2000000;
  BindOp op = map_op(**bo, va);
  ASSERT_OK((*vm)->bind(BindMode::Immediate, {&op, 1}));
  auto cpu = dev->bo_mmap(**bo, PROT_READ | PROT_WRITE);
  ASSERT_OK(cpu);
  auto* base = static_cast<uint8_t*>(*cpu);
  UserQueueCreateInfo ci;
  ci.group = *group;
  ci.ring_va = va;
  ci.ring_size_bytes = 4096;
  ci.rptr_va = va + 0x8000;
  ci.wptr_va = va + 0x8008;
  ci.seqno_va = va + 0x8010;
  EXPECT_ERRNO(dev->user_queue_create(UserQueueCreateInfo{}), -EINVAL);  // no ring
  auto uq = dev->user_queue_create(ci);
  ASSERT_OK(uq);
  auto db = dev->user_queue_map_doorbell(uq->doorbell_offset);
  ASSERT_OK(db);
  auto so = dev->syncobj_create(false);
  ASSERT_OK(so);
  EXPECT_ERRNO(dev->user_queue_signal(uq->handle, 1, *so, 0), -EINVAL);  // not pushed
  auto n = dev->user_queue_seqno_command(1, cmd);
  ASSERT_OK(n);
  std::memcpy(base, cmd, *n);
  __atomic_store_n(reinterpret_cast<uint64_t*>(base + 0x8008), uint64_t{*n}, __ATOMIC_RELEASE);
  EXPECT_OK(dev->user_queue_signal(uq->handle, 1, *so, 0));
  *static_cast<volatile uint32_t*>(*db) = 1;  // the doorbell
  EXPECT_OK(dev->syncobj_wait({&*so, 1}, {}, deadline_in_ms(5000)));
  uint64_t seq;
  std::memcpy(&seq, base + 0x8010, 8);
  EXPECT_EQ(seq, 1u);
  auto st = dev->user_queue_state(uq->handle);
  ASSERT_OK(st);
  EXPECT_EQ(st->completed_seqno, 1u);
  EXPECT_FALSE(st->suspended || st->timed_out || st->faulted);
  EXPECT_OK(dev->user_queue_unmap_doorbell(*db));
  EXPECT_OK(dev->user_queue_destroy(uq->handle));
  EXPECT_ERRNO(dev->user_queue_destroy(uq->handle), -ENOENT);
  EXPECT_OK(dev->bo_munmap(**bo, *cpu));
  EXPECT_OK(dev->group_destroy(*group));
}

TEST_P(Kmod, JmJobChainSubmit) {
  JobChainSubmit s;
  if (panthor()) {
    EXPECT_ERRNO(dev->submit_job_chain(s), -EOPNOTSUPP);
    return;
  }
  auto r = dev->submit_job_chain(s);  // jc == 0
  ASSERT_MODEL_SUPPORTS(r, "SUBMIT");
  EXPECT_ERRNO(r, -EINVAL);
}

// --- 2026 calls: version-gated, -EOPNOTSUPP where the kernel lacks them ---

TEST_P(Kmod, CpuCachedBoAndCacheMaintenance) {
  const DeviceProps& p = dev->props();
  auto bo = dev->bo_create(8192, kBoCpuCached);
  if (!p.has_wb_mmap) {
    EXPECT_ERRNO(bo, -EOPNOTSUPP);
    EXPECT_EQ(p.supported_bo_flags & kBoCpuCached, 0u);
  } else {
    ASSERT_OK(bo);
    EXPECT_NE(p.supported_bo_flags & kBoCpuCached, 0u);
    auto cpu = dev->bo_mmap(**bo, PROT_READ | PROT_WRITE);
    ASSERT_OK(cpu);
    static_cast<uint8_t*>(*cpu)[0] = 9;
    EXPECT_OK(dev->bo_munmap(**bo, *cpu));
    EXPECT_ERRNO(dev->bo_create(4096, kBoCpuCached | kBoNoMmap), -EINVAL);
  }
  auto plain = dev->bo_create(8192, 0);
  ASSERT_OK(plain);
  BoSyncRange r[2];
  r[0].bo = plain->get();
  r[0].size = 4096;
  r[1].bo = plain->get();
  r[1].offset = 4096;
  r[1].size = 4096;
  r[1].invalidate = true;
  if (!p.has_cache_maintenance) {
    EXPECT_ERRNO(dev->bo_sync(r), -EOPNOTSUPP);
    return;
  }
  EXPECT_OK(dev->bo_sync(r));
  r[1].size = 8192;  // past the end: the kernel's -EINVAL
  EXPECT_ERRNO(dev->bo_sync(r), -EINVAL);
}

TEST_P(Kmod, BoQueryInfo) {
  auto bo = dev->bo_create(4096, kBoNoMmap);
  ASSERT_OK(bo);
  auto info = dev->bo_query_info(**bo);
  if (!dev->props().has_bo_query_info) {
    EXPECT_ERRNO(info, -EOPNOTSUPP);
    return;
  }
  ASSERT_OK(info);
  EXPECT_FALSE(info->imported);
  if (panthor()) {
    EXPECT_NE(info->flags & kBoNoMmap, 0u);
  } else {
    EXPECT_EQ(info->flags & kBoExecutable, 0u);  // panfrost: NOEXEC
  }
  EXPECT_NE(dev->props().selected_coherency, DeviceProps::kCoherencyUnknown);
}

TEST_P(Kmod, SparseMapReadsZero) {
  auto vm = dev->vm_create(0);
  ASSERT_OK(vm);
  BindOp op;
  op.type = BindOp::Type::Map;
  op.sparse = true;
  op.va = panthor() ? (1ull << 30) : (64ull << 20);
  op.size = 2ull << 20;
  auto r = (*vm)->bind(BindMode::Immediate, std::span<const BindOp>(&op, 1));
  if (!dev->props().has_sparse_map) {
    EXPECT_ERRNO(r, -EOPNOTSUPP);
    return;
  }
  EXPECT_OK(r);
  auto bo = dev->bo_create(4096, 0);
  ASSERT_OK(bo);
  op.bo = bo->get();  // sparse with a BO: refused before the kernel
  EXPECT_ERRNO((*vm)->bind(BindMode::Immediate, std::span<const BindOp>(&op, 1)), -EINVAL);
  EXPECT_OK((*vm)->bind(BindMode::Immediate, std::vector<BindOp>{unmap_op(1ull << 30, 2ull << 20)}));
}

TEST_P(Kmod, JmContexts) {
  auto ctx = dev->jm_ctx_create(JmCtxPriority::Low);
  if (!dev->props().has_jm_contexts) {
    EXPECT_ERRNO(ctx, -EOPNOTSUPP);
    EXPECT_ERRNO(dev->jm_ctx_destroy(1), -EOPNOTSUPP);
    JobChainSubmit s;
    s.jc = 0x1000;
    s.jm_ctx = 1;  // never silently run on the default context
    EXPECT_ERRNO(dev->submit_job_chain(s), -EOPNOTSUPP);
    return;
  }
  ASSERT_OK(ctx);
  EXPECT_NE(*ctx, 0u);
  JobChainSubmit s;  // jc 0 on the context: the kernel's -EINVAL
  s.jm_ctx = *ctx;
  EXPECT_ERRNO(dev->submit_job_chain(s), -EINVAL);
  EXPECT_OK(dev->jm_ctx_destroy(*ctx));
  EXPECT_ERRNO(dev->jm_ctx_destroy(*ctx), -EINVAL);
}

// --- concurrency ----------------------------------------------------------

TEST_P(Kmod, ConcurrentImportsShareOneBo) {
  auto other = open_test_device(GetParam());
  ASSERT_OK(other);
  Device& importer = **other;
  auto bo = dev->bo_create(16 * KiB, 0);
  ASSERT_OK(bo);
  auto fd = dev->bo_export(**bo);
  ASSERT_OK(fd);
  constexpr int kThreads = 4, kIters = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIters; i++) {
        auto a = importer.bo_import(*fd);
        auto b = importer.bo_import(*fd);
        if (!a.ok() || !b.ok() || a->get() != b->get()) {
          failures++;
          continue;
        }
        // The handle must be open while a Bo holds it, whatever the other
        // threads drop meanwhile.
        auto probe = importer.bo_export(**a);
        if (!probe.ok())
          failures++;
        else
          close(*probe);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(importer.live_bo_count(), 0u);
  auto last = importer.bo_import(*fd);
  ASSERT_OK(last);
  uint32_t h = (*last)->handle();
  last = Error(-EINVAL);
  EXPECT_ERRNO(importer.file().prime_handle_to_fd(h, O_CLOEXEC), -ENOENT);
  close(*fd);
}

// --- host memory (a model extension; udmabuf where the machine has it) ---

TEST_P(Kmod, HostImportIsProbedAndUdmabufIsWhatTheMachineHas) {
  // The model (in process or behind the shim) offers HOST_IMPORT on both
  // drivers; a real kernel would answer EXT_QUERY -EINVAL.
  EXPECT_TRUE(dev->props().has_host_import);
  EXPECT_EQ(dev->props().has_udmabuf, access("/dev/udmabuf", R_OK | W_OK) == 0);
}

TEST_P(Kmod, HostImportBackedMemfdIsTheSamePagesThroughTheBosMapping) {
  const uint64_t size = 64 * 1024;
  int fd = memfd_create("kmod-host", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, size), 0);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  fill(p, size, 0x77);
  auto bo = dev->bo_import_host(p, size, HostImportMode::Backed);
  ASSERT_OK(bo);
  auto st = dev->host_bo_state(**bo);
  ASSERT_OK(st);
  EXPECT_EQ(st->mode, static_cast<uint32_t>(HostImportMode::Backed));
  EXPECT_FALSE(st->invalidated);
  EXPECT_GE(st->pinned_bytes, size);
  auto m = dev->bo_mmap(**bo, PROT_READ | PROT_WRITE);
  ASSERT_OK(m);
  EXPECT_TRUE(check(*m, size, 0x77));
  static_cast<uint8_t*>(*m)[5] = 0xab;
  EXPECT_EQ(static_cast<uint8_t*>(p)[5], 0xab);
  EXPECT_OK(dev->bo_munmap(**bo, *m));
  EXPECT_ERRNO(dev->bo_export(**bo), -EPERM);
  bo = Error(-EINVAL);
  munmap(p, size);
  close(fd);
}

TEST_P(Kmod, HostImportStealKeepAndItsErrors) {
  const uint64_t size = 64 * 1024;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  fill(p, size, 0x31);
  EXPECT_ERRNO(dev->bo_import_host(nullptr, size, HostImportMode::StealKeep), -EINVAL);
  EXPECT_ERRNO(dev->bo_import_host(p, 0, HostImportMode::StealKeep), -EINVAL);
  EXPECT_ERRNO(dev->bo_import_host(p, size, HostImportMode::Backed), -EINVAL);  // private
  auto bo = dev->bo_import_host(p, size, HostImportMode::StealKeep);
  ASSERT_OK(bo);
  EXPECT_TRUE(check(p, size, 0x31));
  EXPECT_ERRNO(dev->bo_mmap(**bo, PROT_READ), -EINVAL);  // anonymous pages: GPU mapping only
  if (!panthor()) {
    EXPECT_NE((*bo)->kernel_va(), 0u);
  }
  bo = Error(-EINVAL);
  EXPECT_EQ(dev->live_bo_count(), 0u);
  munmap(p, size);
}

TEST_P(Kmod, UdmabufImportOfAMemfd) {
  if (!dev->props().has_udmabuf) {
    EXPECT_ERRNO(dev->bo_import_memfd(0, 0, 4096), -EOPNOTSUPP);
    GTEST_SKIP() << "/dev/udmabuf is absent on this machine (CONFIG_UDMABUF)";
  }
  const uint64_t size = 64 * 1024;
  int fd = memfd_create("kmod-udmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, size), 0);
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
  // The dma-buf is the kernel's; the model's PRIME import takes only its
  // own (a real panthor/panfrost would import it).
  auto bo = dev->bo_import_memfd(fd, 0, size);
  EXPECT_ERRNO(bo, -EINVAL);
  close(fd);
}

std::string driver_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Drivers, Kmod, ::testing::ValuesIn(test_drivers()), driver_name);

}  // namespace
}  // namespace wsys::kmod::test
