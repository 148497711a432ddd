// The drm-shim's interception, seen from an unmodified program: this test
// does not link the model; it runs with LD_PRELOAD=libwsys-drm-shim.so and
// WSYS_SIM_DRIVER=panthor and uses only libc calls and ioctls.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"

namespace {

constexpr const char kNode[] = "/dev/dri/renderD128";
constexpr uint64_t kBoSize = 64 * 1024;

int open_node(int flags = O_RDWR | O_CLOEXEC) { return open(kNode, flags); }

// ioctl's errno, or 0.
int xioctl(int fd, unsigned long req, void* arg) { return ioctl(fd, req, arg) == 0 ? 0 : errno; }

std::string driver_name(int fd) {
  char name[64] = {};
  drm_version v{};
  v.name = name;
  v.name_len = sizeof name - 1;
  if (xioctl(fd, DRM_IOCTL_VERSION, &v) != 0) return "(VERSION failed: " + std::to_string(errno) + ")";
  return name;
}

uint32_t create_bo(int fd) {
  drm_panthor_bo_create c{};
  c.size = kBoSize;
  int r = xioctl(fd, DRM_IOCTL_PANTHOR_BO_CREATE, &c);
  EXPECT_EQ(r, 0) << "BO_CREATE: " << std::strerror(r);
  return r == 0 ? c.handle : 0;
}

// GEM_CLOSE's errno: 0 if `handle` was open in the file behind `fd`.
int gem_close(int fd, uint32_t handle) {
  drm_gem_close c{};
  c.handle = handle;
  return xioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

uint64_t mmap_offset(int fd, uint32_t handle) {
  drm_panthor_bo_mmap_offset m{};
  m.handle = handle;
  int r = xioctl(fd, DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m);
  EXPECT_EQ(r, 0) << "BO_MMAP_OFFSET: " << std::strerror(r);
  return m.offset;
}

std::string read_file(const char* path) {
  std::string s;
  FILE* f = std::fopen(path, "re");
  if (!f) return "(fopen failed: " + std::string(std::strerror(errno)) + ")";
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

std::string read_link(const char* path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf);
  if (n < 0) return "(readlink failed: " + std::string(std::strerror(errno)) + ")";
  return std::string(buf, static_cast<size_t>(n));
}

class Shim : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = open_node();
    ASSERT_GE(fd_, 0) << "open(" << kNode << "): " << std::strerror(errno)
                      << " -- is libwsys-drm-shim.so preloaded? LD_PRELOAD="
                      << (getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
  }
  void TearDown() override {
    if (fd_ >= 0) {
      EXPECT_EQ(close(fd_), 0);
    }
  }
  int fd_ = -1;
};

// --- the node -----------------------------------------------------------------

TEST_F(Shim, OpenGivesAModelFileOfTheChosenDriver) {
  EXPECT_EQ(driver_name(fd_), "panthor");
  // A real fd: the kernel knows the number.
  EXPECT_GE(fcntl(fd_, F_GETFD), 0);
}

TEST_F(Shim, EveryOpenIsANewFile) {
  int other = open_node();
  ASSERT_GE(other, 0);
  uint32_t h = create_bo(fd_);
  ASSERT_NE(h, 0u);
  EXPECT_EQ(gem_close(other, h), EINVAL) << "a handle of one open is not in another";
  EXPECT_EQ(gem_close(fd_, h), 0);
  EXPECT_EQ(close(other), 0);
}

TEST_F(Shim, OpenFlagsAreHonoured) {
  EXPECT_TRUE(fcntl(fd_, F_GETFD) & FD_CLOEXEC);
  int plain = open_node(O_RDWR);
  ASSERT_GE(plain, 0);
  EXPECT_FALSE(fcntl(plain, F_GETFD) & FD_CLOEXEC);
  close(plain);
  int nb = open_node(O_RDWR | O_NONBLOCK);
  ASSERT_GE(nb, 0);
  EXPECT_TRUE(fcntl(nb, F_GETFL) & O_NONBLOCK);
  close(nb);
  errno = 0;
  EXPECT_EQ(open(kNode, O_RDONLY | O_DIRECTORY), -1);
  EXPECT_EQ(errno, ENOTDIR);
  EXPECT_EQ(open("/dev/dri/renderD128/", O_RDWR), -1);
  EXPECT_EQ(errno, ENOTDIR);
  int at = openat(AT_FDCWD, kNode, O_RDWR | O_CLOEXEC);
  ASSERT_GE(at, 0);
  EXPECT_EQ(driver_name(at), "panthor");
  close(at);
}

TEST_F(Shim, StatReportsCharDevice226_128) {
  struct stat by_path {}, by_fd {}, by_lpath {}, by_at {}, by_empty {};
  ASSERT_EQ(stat(kNode, &by_path), 0) << std::strerror(errno);
  ASSERT_EQ(lstat(kNode, &by_lpath), 0) << std::strerror(errno);
  ASSERT_EQ(fstat(fd_, &by_fd), 0) << std::strerror(errno);
  ASSERT_EQ(fstatat(AT_FDCWD, kNode, &by_at, 0), 0) << std::strerror(errno);
  ASSERT_EQ(fstatat(fd_, "", &by_empty, AT_EMPTY_PATH), 0) << std::strerror(errno);
  for (const struct stat* st : {&by_path, &by_fd, &by_lpath, &by_at, &by_empty}) {
    EXPECT_TRUE(S_ISCHR(st->st_mode)) << std::oct << st->st_mode;
    EXPECT_EQ(major(st->st_rdev), 226u);
    EXPECT_EQ(minor(st->st_rdev), 128u);
    EXPECT_EQ(st->st_ino, by_path.st_ino) << "one node, one inode";
    EXPECT_EQ(st->st_dev, by_path.st_dev);
  }
  struct statx sx {}, sx_fd {};
  ASSERT_EQ(statx(AT_FDCWD, kNode, 0, STATX_BASIC_STATS, &sx), 0) << std::strerror(errno);
  ASSERT_EQ(statx(fd_, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx_fd), 0) << std::strerror(errno);
  for (const struct statx* x : {&sx, &sx_fd}) {
    EXPECT_TRUE(S_ISCHR(x->stx_mode));
    EXPECT_EQ(x->stx_rdev_major, 226u);
    EXPECT_EQ(x->stx_rdev_minor, 128u);
    EXPECT_EQ(x->stx_ino, by_path.st_ino);
  }
}

TEST_F(Shim, AccessAndRealpathSeeTheNode) {
  EXPECT_EQ(access(kNode, F_OK), 0);
  EXPECT_EQ(access(kNode, R_OK | W_OK), 0);
  EXPECT_EQ(faccessat(AT_FDCWD, kNode, R_OK | W_OK, 0), 0);
  errno = 0;
  EXPECT_EQ(access(kNode, X_OK), -1);
  EXPECT_EQ(errno, EACCES);
  char buf[PATH_MAX];
  ASSERT_NE(realpath("/dev/dri/../dri/./renderD128", buf), nullptr) << std::strerror(errno);
  EXPECT_STREQ(buf, kNode);
  struct stat st;
  ASSERT_EQ(stat("/tmp/../dev//dri/./renderD128", &st), 0) << "a path that only leads there";
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  char* dup_path = realpath(kNode, nullptr);
  ASSERT_NE(dup_path, nullptr);
  EXPECT_STREQ(dup_path, kNode);
  free(dup_path);
  // /proc/self/fd names the node, as for a real render node.
  EXPECT_EQ(read_link(("/proc/self/fd/" + std::to_string(fd_)).c_str()), kNode);
}

TEST_F(Shim, SuccessfulCallsKeepErrno) {
  struct stat st;
  errno = 4242;
  ASSERT_EQ(stat(kNode, &st), 0);
  EXPECT_EQ(errno, 4242);
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_EQ(errno, 4242);
  EXPECT_EQ(driver_name(fd_), "panthor");
  EXPECT_EQ(errno, 4242);
  int d = dup(fd_);
  ASSERT_GE(d, 0);
  EXPECT_EQ(errno, 4242);
  EXPECT_EQ(close(d), 0);
  EXPECT_EQ(errno, 4242);
}

// --- the /dev/dri listing and sysfs ---------------------------------------------

bool lists(const char* dir, const char* name, unsigned char* type) {
  DIR* d = opendir(dir);
  EXPECT_NE(d, nullptr) << "opendir(" << dir << "): " << std::strerror(errno);
  if (!d) return false;
  EXPECT_GE(dirfd(d), 0);
  bool found = false;
  int count = 0;
  while (struct dirent* e = readdir(d)) {
    count++;
    if (std::strcmp(e->d_name, name) == 0) {
      EXPECT_FALSE(found) << name << " listed twice";
      found = true;
      *type = e->d_type;
    }
  }
  // rewinddir starts over.
  rewinddir(d);
  int again = 0;
  while (readdir(d)) again++;
  EXPECT_EQ(again, count);
  EXPECT_EQ(closedir(d), 0);
  return found;
}

TEST(ShimFs, DevDriListsTheRenderNode) {
  unsigned char type = DT_UNKNOWN;
  EXPECT_TRUE(lists("/dev/dri", "renderD128", &type));
  EXPECT_EQ(type, DT_CHR);
  EXPECT_TRUE(lists("/dev", "dri", &type)) << "/dev shows dri even where it has none";
  EXPECT_EQ(type, DT_DIR);
  // The real /dev entries stay.
  EXPECT_TRUE(lists("/dev", "null", &type));

  struct dirent** names = nullptr;
  int n = scandir("/dev/dri", &names, nullptr, alphasort);
  ASSERT_GT(n, 0) << std::strerror(errno);
  bool found = false;
  for (int i = 0; i < n; i++) {
    found |= std::strcmp(names[i]->d_name, "renderD128") == 0;
    if (i) {
      EXPECT_LT(std::strcmp(names[i - 1]->d_name, names[i]->d_name), 0) << "sorted";
    }
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  EXPECT_TRUE(found);

  struct stat st;
  ASSERT_EQ(stat("/dev/dri", &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(ShimFs, SysfsDescribesAPlatformDevice) {
  // What libdrm reads for drmGetDevices2 and drmGetDeviceNameFromFd2.
  struct stat st;
  ASSERT_EQ(stat("/sys/dev/char/226:128/device/drm", &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  std::string sub = read_link("/sys/dev/char/226:128/device/subsystem");
  EXPECT_EQ(sub.substr(sub.rfind('/')), "/platform") << sub;
  ASSERT_EQ(lstat("/sys/dev/char/226:128", &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  std::string uevent = read_file("/sys/dev/char/226:128/device/uevent");
  EXPECT_NE(uevent.find("DRIVER=panthor\n"), std::string::npos) << uevent;
  EXPECT_NE(uevent.find("OF_FULLNAME=/"), std::string::npos) << uevent;
  EXPECT_NE(uevent.find("OF_COMPATIBLE_N="), std::string::npos) << uevent;
  std::string minor_uevent = read_file("/sys/dev/char/226:128/uevent");
  EXPECT_NE(minor_uevent.find("DEVNAME=dri/renderD128\n"), std::string::npos) << minor_uevent;
  EXPECT_EQ(read_file("/sys/class/drm/renderD128/dev"), "226:128\n");
  unsigned char type = DT_UNKNOWN;
  EXPECT_TRUE(lists("/sys/dev/char/226:128/device/drm", "renderD128", &type));

  // Read-only, like sysfs attributes.
  errno = 0;
  EXPECT_EQ(open("/sys/dev/char/226:128/uevent", O_WRONLY), -1);
  EXPECT_EQ(errno, EACCES);
  int fd = open("/sys/dev/char/226:128/dev", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  char buf[16] = {};
  EXPECT_EQ(read(fd, buf, sizeof buf - 1), 8);
  EXPECT_STREQ(buf, "226:128\n");
  EXPECT_EQ(write(fd, "x", 1), -1);
  close(fd);
  // No extended attributes (ls -l asks for them).
  char xbuf[64];
  errno = 0;
  EXPECT_EQ(lgetxattr(kNode, "security.selinux", xbuf, sizeof xbuf), -1);
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(getxattr("/sys/dev/char/226:128/uevent", "system.posix_acl_access", xbuf, sizeof xbuf),
            -1);
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(listxattr(kNode, nullptr, 0), 0);
  EXPECT_EQ(llistxattr("/sys/dev/char/226:128", nullptr, 0), 0);

  // A name the fake directories do not have.
  errno = 0;
  EXPECT_EQ(stat("/sys/dev/char/226:128/device/nonexistent", &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST(ShimFs, OtherPathsAreUntouched) {
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(major(st.st_rdev), 1u);
  errno = 0;
  EXPECT_EQ(ioctl(fd, DRM_IOCTL_VERSION, nullptr), -1) << "not a DRM fd";
  EXPECT_EQ(errno, ENOTTY);
  void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (p != MAP_FAILED) munmap(p, 4096);  // /dev/null maps or refuses as the kernel says
  close(fd);

  char tmpl[] = "/tmp/wsys-shim-test-XXXXXX";
  int t = mkstemp(tmpl);
  ASSERT_GE(t, 0);
  ASSERT_EQ(write(t, "hello", 5), 5);
  ASSERT_EQ(fstat(t, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 5);
  int d = dup(t);
  ASSERT_GE(d, 0);
  close(t);
  EXPECT_EQ(lseek(d, 0, SEEK_SET), 0);
  char buf[8] = {};
  EXPECT_EQ(read(d, buf, 5), 5);
  EXPECT_STREQ(buf, "hello");
  close(d);
  EXPECT_EQ(unlink(tmpl), 0);

  errno = 0;
  EXPECT_EQ(stat("/dev/dri/card0", &st) == 0, access("/dev/dri/card0", F_OK) == 0)
      << "card0 is whatever the real system has";
  errno = 0;
  EXPECT_EQ(open("/dev/dri/renderD129", O_RDWR), -1);
  EXPECT_EQ(errno, ENOENT) << "only renderD128 is the shim's";
}

// --- dup and close ---------------------------------------------------------------

TEST_F(Shim, DupSharesTheFile) {
  uint32_t h1 = create_bo(fd_), h2 = create_bo(fd_), h3 = create_bo(fd_), h4 = create_bo(fd_);
  ASSERT_TRUE(h1 && h2 && h3 && h4);

  int d = dup(fd_);
  ASSERT_GE(d, 0);
  EXPECT_EQ(gem_close(d, h1), 0) << "dup";

  int f = fcntl(fd_, F_DUPFD_CLOEXEC, 100);
  ASSERT_GE(f, 100);
  EXPECT_TRUE(fcntl(f, F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(gem_close(f, h2), 0) << "F_DUPFD_CLOEXEC";

  int f2 = fcntl(fd_, F_DUPFD, 0);
  ASSERT_GE(f2, 0);
  EXPECT_EQ(gem_close(f2, h3), 0) << "F_DUPFD";

  int target = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(target, 0);
  ASSERT_EQ(dup2(fd_, target), target);
  EXPECT_EQ(driver_name(target), "panthor") << "dup2 over a plain fd";
  int target3 = open("/dev/null", O_RDONLY);
  ASSERT_GE(target3, 0);
  ASSERT_EQ(dup3(fd_, target3, O_CLOEXEC), target3);
  EXPECT_EQ(gem_close(target3, h4), 0) << "dup3";

  // All of them closed the handles of one file.
  for (uint32_t h : {h1, h2, h3, h4}) EXPECT_EQ(gem_close(fd_, h), EINVAL);
  for (int x : {d, f, f2, target, target3}) EXPECT_EQ(close(x), 0);
}

TEST_F(Shim, ClosingOneDupKeepsTheOtherWorking) {
  uint32_t h = create_bo(fd_);
  ASSERT_NE(h, 0u);
  int d = dup(fd_);
  ASSERT_GE(d, 0);
  ASSERT_EQ(close(fd_), 0);
  fd_ = -1;
  EXPECT_EQ(driver_name(d), "panthor");
  EXPECT_EQ(gem_close(d, h), 0) << "the file (and its handle) lives while a dup is open";
  EXPECT_EQ(close(d), 0);
  drm_gem_close c{};
  c.handle = h;
  errno = 0;
  EXPECT_EQ(ioctl(d, DRM_IOCTL_GEM_CLOSE, &c), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Shim, Dup2OverANodeFdReleasesIt) {
  int other = open_node();
  ASSERT_GE(other, 0);
  uint32_t h = create_bo(other);
  ASSERT_NE(h, 0u);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  ASSERT_EQ(dup2(null_fd, other), other);
  errno = 0;
  EXPECT_EQ(ioctl(other, DRM_IOCTL_VERSION, nullptr), -1) << "now /dev/null";
  EXPECT_EQ(errno, ENOTTY);
  close(other);
  close(null_fd);
}

TEST_F(Shim, IoctlOnAClosedFdIsEBADF) {
  int d = open_node();
  ASSERT_GE(d, 0);
  ASSERT_EQ(close(d), 0);
  char name[16];
  drm_version v{};
  v.name = name;
  v.name_len = sizeof name;
  errno = 0;
  EXPECT_EQ(ioctl(d, DRM_IOCTL_VERSION, &v), -1);
  EXPECT_EQ(errno, EBADF);
  errno = 0;
  EXPECT_EQ(close(d), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Shim, CloseRangeClosesNodeFds) {
  int d = open_node(O_RDWR);
  ASSERT_GE(d, 0);
  ASSERT_EQ(close_range(static_cast<unsigned>(d), static_cast<unsigned>(d), 0), 0);
  errno = 0;
  EXPECT_EQ(ioctl(d, DRM_IOCTL_VERSION, nullptr), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Shim, AnFdClosedBehindTheShimsBackIsNotTheNodeAnyMore) {
  int d = open_node(O_RDWR);
  ASSERT_GE(d, 0);
  // A raw system call: the shim does not see this close.
  ASSERT_EQ(syscall(SYS_close, d), 0);
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  int reused = p[0] == d ? p[0] : p[1] == d ? p[1] : -1;
  if (reused >= 0) {
    errno = 0;
    EXPECT_EQ(ioctl(reused, DRM_IOCTL_VERSION, nullptr), -1) << "the pipe is not a DRM file";
    EXPECT_EQ(errno, ENOTTY);
    struct stat st;
    ASSERT_EQ(fstat(reused, &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
  }
  close(p[0]);
  close(p[1]);
  EXPECT_GE(reused, 0) << "the kernel reuses the lowest free fd";
}

// --- mmap and PRIME -----------------------------------------------------------------

TEST_F(Shim, MmapFollowsTheKernelRules) {
  uint32_t h = create_bo(fd_);
  ASSERT_NE(h, 0u);
  uint64_t off = mmap_offset(fd_, h);
  ASSERT_NE(off, 0u);

  errno = 0;
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(off + 4096)),
            MAP_FAILED);
  EXPECT_EQ(errno, EINVAL) << "no object starts at that offset";
  errno = 0;
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd_, 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL) << "offset 0 is never an object's";
  errno = 0;
  EXPECT_EQ(mmap(nullptr, kBoSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_, static_cast<off_t>(off)),
            MAP_FAILED);
  EXPECT_EQ(errno, EINVAL) << "private mappings of GEM objects are refused";
  errno = 0;
  EXPECT_EQ(mmap(nullptr, 2 * kBoSize, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(off)),
            MAP_FAILED);
  EXPECT_EQ(errno, EINVAL) << "longer than the object";

  // Another file may not map an object it has no handle to.
  int other = open_node();
  ASSERT_GE(other, 0);
  errno = 0;
  EXPECT_EQ(mmap(nullptr, kBoSize, PROT_READ, MAP_SHARED, other, static_cast<off_t>(off)),
            MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  close(other);

  void* p = mmap(nullptr, kBoSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(off));
  ASSERT_NE(p, MAP_FAILED) << std::strerror(errno);
  std::memset(p, 0x5a, kBoSize);
  // A mapping outlives the handle, as in the kernel.
  EXPECT_EQ(gem_close(fd_, h), 0);
  EXPECT_EQ(static_cast<unsigned char*>(p)[kBoSize - 1], 0x5a);
  EXPECT_EQ(munmap(p, kBoSize), 0);
}

TEST_F(Shim, PrimeExportImportGivesTheSameObject) {
  uint32_t h = create_bo(fd_);
  ASSERT_NE(h, 0u);
  drm_prime_handle exp{};
  exp.handle = h;
  exp.flags = DRM_CLOEXEC | DRM_RDWR;
  exp.fd = -1;
  ASSERT_EQ(xioctl(fd_, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp), 0) << std::strerror(errno);
  ASSERT_GE(exp.fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(exp.fd, &st), 0);
  EXPECT_FALSE(S_ISCHR(st.st_mode)) << "a dma-buf fd is not the node";
  EXPECT_GE(static_cast<uint64_t>(st.st_size), kBoSize);

  drm_prime_handle imp{};
  imp.fd = exp.fd;
  ASSERT_EQ(xioctl(fd_, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp), 0) << std::strerror(errno);
  EXPECT_EQ(imp.handle, h) << "re-importing into the exporter gives its handle";

  // Another open imports the same memory.
  int other = open_node();
  ASSERT_GE(other, 0);
  drm_prime_handle imp2{};
  imp2.fd = exp.fd;
  ASSERT_EQ(xioctl(other, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp2), 0) << std::strerror(errno);
  ASSERT_NE(imp2.handle, 0u);
  void* a = mmap(nullptr, kBoSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
                 static_cast<off_t>(mmap_offset(fd_, h)));
  void* b = mmap(nullptr, kBoSize, PROT_READ, MAP_SHARED, other,
                 static_cast<off_t>(mmap_offset(other, imp2.handle)));
  ASSERT_NE(a, MAP_FAILED);
  ASSERT_NE(b, MAP_FAILED);
  static_cast<volatile uint32_t*>(a)[7] = 0xfeedf00d;
  EXPECT_EQ(static_cast<volatile uint32_t*>(b)[7], 0xfeedf00du);
  munmap(a, kBoSize);
  munmap(b, kBoSize);

  // The node fd itself is not a dma-buf.
  drm_prime_handle bad{};
  bad.fd = fd_;
  EXPECT_EQ(xioctl(other, DRM_IOCTL_PRIME_FD_TO_HANDLE, &bad), EINVAL);
  close(other);
  close(exp.fd);
}

// --- driver selection -----------------------------------------------------------------

class EnvGuard {
 public:
  explicit EnvGuard(const char* value) {
    const char* old = getenv("WSYS_SIM_DRIVER");
    had_ = old != nullptr;
    if (old) old_ = old;
    setenv("WSYS_SIM_DRIVER", value, 1);
  }
  ~EnvGuard() {
    if (had_)
      setenv("WSYS_SIM_DRIVER", old_.c_str(), 1);
    else
      unsetenv("WSYS_SIM_DRIVER");
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST(ShimDriver, WsysSimDriverChoosesTheDeviceAtOpen) {
  {
    EnvGuard g("panfrost");
    int fd = open_node();
    ASSERT_GE(fd, 0) << std::strerror(errno);
    EXPECT_EQ(driver_name(fd), "panfrost");
    EXPECT_NE(read_file("/sys/dev/char/226:128/device/uevent").find("DRIVER=panfrost\n"),
              std::string::npos);
    close(fd);
  }
  int fd = open_node();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(driver_name(fd), "panthor");
  close(fd);
}

TEST(ShimDriver, ABadValueFailsWithENODEVAndSaysWhy) {
  EnvGuard g("radeon");
  ::testing::internal::CaptureStderr();
  errno = 0;
  int fd = open_node();
  int err = errno;
  std::string msg = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(err, ENODEV);
  EXPECT_NE(msg.find("WSYS_SIM_DRIVER"), std::string::npos) << msg;
  EXPECT_NE(msg.find("radeon"), std::string::npos) << msg;
  if (fd >= 0) close(fd);
  // The node is still there, like a device whose driver failed to bind.
  struct stat st;
  EXPECT_EQ(stat(kNode, &st), 0);
}

// --- threads ----------------------------------------------------------------------------

TEST(ShimThreads, ConcurrentOpenDupIoctlClose) {
  constexpr int kThreads = 4, kRounds = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; i++) {
        int fd = open_node();
        if (fd < 0) {
          failures++;
          continue;
        }
        int d = dup(fd);
        if (driver_name(d) != "panthor") failures++;
        close(fd);
        if (driver_name(d) != "panthor") failures++;
        struct stat st;
        if (fstat(d, &st) != 0 || !S_ISCHR(st.st_mode)) failures++;
        close(d);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
