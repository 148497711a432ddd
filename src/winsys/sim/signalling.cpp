#include "winsys/sim/signalling.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace wsys::sim {

namespace {

thread_local int t_depth = 0;
// Set while reporting, so the report's own allocations are not counted.
thread_local bool t_reporting = false;

std::atomic<uint64_t> g_alloc{0}, g_locks{0}, g_waits{0}, g_entered{0};

bool abort_on_violation() {
  // Off unless asked for: the tests need to provoke violations on purpose
  // and see them counted; CI asserts the counters instead.
  static const bool on = [] {
    const char* v = std::getenv("WSYS_SIM_SIGNALLING_ABORT");
    return v && v[0] == '1';
  }();
  return on;
}

}  // namespace

SignallingViolations signalling_violations() {
  SignallingViolations v;
  v.allocations = g_alloc.load();
  v.blocking_locks = g_locks.load();
  v.waits = g_waits.load();
  return v;
}

void reset_signalling_violations() {
  g_alloc = 0;
  g_locks = 0;
  g_waits = 0;
}

uint64_t signalling_sections_entered() { return g_entered.load(); }

bool in_signalling_section() { return t_depth > 0 && !t_reporting; }

void note_if_signalling(ViolationKind kind, const char* what) {
  if (!in_signalling_section()) return;
  switch (kind) {
    case ViolationKind::Allocation: g_alloc++; break;
    case ViolationKind::BlockingLock: g_locks++; break;
    case ViolationKind::Wait: g_waits++; break;
  }
  if (abort_on_violation()) {
    t_reporting = true;
    std::fprintf(stderr, "wsys sim: %s inside a fence signalling section\n", what);
    std::abort();
  }
}

SignallingSection::SignallingSection() {
  t_depth++;
  g_entered++;
}

SignallingSection::~SignallingSection() { t_depth--; }

}  // namespace wsys::sim

// Global allocation functions, replaced so allocations inside a signalling
// section are seen. They forward to malloc (which the sanitizers intercept),
// so behaviour is otherwise the standard one. The drm-shim compiles this file
// with WSYS_SIM_NO_GLOBAL_NEW: a preloaded library must use the host
// program's allocator, never replace it.
#ifndef WSYS_SIM_NO_GLOBAL_NEW
namespace {
void* checked_alloc(std::size_t n) {
  wsys::sim::note_if_signalling(wsys::sim::ViolationKind::Allocation, "operator new");
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) return p;
    std::new_handler h = std::get_new_handler();
    if (!h) throw std::bad_alloc();
    h();
  }
}
void* checked_aligned_alloc(std::size_t n, std::align_val_t al) {
  wsys::sim::note_if_signalling(wsys::sim::ViolationKind::Allocation, "operator new");
  std::size_t a = static_cast<std::size_t>(al);
  if (a < sizeof(void*)) a = sizeof(void*);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (posix_memalign(&p, a, n) != 0) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return checked_alloc(n); }
void* operator new[](std::size_t n) { return checked_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return checked_alloc(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return checked_alloc(n); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a) { return checked_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return checked_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif  // WSYS_SIM_NO_GLOBAL_NEW
