// Path interceptors: the stat family, access, readlink, realpath, fopen and
// directory listing, for the node and the fake sysfs entries (vfs.h).
// Everything else goes to libc with the caller's arguments unchanged.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fd_table.h"
#include "real.h"
#include "shim.h"

static_assert(sizeof(struct dirent) == sizeof(struct dirent64) &&
                  offsetof(struct dirent, d_name) == offsetof(struct dirent64, d_name),
              "dirent and dirent64 must be one layout (64-bit glibc)");

using DirentFilter = int (*)(const struct dirent*);
using DirentCompare = int (*)(const struct dirent**, const struct dirent**);

extern "C" {
int shim_stat(const char* path, struct stat* st) WSYS_SHIM_EXPORT(stat);
int shim_stat64(const char* path, struct stat* st) WSYS_SHIM_EXPORT(stat64);
int shim_lstat(const char* path, struct stat* st) WSYS_SHIM_EXPORT(lstat);
int shim_lstat64(const char* path, struct stat* st) WSYS_SHIM_EXPORT(lstat64);
int shim_fstatat(int dirfd, const char* path, struct stat* st, int flags) WSYS_SHIM_EXPORT(fstatat);
int shim_fstatat64(int dirfd, const char* path, struct stat* st, int flags)
    WSYS_SHIM_EXPORT(fstatat64);
int shim___xstat(int ver, const char* path, struct stat* st) WSYS_SHIM_EXPORT(__xstat);
int shim___xstat64(int ver, const char* path, struct stat* st) WSYS_SHIM_EXPORT(__xstat64);
int shim___lxstat(int ver, const char* path, struct stat* st) WSYS_SHIM_EXPORT(__lxstat);
int shim___lxstat64(int ver, const char* path, struct stat* st) WSYS_SHIM_EXPORT(__lxstat64);
int shim___fxstatat(int ver, int dirfd, const char* path, struct stat* st, int flags)
    WSYS_SHIM_EXPORT(__fxstatat);
int shim___fxstatat64(int ver, int dirfd, const char* path, struct stat* st, int flags)
    WSYS_SHIM_EXPORT(__fxstatat64);
int shim_statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* stx)
    WSYS_SHIM_EXPORT(statx);
int shim_access(const char* path, int mode) WSYS_SHIM_EXPORT(access);
int shim_faccessat(int dirfd, const char* path, int mode, int flags) WSYS_SHIM_EXPORT(faccessat);
ssize_t shim_readlink(const char* path, char* buf, size_t size) WSYS_SHIM_EXPORT(readlink);
ssize_t shim_readlinkat(int dirfd, const char* path, char* buf, size_t size)
    WSYS_SHIM_EXPORT(readlinkat);
char* shim_realpath(const char* path, char* resolved) WSYS_SHIM_EXPORT(realpath);
char* shim___realpath_chk(const char* path, char* resolved, size_t resolvedlen)
    WSYS_SHIM_EXPORT(__realpath_chk);
FILE* shim_fopen(const char* path, const char* mode) WSYS_SHIM_EXPORT(fopen);
FILE* shim_fopen64(const char* path, const char* mode) WSYS_SHIM_EXPORT(fopen64);
DIR* shim_opendir(const char* path) WSYS_SHIM_EXPORT(opendir);
struct dirent* shim_readdir(DIR* d) WSYS_SHIM_EXPORT(readdir);
struct dirent* shim_readdir64(DIR* d) WSYS_SHIM_EXPORT(readdir64);
int shim_readdir_r(DIR* d, struct dirent* entry, struct dirent** result)
    WSYS_SHIM_EXPORT(readdir_r);
int shim_readdir64_r(DIR* d, struct dirent* entry, struct dirent** result)
    WSYS_SHIM_EXPORT(readdir64_r);
int shim_closedir(DIR* d) WSYS_SHIM_EXPORT(closedir);
void shim_rewinddir(DIR* d) WSYS_SHIM_EXPORT(rewinddir);
long shim_telldir(DIR* d) WSYS_SHIM_EXPORT(telldir);
void shim_seekdir(DIR* d, long loc) WSYS_SHIM_EXPORT(seekdir);
int shim_scandir(const char* path, struct dirent*** namelist, DirentFilter filter,
                 DirentCompare compar) WSYS_SHIM_EXPORT(scandir);
int shim_scandir64(const char* path, struct dirent*** namelist, DirentFilter filter,
                   DirentCompare compar) WSYS_SHIM_EXPORT(scandir64);
ssize_t shim_getxattr(const char* path, const char* name, void* value, size_t size)
    WSYS_SHIM_EXPORT(getxattr);
ssize_t shim_lgetxattr(const char* path, const char* name, void* value, size_t size)
    WSYS_SHIM_EXPORT(lgetxattr);
ssize_t shim_listxattr(const char* path, char* list, size_t size) WSYS_SHIM_EXPORT(listxattr);
ssize_t shim_llistxattr(const char* path, char* list, size_t size) WSYS_SHIM_EXPORT(llistxattr);
}

namespace wsys::shim {

namespace {

int sys_fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  return static_cast<int>(syscall(SYS_newfstatat, dirfd, path, st, flags));
}

// The stat family: `real(path)` stats a real path (the caller's or one
// reached through a fake link) the way the caller asked (stat or lstat).
// The common start of an intercepted path call. Returns true when `path`
// names a fake node (left in *r) that the caller answers itself; otherwise
// *out is the call's result: the real function on the original path, or on
// the path a fake link leads to, or `error_value` with errno set.
template <typename T, typename Real>
bool resolve_for_call(const char* path, bool follow, T error_value, Real& real, Resolved* r,
                      T* out) {
  if (!may_be_fake(path)) {
    *out = real(path);
    return false;
  }
  try {
    *r = resolve(path, follow);
  } catch (...) {
    *out = fail<T>(ENOMEM, error_value);
    return false;
  }
  switch (r->kind) {
    case Resolved::Pass: *out = real(path); return false;
    case Resolved::Real: *out = real(r->path.c_str()); return false;
    case Resolved::Error: *out = fail<T>(r->err, error_value); return false;
    case Resolved::Fake: break;
  }
  return true;
}

template <typename Real>
int do_stat(const char* path, struct stat* st, bool follow, Real real) {
  Resolved r;
  int out;
  if (!resolve_for_call(path, follow, -1, real, &r, &out)) return out;
  if (r.node->overlay) {  // the real directory if there is one
    ErrnoKeeper keep;
    if (real(r.path.c_str()) == 0) return 0;
  }
  fill_stat(*r.node, st);
  return 0;
}

int real_stat(const char* p, struct stat* st) {
  auto f = WSYS_REAL(stat);
  return f ? f(p, st) : sys_fstatat(AT_FDCWD, p, st, 0);
}

int real_lstat(const char* p, struct stat* st) {
  auto f = WSYS_REAL(lstat);
  return f ? f(p, st) : sys_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
}

int real_fstatat(int dirfd, const char* p, struct stat* st, int flags) {
  auto f = WSYS_REAL(fstatat);
  return f ? f(dirfd, p, st, flags) : sys_fstatat(dirfd, p, st, flags);
}

template <typename Real>
int do_fstatat(int dirfd, const char* path, struct stat* st, int flags, Real real) {
  if (path && !path[0] && (flags & AT_EMPTY_PATH) && node_fd_stat(dirfd, st)) return 0;
  return do_stat(path, st, !(flags & AT_SYMLINK_NOFOLLOW), [&](const char* p) {
    return real(p == path ? dirfd : AT_FDCWD, p, st, flags);
  });
}

// --- directories ------------------------------------------------------------

// A listing the shim serves for a DIR* it opened (on the real directory, or
// on its nearest real ancestor when the directory is the shim's alone, so
// that dirfd() and closedir() stay libc's).
struct DirListing {
  std::vector<struct dirent> entries;
  size_t pos = 0;
};

class DirTable {
 public:
  static DirTable& get() {
    static DirTable* t = new DirTable;  // never destroyed (see FdTable)
    return *t;
  }
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }
  void insert(DIR* d, std::unique_ptr<DirListing> l) {
    std::lock_guard<std::mutex> g(lock_);
    map_[d] = std::move(l);
    count_.store(map_.size(), std::memory_order_release);
  }
  std::unique_ptr<DirListing> take(DIR* d) {
    if (empty()) return nullptr;
    std::lock_guard<std::mutex> g(lock_);
    auto it = map_.find(d);
    if (it == map_.end()) return nullptr;
    auto l = std::move(it->second);
    map_.erase(it);
    count_.store(map_.size(), std::memory_order_release);
    return l;
  }
  // Runs `fn(listing)` under the lock if `d` is the shim's; false if not.
  template <typename Fn>
  bool with(DIR* d, Fn fn) {
    if (empty()) return false;
    std::lock_guard<std::mutex> g(lock_);
    auto it = map_.find(d);
    if (it == map_.end()) return false;
    fn(*it->second);
    return true;
  }

 private:
  DirTable() = default;
  std::mutex lock_;
  std::unordered_map<DIR*, std::unique_ptr<DirListing>> map_;
  std::atomic<size_t> count_{0};
};

unsigned char dtype_of(VKind k) {
  switch (k) {
    case VKind::Dir: return DT_DIR;
    case VKind::File: return DT_REG;
    case VKind::Link: return DT_LNK;
    case VKind::Node: return DT_CHR;
  }
  return DT_UNKNOWN;
}

void add_entry(DirListing& l, const char* name, ino_t ino, unsigned char type) {
  struct dirent e;
  std::memset(&e, 0, sizeof e);
  e.d_ino = ino;
  e.d_type = type;
  e.d_reclen = sizeof e;
  std::snprintf(e.d_name, sizeof e.d_name, "%s", name);
  l.entries.push_back(e);
  l.entries.back().d_off = static_cast<off_t>(l.entries.size());
}

DIR* real_opendir(const char* path) {
  auto f = WSYS_REAL(opendir);
  return f ? f(path) : fail<DIR*>(ENOSYS, nullptr);
}

struct dirent* real_readdir(DIR* d) {
  auto f = WSYS_REAL(readdir);
  return f ? f(d) : fail<struct dirent*>(ENOSYS, nullptr);
}

int real_closedir(DIR* d) {
  auto f = WSYS_REAL(closedir);
  return f ? f(d) : fail(ENOSYS, -1);
}

// opendir() of a fake directory: the real entries (an overlay's) plus the
// fake ones, which shadow real entries of the same name.
DIR* open_fake_dir(const Resolved& r) {
  const Vfs& vfs = Vfs::current();
  auto fakes = vfs.children(r.path);
  auto l = std::make_unique<DirListing>();
  DIR* d = nullptr;
  {
    ErrnoKeeper keep;
    if (r.node->overlay) d = real_opendir(r.path.c_str());
    if (d) {
      while (struct dirent* e = real_readdir(d)) {
        bool shadowed = std::any_of(fakes.begin(), fakes.end(), [&](const VNode* n) {
          return n->path.compare(n->path.rfind('/') + 1, std::string::npos, e->d_name) == 0;
        });
        if (!shadowed) add_entry(*l, e->d_name, e->d_ino, e->d_type);
      }
      auto rewind = WSYS_REAL(rewinddir);
      if (rewind) rewind(d);
    } else {
      std::string anc = r.path;
      while (!d) {
        size_t slash = anc.rfind('/');
        anc = slash == 0 ? "/" : anc.substr(0, slash);
        d = real_opendir(anc.c_str());
        if (anc == "/") break;
      }
      add_entry(*l, ".", 0, DT_DIR);
      add_entry(*l, "..", 0, DT_DIR);
    }
  }
  if (!d) return fail<DIR*>(ENOENT, nullptr);
  for (const VNode* n : fakes) {
    struct stat st;
    fill_stat(*n, &st);
    add_entry(*l, n->path.c_str() + n->path.rfind('/') + 1, st.st_ino, dtype_of(n->kind));
  }
  DirTable::get().insert(d, std::move(l));
  return d;
}

char* copy_resolved(const std::string& path, char* resolved, size_t resolvedlen) {
  if (path.size() >= PATH_MAX) return fail<char*>(ENAMETOOLONG, nullptr);
  if (!resolved) {
    char* p = strdup(path.c_str());
    return p ? p : fail<char*>(ENOMEM, nullptr);
  }
  if (path.size() >= resolvedlen) return fail<char*>(ENAMETOOLONG, nullptr);
  std::memcpy(resolved, path.c_str(), path.size() + 1);
  return resolved;
}

template <typename Real>
char* do_realpath(const char* path, char* resolved, size_t resolvedlen, Real real) {
  Resolved r;
  char* out;
  if (!resolve_for_call(path, true, static_cast<char*>(nullptr), real, &r, &out)) return out;
  return copy_resolved(r.path, resolved, resolvedlen);
}

// readlink("/proc/self/fd/N") of a node fd names the node, as the kernel's
// would; false if `path` is not that.
bool node_fd_link(const char* path, std::string* out) {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  if (!path || std::strncmp(path, kPrefix, sizeof kPrefix - 1) != 0) return false;
  const char* num = path + sizeof kPrefix - 1;
  char* end = nullptr;
  ErrnoKeeper keep;
  long fd = std::strtol(num, &end, 10);
  if (end == num || *end || fd < 0 || fd > INT_MAX) return false;
  NodeFilePtr f = FdTable::get().lookup(static_cast<int>(fd));
  if (!f) return false;
  *out = f->node->path;
  return true;
}

template <typename Real>
ssize_t do_readlink(const char* path, char* buf, size_t size, Real real) {
  std::string target;
  Resolved r;
  try {
    if (node_fd_link(path, &target)) {
      r.kind = Resolved::Fake;
    } else {
      if (!may_be_fake(path)) return real(path);
      r = resolve(path, false);
      if (r.kind == Resolved::Fake) {
        if (r.node->kind != VKind::Link) return fail<ssize_t>(EINVAL, -1);
        target = r.node->data;
      }
    }
  } catch (...) {
    return fail<ssize_t>(ENOMEM, -1);
  }
  switch (r.kind) {
    case Resolved::Pass: return real(path);
    case Resolved::Real: return real(r.path.c_str());
    case Resolved::Error: return fail<ssize_t>(r.err, -1);
    case Resolved::Fake: break;
  }
  size_t n = std::min(size, target.size());
  std::memcpy(buf, target.data(), n);
  return static_cast<ssize_t>(n);
}

// Extended attributes (ls -l asks for ACLs and security labels): the
// shim's entries have none.
template <typename Real>
ssize_t do_xattr(const char* path, bool follow, ssize_t none_errno, Real real) {
  Resolved r;
  ssize_t out;
  if (!resolve_for_call(path, follow, ssize_t{-1}, real, &r, &out)) return out;
  if (r.node->overlay) {
    ErrnoKeeper keep;
    ssize_t n = real(r.path.c_str());
    if (n >= 0) return n;
  }
  return none_errno ? fail<ssize_t>(static_cast<int>(none_errno), -1) : 0;
}

template <typename Real>
int do_access(const char* path, int mode, bool follow, Real real) {
  Resolved r;
  int out;
  if (!resolve_for_call(path, follow, -1, real, &r, &out)) return out;
  switch (r.node->kind) {
    case VKind::Node: return (mode & X_OK) ? fail(EACCES, -1) : 0;
    case VKind::File: return (mode & (W_OK | X_OK)) ? fail(EACCES, -1) : 0;
    case VKind::Link: return 0;
    case VKind::Dir:
      if (r.node->overlay) {
        ErrnoKeeper keep;
        if (real(r.path.c_str()) == 0) return 0;
      }
      return (mode & W_OK) ? fail(EACCES, -1) : 0;
  }
  return 0;
}

// fopen() of a fake file: its open fd wrapped in a FILE.
template <typename Real>
FILE* do_fopen(const char* path, const char* mode, Real real) {
  if (!mode) return real(path);
  Resolved r;
  FILE* out;
  if (!resolve_for_call(path, true, static_cast<FILE*>(nullptr), real, &r, &out)) return out;
  bool plus = std::strchr(mode, '+') != nullptr;
  int flags = (mode[0] == 'r' && !plus) ? O_RDONLY : plus ? O_RDWR : O_WRONLY;
  if (std::strchr(mode, 'e')) flags |= O_CLOEXEC;
  int fd;  // open_node and open_fake_file do not throw
  switch (r.node->kind) {
    case VKind::Node:
      fd = open_node(*r.node, flags);
      break;
    case VKind::File: fd = open_fake_file(*r.node, flags); break;
    case VKind::Dir: return fail<FILE*>(EISDIR, nullptr);
    default: return fail<FILE*>(ELOOP, nullptr);
  }
  if (fd < 0) return nullptr;
  FILE* f = fdopen(fd, mode);
  if (!f) {
    int e = errno;
    close(fd);
    errno = e;
  }
  return f;
}

template <typename Real>
DIR* do_opendir(const char* path, Real real) {
  if (!may_be_fake(path)) return real(path);
  try {
    Resolved r = resolve(path, true);
    switch (r.kind) {
      case Resolved::Pass: return real(path);
      case Resolved::Real: return real(r.path.c_str());
      case Resolved::Error: return fail<DIR*>(r.err, nullptr);
      case Resolved::Fake: break;
    }
    if (r.node->kind != VKind::Dir) return fail<DIR*>(ENOTDIR, nullptr);
    return open_fake_dir(r);
  } catch (...) {
    return fail<DIR*>(ENOMEM, nullptr);
  }
}

struct dirent* fake_readdir(DIR* d, bool* mine) {
  struct dirent* out = nullptr;
  *mine = DirTable::get().with(d, [&](DirListing& l) {
    if (l.pos < l.entries.size()) out = &l.entries[l.pos++];
  });
  return out;
}

int close_dir(DIR* d) {
  std::unique_ptr<DirListing> l = DirTable::get().take(d);
  return real_closedir(d);
}

template <typename ReadNext>
int do_scandir(const char* path, struct dirent*** namelist, DirentFilter filter,
               DirentCompare compar, ReadNext real) {
  if (!may_be_fake(path)) return real(path);
  Resolved r;
  try {
    r = resolve(path, true);
  } catch (...) {
    return fail(ENOMEM, -1);
  }
  if (r.kind == Resolved::Pass) return real(path);
  if (r.kind == Resolved::Real) return real(r.path.c_str());
  DIR* d = do_opendir(path, real_opendir);
  if (!d) return -1;
  std::vector<struct dirent*> out;
  int err = 0;
  bool mine = false;
  while (struct dirent* e = fake_readdir(d, &mine)) {
    if (filter && !filter(e)) continue;
    auto* copy = static_cast<struct dirent*>(std::malloc(sizeof *e));
    if (!copy) {
      err = ENOMEM;
      break;
    }
    std::memcpy(copy, e, sizeof *e);
    try {
      out.push_back(copy);
    } catch (...) {
      std::free(copy);
      err = ENOMEM;
      break;
    }
  }
  close_dir(d);
  auto** list = err ? nullptr
                    : static_cast<struct dirent**>(
                          std::malloc(std::max<size_t>(out.size(), 1) * sizeof(struct dirent*)));
  if (!list) {
    for (struct dirent* e : out) std::free(e);
    return fail(ENOMEM, -1);
  }
  if (compar) {
    std::stable_sort(out.begin(), out.end(), [&](const struct dirent* a, const struct dirent* b) {
      return compar(&a, &b) < 0;
    });
  }
  std::copy(out.begin(), out.end(), list);
  *namelist = list;
  return static_cast<int>(out.size());
}

}  // namespace
}  // namespace wsys::shim

using namespace wsys::shim;

// --- stat -------------------------------------------------------------------

int shim_stat(const char* path, struct stat* st) {
  return do_stat(path, st, true, [&](const char* p) { return real_stat(p, st); });
}

int shim_stat64(const char* path, struct stat* st) {
  return do_stat(path, st, true, [&](const char* p) {
    auto f = WSYS_REAL(stat64);
    return f ? f(p, st) : sys_fstatat(AT_FDCWD, p, st, 0);
  });
}

int shim_lstat(const char* path, struct stat* st) {
  return do_stat(path, st, false, [&](const char* p) { return real_lstat(p, st); });
}

int shim_lstat64(const char* path, struct stat* st) {
  return do_stat(path, st, false, [&](const char* p) {
    auto f = WSYS_REAL(lstat64);
    return f ? f(p, st) : sys_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
  });
}

int shim_fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  return do_fstatat(dirfd, path, st, flags, real_fstatat);
}

int shim_fstatat64(int dirfd, const char* path, struct stat* st, int flags) {
  return do_fstatat(dirfd, path, st, flags, [](int fd, const char* p, struct stat* s, int fl) {
    auto f = WSYS_REAL(fstatat64);
    return f ? f(fd, p, s, fl) : sys_fstatat(fd, p, s, fl);
  });
}

// The pre-2.33 glibc entry points, for programs built against an old glibc.
// They go to the modern functions, which libc still has; never to the
// shim's own exported names (see pass_fstat in intercept_io.cpp).
int shim___xstat(int, const char* path, struct stat* st) {
  return do_stat(path, st, true, [&](const char* p) { return real_stat(p, st); });
}
int shim___xstat64(int, const char* path, struct stat* st) {
  return do_stat(path, st, true, [&](const char* p) { return real_stat(p, st); });
}
int shim___lxstat(int, const char* path, struct stat* st) {
  return do_stat(path, st, false, [&](const char* p) { return real_lstat(p, st); });
}
int shim___lxstat64(int, const char* path, struct stat* st) {
  return do_stat(path, st, false, [&](const char* p) { return real_lstat(p, st); });
}
int shim___fxstatat(int, int dirfd, const char* path, struct stat* st, int flags) {
  return do_fstatat(dirfd, path, st, flags, real_fstatat);
}
int shim___fxstatat64(int, int dirfd, const char* path, struct stat* st, int flags) {
  return do_fstatat(dirfd, path, st, flags, real_fstatat);
}

int shim_statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* stx) {
  auto real = [&](int fd, const char* p) {
    auto f = WSYS_REAL(statx);
    return f ? f(fd, p, flags, mask, stx)
             : static_cast<int>(syscall(SYS_statx, fd, p, flags, mask, stx));
  };
  if (path && !path[0] && (flags & AT_EMPTY_PATH)) {
    if (NodeFilePtr f = FdTable::get().lookup(dirfd)) {
      fill_statx(*f->node, stx);
      return 0;
    }
  }
  if (!may_be_fake(path)) return real(dirfd, path);
  Resolved r;
  try {
    r = resolve(path, !(flags & AT_SYMLINK_NOFOLLOW));
  } catch (...) {
    return fail(ENOMEM, -1);
  }
  switch (r.kind) {
    case Resolved::Pass: return real(dirfd, path);
    case Resolved::Real: return real(AT_FDCWD, r.path.c_str());
    case Resolved::Error: return fail(r.err, -1);
    case Resolved::Fake: break;
  }
  if (r.node->overlay) {
    ErrnoKeeper keep;
    if (real(AT_FDCWD, r.path.c_str()) == 0) return 0;
  }
  fill_statx(*r.node, stx);
  return 0;
}

// --- access -----------------------------------------------------------------

int shim_access(const char* path, int mode) {
  return do_access(path, mode, true, [&](const char* p) {
    auto f = WSYS_REAL(access);
    return f ? f(p, mode) : static_cast<int>(syscall(SYS_faccessat, AT_FDCWD, p, mode));
  });
}

int shim_faccessat(int dirfd, const char* path, int mode, int flags) {
  return do_access(path, mode, !(flags & AT_SYMLINK_NOFOLLOW), [&](const char* p) {
    auto f = WSYS_REAL(faccessat);
    int fd = p == path ? dirfd : AT_FDCWD;
    return f ? f(fd, p, mode, flags) : static_cast<int>(syscall(SYS_faccessat, fd, p, mode));
  });
}

// --- readlink, realpath -----------------------------------------------------

ssize_t shim_readlink(const char* path, char* buf, size_t size) {
  return do_readlink(path, buf, size, [&](const char* p) -> ssize_t {
    auto f = WSYS_REAL(readlink);
    return f ? f(p, buf, size) : syscall(SYS_readlinkat, AT_FDCWD, p, buf, size);
  });
}

ssize_t shim_readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  return do_readlink(path, buf, size, [&](const char* p) -> ssize_t {
    auto f = WSYS_REAL(readlinkat);
    int fd = p == path ? dirfd : AT_FDCWD;
    return f ? f(fd, p, buf, size) : syscall(SYS_readlinkat, fd, p, buf, size);
  });
}

char* shim_realpath(const char* path, char* resolved) {
  return do_realpath(path, resolved, PATH_MAX, [&](const char* p) {
    auto f = WSYS_REAL(realpath);
    return f ? f(p, resolved) : fail<char*>(ENOSYS, nullptr);
  });
}

char* shim___realpath_chk(const char* path, char* resolved, size_t resolvedlen) {
  return do_realpath(path, resolved, resolvedlen, [&](const char* p) {
    auto f = WSYS_REAL(__realpath_chk);
    return f ? f(p, resolved, resolvedlen) : fail<char*>(ENOSYS, nullptr);
  });
}

// --- fopen ------------------------------------------------------------------

FILE* shim_fopen(const char* path, const char* mode) {
  return do_fopen(path, mode, [&](const char* p) {
    auto f = WSYS_REAL(fopen);
    return f ? f(p, mode) : fail<FILE*>(ENOSYS, nullptr);
  });
}

FILE* shim_fopen64(const char* path, const char* mode) {
  return do_fopen(path, mode, [&](const char* p) {
    auto f = WSYS_REAL(fopen64);
    return f ? f(p, mode) : fail<FILE*>(ENOSYS, nullptr);
  });
}

// --- directories ------------------------------------------------------------

DIR* shim_opendir(const char* path) { return do_opendir(path, real_opendir); }

struct dirent* shim_readdir(DIR* d) {
  bool mine = false;
  struct dirent* e = fake_readdir(d, &mine);
  return mine ? e : real_readdir(d);
}

struct dirent* shim_readdir64(DIR* d) {
  bool mine = false;
  struct dirent* e = fake_readdir(d, &mine);
  if (mine) return e;
  auto f = WSYS_REAL(readdir64);
  return f ? f(d) : fail<struct dirent*>(ENOSYS, nullptr);
}

int shim_readdir_r(DIR* d, struct dirent* entry, struct dirent** result) {
  bool mine = false;
  struct dirent* e = fake_readdir(d, &mine);
  if (!mine) {
    auto f = WSYS_REAL(readdir_r);
    return f ? f(d, entry, result) : ENOSYS;
  }
  if (e) std::memcpy(entry, e, sizeof *e);
  *result = e ? entry : nullptr;
  return 0;
}

int shim_readdir64_r(DIR* d, struct dirent* entry, struct dirent** result) {
  bool mine = false;
  struct dirent* e = fake_readdir(d, &mine);
  if (!mine) {
    auto f = WSYS_REAL(readdir64_r);
    return f ? f(d, entry, result) : ENOSYS;
  }
  if (e) std::memcpy(entry, e, sizeof *e);
  *result = e ? entry : nullptr;
  return 0;
}

int shim_closedir(DIR* d) { return close_dir(d); }

void shim_rewinddir(DIR* d) {
  DirTable::get().with(d, [](DirListing& l) { l.pos = 0; });
  auto f = WSYS_REAL(rewinddir);
  if (f) f(d);
}

long shim_telldir(DIR* d) {
  long pos = 0;
  if (DirTable::get().with(d, [&](DirListing& l) { pos = static_cast<long>(l.pos); })) return pos;
  auto f = WSYS_REAL(telldir);
  return f ? f(d) : fail(ENOSYS, -1L);
}

void shim_seekdir(DIR* d, long loc) {
  if (DirTable::get().with(d, [&](DirListing& l) {
        l.pos = loc < 0 ? 0 : std::min(static_cast<size_t>(loc), l.entries.size());
      }))
    return;
  auto f = WSYS_REAL(seekdir);
  if (f) f(d, loc);
}

int shim_scandir(const char* path, struct dirent*** namelist, DirentFilter filter,
                 DirentCompare compar) {
  return do_scandir(path, namelist, filter, compar, [&](const char* p) {
    auto f = WSYS_REAL(scandir);
    return f ? f(p, namelist, filter, compar) : fail(ENOSYS, -1);
  });
}

int shim_scandir64(const char* path, struct dirent*** namelist, DirentFilter filter,
                   DirentCompare compar) {
  return do_scandir(path, namelist, filter, compar, [&](const char* p) {
    auto f = WSYS_REAL(scandir64);
    return f ? f(p, namelist, filter, compar) : fail(ENOSYS, -1);
  });
}

// --- extended attributes ------------------------------------------------------

ssize_t shim_getxattr(const char* path, const char* name, void* value, size_t size) {
  return do_xattr(path, true, ENODATA, [&](const char* p) -> ssize_t {
    auto f = WSYS_REAL(getxattr);
    return f ? f(p, name, value, size) : syscall(SYS_getxattr, p, name, value, size);
  });
}

ssize_t shim_lgetxattr(const char* path, const char* name, void* value, size_t size) {
  return do_xattr(path, false, ENODATA, [&](const char* p) -> ssize_t {
    auto f = WSYS_REAL(lgetxattr);
    return f ? f(p, name, value, size) : syscall(SYS_lgetxattr, p, name, value, size);
  });
}

ssize_t shim_listxattr(const char* path, char* list, size_t size) {
  return do_xattr(path, true, 0, [&](const char* p) -> ssize_t {
    auto f = WSYS_REAL(listxattr);
    return f ? f(p, list, size) : syscall(SYS_listxattr, p, list, size);
  });
}

ssize_t shim_llistxattr(const char* path, char* list, size_t size) {
  return do_xattr(path, false, 0, [&](const char* p) -> ssize_t {
    auto f = WSYS_REAL(llistxattr);
    return f ? f(p, list, size) : syscall(SYS_llistxattr, p, list, size);
  });
}
