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
//   Shared         backed (HOST_IMPORT) where the kernel has it (private
//                  memory made shared in place first: remap_shared), else
//                  udmabuf for a memfd range, else -EOPNOTSUPP: a copy
//                  cannot share pages.
#include <fcntl.h>
#include <sys/mman.h>
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

constexpr const char* kPathLabels[] = {"host:steal", "host:steal", "host:backed",
                                       "host:udmabuf", "host:copy", "host:backed"};

// The mapping holding `addr` (/proc/self/maps): its start, end, file offset
// and whether it is shared. False if `addr` is not mapped.
struct HostRange {
  uintptr_t start = 0, end = 0;
  uint64_t offset = 0;
  bool shared = false;
  bool writable = false;
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
    *out = {start, end, off, perms[3] == 's', perms[0] == 'r' && perms[1] == 'w'};
    found = true;
  }
  std::fclose(fp);
  return found;
}

// Whether [addr, addr + size) is covered, without a gap, by writable
// mappings that remap_shared may replace: private ones, and the memfds of
// earlier shared imports (left shared when those were freed: the
// application's heap then mixes them with its private pages, and a new
// import can span both). A file's shared mapping never qualifies.
bool remappable_span(uintptr_t addr, uint64_t size) {
  FILE* fp = std::fopen("/proc/self/maps", "re");
  if (!fp) return false;
  char line[4096];
  uintptr_t next = addr;
  const uintptr_t end = addr + size;
  bool ok = true;
  while (ok && next < end && std::fgets(line, sizeof line, fp)) {
    unsigned long start = 0, stop = 0;
    unsigned long long off = 0;
    char perms[5] = {};
    int name_at = 0;
    if (std::sscanf(line, "%lx-%lx %4s %llx %*s %*s%n", &start, &stop, perms, &off, &name_at) < 4)
      continue;
    if (stop <= next) continue;
    if (start > next) break;  // a gap
    const char* name = line + name_at;
    while (*name == ' ') ++name;
    const bool writable = perms[0] == 'r' && perms[1] == 'w';
    const bool ours = std::strncmp(name, "/memfd:wsys-host-shared", 23) == 0;
    ok = writable && (perms[3] == 'p' || ours);
    next = stop;
  }
  std::fclose(fp);
  return ok && next >= end;
}

// Shared of private memory: the CPU MMU cannot alias private pages, so the
// range becomes a shared mapping first, in place: a memfd gets the contents
// (one copy) and is mapped over the range at the same address. The
// application sees the same address and contents; from then on its pages
// are the memfd's, which the kernel can alias. Writes another thread makes
// to the range during the copy would be lost: the range belongs to the
// import from the call on (as Vulkan requires of an imported host pointer).
int remap_shared(void* ptr, uint64_t size) {
  int fd = memfd_create("wsys-host-shared", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  int err = 0;
  void* tmp = MAP_FAILED;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    err = -errno;
  } else {
    tmp = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (tmp == MAP_FAILED) err = -errno;
  }
  if (!err) {
    std::memcpy(tmp, ptr, size);
    munmap(tmp, size);
    if (mmap(ptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
      err = -errno;  // MAP_FIXED failing leaves the old mapping in place
  }
  ::close(fd);  // the mapping holds the file
  return err;
}

}  // namespace

bool Device::host_shareable(const void* ptr, uint64_t size) const {
  const auto addr = reinterpret_cast<uintptr_t>(ptr);
  const uint64_t page = info_.page_size_bytes;
  if (!ptr || !size || addr % page || size % page) return false;
  HostRange hr;
  if (!find_host_range(addr, &hr) || addr + size > hr.end || !hr.writable) return false;
  if (info_.host_import) return true;  // shared as is, private after a remap
  return info_.udmabuf && hr.shared;
}

const char* host_import_path_name(HostImportPath p) {
  static constexpr const char* kNames[] = {"steal", "steal-keep", "backed",
                                           "udmabuf", "copy",       "backed-remap"};
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
  uintptr_t host_range = 0;  // a backed import's start: tracked while it lives
  int err = 0;
  if (mode == HostMemoryMode::Shared) {
    if (!aligned) return Error(-EINVAL);
    if (info_.host_import) {
      path = HostImportPath::Backed;
      HostRange hr;
      if (!find_host_range(addr, &hr)) return Error(-EFAULT);
      if (addr + size > hr.end) {
        // Several mappings (an earlier import's left-over memfd beside
        // private heap pages): one new memfd over the whole range, unless
        // that would take pages from under a live import.
        if (!remappable_span(addr, size)) return Error(-EFAULT);
        std::lock_guard<std::mutex> g(impl_->host_lock);
        for (const auto& [start, end] : impl_->host_live)
          if (start < addr + size && addr < end) return Error(-EINVAL);
        if (int e = remap_shared(ptr, size)) return Error(e);
        path = HostImportPath::BackedRemap;
      } else if (!hr.shared) {
        if (!hr.writable) return Error(-EFAULT);
        if (int e = remap_shared(ptr, size)) return Error(e);
        path = HostImportPath::BackedRemap;
      }
      auto r = kdev_->bo_import_host(ptr, size, kmod::HostImportMode::Backed);
      if (!r.ok()) return Error(r.error());
      kb = std::move(*r);
      host_range = addr;
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
  if (host_range) {
    std::lock_guard<std::mutex> g(impl_->host_lock);
    impl_->host_live.emplace(host_range, host_range + size);
    bo->host_addr_ = host_range;
  }
  const char* label = kPathLabels[static_cast<int>(path)];
  (void)bo->set_label(label);
  // Not in peak_bytes_live: the pages were the application's first.
  impl_->count_in(*bo, size, label, Device::Impl::CacheUse::kNone, false);
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
