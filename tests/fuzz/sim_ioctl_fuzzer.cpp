// Structure-aware fuzzer of the kernel model's ioctl entry (SimFile::ioctl
// through SimDrmFile), built once per driver: WSYS_FUZZ_DRIVER is "panthor"
// or "panfrost" (tests/fuzz/meson.build).
//
// An input is a sequence of calls. Objects earlier calls created (GEM
// handles, VMs, syncobjs, groups, tiler heaps, fds, CPU mappings) go into
// tables, and later calls name them by index, so sequences such as create,
// bind, submit, close, use-after-close are reachable. Two files are open:
// every handle may be used on the other file too (isolation). Sizes, flags,
// offsets and user pointers come at their edges, including null, the kernel
// half, a PROT_NONE page and buffers that end inside it.
//
// The model must answer every call with 0 or a negative errno, never crash,
// leak, or trip a sanitizer. The harness itself only avoids what would be
// the harness's own fault: MAP_FIXED mmaps, writing to a mapping whose pages
// the shrinker may have purged, waits that could legitimately never end,
// and requests the kernel would also honour at great cost (thousands of
// initial tiler-heap chunks; see count() for array counts).
#include <fcntl.h>
#include <linux/ioctl.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"
#include "fuzz_util.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_drm_file.h"
#include "winsys/sim/syncobj_fd.h"

#ifndef WSYS_FUZZ_DRIVER
#error "WSYS_FUZZ_DRIVER must name the model driver"
#endif

using namespace wsys;
using namespace wsys::sim;
using namespace wsys::fuzz;

namespace {

constexpr bool kPanthor = std::string_view(WSYS_FUZZ_DRIVER) == "panthor";

struct Mapping {
  void* addr;
  size_t len;
  bool writable;
};

// What one input has created so far.
struct State {
  explicit State(FuzzedDataProvider& prov) : p(prov), fds_before(open_fds()) {}
  FuzzedDataProvider& p;
  std::array<std::unique_ptr<SimDrmFile>, 2> files;
  std::vector<uint32_t> bos, syncobjs, vms, groups, heaps, jm_ctxs;
  std::vector<uint64_t> mmap_offsets, gpu_vas;
  std::vector<int> fds;  // dma-bufs, syncobj fds, sync_files, eventfds
  std::vector<int> fds_before;  // the process's fds when the input started
  std::vector<Mapping> maps;
  bool purge_possible = false;  // panfrost DONTNEED: mappings may SIGBUS
  // Storage for user arrays and strings; pointers into it stay valid for the
  // whole input.
  std::vector<std::unique_ptr<unsigned char[]>> bufs;

  SimDrmFile& file() { return *files[p.ConsumeBool() ? 1 : 0]; }

  unsigned char* buf(size_t n) {
    bufs.emplace_back(new unsigned char[n ? n : 1]());
    return bufs.back().get();
  }

  // A user array of `count` elements of `stride` bytes, each element built
  // by `make` (which gets a zeroed element to fill), or a bad pointer.
  template <typename T, typename F>
  uint64_t array(uint32_t count, uint32_t stride, F&& make) {
    const size_t n = size_t{count} * stride;
    if (n > (1u << 16)) return user_ptr(p, nullptr, 0);  // count is only a lie here
    unsigned char* b = buf(n);
    // Large counts get zeroed elements: building each one (with its own
    // nested arrays) would make one input cost seconds.
    if (count > 16) return user_ptr(p, b, n);
    for (uint32_t i = 0; i < count; i++) {
      T e{};
      make(e);
      std::memcpy(b + size_t{i} * stride, &e, std::min<size_t>(sizeof e, stride));
      if (stride > sizeof e && p.ConsumeIntegralInRange<int>(0, 7) == 0)
        b[size_t{i} * stride + sizeof e] = 1;  // non-zero bytes the kernel does not know
    }
    return user_ptr(p, b, n);
  }

  // An element count: small mostly, sometimes an edge. Not between 2^16 and
  // 2^27: the model, like the kernel (kvmalloc_array, then copy_from_user),
  // allocates and clears count elements before it finds the pointer bad,
  // which is correct and only slow; above 2^27 the size passes INT_MAX and
  // the answer is a quick -ENOMEM.
  uint32_t count() {
    static const uint32_t kEdges[] = {5,          16,         17,         255,        4096,
                                      65536,      1u << 27,   1u << 28,   0x7fffffff, 0x80000000,
                                      0xfffffffe, 0xffffffff};
    return p.ConsumeIntegralInRange<int>(0, 7) == 0
               ? kEdges[p.ConsumeIntegralInRange<size_t>(0, std::size(kEdges) - 1)]
               : p.ConsumeIntegralInRange<uint32_t>(0, 4);
  }

  uint32_t stride(uint32_t natural) {
    switch (p.ConsumeIntegralInRange<int>(0, 9)) {
      case 0: return natural - 1;
      case 1: return natural + 8;
      case 2: return 0;
      case 3: return edge_u32(p);
      default: return natural;
    }
  }

  uint64_t va() {
    if (gpu_vas.empty() || p.ConsumeIntegralInRange<int>(0, 3) == 0) return edge_u64(p);
    return near(p, gpu_vas[p.ConsumeIntegralInRange<size_t>(0, gpu_vas.size() - 1)]);
  }

  int fd() {
    if (fds.empty() || p.ConsumeIntegralInRange<int>(0, 5) == 0) {
      switch (p.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: return -1;
        case 1: return 0x7fffffff;
        default: return p.ConsumeIntegralInRange<int>(-2, 1 << 20);
      }
    }
    return fds[p.ConsumeIntegralInRange<size_t>(0, fds.size() - 1)];
  }

  void add_fd(int f) {
    // Only fds the model says it created are ours to close.
    if (f >= 0) fds.push_back(f);
  }

  ~State() {
    for (const Mapping& m : maps) munmap(m.addr, m.len);
    files[0].reset();
    files[1].reset();
    for (int f : fds) close(f);
    close_lost_fds();
    check_released();
  }

  // An ioctl that installs an fd and then fails to copy the struct back
  // (a bad or short argument) leaves the fd open without telling the
  // caller, as drm_ioctl() does in the kernel. The harness cannot learn
  // those numbers, so it closes whatever fd appeared during the input and
  // is still open: with both files closed, the model owns no fd either.
  void close_lost_fds() {
    for (int f : open_fds())
      if (std::find(fds_before.begin(), fds_before.end(), f) == fds_before.end()) close(f);
  }

  // The device outlives the input (as a kernel device outlives its files),
  // so an object the model forgot to release would not show up as a heap
  // leak at exit, only as slow growth. With both files and every fd the
  // input got closed, the device must hold nothing: no GEM object, no
  // memory charged to the budget, no fd-table entry (the table drops an
  // entry whose fd was closed lazily; live_entries() drops them now, so
  // each input also frees what it allocated, which keeps libFuzzer from
  // re-running the input for a leak check it would not need).
  static void check_released() {
    SimDevice* dev = SimDevice::get(WSYS_FUZZ_DRIVER, nullptr);
    const size_t fd_entries = SyncFdTable::get().live_entries();
    const SimDeviceUsage u = sim_device_usage(*dev);
    if (fd_entries != 0 || u.objects != 0 || u.charged != 0 || !dev->bo_snapshot().empty()) {
      std::fprintf(stderr,
                   "sim_ioctl_fuzzer: the input's files and fds are closed but the model still "
                   "holds %zu fd entries, %llu objects, %llu bytes charged\n",
                   fd_entries, static_cast<unsigned long long>(u.objects),
                   static_cast<unsigned long long>(u.charged));
      std::abort();
    }
  }
};

// The ioctl number: mostly the right one, sometimes with another size or
// direction (drm_ioctl() copies the user's size and zero-fills the rest).
unsigned long cmd(State& s, unsigned long right) {
  switch (s.p.ConsumeIntegralInRange<int>(0, 15)) {
    case 0:
      return _IOC(_IOC_DIR(right), _IOC_TYPE(right), _IOC_NR(right),
                  s.p.ConsumeIntegralInRange<unsigned>(0, 256));
    case 1:
      return _IOC(s.p.ConsumeIntegralInRange<unsigned>(0, 3), _IOC_TYPE(right), _IOC_NR(right),
                  _IOC_SIZE(right));
    default:
      return right;
  }
}

// Runs one ioctl with `arg` (a struct the caller filled). The argument
// pointer itself is sometimes bad.
template <typename T>
int call(State& s, SimDrmFile& f, unsigned long right, T* arg) {
  unsigned long c = cmd(s, right);
  // Room for a larger size than the struct's (cmd() may claim up to 256).
  alignas(16) unsigned char room[512] = {};
  std::memcpy(room, arg, sizeof *arg);
  void* ptr = reinterpret_cast<void*>(user_ptr(s.p, room, _IOC_SIZE(c)));
  int r = f.ioctl(c, ptr);
  if (ptr == room) std::memcpy(arg, room, sizeof *arg);
  if (r > 0) std::abort();  // the model answers 0 or -errno
  return r;
}

// ---- DRM core -------------------------------------------------------------

void op_version(State& s) {
  drm_version v{};
  char* b = reinterpret_cast<char*>(s.buf(256));
  v.name_len = s.p.ConsumeIntegralInRange<size_t>(0, 300);
  v.name = reinterpret_cast<char*>(user_ptr(s.p, b, v.name_len));
  v.date_len = s.p.ConsumeBool() ? 0 : s.p.ConsumeIntegralInRange<size_t>(0, 256);
  v.date = reinterpret_cast<char*>(user_ptr(s.p, b, v.date_len));
  v.desc_len = s.p.ConsumeBool() ? 0 : edge_u64(s.p);
  v.desc = reinterpret_cast<char*>(user_ptr(s.p, b, v.desc_len > 256 ? 256 : v.desc_len));
  if (v.desc_len > 256 && v.desc == b) v.desc_len = 256;  // ours is 256 bytes
  if (v.name_len > 256 && v.name == b) v.name_len = 256;
  call(s, s.file(), DRM_IOCTL_VERSION, &v);
}

void op_get_cap(State& s) {
  drm_get_cap c{};
  c.capability = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 0x20) : edge_u64(s.p);
  call(s, s.file(), DRM_IOCTL_GET_CAP, &c);
}

void op_gem_close(State& s) {
  drm_gem_close c{};
  c.handle = pick(s.p, s.bos);
  c.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0 ? 1 : 0;
  call(s, s.file(), DRM_IOCTL_GEM_CLOSE, &c);
}

void op_prime_export(State& s) {
  drm_prime_handle a{};
  a.handle = pick(s.p, s.bos);
  a.flags = s.p.ConsumeBool() ? (DRM_CLOEXEC | (s.p.ConsumeBool() ? DRM_RDWR : 0)) : edge_u32(s.p);
  a.fd = -1;
  if (call(s, s.file(), DRM_IOCTL_PRIME_HANDLE_TO_FD, &a) == 0) s.add_fd(a.fd);
}

void op_prime_import(State& s) {
  drm_prime_handle a{};
  a.fd = s.fd();
  a.flags = s.p.ConsumeBool() ? 0 : edge_u32(s.p);
  if (call(s, s.file(), DRM_IOCTL_PRIME_FD_TO_HANDLE, &a) == 0) s.bos.push_back(a.handle);
}

void op_syncobj_create(State& s) {
  drm_syncobj_create c{};
  c.flags = small_or_edge(s.p, 1);
  if (call(s, s.file(), DRM_IOCTL_SYNCOBJ_CREATE, &c) == 0) s.syncobjs.push_back(c.handle);
}

void op_syncobj_destroy(State& s) {
  drm_syncobj_destroy d{};
  d.handle = pick(s.p, s.syncobjs);
  d.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  call(s, s.file(), DRM_IOCTL_SYNCOBJ_DESTROY, &d);
}

void op_syncobj_to_fd(State& s) {
  drm_syncobj_handle h{};
  h.handle = pick(s.p, s.syncobjs);
  h.flags = small_or_edge(s.p, 1);
  h.fd = -1;
  h.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  if (call(s, s.file(), DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h) == 0) s.add_fd(h.fd);
}

void op_syncobj_from_fd(State& s) {
  drm_syncobj_handle h{};
  h.flags = small_or_edge(s.p, 1);
  h.handle = (h.flags & 1) ? pick(s.p, s.syncobjs) : (s.p.ConsumeBool() ? 0 : edge_u32(s.p));
  h.fd = s.fd();
  h.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  if (call(s, s.file(), DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &h) == 0 && !(h.flags & 1))
    s.syncobjs.push_back(h.handle);
}

// A user array of syncobj handles (u32) and, for timelines, points (u64).
uint64_t handles(State& s, uint32_t n) {
  return s.array<uint32_t>(n, 4, [&](uint32_t& h) { h = pick(s.p, s.syncobjs); });
}
uint64_t points(State& s, uint32_t n) {
  return s.array<uint64_t>(n, 8, [&](uint64_t& v) {
    v = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 4) : edge_u64(s.p);
  });
}
uint32_t wait_flags(State& s) {
  return s.p.ConsumeIntegralInRange<int>(0, 7) == 0 ? edge_u32(s.p)
                                                    : s.p.ConsumeIntegralInRange<uint32_t>(0, 15);
}

void op_syncobj_wait(State& s) {
  drm_syncobj_wait w{};
  w.count_handles = s.count();
  w.handles = handles(s, w.count_handles);
  w.timeout_nsec = short_deadline(s.p);
  w.flags = wait_flags(s);
  w.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  w.deadline_nsec = edge_u64(s.p);
  if (s.p.ConsumeBool())
    call(s, s.file(), DRM_IOCTL_SYNCOBJ_WAIT, &w);
  else
    call(s, s.file(), DRM_IOCTL_SYNCOBJ_WAIT_V1, &w);
}

void op_syncobj_timeline_wait(State& s) {
  drm_syncobj_timeline_wait w{};
  w.count_handles = s.count();
  w.handles = handles(s, w.count_handles);
  w.points = points(s, w.count_handles);
  w.timeout_nsec = short_deadline(s.p);
  w.flags = wait_flags(s);
  w.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  w.deadline_nsec = edge_u64(s.p);
  if (s.p.ConsumeBool())
    call(s, s.file(), DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w);
  else
    call(s, s.file(), DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1, &w);
}

void op_syncobj_array(State& s, unsigned long nr) {
  drm_syncobj_array a{};
  a.count_handles = s.count();
  a.handles = handles(s, a.count_handles);
  a.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  call(s, s.file(), nr, &a);
}

void op_syncobj_timeline_array(State& s, unsigned long nr) {
  drm_syncobj_timeline_array a{};
  a.count_handles = s.count();
  a.handles = handles(s, a.count_handles);
  a.points = points(s, a.count_handles);
  a.flags = s.p.ConsumeBool() ? 0 : wait_flags(s);
  call(s, s.file(), nr, &a);
}

void op_syncobj_transfer(State& s) {
  drm_syncobj_transfer t{};
  t.src_handle = pick(s.p, s.syncobjs);
  t.dst_handle = pick(s.p, s.syncobjs);
  t.src_point = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 4) : edge_u64(s.p);
  t.dst_point = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 4) : edge_u64(s.p);
  t.flags = s.p.ConsumeBool() ? 0 : wait_flags(s);
  // WAIT_FOR_SUBMIT waits up to drm_syncobj_find_fence's fixed 5 s for a
  // fence to appear (the model keeps the kernel's limit), so a few of them
  // in one input timed out a long run. Only with another bit set, where it
  // is -EINVAL before any wait; tests/sim covers the waiting path.
  if (t.flags == DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) t.flags = 0;
  t.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  call(s, s.file(), DRM_IOCTL_SYNCOBJ_TRANSFER, &t);
}

void op_syncobj_eventfd(State& s) {
  drm_syncobj_eventfd e{};
  e.handle = pick(s.p, s.syncobjs);
  e.flags = s.p.ConsumeBool() ? 0 : wait_flags(s);
  e.point = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 4) : edge_u64(s.p);
  if (s.p.ConsumeBool()) {
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s.add_fd(efd);
    e.fd = efd;
  } else {
    e.fd = s.fd();
  }
  e.pad = s.p.ConsumeIntegralInRange<int>(0, 7) == 0;
  call(s, s.file(), DRM_IOCTL_SYNCOBJ_EVENTFD, &e);
}

// mmap() through the file, at an offset an earlier call returned (or a
// bad one). Never MAP_FIXED: the address is the kernel's choice.
void op_mmap(State& s) {
  uint64_t off = s.mmap_offsets.empty() || s.p.ConsumeIntegralInRange<int>(0, 5) == 0
                     ? edge_u64(s.p)
                     : s.mmap_offsets[s.p.ConsumeIntegralInRange<size_t>(0, s.mmap_offsets.size() - 1)];
  if (s.p.ConsumeIntegralInRange<int>(0, 5) == 0) off += 4096;
  size_t len = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<size_t>(0, 4) * 4096 : edge_u64(s.p);
  int prot = s.p.ConsumeIntegralInRange<int>(0, 7);  // READ, WRITE, EXEC
  int flags = s.p.ConsumeIntegralInRange<int>(0, 3) == 0 ? MAP_PRIVATE : MAP_SHARED;
  auto r = s.file().mmap(nullptr, len, prot, flags, off);
  if (std::getenv("WSYS_FUZZ_TRACE"))
    std::fprintf(stderr, "  mmap off 0x%llx len 0x%zx prot %d flags %d: %d\n",
                 static_cast<unsigned long long>(off), len, prot, flags, r.ok() ? 0 : r.error());
  if (!r.ok()) return;
  s.maps.push_back({*r, len, (prot & PROT_WRITE) != 0});
}

// The mapping op_write_stream is writing to, for the report of a fatal
// signal there (the CPU faults the model's handler did not resolve).
struct WriteInProgress {
  void* addr = nullptr;
  size_t len = 0;
};
WriteInProgress g_writing;

// Part of a sanitizer's report (below): if the process dies inside a
// write to a mapping, says which mapping, what /proc/self/maps has there,
// the file's size now (0: truncated, e.g. swapped out by panthor reclaim)
// and the reclaim counters.
void report_write_death() {
  if (!g_writing.addr) return;
  const uintptr_t a = reinterpret_cast<uintptr_t>(g_writing.addr);
  std::fprintf(stderr, "sim_ioctl_fuzzer: died writing to the mapping at %p (+0x%zx)\n",
               g_writing.addr, g_writing.len);
  if (FILE* m = std::fopen("/proc/self/maps", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, m)) {
      unsigned long lo = 0, hi = 0;
      if (std::sscanf(line, "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi) continue;
      std::fprintf(stderr, "  maps: %s", line);
      char path[96];
      std::snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", lo, hi);
      struct stat st;
      if (stat(path, &st) == 0) {
        std::fprintf(stderr, "  file size now %lld, inode %llu\n",
                     static_cast<long long>(st.st_size),
                     static_cast<unsigned long long>(st.st_ino));
        SimDevice* dev = SimDevice::get(WSYS_FUZZ_DRIVER, nullptr);
        if (SimBoPtr bo = dev ? dev->bo_by_inode(st.st_ino) : nullptr)
          std::fprintf(stderr,
                       "  its object: alive, size 0x%llx, swapped %d (slot %d), purged %d\n",
                       static_cast<unsigned long long>(bo->size()), bo->swapped() ? 1 : 0,
                       bo->swap_slot.load(), bo->purged() ? 1 : 0);
        else
          std::fprintf(stderr, "  its object: gone\n");
      }
    }
    std::fclose(m);
  }
  std::fprintf(stderr, "  in a fence signalling section: %d\n", in_signalling_section() ? 1 : 0);
  if (SimDevice* dev = SimDevice::get(WSYS_FUZZ_DRIVER, nullptr))
    if (PanthorReclaim* rc = dev->shrinker().reclaimer()) {
      const ReclaimStats r = rc->stats();
      std::fprintf(stderr,
                   "  reclaim: %llu reclaims, %llu restores (%llu by CPU fault), %llu refused, "
                   "%llu objects in swap, %llu busy slots\n",
                   static_cast<unsigned long long>(r.reclaims),
                   static_cast<unsigned long long>(r.restores),
                   static_cast<unsigned long long>(r.cpu_fault_restores),
                   static_cast<unsigned long long>(r.restore_failures),
                   static_cast<unsigned long long>(r.swapped_objects),
                   static_cast<unsigned long long>(reclaim_swapped_objects()));
      std::fprintf(stderr, "  failed fault restores %llu, the last %d\n",
                   static_cast<unsigned long long>(r.fault_restore_failures),
                   r.last_fault_restore_error);
      // The fault handler's own lookup, run again now.
      std::fprintf(stderr, "  reclaim_cpu_fault now: %d\n",
                   reclaim_cpu_fault(g_writing.addr) ? 1 : 0);
    }
}

// Writes a command stream into a writable mapping: structured commands
// (their VAs near the GPU addresses seen so far) or raw bytes.
void op_write_stream(State& s) {
  if (s.maps.empty() || s.purge_possible) return;
  Mapping& m = s.maps[s.p.ConsumeIntegralInRange<size_t>(0, s.maps.size() - 1)];
  if (!m.writable || m.len < 8) return;  // a 1-byte mapping is valid (a page)
  size_t at = s.p.ConsumeIntegralInRange<size_t>(0, m.len / 8 - 1) * 8;
  auto* dst = static_cast<unsigned char*>(m.addr) + at;
  const size_t room = m.len - at;
  g_writing = {m.addr, m.len};
  struct Done {
    ~Done() { g_writing = {}; }
  } done;
  size_t used = 0;
  auto put = [&](const void* c, size_t n) {
    if (used + n > room) return false;
    std::memcpy(dst + used, c, n);
    used += n;
    return true;
  };
  int n = s.p.ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < n; i++) {
    switch (s.p.ConsumeIntegralInRange<int>(0, 6)) {
      case 0: {
        SimCmdWrite64 c{{kCmdWrite64, sizeof c}, s.va(), s.p.ConsumeIntegral<uint64_t>()};
        if (!put(&c, sizeof c)) return;
        break;
      }
      case 1: {
        SimCmdFill c{{kCmdFill, sizeof c}, s.va(), s.p.ConsumeIntegralInRange<uint64_t>(0, 1 << 16),
                     s.p.ConsumeIntegral<uint32_t>(), 0};
        if (!put(&c, sizeof c)) return;
        break;
      }
      case 2: {
        SimCmdCopy c{{kCmdCopy, sizeof c}, s.va(), s.va(), s.p.ConsumeIntegralInRange<uint64_t>(0, 1 << 16)};
        if (!put(&c, sizeof c)) return;
        break;
      }
      case 3: {
        SimCmdChecksum c{{kCmdChecksum, sizeof c}, s.va(), s.p.ConsumeIntegralInRange<uint64_t>(0, 1 << 16), s.va()};
        if (!put(&c, sizeof c)) return;
        break;
      }
      case 4: {
        SimCmdWrite32 c{{kCmdWrite32, sizeof c}, s.va(), s.p.ConsumeIntegral<uint32_t>(), 0};
        if (!put(&c, sizeof c)) return;
        break;
      }
      case 5: {
        unsigned char raw[64];
        size_t k = s.p.ConsumeData(raw, s.p.ConsumeIntegralInRange<size_t>(0, sizeof raw));
        if (!put(raw, k)) return;
        break;
      }
      default: {
        SimCmdHeader c{kCmdEnd, 8};
        if (!put(&c, sizeof c)) return;
        break;
      }
    }
  }
}

// ---- panthor ---------------------------------------------------------------

uint32_t pad_or_junk(State& s) {
  return s.p.ConsumeIntegralInRange<int>(0, 9) == 0 ? edge_u32(s.p) | 1 : 0;
}

void op_dev_query(State& s) {
  drm_panthor_dev_query q{};
  q.type = small_or_edge(s.p, 5);
  q.size = small_or_edge(s.p, 160);
  unsigned char* b = s.buf(256);
  q.pointer = user_ptr(s.p, b, q.size > 256 ? 256 : q.size);
  if (q.pointer == reinterpret_cast<uintptr_t>(b) && q.size > 256) q.size = 256;
  call(s, s.file(), DRM_IOCTL_PANTHOR_DEV_QUERY, &q);
}

void op_vm_create(State& s) {
  drm_panthor_vm_create c{};
  c.flags = pad_or_junk(s);
  c.user_va_range = s.p.ConsumeBool() ? 0 : edge_u64(s.p);
  if (call(s, s.file(), DRM_IOCTL_PANTHOR_VM_CREATE, &c) == 0) s.vms.push_back(c.id);
}

void op_vm_destroy(State& s) {
  drm_panthor_vm_destroy d{};
  d.id = pick(s.p, s.vms);
  d.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANTHOR_VM_DESTROY, &d);
}

drm_panthor_obj_array sync_ops(State& s) {
  drm_panthor_obj_array a{};
  a.count = s.p.ConsumeIntegralInRange<int>(0, 2) == 0 ? s.count() : 0;
  a.stride = s.stride(sizeof(drm_panthor_sync_op));
  a.array = s.array<drm_panthor_sync_op>(a.count, a.stride, [&](drm_panthor_sync_op& o) {
    o.flags = s.p.ConsumeBool() ? (s.p.ConsumeBool() ? DRM_PANTHOR_SYNC_OP_SIGNAL : 0) |
                                      s.p.ConsumeIntegralInRange<uint32_t>(0, 1)
                                : edge_u32(s.p);
    o.handle = pick(s.p, s.syncobjs);
    o.timeline_value = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 4) : edge_u64(s.p);
  });
  return a;
}

void op_vm_bind(State& s) {
  drm_panthor_vm_bind b{};
  b.vm_id = pick(s.p, s.vms);
  b.flags = small_or_edge(s.p, 1);
  b.ops.count = s.count();
  b.ops.stride = s.stride(sizeof(drm_panthor_vm_bind_op));
  b.ops.array = s.array<drm_panthor_vm_bind_op>(b.ops.count, b.ops.stride,
                                                [&](drm_panthor_vm_bind_op& o) {
    static const uint32_t kTypes[] = {DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
                                      DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
                                      DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY, 3u << 28};
    o.flags = kTypes[s.p.ConsumeIntegralInRange<int>(0, 3)] |
              (s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 15) : 0);
    if (s.p.ConsumeIntegralInRange<int>(0, 9) == 0) o.flags = edge_u32(s.p);
    o.bo_handle = s.p.ConsumeBool() ? pick(s.p, s.bos) : 0;
    o.bo_offset = s.p.ConsumeBool() ? 0 : near(s.p, 0);
    o.va = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 1024) << 16 : s.va();
    o.size = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 16) << 12 : edge_u64(s.p);
    o.syncs = sync_ops(s);
    if ((o.flags >> 28) == 0) s.gpu_vas.push_back(o.va);
  });
  call(s, s.file(), DRM_IOCTL_PANTHOR_VM_BIND, &b);
}

void op_vm_get_state(State& s) {
  drm_panthor_vm_get_state g{};
  g.vm_id = pick(s.p, s.vms);
  call(s, s.file(), DRM_IOCTL_PANTHOR_VM_GET_STATE, &g);
}

void op_panthor_bo_create(State& s) {
  drm_panthor_bo_create c{};
  c.size = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 64) * 4096 : edge_u64(s.p);
  if (c.size > (64u << 20) && s.p.ConsumeBool()) c.size = 64u << 20;
  c.flags = small_or_edge(s.p, 3);
  c.exclusive_vm_id = s.p.ConsumeBool() ? 0 : pick(s.p, s.vms);
  c.pad = pad_or_junk(s);
  if (call(s, s.file(), DRM_IOCTL_PANTHOR_BO_CREATE, &c) == 0) s.bos.push_back(c.handle);
}

void op_panthor_mmap_offset(State& s) {
  drm_panthor_bo_mmap_offset m{};
  m.handle = pick(s.p, s.bos);
  m.pad = pad_or_junk(s);
  if (call(s, s.file(), DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m) == 0) s.mmap_offsets.push_back(m.offset);
}

drm_panthor_obj_array queues(State& s) {
  drm_panthor_obj_array a{};
  a.count = s.p.ConsumeIntegralInRange<int>(0, 7) == 0 ? s.count() : s.p.ConsumeIntegralInRange<uint32_t>(1, 3);
  a.stride = s.stride(sizeof(drm_panthor_queue_create));
  a.array = s.array<drm_panthor_queue_create>(a.count, a.stride, [&](drm_panthor_queue_create& q) {
    q.priority = s.p.ConsumeIntegralInRange<uint8_t>(0, 16);
    q.ringbuf_size = s.p.ConsumeBool() ? 4096u << s.p.ConsumeIntegralInRange<int>(0, 5) : edge_u32(s.p);
    if (s.p.ConsumeIntegralInRange<int>(0, 9) == 0) q.pad[1] = 1;
  });
  return a;
}

void op_group_create(State& s) {
  drm_panthor_group_create g{};
  g.queues = queues(s);
  g.max_compute_cores = s.p.ConsumeIntegralInRange<uint8_t>(0, 9);
  g.max_fragment_cores = s.p.ConsumeIntegralInRange<uint8_t>(0, 9);
  g.max_tiler_cores = s.p.ConsumeIntegralInRange<uint8_t>(0, 2);
  g.priority = s.p.ConsumeIntegralInRange<uint8_t>(0, 4);
  g.pad = pad_or_junk(s);
  auto mask = [&] { return s.p.ConsumeBool() ? ~0ull >> s.p.ConsumeIntegralInRange<int>(0, 63) : edge_u64(s.p); };
  g.compute_core_mask = mask();
  g.fragment_core_mask = mask();
  g.tiler_core_mask = mask();
  g.vm_id = pick(s.p, s.vms);
  if (call(s, s.file(), DRM_IOCTL_PANTHOR_GROUP_CREATE, &g) == 0) s.groups.push_back(g.group_handle);
}

void op_group_submit(State& s) {
  drm_panthor_group_submit g{};
  g.group_handle = pick(s.p, s.groups);
  g.pad = pad_or_junk(s);
  g.queue_submits.count = s.count();
  g.queue_submits.stride = s.stride(sizeof(drm_panthor_queue_submit));
  g.queue_submits.array = s.array<drm_panthor_queue_submit>(
      g.queue_submits.count, g.queue_submits.stride, [&](drm_panthor_queue_submit& q) {
        q.queue_index = small_or_edge(s.p, 3);
        q.stream_addr = s.p.ConsumeBool() ? s.va() & ~63ull : s.va();
        q.stream_size = small_or_edge(s.p, 64, 8);
        q.latest_flush = s.p.ConsumeIntegral<uint32_t>();
        q.pad = pad_or_junk(s);
        q.syncs = sync_ops(s);
      });
  call(s, s.file(), DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &g);
}

void op_group_get_state(State& s) {
  drm_panthor_group_get_state g{};
  g.group_handle = pick(s.p, s.groups);
  g.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANTHOR_GROUP_GET_STATE, &g);
}

void op_group_destroy(State& s) {
  drm_panthor_group_destroy g{};
  g.group_handle = pick(s.p, s.groups);
  g.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANTHOR_GROUP_DESTROY, &g);
}

void op_tiler_heap_create(State& s) {
  drm_panthor_tiler_heap_create h{};
  h.vm_id = pick(s.p, s.vms);
  h.chunk_size = s.p.ConsumeBool() ? (128u << 10) << s.p.ConsumeIntegralInRange<int>(0, 7) : edge_u32(s.p);
  h.max_chunks = small_or_edge(s.p, 8);
  // A few chunks, or the edges around max_chunks when that is small: like
  // the kernel, the model allocates every initial chunk up front (until
  // the memory budget says no), which is right and takes seconds for
  // thousands of chunks.
  switch (s.p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: h.initial_chunk_count = h.max_chunks <= 64 ? h.max_chunks : 64; break;
    case 1: h.initial_chunk_count = h.max_chunks + 1; break;  // one too many (or 0)
    default: h.initial_chunk_count = s.p.ConsumeIntegralInRange<uint32_t>(0, 3); break;
  }
  h.target_in_flight = s.p.ConsumeIntegral<uint32_t>();
  if (call(s, s.file(), DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, &h) == 0) {
    s.heaps.push_back(h.handle);
    s.gpu_vas.push_back(h.tiler_heap_ctx_gpu_va);
    s.gpu_vas.push_back(h.first_heap_chunk_gpu_va);
  }
}

void op_tiler_heap_destroy(State& s) {
  drm_panthor_tiler_heap_destroy h{};
  h.handle = pick(s.p, s.heaps);
  h.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, &h);
}

// A label: a string of an edge length (4096 is the limit with its NUL), one
// without a NUL before the PROT_NONE page, or a bad pointer.
uint64_t label(State& s) {
  size_t len = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<size_t>(0, 16)
                                 : s.p.ConsumeIntegralInRange<size_t>(4090, 4100);
  if (s.p.ConsumeIntegralInRange<int>(0, 5) == 0) {
    // Unterminated up to the guard page.
    GuardPages& g = GuardPages::get();
    size_t n = len < GuardPages::kPage ? len : GuardPages::kPage;
    std::memset(g.none() - n, 'x', n);
    return reinterpret_cast<uintptr_t>(g.none() - n);
  }
  char* b = reinterpret_cast<char*>(s.buf(len + 1));
  std::memset(b, 'l', len);
  b[len] = 0;
  return user_ptr(s.p, b, len + 1);
}

void op_panthor_set_label(State& s) {
  drm_panthor_bo_set_label l{};
  l.handle = pick(s.p, s.bos);
  l.pad = pad_or_junk(s);
  l.label = label(s);
  call(s, s.file(), DRM_IOCTL_PANTHOR_BO_SET_LABEL, &l);
}

void op_set_user_mmio_offset(State& s) {
  drm_panthor_set_user_mmio_offset o{};
  o.offset = s.p.ConsumeBool() ? (s.p.ConsumeBool() ? 1ull << 43 : 1ull << 56) : edge_u64(s.p);
  call(s, s.file(), DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, &o);
}

// CPU cache maintenance ranges (1.7): offsets and sizes at the BO's edges.
void op_panthor_bo_sync(State& s) {
  drm_panthor_bo_sync b{};
  b.ops.count = s.count();
  b.ops.stride = s.stride(sizeof(drm_panthor_bo_sync_op));
  b.ops.array =
      s.array<drm_panthor_bo_sync_op>(b.ops.count, b.ops.stride, [&](drm_panthor_bo_sync_op& o) {
        o.handle = pick(s.p, s.bos);
        o.type = small_or_edge(s.p, 2);
        o.offset =
            s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 16) << 12 : edge_u64(s.p);
        o.size =
            s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 16) << 12 : edge_u64(s.p);
      });
  call(s, s.file(), DRM_IOCTL_PANTHOR_BO_SYNC, &b);
}

void op_panthor_bo_query_info(State& s) {
  drm_panthor_bo_query_info q{};
  q.handle = pick(s.p, s.bos);
  q.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q);
}

// ---- panfrost ---------------------------------------------------------------

void op_panfrost_create_bo(State& s) {
  drm_panfrost_create_bo c{};
  c.size = small_or_edge(s.p, 64, 4096);
  if (c.size > (64u << 20) && s.p.ConsumeBool()) c.size = 64u << 20;
  c.flags = small_or_edge(s.p, 7);
  c.pad = pad_or_junk(s);
  if (call(s, s.file(), DRM_IOCTL_PANFROST_CREATE_BO, &c) == 0) {
    s.bos.push_back(c.handle);
    s.gpu_vas.push_back(c.offset);
  }
}

void op_panfrost_mmap_bo(State& s) {
  drm_panfrost_mmap_bo m{};
  m.handle = pick(s.p, s.bos);
  m.flags = pad_or_junk(s);
  if (call(s, s.file(), DRM_IOCTL_PANFROST_MMAP_BO, &m) == 0) s.mmap_offsets.push_back(m.offset);
}

void op_panfrost_get_param(State& s) {
  drm_panfrost_get_param g{};
  g.param = small_or_edge(s.p, 50);
  g.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANFROST_GET_PARAM, &g);
}

void op_panfrost_get_bo_offset(State& s) {
  drm_panfrost_get_bo_offset g{};
  g.handle = pick(s.p, s.bos);
  g.pad = pad_or_junk(s);
  if (call(s, s.file(), DRM_IOCTL_PANFROST_GET_BO_OFFSET, &g) == 0) s.gpu_vas.push_back(g.offset);
}

void op_panfrost_madvise(State& s) {
  drm_panfrost_madvise m{};
  m.handle = pick(s.p, s.bos);
  m.madv = small_or_edge(s.p, 2);
  if (call(s, s.file(), DRM_IOCTL_PANFROST_MADVISE, &m) == 0 && m.madv != PANFROST_MADV_WILLNEED)
    s.purge_possible = true;
}

void op_panfrost_set_label(State& s) {
  drm_panfrost_set_label_bo l{};
  l.handle = pick(s.p, s.bos);
  l.pad = pad_or_junk(s);
  l.label = label(s);
  call(s, s.file(), DRM_IOCTL_PANFROST_SET_LABEL_BO, &l);
}

void op_panfrost_submit(State& s) {
  drm_panfrost_submit j{};
  j.jc = s.va();
  j.in_sync_count = s.count();
  j.in_syncs = handles(s, j.in_sync_count);
  j.out_sync = s.p.ConsumeBool() ? 0 : pick(s.p, s.syncobjs);
  j.bo_handle_count = s.count();
  j.bo_handles = s.array<uint32_t>(j.bo_handle_count, 4, [&](uint32_t& h) { h = pick(s.p, s.bos); });
  j.requirements = small_or_edge(s.p, 3);
  switch (s.p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      j.jm_ctx_handle = edge_u32(s.p);
      break;
    case 1:
      j.jm_ctx_handle = pick(s.p, s.jm_ctxs);
      break;
    default:
      j.jm_ctx_handle = 0;
      break;  // the file's default context
  }
  j.pad = pad_or_junk(s);
  if (s.p.ConsumeBool())
    call(s, s.file(), DRM_IOCTL_PANFROST_SUBMIT, &j);
  else
    call(s, s.file(), DRM_IOCTL_PANFROST_SUBMIT_V1, &j);
}

void op_panfrost_wait_bo(State& s) {
  drm_panfrost_wait_bo w{};
  w.handle = pick(s.p, s.bos);
  w.pad = pad_or_junk(s);
  w.timeout_ns = short_deadline(s.p);
  call(s, s.file(), DRM_IOCTL_PANFROST_WAIT_BO, &w);
}

// Job contexts (1.5): submissions name them (op_panfrost_submit).
void op_panfrost_jm_ctx_create(State& s) {
  drm_panfrost_jm_ctx_create c{};
  c.priority = small_or_edge(s.p, 3);
  if (s.p.ConsumeIntegralInRange<int>(0, 7) == 0) c.handle = edge_u32(s.p);  // ignored on input
  if (call(s, s.file(), DRM_IOCTL_PANFROST_JM_CTX_CREATE, &c) == 0) s.jm_ctxs.push_back(c.handle);
}

void op_panfrost_jm_ctx_destroy(State& s) {
  drm_panfrost_jm_ctx_destroy d{};
  d.handle = s.p.ConsumeBool() ? pick(s.p, s.jm_ctxs) : 0;
  d.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANFROST_JM_CTX_DESTROY, &d);
}

// CPU cache maintenance ranges (1.6); the kernel adds offset + size in 32
// bits, so the edges matter.
void op_panfrost_sync_bo(State& s) {
  drm_panfrost_sync_bo b{};
  b.op_count = s.count();
  b.ops = s.array<drm_panfrost_bo_sync_op>(
      b.op_count, sizeof(drm_panfrost_bo_sync_op), [&](drm_panfrost_bo_sync_op& o) {
        o.handle = pick(s.p, s.bos);
        o.type = small_or_edge(s.p, 2);
        o.offset = small_or_edge(s.p, 16, 4096);
        o.size = small_or_edge(s.p, 16, 4096);
      });
  b.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANFROST_SYNC_BO, &b);
}

void op_panfrost_query_bo_info(State& s) {
  drm_panfrost_query_bo_info q{};
  q.handle = pick(s.p, s.bos);
  q.pad = pad_or_junk(s);
  call(s, s.file(), DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q);
}

// Any number at all, in the core or the driver's range, with raw bytes.
// Numbers the model knows get an all-zero argument instead (handle 0, null
// pointers, a polling timeout): raw bytes there could name a random fd of
// this process, wait on a raw deadline, or ask for an array of 2^27
// elements at a raw pointer (the model, like the kernel, allocates and
// clears it before the copy fails: seconds and gigabytes), which the typed
// ops cover with values that cannot hang the fuzzer. The whole driver
// range counts as known, model extensions (0x90..) included: a number the
// model does not know answers -EINVAL whatever the bytes, and a fixed
// upper bound here went stale once (panfrost 1.5/1.6 added 0x4A..0x4D,
// and SYNC_BO with a raw op_count timed out a long run).
bool known_nr(unsigned nr) {
  static const unsigned kCoreNrs[] = {0x00, 0x09, 0x0c, 0x2d, 0x2e, 0xBF, 0xC0, 0xC1, 0xC2,
                                      0xC3, 0xC4, 0xC5, 0xCA, 0xCB, 0xCC, 0xCD, 0xCF};
  for (unsigned k : kCoreNrs)
    if (nr == k) return true;
  return nr >= 0x40 && nr < 0xA0;  // DRM_COMMAND_BASE .. DRM_COMMAND_END
}

void op_raw_ioctl(State& s) {
  alignas(16) unsigned char b[256] = {};
  unsigned long c = _IOC(s.p.ConsumeIntegralInRange<unsigned>(0, 3), 'd',
                         s.p.ConsumeIntegralInRange<unsigned>(0, 255),
                         s.p.ConsumeIntegralInRange<unsigned>(0, 256));
  if (!known_nr(_IOC_NR(c))) s.p.ConsumeData(b, sizeof b);
  int r = s.file().ioctl(c, b);
  if (r > 0) std::abort();
}

using Op = void (*)(State&);

void run(FuzzedDataProvider& p) {
  State s(p);
  for (auto& f : s.files) {
    auto r = SimDrmFile::open(WSYS_FUZZ_DRIVER);
    if (!r.ok()) std::abort();
    f = std::move(*r);
  }
  static const Op kCore[] = {
      op_version, op_get_cap, op_gem_close, op_prime_export, op_prime_import,
      op_syncobj_create, op_syncobj_destroy, op_syncobj_to_fd, op_syncobj_from_fd,
      op_syncobj_wait, op_syncobj_timeline_wait,
      [](State& st) { op_syncobj_array(st, DRM_IOCTL_SYNCOBJ_RESET); },
      [](State& st) { op_syncobj_array(st, DRM_IOCTL_SYNCOBJ_SIGNAL); },
      [](State& st) { op_syncobj_timeline_array(st, DRM_IOCTL_SYNCOBJ_QUERY); },
      [](State& st) { op_syncobj_timeline_array(st, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL); },
      op_syncobj_transfer, op_syncobj_eventfd, op_mmap, op_write_stream, op_raw_ioctl,
  };
  static const Op kPanthorOps[] = {
      op_dev_query,
      op_vm_create,
      op_vm_destroy,
      op_vm_bind,
      op_vm_bind,
      op_vm_get_state,
      op_panthor_bo_create,
      op_panthor_bo_create,
      op_panthor_mmap_offset,
      op_group_create,
      op_group_submit,
      op_group_get_state,
      op_group_destroy,
      op_tiler_heap_create,
      op_tiler_heap_destroy,
      op_panthor_set_label,
      op_set_user_mmio_offset,
      op_panthor_bo_sync,
      op_panthor_bo_query_info,
  };
  static const Op kPanfrostOps[] = {
      op_panfrost_create_bo,     op_panfrost_create_bo,      op_panfrost_mmap_bo,
      op_panfrost_get_param,     op_panfrost_get_bo_offset,  op_panfrost_madvise,
      op_panfrost_set_label,     op_panfrost_submit,         op_panfrost_wait_bo,
      op_panfrost_jm_ctx_create, op_panfrost_jm_ctx_destroy, op_panfrost_sync_bo,
      op_panfrost_query_bo_info,
  };
  const Op* drv = kPanthor ? kPanthorOps : kPanfrostOps;
  const size_t ndrv = kPanthor ? std::size(kPanthorOps) : std::size(kPanfrostOps);
  // Bounded: a long input must not run for seconds.
  // WSYS_FUZZ_TRACE=1 (triage of a finding): each call's table and index.
  static const bool trace = std::getenv("WSYS_FUZZ_TRACE") != nullptr;
  for (int i = 0; i < 64 && p.remaining_bytes() > 0; i++) {
    size_t k = p.ConsumeIntegralInRange<size_t>(0, std::size(kCore) + ndrv - 1);
    if (trace)
      std::fprintf(stderr, "call %d: %s[%zu]\n", i, k < std::size(kCore) ? "core" : "driver",
                   k < std::size(kCore) ? k : k - std::size(kCore));
    if (k < std::size(kCore))
      kCore[k](s);
    else
      drv[k - std::size(kCore)](s);
    if (trace) {
      const SimDeviceUsage u = sim_device_usage(*SimDevice::get(WSYS_FUZZ_DRIVER, nullptr));
      std::fprintf(
          stderr, "  objects %llu charged 0x%llx swapped 0x%llx reclaims %llu\n",
          static_cast<unsigned long long>(u.objects), static_cast<unsigned long long>(u.charged),
          static_cast<unsigned long long>(u.swapped), static_cast<unsigned long long>(u.reclaims));
    }
  }
}

}  // namespace

// The sanitizers' summary line goes through this weak hook, which
// libFuzzer leaves alone (it takes the death callback for itself).
extern "C" void __sanitizer_report_error_summary(const char* summary) {
  std::fprintf(stderr, "%s\n", summary);
  report_write_death();
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A job that hangs (or sleeps) is cancelled when its file closes at the
  // end of the input; the timeout only bounds jobs on a file still open.
  set_job_timeout_ms(100);
  GuardPages::get();
  // The device now, before the first input notes the process's fds: what
  // it opens for the life of the process (panthor reclaim's swap memfd) is
  // then never among the fds an input's end closes. Closed by the first
  // input's end, its number went to later fds: reclaim wrote and restore
  // read "swap" through whatever held it (another object's memfd, or an
  // eventfd or sync file: lseek -ESPIPE, the CPU fault it served stood, a
  // SIGBUS in the harness after 10^5 to 10^6 inputs).
  if (!SimDevice::get(WSYS_FUZZ_DRIVER, nullptr)) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  run(p);
  return 0;
}
