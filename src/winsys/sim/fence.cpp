#include "winsys/sim/fence.h"

#include <chrono>
#include <new>

#include "winsys/sim/signalling.h"

namespace wsys::sim {

SyncState& SyncState::get() {
  // Constructed in static storage (no heap allocation, so a first use inside
  // a signalling section is clean) and never destroyed: worker threads may
  // outlive static destructors.
  alignas(SyncState) static unsigned char storage[sizeof(SyncState)];
  static SyncState* s = new (storage) SyncState();
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
    cv_.wait_for(lk, std::chrono::nanoseconds(deadline_ns - now));
  }
  return true;
}

std::shared_ptr<Fence> Fence::signalled() {
  auto f = std::make_shared<Fence>();
  f->signalled_.store(true, std::memory_order_release);
  return f;
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
  SyncState::get().changed_locked();
}

bool Fence::wait(int64_t deadline_ns) {
  if (is_signalled()) return true;
  SyncState& s = SyncState::get();
  std::unique_lock<std::mutex> lk(s.lock());
  return s.wait_until(lk, deadline_ns, [this] { return is_signalled(); });
}

}  // namespace wsys::sim
