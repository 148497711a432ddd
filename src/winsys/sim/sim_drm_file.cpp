#include "winsys/sim/sim_drm_file.h"

#include <sys/mman.h>

#include <cerrno>

#include "drm-uapi/drm_core.h"
#include "winsys/sim/shared_alloc.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/userq.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

Result<std::unique_ptr<SimDrmFile>> SimDrmFile::open(const std::string& driver, std::string* why) {
  SimDevice* dev = SimDevice::get(driver, why);
  if (!dev) return Error(-ENODEV);
  const SimDriverVersion& sv = dev->version();
  drm::DriverVersion v;
  v.name = sv.name;
  v.major = sv.major;
  v.minor = sv.minor;
  v.patchlevel = sv.patchlevel;
  v.date = sv.date;
  v.desc = sv.desc;
  auto f = std::make_unique<SimFile>(dev);
  return std::unique_ptr<SimDrmFile>(new SimDrmFile(std::move(f), std::move(v), "sim:" + driver));
}

SimDrmFile::~SimDrmFile() = default;

int SimDrmFile::ioctl(unsigned long request, void* arg) { return file_->ioctl(request, arg); }

Result<void*> sim_mmap(SimFile& file, void* addr, size_t length, int prot, int flags,
                       uint64_t offset) {
  if (length == 0) return Error(-EINVAL);
  if (userq_is_doorbell_offset(offset)) {  // a user queue's doorbell (model extension)
    void* p = nullptr;
    int r = userq_doorbell_mmap(file, addr, length, prot, flags, offset, &p);
    if (r) return Error(r);
    return p;
  }
  SimBoPtr bo = file.device()->bo_by_mmap_offset(offset);
  if (!bo) return Error(-EINVAL);
  if (!file.has_bo(bo.get())) return Error(-EACCES);
  if (page_align(length) > bo->size()) return Error(-EINVAL);
  // A private writable mapping of a GEM object would be copy-on-write,
  // which the kernel refuses.
  if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
    return Error(-EINVAL);
  if (!bo->mmap_allowed) return Error(-EINVAL);
  // A shared buffer's CPU mapping is a first use (model extension).
  if (bo->shared_attach) {
    SharedBuffer& sb = *bo->shared_attach->buffer();
    if (int r = sb.allocator().cpu_map(sb)) return Error(r);
  }
  void* p = ::mmap(addr, length, prot, flags, bo->memfd(), static_cast<off_t>(bo->file_offset()));
  if (p == MAP_FAILED) return Error(-errno);
  bo->user_mapped.store(true, std::memory_order_release);
  return p;
}

Result<void*> SimDrmFile::mmap(void* addr, size_t length, int prot, int flags, uint64_t offset) {
  return sim_mmap(*file_, addr, length, prot, flags, offset);
}

int SimDrmFile::munmap(void* addr, size_t length) {
  userq_doorbell_munmap(addr, length);
  return ::munmap(addr, length) == 0 ? 0 : -errno;
}

Result<int> SimDrmFile::prime_handle_to_fd(uint32_t handle, uint32_t flags) {
  drm_prime_handle args{};
  args.handle = handle;
  args.flags = flags;
  args.fd = -1;
  int r = ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &args);
  if (r) return Error(r);
  return args.fd;
}

Result<uint32_t> SimDrmFile::prime_fd_to_handle(int fd) {
  drm_prime_handle args{};
  args.fd = fd;
  int r = ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, &args);
  if (r) return Error(r);
  return args.handle;
}

void* SimDrmFile::cpu_address(uint32_t vm_id, uint64_t va) const {
  std::shared_ptr<SimVm> vm = vm_id ? file_->lookup_vm(vm_id) : file_->panfrost_vm();
  return vm ? vm->gpu_view(va) : nullptr;
}

uint64_t SimDrmFile::memory_bytes() const { return file_->device()->shrinker().budget(); }

// A model extension (no kernel reports a budget): the headroom before the
// model's shrinker (and, on panthor, its transparent reclaim) runs.
uint64_t SimDrmFile::memory_available() const {
  const Shrinker& s = file_->device()->shrinker();
  const uint64_t budget = s.budget(), charged = s.charged();
  return charged >= budget ? 0 : budget - charged;
}

}  // namespace wsys::sim
