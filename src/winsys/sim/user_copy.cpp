#include "winsys/sim/user_copy.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wsys::sim {

namespace {
pid_t self_pid() {
  static const pid_t pid = getpid();
  return pid;
}

// Small copies of memory that is obviously fine are the common case, but a
// syscall per copy keeps every path honest; its cost is measured in bench/.
int vm_copy(void* local, uint64_t remote, size_t n, bool write) {
  if (n == 0) return 0;
  if (remote == 0) return -EFAULT;
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

int copy_to_user(uint64_t user_dst, const void* src, size_t n) {
  return vm_copy(const_cast<void*>(src), user_dst, n, true);
}

}  // namespace wsys::sim
