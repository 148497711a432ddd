#include "winsys/sim/sim_device.h"

#include <cerrno>

#include "winsys/sim/fault_inject.h"
#include "winsys/sim/shrinker.h"

namespace wsys::sim {

namespace {
// DRM hands out fake mmap offsets above 4 GiB (DRM_FILE_PAGE_OFFSET_START),
// in pages. The model does the same so offsets look like the kernel's.
constexpr uint64_t kFirstOffsetPage = (0xFFFFFFFFull >> 12) + 1;

// What DRM_IOCTL_VERSION reports: the selected version (driver_version.h;
// newest: panthor 1.9, panfrost 1.6).
SimDriverVersion version_for(const std::string& driver, DriverVersion dv) {
  if (driver == "panthor")
    return {"panthor", dv.major, dv.minor, 0, "20230801", "Panthor DRM driver (wsys kernel model)"};
  return {"panfrost", dv.major, dv.minor, 0, "20180908", "panfrost DRM (wsys kernel model)"};
}
}  // namespace

SimDevice::SimDevice(std::string driver, GpuIdentity gpu, DriverVersion dv)
    : version_(version_for(driver, dv)),
      gpu_(std::move(gpu)),
      panthor_(driver == "panthor"),
      next_offset_pages_(kFirstOffsetPage) {}

namespace {
// The process-wide devices, created by SimDevice::get.
std::mutex g_devices_lock;
SimDevice* g_panthor = nullptr;
SimDevice* g_panfrost = nullptr;
}  // namespace

std::vector<SimDevice*> SimDevice::opened() {
  std::lock_guard<std::mutex> g(g_devices_lock);
  std::vector<SimDevice*> v;
  if (g_panthor) v.push_back(g_panthor);
  if (g_panfrost) v.push_back(g_panfrost);
  return v;
}

SimDevice* SimDevice::get(const std::string& driver, std::string* why) {
  SimDevice*& panthor = g_panthor;
  SimDevice*& panfrost = g_panfrost;
  std::lock_guard<std::mutex> g(g_devices_lock);
  SimDevice** slot = driver == "panthor" ? &panthor : driver == "panfrost" ? &panfrost : nullptr;
  if (!slot) {
    if (why) *why = "the kernel model has no driver '" + driver + "'";
    return nullptr;
  }
  if (!*slot) {
    GpuIdentity gpu;
    if (!gpu_identity_for(driver, &gpu, why)) return nullptr;
    uint64_t budget = 0;
    if (!memory_budget_from_env(&budget, why)) return nullptr;
    if (!fault_inject_env_check(why)) return nullptr;
    DriverVersion dv;
    if (!driver_version_from_env(driver, &dv, why)) return nullptr;
    // Never destroyed: files and worker threads may outlive static destructors.
    *slot = new SimDevice(driver, std::move(gpu), dv);
    (*slot)->shrinker_ = new Shrinker(budget);
    if ((*slot)->panthor_) (*slot)->shrinker_->enable_panthor_reclaim(*slot);
  }
  return *slot;
}

void SimDevice::register_bo(const SimBoPtr& bo) {
  std::lock_guard<std::mutex> g(lock_);
  bo->mmap_offset_ = next_offset_pages_ << 12;
  next_offset_pages_ += bo->size() >> 12;
  if (bo->size() & 0xfff) next_offset_pages_++;
  by_offset_[bo->mmap_offset_] = bo;
  by_inode_[bo->inode()] = bo;
  live_bos_++;
  live_bytes_ += bo->size();
}

void SimDevice::unregister_bo(SimBo* bo) {
  std::lock_guard<std::mutex> g(lock_);
  by_offset_.erase(bo->mmap_offset_);
  auto it = by_inode_.find(bo->inode());
  // Only erase the entry if it is this object's (it has expired by now).
  if (it != by_inode_.end() && it->second.expired()) by_inode_.erase(it);
  live_bos_--;
  live_bytes_ -= bo->size();
}

SimBoPtr SimDevice::bo_by_mmap_offset(uint64_t offset) {
  std::lock_guard<std::mutex> g(lock_);
  auto it = by_offset_.find(offset);
  return it == by_offset_.end() ? nullptr : it->second.lock();
}

SimBoPtr SimDevice::bo_by_inode(ino_t ino) {
  std::lock_guard<std::mutex> g(lock_);
  auto it = by_inode_.find(ino);
  return it == by_inode_.end() ? nullptr : it->second.lock();
}

uint64_t SimDevice::live_bos() const {
  std::lock_guard<std::mutex> g(lock_);
  return live_bos_;
}

uint64_t SimDevice::live_bo_bytes() const {
  std::lock_guard<std::mutex> g(lock_);
  return live_bytes_;
}

}  // namespace wsys::sim
