#include "winsys/sim/fence.h"

#include <chrono>
#include <new>

#include "winsys/sim/dep_check.h"
#include "winsys/sim/signalling.h"

namespace wsys::sim {

namespace {

// The longest single condition-variable sleep. Absolute deadlines far in
// the future (a timeout of INT64_MAX means "forever" to the kernel) would
// overflow steady_clock arithmetic inside wait_for; sleeping in bounded
// slices and re-checking keeps the deadline exact without that.
constexpr int64_t kMaxSliceNs = 3600LL * 1000000000LL;

class WeakWatcher final : public FenceWatcher {
 public:
  explicit WeakWatcher(std::weak_ptr<FenceWatcher> t) : target_(std::move(t)) {}
  void fence_signalled_locked(Fence& f) override {
    if (std::shared_ptr<FenceWatcher> t = target_.lock()) t->fence_signalled_locked(f);
  }

 private:
  std::weak_ptr<FenceWatcher> target_;
};

// Shared by every input of one merged fence: counts the inputs down and
// signals the merged fence (if anyone still holds it) with the first error.
class MergeCountdown final : public FenceWatcher {
 public:
  MergeCountdown(std::weak_ptr<Fence> target, size_t pending, int error)
      : target_(std::move(target)), pending_(pending), error_(error) {}
  void fence_signalled_locked(Fence& f) override {
    if (error_ == 0 && f.status() < 0) error_ = f.status();
    if (pending_ == 0 || --pending_ != 0) return;
    if (FencePtr t = target_.lock()) t->signal_locked(error_);
  }

 private:
  std::weak_ptr<Fence> target_;
  size_t pending_;  // guarded by the SyncState lock, like every watcher call
  int error_;
};

}  // namespace

SyncState& SyncState::get() {
  // Never destroyed (workers may outlive statics), and built in static
  // storage rather than with operator new: the first use may well be a
  // fence signalled inside a signalling section.
  alignas(SyncState) static unsigned char storage[sizeof(SyncState)];
  static SyncState* s = ::new (static_cast<void*>(storage)) SyncState();
  return *s;
}

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

bool SyncState::wait_until(std::unique_lock<std::mutex>& lk, int64_t deadline_ns,
                           const std::function<bool()>& pred) {
  if (pred()) return true;
  note_if_signalling(ViolationKind::Wait, "a fence wait");
  while (!pred()) {
    if (deadline_ns < 0) {
      cv_.wait(lk);
      continue;
    }
    int64_t now = monotonic_ns();
    if (now >= deadline_ns) return pred();
    // steady_clock is CLOCK_MONOTONIC on Linux/libstdc++, so relative waits
    // computed from monotonic_ns() keep the absolute deadline exact.
    int64_t slice = deadline_ns - now;
    if (slice > kMaxSliceNs) slice = kMaxSliceNs;
    cv_.wait_for(lk, std::chrono::nanoseconds(slice));
  }
  return true;
}

std::shared_ptr<FenceWatcher> make_weak_watcher(std::weak_ptr<FenceWatcher> target) {
  return std::make_shared<WeakWatcher>(std::move(target));
}

std::shared_ptr<Fence> Fence::signalled(int status) {
  auto f = std::make_shared<Fence>();
  f->status_.store(status, std::memory_order_relaxed);
  f->signalled_.store(true, std::memory_order_release);
  return f;
}

const std::shared_ptr<Fence>& Fence::stub() {
  static const std::shared_ptr<Fence>* s = new std::shared_ptr<Fence>(Fence::signalled());
  return *s;
}

void Fence::signal(int status) {
  SyncState& s = SyncState::get();
  std::lock_guard<std::mutex> g(s.lock());
  signal_locked(status);
}

void Fence::signal_locked(int status) {
  if (signalled_.load(std::memory_order_relaxed)) return;
  status_.store(status, std::memory_order_release);
  signalled_.store(true, std::memory_order_release);
  // Watchers were allocated when they registered; calling them and
  // dropping them allocates nothing (moving the vector out steals its
  // buffer). A merged fence's countdown signals that fence from here (one
  // level deep: merged fences only wait on plain fences).
  std::vector<std::shared_ptr<FenceWatcher>> watchers = std::move(watchers_);
  for (const std::shared_ptr<FenceWatcher>& w : watchers) w->fence_signalled_locked(*this);
  SyncState::get().changed_locked();
  // A watcher may hold the only reference to this fence (an eventfd entry
  // holds its fence, as the kernel's does): dropping the watchers may
  // destroy *this, so nothing below may touch a member.
}

bool Fence::wait(int64_t deadline_ns) {
  if (is_signalled()) return true;
  // A wait inside a signalling section is a violation already (counted in
  // wait_until); the dependency checker also sees what it waits for.
  const uint64_t me = in_signalling_section() ? dep_current() : 0;
  if (me) dep_add(me, dep_fence(this), "wait in a signalling section");
  SyncState& s = SyncState::get();
  std::unique_lock<std::mutex> lk(s.lock());
  bool ok = s.wait_until(lk, deadline_ns, [this] { return is_signalled(); });
  lk.unlock();
  if (me) dep_remove(me, dep_fence(this));
  return ok;
}

bool Fence::add_watcher_locked(std::shared_ptr<FenceWatcher> w) {
  if (is_signalled()) return false;
  watchers_.push_back(std::move(w));
  return true;
}

std::shared_ptr<Fence> Fence::merge_locked(const std::vector<std::shared_ptr<Fence>>& fences) {
  // Flatten to plain fences, remember the first error among those already
  // signalled, keep the unsignalled ones.
  std::vector<FencePtr> pending;
  FencePtr first_error, last;
  auto visit = [&](const FencePtr& f) {
    last = f;
    if (!f->is_signalled()) {
      pending.push_back(f);
    } else if (!first_error && f->status() < 0) {
      first_error = f;
    }
  };
  for (const FencePtr& f : fences) {
    if (!f) continue;
    if (!f->merged_from_.empty() && !f->is_signalled()) {
      for (const FencePtr& leaf : f->merged_from_) visit(leaf);
    } else {
      visit(f);
    }
  }
  if (pending.empty()) {
    if (first_error) return first_error;
    return last ? last : stub();
  }
  if (pending.size() == 1 && !first_error) return pending[0];

  auto merged = std::make_shared<Fence>();
  int error = first_error ? first_error->status() : 0;
  auto countdown = std::make_shared<MergeCountdown>(merged, pending.size(), error);
  for (const FencePtr& f : pending) f->watchers_.push_back(countdown);
  merged->merged_from_ = std::move(pending);
  if (first_error) merged->merged_from_.push_back(first_error);
  return merged;
}

}  // namespace wsys::sim
