// Binary and timeline syncobj semantics through the ioctls: what signals
// when, what WAIT / TIMELINE_WAIT / QUERY / TRANSFER report.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "syncobj_test_util.h"

using namespace wsys::sim;
using namespace wsys::sim::test;

namespace {

constexpr uint32_t ALL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
constexpr uint32_t SUBMIT = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
constexpr uint32_t AVAIL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;
constexpr uint32_t LAST = DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED;

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

class SyncobjSemantics : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = open_model_file("panthor");
    ASSERT_TRUE(file_);
    s_ = std::make_unique<Sync>(file_.get());
  }
  Sync& s() { return *s_; }
  std::unique_ptr<SimDrmFile> file_;
  std::unique_ptr<Sync> s_;
};

TEST_F(SyncobjSemantics, BinaryLifecycle) {
  uint32_t h = s().make(false);
  EXPECT_EQ(s().wait({h}, 0), -EINVAL);  // no fence
  EXPECT_EQ(s().signal({h}), 0);
  EXPECT_EQ(s().wait({h}, 0), 0);
  EXPECT_EQ(s().reset({h}), 0);
  EXPECT_EQ(s().wait({h}, 0), -EINVAL);
  uint32_t g = s().make(true);
  EXPECT_EQ(s().wait({g}, 0), 0);
  // Point 0 of TIMELINE_WAIT is the binary fence.
  EXPECT_EQ(s().twait({g}, {0}, 0), 0);
  EXPECT_EQ(s().twait({h}, {0}, 0), -EINVAL);
}

TEST_F(SyncobjSemantics, WaitBlocksUntilAnotherThreadSignals) {
  uint32_t h = s().make(false);
  FencePtr f = s().pending(h);
  EXPECT_EQ(s().wait({h}, 0), -ETIME);
  std::thread t([&] {
    pause_ms(20);
    f->signal();
  });
  EXPECT_EQ(s().wait({h}, forever()), 0);
  EXPECT_TRUE(f->is_signalled());  // never returns before the fence signals
  t.join();
}

TEST_F(SyncobjSemantics, FenceSignalledWithAnErrorCountsAsSignalled) {
  // The kernel's wait tests dma_fence_is_signaled only; the error is the
  // fence's business (a job's status), not the wait's.
  uint32_t h = s().make(false);
  FencePtr f = s().pending(h);
  std::thread t([&] {
    pause_ms(10);
    f->signal(-EIO);
  });
  EXPECT_EQ(s().wait({h}, forever()), 0);
  t.join();
  EXPECT_EQ(f->status(), -EIO);
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  EXPECT_EQ(s().object(h)->status_locked(0), -EIO);
}

TEST_F(SyncobjSemantics, FirstSignaledWithoutWaitAll) {
  uint32_t a = s().make(false), b = s().make(false), c = s().make(false);
  FencePtr fa = s().pending(a), fb = s().pending(b), fc = s().pending(c);
  uint32_t first = 0;
  // Already signalled at the start: the first signalled index.
  fc->signal();
  EXPECT_EQ(s().wait({a, b, c}, 0, 0, &first), 0);
  EXPECT_EQ(first, 2u);
  // Signalled while waiting: that one's index.
  uint32_t d = s().make(false);
  FencePtr fd = s().pending(d);
  std::thread t([&] {
    pause_ms(10);
    fb->signal();
  });
  EXPECT_EQ(s().wait({a, d, b}, forever(), 0, &first), 0);
  EXPECT_EQ(first, 2u);
  EXPECT_FALSE(fa->is_signalled());
  t.join();
}

TEST_F(SyncobjSemantics, WaitAllWaitsForEveryFence) {
  uint32_t a = s().make(false), b = s().make(true);
  FencePtr fa = s().pending(a);
  uint32_t first = 0;
  EXPECT_EQ(s().wait({a, b}, 0, ALL), -ETIME);
  std::thread t([&] {
    pause_ms(10);
    fa->signal();
  });
  EXPECT_EQ(s().wait({a, b}, forever(), ALL, &first), 0);
  EXPECT_TRUE(fa->is_signalled());
  // With WAIT_ALL the kernel only records an entry signalled at the start.
  EXPECT_EQ(first, 1u);
  t.join();

  uint32_t c = s().make(false), d = s().make(false);
  FencePtr fc = s().pending(c), fdd = s().pending(d);
  std::thread t2([&] {
    pause_ms(10);
    fdd->signal();
    fc->signal();
  });
  EXPECT_EQ(s().wait({c, d}, forever(), ALL, &first), 0);
  EXPECT_EQ(first, ~0u);  // none was signalled at the start
  t2.join();
}

TEST_F(SyncobjSemantics, TimeoutIsAnAbsoluteMonotonicDeadline) {
  uint32_t h = s().make(false);
  s().pending(h);
  // In the past: a poll.
  EXPECT_EQ(s().wait({h}, monotonic_ns() - 1000000000LL), -ETIME);
  EXPECT_EQ(s().wait({h}, -1), -ETIME);
  // A short future deadline: -ETIME, and not before the deadline.
  int64_t deadline = in_ms(30);
  EXPECT_EQ(s().wait({h}, deadline), -ETIME);
  EXPECT_GE(monotonic_ns(), deadline);
  deadline = in_ms(20);
  EXPECT_EQ(s().twait({h}, {0}, deadline, ALL), -ETIME);
  EXPECT_GE(monotonic_ns(), deadline);
}

TEST_F(SyncobjSemantics, TimelinePointsSignalledOutOfOrder) {
  uint32_t h = s().make(false);
  FencePtr f1 = s().pending(h, 1), f2 = s().pending(h, 2), f3 = s().pending(h, 3);
  EXPECT_EQ(s().query1(h), 0u);
  EXPECT_EQ(s().query1(h, LAST), 3u);
  f3->signal();  // the last point's own work finishes first
  EXPECT_EQ(s().poll_point(h, 3), -ETIME);  // still waits for 1 and 2
  EXPECT_EQ(s().query1(h), 0u);
  f1->signal();
  EXPECT_EQ(s().poll_point(h, 1), 0);
  EXPECT_EQ(s().poll_point(h, 2), -ETIME);
  EXPECT_EQ(s().query1(h), 1u);
  f2->signal();
  EXPECT_EQ(s().poll_point(h, 3), 0);
  EXPECT_EQ(s().query1(h), 3u);
  EXPECT_EQ(s().query1(h, LAST), 3u);
}

TEST_F(SyncobjSemantics, WaitForPoint3While1And2Pending) {
  uint32_t h = s().make(false);
  FencePtr f1 = s().pending(h, 1), f2 = s().pending(h, 2), f3 = s().pending(h, 3);
  std::atomic<bool> all_done_at_return{false};
  std::thread waiter([&] {
    EXPECT_EQ(s().twait({h}, {3}, forever()), 0);
    all_done_at_return = f1->is_signalled() && f2->is_signalled() && f3->is_signalled();
  });
  f3->signal();
  pause_ms(10);
  f2->signal();
  pause_ms(10);
  f1->signal();
  waiter.join();
  EXPECT_TRUE(all_done_at_return);
}

TEST_F(SyncobjSemantics, QueryBeforeAndAfter) {
  uint32_t bin = s().make(true);
  EXPECT_EQ(s().query1(bin), 0u);  // a plain fence has no points
  EXPECT_EQ(s().query1(bin, LAST), 0u);
  uint32_t h = s().make(false);
  EXPECT_EQ(s().query1(h), 0u);
  EXPECT_EQ(s().tsignal1(h, 1), 0);
  FencePtr f5 = s().pending(h, 5);
  std::vector<uint64_t> pts;
  ASSERT_EQ(s().query({h, bin, h}, &pts), 0);
  EXPECT_EQ(pts, (std::vector<uint64_t>{1, 0, 1}));
  ASSERT_EQ(s().query({h, bin}, &pts, LAST), 0);
  EXPECT_EQ(pts, (std::vector<uint64_t>{5, 0}));
  f5->signal();
  EXPECT_EQ(s().query1(h), 5u);
  EXPECT_EQ(s().tsignal1(h, 9), 0);
  EXPECT_EQ(s().query1(h), 9u);
}

TEST_F(SyncobjSemantics, WaitForSubmitSeesAPointAddedByAnotherThread) {
  uint32_t h = s().make(false);
  EXPECT_EQ(s().twait({h}, {4}, 0), -EINVAL);  // not submitted, no flag
  std::atomic<bool> added{false};
  std::thread waiter([&] {
    EXPECT_EQ(s().twait({h}, {4}, forever(), SUBMIT), 0);
    EXPECT_TRUE(added.load());
  });
  ASSERT_TRUE(s().await_waiters(h, 1));
  EXPECT_EQ(s().tsignal1(h, 2), 0);  // not enough
  pause_ms(10);
  EXPECT_EQ(s().waiters(h), 1u);
  added = true;
  EXPECT_EQ(s().tsignal1(h, 4), 0);
  waiter.join();
  EXPECT_EQ(s().waiters(h), 0u);
}

TEST_F(SyncobjSemantics, WaitForSubmitOnBinaryWaitsForFenceThenSignal) {
  uint32_t h = s().make(false);
  FencePtr f;
  std::thread waiter([&] { EXPECT_EQ(s().wait({h}, forever(), SUBMIT), 0); });
  ASSERT_TRUE(s().await_waiters(h, 1));
  f = s().pending(h);  // submitted, not signalled: keep waiting
  pause_ms(10);
  f->signal();
  waiter.join();
  EXPECT_TRUE(f->is_signalled());
}

TEST_F(SyncobjSemantics, WaitForSubmitCatchesAFenceThatCameAndWent) {
  // The kernel hands the fence to a WAIT_FOR_SUBMIT waiter when it is added;
  // a reset right after does not take it back.
  uint32_t h = s().make(false);
  auto f = std::make_shared<Fence>();
  std::thread waiter([&] { EXPECT_EQ(s().wait({h}, forever(), SUBMIT), 0); });
  ASSERT_TRUE(s().await_waiters(h, 1));
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    SyncobjPtr obj = s().object(h);
    obj->replace_locked(f);
    obj->replace_locked(nullptr);
  }
  pause_ms(10);
  f->signal();
  waiter.join();
}

TEST_F(SyncobjSemantics, ResetWhileWaitingStillWaitsForTheSnapshot) {
  uint32_t h = s().make(false);
  FencePtr f = s().pending(h);
  std::thread waiter([&] {
    EXPECT_EQ(s().wait({h}, forever()), 0);
    EXPECT_TRUE(f->is_signalled());
  });
  pause_ms(10);
  EXPECT_EQ(s().reset({h}), 0);
  pause_ms(10);
  f->signal();
  waiter.join();
  EXPECT_EQ(s().wait({h}, 0), -EINVAL);  // and the syncobj itself is empty
}

TEST_F(SyncobjSemantics, WaitAvailableReturnsOnSubmitNotSignal) {
  uint32_t h = s().make(false);
  FencePtr f2;
  std::thread waiter([&] {
    uint32_t first = 0;
    EXPECT_EQ(s().twait({h}, {2}, forever(), AVAIL, &first), 0);
    EXPECT_EQ(first, 0u);
  });
  ASSERT_TRUE(s().await_waiters(h, 1));
  FencePtr f1 = s().pending(h, 1);
  pause_ms(5);
  EXPECT_EQ(s().waiters(h), 1u);  // point 1 is not point 2
  f2 = s().pending(h, 2);
  waiter.join();
  EXPECT_FALSE(f2->is_signalled());
  EXPECT_EQ(s().twait({h}, {2}, 0, AVAIL), 0);
  EXPECT_EQ(s().twait({h}, {2}, 0), -ETIME);
  f1->signal();
  f2->signal();
}

TEST_F(SyncobjSemantics, TimelineSignalPointZeroStillWaitsForThePreviousFence) {
  // drm_syncobj_timeline_signal_ioctl adds a chain link even for point 0,
  // so the new (signalled) link waits for the fence already there;
  // SIGNAL replaces the fence instead.
  uint32_t h = s().make(false);
  FencePtr f = s().pending(h);
  EXPECT_EQ(s().tsignal1(h, 0), 0);
  EXPECT_EQ(s().wait({h}, 0), -ETIME);
  f->signal();
  EXPECT_EQ(s().wait({h}, 0), 0);

  uint32_t g = s().make(false);
  FencePtr fg = s().pending(g);
  EXPECT_EQ(s().signal({g}), 0);
  EXPECT_EQ(s().wait({g}, 0), 0);
  fg->signal();

  uint32_t e = s().make(false);
  EXPECT_EQ(s().tsignal1(e, 0), 0);
  EXPECT_EQ(s().wait({e}, 0), 0);
  EXPECT_EQ(s().query1(e, LAST), 0u);
}

TEST_F(SyncobjSemantics, OutOfOrderPointWaitsForTheWholeTimeline) {
  // A point not above the newest starts a new chain context numbered like
  // the newest point: every point up to it now waits for everything.
  uint32_t h = s().make(false);
  EXPECT_EQ(s().tsignal1(h, 1), 0);
  FencePtr f2 = s().pending(h, 2);
  EXPECT_EQ(s().tsignal1(h, 3), 0);
  EXPECT_EQ(s().poll_point(h, 1), 0);
  EXPECT_EQ(s().tsignal1(h, 2), 0);  // out of order
  EXPECT_EQ(s().query1(h, LAST), 3u);
  EXPECT_EQ(s().poll_point(h, 1), -ETIME);
  EXPECT_EQ(s().poll_point(h, 3), -ETIME);
  EXPECT_EQ(s().twait({h}, {4}, 0), -EINVAL);
  f2->signal();
  EXPECT_EQ(s().poll_point(h, 1), 0);
  EXPECT_EQ(s().poll_point(h, 3), 0);
  EXPECT_EQ(s().query1(h), 3u);
}

TEST_F(SyncobjSemantics, TransferTimelinePointToBinary) {
  uint32_t tl = s().make(false), bin = s().make(true);
  FencePtr f1 = s().pending(tl, 1), f2 = s().pending(tl, 2);
  FencePtr f3 = s().pending(tl, 3);
  ASSERT_EQ(s().transfer(bin, 0, tl, 2), 0);
  EXPECT_EQ(s().wait({bin}, 0), -ETIME);  // replaced: now waits for 1 and 2
  f2->signal();
  EXPECT_EQ(s().wait({bin}, 0), -ETIME);
  f1->signal();
  EXPECT_EQ(s().wait({bin}, 0), 0);
  // Point 0 of a timeline is its whole current chain.
  ASSERT_EQ(s().transfer(bin, 0, tl, 0), 0);
  EXPECT_EQ(s().wait({bin}, 0), -ETIME);
  f3->signal();
  EXPECT_EQ(s().wait({bin}, forever()), 0);
}

TEST_F(SyncobjSemantics, TransferBinaryToTimelinePoint) {
  uint32_t bin = s().make(false), tl = s().make(false);
  FencePtr f = s().pending(bin);
  EXPECT_EQ(s().tsignal1(tl, 1), 0);
  ASSERT_EQ(s().transfer(tl, 7, bin, 0), 0);
  EXPECT_EQ(s().query1(tl, LAST), 7u);
  EXPECT_EQ(s().query1(tl), 1u);
  EXPECT_EQ(s().poll_point(tl, 7), -ETIME);
  EXPECT_EQ(s().poll_point(tl, 1), 0);
  f->signal(-ECANCELED);  // signalled, with an error: still signalled
  EXPECT_EQ(s().poll_point(tl, 7), 0);
  EXPECT_EQ(s().query1(tl), 7u);
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  EXPECT_EQ(s().object(tl)->status_locked(7), -ECANCELED);
}

TEST_F(SyncobjSemantics, TransferBetweenTimelines) {
  uint32_t a = s().make(false), b = s().make(false);
  FencePtr f1 = s().pending(a, 1), f2 = s().pending(a, 2);
  ASSERT_EQ(s().transfer(b, 10, a, 2), 0);
  f2->signal();
  EXPECT_EQ(s().poll_point(b, 10), -ETIME);  // point 2 still waits for 1
  f1->signal();
  EXPECT_EQ(s().poll_point(b, 10), 0);
  // A point that signalled and was collected long ago transfers as
  // signalled.
  EXPECT_EQ(s().tsignal1(a, 3), 0);
  EXPECT_EQ(s().tsignal1(a, 4), 0);
  ASSERT_EQ(s().transfer(b, 11, a, 1), 0);
  EXPECT_EQ(s().poll_point(b, 11), 0);
}

TEST_F(SyncobjSemantics, TransferWaitForSubmit) {
  uint32_t src = s().make(false), dst = s().make(false);
  std::thread t([&] {
    EXPECT_EQ(s().transfer(dst, 1, src, 3, SUBMIT), 0);
  });
  ASSERT_TRUE(s().await_waiters(src, 1));
  FencePtr f3 = s().pending(src, 3);
  t.join();
  EXPECT_EQ(s().poll_point(dst, 1), -ETIME);
  f3->signal();
  EXPECT_EQ(s().poll_point(dst, 1), 0);
}

TEST_F(SyncobjSemantics, HandlesArePerFile) {
  auto other = open_model_file("panthor");
  ASSERT_TRUE(other);
  Sync o(other.get());
  uint32_t mine = s().make(true);
  uint32_t theirs = o.make(false);
  // The same number may exist in both files; they are different objects.
  EXPECT_EQ(mine, theirs);
  EXPECT_EQ(s().wait({mine}, 0), 0);
  EXPECT_EQ(o.wait({theirs}, 0), -EINVAL);
  EXPECT_EQ(o.wait({theirs + 1}, 0), -ENOENT);
}

TEST_F(SyncobjSemantics, CollectedLinksDoNotGrowWithoutBound) {
  uint32_t h = s().make(false);
  for (uint64_t p = 1; p <= 1000; p++) ASSERT_EQ(s().tsignal1(h, p), 0);
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  EXPECT_LE(s().object(h)->link_count_locked(), 2u);
  EXPECT_EQ(s().object(h)->query_locked(false), 1000u);
  EXPECT_TRUE(s().object(h)->signalled_locked(17));
}

}  // namespace
