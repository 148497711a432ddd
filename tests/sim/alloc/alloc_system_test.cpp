// The central allocator over a system file (a model extension, issue 19;
// src/winsys/sim/alloc_system.h, alloc_state.h): two allocators on one file
// share buffers, attachments, placements and the CMA pool; a process that
// dies holding the lock leaves the tables repaired for the next locker; a
// process that dies holding references loses them; a file of another
// layout is refused with the reason. The two processes of a real system
// under the drm-shim: tests/shim/shim_shared_alloc_test.c.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/alloc_file.h"
#include "winsys/sim/alloc_system.h"
#include "winsys/sim/shared_alloc.h"

namespace wsys::sim {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

// A fresh directory for one test's system file, removed afterwards.
class AllocSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/wsys-alloc-system-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/system.alloc";
    cfg_.cma_size = 16 * kMiB;
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::unique_ptr<SharedAllocator> open() {
    std::string why;
    auto a = SharedAllocator::open_system(path_, cfg_, &why);
    EXPECT_TRUE(a) << why;
    return a;
  }
  std::string dir_, path_;
  PhysLayoutConfig cfg_;
};

TEST_F(AllocSystem, TwoMappingsShareBuffersAttachmentsAndThePool) {
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  SharedBufferPtr buf;
  int fd = -1;
  ASSERT_EQ(a->create(2 * kMiB, WSYS_ALLOC_USE_DISPLAY, false, &buf, &fd), 0);
  // The other mapping finds the buffer behind the fd and attaches to it.
  int err = 0;
  SharedBufferPtr seen = b->find(fd, &err);
  ASSERT_TRUE(seen) << err;
  SharedAttachmentPtr disp;
  uint32_t unmet = 0;
  ASSERT_EQ(b->attach(seen, WSYS_ALLOC_DOMAIN_DISPLAY, display_constraints(), &disp, &unmet), 0);
  EXPECT_EQ(buf->state().attachments, 1u);
  // A first use through one places it for the other's constraints too.
  ASSERT_EQ(a->cpu_map(*buf), 0);
  SharedBuffer::State s = seen->state();
  ASSERT_TRUE(s.finalized);
  ASSERT_EQ(s.placement.extents.size(), 1u);
  EXPECT_LT(s.placement.extents[0].addr + s.placement.extents[0].size, 1ull << 32);
  EXPECT_EQ(buf->state().placement.extents[0].addr, s.placement.extents[0].addr);
  // One CMA pool: an up-front buffer through one is counted by the other.
  SharedBufferPtr big;
  ASSERT_EQ(a->create(12 * kMiB, WSYS_ALLOC_USE_DISPLAY, true, &big, nullptr), 0);
  EXPECT_EQ(b->stats().cma_used, 12 * kMiB);
  SharedBufferPtr more;
  EXPECT_EQ(b->create(8 * kMiB, WSYS_ALLOC_USE_DISPLAY, true, &more, nullptr), -ENOMEM);
  big.reset();
  EXPECT_EQ(b->stats().cma_used, 0u);
  // The last reference of either goes: the record with it.
  disp.reset();
  seen.reset();
  buf.reset();
  EXPECT_FALSE(a->find(fd, &err));
  EXPECT_EQ(err, 0);
  close(fd);
}

// A process that dies holding the lock, in the middle of an update (here:
// extents taken from the layout and recorded nowhere): the next locker
// gets EOWNERDEAD and rebuilds the layout from the buffer records.
TEST_F(AllocSystem, ALockHolderThatDiedLeavesTheTablesRepaired) {
  auto a = open();
  ASSERT_TRUE(a);
  SharedBufferPtr kept;
  ASSERT_EQ(a->create(4 * kMiB, WSYS_ALLOC_USE_DISPLAY, true, &kept, nullptr), 0);
  ASSERT_EQ(a->stats().cma_used, 4 * kMiB);
  std::string why;
  AllocState* st = map_system(path_, cfg_, &why);
  ASSERT_NE(st, nullptr) << why;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // No allocation here: only the lock and the layout's own arrays.
    if (!st->lock()) _exit(2);
    PhysExtent e;
    st->layout.alloc_single(PhysZone::Cma, 8 * kMiB, PhysLayout::kPage, ~0ull, &e);
    _exit(0);  // dies holding the lock
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The leak is in the layout until someone locks.
  EXPECT_EQ(st->layout.used_bytes(PhysZone::Cma), 12 * kMiB);
  SharedAllocStats s = a->stats();
  EXPECT_EQ(s.cma_used, 4 * kMiB) << "the layout is rebuilt from the records";
  EXPECT_EQ(s.cma_largest_free, 12 * kMiB);
  // The lock works as before, and the kept buffer is intact.
  EXPECT_TRUE(kept->state().finalized);
  SharedBufferPtr next;
  EXPECT_EQ(a->create(12 * kMiB, WSYS_ALLOC_USE_DISPLAY, true, &next, nullptr), 0);
  unmap_state(st);
}

// A process that dies holding a reference and an attachment (without the
// lock): the next operation of anyone in the system drops them.
TEST_F(AllocSystem, AProcessThatDiedLosesItsReferencesAndAttachments) {
  auto a = open();
  ASSERT_TRUE(a);
  SharedBufferPtr buf;
  int fd = -1;
  ASSERT_EQ(a->create(kMiB, WSYS_ALLOC_USE_CAMERA, false, &buf, &fd), 0);
  int rep[2];
  ASSERT_EQ(pipe(rep), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto b = open();
    SharedBufferPtr seen = b ? b->find(fd) : nullptr;
    SharedAttachmentPtr cam;
    uint32_t unmet = 0;
    char ok = seen &&
                      b->attach(seen, WSYS_ALLOC_DOMAIN_CAMERA, camera_constraints(), &cam,
                                &unmet) == 0 &&
                      b->map(*cam) == 0
                  ? 'y'
                  : 'n';
    if (write(rep[1], &ok, 1) != 1) _exit(3);
    pause();  // killed here, everything held
    _exit(0);
  }
  close(rep[1]);
  char ok = 0;
  ASSERT_EQ(read(rep[0], &ok, 1), 1);
  EXPECT_EQ(ok, 'y');
  SharedBuffer::State s = buf->state();
  EXPECT_EQ(s.attachments, 1u);
  EXPECT_TRUE(s.mapped && s.finalized);
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  s = buf->state();
  EXPECT_EQ(s.attachments, 0u);
  EXPECT_FALSE(s.mapped);
  EXPECT_TRUE(s.finalized) << "this process still holds it";
  buf.reset();
  EXPECT_EQ(a->stats().cma_used, 0u);
  close(rep[0]);
  close(fd);
}

TEST_F(AllocSystem, AFileOfAnotherLayoutIsRefusedWithTheReason) {
  {
    std::ofstream f(path_);
    f << "not an allocator system";
  }
  std::string why;
  EXPECT_FALSE(SharedAllocator::open_system(path_, cfg_, &why));
  EXPECT_NE(why.find("another version"), std::string::npos) << why;
  EXPECT_NE(why.find(path_), std::string::npos) << why;
}

TEST_F(AllocSystem, TheVariableNamesAFileOrPrivate) {
  std::string why;
  setenv(kSystemEnv, "private", 1);
  EXPECT_EQ(system_path(&why), "");
  setenv(kSystemEnv, "/some/file", 1);
  EXPECT_EQ(system_path(&why), "/some/file");
  // A name: a file in the statistics segment's directory.
  const char* old_dir = std::getenv("WSYS_STATS_DIR");
  const std::string kept = old_dir ? old_dir : "";
  setenv("WSYS_STATS_DIR", dir_.c_str(), 1);
  setenv(kSystemEnv, "abc", 1);
  EXPECT_EQ(system_path(&why), dir_ + "/sim-system-abc.alloc");
  EXPECT_TRUE(why.empty()) << why;
  setenv(kSystemEnv, "bad name!", 1);
  EXPECT_EQ(system_path(&why), "");
  EXPECT_NE(why.find(kSystemEnv), std::string::npos) << why;
  // Unset: the process's default (the drm-shim's is "default").
  unsetenv(kSystemEnv);
  why.clear();
  EXPECT_EQ(system_path(&why), "");
  set_default_system("default");
  EXPECT_EQ(system_path(&why), dir_ + "/sim-system-default.alloc");
  set_default_system("private");
  if (old_dir)
    setenv("WSYS_STATS_DIR", kept.c_str(), 1);
  else
    unsetenv("WSYS_STATS_DIR");
}

}  // namespace
}  // namespace wsys::sim
