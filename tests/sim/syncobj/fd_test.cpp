// Syncobj fds, sync_files and eventfds: real file descriptors that behave
// like the kernel's (sharing between files, snapshots, poll readiness).
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <chrono>
#include <thread>

#include "syncobj_test_util.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/foreign_sync_file.h"
#include "winsys/sim/syncobj_fd.h"

using namespace wsys::sim;
using namespace wsys::sim::test;

namespace {

constexpr uint32_t EXPORT = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
constexpr uint32_t IMPORT = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
constexpr uint32_t AVAIL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Reads an eventfd's counter without blocking (0 if nothing was written).
uint64_t drain(int efd) {
  uint64_t v = 0;
  pollfd p{efd, POLLIN, 0};
  if (poll(&p, 1, 0) != 1) return 0;
  if (read(efd, &v, sizeof v) != sizeof v) return 0;
  return v;
}

class SyncobjFd : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = open_model_file("panthor");
    ASSERT_TRUE(file_);
    s_ = std::make_unique<Sync>(file_.get());
  }
  Sync& s() { return *s_; }
  int sync_file(uint32_t h) {
    int fd = -1;
    EXPECT_EQ(s().to_fd(h, EXPORT, &fd), 0);
    return fd;
  }
  std::unique_ptr<SimDrmFile> file_;
  std::unique_ptr<Sync> s_;
};

TEST_F(SyncobjFd, SyncFileBecomesReadableWhenItsFenceSignals) {
  uint32_t h = s().make(false);
  FencePtr f = s().pending(h);
  int fd = sync_file(h);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(readable_now(fd));
  std::thread t([&] {
    pause_ms(10);
    f->signal();
  });
  EXPECT_TRUE(readable_within(fd, 30000));
  EXPECT_TRUE(f->is_signalled());
  t.join();
  close(fd);
}

TEST_F(SyncobjFd, SyncFileOfASignalledFenceIsReadableAtOnce) {
  uint32_t h = s().make(true);
  int fd = sync_file(h);
  EXPECT_TRUE(readable_now(fd));
  close(fd);
}

TEST_F(SyncobjFd, SyncFileIsASnapshotOfTheCurrentFence) {
  uint32_t h = s().make(false);
  FencePtr f = s().pending(h);
  int fd = sync_file(h);
  // Later signal/reset of the syncobj do not touch the sync_file.
  EXPECT_EQ(s().signal({h}), 0);
  EXPECT_FALSE(readable_now(fd));
  EXPECT_EQ(s().reset({h}), 0);
  EXPECT_FALSE(readable_now(fd));
  // Importing it puts the same (pending) fence into another syncobj.
  uint32_t g = s().make(true);
  uint32_t hg = g;
  ASSERT_EQ(s().from_fd(fd, IMPORT, &hg), 0);
  EXPECT_EQ(hg, g);  // IMPORT_SYNC_FILE does not make a handle
  EXPECT_EQ(s().wait({g}, 0), -ETIME);
  f->signal();
  EXPECT_TRUE(readable_now(fd));
  EXPECT_EQ(s().wait({g}, 0), 0);
  close(fd);
}

TEST_F(SyncobjFd, SyncFileOfATimelineWaitsForTheWholeChain) {
  uint32_t h = s().make(false);
  FencePtr f1 = s().pending(h, 1), f2 = s().pending(h, 2);
  int fd = sync_file(h);
  f2->signal();
  EXPECT_FALSE(readable_now(fd));
  f1->signal();
  EXPECT_TRUE(readable_now(fd));
  close(fd);
}

TEST_F(SyncobjFd, SyncFileReadinessFromASignallingSectionAllocatesNothing) {
  uint32_t h = s().make(false);
  FencePtr f1 = s().pending(h, 1), f2 = s().pending(h, 2);
  int fd = sync_file(h);  // a merged fence: a countdown on f1 and f2
  int efd = eventfd(0, EFD_CLOEXEC);
  ASSERT_EQ(s().eventfd(h, 2, efd), 0);
  uint64_t before = signalling_violations().total();
  {
    SignallingSection section;
    f2->signal();
    f1->signal(-EIO);
  }
  EXPECT_EQ(signalling_violations().total(), before);
  EXPECT_TRUE(readable_now(fd));
  EXPECT_EQ(drain(efd), 1u);
  close(fd);
  close(efd);
}

TEST_F(SyncobjFd, ExportedFdsAreCloexecAndDistinct) {
  uint32_t h = s().make(true);
  int a = -1, b = -1;
  ASSERT_EQ(s().to_fd(h, 0, &a), 0);
  ASSERT_EQ(s().to_fd(h, 0, &b), 0);
  EXPECT_NE(a, b);
  EXPECT_TRUE(fcntl(a, F_GETFD) & FD_CLOEXEC);
  int sf = sync_file(h);
  EXPECT_TRUE(fcntl(sf, F_GETFD) & FD_CLOEXEC);
  close(a);
  close(b);
  close(sf);
}

TEST_F(SyncobjFd, SyncobjFdIsSharedBetweenFiles) {
  auto other = open_model_file("panthor");
  ASSERT_TRUE(other);
  Sync o(other.get());
  uint32_t h = s().make(false);
  int fd = -1;
  ASSERT_EQ(s().to_fd(h, 0, &fd), 0);
  uint32_t h2 = 0, h3 = 0;
  ASSERT_EQ(o.from_fd(fd, 0, &h2), 0);
  ASSERT_EQ(o.from_fd(fd, 0, &h3), 0);
  EXPECT_NE(h2, h3);  // a new handle per import, unlike dma-bufs
  // One object behind all of them.
  EXPECT_EQ(o.wait({h2}, 0), -EINVAL);
  EXPECT_EQ(s().signal({h}), 0);
  EXPECT_EQ(o.wait({h2, h3}, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL), 0);
  EXPECT_EQ(o.reset({h3}), 0);
  EXPECT_EQ(s().wait({h}, 0), -EINVAL);
  // A timeline point added through one file is seen through the other.
  EXPECT_EQ(o.tsignal1(h2, 4), 0);
  EXPECT_EQ(s().query1(h, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 4u);
  // A dup of the fd is the same file.
  int d = dup(fd);
  uint32_t h4 = 0;
  ASSERT_EQ(s().from_fd(d, 0, &h4), 0);
  EXPECT_EQ(s().object(h4), s().object(h));
  close(d);
  close(fd);
  // Handles keep working once the fd is closed.
  EXPECT_EQ(o.poll_point(h2, 4), 0);
}

TEST_F(SyncobjFd, AnOpenFdKeepsTheSyncobjAlive) {
  uint32_t h = s().make(false);
  std::weak_ptr<Syncobj> weak = s().object(h);
  size_t entries_before = SyncFdTable::get().live_entries();
  int fd = -1;
  ASSERT_EQ(s().to_fd(h, 0, &fd), 0);
  EXPECT_EQ(SyncFdTable::get().live_entries(), entries_before + 1);
  ASSERT_EQ(s().destroy(h), 0);
  EXPECT_FALSE(weak.expired());  // the fd holds it
  uint32_t again = 0;
  ASSERT_EQ(s().from_fd(fd, 0, &again), 0);
  EXPECT_EQ(s().object(again), weak.lock());
  ASSERT_EQ(s().destroy(again), 0);
  close(fd);
  // Closing the last copy releases it (seen when the table is next used).
  EXPECT_EQ(SyncFdTable::get().live_entries(), entries_before);
  EXPECT_TRUE(weak.expired());
  // And the closed fd number is not a syncobj any more.
  EXPECT_EQ(s().from_fd(fd, 0, &again), -EINVAL);
}

TEST_F(SyncobjFd, EventfdFiresWhenThePointSignals) {
  uint32_t h = s().make(false);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_EQ(s().eventfd(h, 3, efd), 0);
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    EXPECT_EQ(s().object(h)->pending_eventfd_count_locked(), 1u);
  }
  FencePtr f2 = s().pending(h, 2);
  FencePtr f3 = s().pending(h, 3);
  EXPECT_FALSE(readable_now(efd));
  f3->signal();
  EXPECT_FALSE(readable_now(efd));  // point 3 also waits for point 2
  std::thread t([&] {
    pause_ms(10);
    f2->signal();
  });
  EXPECT_TRUE(readable_within(efd, 30000));
  EXPECT_EQ(drain(efd), 1u);
  t.join();
  close(efd);
}

TEST_F(SyncobjFd, EventfdWaitAvailableFiresOnSubmit) {
  uint32_t h = s().make(false);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_EQ(s().eventfd(h, 2, efd, AVAIL), 0);
  FencePtr f1 = s().pending(h, 1);
  EXPECT_FALSE(readable_now(efd));
  FencePtr f2 = s().pending(h, 2);
  EXPECT_EQ(drain(efd), 1u);
  EXPECT_FALSE(f2->is_signalled());
  f1->signal();
  f2->signal();
  EXPECT_FALSE(readable_now(efd));  // fired once
  close(efd);
}

TEST_F(SyncobjFd, EventfdOnASignalledPointFiresAtOnce) {
  uint32_t h = s().make(true);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_EQ(s().eventfd(h, 0, efd), 0);
  ASSERT_EQ(s().eventfd(h, 0, efd), 0);
  EXPECT_EQ(drain(efd), 2u);  // each registration adds 1
  uint32_t t = s().make(false);
  for (uint64_t p = 1; p <= 5; p++) ASSERT_EQ(s().tsignal1(t, p), 0);
  ASSERT_EQ(s().eventfd(t, 2, efd), 0);  // long collected: the stub
  EXPECT_EQ(drain(efd), 1u);
  close(efd);
}

TEST_F(SyncobjFd, EventfdOnABinarySyncobjWaitsForAFence) {
  uint32_t h = s().make(false);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_EQ(s().eventfd(h, 0, efd), 0);
  FencePtr f = s().pending(h);  // bound to this fence now
  EXPECT_FALSE(readable_now(efd));
  EXPECT_EQ(s().reset({h}), 0);  // the entry follows its fence, not the syncobj
  f->signal();
  EXPECT_EQ(drain(efd), 1u);
  close(efd);
}

TEST_F(SyncobjFd, EventfdIsDroppedWithItsSyncobj) {
  uint32_t h = s().make(false);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_EQ(s().eventfd(h, 1, efd), 0);
  std::weak_ptr<Syncobj> weak = s().object(h);
  ASSERT_EQ(s().destroy(h), 0);
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(readable_now(efd));
  close(efd);
}

}  // namespace

// sync_files exported by another process's model (foreign_sync_file.h). The
// other process is stood in for by a socket pair whose far end carries the
// name such a model gives it, with another pid.
namespace {

struct FakeForeignExport {
  int user_fd = -1, far_fd = -1;
  explicit FakeForeignExport(long pid) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return;
    user_fd = sv[0];
    far_fd = sv[1];
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    int n = std::snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "wsys-sim-sync-file.%ld.%d",
                          pid, user_fd);
    ::bind(far_fd, reinterpret_cast<sockaddr*>(&a),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n));
  }
  ~FakeForeignExport() {
    if (user_fd >= 0) ::close(user_fd);
    if (far_fd >= 0) ::close(far_fd);
  }
  void send_status(int status) {
    char b = sync_file_ready_byte(status);
    ASSERT_EQ(::send(far_fd, &b, 1, MSG_NOSIGNAL), 1);
  }
};

}  // namespace

TEST(ForeignSyncFile, TheReadyByteCarriesTheStatus) {
  EXPECT_EQ(sync_file_status_of(sync_file_ready_byte(0)), 0);
  EXPECT_EQ(sync_file_status_of(sync_file_ready_byte(-ETIMEDOUT)), -ETIMEDOUT);
  EXPECT_EQ(sync_file_status_of(sync_file_ready_byte(-ECANCELED)), -ECANCELED);
  EXPECT_EQ(sync_file_status_of(sync_file_ready_byte(-1000)), -127);  // clamped
}

TEST(ForeignSyncFile, OnlyAnotherProcesssModelsSyncFilesAreForeign) {
  FakeForeignExport other(static_cast<long>(::getpid()) + 1);
  FakeForeignExport mine(static_cast<long>(::getpid()));
  EXPECT_TRUE(is_foreign_sync_file(other.user_fd));
  EXPECT_FALSE(is_foreign_sync_file(mine.user_fd));  // ours: the table knows it or it is gone
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  EXPECT_FALSE(is_foreign_sync_file(sv[0]));  // an unnamed socket
  ::close(sv[0]);
  ::close(sv[1]);
  int efd = ::eventfd(0, EFD_CLOEXEC);
  EXPECT_FALSE(is_foreign_sync_file(efd));  // not a socket
  ::close(efd);
}

TEST(ForeignSyncFile, TheImportSignalsWithTheExportersStatus) {
  FakeForeignExport ok(static_cast<long>(::getpid()) + 1);
  FakeForeignExport bad(static_cast<long>(::getpid()) + 1);
  int err = 0;
  FencePtr f_ok = import_foreign_sync_file(ok.user_fd, &err);
  ASSERT_TRUE(f_ok) << err;
  FencePtr f_bad = import_foreign_sync_file(bad.user_fd, &err);
  ASSERT_TRUE(f_bad) << err;
  EXPECT_FALSE(f_ok->is_signalled());
  EXPECT_GE(foreign_sync_file_watches(), 2u);
  ok.send_status(0);
  bad.send_status(-ETIMEDOUT);
  EXPECT_TRUE(f_ok->wait(monotonic_ns() + 5'000'000'000LL));
  EXPECT_TRUE(f_bad->wait(monotonic_ns() + 5'000'000'000LL));
  EXPECT_EQ(f_ok->status(), 0);
  EXPECT_EQ(f_bad->status(), -ETIMEDOUT);
  // The byte was peeked, not consumed: the fd stays readable for poll().
  pollfd p{ok.user_fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  // Already signalled at import: a signalled fence, no watch.
  FencePtr again = import_foreign_sync_file(bad.user_fd, &err);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->is_signalled());
  EXPECT_EQ(again->status(), -ETIMEDOUT);
}

TEST(ForeignSyncFile, AnExporterThatGoesAwaySignalsEsrch) {
  FakeForeignExport gone(static_cast<long>(::getpid()) + 1);
  int err = 0;
  FencePtr f = import_foreign_sync_file(gone.user_fd, &err);
  ASSERT_TRUE(f) << err;
  ::close(gone.far_fd);  // the exporting process exited
  gone.far_fd = -1;
  EXPECT_TRUE(f->wait(monotonic_ns() + 5'000'000'000LL));
  EXPECT_EQ(f->status(), -ESRCH);
}

TEST_F(SyncobjFd, AForeignSyncFileImportsIntoASyncobj) {
  FakeForeignExport other(static_cast<long>(::getpid()) + 1);
  uint32_t h = s().make(false);
  ASSERT_EQ(s().from_fd(other.user_fd, IMPORT, &h), 0);
  EXPECT_EQ(s().poll_point(h, 0), -ETIME);
  other.send_status(0);
  bool signalled = false;
  for (int i = 0; i < 5000 && !signalled; i++) {
    signalled = s().poll_point(h, 0) == 0;
    if (!signalled) pause_ms(1);
  }
  EXPECT_TRUE(signalled);
}
