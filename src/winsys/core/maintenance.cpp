// The process's maintenance thread (maintenance.h).
//
// Lifetime: started by the first client, kept while the process (or the
// shared library holding it) lives, so a program that opens and closes
// Devices in a loop pays for one thread, not one per Device. It is stopped
// and joined by a static destructor: at exit, and at dlclose (a Vulkan ICD is
// unloaded by the loader; a thread left behind would wake in unmapped code).
// fork(): the child has no thread; its state is reset (pthread_atfork) and
// its first client starts one.
#include "winsys/core/maintenance.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace wsys::core {

namespace {

using Clock = std::chrono::steady_clock;

struct State {
  State* abandoned = nullptr;  // a fork()ed child's parent state (kept reachable)
  std::mutex lock;
  std::condition_variable work_cv;  // the thread waits here
  std::condition_variable done_cv;  // maintenance_remove waits for `running`
  std::vector<MaintenanceClient*> clients;
  MaintenanceClient* running = nullptr;
  std::thread* thread = nullptr;
  bool stop = false;
  std::atomic<uint64_t> passes{0};
};

// Never destroyed (a Device destroyed during static destruction still
// unregisters), made on first use (a Device may be opened during another
// file's static initialisation); a child of fork() gets a fresh one.
State*& state() {
  static State* s = new State();
  return s;
}
std::once_flag g_atfork;

void loop(State* s) {
  std::unique_lock<std::mutex> lk(s->lock);
  while (!s->stop) {
    const Clock::time_point now = Clock::now();
    MaintenanceClient* pick = nullptr;
    Clock::time_point next = Clock::time_point::max();
    for (MaintenanceClient* c : s->clients) {
      if (c->kicked || c->due <= now) {
        pick = c;
        break;
      }
      next = std::min(next, c->due);
    }
    if (!pick) {
      if (next == Clock::time_point::max())
        s->work_cv.wait(lk);
      else
        s->work_cv.wait_until(lk, next);
      continue;
    }
    pick->kicked = false;
    s->running = pick;
    lk.unlock();
    const std::chrono::nanoseconds period = pick->run();
    lk.lock();
    s->running = nullptr;
    s->passes.fetch_add(1, std::memory_order_relaxed);
    // Still registered: maintenance_remove waits for `running` to clear.
    pick->due = period.count() > 0 ? Clock::now() + period : Clock::time_point::max();
    s->done_cv.notify_all();
  }
}

void stop_and_join(State* s) {
  std::thread* t = nullptr;
  {
    std::lock_guard<std::mutex> g(s->lock);
    if (!s->thread) return;
    s->stop = true;
    t = s->thread;
    s->thread = nullptr;
  }
  s->work_cv.notify_all();
  if (t->get_id() != std::this_thread::get_id())
    t->join();
  else
    t->detach();
  delete t;
}

// Runs at exit and at the library's unload.
struct Reaper {
  ~Reaper() { stop_and_join(state()); }
} g_reaper;

void before_fork() {
  state()->lock.lock();
}
void after_fork_parent() {
  state()->lock.unlock();
}
void after_fork_child() {
  // The parent's thread does not exist here, and its clients' Devices are
  // not ours to maintain (their removal finds nothing to remove).
  State* fresh = new State();
  fresh->abandoned = state();
  state() = fresh;
}

}  // namespace

void maintenance_add(MaintenanceClient* c) {
  std::call_once(g_atfork,
                 [] { pthread_atfork(before_fork, after_fork_parent, after_fork_child); });
  State* s = state();
  std::lock_guard<std::mutex> g(s->lock);
  c->kicked = false;
  c->due = Clock::time_point::max();
  s->clients.push_back(c);
}

void maintenance_remove(MaintenanceClient* c) {
  State* s = state();
  std::unique_lock<std::mutex> lk(s->lock);
  const bool on_thread = s->thread && s->thread->get_id() == std::this_thread::get_id();
  if (!on_thread) s->done_cv.wait(lk, [&] { return s->running != c; });
  s->clients.erase(std::remove(s->clients.begin(), s->clients.end(), c), s->clients.end());
}

void maintenance_wake(MaintenanceClient* c) {
  State* s = state();
  {
    // Under the lock: the thread cannot be between its scan and its wait.
    std::lock_guard<std::mutex> g(s->lock);
    if (std::find(s->clients.begin(), s->clients.end(), c) == s->clients.end()) return;
    c->kicked = true;
    // The first wake starts the thread: a process whose Devices never cache
    // anything never has one.
    if (!s->thread && !s->stop) s->thread = new std::thread(loop, s);
  }
  s->work_cv.notify_one();
}

uint64_t maintenance_passes() {
  return state()->passes.load(std::memory_order_relaxed);
}

bool maintenance_thread_running() {
  State* s = state();
  std::lock_guard<std::mutex> g(s->lock);
  return s->thread != nullptr;
}

}  // namespace wsys::core
