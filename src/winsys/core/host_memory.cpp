// Device::import_host: host memory as GPU memory, the policy
// (docs/host-memory.md). kmod says what the kernel offers (the model's
// HOST_IMPORT extension, /dev/udmabuf); this file picks:
//   UploadDiscard  steal (page moves) from host_steal_min_bytes on, when
//                  the range is page-aligned private anonymous memory;
//                  else a copy.
//   UploadKeep     a copy: keeping the range's contents costs the model a
//                  full copy on top of the page moves (eager copy-back,
//                  measured by bench/host_upload_bench.cpp), so stealing
//                  never wins there.
//   Shared         backed (HOST_IMPORT) where the kernel has it, else
//                  udmabuf for a memfd range, else -EOPNOTSUPP: a copy
//                  cannot share pages.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"
#include "winsys/kmod/kmod.h"
#include "wsys/bo.hpp"
#include "wsys/device.hpp"

namespace wsys {

namespace {

constexpr const char* kPathLabels[] = {"host:steal", "host:steal", "host:backed", "host:udmabuf",
                                       "host:copy"};

// The mapping holding `addr` (/proc/self/maps): its start, end, file offset
// and whether it is shared. False if `addr` is not mapped.
struct HostRange {
  uintptr_t start = 0, end = 0;
  uint64_t offset = 0;
  bool shared = false;
};
bool find_host_range(uintptr_t addr, HostRange* out) {
  FILE* fp = std::fopen("/proc/self/maps", "re");
  if (!fp) return false;
  char line[4096];
  bool found = false;
  while (!found && std::fgets(line, sizeof line, fp)) {
    unsigned long start = 0, end = 0;
    unsigned long long off = 0;
    char perms[5] = {};
    if (std::sscanf(line, "%lx-%lx %4s %llx", &start, &end, perms, &off) != 4) continue;
    if (addr < start || addr >= end) continue;
    *out = {start, end, off, perms[3] == 's'};
    found = true;
  }
  std::fclose(fp);
  return found;
}

}  // namespace

const char* host_import_path_name(HostImportPath p) {
  static constexpr const char* kNames[] = {"steal", "steal-keep", "backed", "udmabuf", "copy"};
  return kNames[static_cast<int>(p)];
}

Result<BoRef> Device::import_host(void* ptr, uint64_t size, HostMemoryMode mode,
                                  HostImportPath* path_out) {
  if (!ptr || size == 0) return Error(-EINVAL);
  if (mode != HostMemoryMode::UploadDiscard && mode != HostMemoryMode::UploadKeep &&
      mode != HostMemoryMode::Shared)
    return Error(-EINVAL);
  const uint64_t page = info_.page_size_bytes;
  const auto addr = reinterpret_cast<uintptr_t>(ptr);
  const bool aligned = addr % page == 0 && size % page == 0;

  std::shared_ptr<kmod::Bo> kb;
  HostImportPath path = HostImportPath::Copy;
  int err = 0;
  if (mode == HostMemoryMode::Shared) {
    if (!aligned) return Error(-EINVAL);
    if (info_.host_import) {
      auto r = kdev_->bo_import_host(ptr, size, kmod::HostImportMode::Backed);
      if (!r.ok()) return Error(r.error());
      kb = std::move(*r);
      path = HostImportPath::Backed;
    } else if (info_.udmabuf) {
      // udmabuf takes the memfd itself: reach it through the mapping.
      HostRange hr;
      if (!find_host_range(addr, &hr) || addr + size > hr.end) return Error(-EFAULT);
      if (!hr.shared) return Error(-EINVAL);
      char fpath[96];
      std::snprintf(fpath, sizeof fpath, "/proc/self/map_files/%lx-%lx",
                    static_cast<unsigned long>(hr.start), static_cast<unsigned long>(hr.end));
      int fd = ::open(fpath, O_RDWR | O_CLOEXEC);
      if (fd < 0) return Error(-errno);
      auto r = kdev_->bo_import_memfd(fd, hr.offset + (addr - hr.start), size);
      ::close(fd);
      if (!r.ok()) return Error(r.error());
      kb = std::move(*r);
      path = HostImportPath::Udmabuf;
    } else {
      return Error(-EOPNOTSUPP);
    }
  } else if (mode == HostMemoryMode::UploadDiscard && info_.host_import && aligned &&
             size >= impl_->options.host_steal_min_bytes) {
    auto r = kdev_->bo_import_host(ptr, size, kmod::HostImportMode::StealLose);
    if (r.ok()) {
      kb = std::move(*r);
      path = HostImportPath::Steal;
    } else if (r.error() != -EINVAL) {
      return Error(r.error());  // -EFAULT, -ENOMEM: a copy would not do better
    }
    // -EINVAL: shared or file memory, which cannot be stolen: copy.
    err = r.ok() ? 0 : r.error();
  }

  if (path == HostImportPath::Copy) {
    auto bo = bo_alloc(size, 0, kPathLabels[4]);
    if (!bo.ok()) return Error(bo.error());
    auto m = (*bo)->map();
    if (!m.ok()) return Error(m.error());
    std::memcpy(*m, ptr, size);
    impl_->host_paths[4].fetch_add(1, std::memory_order_relaxed);
    WSYS_LOG(Bo, "import_host ptr=%p size=%" PRIu64 " path=copy%s handle=%u", ptr, size,
             err ? " (not stealable)" : "", (*bo)->handle());
    if (path_out) *path_out = path;
    return bo;
  }

  // A kernel object made of the host pages: never cached (the pages are
  // the application's or were stolen for this one buffer), never shared.
  Bo* bo = new Bo(this, std::move(kb), size, 0);
  bo->no_cache_ = true;
  if (Result<void> r = DeviceVa::map(*this, *bo); !r.ok()) {
    delete bo;
    return Error(r.error());
  }
  bo->device_ref_ = shared_from_this();
  const char* label = kPathLabels[static_cast<int>(path)];
  (void)bo->set_label(label);
  impl_->bos_live.fetch_add(1, std::memory_order_relaxed);
  impl_->bytes_requested.fetch_add(size, std::memory_order_relaxed);
  impl_->bytes_live.fetch_add(bo->size(), std::memory_order_relaxed);
  impl_->count_label(*bo, label, +1);
  impl_->host_paths[static_cast<int>(path)].fetch_add(1, std::memory_order_relaxed);
  WSYS_LOG(Bo, "import_host ptr=%p size=%" PRIu64 " path=%s handle=%u va=0x%" PRIx64, ptr, size,
           host_import_path_name(path), bo->handle(), bo->gpu_va());
  if (path_out) *path_out = path;
  return BoRef::adopt(bo);
}

Result<bool> Device::host_invalidated(Bo& bo) {
  if (bo.device_ != this || !info_.host_import) return Error(-EINVAL);
  auto st = kdev_->host_bo_state(*bo.kbo_);
  if (!st.ok()) return Error(st.error());
  if (st->mode != static_cast<uint32_t>(kmod::HostImportMode::Backed)) return Error(-EINVAL);
  return st->invalidated;
}

}  // namespace wsys
