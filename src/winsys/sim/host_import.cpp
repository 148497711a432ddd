// HOST_IMPORT (model extension): see host_import.h for the design.
#include "winsys/sim/host_import.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/gem.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/vm.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

namespace wsys::sim {

namespace {

// One line of /proc/self/maps.
struct Vma {
  uintptr_t start = 0, end = 0;
  char perms[5] = {};
  uint64_t offset = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

// The process's mappings, read in one go (ioctl context: allocation is fine).
std::vector<Vma> read_maps() {
  std::vector<Vma> out;
  FILE* fp = std::fopen("/proc/self/maps", "re");
  if (!fp) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, fp)) {
    Vma v;
    unsigned long start = 0, end = 0, ino = 0;
    unsigned long long off = 0;
    unsigned maj = 0, min = 0;
    if (std::sscanf(line, "%lx-%lx %4s %llx %x:%x %lu", &start, &end, v.perms, &off, &maj, &min,
                    &ino) != 7)
      continue;
    v.start = start;
    v.end = end;
    v.offset = off;
    v.dev = makedev(maj, min);
    v.ino = static_cast<ino_t>(ino);
    out.push_back(v);
  }
  std::fclose(fp);
  return out;
}

const Vma* find_vma(const std::vector<Vma>& maps, uintptr_t addr) {
  for (const Vma& v : maps)
    if (addr >= v.start && addr < v.end) return &v;
  return nullptr;
}

// 0 if [ptr, ptr + size) is fully mapped private anonymous read/write
// memory (possibly several VMAs); -EFAULT if a part is unmapped or not
// writable, -EINVAL if a part is shared or file-backed (not stealable).
int check_private_anon(const std::vector<Vma>& maps, uintptr_t ptr, uint64_t size) {
  uintptr_t at = ptr;
  const uintptr_t end = ptr + size;
  while (at < end) {
    const Vma* v = find_vma(maps, at);
    if (!v || v->perms[0] != 'r' || v->perms[1] != 'w') return -EFAULT;
    if (v->perms[3] != 'p' || v->ino != 0) return -EINVAL;
    at = v->end;
  }
  return 0;
}

// The process's pin count (mm->pinned_vm in the kernel), and the backed
// objects alive (for revalidation).
std::atomic<uint64_t> g_pinned{0};
std::mutex g_backed_lock;
std::vector<SimBo*> g_backed;             // guarded by g_backed_lock
std::atomic<size_t> g_backed_count{0};   // the fast path of revalidate

long page_bytes() {
  static const long p = sysconf(_SC_PAGESIZE);
  return p;
}

// RLIMIT_MEMLOCK: -ENOMEM if pinning `size` more bytes would pass it.
int pin_charge(uint64_t size) {
  struct rlimit rl{};
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return -errno;
  uint64_t cur = g_pinned.load();
  do {
    if (rl.rlim_cur != RLIM_INFINITY && (cur + size < cur || cur + size > rl.rlim_cur))
      return -ENOMEM;
  } while (!g_pinned.compare_exchange_weak(cur, cur + size));
  return 0;
}

// An fd on the file behind `v` (O_RDWR): map_files where permitted, else an
// fd the process already has on that inode.
int open_backing(const Vma& v) {
  char path[96];
  std::snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx",
                static_cast<unsigned long>(v.start), static_cast<unsigned long>(v.end));
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd >= 0) return fd;
  for (int i = 0; i < 4096; i++) {
    struct stat st;
    if (fstat(i, &st) != 0 || st.st_ino != v.ino || st.st_dev != v.dev) continue;
    char fdpath[64];
    std::snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", i);
    fd = ::open(fdpath, O_RDWR | O_CLOEXEC);
    if (fd >= 0) return fd;
  }
  return -EPERM;
}

// True if the imported range still maps the same file at the same offset.
bool still_mapped(const std::vector<Vma>& maps, const SimBo& bo) {
  const Vma* v = find_vma(maps, bo.host_ptr);
  if (!v || v->perms[3] != 's' || v->ino != bo.host_ino || v->dev != bo.host_dev) return false;
  if (v->offset + (bo.host_ptr - v->start) != bo.file_offset()) return false;
  return bo.host_ptr + bo.size() <= v->end;
}

int import_steal(SimFile& f, uintptr_t ptr, uint64_t size, bool keep, SimBoPtr* out) {
  if (int e = check_private_anon(read_maps(), ptr, size)) return e;
  if (int e = fault_inject_check("host_steal")) return e;
  void* home = ::mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                      0);
  if (home == MAP_FAILED) return -ENOMEM;
  int err = 0;
  SimBoPtr bo = SimBo::create_stolen(f.device(), static_cast<uint8_t*>(home), size, &err);
  if (!bo) {
    ::munmap(home, size);
    return err;
  }
  // The move: page-table entries change hands, no byte is copied. The
  // application's range stays mapped and now reads zero.
  if (::mremap(reinterpret_cast<void*>(ptr), size, size,
               MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, home) == MAP_FAILED)
    return errno == ENOMEM ? -ENOMEM : -EFAULT;
  if (keep) std::memcpy(reinterpret_cast<void*>(ptr), home, size);  // eager: host_import.h
  bo->pinned.store(1);  // never purged or swapped: the pages have no memfd
  bo->mmap_allowed = false;
  bo->exportable = false;
  *out = std::move(bo);
  return 0;
}

int import_backed(SimFile& f, uintptr_t ptr, uint64_t size, SimBoPtr* out) {
  std::vector<Vma> maps = read_maps();
  const Vma* v = find_vma(maps, ptr);
  if (!v) return -EFAULT;
  if (v->perms[3] != 's' || v->ino == 0) return -EINVAL;  // private: cannot be aliased
  if (v->perms[0] != 'r' || v->perms[1] != 'w') return -EFAULT;
  // One mapping only: the model does not stitch several files together.
  if (ptr + size > v->end) return find_vma(maps, v->end) ? -EINVAL : -EFAULT;
  if (int e = fault_inject_check("host_pin")) return e;
  int fd = open_backing(*v);
  if (fd < 0) return fd;
  if (int e = pin_charge(size)) {
    ::close(fd);
    return e;
  }
  int err = 0;
  SimBoPtr bo = SimBo::create_backed(f.device(), fd, v->offset + (ptr - v->start), size, &err);
  if (!bo) {
    g_pinned.fetch_sub(size);
    return err;
  }
  bo->host_ptr = ptr;
  bo->host_ino = v->ino;
  bo->host_dev = v->dev;
  bo->pinned.store(1);
  // A fork must not make the pinned range copy-on-write in the parent.
  (void)madvise(reinterpret_cast<void*>(ptr), size, MADV_DONTFORK);
  try {
    std::lock_guard<std::mutex> g(g_backed_lock);
    g_backed.push_back(bo.get());
    g_backed_count.store(g_backed.size());
  } catch (const std::bad_alloc&) {
    return -ENOMEM;  // bo dies here: release undoes the pin
  }
  *out = std::move(bo);
  return 0;
}

}  // namespace

bool host_import_supported(const SimDevice&) {
  static const bool env_on = [] {
    const char* v = std::getenv("WSYS_SIM_HOST_IMPORT");
    return !(v && v[0] == '0');
  }();
  return env_on;
}

int ioctl_wsys_host_import(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_host_import*>(data);
  if (a->flags || a->pad) return -EINVAL;
  const uint64_t pg = static_cast<uint64_t>(page_bytes());
  if (!a->size || a->user_ptr % pg || a->size % pg || a->user_ptr + a->size < a->user_ptr)
    return -EINVAL;
  const auto ptr = static_cast<uintptr_t>(a->user_ptr);
  SimBoPtr bo;
  int r = -EINVAL;
  switch (a->mode) {
    case WSYS_HOST_IMPORT_STEAL_LOSE: r = import_steal(f, ptr, a->size, false, &bo); break;
    case WSYS_HOST_IMPORT_STEAL_KEEP: r = import_steal(f, ptr, a->size, true, &bo); break;
    case WSYS_HOST_IMPORT_BACKED: r = import_backed(f, ptr, a->size, &bo); break;
    default: return -EINVAL;
  }
  if (r) return r;
  bo->host_mode = a->mode;
  // On panfrost the handle's creation maps the object into the file's VM
  // (a stolen object's pages move there).
  int err = 0;
  uint32_t h = f.handle_for(bo, &err);
  if (!h) return err ? err : -ENOSPC;
  a->handle = h;
  return 0;
}

int ioctl_wsys_host_bo_state(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_host_bo_state*>(data);
  if (a->pad) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  a->mode = bo->host_mode;
  a->state = bo->host_invalid.load() ? WSYS_HOST_BO_STATE_INVALIDATED : 0;
  a->pinned_bytes = g_pinned.load();
  return 0;
}

void host_import_revalidate(SimVm& vm) {
  if (g_backed_count.load(std::memory_order_relaxed) == 0) return;
  std::vector<Vma> maps = read_maps();
  std::lock_guard<std::mutex> g(g_backed_lock);
  for (SimBo* bo : g_backed) {
    if (!bo->host_invalid.load() && !still_mapped(maps, *bo)) bo->host_invalid.store(true);
    if (bo->host_invalid.load()) vm.zap_bo(*bo);
  }
}

void host_import_release(SimBo& bo) {
  if (bo.host_kind() != SimBo::HostKind::Backed) return;
  {
    std::lock_guard<std::mutex> g(g_backed_lock);
    auto it = std::find(g_backed.begin(), g_backed.end(), &bo);
    if (it != g_backed.end()) g_backed.erase(it);
    g_backed_count.store(g_backed.size());
  }
  g_pinned.fetch_sub(bo.size());
  // Only if the range is still ours: after an invalidation it may be
  // someone else's mapping now.
  if (!bo.host_invalid.load() && still_mapped(read_maps(), bo))
    (void)madvise(reinterpret_cast<void*>(bo.host_ptr), bo.size(), MADV_DOFORK);
}

uint64_t host_import_pinned_bytes() { return g_pinned.load(); }

}  // namespace wsys::sim
