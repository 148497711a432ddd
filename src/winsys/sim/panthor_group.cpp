// panthor groups, queues and per-file state of the model: see panthor_group.h.
#include "winsys/sim/panthor_group.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include "winsys/sim/executor.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/userq.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

std::atomic<int> g_sys_nice_override{-1};

// Reads [va, va + n) of GPU memory, only where the VM maps it (the
// preparation step runs outside the executor's fault handling, so it
// must never touch an unmapped page). False if any byte is unmapped.
bool read_mapped(SimVm& vm, uint64_t va, void* dst, size_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  while (n) {
    uint64_t start = 0;
    SimMapping m;
    if (!vm.find_mapping(va, &start, &m)) return false;
    uint64_t avail = start + m.size - va;
    size_t take = static_cast<size_t>(std::min<uint64_t>(avail, n));
    const uint8_t* src = vm.gpu_view(va);
    if (!src) return false;
    std::memcpy(out, src, take);
    out += take;
    va += take;
    n -= take;
  }
  return true;
}

// The hooks of one job: TILER/FRAGMENT go to the heaps the job pinned;
// cancellation (group destroy) ends the stream. No allocation anywhere.
class JobHooks : public ExecHooks {
 public:
  JobHooks(PanthorJob& job, const std::atomic<bool>& cancel) : job_(job), cancel_(cancel) {}
  int tiler(SimVm& vm, const SimCmdTiler& cmd, uint32_t* stored) override {
    TilerHeap* h = find(cmd.heap_va);
    if (!h) return -EINVAL;  // not a heap context of this VM
    return h->tiler(vm, cmd, stored);
  }
  int fragment(SimVm& vm, const SimCmdFragment& cmd) override {
    TilerHeap* h = find(cmd.heap_va);
    if (!h) return -EINVAL;
    return h->fragment(vm, cmd);
  }
  bool timed_out() override { return cancel_.load(std::memory_order_acquire); }

 private:
  TilerHeap* find(uint64_t ctx_va) {
    for (auto& h : job_.heaps)
      if (h->ctx_va() == ctx_va) return h.get();
    return nullptr;
  }
  PanthorJob& job_;
  const std::atomic<bool>& cancel_;
};

}  // namespace

bool panthor_capable_sys_nice() {
  int o = g_sys_nice_override.load();
  if (o >= 0) return o != 0;
  __user_cap_header_struct hdr{};
  __user_cap_data_struct data[2]{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[CAP_SYS_NICE / 32].effective & (1u << (CAP_SYS_NICE % 32))) != 0;
}

void panthor_set_sys_nice_override(int override) { g_sys_nice_override.store(override); }

// ------------------------------------------------------------ PanthorGroup

struct PanthorGroup::Queue {
  QueueParams params;
  std::mutex m;
  std::condition_variable cv;
  std::deque<PanthorJobPtr> jobs;
  bool stop = false;
  std::thread thread;
};

PanthorGroup::PanthorGroup(PanthorFilePriv* priv, SimDevice* dev, std::shared_ptr<SimVm> vm,
                           uint32_t vm_id, const std::vector<QueueParams>& queues,
                           uint8_t priority)
    : priv_(priv), dev_(dev), vm_(std::move(vm)), vm_id_(vm_id), priority_(priority) {
  if (PanthorReclaim* rc = dev_->shrinker().reclaimer()) reclaim_vm_ = rc->vm_state(vm_);
  for (const QueueParams& p : queues) {
    queues_.push_back(std::make_unique<Queue>());
    queues_.back()->params = p;
  }
}

PanthorGroup::~PanthorGroup() { destroy(); }

int PanthorGroup::start() {
  for (uint32_t i = 0; i < queues_.size(); i++) {
    Queue& q = *queues_[i];
    try {
      q.thread = std::thread([this, &q, i] { worker(q, i); });
    } catch (const std::system_error&) {
      return -ENOMEM;
    } catch (const std::bad_alloc&) {
      return -ENOMEM;
    }
  }
  return 0;
}

void PanthorGroup::destroy() {
  std::lock_guard<std::mutex> dg(destroy_lock_);
  if (destroyed_) return;
  destroyed_ = true;
  cancel_.store(true, std::memory_order_release);
  for (auto& q : queues_) {
    {
      std::lock_guard<std::mutex> g(q->m);
      q->stop = true;
    }
    q->cv.notify_all();
  }
  for (auto& q : queues_)
    if (q->thread.joinable()) q->thread.join();
  // Jobs never picked up (no worker started): cancel them too.
  for (auto& q : queues_) {
    for (auto& j : q->jobs) j->done->signal(-ECANCELED);
    q->jobs.clear();
  }
}

bool PanthorGroup::push(std::vector<PanthorJobPtr>& jobs) {
  // Reserve first so that queuing itself cannot fail half-way.
  for (auto& q : queues_) {
    std::lock_guard<std::mutex> g(q->m);
    if (q->stop) return false;
  }
  for (auto& j : jobs) {
    Queue& q = *queues_[j->queue_index];
    {
      std::lock_guard<std::mutex> g(q.m);
      q.jobs.push_back(std::move(j));
      pending_.fetch_add(1);
    }
    q.cv.notify_all();
  }
  return true;
}

size_t PanthorGroup::pending() const { return pending_.load(); }

void PanthorGroup::worker(Queue& q, uint32_t index) {
  while (true) {
    PanthorJobPtr job;
    {
      std::unique_lock<std::mutex> lk(q.m);
      q.cv.wait(lk, [&] { return q.stop || !q.jobs.empty(); });
      if (q.jobs.empty()) return;  // stopped and drained
      job = std::move(q.jobs.front());
      q.jobs.pop_front();
    }
    run_job(q, index, *job);
    job.reset();  // drops the heap pins and deps, outside any section
    pending_.fetch_sub(1);
  }
}

void PanthorGroup::prepare_heaps(PanthorJob& job) {
  if (!job.stream_size) return;
  std::shared_ptr<TilerHeapPool> pool = priv_->heap_pool(dev_, vm_id_, vm_, /*create=*/false, nullptr);
  if (!pool) return;
  struct Use {
    std::shared_ptr<TilerHeap> heap;
    TilerHeap::Plan plan;
  };
  std::vector<Use> uses;
  auto use_for = [&](uint64_t ctx) -> Use* {
    for (Use& u : uses)
      if (u.heap->ctx_va() == ctx) return &u;
    std::shared_ptr<TilerHeap> h = pool->find_by_ctx(ctx);
    if (!h) return nullptr;
    uses.push_back(Use{h, h->plan_begin()});
    return &uses.back();
  };
  try {
    uint64_t off = 0;
    for (unsigned n = 0; n < (1u << 20) && off + sizeof(SimCmdHeader) <= job.stream_size; n++) {
      SimCmdHeader hdr;
      if (!read_mapped(*vm_, job.stream_va + off, &hdr, sizeof hdr)) break;
      if (hdr.opcode == kCmdEnd || hdr.size < sizeof hdr || hdr.size % 8 ||
          hdr.size > job.stream_size - off)
        break;
      if (hdr.opcode == kCmdTiler && hdr.size >= sizeof(SimCmdTiler)) {
        SimCmdTiler c;
        if (!read_mapped(*vm_, job.stream_va + off, &c, sizeof c)) break;
        if (Use* u = use_for(c.heap_va)) u->heap->plan_tiler(u->plan, c.count, c.prim_size);
      } else if (hdr.opcode == kCmdFragment && hdr.size >= sizeof(SimCmdFragment)) {
        SimCmdFragment c;
        if (!read_mapped(*vm_, job.stream_va + off, &c, sizeof c)) break;
        if (Use* u = use_for(c.heap_va)) u->heap->plan_fragment(u->plan);
      }
      off += hdr.size;
    }
    job.heaps.reserve(uses.size());
    for (Use& u : uses) {
      u.heap->prepare_spares(u.plan.peak);
      job.heaps.push_back(u.heap);
    }
  } catch (const std::bad_alloc&) {
    // Fewer pins or spares: the job sees "no chunk" or -EINVAL, no crash.
  }
}

void PanthorGroup::run_job(Queue& q, uint32_t index, PanthorJob& job) {
  (void)q;
  // 1. Dependencies, outside any section; destroy interrupts the wait.
  for (const FencePtr& d : job.deps) {
    while (!d->is_signalled() && !cancel_.load(std::memory_order_acquire))
      d->wait(monotonic_ns() + 20'000'000);
  }
  if (!can_run()) {
    if (job.vm_busy) job.vm_busy->job_done();
    job.done->signal(-ECANCELED);
    return;
  }
  // 2. Preparation (may allocate).
  prepare_heaps(job);
  ExecOptions opts;
  int64_t tmo = job_timeout_ms();
  if (tmo > 0) opts.deadline_ns = monotonic_ns() + tmo * 1'000'000;
  JobHooks hooks(job, cancel_);
  // 3. The run step: a fence signalling section.
  {
    SignallingSection section;
    int r = 0;
    if (job.stream_size) r = execute_stream(*vm_, job.stream_va, job.stream_size, &hooks, opts);
    if (r == -ETIMEDOUT && cancel_.load(std::memory_order_acquire)) r = -ECANCELED;
    if (r == -ETIMEDOUT) {
      timedout_.store(true);
    } else if (r && r != -ECANCELED) {
      fatal_queues_.fetch_or(1u << index);
      fatal_.store(true);
    }
    // The VM is idle for this job before anyone can see it done.
    if (job.vm_busy) job.vm_busy->job_done();
    job.done->signal(r);
  }
  // 4. Spare chunks not used by the job are freed (outside the section).
  for (auto& h : job.heaps) h->trim_spares(0);
}

// --------------------------------------------------------- PanthorFilePriv

PanthorFilePriv::~PanthorFilePriv() {
  // file_closing() normally ran; be safe if it did not.
  for (auto& g : groups_)
    if (g) g->destroy();
}

UserqFile* PanthorFilePriv::userq() {
  std::lock_guard<std::mutex> g(userq_lock_);
  if (!userq_) userq_ = make_userq_file();
  return userq_.get();
}

void PanthorFilePriv::file_closing(SimFile&) {
  {
    std::lock_guard<std::mutex> g(userq_lock_);
    if (userq_) userq_file_close(*userq_);  // before the groups they run on
  }
  std::array<PanthorGroupPtr, kMaxGroupsPerFile + 1> groups;
  std::map<uint32_t, std::shared_ptr<TilerHeapPool>> pools;
  {
    std::lock_guard<std::mutex> g(lock_);
    groups.swap(groups_);
    pools.swap(pools_);
  }
  for (auto& g : groups)
    if (g) g->destroy();
  for (auto& [id, p] : pools) p->clear();
  // The pools (and their heaps' chunks) go here, while the VMs still exist.
}

uint32_t PanthorFilePriv::add_group(PanthorGroupPtr grp) {
  std::lock_guard<std::mutex> g(lock_);
  for (uint32_t h = 1; h <= kMaxGroupsPerFile; h++) {
    if (!groups_[h]) {
      groups_[h] = std::move(grp);
      return h;
    }
  }
  return 0;
}

PanthorGroupPtr PanthorFilePriv::lookup_group(uint32_t handle) {
  std::lock_guard<std::mutex> g(lock_);
  if (handle == 0 || handle > kMaxGroupsPerFile) return nullptr;
  return groups_[handle];
}

PanthorGroupPtr PanthorFilePriv::remove_group(uint32_t handle) {
  std::lock_guard<std::mutex> g(lock_);
  if (handle == 0 || handle > kMaxGroupsPerFile) return nullptr;
  PanthorGroupPtr out;
  out.swap(groups_[handle]);
  return out;
}

std::shared_ptr<TilerHeapPool> PanthorFilePriv::heap_pool(SimDevice* dev, uint32_t vm_id,
                                                          const std::shared_ptr<SimVm>& vm,
                                                          bool create, int* err) {
  std::shared_ptr<TilerHeapPool> stale;
  std::lock_guard<std::mutex> g(lock_);
  auto it = pools_.find(vm_id);
  if (it != pools_.end()) {
    std::shared_ptr<SimVm> pvm = it->second->vm().lock();
    if (pvm && pvm == vm && !pvm->destroyed()) return it->second;
    stale = std::move(it->second);  // its VM is gone: so is the pool
    pools_.erase(it);
  }
  if (!create || !vm || vm->destroyed()) {
    if (err) *err = -EINVAL;
    return nullptr;
  }
  int e = 0;
  std::shared_ptr<TilerHeapPool> pool = TilerHeapPool::create(dev, vm, &e);
  if (!pool) {
    if (err) *err = e ? e : -ENOMEM;
    return nullptr;
  }
  try {
    pools_[vm_id] = pool;
  } catch (const std::bad_alloc&) {
    if (err) *err = -ENOMEM;
    return nullptr;
  }
  return pool;
}

std::unique_ptr<SimFile::DriverPriv> make_panthor_file_priv() {
  return std::make_unique<PanthorFilePriv>();
}

PanthorFilePriv* panthor_priv(SimFile& f) { return dynamic_cast<PanthorFilePriv*>(f.driver_priv()); }

}  // namespace wsys::sim
