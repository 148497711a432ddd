// Backend-only header: what panthor/ and panfrost/ share. Users include
// kmod.h only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "winsys/kmod/kmod.h"

namespace wsys::kmod {

Result<std::unique_ptr<Device>> create_panthor_device(std::unique_ptr<drm::DrmFile> file);
Result<std::unique_ptr<Device>> create_panfrost_device(std::unique_ptr<drm::DrmFile> file);

// The capabilities (DeviceProps::has_*, growable_heap) a driver version
// has: every version gate of a backend, in one place (kmod tests check
// them without a kernel of that version).
void set_panthor_capabilities(const drm::DriverVersion& v, DeviceProps& p);
void set_panfrost_capabilities(const drm::DriverVersion& v, DeviceProps& p);

// True if the kernel answers the model extensions' EXT_QUERY
// (drm-uapi/wsys_sim_ext.h) with `feature` set; false on any real kernel.
bool probe_ext_feature(drm::DrmFile& file, uint32_t feature);

namespace detail {

// The open file and everything that must outlive the Device object while
// Bos and Vms still use it. Shared by the Device, its Bos and its Vms.
//
// The handle table: every Bo of this file, by GEM handle. The kernel gives
// one handle per GEM object per file, so an import of a buffer this file
// already has returns an existing handle, and the table turns that into the
// existing Bo. `raw` identifies which Bo owns the handle: a Bo whose last
// reference went while an import handed its handle to a newer Bo must not
// close it. Import (PRIME_FD_TO_HANDLE + lookup + insert) and close (erase +
// GEM_CLOSE) both run under bo_lock, so no handle is closed under a Bo that
// was just handed it.
struct DeviceCore : std::enable_shared_from_this<DeviceCore> {
  explicit DeviceCore(std::unique_ptr<drm::DrmFile> f) : file(std::move(f)) {}
  DeviceCore(const DeviceCore&) = delete;
  DeviceCore& operator=(const DeviceCore&) = delete;

  struct Entry {
    Bo* raw = nullptr;
    std::weak_ptr<Bo> weak;
  };

  std::unique_ptr<drm::DrmFile> file;
  std::mutex bo_lock;
  std::unordered_map<uint32_t, Entry> bos;  // guarded by bo_lock
  // panfrost: the file's single address space is handed out as one Vm.
  std::atomic<bool> single_vm_taken{false};

  // GEM_CLOSE; returns 0 or the kernel's errno.
  int gem_close(uint32_t handle);
  // Wraps a handle this file just obtained in a new Bo and enters it in the
  // table (replacing an entry whose Bo is dying: it hands the handle over).
  // Requires bo_lock.
  BoPtr adopt_locked(uint32_t handle, uint64_t size, uint32_t flags, bool imported,
                     uint64_t kernel_va, bool exclusive, uint32_t exclusive_vm_id);
  // The same, taking bo_lock (for freshly created BOs).
  BoPtr adopt(uint32_t handle, uint64_t size, uint32_t flags, uint64_t kernel_va, bool exclusive,
              uint32_t exclusive_vm_id) {
    std::lock_guard<std::mutex> g(bo_lock);
    return adopt_locked(handle, size, flags, false, kernel_va, exclusive, exclusive_vm_id);
  }
  // From ~Bo: drops the table entry and closes the handle if `bo` owns it.
  void release(Bo* bo);

  static const std::shared_ptr<DeviceCore>& core_of(const Bo& bo) { return bo.core_; }
};

// A CPU page: the kernel rounds BO sizes to it.
uint64_t cpu_page_size();
inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace detail
}  // namespace wsys::kmod
