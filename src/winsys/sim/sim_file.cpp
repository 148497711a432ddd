#include "winsys/sim/sim_file.h"

#include <atomic>
#include <cerrno>
#include <mutex>

#include "winsys/sim/sim_device.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

uint64_t SimFile::next_client_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}


SimFile::SimFile(SimDevice* dev) : dev_(dev) {
  if (!dev->is_panthor()) priv_ = make_panfrost_file_priv();
  else priv_ = make_panthor_file_priv();
}

SimFile::~SimFile() {
  if (priv_) priv_->file_closing(*this);
  // As drm_file release: VMs go first (their queues drain), then handles.
  for (auto& vm : vms_) {
    if (vm) vm->destroy();
    vm.reset();
  }
  if (panfrost_vm_) panfrost_vm_->destroy();
  panfrost_vm_.reset();
}

uint32_t SimFile::handle_for(const SimBoPtr& bo, int* err) {
  std::lock_guard<ReclaimMutex> gg(gem_lock_);
  {
    std::lock_guard<ReclaimMutex> g(lock_);
    auto it = bo_handles_.find(bo.get());
    if (it != bo_handles_.end()) return it->second;
  }
  // As drm_gem_handle_create: the driver's open callback runs before the
  // handle is published, and a failure leaves no handle behind.
  if (priv_) {
    int r = priv_->gem_open(*this, bo);
    if (r) {
      if (err) *err = r;
      return 0;
    }
  }
  uint32_t h;
  {
    std::lock_guard<ReclaimMutex> g(lock_);
    h = bos_.insert(bo);
    if (h) bo_handles_[bo.get()] = h;
  }
  if (!h) {
    if (priv_) priv_->gem_close(*this, bo);
    if (err) *err = -ENOSPC;
  }
  return h;
}

SimBoPtr SimFile::lookup_bo(uint32_t handle) {
  std::lock_guard<ReclaimMutex> g(lock_);
  return bos_.get(handle);
}

bool SimFile::has_bo(const SimBo* bo) {
  std::lock_guard<ReclaimMutex> g(lock_);
  return bo_handles_.count(bo) != 0;
}

int SimFile::close_handle(uint32_t handle) {
  std::lock_guard<ReclaimMutex> gg(gem_lock_);
  SimBoPtr bo;  // released after the lock is dropped
  {
    std::lock_guard<ReclaimMutex> g(lock_);
    bo = bos_.remove(handle);
    if (!bo) return -EINVAL;
    bo_handles_.erase(bo.get());
  }
  if (priv_) priv_->gem_close(*this, bo);
  return 0;
}

size_t SimFile::bo_handle_count() {
  std::lock_guard<ReclaimMutex> g(lock_);
  return bos_.size();
}

uint32_t SimFile::add_syncobj(SyncobjPtr s) {
  std::lock_guard<ReclaimMutex> g(lock_);
  return syncobjs_.insert(std::move(s));
}

SyncobjPtr SimFile::lookup_syncobj(uint32_t handle) {
  std::lock_guard<ReclaimMutex> g(lock_);
  return syncobjs_.get(handle);
}

SyncobjPtr SimFile::remove_syncobj(uint32_t handle) {
  std::lock_guard<ReclaimMutex> g(lock_);
  return syncobjs_.remove(handle);
}

uint32_t SimFile::add_vm(std::shared_ptr<SimVm> vm) {
  std::lock_guard<ReclaimMutex> g(lock_);
  for (uint32_t id = 1; id <= kMaxVmsPerFile; id++) {
    if (!vms_[id]) {
      vms_[id] = std::move(vm);
      return id;
    }
  }
  return 0;
}

std::shared_ptr<SimVm> SimFile::lookup_vm(uint32_t id) {
  if (id == 0 || id > kMaxVmsPerFile) return nullptr;
  std::lock_guard<ReclaimMutex> g(lock_);
  return vms_[id];
}

std::shared_ptr<SimVm> SimFile::remove_vm(uint32_t id) {
  if (id == 0 || id > kMaxVmsPerFile) return nullptr;
  std::lock_guard<ReclaimMutex> g(lock_);
  return std::move(vms_[id]);
}

std::shared_ptr<SimVm> SimFile::panfrost_vm() {
  std::lock_guard<ReclaimMutex> g(lock_);
  return panfrost_vm_;
}

void SimFile::set_panfrost_vm(std::shared_ptr<SimVm> vm) {
  std::lock_guard<ReclaimMutex> g(lock_);
  panfrost_vm_ = std::move(vm);
}

}  // namespace wsys::sim
