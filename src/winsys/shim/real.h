// The libc functions the shim forwards to: looked up once with
// dlsym(RTLD_NEXT) (so a sanitizer runtime or another preloaded library
// before libc keeps working), with a guard against recursion while the
// lookup itself runs (dlsym may call back into intercepted functions, for
// example through a sanitizer's interceptors during early process start).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstring>

// Defines an intercepted libc symbol `sym` with the C++ name `fn`. The
// assembler name sidesteps the libc headers' own declarations (exception
// specifications, _FILE_OFFSET_BITS redirections), and default visibility
// plus shim.map make it one of the few symbols the library exports.
#define WSYS_SHIM_EXPORT(sym) __asm__(#sym) __attribute__((visibility("default"), used))

namespace wsys::shim {

// The next definition of `name` after the shim, or null if none exists or a
// lookup is already running on this thread (the caller then falls back to
// the raw system call, or fails with ENOSYS where there is none).
void* next_symbol(const char* name);

template <typename F>
F resolve_next(std::atomic<void*>& slot, const char* name) {
  void* p = slot.load(std::memory_order_acquire);
  if (!p) {
    p = next_symbol(name);
    if (p) slot.store(p, std::memory_order_release);
  }
  F f;
  static_assert(sizeof f == sizeof p);
  std::memcpy(&f, &p, sizeof f);
  return f;
}

// Keeps errno across internal work that may change it, so a call the shim
// handles successfully leaves errno as the caller had it.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

// Sets errno to `err` (positive) and returns `ret`, for the failure paths.
template <typename T>
T fail(int err, T ret) {
  errno = err;
  return ret;
}

}  // namespace wsys::shim

// The real function for interceptor `fn` (C++ name shim_<sym>) of libc
// symbol `sym`; null if it cannot be found (see next_symbol).
#define WSYS_REAL(sym)                                                           \
  ([]() {                                                                        \
    static std::atomic<void*> slot_{nullptr};                                    \
    return ::wsys::shim::resolve_next<decltype(&shim_##sym)>(slot_, #sym);       \
  }())
