// One maintenance thread per process for every Device: cache decay,
// deferred VA reclaim and pressure relief run there on each Device's own
// schedule. A thread per Device cost a thread creation and join on every
// open and close (about a third of an open+close under ASan) and one idle
// thread per extra Device.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

namespace wsys::core {

struct MaintenanceClient {
  // One pass; returns the time until the next, or zero when nothing is left
  // to do: the client is then idle until wake(). A pass that finds nothing
  // must store `idle` true *before* its last look for work (and clear it if
  // it finds some), so a wake() racing it is never lost.
  std::function<std::chrono::nanoseconds()> run;
  // True while the client waits for wake() (read on release paths: one load).
  std::atomic<bool> idle{false};

  // The scheduler's, under its lock.
  bool kicked = false;
  std::chrono::steady_clock::time_point due{};
};

// Registers a client, idle: its first pass runs on wake(). (Set `idle` true
// first.)
void maintenance_add(MaintenanceClient* c);
// Unregisters it; returns once no pass on it runs (from a pass on the thread
// itself it returns at once: that pass is the caller's).
void maintenance_remove(MaintenanceClient* c);
// Asks for a pass on a client now; the first wake in a process starts the
// thread.
void maintenance_wake(MaintenanceClient* c);
// Passes run so far on this process's thread (tests).
uint64_t maintenance_passes();
// Whether this process's maintenance thread exists (tests).
bool maintenance_thread_running();

}  // namespace wsys::core
