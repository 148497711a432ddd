#include "winsys/sim/user_copy.h"

#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace wsys::sim {

namespace {
// The own pid, cached; a forked child must not keep its parent's (it
// would copy from and to the parent's memory), so fork resets the cache.
std::atomic<pid_t> cached_pid{0};

void forget_pid_in_child() {
  cached_pid.store(0, std::memory_order_relaxed);
}

pid_t self_pid() {
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    static const int registered = pthread_atfork(nullptr, nullptr, forget_pid_in_child);
    (void)registered;
    pid = getpid();
    cached_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

#if defined(__SANITIZE_ADDRESS__)
#define WSYS_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSYS_SIM_ASAN 1
#endif
#endif

// Whether [addr, addr + n) lies in the used part of this thread's stack:
// between this frame and the stack's top, every page is mapped, readable
// and writable (the frames of the callers live there), so a plain copy
// cannot fault and gives what copy_from_user would. The ioctl arguments of
// kmod and most programs are locals of the calling thread, which makes this
// the common case; everything else takes the syscall that answers EFAULT.
// Not under ASan: an oversized length would cross the redzones between a
// caller's locals, where the kernel (and the syscall path) just copies.
#if defined(WSYS_SIM_ASAN)
bool on_used_stack(uint64_t, size_t) { return false; }
#else
// The calling thread's stack, [lo, hi), found once per thread.
struct StackRange {
  uintptr_t lo = 0, hi = 0;
};
thread_local StackRange t_stack;

const StackRange& own_stack() {
  if (t_stack.hi == 0) {
    pthread_attr_t attr;
    void* base = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      if (pthread_attr_getstack(&attr, &base, &size) == 0) {
        t_stack.lo = reinterpret_cast<uintptr_t>(base);
        t_stack.hi = t_stack.lo + size;
      }
      pthread_attr_destroy(&attr);
    }
    if (t_stack.hi == 0) t_stack.hi = 1;  // unknown: never the fast path
  }
  return t_stack;
}

__attribute__((noinline)) bool on_used_stack(uint64_t addr, size_t n) {
  const StackRange& st = own_stack();
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  // On this thread's own stack (not a signal's alternate one), and the
  // range between this frame and the top.
  return here >= st.lo && here < st.hi && addr >= here && addr < st.hi && n <= st.hi - addr;
}
#endif

// A syscall per copy keeps every other path honest; the cost of both paths
// is measured in bench/sim_syncobj_bench.
int vm_copy(void* local, uint64_t remote, size_t n, bool write) {
  if (n == 0) return 0;
  if (remote == 0) return -EFAULT;
  if (on_used_stack(remote, n)) {
    if (write) std::memcpy(reinterpret_cast<void*>(remote), local, n);
    else std::memcpy(local, reinterpret_cast<const void*>(remote), n);
    return 0;
  }
  size_t done = 0;
  while (done < n) {
    iovec l{static_cast<char*>(local) + done, n - done};
    iovec r{reinterpret_cast<void*>(remote + done), n - done};
    ssize_t got = write ? process_vm_writev(self_pid(), &l, 1, &r, 1, 0)
                        : process_vm_readv(self_pid(), &l, 1, &r, 1, 0);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EPERM || errno == ENOSYS)) {
        // No process_vm_* (seccomp/containers): fall back to a plain copy.
        if (write) std::memcpy(reinterpret_cast<void*>(remote + done),
                               static_cast<char*>(local) + done, n - done);
        else std::memcpy(static_cast<char*>(local) + done,
                         reinterpret_cast<const void*>(remote + done), n - done);
        return 0;
      }
      return -EFAULT;
    }
    done += static_cast<size_t>(got);
  }
  return 0;
}
}  // namespace

int copy_from_user(void* dst, uint64_t user_src, size_t n) { return vm_copy(dst, user_src, n, false); }

bool user_range_ends_readable(uint64_t user, size_t n) {
  // Small arrays (every real VM_BIND or submit) are not probed: two
  // syscalls per ioctl would cost more than the allocation they guard, and
  // the copy itself answers -EFAULT for them.
  if (n <= kUserRangeProbeMin) return true;
  if (user + (n - 1) < user) return false;
  unsigned char byte;
  return copy_from_user(&byte, user, 1) == 0 && copy_from_user(&byte, user + (n - 1), 1) == 0;
}

int copy_to_user(uint64_t user_dst, const void* src, size_t n) {
  return vm_copy(const_cast<void*>(src), user_dst, n, true);
}

int strndup_user(uint64_t user_src, size_t max_bytes, std::string* out) {
  // Read page by page (never past the page holding the NUL), as
  // strnlen_user only touches memory up to the terminator.
  constexpr uint64_t kPage = 4096;
  std::string s;
  uint64_t p = user_src;
  char buf[kPage];
  while (s.size() < max_bytes) {
    size_t n = static_cast<size_t>(kPage - (p & (kPage - 1)));
    n = std::min(n, max_bytes - s.size());
    if (int r = vm_copy(buf, p, n, false)) return r;
    const void* nul = std::memchr(buf, 0, n);
    if (nul) {
      s.append(buf, static_cast<size_t>(static_cast<const char*>(nul) - buf));
      *out = std::move(s);
      return 0;
    }
    s.append(buf, n);
    p += n;
  }
  return -EINVAL;
}

}  // namespace wsys::sim
