// GEM objects and PRIME through the DrmFile boundary, for both drivers:
// sizes, CPU mappings and their rules, GEM_CLOSE, handles per file, PRIME
// between files and between processes, VERSION and GET_CAP.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dev_test_util.h"

using namespace wsys::sim;
using namespace wsys::sim::devtest;

namespace {

class Gem : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    a_ = open_model_file(GetParam());
    b_ = open_model_file(GetParam());
    ASSERT_TRUE(a_ && b_);
  }
  bool panthor() const { return std::string(GetParam()) == "panthor"; }
  // Plain flags for a mappable, exportable BO of the driver.
  uint32_t flags() const { return panthor() ? 0 : PANFROST_BO_NOEXEC; }
  uint32_t create(SimDrmFile& f, uint64_t size) {
    uint32_t h = 0;
    int r = create_bo(f, size, &h, flags());
    EXPECT_EQ(r, 0) << "create_bo(" << size << ")";
    return r ? 0 : h;
  }
  void SkipIfNoVm() {
    // panfrost objects get a GPU mapping at creation, which needs SimVm.
    if (!panthor()) {
      uint32_t h = 0;
      if (create_bo(*a_, 4096, &h, PANFROST_BO_NOEXEC) == -EOPNOTSUPP)
        GTEST_SKIP() << "SimVm is not implemented in this tree yet";
      gem_close(*a_, h);
    }
  }
  uint64_t offset(SimDrmFile& f, uint32_t h) {
    uint64_t off = 0;
    EXPECT_EQ(mmap_offset(f, h, &off), 0);
    return off;
  }
  std::unique_ptr<SimDrmFile> a_, b_;
};

TEST_P(Gem, VersionThroughIoctl) {
  drm_version v{};
  ASSERT_EQ(a_->ioctl(DRM_IOCTL_VERSION, &v), 0);
  EXPECT_EQ(v.version_major, 1);
  EXPECT_EQ(v.version_minor, panthor() ? 9 : 6);  // the newest (driver_version.h)
  EXPECT_EQ(v.name_len, std::strlen(GetParam()));
  char name[32] = {}, date[32] = {}, desc[128] = {};
  v.name = name;
  v.name_len = sizeof name;
  v.date = date;
  v.date_len = sizeof date;
  v.desc = desc;
  v.desc_len = sizeof desc;
  ASSERT_EQ(a_->ioctl(DRM_IOCTL_VERSION, &v), 0);
  EXPECT_STREQ(name, GetParam());
  EXPECT_GT(v.date_len, 0u);
  EXPECT_GT(v.desc_len, 0u);
  EXPECT_EQ(a_->version().minor, v.version_minor);
}

TEST_P(Gem, GetCapThroughIoctl) {
  struct Case {
    uint64_t cap;
    int ret;
    uint64_t value;
  } cases[] = {
      {DRM_CAP_PRIME, 0, DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT},
      {DRM_CAP_SYNCOBJ, 0, 1},
      // DRIVER_SYNCOBJ_TIMELINE: panthor has it, panfrost does not.
      {DRM_CAP_SYNCOBJ_TIMELINE, 0, panthor() ? 1u : 0u},
      {0x7777, -EINVAL, 0},
  };
  for (const Case& c : cases) {
    drm_get_cap g{};
    g.capability = c.cap;
    EXPECT_EQ(a_->ioctl(DRM_IOCTL_GET_CAP, &g), c.ret) << c.cap;
    if (c.ret == 0) {
      EXPECT_EQ(g.value, c.value) << c.cap;
    }
  }
}

TEST_P(Gem, SizesArePageAligned) {
  SkipIfNoVm();
  for (uint64_t size : {1ull, 100ull, 4096ull, 4097ull, 65535ull}) {
    uint32_t h = 0;
    uint64_t got = 0;
    ASSERT_EQ(create_bo(*a_, size, &h, flags(), &got), 0);
    uint64_t want = (size + 4095) & ~4095ull;
    EXPECT_EQ(got, want) << size;
    EXPECT_EQ(a_->file().lookup_bo(h)->size(), want);
    // The whole page-aligned object can be mapped, not a byte more.
    uint64_t off = offset(*a_, h);
    auto p = a_->mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED, off);
    ASSERT_TRUE(p.ok()) << size;
    EXPECT_EQ(a_->munmap(*p, want), 0);
    auto q = a_->mmap(nullptr, want + 1, PROT_READ, MAP_SHARED, off);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error(), -EINVAL);
  }
}

TEST_P(Gem, MmapWriteThenReadBack) {
  SkipIfNoVm();
  const size_t size = 3 * 4096;
  uint32_t h = create(*a_, size);
  ASSERT_NE(h, 0u);
  uint64_t off = offset(*a_, h);
  auto p = a_->mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, off);
  ASSERT_TRUE(p.ok());
  auto* w = static_cast<uint8_t*>(*p);
  EXPECT_EQ(w[0] | w[size - 1], 0) << "new objects are zeroed";
  for (size_t i = 0; i < size; i++) w[i] = static_cast<uint8_t>(i * 7 + 3);
  ASSERT_EQ(a_->munmap(*p, size), 0);
  // A new mapping (read-only) sees the same bytes.
  auto q = a_->mmap(nullptr, size, PROT_READ, MAP_SHARED, off);
  ASSERT_TRUE(q.ok());
  auto* r = static_cast<const uint8_t*>(*q);
  for (size_t i = 0; i < size; i++) ASSERT_EQ(r[i], static_cast<uint8_t>(i * 7 + 3)) << i;
  EXPECT_EQ(a_->munmap(*q, size), 0);
}

TEST_P(Gem, MmapRules) {
  SkipIfNoVm();
  uint32_t h = create(*a_, 2 * 4096);
  ASSERT_NE(h, 0u);
  uint64_t off = offset(*a_, h);
  const int rw = PROT_READ | PROT_WRITE;
  struct Case {
    const char* what;
    SimDrmFile* file;
    uint64_t off;
    size_t len;
    int flags;
    int ret;
  } cases[] = {
      {"offset inside the object", a_.get(), off + 4096, 4096, MAP_SHARED, -EINVAL},
      {"offset of no object", a_.get(), off + (1ull << 40), 4096, MAP_SHARED, -EINVAL},
      {"offset 0", a_.get(), 0, 4096, MAP_SHARED, -EINVAL},
      {"length beyond the object", a_.get(), off, 3 * 4096, MAP_SHARED, -EINVAL},
      {"length 0", a_.get(), off, 0, MAP_SHARED, -EINVAL},
      {"MAP_PRIVATE", a_.get(), off, 4096, MAP_PRIVATE, -EINVAL},
      {"a file without a handle", b_.get(), off, 4096, MAP_SHARED, -EACCES},
      {"ok, part", a_.get(), off, 4096, MAP_SHARED, 0},
      {"ok, whole", a_.get(), off, 2 * 4096, MAP_SHARED, 0},
  };
  for (const Case& c : cases) {
    auto p = c.file->mmap(nullptr, c.len, rw, c.flags, c.off);
    if (c.ret == 0) {
      ASSERT_TRUE(p.ok()) << c.what;
      c.file->munmap(*p, c.len);
    } else {
      ASSERT_FALSE(p.ok()) << c.what;
      EXPECT_EQ(p.error(), c.ret) << c.what;
    }
  }
  // Once b holds a handle (PRIME), b may map the object too.
  auto fd = a_->prime_handle_to_fd(h, DRM_CLOEXEC);
  ASSERT_TRUE(fd.ok());
  auto hb = b_->prime_fd_to_handle(*fd);
  close(*fd);
  ASSERT_TRUE(hb.ok());
  auto p = b_->mmap(nullptr, 4096, rw, MAP_SHARED, off);
  ASSERT_TRUE(p.ok());
  b_->munmap(*p, 4096);
}

TEST_P(Gem, GemCloseTwice) {
  SkipIfNoVm();
  SimDevice* dev = a_->file().device();
  uint64_t live = dev->live_bos();
  uint32_t h = create(*a_, 4096);
  ASSERT_NE(h, 0u);
  EXPECT_EQ(dev->live_bos(), live + 1);
  EXPECT_EQ(gem_close(*a_, h), 0);
  EXPECT_EQ(dev->live_bos(), live) << "the last handle held the last reference";
  EXPECT_EQ(gem_close(*a_, h), -EINVAL);
  EXPECT_EQ(gem_close(*a_, 0), -EINVAL);
  uint64_t off = 0;
  EXPECT_EQ(mmap_offset(*a_, h, &off), -ENOENT);
  // The handle number is free again (lowest free, as idr does).
  uint32_t h2 = create(*a_, 4096);
  EXPECT_EQ(h2, h);
}

TEST_P(Gem, HandlesAreInvisibleToOtherFiles) {
  SkipIfNoVm();
  uint32_t h = create(*a_, 4096);
  ASSERT_NE(h, 0u);
  uint64_t off = 0;
  EXPECT_EQ(mmap_offset(*b_, h, &off), -ENOENT);
  EXPECT_EQ(gem_close(*b_, h), -EINVAL);
  auto fd = b_->prime_handle_to_fd(h, DRM_CLOEXEC);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error(), -ENOENT);
  if (!panthor()) {
    uint64_t va = 0;
    EXPECT_EQ(bo_gpu_va(*b_, h, &va), -ENOENT);
  }
  // a still has it.
  EXPECT_EQ(mmap_offset(*a_, h, &off), 0);
}

TEST_P(Gem, PrimeBetweenFilesSharesMemory) {
  SkipIfNoVm();
  uint32_t ha = create(*a_, 4096);
  ASSERT_NE(ha, 0u);
  auto fd = a_->prime_handle_to_fd(ha, DRM_CLOEXEC | DRM_RDWR);
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(fcntl(*fd, F_GETFD) & FD_CLOEXEC);
  auto hb = b_->prime_fd_to_handle(*fd);
  close(*fd);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(a_->file().lookup_bo(ha), b_->file().lookup_bo(*hb)) << "one object, two handles";

  auto pa = a_->mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, offset(*a_, ha));
  auto pb = b_->mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, offset(*b_, *hb));
  ASSERT_TRUE(pa.ok() && pb.ok());
  std::memcpy(*pa, "from a", 7);
  EXPECT_STREQ(static_cast<const char*>(*pb), "from a");
  std::memcpy(*pb, "from b", 7);
  EXPECT_STREQ(static_cast<const char*>(*pa), "from b");
  a_->munmap(*pa, 4096);
  b_->munmap(*pb, 4096);

  // The object outlives the exporter's handle.
  ASSERT_EQ(gem_close(*a_, ha), 0);
  auto pc = b_->mmap(nullptr, 4096, PROT_READ, MAP_SHARED, offset(*b_, *hb));
  ASSERT_TRUE(pc.ok());
  EXPECT_STREQ(static_cast<const char*>(*pc), "from b");
  b_->munmap(*pc, 4096);
}

TEST_P(Gem, ImportingTheSameBufferTwiceGivesTheSameHandle) {
  SkipIfNoVm();
  uint32_t ha = create(*a_, 4096);
  ASSERT_NE(ha, 0u);
  auto fd1 = a_->prime_handle_to_fd(ha, DRM_CLOEXEC);
  auto fd2 = a_->prime_handle_to_fd(ha, DRM_CLOEXEC);
  ASSERT_TRUE(fd1.ok() && fd2.ok());
  size_t before = b_->file().bo_handle_count();
  auto h1 = b_->prime_fd_to_handle(*fd1);
  auto h2 = b_->prime_fd_to_handle(*fd2);
  auto h3 = b_->prime_fd_to_handle(*fd1);
  ASSERT_TRUE(h1.ok() && h2.ok() && h3.ok());
  EXPECT_EQ(*h1, *h2);
  EXPECT_EQ(*h1, *h3);
  EXPECT_EQ(b_->file().bo_handle_count(), before + 1);
  close(*fd1);
  close(*fd2);
}

TEST_P(Gem, ReimportIntoTheExporterGivesTheOriginalHandle) {
  SkipIfNoVm();
  uint32_t other = create(*a_, 4096);
  uint32_t h = create(*a_, 8192);
  ASSERT_TRUE(other && h);
  auto fd = a_->prime_handle_to_fd(h, DRM_CLOEXEC);
  ASSERT_TRUE(fd.ok());
  size_t before = a_->file().bo_handle_count();
  auto back = a_->prime_fd_to_handle(*fd);
  close(*fd);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  EXPECT_EQ(a_->file().bo_handle_count(), before);
}

TEST_P(Gem, PrimeValidation) {
  SkipIfNoVm();
  uint32_t h = create(*a_, 4096);
  ASSERT_NE(h, 0u);
  auto bad_flags = a_->prime_handle_to_fd(h, 0x4000);
  ASSERT_FALSE(bad_flags.ok());
  EXPECT_EQ(bad_flags.error(), -EINVAL);
  auto bad_handle = a_->prime_handle_to_fd(9999, DRM_CLOEXEC);
  ASSERT_FALSE(bad_handle.ok());
  EXPECT_EQ(bad_handle.error(), -ENOENT);
  auto bad_fd = b_->prime_fd_to_handle(-1);
  ASSERT_FALSE(bad_fd.ok());
  EXPECT_EQ(bad_fd.error(), -EBADF);
  // A file descriptor that is not one of the model's buffers.
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  auto not_dmabuf = b_->prime_fd_to_handle(pipefd[0]);
  close(pipefd[0]);
  close(pipefd[1]);
  ASSERT_FALSE(not_dmabuf.ok());
  EXPECT_EQ(not_dmabuf.error(), -EINVAL);
}

TEST(GemPanthor, NoMmapObjectsCannotBeMapped) {
  auto a = open_model_file("panthor");
  ASSERT_TRUE(a);
  uint32_t h = 0;
  ASSERT_EQ(create_bo(*a, 4096, &h, DRM_PANTHOR_BO_NO_MMAP), 0);
  uint64_t off = 0;
  ASSERT_EQ(mmap_offset(*a, h, &off), 0);
  auto p = a->mmap(nullptr, 4096, PROT_READ, MAP_SHARED, off);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error(), -EINVAL);
}

TEST(GemPanthor, ExportIsRefusedForExclusiveVmBos) {
  auto a = open_model_file("panthor");
  ASSERT_TRUE(a);
  drm_panthor_vm_create v{};
  int r = a->ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &v);
  if (r == -EOPNOTSUPP) GTEST_SKIP() << "VM_CREATE is not modelled in this tree yet";
  ASSERT_EQ(r, 0);
  drm_panthor_bo_create c{};
  c.size = 4096;
  c.exclusive_vm_id = v.id;
  ASSERT_EQ(a->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), 0);
  auto fd = a->prime_handle_to_fd(c.handle, DRM_CLOEXEC);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error(), -EINVAL);
  // The same file can still export its ordinary BOs.
  uint32_t plain = 0;
  ASSERT_EQ(create_bo(*a, 4096, &plain), 0);
  auto ok = a->prime_handle_to_fd(plain, DRM_CLOEXEC);
  ASSERT_TRUE(ok.ok());
  close(*ok);
}

// SCM_RIGHTS helpers.
bool send_fd(int sock, int fd) {
  char byte = 'f';
  iovec io{&byte, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) == 1;
}

int recv_fd(int sock) {
  char byte;
  iovec io{&byte, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  if (recvmsg(sock, &msg, 0) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

TEST_P(Gem, PrimeAcrossProcesses) {
  SkipIfNoVm();
  const size_t size = 2 * 4096;
  uint32_t h = create(*a_, size);
  ASSERT_NE(h, 0u);
  auto fd = a_->prime_handle_to_fd(h, DRM_CLOEXEC | DRM_RDWR);
  ASSERT_TRUE(fd.ok());
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const std::string driver = GetParam();

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: its own model file, the buffer by fd only.
    close(sv[0]);
    int got = recv_fd(sv[1]);
    if (got < 0) _exit(10);
    auto f = SimDrmFile::open(driver);
    if (!f.ok()) _exit(11);
    auto ch = (*f)->prime_fd_to_handle(got);
    if (!ch.ok()) _exit(100 - ch.error());
    uint64_t off = 0;
    if (mmap_offset(**f, *ch, &off)) _exit(13);
    auto p = (*f)->mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, off);
    if (!p.ok()) _exit(14);
    auto* w = static_cast<uint32_t*>(*p);
    for (uint32_t i = 0; i < size / 4; i++) w[i] = 0xc0de0000u + i;
    (*f)->munmap(*p, size);
    char done = 'd';
    if (write(sv[1], &done, 1) != 1) _exit(15);
    _exit(0);
  }
  close(sv[1]);
  ASSERT_TRUE(send_fd(sv[0], *fd));
  close(*fd);
  char done = 0;
  EXPECT_EQ(read(sv[0], &done, 1), 1);
  close(sv[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "child step failed";

  auto p = a_->mmap(nullptr, size, PROT_READ, MAP_SHARED, offset(*a_, h));
  ASSERT_TRUE(p.ok());
  auto* r = static_cast<const uint32_t*>(*p);
  for (uint32_t i = 0; i < size / 4; i++) ASSERT_EQ(r[i], 0xc0de0000u + i) << i;
  a_->munmap(*p, size);
}

// Several threads create, share, map and close objects on the same two
// files at once: handles, the per-file VA space (panfrost) and object
// lifetimes must stay consistent, and everything must be released after.
TEST_P(Gem, ConcurrentCreateShareClose) {
  SkipIfNoVm();
  SimDevice* dev = a_->file().device();
  const uint64_t live = dev->live_bos();
  constexpr int kThreads = 4, kIters = 60;
  std::atomic<int> failures{0};
  auto worker = [&](int t) {
    for (int i = 0; i < kIters; i++) {
      uint32_t ha = 0;
      uint64_t size = static_cast<uint64_t>(1 + (i + t) % 4) * 4096;
      uint64_t va = 0;
      if (create_bo(*a_, size, &ha, flags(), nullptr, &va)) {
        failures++;
        continue;
      }
      if (!panthor() && (va < (32ull << 20) || va + size > (4ull << 30))) failures++;
      auto fd = a_->prime_handle_to_fd(ha, DRM_CLOEXEC);
      if (!fd.ok()) {
        failures++;
        continue;
      }
      auto hb = b_->prime_fd_to_handle(*fd);
      close(*fd);
      if (!hb.ok()) {
        failures++;
        continue;
      }
      uint64_t ob = 0, oa = 0;
      if (mmap_offset(*b_, *hb, &ob) || mmap_offset(*a_, ha, &oa)) {
        failures++;
        continue;
      }
      auto pb = b_->mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, ob);
      auto pa = a_->mmap(nullptr, size, PROT_READ, MAP_SHARED, oa);
      if (!pb.ok() || !pa.ok()) {
        failures++;
        continue;
      }
      uint32_t tag = static_cast<uint32_t>(t * 100000 + i);
      *static_cast<volatile uint32_t*>(*pb) = tag;
      if (*static_cast<volatile uint32_t*>(*pa) != tag) failures++;
      b_->munmap(*pb, size);
      a_->munmap(*pa, size);
      // The import may already be closed by nobody else: each thread owns
      // its own objects, so both closes must succeed exactly once.
      if (gem_close(*b_, *hb) || gem_close(*a_, ha)) failures++;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(a_->file().bo_handle_count(), 0u);
  EXPECT_EQ(b_->file().bo_handle_count(), 0u);
  EXPECT_EQ(dev->live_bos(), live);
  if (!panthor()) {
    // Every VA range went back: the whole space is one free range again.
    for (SimDrmFile* f : {a_.get(), b_.get()}) {
      uint32_t h = 0;
      uint64_t va = 0;
      ASSERT_EQ(create_bo(*f, (4ull << 30) - (32ull << 20), &h, PANFROST_BO_NOEXEC, nullptr, &va),
                0);
      EXPECT_EQ(va, 32ull << 20);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, Gem, ::testing::Values("panthor", "panfrost"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param);
                         });

}  // namespace
