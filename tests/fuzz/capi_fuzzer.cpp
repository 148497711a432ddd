// Fuzzer of the public C API (include/wsys/wsys.h, libwsys) on the kernel
// model: sequences of calls on devices, BOs and their mappings, syncobjs,
// VMs, VA ranges and bind batches, sparse buffers, heaps and scratch, with
// export/import, including bad arguments: NULL handles and outputs, sizes,
// offsets and flags at their edges, invalid enum values, VA ranges the
// allocator never handed out (or already took back), syncobjs of another
// device.
//
// The C API is the public contract: every call validates its arguments and
// returns 0 or a negative errno. What the harness does not do is what no
// API can check: use a handle after its last release (the tables drop a
// handle when the harness releases it), or block on something nothing will
// signal (waits get short deadlines, wsys_vm_reclaim never blocks).
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "wsys/wsys.h"

using namespace wsys::fuzz;

namespace {

struct Dev {
  wsys_device* dev;
  int refs;  // references the harness holds
};
struct Vm {
  wsys_vm* vm;
  wsys_device* dev;  // borrowed VMs die with their device handle
  bool borrowed;
};
struct Sync {
  wsys_device* dev;
  uint32_t handle;
};
struct Range {
  wsys_vm* vm;
  wsys_va_range r;
};

struct State {
  explicit State(FuzzedDataProvider& prov) : p(prov) {}
  FuzzedDataProvider& p;
  std::vector<Dev> devs;
  std::vector<wsys_bo*> bos;  // one entry per reference held
  std::vector<Vm> vms;
  std::vector<wsys_bind_batch*> batches;
  std::vector<wsys_sparse*> sparses;
  std::vector<wsys_heap*> heaps;
  std::vector<Sync> syncs;
  std::vector<Range> ranges;  // handed out, freed, or made up
  std::vector<wsys_scratch_binding> scratch;
  std::vector<int> fds;
  std::string label;

  template <typename T>
  size_t index(const std::vector<T>& v) { return p.ConsumeIntegralInRange<size_t>(0, v.size() - 1); }
  bool rarely() { return p.ConsumeIntegralInRange<int>(0, 9) == 0; }

  wsys_device* dev() {
    if (devs.empty() || rarely()) return nullptr;
    return devs[index(devs)].dev;
  }
  wsys_bo* bo() {
    if (bos.empty() || rarely()) return nullptr;
    return bos[index(bos)];
  }
  wsys_vm* vm() {
    if (vms.empty() || rarely()) return nullptr;
    return vms[index(vms)].vm;
  }
  wsys_bind_batch* batch() {
    if (batches.empty() || rarely()) return nullptr;
    return batches[index(batches)];
  }
  wsys_sparse* sparse() {
    if (sparses.empty() || rarely()) return nullptr;
    return sparses[index(sparses)];
  }
  wsys_heap* heap() {
    if (heaps.empty() || rarely()) return nullptr;
    return heaps[index(heaps)];
  }
  uint32_t syncobj() {
    if (syncs.empty() || rarely()) return p.ConsumeBool() ? 0 : edge_u32(p);
    return syncs[index(syncs)].handle;
  }
  uint64_t point() { return p.ConsumeBool() ? p.ConsumeIntegralInRange<uint64_t>(0, 4) : edge_u64(p); }
  // A sync point, or NULL.
  wsys_sync_point* sync_point(wsys_sync_point* storage) {
    if (rarely()) return nullptr;
    *storage = {};
    storage->syncobj = syncobj();
    storage->point = point();
    if (rarely()) storage->pad = 1;
    return storage;
  }
  int fd() {
    if (fds.empty() || rarely()) return p.ConsumeBool() ? -1 : p.ConsumeIntegralInRange<int>(-2, 4096);
    return fds[index(fds)];
  }
  uint64_t va() {
    if (!bos.empty() && p.ConsumeBool()) return near(p, wsys_bo_gpu_va(bos[index(bos)]));
    if (!ranges.empty() && p.ConsumeBool()) return near(p, ranges[index(ranges)].r.addr);
    return edge_u64(p);
  }
  uint64_t size() {
    return p.ConsumeBool() ? p.ConsumeIntegralInRange<uint64_t>(0, 64) << 12 : edge_u64(p);
  }
  uint32_t flags(uint32_t known) {
    return rarely() ? edge_u32(p) : p.ConsumeIntegralInRange<uint32_t>(0, known);
  }
  template <typename E>
  E mode() {
    return static_cast<E>(rarely() ? p.ConsumeIntegral<int>() : p.ConsumeIntegralInRange<int>(0, 2));
  }

  // Releases one harness reference of devs[i]; at the last one the handle
  // is gone, and with it the device's borrowed VM.
  void drop_dev(size_t i) {
    wsys_device* d = devs[i].dev;
    wsys_device_unref(d);
    if (--devs[i].refs > 0) return;
    devs.erase(devs.begin() + static_cast<long>(i));
    for (size_t k = syncs.size(); k-- > 0;)
      if (syncs[k].dev == d) syncs.erase(syncs.begin() + static_cast<long>(k));
    for (size_t k = vms.size(); k-- > 0;)
      if (vms[k].borrowed && vms[k].dev == d) {
        wsys_vm* v = vms[k].vm;
        vms.erase(vms.begin() + static_cast<long>(k));
        for (size_t j = ranges.size(); j-- > 0;)
          if (ranges[j].vm == v) ranges.erase(ranges.begin() + static_cast<long>(j));
      }
  }
  void forget_vm(wsys_vm* v) {
    for (size_t j = ranges.size(); j-- > 0;)
      if (ranges[j].vm == v) ranges.erase(ranges.begin() + static_cast<long>(j));
  }

  ~State() {
    // Signal every syncobj so nothing queued behind one still waits, then
    // release in an arbitrary but valid order.
    for (const Sync& s : syncs) {
      wsys_syncobj_signal(s.dev, s.handle, 0);
      wsys_syncobj_signal(s.dev, s.handle, ~0ull >> 1);
    }
    for (wsys_sparse* s : sparses) wsys_sparse_destroy(s, nullptr);
    for (wsys_heap* h : heaps) wsys_heap_destroy(h);
    for (wsys_bind_batch* b : batches) wsys_bind_batch_destroy(b);
    for (const Vm& v : vms)
      if (!v.borrowed) wsys_vm_destroy(v.vm);
    for (wsys_bo* b : bos) wsys_bo_unref(b);
    for (const Dev& d : devs)
      for (int i = 0; i < d.refs; i++) wsys_device_unref(d.dev);
    for (int f : fds) close(f);
  }
};

void check(int r) {
  // Every fallible call answers 0 or a negative errno (some return a count
  // or a 0/1 state, never a large positive number).
  if (r > 1 << 20) std::abort();
}

// ---- devices ----------------------------------------------------------------

void op_device_open(State& s) {
  static const char* kSpecs[] = {nullptr, "sim", "sim:panthor", "sim:panfrost", "auto",
                                 "",      "sim:", "sim:nope",   "/dev/null",    "/nonexistent"};
  const char* spec = kSpecs[s.p.ConsumeIntegralInRange<size_t>(0, std::size(kSpecs) - 1)];
  wsys_device* d = nullptr;
  int r = wsys_device_open(spec, s.rarely() ? nullptr : &d);
  check(r);
  if (r == 0 && d) s.devs.push_back({d, 1});
}

void op_device_open_fd(State& s) {
  // Ownership passes to wsys (even on failure): hand it a copy.
  int f = s.fd();
  int mine = f >= 0 ? fcntl(f, F_DUPFD_CLOEXEC, 0) : f;
  if (s.p.ConsumeBool()) {
    if (mine >= 0) close(mine);
    mine = open("/dev/null", O_RDWR | O_CLOEXEC);
  }
  wsys_device* d = nullptr;
  int r = wsys_device_open_fd(mine, &d);
  check(r);
  if (r == 0) s.devs.push_back({d, 1});
}

void op_device_ref(State& s) {
  if (s.devs.empty()) {
    wsys_device_ref(nullptr);
    return;
  }
  Dev& d = s.devs[s.index(s.devs)];
  wsys_device_ref(d.dev);
  d.refs++;
}

void op_device_unref(State& s) {
  if (s.devs.empty() || s.rarely()) {
    wsys_device_unref(nullptr);
    return;
  }
  s.drop_dev(s.index(s.devs));
}

void op_device_info(State& s) {
  // A buffer larger than any version of the struct; the claimed size at
  // the edges (below the size field, exact, larger).
  union {
    wsys_device_info info;
    wsys_device_stats stats;
    unsigned char room[1024];
  } u;
  std::memset(&u, 0xa5, sizeof u);
  uint32_t size = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 512) : edge_u32(s.p);
  bool info = s.p.ConsumeBool();
  if (info)
    u.info.size = size;
  else
    u.stats.size = size;
  wsys_device* d = s.dev();
  if (s.rarely())
    check(info ? wsys_device_get_info(d, nullptr) : wsys_device_get_stats(d, nullptr));
  else
    check(info ? wsys_device_get_info(d, &u.info) : wsys_device_get_stats(d, &u.stats));
}

void op_device_trim(State& s) {
  if (s.p.ConsumeBool())
    wsys_device_trim(s.dev(), edge_u64(s.p));
  else
    wsys_device_maintain(s.dev());
}

// ---- buffers ------------------------------------------------------------------

void op_bo_alloc(State& s) {
  uint64_t size = s.size();
  if (size > (64u << 20) && s.p.ConsumeBool()) size = 64u << 20;
  uint32_t flags = s.flags(0x3ff);
  const char* label = nullptr;
  switch (s.p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: label = "fuzz"; break;
    case 1: s.label.assign(s.p.ConsumeIntegralInRange<size_t>(0, 5000), 'L'); label = s.label.c_str(); break;
    default: break;
  }
  wsys_bo* b = nullptr;
  int r = wsys_bo_alloc(s.dev(), size, flags, label, s.rarely() ? nullptr : &b);
  check(r);
  if (r == 0 && b) s.bos.push_back(b);
}

void op_bo_import(State& s) {
  wsys_bo* b = nullptr;
  int r = wsys_bo_import(s.dev(), s.fd(), s.rarely() ? nullptr : &b);
  check(r);
  if (r == 0 && b) s.bos.push_back(b);
}

void op_bo_ref(State& s) {
  wsys_bo* b = s.bo();
  wsys_bo_ref(b);
  if (b) s.bos.push_back(b);
}

void op_bo_unref(State& s) {
  if (s.bos.empty() || s.rarely()) {
    wsys_bo_unref(nullptr);
    return;
  }
  size_t i = s.index(s.bos);
  wsys_bo* b = s.bos[i];
  s.bos.erase(s.bos.begin() + static_cast<long>(i));
  // A scratch binding's BO reference is one of the entries: drop the
  // binding when its last reference goes.
  bool still = false;
  for (wsys_bo* o : s.bos) still |= o == b;
  if (!still)
    for (size_t k = s.scratch.size(); k-- > 0;)
      if (s.scratch[k].bo == b) s.scratch.erase(s.scratch.begin() + static_cast<long>(k));
  wsys_bo_unref(b);
}

void op_bo_query(State& s) {
  wsys_bo* b = s.bo();
  (void)wsys_bo_size(b);
  (void)wsys_bo_gpu_va(b);
  (void)wsys_bo_handle(b);
  check(wsys_bo_busy(b));
}

void op_bo_map(State& s) {
  wsys_bo* b = s.bo();
  void* ptr = nullptr;
  int r = wsys_bo_map(b, s.rarely() ? nullptr : &ptr);
  check(r);
  if (r == 0 && ptr) {
    // The mapping covers the whole buffer while a reference is held.
    auto* c = static_cast<volatile unsigned char*>(ptr);
    uint64_t n = wsys_bo_size(b);
    c[0] = c[0] + 1;
    c[n - 1] = c[n - 1] + 1;
  }
}

void op_bo_export(State& s) {
  int f = -1;
  int r = wsys_bo_export(s.bo(), s.rarely() ? nullptr : &f);
  check(r);
  if (r == 0 && f >= 0) s.fds.push_back(f);
}

void op_bo_mark_used(State& s) {
  check(wsys_bo_mark_used(s.bo(), s.syncobj(), s.point()));
}

void op_bo_wait(State& s) {
  check(wsys_bo_wait(s.bo(), short_deadline(s.p)));
}

// ---- syncobjs -------------------------------------------------------------------

void op_syncobj_create(State& s) {
  wsys_device* d = s.dev();
  uint32_t h = 0;
  int r = wsys_syncobj_create(d, s.p.ConsumeIntegralInRange<int>(-1, 2), s.rarely() ? nullptr : &h);
  check(r);
  if (r == 0 && h) s.syncs.push_back({d, h});
}

void op_syncobj_destroy(State& s) {
  if (!s.syncs.empty() && s.p.ConsumeBool()) {
    size_t i = s.index(s.syncs);
    Sync x = s.syncs[i];
    // Another device's handle, sometimes: isolation between files.
    wsys_device* d = s.p.ConsumeBool() ? x.dev : s.dev();
    int r = wsys_syncobj_destroy(d, x.handle);
    check(r);
    if (r == 0 && d == x.dev) s.syncs.erase(s.syncs.begin() + static_cast<long>(i));
    return;
  }
  check(wsys_syncobj_destroy(s.dev(), s.p.ConsumeBool() ? 0 : edge_u32(s.p)));
}

void op_syncobj_ops(State& s) {
  wsys_device* d = s.dev();
  uint32_t h = s.syncobj();
  switch (s.p.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: check(wsys_syncobj_signal(d, h, s.point())); break;
    case 1: check(wsys_syncobj_wait(d, h, s.point(), short_deadline(s.p))); break;
    default: {
      uint64_t pt = 0;
      check(wsys_syncobj_query(d, h, s.rarely() ? nullptr : &pt));
      break;
    }
  }
}

// ---- VMs and binding --------------------------------------------------------------

void op_vm_create(State& s) {
  wsys_device* d = s.dev();
  wsys_vm* v = nullptr;
  int r;
  if (s.p.ConsumeBool()) {
    r = wsys_vm_create(d, s.p.ConsumeBool() ? 0 : edge_u64(s.p), s.rarely() ? nullptr : &v);
    if (r == 0 && v) s.vms.push_back({v, d, false});
  } else {
    r = wsys_device_vm(d, s.rarely() ? nullptr : &v);
    if (r == 0 && v) s.vms.push_back({v, d, true});
  }
  check(r);
}

void op_vm_destroy(State& s) {
  if (s.vms.empty() || s.rarely()) {
    wsys_vm_destroy(nullptr);
    return;
  }
  size_t i = s.index(s.vms);
  Vm v = s.vms[i];
  wsys_vm_destroy(v.vm);  // a no-op on a borrowed VM
  if (!v.borrowed) {
    s.vms.erase(s.vms.begin() + static_cast<long>(i));
    s.forget_vm(v.vm);
  }
}

void op_vm_alloc_va(State& s) {
  wsys_vm* v = s.vm();
  wsys_va_range r{};
  int ret;
  if (s.p.ConsumeBool())
    ret = wsys_vm_alloc_va(v, s.size(), s.p.ConsumeBool() ? 4096u << s.p.ConsumeIntegralInRange<int>(0, 12) : edge_u64(s.p),
                           s.rarely() ? nullptr : &r);
  else
    ret = wsys_vm_alloc_va_fixed(v, s.va(), s.size(), s.rarely() ? nullptr : &r);
  check(ret);
  if (ret == 0 && v) s.ranges.push_back({v, r});
}

// A range: one the allocator handed out (maybe already freed), or one
// with its fields changed, or made up.
wsys_va_range range(State& s, wsys_vm** vm_out) {
  if (s.ranges.empty() || s.rarely()) {
    wsys_va_range r{};
    r.addr = s.va();
    r.size = s.size();
    r.cookie = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 64) : edge_u32(s.p);
    *vm_out = s.vm();
    return r;
  }
  const Range& x = s.ranges[s.index(s.ranges)];
  wsys_va_range r = x.r;
  *vm_out = s.p.ConsumeIntegralInRange<int>(0, 5) == 0 ? s.vm() : x.vm;
  switch (s.p.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: r.addr = near(s.p, r.addr); break;
    case 1: r.size = near(s.p, r.size); break;
    case 2: r.cookie = edge_u32(s.p); break;
    case 3: r.pad = 1; break;
    default: break;
  }
  return r;
}

void op_vm_free_va(State& s) {
  wsys_vm* v = nullptr;
  wsys_va_range r = range(s, &v);
  const wsys_va_range* rp = s.rarely() ? nullptr : &r;
  wsys_sync_point sp;
  switch (s.p.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: check(wsys_vm_free_va(v, rp)); break;
    case 1: check(wsys_vm_free_va_after(v, rp, s.sync_point(&sp))); break;
    default: check(wsys_vm_unmap_and_free(v, rp, s.p.ConsumeBool() ? nullptr : s.sync_point(&sp))); break;
  }
}

void op_vm_misc(State& s) {
  wsys_vm* v = s.vm();
  switch (s.p.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: check(wsys_vm_reclaim(v, 0)); break;
    case 1: check(wsys_vm_usable(v)); break;
    case 2: check(wsys_vm_recreate(v)); break;
    case 3: (void)wsys_vm_id(v); break;
    default: {
      union {
        wsys_vm_stats st;
        unsigned char room[512];
      } u;
      std::memset(&u, 0, sizeof u);
      u.st.size = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 256) : edge_u32(s.p);
      check(wsys_vm_get_stats(v, s.rarely() ? nullptr : &u.st));
      break;
    }
  }
}

void op_batch(State& s) {
  switch (s.p.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: {
      wsys_bind_batch* b = nullptr;
      int r = wsys_bind_batch_create(s.rarely() ? nullptr : &b);
      check(r);
      if (r == 0 && b) s.batches.push_back(b);
      break;
    }
    case 1: {
      if (s.batches.empty() || s.rarely()) {
        wsys_bind_batch_destroy(nullptr);
        break;
      }
      size_t i = s.index(s.batches);
      wsys_bind_batch_destroy(s.batches[i]);
      s.batches.erase(s.batches.begin() + static_cast<long>(i));
      break;
    }
    case 2:
    case 3:
      check(wsys_bind_batch_map(s.batch(), s.bo(), s.p.ConsumeBool() ? 0 : near(s.p, 0), s.va(),
                                s.size(), s.flags(7)));
      break;
    case 4: check(wsys_bind_batch_unmap(s.batch(), s.va(), s.size())); break;
    case 5: {
      wsys_sync_point sp;
      if (s.p.ConsumeBool())
        check(wsys_bind_batch_wait(s.batch(), s.sync_point(&sp)));
      else
        check(wsys_bind_batch_signal(s.batch(), s.sync_point(&sp)));
      break;
    }
    case 6: check(wsys_bind_batch_op_count(s.batch())); break;
    default: {
      size_t failed = 0;
      check(wsys_vm_bind(s.vm(), s.batch(), s.mode<wsys_bind_mode>(), s.rarely() ? nullptr : &failed));
      break;
    }
  }
}

// ---- sparse buffers ----------------------------------------------------------------

void op_sparse(State& s) {
  switch (s.p.ConsumeIntegralInRange<int>(0, 6)) {
    case 0: {
      wsys_sparse* sp = nullptr;
      uint64_t size = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 64) << 16 : edge_u64(s.p);
      // A sparse buffer the VM can hold is mapped whole at creation (over
      // the dummy or MAP_SPARSE), and the model pre-allocates the page
      // tables of the whole range as the kernel does: 4 KiB per 2 MiB, so
      // the VM's whole range is hundreds of MiB, past libFuzzer's RSS
      // limit without being a bug, and even 64 GiB (128 MiB of tables, one
      // ASan allocation each) made sparse creation 40% of this fuzzer's
      // time. Such sizes become 4 GiB (the same code, with shorter loops);
      // larger ones still fail on the VA space (sparse.cpp).
      if (size > (1ull << 32) && size < (1ull << 44)) size = 1ull << 32;
      int r = wsys_sparse_create(s.dev(), s.p.ConsumeBool() ? nullptr : s.vm(), size,
                                 s.rarely() ? nullptr : &sp);
      check(r);
      if (r == 0 && sp) s.sparses.push_back(sp);
      break;
    }
    case 1: {
      if (s.sparses.empty() || s.rarely()) {
        wsys_sparse_destroy(nullptr, nullptr);
        break;
      }
      size_t i = s.index(s.sparses);
      wsys_sync_point p;
      wsys_sparse_destroy(s.sparses[i], s.p.ConsumeBool() ? nullptr : s.sync_point(&p));
      s.sparses.erase(s.sparses.begin() + static_cast<long>(i));
      break;
    }
    case 2: {
      wsys_sparse* sp = s.sparse();
      (void)wsys_sparse_gpu_va(sp);
      (void)wsys_sparse_size(sp);
      check(wsys_sparse_is_resident(sp, s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 70) : edge_u64(s.p)));
      break;
    }
    case 3: {
      uint64_t first = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 64) : edge_u64(s.p);
      uint64_t count = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 8) : edge_u64(s.p);
      uint64_t off = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 8) << 16 : edge_u64(s.p);
      check(wsys_sparse_bind(s.sparse(), first, count, s.bo(), off, s.flags(7)));
      break;
    }
    case 4: {
      uint64_t first = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 64) : edge_u64(s.p);
      uint64_t count = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 8) : edge_u64(s.p);
      check(wsys_sparse_unbind(s.sparse(), first, count));
      break;
    }
    default: {
      wsys_sync_point w[4], g[4];
      size_t nw = s.p.ConsumeIntegralInRange<size_t>(0, 4), ng = s.p.ConsumeIntegralInRange<size_t>(0, 4);
      for (size_t i = 0; i < nw; i++) w[i] = {s.syncobj(), 0, s.point()};
      for (size_t i = 0; i < ng; i++) g[i] = {s.syncobj(), 0, s.point()};
      // A count with a NULL array must be refused, not read.
      const wsys_sync_point* wp = s.rarely() ? nullptr : w;
      const wsys_sync_point* gp = s.rarely() ? nullptr : g;
      check(wsys_sparse_submit(s.sparse(), s.mode<wsys_bind_mode>(), wp, nw, gp, ng));
      break;
    }
  }
}

// ---- heaps and scratch ----------------------------------------------------------

void op_heap(State& s) {
  switch (s.p.ConsumeIntegralInRange<int>(0, 6)) {
    case 0: {
      union {
        wsys_heap_config cfg;
        unsigned char room[256];
      } u;
      std::memset(&u, 0, sizeof u);
      u.cfg.size = s.p.ConsumeBool() ? static_cast<uint32_t>(sizeof u.cfg) : s.p.ConsumeIntegralInRange<uint32_t>(0, 200);
      u.cfg.chunk_size_bytes = s.p.ConsumeBool() ? (128u << 10) << s.p.ConsumeIntegralInRange<int>(0, 7) : edge_u32(s.p);
      u.cfg.max_chunks = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 8) : edge_u32(s.p);
      u.cfg.fixed_initial_chunks = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 4) : edge_u32(s.p);
      u.cfg.no_idle_shrink = s.p.ConsumeIntegralInRange<uint32_t>(0, 2);
      u.cfg.idle_shrink_ns = edge_u64(s.p);
      // A heap is created with its initial chunks, each a GEM object mapped
      // into the VM: tens of thousands (until the model runs out of memory
      // or of file descriptors for them: -ENOMEM) take seconds under ASan,
      // and once the corpus found such inputs they were 80% of this
      // fuzzer's time. Counts over 64 become 64 unless they exceed
      // max_chunks (that validation still gets the edge values).
      if (u.cfg.fixed_initial_chunks > 64 && u.cfg.fixed_initial_chunks <= u.cfg.max_chunks)
        u.cfg.fixed_initial_chunks = 64;
      wsys_heap* h = nullptr;
      int r = wsys_heap_create(s.dev(), s.p.ConsumeBool() ? nullptr : &u.cfg, s.rarely() ? nullptr : &h);
      check(r);
      if (r == 0 && h) s.heaps.push_back(h);
      break;
    }
    case 1: {
      if (s.heaps.empty() || s.rarely()) {
        wsys_heap_destroy(nullptr);
        break;
      }
      size_t i = s.index(s.heaps);
      wsys_heap_destroy(s.heaps[i]);
      s.heaps.erase(s.heaps.begin() + static_cast<long>(i));
      break;
    }
    case 2: {
      wsys_heap_target t;
      check(wsys_heap_get_target(s.heap(), s.rarely() ? nullptr : &t));
      break;
    }
    case 3: {
      wsys_sync_point p;
      check(wsys_heap_mark_used(s.heap(), s.sync_point(&p)));
      break;
    }
    case 4: check(wsys_heap_record_frame(s.heap(), edge_u64(s.p), s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint64_t>(0, 3) : edge_u64(s.p))); break;
    case 5: check(wsys_heap_maybe_shrink(s.heap(), s.p.ConsumeBool() ? now_ns() + s.p.ConsumeIntegralInRange<int64_t>(0, 1ll << 40) : edge_u64(s.p))); break;
    default: {
      union {
        wsys_heap_stats st;
        unsigned char room[512];
      } u;
      std::memset(&u, 0, sizeof u);
      u.st.size = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 256) : edge_u32(s.p);
      check(wsys_heap_get_stats(s.heap(), s.rarely() ? nullptr : &u.st));
      break;
    }
  }
}

void op_scratch(State& s) {
  wsys_scratch_binding b{};
  int r;
  switch (s.p.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
      uint32_t n = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 4096) : edge_u32(s.p);
      r = wsys_scratch_tls(s.dev(), n, s.rarely() ? nullptr : &b);
      break;
    }
    case 1: {
      auto dim = [&] { return s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 64) : edge_u32(s.p); };
      uint32_t per = s.p.ConsumeBool() ? s.p.ConsumeIntegralInRange<uint32_t>(0, 4096) : edge_u32(s.p);
      uint32_t x = dim(), y = dim(), z = dim();
      r = wsys_scratch_wls(s.dev(), per, x, y, z, s.p.ConsumeIntegralInRange<int>(0, 2),
                           s.rarely() ? nullptr : &b);
      break;
    }
    default: {
      wsys_sync_point p;
      const wsys_scratch_binding* bp = nullptr;
      wsys_scratch_binding empty{};
      if (!s.scratch.empty() && !s.rarely()) bp = &s.scratch[s.index(s.scratch)];
      else if (s.p.ConsumeBool()) bp = &empty;
      check(wsys_scratch_mark_used(s.dev(), bp, s.sync_point(&p)));
      return;
    }
  }
  check(r);
  if (r == 0 && b.bo) {
    s.bos.push_back(b.bo);  // the binding's reference is the caller's
    s.scratch.push_back(b);
  }
}

void op_strerror(State& s) {
  const char* m = wsys_strerror(s.p.ConsumeIntegral<int>());
  if (!m) std::abort();
}

using Op = void (*)(State&);

// With every handle released and every fd the input got closed, wsys and the
// model must hold no fd the input made them open: a BO, file or sync fd kept
// past its last release. The model device outlives the input (as a kernel
// device outlives its files), so such a leak is not a heap leak at exit for
// LSan; found here, it is a finding at the input that caused it.
void check_no_fd_left(const std::vector<int>& before) {
  for (int f : open_fds()) {
    if (std::find(before.begin(), before.end(), f) != before.end()) continue;
    char link[64], target[256] = {};
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", f);
    ssize_t n = readlink(link, target, sizeof target - 1);
    std::fprintf(stderr, "capi_fuzzer: fd %d (%s) is still open after every handle was released\n",
                 f, n > 0 ? target : "?");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // NULL specs take WSYS_DEVICE: the model, never a real GPU.
  setenv("WSYS_DEVICE", "sim", 1);
  GuardPages::get();
  // What the model makes once per process (each driver's device and its
  // swap file) is made here, before the first input's fd count.
  for (const char* spec : {"sim:panthor", "sim:panfrost"}) {
    wsys_device* d = nullptr;
    if (wsys_device_open(spec, &d) != 0) std::abort();
    wsys_device_unref(d);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<int> fds_before = open_fds();
  {
    FuzzedDataProvider p(data, size);
    State s(p);
    // Start with a device of the flavour the first byte names.
    {
      wsys_device* d = nullptr;
      if (wsys_device_open(p.ConsumeBool() ? "sim:panfrost" : "sim:panthor", &d) != 0) std::abort();
      s.devs.push_back({d, 1});
    }
    static const Op kOps[] = {
        op_device_open, op_device_open_fd, op_device_ref,      op_device_unref, op_device_info,
        op_device_trim, op_bo_alloc,       op_bo_alloc,        op_bo_import,    op_bo_ref,
        op_bo_unref,    op_bo_query,       op_bo_map,          op_bo_export,    op_bo_mark_used,
        op_bo_wait,     op_syncobj_create, op_syncobj_destroy, op_syncobj_ops,  op_vm_create,
        op_vm_destroy,  op_vm_alloc_va,    op_vm_free_va,      op_vm_misc,      op_batch,
        op_batch,       op_sparse,         op_sparse,          op_heap,         op_scratch,
        op_strerror,
    };
    for (int i = 0; i < 64 && p.remaining_bytes() > 0; i++)
      kOps[p.ConsumeIntegralInRange<size_t>(0, std::size(kOps) - 1)](s);
  }
  check_no_fd_left(fds_before);
  return 0;
}
