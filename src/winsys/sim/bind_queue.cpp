#include "winsys/sim/bind_queue.h"

#include <cerrno>
#include <system_error>

#include "winsys/sim/signalling.h"

namespace wsys::sim {

int BindQueue::start() {
  std::lock_guard<std::mutex> g(lock_);
  if (stopping_) return -EINVAL;
  if (thread_.joinable()) return 0;
  try {
    thread_ = std::thread([this] { worker(); });
  } catch (const std::system_error& e) {
    return e.code().value() == EAGAIN ? -EAGAIN : -ENOMEM;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

bool BindQueue::push(std::vector<BindJobPtr>& jobs) {
  std::lock_guard<std::mutex> g(lock_);
  if (stopping_) return false;
  for (BindJobPtr& j : jobs) {
    BindJob* job = j.release();
    job->next = nullptr;
    if (tail_) tail_->next = job;
    else head_ = job;
    tail_ = job;
    pending_++;
  }
  cv_.notify_one();
  return true;
}

size_t BindQueue::pending() const {
  std::lock_guard<std::mutex> g(lock_);
  return pending_;
}

void BindQueue::wait_idle() {
  std::unique_lock<std::mutex> lk(lock_);
  idle_cv_.wait(lk, [this] { return pending_ == 0; });
}

void BindQueue::cancel(BindJob* job) {
  job->done->signal(-ESRCH);
  delete job;  // returns the reservation, drops the BO reference
}

bool BindQueue::wait_deps(const BindJob& job) {
  // Fast path: nothing to wait for (fence state is atomic).
  bool ready = true;
  for (const FencePtr& f : job.deps)
    if (!f->is_signalled()) {
      ready = false;
      break;
    }
  if (ready) return !cancel_.load(std::memory_order_acquire);
  SyncState& s = SyncState::get();
  std::unique_lock<std::mutex> lk(s.lock());
  const BindJob* j = &job;
  std::atomic<bool>* cancel = &cancel_;
  s.wait_until(lk, -1, [j, cancel] {
    if (cancel->load(std::memory_order_acquire)) return true;
    for (const FencePtr& f : j->deps)
      if (!f->is_signalled()) return false;
    return true;
  });
  return !cancel_.load(std::memory_order_acquire);
}

void BindQueue::worker() {
  for (;;) {
    BindJob* job;
    {
      std::unique_lock<std::mutex> lk(lock_);
      cv_.wait(lk, [this] { return head_ != nullptr || stopping_; });
      job = head_;
      if (!job) return;  // stopping and drained
      head_ = job->next;
      if (!head_) tail_ = nullptr;
    }
    if (cancel_.load(std::memory_order_acquire) || !wait_deps(*job)) {
      cancel(job);
    } else {
      {
        SignallingSection section;
        int status = vm_->execute(*job->op, /*async=*/true);
        job->done->signal(status);
      }
      delete job;  // the kernel's deferred cleanup, outside the section
    }
    std::lock_guard<std::mutex> g(lock_);
    if (--pending_ == 0) idle_cv_.notify_all();
  }
}

void BindQueue::stop() {
  {
    std::lock_guard<std::mutex> g(lock_);
    if (stopping_ && !thread_.joinable() && !head_) return;
    stopping_ = true;
  }
  {
    SyncState& s = SyncState::get();
    std::lock_guard<std::mutex> g(s.lock());
    cancel_.store(true, std::memory_order_release);
    s.changed_locked();  // wakes a worker waiting on dependencies
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Without a worker (never started), nothing ran: cancel what is queued.
  for (;;) {
    BindJob* job;
    {
      std::lock_guard<std::mutex> g(lock_);
      job = head_;
      if (!job) break;
      head_ = job->next;
      if (!head_) tail_ = nullptr;
    }
    cancel(job);
    std::lock_guard<std::mutex> g(lock_);
    if (--pending_ == 0) idle_cv_.notify_all();
  }
}

}  // namespace wsys::sim
