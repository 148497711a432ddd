// Every validation rule of the syncobj ioctls, one table row each: the call
// and the errno the kernel returns for it (drm_syncobj.c).
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "syncobj_test_util.h"

using namespace wsys::sim;
using namespace wsys::sim::test;

namespace {

constexpr uint32_t kUnknown = 0x7fff0000;  // never a handle in these files
constexpr uint32_t ALL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
constexpr uint32_t SUBMIT = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
constexpr uint32_t AVAIL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;
constexpr uint32_t DEADLINE = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE;

// The world every row runs in: a fresh panthor file with a signalled
// syncobj, one without a fence, and a timeline at points 1 and 2.
struct World {
  std::unique_ptr<SimDrmFile> file = open_model_file("panthor");
  Sync s{file.get()};
  uint32_t sig = s.make(true);
  uint32_t empty = s.make(false);
  uint32_t tl = [this] {
    uint32_t h = s.make(false);
    EXPECT_EQ(s.tsignal1(h, 1), 0);
    EXPECT_EQ(s.tsignal1(h, 2), 0);
    return h;
  }();
  // A page that faults on any access.
  void* bad = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  std::vector<int> fds;  // closed at the end

  ~World() {
    munmap(bad, 4096);
    for (int fd : fds) close(fd);
  }
  uint64_t bad_ptr() const { return uptr(bad); }
  int keep(int fd) {
    fds.push_back(fd);
    return fd;
  }
  // An fd number that is certainly not open.
  int closed_fd() {
    int fd = eventfd(0, EFD_CLOEXEC);
    close(fd);
    return fd;
  }
  int pipe_fd() {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    keep(p[1]);
    return keep(p[0]);
  }
  int sync_file_of(uint32_t h) {
    int fd = -1;
    EXPECT_EQ(s.to_fd(h, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &fd), 0);
    return keep(fd);
  }
  int syncobj_fd_of(uint32_t h) {
    int fd = -1;
    EXPECT_EQ(s.to_fd(h, 0, &fd), 0);
    return keep(fd);
  }
  int wait_raw(uint64_t handles, uint32_t count, uint32_t flags, uint32_t pad = 0) {
    drm_syncobj_wait w{};
    w.handles = handles;
    w.count_handles = count;
    w.flags = flags;
    w.pad = pad;
    return file->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w);
  }
  int twait_raw(uint64_t handles, uint64_t points, uint32_t count, uint32_t flags) {
    drm_syncobj_timeline_wait w{};
    w.handles = handles;
    w.points = points;
    w.count_handles = count;
    w.flags = flags;
    return file->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w);
  }
  int array_raw(unsigned long cmd, uint64_t handles, uint32_t count, uint32_t pad = 0) {
    drm_syncobj_array a{};
    a.handles = handles;
    a.count_handles = count;
    a.pad = pad;
    return file->ioctl(cmd, &a);
  }
  int tarray_raw(unsigned long cmd, uint64_t handles, uint64_t points, uint32_t count,
                 uint32_t flags) {
    drm_syncobj_timeline_array a{};
    a.handles = handles;
    a.points = points;
    a.count_handles = count;
    a.flags = flags;
    return file->ioctl(cmd, &a);
  }
};

struct ErrnoCase {
  const char* name;
  int expected;
  std::function<int(World&)> run;
};

const ErrnoCase kCases[] = {
    // CREATE
    {"CreatePlain", 0, [](World& w) { uint32_t h; return w.s.create(0, &h); }},
    {"CreateSignalled", 0,
     [](World& w) { uint32_t h; return w.s.create(DRM_SYNCOBJ_CREATE_SIGNALED, &h); }},
    {"CreateUnknownFlag", -EINVAL, [](World& w) { uint32_t h; return w.s.create(2, &h); }},
    {"CreateHighFlag", -EINVAL,
     [](World& w) { uint32_t h; return w.s.create(0x80000001u, &h); }},

    // DESTROY
    {"DestroyPad", -EINVAL, [](World& w) { return w.s.destroy(w.sig, 1); }},
    {"DestroyUnknown", -EINVAL, [](World& w) { return w.s.destroy(kUnknown); }},
    {"DestroyZero", -EINVAL, [](World& w) { return w.s.destroy(0); }},
    {"DestroyTwice", -EINVAL,
     [](World& w) {
       EXPECT_EQ(w.s.destroy(w.empty), 0);
       return w.s.destroy(w.empty);
     }},

    // RESET / SIGNAL
    {"ResetPad", -EINVAL,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_RESET, uptr(&w.sig), 1, 1); }},
    {"ResetCountZero", -EINVAL,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_RESET, uptr(&w.sig), 0); }},
    {"ResetBadPointer", -EFAULT,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_RESET, w.bad_ptr(), 1); }},
    {"ResetNullPointer", -EFAULT,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_RESET, 0, 1); }},
    {"ResetUnknown", -ENOENT, [](World& w) { return w.s.reset({w.sig, kUnknown}); }},
    {"ResetTooManyForKmalloc", -ENOMEM,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_RESET, w.bad_ptr(), 1u << 21); }},
    {"SignalPad", -EINVAL,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_SIGNAL, uptr(&w.empty), 1, 7); }},
    {"SignalCountZero", -EINVAL,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_SIGNAL, uptr(&w.empty), 0); }},
    {"SignalBadPointer", -EFAULT,
     [](World& w) { return w.array_raw(DRM_IOCTL_SYNCOBJ_SIGNAL, w.bad_ptr(), 2); }},
    {"SignalUnknown", -ENOENT, [](World& w) { return w.s.signal({w.empty, kUnknown}); }},
    {"SignalOk", 0, [](World& w) { return w.s.signal({w.empty, w.sig, w.tl}); }},

    // TIMELINE_SIGNAL
    {"TimelineSignalFlags", -EINVAL,
     [](World& w) {
       uint64_t p = 3;
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, uptr(&w.tl), uptr(&p), 1, 1);
     }},
    {"TimelineSignalCountZero", -EINVAL,
     [](World& w) {
       uint64_t p = 3;
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, uptr(&w.tl), uptr(&p), 0, 0);
     }},
    {"TimelineSignalUnknown", -ENOENT,
     [](World& w) { return w.s.tsignal({w.tl, kUnknown}, {3, 4}); }},
    {"TimelineSignalBadHandles", -EFAULT,
     [](World& w) {
       uint64_t p = 3;
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, w.bad_ptr(), uptr(&p), 1, 0);
     }},
    {"TimelineSignalBadPoints", -EFAULT,
     [](World& w) {
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, uptr(&w.tl), w.bad_ptr(), 1, 0);
     }},
    {"TimelineSignalNullPointsMeansZero", 0,
     [](World& w) {
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, uptr(&w.empty), 0, 1, 0);
     }},

    // QUERY
    {"QueryFlags", -EINVAL,
     [](World& w) {
       uint64_t p;
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_QUERY, uptr(&w.tl), uptr(&p), 1, 2);
     }},
    {"QueryCountZero", -EINVAL,
     [](World& w) {
       uint64_t p;
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_QUERY, uptr(&w.tl), uptr(&p), 0, 0);
     }},
    {"QueryUnknown", -ENOENT,
     [](World& w) {
       std::vector<uint64_t> p;
       return w.s.query({w.tl, kUnknown}, &p);
     }},
    {"QueryNullPoints", -EFAULT,
     [](World& w) { return w.tarray_raw(DRM_IOCTL_SYNCOBJ_QUERY, uptr(&w.tl), 0, 1, 0); }},
    {"QueryBadPoints", -EFAULT,
     [](World& w) {
       return w.tarray_raw(DRM_IOCTL_SYNCOBJ_QUERY, uptr(&w.tl), w.bad_ptr(), 1, 0);
     }},

    // WAIT
    {"WaitAvailableIsTimelineOnly", -EINVAL,
     [](World& w) { return w.s.wait({w.sig}, 0, AVAIL); }},
    {"WaitUnknownFlag", -EINVAL, [](World& w) { return w.s.wait({w.sig}, 0, 1u << 4); }},
    {"WaitCountZero", -EINVAL, [](World& w) { return w.wait_raw(uptr(&w.sig), 0, 0); }},
    {"WaitBadHandles", -EFAULT, [](World& w) { return w.wait_raw(w.bad_ptr(), 1, 0); }},
    {"WaitUnknown", -ENOENT, [](World& w) { return w.s.wait({w.sig, kUnknown}, 0); }},
    {"WaitNoFence", -EINVAL, [](World& w) { return w.s.wait({w.sig, w.empty}, 0); }},
    {"WaitNoFenceEvenWithWaitAll", -EINVAL,
     [](World& w) { return w.s.wait({w.empty, w.sig}, 0, ALL); }},
    {"WaitForSubmitPollTimesOut", -ETIME,
     [](World& w) { return w.s.wait({w.empty}, 0, SUBMIT); }},
    {"WaitSignalled", 0, [](World& w) { return w.s.wait({w.sig}, 0); }},
    {"WaitDeadlineAccepted", 0,
     [](World& w) { return w.s.wait({w.sig}, in_ms(10), DEADLINE | ALL); }},
    {"WaitPadIsNotChecked", 0,
     [](World& w) { return w.wait_raw(uptr(&w.sig), 1, 0, 0xffffffffu); }},
    {"WaitTooManyEntries", -ENOMEM,
     [](World& w) {
       // 70000 entries of 64 bytes exceed kmalloc's 4 MiB (the handle and
       // point arrays themselves still fit).
       std::vector<uint32_t> hs(70000, w.sig);
       return w.wait_raw(uptr(hs.data()), 70000, 0);
     }},

    // TIMELINE_WAIT
    {"TimelineWaitUnknownFlag", -EINVAL,
     [](World& w) { return w.s.twait({w.tl}, {1}, 0, 1u << 4); }},
    {"TimelineWaitCountZero", -EINVAL,
     [](World& w) {
       uint64_t p = 1;
       return w.twait_raw(uptr(&w.tl), uptr(&p), 0, 0);
     }},
    {"TimelineWaitUnknown", -ENOENT,
     [](World& w) { return w.s.twait({kUnknown}, {1}, 0); }},
    {"TimelineWaitBadPoints", -EFAULT,
     [](World& w) { return w.twait_raw(uptr(&w.tl), w.bad_ptr(), 1, 0); }},
    {"TimelineWaitNullPointsMeansZero", 0,
     [](World& w) { return w.twait_raw(uptr(&w.sig), 0, 1, 0); }},
    {"TimelineWaitPointNotSubmitted", -EINVAL,
     [](World& w) { return w.s.twait({w.tl}, {3}, 0); }},
    {"TimelineWaitPointOnBinary", -EINVAL,
     [](World& w) { return w.s.twait({w.sig}, {1}, 0); }},
    {"TimelineWaitAvailablePollTimesOut", -ETIME,
     [](World& w) { return w.s.twait({w.tl}, {3}, 0, AVAIL); }},
    {"TimelineWaitSignalledPoint", 0, [](World& w) { return w.s.twait({w.tl}, {2}, 0); }},

    // TRANSFER
    {"TransferPad", -EINVAL, [](World& w) { return w.s.transfer(w.empty, 0, w.sig, 0, 0, 1); }},
    {"TransferUnknownDst", -ENOENT,
     [](World& w) { return w.s.transfer(kUnknown, 0, w.sig, 0); }},
    {"TransferUnknownDstBeforeFlags", -ENOENT,
     [](World& w) { return w.s.transfer(kUnknown, 5, w.sig, 0, ALL); }},
    {"TransferUnknownDstTimeline", -ENOENT,
     [](World& w) { return w.s.transfer(kUnknown, 5, w.sig, 0); }},
    {"TransferUnknownSrc", -ENOENT,
     [](World& w) { return w.s.transfer(w.empty, 0, kUnknown, 0); }},
    {"TransferFlagsBeforeSrc", -EINVAL,
     [](World& w) { return w.s.transfer(w.empty, 0, kUnknown, 0, ALL); }},
    {"TransferAvailableFlagRejected", -EINVAL,
     [](World& w) { return w.s.transfer(w.empty, 0, w.sig, 0, AVAIL); }},
    {"TransferSrcNoFence", -EINVAL,
     [](World& w) { return w.s.transfer(w.sig, 0, w.empty, 0); }},
    {"TransferSrcPointNotSubmitted", -EINVAL,
     [](World& w) { return w.s.transfer(w.empty, 1, w.tl, 9); }},
    {"TransferOk", 0, [](World& w) { return w.s.transfer(w.empty, 7, w.tl, 2); }},

    // HANDLE_TO_FD
    {"HandleToFdPad", -EINVAL,
     [](World& w) { int fd; return w.s.to_fd(w.sig, 0, &fd, 1); }},
    {"HandleToFdFlags", -EINVAL, [](World& w) { int fd; return w.s.to_fd(w.sig, 2, &fd); }},
    {"HandleToFdUnknown", -EINVAL, [](World& w) { int fd; return w.s.to_fd(kUnknown, 0, &fd); }},
    {"ExportSyncFileUnknown", -ENOENT,
     [](World& w) {
       int fd;
       return w.s.to_fd(kUnknown, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &fd);
     }},
    {"ExportSyncFileNoFence", -EINVAL,
     [](World& w) {
       int fd;
       return w.s.to_fd(w.empty, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &fd);
     }},

    // FD_TO_HANDLE
    {"FdToHandlePad", -EINVAL,
     [](World& w) {
       uint32_t h = 0;
       return w.s.from_fd(w.syncobj_fd_of(w.sig), 0, &h, 1);
     }},
    {"FdToHandleFlags", -EINVAL,
     [](World& w) {
       uint32_t h = 0;
       return w.s.from_fd(w.syncobj_fd_of(w.sig), 2, &h);
     }},
    {"FdToHandleNegativeFd", -EINVAL,
     [](World& w) { uint32_t h = 0; return w.s.from_fd(-1, 0, &h); }},
    {"FdToHandleClosedFd", -EINVAL,
     [](World& w) { uint32_t h = 0; return w.s.from_fd(w.closed_fd(), 0, &h); }},
    {"FdToHandleNotASyncobj", -EINVAL,
     [](World& w) { uint32_t h = 0; return w.s.from_fd(w.pipe_fd(), 0, &h); }},
    {"FdToHandleSyncFileIsNotASyncobj", -EINVAL,
     [](World& w) {
       uint32_t h = 0;
       return w.s.from_fd(w.sync_file_of(w.sig), 0, &h);
     }},
    {"ImportSyncFileClosedFd", -EINVAL,
     [](World& w) {
       uint32_t h = w.empty;
       return w.s.from_fd(w.closed_fd(), DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &h);
     }},
    {"ImportSyncFileFromSyncobjFd", -EINVAL,
     [](World& w) {
       uint32_t h = w.empty;
       return w.s.from_fd(w.syncobj_fd_of(w.sig),
                          DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &h);
     }},
    {"ImportSyncFileBadFdBeforeHandle", -EINVAL,
     [](World& w) {
       uint32_t h = kUnknown;
       return w.s.from_fd(w.pipe_fd(), DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &h);
     }},
    {"ImportSyncFileUnknownHandle", -ENOENT,
     [](World& w) {
       uint32_t h = kUnknown;
       return w.s.from_fd(w.sync_file_of(w.sig),
                          DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &h);
     }},

    // EVENTFD
    {"EventfdFlags", -EINVAL,
     [](World& w) { return w.s.eventfd(w.sig, 0, w.keep(eventfd(0, EFD_CLOEXEC)), ALL); }},
    {"EventfdPad", -EINVAL,
     [](World& w) { return w.s.eventfd(w.sig, 0, w.keep(eventfd(0, EFD_CLOEXEC)), 0, 1); }},
    {"EventfdUnknownHandle", -ENOENT, [](World& w) { return w.s.eventfd(kUnknown, 0, -1); }},
    {"EventfdNegativeFd", -EBADF, [](World& w) { return w.s.eventfd(w.sig, 0, -1); }},
    {"EventfdClosedFd", -EBADF, [](World& w) { return w.s.eventfd(w.sig, 0, w.closed_fd()); }},
    {"EventfdNotAnEventfd", -EINVAL, [](World& w) { return w.s.eventfd(w.sig, 0, w.pipe_fd()); }},
    {"EventfdOk", 0,
     [](World& w) { return w.s.eventfd(w.empty, 5, w.keep(eventfd(0, EFD_CLOEXEC)), AVAIL); }},
};

class SyncobjErrno : public ::testing::TestWithParam<ErrnoCase> {};

TEST_P(SyncobjErrno, ReturnsTheKernelsErrno) {
  World w;
  ASSERT_TRUE(w.file);
  ASSERT_NE(w.bad, MAP_FAILED);
  EXPECT_EQ(GetParam().run(w), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Table, SyncobjErrno, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ErrnoCase>& i) {
                           return std::string(i.param.name);
                         });

// --- rules that need more than one call to check ---

TEST(SyncobjValidation, FailedArrayCallsChangeNothing) {
  World w;
  // SIGNAL with an unknown handle last: the first must stay without a fence.
  EXPECT_EQ(w.s.signal({w.empty, kUnknown}), -ENOENT);
  EXPECT_EQ(w.s.wait({w.empty}, 0), -EINVAL);
  // RESET with an unknown handle: the signalled one keeps its fence.
  EXPECT_EQ(w.s.reset({w.sig, kUnknown}), -ENOENT);
  EXPECT_EQ(w.s.wait({w.sig}, 0), 0);
  // TIMELINE_SIGNAL with a bad points array: no point added.
  EXPECT_EQ(w.tarray_raw(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, uptr(&w.tl), w.bad_ptr(), 1, 0),
            -EFAULT);
  EXPECT_EQ(w.s.query1(w.tl, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 2u);
}

TEST(SyncobjValidation, DestroyWithPadKeepsTheObject) {
  World w;
  EXPECT_EQ(w.s.destroy(w.sig, 1), -EINVAL);
  EXPECT_EQ(w.s.wait({w.sig}, 0), 0);
  EXPECT_EQ(w.s.destroy(w.sig), 0);
  EXPECT_EQ(w.s.wait({w.sig}, 0), -ENOENT);
}

TEST(SyncobjValidation, QueryFaultAfterTheFirstPointKeepsTheWrittenOnes) {
  World w;
  // Two points straddling the end of a readable page: the first lands,
  // the second faults.
  char* page = static_cast<char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(page, MAP_FAILED);
  ASSERT_EQ(mprotect(page + 4096, 4096, PROT_NONE), 0);
  auto* pts = reinterpret_cast<uint64_t*>(page + 4096 - 8);
  *pts = 12345;
  uint32_t hs[2] = {w.tl, w.tl};
  EXPECT_EQ(w.tarray_raw(DRM_IOCTL_SYNCOBJ_QUERY, uptr(hs), uptr(pts), 2, 0), -EFAULT);
  EXPECT_EQ(*pts, 2u);
  munmap(page, 8192);
}

TEST(SyncobjValidation, BothWaitStructSizesAreAccepted) {
  World w;
  // The 32-byte WAIT and 40-byte TIMELINE_WAIT of kernels before
  // WAIT_DEADLINE: same behaviour, first_signaled written back.
  struct {
    uint64_t handles;
    int64_t timeout_nsec;
    uint32_t count_handles, flags, first_signaled, pad;
  } w1{uptr(&w.sig), 0, 1, 0, 77, 0};
  static_assert(sizeof w1 == 32);
  EXPECT_EQ(w.file->ioctl(DRM_IOCTL_SYNCOBJ_WAIT_V1, &w1), 0);
  EXPECT_EQ(w1.first_signaled, 0u);
  uint64_t point = 2;
  struct {
    uint64_t handles, points;
    int64_t timeout_nsec;
    uint32_t count_handles, flags, first_signaled, pad;
  } t1{uptr(&w.tl), uptr(&point), 0, 1, 0, 77, 0};
  static_assert(sizeof t1 == 40);
  EXPECT_EQ(w.file->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1, &t1), 0);
  EXPECT_EQ(t1.first_signaled, 0u);
  point = 3;  // not submitted: still validated the same way
  EXPECT_EQ(w.file->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1, &t1), -EINVAL);
}

TEST(SyncobjValidation, FailedWaitLeavesFirstSignaledAlone) {
  World w;
  uint32_t first = 0;
  EXPECT_EQ(w.s.wait({w.empty}, 0, SUBMIT, &first), -ETIME);
  EXPECT_EQ(first, 0xdeadbeefu);
}

TEST(SyncobjValidation, PanfrostHasNoTimelineIoctls) {
  // panfrost's driver_features lack DRIVER_SYNCOBJ_TIMELINE.
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  Sync s(f.get());
  uint32_t h = s.make(true);
  EXPECT_EQ(s.wait({h}, 0), 0);
  EXPECT_EQ(s.signal({h}), 0);
  EXPECT_EQ(s.reset({h}), 0);
  int fd = -1;
  EXPECT_EQ(s.to_fd(h, 0, &fd), 0);
  close(fd);
  EXPECT_EQ(s.twait({h}, {0}, 0), -EOPNOTSUPP);
  EXPECT_EQ(s.tsignal1(h, 1), -EOPNOTSUPP);
  std::vector<uint64_t> p;
  EXPECT_EQ(s.query({h}, &p), -EOPNOTSUPP);
  EXPECT_EQ(s.transfer(h, 0, h, 0), -EOPNOTSUPP);
  int efd = eventfd(0, EFD_CLOEXEC);
  EXPECT_EQ(s.eventfd(h, 0, efd), -EOPNOTSUPP);
  close(efd);
}

}  // namespace
