// User queues, a model extension: see userq.h and drm-uapi/wsys_sim_ext.h.
#include "winsys/sim/userq.h"
#include "winsys/sim/shared_alloc.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/sim/dep_check.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/host_import.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/syncobj.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

std::atomic<bool> g_allow_future{false};

struct Counters {
  std::atomic<uint64_t> doorbell_faults{0}, batches{0}, suspensions{0}, resumes{0}, kills{0},
      eviction_fences{0}, eviction_refusals{0};
} g_stats;

// ------------------------------------------------------------- doorbells
// A fixed, static table so the signal handler can search it.
constexpr unsigned kMapsPerDoorbell = 4;

struct Doorbell {
  std::atomic<int> live{0};
  std::atomic<int> memfd{-1};
  std::atomic<const SimFile*> file{nullptr};
  std::atomic<uint32_t> bell{0};   // any wake-up of the executor (futex word)
  std::atomic<uint32_t> rings{0};  // rings that trapped (armed page)
  std::atomic<int> armed{0};
  std::atomic<uintptr_t> map_addr[kMapsPerDoorbell] = {};
  std::atomic<size_t> map_len[kMapsPerDoorbell] = {};
};

Doorbell g_doorbells[kUserqMaxDoorbells];
std::atomic<unsigned> g_live_doorbells{0};

long futex(std::atomic<uint32_t>* w, int op, uint32_t val, const timespec* ts) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), op, val, ts, nullptr, 0);
}

void wake(Doorbell& d) {
  d.bell.fetch_add(1, std::memory_order_acq_rel);
  futex(&d.bell, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
}

void wait_bell(Doorbell& d, uint32_t seen, int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  futex(&d.bell, FUTEX_WAIT_PRIVATE, seen, &ts);
}

void arm(Doorbell& d) {
  d.armed.store(1, std::memory_order_release);
  (void)ftruncate(d.memfd.load(), 0);  // every mapping of the page now faults
}

void disarm(Doorbell& d) {
  (void)ftruncate(d.memfd.load(), WSYS_USERQ_DOORBELL_SIZE);
  d.armed.store(0, std::memory_order_release);
}

int doorbell_alloc() {
  for (unsigned i = 0; i < kUserqMaxDoorbells; i++) {
    int exp = 0;
    if (!g_doorbells[i].live.compare_exchange_strong(exp, 2)) continue;  // 2: being set up
    Doorbell& d = g_doorbells[i];
    // A slot keeps its memfd for the life of the process: the signal
    // handler may still be looking at a slot being freed, and must never
    // truncate a descriptor number the process reused for something else.
    int fd = d.memfd.load();
    if (fd < 0) fd = memfd_create("wsys-sim-doorbell", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, WSYS_USERQ_DOORBELL_SIZE) != 0) {
      if (fd >= 0 && d.memfd.load() < 0) close(fd);
      d.live.store(0);
      return -ENOMEM;
    }
    d.memfd.store(fd);
    d.armed.store(0);
    for (unsigned m = 0; m < kMapsPerDoorbell; m++) {
      d.map_addr[m].store(0);
      d.map_len[m].store(0);
    }
    d.live.store(1, std::memory_order_release);
    g_live_doorbells.fetch_add(1);
    return static_cast<int>(i);
  }
  return -ENOSPC;
}

void doorbell_free(unsigned i) {
  Doorbell& d = g_doorbells[i];
  // Stray stores into a mapping the user kept land on a plain page.
  (void)ftruncate(d.memfd.load(), WSYS_USERQ_DOORBELL_SIZE);
  d.live.store(2);
  for (unsigned m = 0; m < kMapsPerDoorbell; m++) {
    d.map_addr[m].store(0);
    d.map_len[m].store(0);
  }
  d.file.store(nullptr);  // the memfd stays with the slot (doorbell_alloc)
  g_live_doorbells.fetch_sub(1);
  d.live.store(0, std::memory_order_release);
}

int64_t timeout_ns() {
  int64_t ms = job_timeout_ms();
  return (ms > 0 ? ms : 2000) * 1'000'000;
}

}  // namespace

// ------------------------------------------------------------ UserQueue

class UserqVm;

class UserQueue {
 public:
  enum class State { Running, Suspended, Dead };

  UserQueue(SimFile* f, std::shared_ptr<PanthorGroup> g, const drm_wsys_userq_create& a, int db)
      : file(f), group(std::move(g)), vm(group->vm()), reclaim_vm(group->reclaim_vm()),
        ring_va(a.ring_va), ring_size(a.ring_size), rptr_va(a.rptr_va), wptr_va(a.wptr_va),
        seqno_va(a.seqno_va), db_index(db) {}

  Doorbell& db() { return g_doorbells[db_index]; }

  int start();
  void destroy();
  void run();
  int resume(bool from_executor);
  // Signals and drops every pending fence with a seqno <= completed (or all
  // with `status` if all is set). m held. No allocation.
  void signal_pending_locked(bool all, int status);
  void complete(uint64_t seqno);  // a SEQNO, inside the section
  void kill(uint32_t flags, int status);  // inside or outside the section

  SimFile* file;
  std::shared_ptr<PanthorGroup> group;
  std::shared_ptr<SimVm> vm;
  std::shared_ptr<ReclaimVm> reclaim_vm;
  const uint64_t ring_va;
  const uint32_t ring_size;
  const uint64_t rptr_va, wptr_va, seqno_va;
  const int db_index;
  uint32_t handle = 0;
  std::weak_ptr<UserqVm> uvm;

  std::mutex m;
  std::condition_variable cv;
  // Guarded by m.
  State state = State::Running;
  bool evicting = false;  // new submission fences refused
  uint32_t dead_flags = 0;
  int dead_status = 0;
  uint64_t rptr = 0, completed = 0, suspensions = 0;
  uint32_t rings_at_suspend = 0;
  bool resume_pending = false;  // work was left in the ring when suspended
  std::shared_ptr<ReclaimBusy> busy;
  struct Pending {
    uint64_t seqno = 0;
    FencePtr fence;
  };
  std::array<Pending, kUserqMaxPendingFences> pending;
  unsigned npending = 0;

  std::atomic<bool> preempt_req{false};
  // Set from the start of an eviction until reclaim has scanned the VM:
  // no resume in between (it would make the VM busy again under reclaim).
  std::atomic<bool> evict_hold{false};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> last_progress_ns{0};
  std::mutex resume_lock;
  std::thread thread;
};

namespace {

class UserqHooks : public ExecHooks {
 public:
  explicit UserqHooks(UserQueue& q) : q_(q) {}
  int seqno(SimVm& vm, uint64_t s) override {
    if (q_.seqno_va >= vm.va_size() || vm.va_size() - q_.seqno_va < 8) return -EFAULT;
    std::memcpy(vm.gpu_view(0) + q_.seqno_va, &s, 8);  // may fault: the executor handles it
    q_.complete(s);
    return 0;
  }
  bool preempt_requested() override {
    return q_.preempt_req.load(std::memory_order_acquire) ||
           q_.stop.load(std::memory_order_acquire);
  }
  bool timed_out() override {
    return monotonic_ns() - q_.last_progress_ns.load(std::memory_order_relaxed) > timeout_ns();
  }

 private:
  UserQueue& q_;
};

}  // namespace

void UserQueue::signal_pending_locked(bool all, int status) {
  unsigned i = 0;
  while (i < npending) {
    if (all || pending[i].seqno <= completed) {
      FencePtr f = std::move(pending[i].fence);
      pending[i] = std::move(pending[--npending]);
      dep_remove_node(dep_fence(f.get()));
      f->signal(all ? status : 0);
    } else {
      i++;
    }
  }
}

void UserQueue::complete(uint64_t s) {
  last_progress_ns.store(monotonic_ns(), std::memory_order_relaxed);
  std::lock_guard<std::mutex> g(m);
  if (s > completed) completed = s;
  signal_pending_locked(false, 0);
}

void UserQueue::kill(uint32_t flags, int status) {
  {
    std::lock_guard<std::mutex> g(m);
    if (state == State::Dead) return;
  }
  // The group is marked before any fence signals: a waiter that saw the
  // error finds the group's state already set (as for kernel queues).
  if (flags & WSYS_USERQ_STATE_TIMEDOUT) group->mark_timedout();
  else if (flags & WSYS_USERQ_STATE_FAULTED) group->mark_fatal();
  std::shared_ptr<ReclaimBusy> b;  // a dead queue keeps nothing busy
  {
    std::lock_guard<std::mutex> g(m);
    if (state == State::Dead) return;
    state = State::Dead;
    dead_flags |= flags;
    dead_status = status;
    signal_pending_locked(true, status);
    b.swap(busy);
    cv.notify_all();
  }
  b.reset();
  g_stats.kills.fetch_add(1, std::memory_order_relaxed);
}

int UserQueue::start() {
  last_progress_ns.store(monotonic_ns());
  try {
    thread = std::thread([this] { run(); });
  } catch (const std::system_error&) {
    return -ENOMEM;
  }
  return 0;
}

void UserQueue::destroy() {
  stop.store(true, std::memory_order_release);
  wake(db());
  if (thread.joinable()) thread.join();
  std::shared_ptr<ReclaimBusy> b;
  {
    std::lock_guard<std::mutex> g(m);
    if (state != State::Dead) {
      state = State::Dead;
      dead_status = -ECANCELED;
    }
    signal_pending_locked(true, -ECANCELED);
    b.swap(busy);
    cv.notify_all();
  }
  b.reset();
  doorbell_free(static_cast<unsigned>(db_index));
}

int UserQueue::resume(bool from_executor) {
  std::lock_guard<std::mutex> rl(resume_lock);
  {
    std::lock_guard<std::mutex> g(m);
    if (state == State::Dead) return dead_status ? dead_status : -EINVAL;
    if (state == State::Running) return 0;
    if (preempt_req.load() || evict_hold.load()) return -EAGAIN;  // an eviction is going on
  }
  std::shared_ptr<ReclaimBusy> b;
  if (PanthorReclaim* rc = file->device()->shrinker().reclaimer(); rc && reclaim_vm) {
    int err = 0;
    b = rc->before_submit(reclaim_vm, *vm, 1, &err);  // revalidates the VM's memory
    if (!b) return err ? err : -ENOMEM;
  }
  std::lock_guard<std::mutex> g(m);
  if (state != State::Suspended) return state == State::Dead ? -ECANCELED : 0;
  state = State::Running;
  evicting = false;
  resume_pending = false;
  busy = std::move(b);
  last_progress_ns.store(monotonic_ns());
  g_stats.resumes.fetch_add(1, std::memory_order_relaxed);
  cv.notify_all();
  if (!from_executor) wake(db());
  return 0;
}

void UserQueue::run() {
  DepContext ctx(dep_queue(this));
  Doorbell& d = db();
  const uint64_t mask = ring_size - 1;
  uint64_t last_wptr = 0;
  bool idle = true;
  for (;;) {
    const uint32_t seen = d.bell.load(std::memory_order_acquire);
    if (stop.load(std::memory_order_acquire)) break;
    bool suspended_now = false;
    State st;
    {
      std::unique_lock<std::mutex> lk(m);
      if (state == State::Running && preempt_req.load(std::memory_order_acquire)) {
        // A command boundary: suspend. The VM loses this queue's mark.
        state = State::Suspended;
        suspensions++;
        busy.reset();  // the VM is idle for this queue before the evictor hears it
        suspended_now = true;
        rings_at_suspend = d.rings.load(std::memory_order_acquire);
        resume_pending = rptr != last_wptr;
        preempt_req.store(false, std::memory_order_release);
        g_stats.suspensions.fetch_add(1, std::memory_order_relaxed);
        cv.notify_all();
      }
      st = state;
    }
    if (suspended_now) {
      if (!d.armed.load()) arm(d);  // the next ring resumes
      // Work pushed between the last look and the arming rang no trap.
      uint64_t w = 0;
      if (gpu_read(*vm, wptr_va, &w, 8) == 0) {
        std::lock_guard<std::mutex> g(m);
        if (w != rptr) resume_pending = true;
      }
      continue;
    }
    if (st == State::Dead) {
      wait_bell(d, seen, 100'000'000);
      continue;
    }
    if (st == State::Suspended) {
      bool want;
      {
        std::lock_guard<std::mutex> g(m);
        want = resume_pending || d.rings.load() != rings_at_suspend;
      }
      if (want && !preempt_req.load() && !evict_hold.load()) {
        int r = resume(true);
        if (r == 0) {
          idle = true;
          continue;
        }
      }
      if (!d.armed.load()) arm(d);
      wait_bell(d, seen, want ? 5'000'000 : 100'000'000);  // retry a failed resume
      continue;
    }
    // Running. Its group may have died meanwhile (another queue's fault).
    if (!group->can_run()) {
      kill(0, -ECANCELED);
      continue;
    }
    uint64_t wptr = 0;
    if (gpu_read(*vm, wptr_va, &wptr, 8) != 0) {
      kill(WSYS_USERQ_STATE_FAULTED, -EFAULT);
      continue;
    }
    last_wptr = wptr;
    uint64_t r0;
    {
      std::lock_guard<std::mutex> g(m);
      r0 = rptr;
    }
    if (wptr == r0) {
      idle = true;
      if (!d.armed.load(std::memory_order_acquire)) {
        arm(d);
        continue;  // look at *wptr again now that a ring would trap
      }
      wait_bell(d, seen, 100'000'000);
      continue;
    }
    if (d.armed.load(std::memory_order_acquire)) disarm(d);  // rings are plain stores now
    if (wptr < r0 || wptr - r0 > ring_size || (wptr - r0) % 8) {
      kill(WSYS_USERQ_STATE_FAULTED, -EINVAL);  // a write pointer that cannot be
      continue;
    }
    if (idle) last_progress_ns.store(monotonic_ns(), std::memory_order_relaxed);
    idle = false;
    const uint64_t off = r0 & mask;
    const uint64_t run_bytes = std::min<uint64_t>(wptr - r0, ring_size - off);
    const uint64_t start_va = ring_va + off;
    uint64_t stopped = start_va;
    ExecOptions opts;
    opts.cancel = &stop;
    opts.stopped_va = &stopped;
    UserqHooks hooks(*this);
    g_stats.batches.fetch_add(1, std::memory_order_relaxed);
    int r;
    {
      SignallingSection section;
      r = execute_stream(*vm, start_va, run_bytes, &hooks, opts);
      uint64_t consumed = stopped >= start_va ? stopped - start_va : 0;
      if (r == 0 && consumed < run_bytes) consumed += 8;  // END is skipped in a ring
      uint64_t nr;
      {
        std::lock_guard<std::mutex> g(m);
        rptr += consumed;
        nr = rptr;
      }
      int w = gpu_write(*vm, rptr_va, &nr, 8);
      if (r == -ETIMEDOUT) kill(WSYS_USERQ_STATE_TIMEDOUT, -ETIMEDOUT);
      else if (r < 0 && r != -ECANCELED) kill(WSYS_USERQ_STATE_FAULTED, r);
      else if (w) kill(WSYS_USERQ_STATE_FAULTED, w);
    }
  }
}

// ------------------------------------------------------------- UserqVm

// The VM's eviction fence: ReclaimPreempt for the shrinker.
class UserqVm final : public ReclaimPreempt {
 public:
  bool preempt_for_reclaim() override;
  void reclaim_done() override;
  std::mutex lock;
  std::vector<std::weak_ptr<UserQueue>> queues;  // guarded by lock
};

namespace {

void undo_eviction(const std::vector<std::shared_ptr<UserQueue>>& qs) {
  for (const auto& q : qs) {
    std::lock_guard<std::mutex> g(q->m);
    q->preempt_req.store(false);
    q->evict_hold.store(false);
    if (q->state == UserQueue::State::Running) q->evicting = false;
  }
  g_stats.eviction_refusals.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

bool UserqVm::preempt_for_reclaim() {
  std::vector<std::shared_ptr<UserQueue>> qs;
  std::vector<FencePtr> fences;
  {
    std::lock_guard<std::mutex> g(lock);
    for (const auto& w : queues)
      if (auto q = w.lock()) qs.push_back(std::move(q));
  }
  // 1. No new submission fences from here; collect the ones that exist.
  for (const auto& q : qs) {
    std::lock_guard<std::mutex> g(q->m);
    q->evict_hold.store(true);
    if (q->state != UserQueue::State::Running) continue;
    q->evicting = true;
    for (unsigned i = 0; i < q->npending; i++) fences.push_back(q->pending[i].fence);
  }
  // 2. Wait for them (the eviction waits). A wait that would close a cycle
  //    is not taken: the VM is left alone.
  const uint64_t me = dep_current() ? dep_current() : dep_node(DepKind::File, &qs);
  const int64_t deadline = monotonic_ns() + 2 * timeout_ns() + 1'000'000'000;
  for (const FencePtr& f : fences) {
    if (!dep_add(me, dep_fence(f.get()), "eviction wait")) {
      undo_eviction(qs);
      return false;
    }
    bool ok = f->wait(deadline);
    dep_remove(me, dep_fence(f.get()));
    if (!ok) {
      undo_eviction(qs);
      return false;
    }
  }
  // 3. Stop the queues at a command boundary.
  auto evict = std::make_shared<Fence>();  // the eviction fence
  for (const auto& q : qs) {
    q->preempt_req.store(true, std::memory_order_release);
    wake(q->db());
  }
  for (const auto& q : qs) {
    std::unique_lock<std::mutex> lk(q->m);
    while (q->state == UserQueue::State::Running) {
      if (monotonic_ns() >= deadline) {
        lk.unlock();
        undo_eviction(qs);
        return false;
      }
      q->cv.wait_for(lk, std::chrono::milliseconds(5));
    }
  }
  evict->signal(0);
  g_stats.eviction_fences.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void UserqVm::reclaim_done() {
  std::vector<std::shared_ptr<UserQueue>> qs;
  {
    std::lock_guard<std::mutex> g(lock);
    for (const auto& w : queues)
      if (auto q = w.lock()) qs.push_back(std::move(q));
  }
  for (const auto& q : qs) {
    q->evict_hold.store(false);
    wake(q->db());  // work left in the ring resumes now
  }
}

// ------------------------------------------------------------ UserqFile

class UserqFile {
 public:
  ~UserqFile() { userq_file_close(*this); }
  std::mutex lock;
  std::array<std::shared_ptr<UserQueue>, WSYS_USERQ_MAX_PER_FILE + 1> queues;
  std::map<const SimVm*, std::shared_ptr<UserqVm>> vms;

  std::shared_ptr<UserQueue> lookup(uint32_t h) {
    std::lock_guard<std::mutex> g(lock);
    if (h == 0 || h > WSYS_USERQ_MAX_PER_FILE) return nullptr;
    return queues[h];
  }
  // Takes the queue out of the table (and out of its VM's list).
  std::shared_ptr<UserQueue> remove(uint32_t h) {
    std::lock_guard<std::mutex> g(lock);
    if (h == 0 || h > WSYS_USERQ_MAX_PER_FILE) return nullptr;
    std::shared_ptr<UserQueue> q;
    q.swap(queues[h]);
    if (q) {
      auto it = vms.find(q->vm.get());
      if (it != vms.end()) {
        std::lock_guard<std::mutex> vg(it->second->lock);
        auto& v = it->second->queues;
        v.erase(std::remove_if(v.begin(), v.end(),
                               [&](const std::weak_ptr<UserQueue>& w) {
                                 auto s = w.lock();
                                 return !s || s == q;
                               }),
                v.end());
        if (v.empty()) vms.erase(it);
      }
    }
    return q;
  }
};

std::shared_ptr<UserqFile> make_userq_file() { return std::make_shared<UserqFile>(); }

void userq_file_close(UserqFile& uf) {
  for (uint32_t h = 1; h <= WSYS_USERQ_MAX_PER_FILE; h++)
    if (auto q = uf.remove(h)) q->destroy();
}

void userq_group_destroyed(UserqFile& uf, const PanthorGroup* group) {
  for (uint32_t h = 1; h <= WSYS_USERQ_MAX_PER_FILE; h++) {
    auto q = uf.lookup(h);
    if (q && q->group.get() == group) {
      uf.remove(h);
      q->destroy();
    }
  }
}

// ------------------------------------------------------------- ioctls

bool userq_supported(const SimDevice& dev) {
  static const bool env_on = [] {
    const char* v = std::getenv("WSYS_SIM_USERQ");
    return !(v && v[0] == '0');
  }();
  return env_on && dev.is_panthor() && dev.at_least(kPanthorUserMmioOffset);
}

namespace {

UserqFile* userq_of(SimFile& f) {
  PanthorFilePriv* p = panthor_priv(f);
  return p ? p->userq() : nullptr;
}

bool mapped(SimVm& vm, uint64_t va, uint64_t size) {
  while (size) {
    uint64_t start = 0;
    SimMapping m;
    if (!vm.find_mapping(va, &start, &m)) return false;
    uint64_t avail = start + m.size - va;
    if (avail >= size) return true;
    va += avail;
    size -= avail;
  }
  return true;
}

}  // namespace

int ioctl_wsys_sim_ext_query(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_sim_ext_query*>(data);
  a->version = 1;
  a->features = (userq_supported(*f.device()) ? WSYS_SIM_EXT_FEATURE_USER_QUEUES : 0u) |
                (host_import_supported(*f.device()) ? WSYS_SIM_EXT_FEATURE_HOST_IMPORT : 0u) |
                (deferred_alloc_supported() ? WSYS_SIM_EXT_FEATURE_DEFERRED_ALLOC : 0u);
  return 0;
}

int ioctl_wsys_userq_create(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_userq_create*>(data);
  UserqFile* uf = userq_of(f);
  if (!uf) return -EINVAL;
  if (a->flags || a->pad || a->pad2) return -EINVAL;
  if (a->ring_size < WSYS_USERQ_RING_MIN_SIZE || a->ring_size > WSYS_USERQ_RING_MAX_SIZE ||
      (a->ring_size & (a->ring_size - 1)))
    return -EINVAL;
  if ((a->ring_va & 63) || (a->rptr_va & 7) || (a->wptr_va & 7) || (a->seqno_va & 7))
    return -EINVAL;
  PanthorGroupPtr group = panthor_priv(f)->lookup_group(a->group_handle);
  if (!group) return -ENOENT;
  if (!group->can_run()) return -EINVAL;
  SimVm& vm = *group->vm();
  if (vm.destroyed()) return -EINVAL;
  // Everything the queue uses must be mapped now (it may be unmapped later:
  // then the queue faults, as a GPU would).
  if (!mapped(vm, a->ring_va, a->ring_size) || !mapped(vm, a->rptr_va, 8) ||
      !mapped(vm, a->wptr_va, 8) || !mapped(vm, a->seqno_va, 8))
    return -EFAULT;
  try {
    int db = doorbell_alloc();
    if (db < 0) return db;
    g_doorbells[db].file.store(&f);
    auto q = std::make_shared<UserQueue>(&f, group, *a, db);
    // Start pointers: what user memory says (a queue may be re-created on
    // a ring that was in use); the model's copy follows it from here.
    uint64_t w = 0, s = 0;
    if (gpu_read(vm, a->wptr_va, &w, 8) || gpu_read(vm, a->seqno_va, &s, 8)) {
      doorbell_free(static_cast<unsigned>(db));
      return -EFAULT;
    }
    q->rptr = w;  // nothing before the current write pointer is ours to run
    q->completed = s;
    if (gpu_write(vm, a->rptr_va, &w, 8)) {
      doorbell_free(static_cast<unsigned>(db));
      return -EFAULT;
    }
    // The queue counts as a job in flight on the VM while it runs; anything
    // swapped out comes back first.
    if (PanthorReclaim* rc = f.device()->shrinker().reclaimer(); rc && q->reclaim_vm) {
      int err = 0;
      q->busy = rc->before_submit(q->reclaim_vm, vm, 1, &err);
      if (!q->busy) {
        doorbell_free(static_cast<unsigned>(db));
        return err ? err : -ENOMEM;
      }
    }
    std::shared_ptr<UserqVm> uvm;
    {
      std::lock_guard<std::mutex> g(uf->lock);
      uint32_t h = 0;
      for (uint32_t i = 1; i <= WSYS_USERQ_MAX_PER_FILE && !h; i++)
        if (!uf->queues[i]) h = i;
      if (!h) {
        q->busy.reset();
        doorbell_free(static_cast<unsigned>(db));
        return -EBUSY;
      }
      auto& slot = uf->vms[&vm];
      if (!slot) slot = std::make_shared<UserqVm>();
      uvm = slot;
      {
        std::lock_guard<std::mutex> vg(uvm->lock);
        uvm->queues.push_back(q);
      }
      q->handle = h;
      q->uvm = uvm;
      uf->queues[h] = q;
    }
    if (PanthorReclaim* rc = f.device()->shrinker().reclaimer(); rc && q->reclaim_vm)
      rc->set_preempt(q->reclaim_vm, uvm);
    int r = q->start();
    if (r) {
      uf->remove(q->handle);
      q->destroy();
      return r;
    }
    a->handle = q->handle;
    a->doorbell_offset = WSYS_USERQ_DOORBELL_OFFSET_BASE +
                         static_cast<uint64_t>(db) * WSYS_USERQ_DOORBELL_SIZE;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

int ioctl_wsys_userq_destroy(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_userq_destroy*>(data);
  if (a->pad) return -EINVAL;
  UserqFile* uf = userq_of(f);
  if (!uf) return -EINVAL;
  auto q = uf->remove(a->handle);
  if (!q) return -ENOENT;
  q->destroy();
  return 0;
}

int ioctl_wsys_userq_signal(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_userq_signal*>(data);
  UserqFile* uf = userq_of(f);
  if (!uf) return -EINVAL;
  auto q = uf->lookup(a->handle);
  if (!q) return -ENOENT;
  SyncobjPtr obj = f.lookup_syncobj(a->syncobj);
  if (!obj) return -ENOENT;
  FencePtr fence;
  try {
    fence = std::make_shared<Fence>();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  fence->seqno = a->seqno;
  const uint64_t mask = q->ring_size - 1;
  bool future = false;
  for (int attempt = 0;; attempt++) {
    uint64_t r0;
    {
      std::lock_guard<std::mutex> g(q->m);
      if (q->evicting || q->state == UserQueue::State::Suspended) return -EAGAIN;
      if (a->seqno <= q->completed) {
        fence->signal(0);
        break;
      }
      r0 = q->rptr;
    }
    // Is a SEQNO >= seqno in the ring between rptr and *wptr (pushed)?
    uint64_t w = 0;
    if (gpu_read(*q->vm, q->wptr_va, &w, 8)) return -EFAULT;
    uint64_t found = ~0ull;
    if (w >= r0 && w - r0 <= q->ring_size) {
      for (uint64_t pos = r0; pos < w;) {
        SimCmdHeader h;
        if (gpu_read(*q->vm, q->ring_va + (pos & mask), &h, sizeof h)) return -EFAULT;
        if (h.opcode == kCmdEnd) h.size = 8;
        if (h.size < 8 || h.size % 8 || h.size > w - pos) break;
        if (h.opcode == kCmdSeqno && h.size >= sizeof(SimCmdSeqno)) {
          SimCmdSeqno c;
          if (gpu_read(*q->vm, q->ring_va + (pos & mask), &c, sizeof c)) return -EFAULT;
          if (c.seqno >= a->seqno) {
            found = pos;
            break;
          }
        }
        pos += h.size;
      }
    }
    std::lock_guard<std::mutex> g(q->m);
    if (q->evicting || q->state == UserQueue::State::Suspended) return -EAGAIN;
    if (a->seqno <= q->completed) {
      fence->signal(0);
      break;
    }
    if (q->state == UserQueue::State::Dead) {
      if (found == ~0ull) return -EINVAL;
      fence->signal(q->dead_status ? q->dead_status : -ECANCELED);  // pushed, never run
      break;
    }
    if (found == ~0ull) {
      if (!g_allow_future.load()) return -EINVAL;  // never a future fence
      future = true;
    } else if (q->rptr > found) {
      // Executed meanwhile but the seqno there was not it: the slot was
      // reused under the scan. Look again.
      if (attempt < 3) continue;
      return -EAGAIN;
    }
    if (q->npending == kUserqMaxPendingFences) return -ENOSPC;
    q->pending[q->npending++] = UserQueue::Pending{a->seqno, fence};
    // Who signals it: the queue's executor (or, for a future fence, the
    // user space that still has to push the work).
    dep_add(dep_fence(fence.get()), future ? dep_file(&f) : dep_queue(q.get()),
            future ? "signalled once user space pushes" : "signalled by queue");
    break;
  }
  try {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    if (a->point) obj->add_point_locked(fence, a->point);
    else obj->replace_locked(fence);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

int ioctl_wsys_userq_resume(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_userq_resume*>(data);
  if (a->pad) return -EINVAL;
  UserqFile* uf = userq_of(f);
  if (!uf) return -EINVAL;
  auto q = uf->lookup(a->handle);
  if (!q) return -ENOENT;
  return q->resume(false);
}

int ioctl_wsys_userq_get_state(SimFile& f, void* data) {
  auto* a = static_cast<drm_wsys_userq_get_state*>(data);
  UserqFile* uf = userq_of(f);
  if (!uf) return -EINVAL;
  auto q = uf->lookup(a->handle);
  if (!q) return -ENOENT;
  std::lock_guard<std::mutex> g(q->m);
  uint32_t s = q->dead_flags;
  if (q->state == UserQueue::State::Suspended) s |= WSYS_USERQ_STATE_SUSPENDED;
  if (q->evicting) s |= WSYS_USERQ_STATE_EVICTING;
  a->state = s;
  a->completed_seqno = q->completed;
  a->rptr = q->rptr;
  a->suspensions = q->suspensions;
  return 0;
}

// ------------------------------------------------------------- doorbell mmap

bool userq_is_doorbell_offset(uint64_t offset) {
  return offset >= WSYS_USERQ_DOORBELL_OFFSET_BASE &&
         offset < WSYS_USERQ_DOORBELL_OFFSET_BASE +
                      uint64_t{kUserqMaxDoorbells} * WSYS_USERQ_DOORBELL_SIZE;
}

int userq_doorbell_mmap(SimFile& f, void* addr, size_t length, int prot, int flags,
                        uint64_t offset, void** out) {
  const uint64_t rel = offset - WSYS_USERQ_DOORBELL_OFFSET_BASE;
  if (rel % WSYS_USERQ_DOORBELL_SIZE) return -EINVAL;
  Doorbell& d = g_doorbells[rel / WSYS_USERQ_DOORBELL_SIZE];
  if (d.live.load(std::memory_order_acquire) != 1) return -EINVAL;
  if (d.file.load() != &f) return -EACCES;
  if (length == 0 || length > WSYS_USERQ_DOORBELL_SIZE) return -EINVAL;
  if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
    return -EINVAL;
  unsigned slot = kMapsPerDoorbell;
  for (unsigned m = 0; m < kMapsPerDoorbell && slot == kMapsPerDoorbell; m++) {
    size_t exp = 0;
    if (d.map_len[m].compare_exchange_strong(exp, 1)) slot = m;  // reserved
  }
  if (slot == kMapsPerDoorbell) return -EBUSY;
  void* p = ::mmap(addr, WSYS_USERQ_DOORBELL_SIZE, prot, flags, d.memfd.load(), 0);
  if (p == MAP_FAILED) {
    int e = errno;
    d.map_len[slot].store(0);
    return -e;
  }
  d.map_addr[slot].store(reinterpret_cast<uintptr_t>(p), std::memory_order_release);
  d.map_len[slot].store(WSYS_USERQ_DOORBELL_SIZE, std::memory_order_release);
  *out = p;
  return 0;
}

void userq_doorbell_munmap(void* addr, size_t length) {
  if (g_live_doorbells.load() == 0) return;
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  for (Doorbell& d : g_doorbells) {
    if (d.live.load() == 0) continue;
    for (unsigned m = 0; m < kMapsPerDoorbell; m++) {
      uintptr_t ma = d.map_addr[m].load();
      if (ma && ma >= a && ma < a + length) {
        d.map_addr[m].store(0);
        d.map_len[m].store(0);
      }
    }
  }
}

bool userq_doorbell_fault(const void* addr) {
  if (g_live_doorbells.load(std::memory_order_acquire) == 0) return false;
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  for (Doorbell& d : g_doorbells) {
    if (d.live.load(std::memory_order_acquire) != 1) continue;
    for (unsigned m = 0; m < kMapsPerDoorbell; m++) {
      const uintptr_t ma = d.map_addr[m].load(std::memory_order_acquire);
      if (!ma || a < ma || a - ma >= WSYS_USERQ_DOORBELL_SIZE) continue;
      const int saved = errno;
      (void)ftruncate(d.memfd.load(), WSYS_USERQ_DOORBELL_SIZE);  // the store retries
      d.armed.store(0, std::memory_order_release);
      d.rings.fetch_add(1, std::memory_order_acq_rel);
      g_stats.doorbell_faults.fetch_add(1, std::memory_order_relaxed);
      wake(d);
      errno = saved;
      return true;
    }
  }
  return false;
}

void userq_set_allow_future_fences(bool allow) { g_allow_future.store(allow); }

UserqStats userq_stats() {
  UserqStats s;
  s.doorbell_faults = g_stats.doorbell_faults.load();
  s.batches = g_stats.batches.load();
  s.suspensions = g_stats.suspensions.load();
  s.resumes = g_stats.resumes.load();
  s.kills = g_stats.kills.load();
  s.eviction_fences = g_stats.eviction_fences.load();
  s.eviction_refusals = g_stats.eviction_refusals.load();
  return s;
}

}  // namespace wsys::sim
