// The panthor GEM shrinker of the model: see panthor_reclaim.h.
#include "winsys/sim/panthor_reclaim.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <unordered_set>

#include "winsys/sim/fault_inject.h"
#include "winsys/sim/gem.h"
#include "winsys/sim/gpu_fault.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

// The swap table: one slot per object in swap, process-wide and static so
// the signal handler can search it without allocating or locking. Every
// field is atomic: the handler reads them while reclaim fills a slot.
enum SlotState : int { kFree = 0, kSwapping = 1, kSwapped = 2, kRestoring = 3, kDropping = 4 };

struct Slot {
  std::atomic<int> state{kFree};
  std::atomic<SimBo*> bo{nullptr};
  std::atomic<PanthorReclaim*> owner{nullptr};
  std::atomic<uint32_t> dev_major{0}, dev_minor{0};
  std::atomic<uint64_t> ino{0};
  std::atomic<int> memfd{-1}, swapfd{-1};
  std::atomic<uint64_t> size{0}, swap_off{0};
  std::atomic<uint64_t> data{0};  // bytes of the range the swap holds (pages that existed)
};

Slot g_slots[kReclaimSlots];
std::atomic<uint64_t> g_busy_slots{0};  // slots not kFree

void pause_briefly() { sched_yield(); }

// Copies [in_off, in_off + size) of in_fd to out_fd at out_off: kernel to
// kernel with copy_file_range, else pread/pwrite through a small stack
// buffer. Async-signal-safe. 0 or -errno.
int copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off, uint64_t size) {
  loff_t ip = static_cast<loff_t>(in_off), op = static_cast<loff_t>(out_off);
  uint64_t left = size;
  bool fallback = false;
  while (left && !fallback) {
    ssize_t n = copy_file_range(in_fd, &ip, out_fd, &op, left, 0);
    if (n > 0) {
      left -= static_cast<uint64_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
                         errno == EINVAL)) {
      fallback = true;
    } else {
      return n == 0 ? -EIO : -errno;
    }
  }
  char buf[4096];
  while (left) {
    size_t want = left < sizeof buf ? static_cast<size_t>(left) : sizeof buf;
    ssize_t n = pread(in_fd, buf, want, ip);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? -EIO : -errno;
    ssize_t w = pwrite(out_fd, buf, static_cast<size_t>(n), op);
    if (w < 0 && errno == EINTR) continue;
    if (w != n) return w < 0 ? -errno : -EIO;
    ip += n;
    op += n;
    left -= static_cast<uint64_t>(n);
  }
  return 0;
}

// Copies what [in_off, in_off + size) of in_fd holds to out_fd at the same
// relative offsets from out_off, skipping holes: a page never written
// exists in neither file. This is what the kernel's shmem swap-out does (it
// writes the pages the object has; one never touched costs no swap), and
// what keeps the model's swap, which is memory, from turning a large idle
// object nobody wrote into that many bytes of real memory. The destination
// range must be a hole already (a fresh swap range, a truncated memfd).
// Only lseek's result is used, never the shared file position, so a fault
// restore interrupting this on another slot is harmless. Async-signal-safe.
// The bytes copied, or -errno.
int64_t copy_data(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off, uint64_t size) {
  const uint64_t end = in_off + size;
  uint64_t pos = in_off, copied = 0;
  while (pos < end) {
    off_t d = lseek(in_fd, static_cast<off_t>(pos), SEEK_DATA);
    if (d < 0 && errno == ENXIO) break;  // nothing but holes from pos on
    if (d < 0) {                         // no SEEK_DATA here: copy the rest as it is
      int r = copy_range(in_fd, pos, out_fd, out_off + (pos - in_off), end - pos);
      return r ? r : static_cast<int64_t>(copied + (end - pos));
    }
    const uint64_t from = static_cast<uint64_t>(d);
    if (from >= end) break;
    off_t h = lseek(in_fd, d, SEEK_HOLE);
    if (h < 0) return -errno;
    const uint64_t to = static_cast<uint64_t>(h) < end ? static_cast<uint64_t>(h) : end;
    if (int r = copy_range(in_fd, from, out_fd, out_off + (from - in_off), to - from)) return r;
    copied += to - from;
    pos = to;
  }
  return static_cast<int64_t>(copied);
}

// Restores the object of slot `s` (state kSwapped -> kRestoring -> kFree).
// The caller charged the size. Async-signal-safe: syscalls and atomics.
// 0; -EAGAIN if the slot was not kSwapped; -errno (nothing lost: the slot
// goes back to kSwapped, the memfd to empty).
int slot_restore(Slot& s, bool from_fault) {
  int exp = kSwapped;
  if (!s.state.compare_exchange_strong(exp, kRestoring, std::memory_order_acq_rel))
    return -EAGAIN;
  const int memfd = s.memfd.load(), swapfd = s.swapfd.load();
  const uint64_t size = s.size.load(), off = s.swap_off.load();
  int err = 0;
  if (ftruncate(memfd, static_cast<off_t>(size)) != 0) err = -errno;
  int64_t copied = 0;
  if (!err) {
    copied = copy_data(swapfd, off, memfd, 0, size);
    if (copied < 0) err = static_cast<int>(copied);
  }
  if (err) {
    (void)ftruncate(memfd, 0);
    s.state.store(kSwapped, std::memory_order_release);
    return err;
  }
  (void)fallocate(swapfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                  static_cast<off_t>(size));
  PanthorReclaim::Counters& c = s.owner.load()->counters();
  c.restores.fetch_add(1, std::memory_order_relaxed);
  if (from_fault) c.cpu_fault_restores.fetch_add(1, std::memory_order_relaxed);
  c.in_bytes.fetch_add(static_cast<uint64_t>(copied), std::memory_order_relaxed);
  c.swapped_objects.fetch_sub(1, std::memory_order_relaxed);
  c.swapped_bytes.fetch_sub(size, std::memory_order_relaxed);
  c.swap_used.fetch_sub(s.data.load(), std::memory_order_relaxed);
  s.bo.load()->swap_slot.store(-1, std::memory_order_release);
  s.state.store(kFree, std::memory_order_release);
  g_busy_slots.fetch_sub(1, std::memory_order_release);
  return 0;
}

// --- /proc/self/maps, read from a signal handler ---

uint64_t parse_hex(const char*& p, const char* end) {
  uint64_t v = 0;
  for (; p < end; p++) {
    char c = *p;
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else break;
    v = v * 16 + d;
  }
  return v;
}

uint64_t parse_dec(const char*& p, const char* end) {
  uint64_t v = 0;
  for (; p < end && *p >= '0' && *p <= '9'; p++) v = v * 10 + static_cast<uint64_t>(*p - '0');
  return v;
}

void skip_field(const char*& p, const char* end) {
  while (p < end && *p != ' ') p++;
  while (p < end && *p == ' ') p++;
}

// "start-end perms offset major:minor inode path": true with the file's
// identity if [start, end) holds addr.
bool parse_maps_line(const char* p, const char* end, uintptr_t addr, uint32_t* maj,
                     uint32_t* min, uint64_t* ino) {
  uint64_t start = parse_hex(p, end);
  if (p >= end || *p != '-') return false;
  p++;
  uint64_t stop = parse_hex(p, end);
  if (addr < start || addr >= stop) return false;
  while (p < end && *p == ' ') p++;
  skip_field(p, end);  // perms
  skip_field(p, end);  // offset
  *maj = static_cast<uint32_t>(parse_hex(p, end));
  if (p >= end || *p != ':') return false;
  p++;
  *min = static_cast<uint32_t>(parse_hex(p, end));
  while (p < end && *p == ' ') p++;
  *ino = parse_dec(p, end);
  return true;
}

// The file mapped at `addr` (raw syscalls into a stack buffer: no libc
// buffering, no allocation). False if none or on error.
bool file_at(uintptr_t addr, uint32_t* maj, uint32_t* min, uint64_t* ino) {
  int fd = static_cast<int>(
      syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC));
  if (fd < 0) return false;
  char buf[4096];
  size_t have = 0;
  bool found = false, eof = false;
  while (!found && !eof) {
    ssize_t n = syscall(SYS_read, fd, buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) eof = true;
    else have += static_cast<size_t>(n);
    size_t line = 0;
    for (size_t i = 0; i < have && !found; i++) {
      if (buf[i] != '\n') continue;
      found = parse_maps_line(buf + line, buf + i, addr, maj, min, ino);
      line = i + 1;
    }
    if (!found && eof && line < have)
      found = parse_maps_line(buf + line, buf + have, addr, maj, min, ino);
    if (line == 0 && have == sizeof buf) line = have;  // an absurdly long line: drop it
    for (size_t i = line; i < have; i++) buf[i - line] = buf[i];
    have -= line;
  }
  syscall(SYS_close, fd);
  return found;
}

}  // namespace

// ------------------------------------------------------------ ReclaimVm

bool ReclaimVm::try_lock() {
  bool exp = false;
  return locked_.compare_exchange_strong(exp, true, std::memory_order_acquire);
}

void ReclaimVm::lock() {
  note_if_signalling(ViolationKind::BlockingLock, "ReclaimVm::lock");
  while (!try_lock()) pause_briefly();
}

void ReclaimVm::unlock() { locked_.store(false, std::memory_order_release); }

ReclaimBusy::ReclaimBusy(std::shared_ptr<ReclaimVm> vm, int jobs)
    : vm_(std::move(vm)), jobs_(jobs) {
  vm_->in_flight_.fetch_add(1, std::memory_order_acq_rel);
}

ReclaimBusy::~ReclaimBusy() { end(); }

void ReclaimBusy::job_done() {
  if (jobs_.fetch_sub(1, std::memory_order_acq_rel) == 1) end();
}

void ReclaimBusy::end() {
  if (!ended_.exchange(true, std::memory_order_acq_rel))
    vm_->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
}

// --------------------------------------------------------- PanthorReclaim

PanthorReclaim::PanthorReclaim(SimDevice* dev, Shrinker* shrinker)
    : dev_(dev), shrinker_(shrinker) {
  swap_fd_ = memfd_create("wsys-sim-swap", MFD_CLOEXEC);  // -1: reclaim never runs
  // CPU access to a swapped object is restored by the chained handler.
  gpu_fault_install();
}

std::shared_ptr<ReclaimVm> PanthorReclaim::vm_state(const std::shared_ptr<SimVm>& vm) {
  std::lock_guard<std::mutex> g(reg_lock_);
  std::shared_ptr<ReclaimVm> found;
  size_t live = 0;
  for (size_t i = 0; i < vms_.size(); i++) {
    std::shared_ptr<ReclaimVm> e = vms_[i].lock();
    if (!e || e->vm_.expired()) continue;
    if (e->vm() == vm) found = e;
    vms_[live++] = vms_[i];
  }
  vms_.resize(live);
  if (found) return found;
  auto e = std::make_shared<ReclaimVm>(vm);
  // Something may be swapped that this VM maps: its first submit checks.
  if (counters_.swapped_objects.load()) e->evicted_.store(true);
  vms_.push_back(e);
  return e;
}

bool PanthorReclaim::reclaim_one(SimBo& bo) {
  const uint64_t size = bo.size();
  struct stat st;
  if (fstat(bo.memfd(), &st) != 0) return false;
  uint32_t i = 0;
  for (; i < kReclaimSlots; i++) {
    int exp = kFree;
    if (g_slots[i].state.compare_exchange_strong(exp, kSwapping, std::memory_order_acq_rel)) break;
  }
  if (i == kReclaimSlots) return false;  // the table is full
  g_busy_slots.fetch_add(1, std::memory_order_acq_rel);
  Slot& s = g_slots[i];
  const uint64_t off = swap_next_.fetch_add(size, std::memory_order_relaxed);
  s.bo.store(&bo);
  s.owner.store(this);
  s.dev_major.store(major(st.st_dev));
  s.dev_minor.store(minor(st.st_dev));
  s.ino.store(st.st_ino);
  s.memfd.store(bo.memfd());
  s.swapfd.store(swap_fd_);
  s.size.store(size);
  s.swap_off.store(off);
  // From here on restore() and the export path wait for this slot.
  bo.swap_slot.store(static_cast<int>(i), std::memory_order_release);
  const int64_t copied = copy_data(bo.memfd(), 0, swap_fd_, off, size);
  if (copied < 0) {
    (void)fallocate(swap_fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(off), static_cast<off_t>(size));
    bo.swap_slot.store(-1, std::memory_order_release);
    s.state.store(kFree, std::memory_order_release);
    g_busy_slots.fetch_sub(1, std::memory_order_release);
    return false;
  }
  // Pages released, every CPU mapping (VM windows included) zapped.
  (void)ftruncate(bo.memfd(), 0);
  counters_.swapped_objects.fetch_add(1, std::memory_order_relaxed);
  counters_.swapped_bytes.fetch_add(size, std::memory_order_relaxed);
  counters_.reclaims.fetch_add(1, std::memory_order_relaxed);
  counters_.out_bytes.fetch_add(static_cast<uint64_t>(copied), std::memory_order_relaxed);
  counters_.swap_used.fetch_add(static_cast<uint64_t>(copied), std::memory_order_relaxed);
  s.data.store(static_cast<uint64_t>(copied));
  s.state.store(kSwapped, std::memory_order_release);
  shrinker_->uncharge(size);
  return true;
}

void PanthorReclaim::mark_evicted(const std::vector<std::shared_ptr<ReclaimVm>>& idle) {
  for (const auto& e : idle) {
    SimVmPtr vm = e->vm();
    if (!vm || e->evicted()) continue;
    for (const SimBoPtr& bo : vm->mapped_bos()) {
      if (bo->swapped()) {
        e->evicted_.store(true, std::memory_order_release);
        break;
      }
    }
  }
}

void PanthorReclaim::set_preempt(const std::shared_ptr<ReclaimVm>& state,
                                 std::weak_ptr<ReclaimPreempt> p) {
  std::lock_guard<std::mutex> g(reg_lock_);
  state->preempt_ = std::move(p);
}

uint64_t PanthorReclaim::reclaim(uint64_t want) {
  if (swap_fd_ < 0 || in_signalling_section()) return 0;
  counters_.scans.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> g(reg_lock_);
  uint64_t freed = reclaim_pass(want);
  if (freed >= want) return freed;
  // Not enough from idle VMs: preempt VMs kept busy only by user queues
  // (their eviction fence), one at a time, and scan again.
  std::vector<std::shared_ptr<ReclaimPreempt>> hooks;
  try {
    for (const auto& w : vms_) {
      std::shared_ptr<ReclaimVm> e = w.lock();
      if (!e || e->in_flight() == 0) continue;
      if (std::shared_ptr<ReclaimPreempt> p = e->preempt_.lock()) hooks.push_back(std::move(p));
    }
  } catch (const std::bad_alloc&) {
    return freed;
  }
  for (const auto& p : hooks) {
    if (!p->preempt_for_reclaim()) continue;
    counters_.preemptions.fetch_add(1, std::memory_order_relaxed);
    freed += reclaim_pass(want - freed);
    p->reclaim_done();
    if (freed >= want) break;
  }
  return freed;
}

uint64_t PanthorReclaim::reclaim_pass(uint64_t want) {
  uint64_t freed = 0;
  std::vector<std::shared_ptr<ReclaimVm>> idle;
  try {
    std::vector<std::shared_ptr<ReclaimVm>> busy;
    for (const auto& w : vms_) {
      std::shared_ptr<ReclaimVm> e = w.lock();
      if (!e) continue;
      if (!e->try_lock()) {
        busy.push_back(std::move(e));
      } else if (e->in_flight() > 0) {
        e->unlock();
        busy.push_back(std::move(e));
      } else {
        idle.push_back(std::move(e));
      }
    }
    // Objects a busy VM maps are never taken.
    std::unordered_set<const SimBo*> excluded;
    for (const auto& e : busy)
      if (SimVmPtr vm = e->vm())
        for (const SimBoPtr& bo : vm->mapped_bos()) excluded.insert(bo.get());
    for (const SimBoPtr& bo : dev_->bo_snapshot()) {
      if (freed >= want) break;
      bool ok = !bo->lazy() && !bo->heap_internal && !bo->exported.load() && !bo->imported() &&
                bo->pinned.load() == 0 && bo->gpu_busy.load() == 0 && bo->charged_ &&
                !bo->purged() && !bo->swapped() && bo->size() && !excluded.count(bo.get());
      if (!ok || !bo->resv.try_lock()) continue;
      if (fault_inject_check("reclaim") == 0 && reclaim_one(*bo)) freed += bo->size();
      bo->resv.unlock();
    }
    if (freed) mark_evicted(idle);
  } catch (const std::bad_alloc&) {
    // Reclaim is best effort: what was done stays done.
  }
  for (const auto& e : idle) e->unlock();
  return freed;
}

int PanthorReclaim::restore(SimBo& bo) {
  for (;;) {
    int i = bo.swap_slot.load(std::memory_order_acquire);
    if (i < 0) return 0;
    Slot& s = g_slots[i];
    int st = s.state.load(std::memory_order_acquire);
    if (s.bo.load() != &bo || st == kFree) {  // restored meanwhile
      pause_briefly();
      continue;
    }
    if (st != kSwapped) {  // being swapped out, restored or dropped
      pause_briefly();
      continue;
    }
    if (!shrinker_->charge(bo.size(), /*may_shrink=*/true)) {
      counters_.restore_failures.fetch_add(1, std::memory_order_relaxed);
      return -ENOMEM;
    }
    int r = slot_restore(s, /*from_fault=*/false);
    if (r == 0) return 0;
    shrinker_->uncharge(bo.size());
    if (r != -EAGAIN) {
      counters_.restore_failures.fetch_add(1, std::memory_order_relaxed);
      return -ENOMEM;
    }
  }
}

std::shared_ptr<ReclaimBusy> PanthorReclaim::before_submit(const std::shared_ptr<ReclaimVm>& state,
                                                           SimVm& vm, int jobs, int* err) {
  state->lock();
  int r = 0;
  std::shared_ptr<ReclaimBusy> busy;
  try {
    if (state->evicted() || counters_.swapped_objects.load(std::memory_order_acquire)) {
      std::vector<SimBoPtr> swapped;
      for (SimBoPtr& bo : vm.mapped_bos())
        if (bo->swapped()) swapped.push_back(std::move(bo));
      if (!swapped.empty() && fault_inject_check("restore")) {
        counters_.restore_failures.fetch_add(1, std::memory_order_relaxed);
        r = -ENOMEM;
      }
      for (size_t i = 0; i < swapped.size() && !r; i++) r = restore(*swapped[i]);
      if (!r) state->evicted_.store(false, std::memory_order_release);
    }
    if (!r) busy = std::make_shared<ReclaimBusy>(state, jobs);
  } catch (const std::bad_alloc&) {
    r = -ENOMEM;
  }
  state->unlock();
  if (r) *err = r;
  return busy;
}

bool PanthorReclaim::forget(SimBo& bo) {
  for (;;) {
    int i = bo.swap_slot.load(std::memory_order_acquire);
    if (i < 0) return false;
    Slot& s = g_slots[i];
    int exp = kSwapped;
    if (s.bo.load() == &bo &&
        s.state.compare_exchange_strong(exp, kDropping, std::memory_order_acq_rel)) {
      const uint64_t size = s.size.load();
      // A user mapping may outlive the object (the kernel's mmap would keep
      // the object, and restore it on the fault): the contents go back into
      // the memfd, which the mapping keeps until munmap. Best effort: if
      // memory cannot be had the mapping faults, as before.
      if (bo.user_mapped.load(std::memory_order_acquire) &&
          ftruncate(s.memfd.load(), static_cast<off_t>(size)) == 0)
        (void)copy_data(s.swapfd.load(), s.swap_off.load(), s.memfd.load(), 0, size);
      (void)fallocate(s.swapfd.load(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(s.swap_off.load()), static_cast<off_t>(size));
      PanthorReclaim::Counters& c = s.owner.load()->counters();
      c.swapped_objects.fetch_sub(1, std::memory_order_relaxed);
      c.swapped_bytes.fetch_sub(size, std::memory_order_relaxed);
      c.swap_used.fetch_sub(s.data.load(), std::memory_order_relaxed);
      bo.swap_slot.store(-1, std::memory_order_release);
      s.state.store(kFree, std::memory_order_release);
      g_busy_slots.fetch_sub(1, std::memory_order_release);
      return true;
    }
    pause_briefly();  // a CPU fault is restoring it: wait for the end
  }
}

ReclaimStats PanthorReclaim::stats() const {
  ReclaimStats s;
  const Counters& c = counters_;
  s.scans = c.scans.load();
  s.reclaims = c.reclaims.load();
  s.restores = c.restores.load();
  s.cpu_fault_restores = c.cpu_fault_restores.load();
  s.swapped_out_bytes = c.out_bytes.load();
  s.swapped_in_bytes = c.in_bytes.load();
  s.restore_failures = c.restore_failures.load();
  s.overcommit_bytes = c.overcommit.load();
  s.swapped_objects = c.swapped_objects.load();
  s.swapped_bytes = c.swapped_bytes.load();
  s.swap_used_bytes = c.swap_used.load();
  s.fault_restore_failures = c.fault_restore_failures.load();
  s.last_fault_restore_error = c.last_fault_restore_error.load();
  s.preemptions = c.preemptions.load();
  return s;
}

uint64_t reclaim_swapped_objects() { return g_busy_slots.load(std::memory_order_acquire); }

bool reclaim_cpu_fault(const void* addr) {
  if (g_busy_slots.load(std::memory_order_acquire) == 0) return false;
  if (in_signalling_section()) return false;  // a GPU fault: the job fails
  const int saved_errno = errno;
  uint32_t maj = 0, min = 0;
  uint64_t ino = 0;
  bool handled = false;
  if (file_at(reinterpret_cast<uintptr_t>(addr), &maj, &min, &ino) && ino) {
    for (uint32_t i = 0; i < kReclaimSlots && !handled; i++) {
      Slot& s = g_slots[i];
      if (s.state.load(std::memory_order_acquire) == kFree) continue;
      if (s.ino.load() != ino || s.dev_major.load() != maj || s.dev_minor.load() != min) continue;
      for (;;) {
        int st = s.state.load(std::memory_order_acquire);
        if (st == kFree) {  // restored by someone else (or dropped): retry the access
          handled = true;
          break;
        }
        if (st != kSwapped) {
          pause_briefly();
          continue;
        }
        PanthorReclaim* owner = s.owner.load();
        const uint64_t size = s.size.load();
        uint64_t over = owner->shrinker()->charge_force(size);
        int r = slot_restore(s, /*from_fault=*/true);
        if (r == 0) {
          owner->counters().overcommit.fetch_add(over, std::memory_order_relaxed);
          handled = true;
          break;
        }
        owner->shrinker()->uncharge(size);
        if (r != -EAGAIN) {  // cannot restore: the fault stands
          owner->counters().fault_restore_failures.fetch_add(1, std::memory_order_relaxed);
          owner->counters().last_fault_restore_error.store(r, std::memory_order_relaxed);
          break;
        }
      }
    }
  }
  errno = saved_errno;
  return handled;
}

}  // namespace wsys::sim
