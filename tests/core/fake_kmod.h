// A fake kmod device for core unit tests: no kernel, no model, every
// behaviour scripted (allocation failures, purges, busy buffers, async bind
// completion, syncobj points). Buffers are memfds so CPU mappings keep
// their contents; the fake VM records mappings and refuses overlaps, which
// is how tests see that a VA is never reused while still mapped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "winsys/kmod/kmod.h"

namespace wsys::test {

struct FakeKmodConfig {
  bool panfrost = false;  // kernel-managed VA, madvise, WAIT_BO, no timelines
  uint64_t va_start = 1ull << 32;
  uint64_t va_end = 1ull << 40;
};

class FakeKmodDevice;

class FakeVm final : public kmod::Vm {
 public:
  FakeVm(FakeKmodDevice& d, uint64_t start, uint64_t end) : kmod::Vm(1, start, end), dev_(d) {}
  Result<void> bind(kmod::BindMode mode, std::span<const kmod::BindOp> ops,
                    size_t* failed_index) override;
  Result<bool> usable() override { return true; }

  // Runs queued async ops whose waits are satisfied, in order; returns how
  // many ran.
  size_t run_async();
  size_t queued() const;
  bool mapped(uint64_t va) const;  // some mapping covers va
  size_t mapping_count() const;
  uint64_t immediate_maps = 0, immediate_unmaps = 0, async_ops = 0, overlap_refusals = 0;

 private:
  struct Pending {
    kmod::BindOp op;
    std::vector<kmod::SyncOp> syncs;
  };
  Result<void> apply(const kmod::BindOp& op);
  FakeKmodDevice& dev_;
  mutable std::mutex lock_;
  std::map<uint64_t, uint64_t> maps_;  // va -> size
  std::vector<Pending> pending_;
};

class FakeKmodDevice final : public kmod::Device {
 public:
  explicit FakeKmodDevice(FakeKmodConfig c = {});
  ~FakeKmodDevice() override;

  Result<kmod::BoPtr> bo_create(uint64_t size, uint32_t flags, kmod::Vm* exclusive_vm) override;
  Result<void*> bo_mmap(kmod::Bo& bo, int prot) override;
  Result<void> bo_set_label(kmod::Bo& bo, const std::string& label) override;
  Result<bool> bo_make_evictable(kmod::Bo& bo) override;
  Result<bool> bo_make_unevictable(kmod::Bo& bo) override;
  Result<void> bo_wait(kmod::Bo& bo, int64_t abs_deadline_ns) override;
  Result<kmod::VmPtr> vm_create(uint64_t user_va_range) override;
  Result<uint64_t> gpu_timestamp() override { return Error(-EOPNOTSUPP); }

  Result<uint32_t> syncobj_create(bool signalled) override;
  Result<void> syncobj_destroy(uint32_t handle) override;
  Result<void> syncobj_wait(std::span<const uint32_t> handles, std::span<const uint64_t> points,
                            int64_t abs_deadline_ns, bool wait_all, bool wait_for_submit) override;
  Result<void> syncobj_signal(uint32_t handle, uint64_t point) override;
  Result<uint64_t> syncobj_query(uint32_t handle) override;

  // --- scripting ---
  void fail_next_creates(int n, int err) {
    std::lock_guard<std::mutex> g(lock_);
    fail_creates_ = n;
    fail_errno_ = err;
  }
  // Every buffer made evictable from now on is purged at once.
  void set_purge_on_dontneed(bool on) {
    std::lock_guard<std::mutex> g(lock_);
    purge_ = on;
  }
  // The shrinker: purges every buffer that is evictable now. Returns how many.
  size_t purge_evictable();
  void set_kernel_busy(uint32_t handle, bool busy);  // panfrost WAIT_BO
  FakeVm* vm() const { return vm_; }

  uint64_t creates = 0, mmaps = 0, madvise_dontneed = 0, madvise_willneed = 0, purges = 0;
  uint64_t labels = 0;
  uint64_t live_bos() const;

 protected:
  Result<uint64_t> imported_bo_kernel_va(uint32_t) override { return uint64_t{0}; }

 private:
  friend class FakeVm;
  bool point_signalled_locked(uint32_t s, uint64_t p) const;
  void purge_locked(uint32_t handle);
  mutable std::mutex lock_;
  FakeKmodConfig cfg_;
  uint32_t next_handle_ = 1;
  int fail_creates_ = 0;
  int fail_errno_ = -ENOMEM;
  bool purge_ = false;
  std::map<uint32_t, int> memfds_;     // handle -> memfd
  std::set<uint32_t> purged_;
  std::set<uint32_t> evictable_;
  std::set<uint32_t> kernel_busy_;
  std::map<uint32_t, uint64_t> syncobjs_;  // handle -> signalled value (binary: 0/1)
  uint32_t next_syncobj_ = 1;
  uint64_t next_kernel_va_ = 32ull << 20;
  FakeVm* vm_ = nullptr;
};

}  // namespace wsys::test
