// File-descriptor interceptors: open*, close*, dup*, fcntl, ioctl, mmap,
// fstat. Anything that is not the render node goes to libc unchanged.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>

#include "fd_table.h"
#include "real.h"
#include "shim.h"
#include "winsys/drm/model_opener.h"
#include "winsys/sim/alloc_system.h"
#include "winsys/sim/sim_drm_file.h"

using wsys::shim::fail;
using wsys::shim::FdTable;
using wsys::shim::NodeFilePtr;

// The interceptors. C++ names shim_<sym>; the exported names are libc's.
extern "C" {
int shim_open(const char* path, int flags, ...) WSYS_SHIM_EXPORT(open);
int shim_open64(const char* path, int flags, ...) WSYS_SHIM_EXPORT(open64);
int shim_openat(int dirfd, const char* path, int flags, ...) WSYS_SHIM_EXPORT(openat);
int shim_openat64(int dirfd, const char* path, int flags, ...) WSYS_SHIM_EXPORT(openat64);
int shim___open_2(const char* path, int flags) WSYS_SHIM_EXPORT(__open_2);
int shim___open64_2(const char* path, int flags) WSYS_SHIM_EXPORT(__open64_2);
int shim___openat_2(int dirfd, const char* path, int flags) WSYS_SHIM_EXPORT(__openat_2);
int shim___openat64_2(int dirfd, const char* path, int flags) WSYS_SHIM_EXPORT(__openat64_2);
int shim_close(int fd) WSYS_SHIM_EXPORT(close);
int shim_close_range(unsigned first, unsigned last, int flags) WSYS_SHIM_EXPORT(close_range);
void shim_closefrom(int lowfd) WSYS_SHIM_EXPORT(closefrom);
int shim_dup(int fd) WSYS_SHIM_EXPORT(dup);
int shim_dup2(int oldfd, int newfd) WSYS_SHIM_EXPORT(dup2);
int shim_dup3(int oldfd, int newfd, int flags) WSYS_SHIM_EXPORT(dup3);
int shim_fcntl(int fd, int cmd, ...) WSYS_SHIM_EXPORT(fcntl);
int shim_fcntl64(int fd, int cmd, ...) WSYS_SHIM_EXPORT(fcntl64);
int shim_ioctl(int fd, unsigned long request, ...) WSYS_SHIM_EXPORT(ioctl);
void* shim_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off)
    WSYS_SHIM_EXPORT(mmap);
void* shim_mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off)
    WSYS_SHIM_EXPORT(mmap64);
int shim_fstat(int fd, struct stat* st) WSYS_SHIM_EXPORT(fstat);
int shim_fstat64(int fd, struct stat* st) WSYS_SHIM_EXPORT(fstat64);
int shim___fxstat(int ver, int fd, struct stat* st) WSYS_SHIM_EXPORT(__fxstat);
int shim___fxstat64(int ver, int fd, struct stat* st) WSYS_SHIM_EXPORT(__fxstat64);
}

namespace wsys::shim {

namespace {

bool wants_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

// Raw system calls, for when libc's function cannot be found (a lookup is
// under way on this thread, see real.h).
int sys_openat(int dirfd, const char* path, int flags, mode_t mode) {
  return static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode));
}
int sys_close(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }

int real_openat(int dirfd, const char* path, int flags, mode_t mode) {
  auto f = WSYS_REAL(openat);
  return f ? f(dirfd, path, flags, mode) : sys_openat(dirfd, path, flags, mode);
}

int real_close(int fd) {
  auto f = WSYS_REAL(close);
  return f ? f(fd) : sys_close(fd);
}

int real_fcntl(int fd, int cmd, long arg) {
  auto f = WSYS_REAL(fcntl);
  return f ? f(fd, cmd, arg) : static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
}

// fstat of anything but a node fd. Interceptors never call each other by
// their exported names: a sanitizer's interceptor in front of the shim may
// implement one libc function with another (GCC 12's TSan implements fstat64
// with __fxstat64), and a call back through it would recurse.
int pass_fstat(int fd, struct stat* st) {
  auto f = WSYS_REAL(fstat);
  return f ? f(fd, st) : real_fstat(fd, st);
}

// The common part of every open: the shim's paths, else `pass()`.
template <typename Pass>
int do_open(const char* path, int flags, mode_t mode, Pass pass) {
  if (may_be_fake(path)) {
    try {
      Resolved r = resolve(path, !(flags & O_NOFOLLOW));
      if (r.kind != Resolved::Pass) return open_resolved(r, flags, mode);
    } catch (...) {
      return fail(ENOMEM, -1);
    }
  }
  return pass();
}

// Releases the model files of closed fds, keeping the caller's errno
// (closing a model file closes its objects' memfds).
template <typename T>
void release(T& files) {
  ErrnoKeeper keep;
  files = T();
}

}  // namespace

int open_node(const VNode& n, int flags) {
  // Programs under the shim share one allocator system per user unless
  // WSYS_SIM_SYSTEM says otherwise (src/winsys/sim/alloc_system.h).
  sim::set_default_system("default");
  std::string why;
  const bool render = n.data.empty();
  const char* drv = render ? driver_from_env(&why) : n.data.c_str();
  if (!drv) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return fail(ENODEV, -1);
  }
  if (flags & O_DIRECTORY) return fail(ENOTDIR, -1);
  if ((flags & O_CREAT) && (flags & O_EXCL)) return fail(EEXIST, -1);
  int fd = -1;
  try {
    auto nf = std::make_shared<NodeFile>();
    if (render) {
      auto file = sim::SimDrmFile::open(drv, &why);
      if (file) {
        nf->gpu = file->get();
        nf->file = std::move(*file);
      }
    } else {
      auto file = drm::open_model(drv, &why);
      if (file) nf->file = std::move(*file);
    }
    if (!nf->file) {
      std::fprintf(stderr, "wsys drm-shim: cannot open %s: %s\n", n.path.c_str(),
                   why.empty() ? "the kernel model has no device" : why.c_str());
      return fail(ENODEV, -1);
    }
    nf->node = &n;
    fd = memfd_create(render ? "wsys-drm-shim:renderD128" : "wsys-drm-shim:model-ext",
                      (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    if (fd < 0) return -1;
    struct stat st;
    if (real_fstat(fd, &st) != 0) {
      int e = errno;
      real_close(fd);
      return fail(e, -1);
    }
    if (flags & O_NONBLOCK) real_fcntl(fd, F_SETFL, O_NONBLOCK);
    nf->dev = st.st_dev;
    nf->ino = st.st_ino;
    if (!FdTable::get().insert(fd, std::move(nf))) {
      real_close(fd);
      return fail(ENOMEM, -1);
    }
    return fd;
  } catch (...) {
    if (fd >= 0) real_close(fd);
    return fail(ENOMEM, -1);
  }
}

int open_fake_file(const VNode& n, int flags) {
  if (flags & O_DIRECTORY) return fail(ENOTDIR, -1);
  if ((flags & O_CREAT) && (flags & O_EXCL)) return fail(EEXIST, -1);
  if ((flags & O_ACCMODE) != O_RDONLY) return fail(EACCES, -1);
  int fd = memfd_create("wsys-drm-shim:sysfs",
                        MFD_ALLOW_SEALING | ((flags & O_CLOEXEC) ? MFD_CLOEXEC : 0));
  if (fd < 0) return -1;
  const char* p = n.data.data();
  size_t left = n.data.size();
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      real_close(fd);
      return fail(e, -1);
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  ErrnoKeeper keep;
  lseek(fd, 0, SEEK_SET);
  // Read-only, like the sysfs attribute it stands for.
  real_fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  return fd;
}

int open_resolved(const Resolved& r, int flags, mode_t mode) {
  switch (r.kind) {
    case Resolved::Pass: break;
    case Resolved::Error: return fail(r.err, -1);
    case Resolved::Real: return real_openat(AT_FDCWD, r.path.c_str(), flags, mode);
    case Resolved::Fake:
      switch (r.node->kind) {
        case VKind::Node:
          return open_node(*r.node, flags);
        case VKind::File: return open_fake_file(*r.node, flags);
        case VKind::Link: return fail(ELOOP, -1);  // O_NOFOLLOW on a fake link
        case VKind::Dir:
          if ((flags & O_ACCMODE) != O_RDONLY) return fail(EISDIR, -1);
          if (r.node->overlay) {
            int fd = real_openat(AT_FDCWD, r.path.c_str(), flags, mode);
            if (fd >= 0 || errno != ENOENT) return fd;
          }
          // A directory that exists only in the shim cannot be an fd (list
          // it with opendir instead).
          return fail(EACCES, -1);
      }
  }
  return fail(ENOENT, -1);
}

bool node_fd_stat(int fd, struct stat* st) {
  NodeFilePtr f = FdTable::get().lookup(fd);
  if (!f) return false;
  fill_stat(*f->node, st);
  return true;
}

}  // namespace wsys::shim

using namespace wsys::shim;

// --- open -----------------------------------------------------------------

#define WSYS_SHIM_MODE_ARG(last)           \
  mode_t mode = 0;                         \
  if (wants_mode(flags)) {                 \
    va_list ap;                            \
    va_start(ap, last);                    \
    mode = static_cast<mode_t>(va_arg(ap, unsigned)); \
    va_end(ap);                            \
  }

int shim_open(const char* path, int flags, ...) {
  WSYS_SHIM_MODE_ARG(flags)
  return do_open(path, flags, mode, [&] {
    auto f = WSYS_REAL(open);
    return f ? f(path, flags, mode) : sys_openat(AT_FDCWD, path, flags, mode);
  });
}

int shim_open64(const char* path, int flags, ...) {
  WSYS_SHIM_MODE_ARG(flags)
  return do_open(path, flags, mode, [&] {
    auto f = WSYS_REAL(open64);
    return f ? f(path, flags, mode) : sys_openat(AT_FDCWD, path, flags, mode);
  });
}

int shim_openat(int dirfd, const char* path, int flags, ...) {
  WSYS_SHIM_MODE_ARG(flags)
  return do_open(path, flags, mode, [&] {
    auto f = WSYS_REAL(openat);
    return f ? f(dirfd, path, flags, mode) : sys_openat(dirfd, path, flags, mode);
  });
}

int shim_openat64(int dirfd, const char* path, int flags, ...) {
  WSYS_SHIM_MODE_ARG(flags)
  return do_open(path, flags, mode, [&] {
    auto f = WSYS_REAL(openat64);
    return f ? f(dirfd, path, flags, mode) : sys_openat(dirfd, path, flags, mode);
  });
}

// The _FORTIFY_SOURCE entry points (open with a non-constant flags value).
int shim___open_2(const char* path, int flags) {
  return do_open(path, flags, 0, [&] {
    auto f = WSYS_REAL(__open_2);
    return f ? f(path, flags) : sys_openat(AT_FDCWD, path, flags, 0);
  });
}

int shim___open64_2(const char* path, int flags) {
  return do_open(path, flags, 0, [&] {
    auto f = WSYS_REAL(__open64_2);
    return f ? f(path, flags) : sys_openat(AT_FDCWD, path, flags, 0);
  });
}

int shim___openat_2(int dirfd, const char* path, int flags) {
  return do_open(path, flags, 0, [&] {
    auto f = WSYS_REAL(__openat_2);
    return f ? f(dirfd, path, flags) : sys_openat(dirfd, path, flags, 0);
  });
}

int shim___openat64_2(int dirfd, const char* path, int flags) {
  return do_open(path, flags, 0, [&] {
    auto f = WSYS_REAL(__openat64_2);
    return f ? f(dirfd, path, flags) : sys_openat(dirfd, path, flags, 0);
  });
}

// --- close ----------------------------------------------------------------

int shim_close(int fd) {
  NodeFilePtr f = FdTable::get().take(fd);
  int r = real_close(fd);
  release(f);  // after the fd is gone, as the kernel releases the file
  return r;
}

int shim_close_range(unsigned first, unsigned last, int flags) {
  auto f = WSYS_REAL(close_range);
  int r = f ? f(first, last, flags)
            : static_cast<int>(syscall(SYS_close_range, first, last, flags));
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
    auto gone = FdTable::get().take_range(first, last);
    release(gone);
  }
  return r;
}

void shim_closefrom(int lowfd) {
  auto f = WSYS_REAL(closefrom);
  if (f) {
    f(lowfd);
  } else {
    ErrnoKeeper keep;
    syscall(SYS_close_range, static_cast<unsigned>(lowfd), ~0u, 0);
  }
  auto gone = FdTable::get().take_range(static_cast<unsigned>(lowfd), ~0u);
  release(gone);
}

// --- dup ------------------------------------------------------------------
// A duplicate of a node fd is the same open file: it shares the model file.

namespace {
// After `newfd` was made a duplicate of `oldfd` (whose node file, if any,
// is `f`): record it, dropping whatever `newfd` was before.
void dup_done(int newfd, NodeFilePtr f) {
  NodeFilePtr old = FdTable::get().take(newfd);
  if (f) (void)FdTable::get().insert(newfd, std::move(f));
  release(old);
}
}  // namespace

int shim_dup(int fd) {
  NodeFilePtr f = FdTable::get().lookup(fd);
  auto real = WSYS_REAL(dup);
  int r = real ? real(fd) : static_cast<int>(syscall(SYS_fcntl, fd, F_DUPFD, 0));
  if (r >= 0) dup_done(r, std::move(f));
  return r;
}

int shim_dup2(int oldfd, int newfd) {
  NodeFilePtr f = FdTable::get().lookup(oldfd);
  auto real = WSYS_REAL(dup2);
  int r;
  if (real)
    r = real(oldfd, newfd);
  else if (oldfd == newfd)
    r = syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
  else
    r = static_cast<int>(syscall(SYS_dup3, oldfd, newfd, 0));
  if (r >= 0 && oldfd != newfd) dup_done(r, std::move(f));
  return r;
}

int shim_dup3(int oldfd, int newfd, int flags) {
  NodeFilePtr f = FdTable::get().lookup(oldfd);
  auto real = WSYS_REAL(dup3);
  int r = real ? real(oldfd, newfd, flags)
               : static_cast<int>(syscall(SYS_dup3, oldfd, newfd, flags));
  if (r >= 0) dup_done(r, std::move(f));
  return r;
}

namespace {
template <typename Real>
int do_fcntl(int fd, int cmd, void* arg, Real real) {
  if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) {
    return real ? real(fd, cmd, arg) : static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
  }
  NodeFilePtr f = FdTable::get().lookup(fd);
  int r = real ? real(fd, cmd, arg) : static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
  if (r >= 0) dup_done(r, std::move(f));
  return r;
}
}  // namespace

// fcntl's third argument is an int or a pointer; passing it on as a pointer
// is what libc itself does on the LP64 targets this builds for.
int shim_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(fd, cmd, arg, WSYS_REAL(fcntl));
}

int shim_fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(fd, cmd, arg, WSYS_REAL(fcntl64));
}

// --- ioctl ----------------------------------------------------------------

int shim_ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  NodeFilePtr f = FdTable::get().lookup(fd);
  if (!f) {
    auto real = WSYS_REAL(ioctl);
    return real ? real(fd, request, arg) : static_cast<int>(syscall(SYS_ioctl, fd, request, arg));
  }
  int saved = errno;
  int r;
  try {
    r = f->file->ioctl(request, arg);
  } catch (...) {
    r = -ENOMEM;
  }
  if (r < 0) return fail(-r, -1);
  errno = saved;
  return r;
}

// --- mmap -----------------------------------------------------------------

namespace {
template <typename Real>
void* do_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off, Real real) {
  NodeFilePtr f = (flags & MAP_ANONYMOUS) ? nullptr : FdTable::get().lookup(fd);
  // The extension devices have no mmap (their buffers are dma-buf fds).
  if (f && !f->gpu) return fail(ENODEV, MAP_FAILED);
  if (!f) {
    if (real) return real(addr, len, prot, flags, fd, off);
    return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
  }
  int saved = errno;
  wsys::Result<void*> p = wsys::Error(-ENOMEM);
  try {
    p = wsys::sim::sim_mmap(f->gpu->file(), addr, len, prot, flags, static_cast<uint64_t>(off));
  } catch (...) {
  }
  if (!p) return fail(-p.error(), MAP_FAILED);
  errno = saved;
  return *p;
}
}  // namespace

void* shim_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return do_mmap(addr, len, prot, flags, fd, off, WSYS_REAL(mmap));
}

void* shim_mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return do_mmap(addr, len, prot, flags, fd, off, WSYS_REAL(mmap64));
}

// --- fstat ----------------------------------------------------------------

int shim_fstat(int fd, struct stat* st) { return node_fd_stat(fd, st) ? 0 : pass_fstat(fd, st); }

int shim_fstat64(int fd, struct stat* st) {
  if (node_fd_stat(fd, st)) return 0;
  auto real = WSYS_REAL(fstat64);
  return real ? real(fd, st) : real_fstat(fd, st);
}

// glibc before 2.33 compiled callers use these (ver is _STAT_VER; the
// struct is the kernel's on 64-bit targets). Other files go to the modern
// fstat, which libc still has.
int shim___fxstat(int, int fd, struct stat* st) {
  return node_fd_stat(fd, st) ? 0 : pass_fstat(fd, st);
}
int shim___fxstat64(int, int fd, struct stat* st) {
  return node_fd_stat(fd, st) ? 0 : pass_fstat(fd, st);
}
