// The model's Fence directly: signalling, errors, watchers, merged fences,
// and the no-allocation rule of the signalling path.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "syncobj_test_util.h"
#include "winsys/sim/signalling.h"

using namespace wsys::sim;
using namespace wsys::sim::test;

namespace {

class CountingWatcher final : public FenceWatcher {
 public:
  void fence_signalled_locked(Fence& f) override {
    calls++;
    last_status = f.status();
  }
  int calls = 0;
  int last_status = 1;
};

TEST(SimFence, FirstSignalWins) {
  auto f = std::make_shared<Fence>();
  EXPECT_FALSE(f->is_signalled());
  f->signal(-ETIMEDOUT);
  f->signal(0);
  EXPECT_TRUE(f->is_signalled());
  EXPECT_EQ(f->status(), -ETIMEDOUT);
  EXPECT_TRUE(Fence::signalled(-EIO)->is_signalled());
  EXPECT_EQ(Fence::signalled(-EIO)->status(), -EIO);
  EXPECT_TRUE(Fence::stub()->is_signalled());
}

TEST(SimFence, WaitFromAnotherThreadSeesTheError) {
  auto f = std::make_shared<Fence>();
  EXPECT_FALSE(f->wait(0));
  EXPECT_FALSE(f->wait(in_ms(5)));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    f->signal(-EIO);
  });
  EXPECT_TRUE(f->wait());
  EXPECT_EQ(f->status(), -EIO);
  t.join();
}

TEST(SimFence, WatchersRunOnceWithTheLockHeld) {
  auto f = std::make_shared<Fence>();
  auto w = std::make_shared<CountingWatcher>();
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    EXPECT_TRUE(f->add_watcher_locked(w));
  }
  f->signal(-EPIPE);
  f->signal(0);
  EXPECT_EQ(w->calls, 1);
  EXPECT_EQ(w->last_status, -EPIPE);
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  EXPECT_FALSE(f->add_watcher_locked(w));  // already signalled
  EXPECT_EQ(w->calls, 1);
}

TEST(SimFence, WeakWatcherDoesNotKeepItsTargetAlive) {
  auto f = std::make_shared<Fence>();
  auto w = std::make_shared<CountingWatcher>();
  std::weak_ptr<CountingWatcher> weak = w;
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    EXPECT_TRUE(f->add_watcher_locked(make_weak_watcher(std::weak_ptr<FenceWatcher>(w))));
  }
  w.reset();
  EXPECT_TRUE(weak.expired());
  f->signal();  // forwards to nothing, harmlessly
}

TEST(SimFence, MergedFenceSignalsAfterAllWithTheFirstError) {
  auto a = std::make_shared<Fence>(), b = std::make_shared<Fence>(), c = std::make_shared<Fence>();
  FencePtr m;
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    m = Fence::merge_locked({a, b, c});
  }
  EXPECT_NE(m, a);
  b->signal(-EIO);
  a->signal(-ECANCELED);
  EXPECT_FALSE(m->is_signalled());
  c->signal();
  EXPECT_TRUE(m->is_signalled());
  EXPECT_EQ(m->status(), -EIO);  // the first to signal with an error
}

TEST(SimFence, MergeShortcuts) {
  auto a = std::make_shared<Fence>();
  auto done = Fence::signalled();
  auto bad = Fence::signalled(-EIO);
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  EXPECT_EQ(Fence::merge_locked({}), Fence::stub());
  EXPECT_EQ(Fence::merge_locked({done, a}), a);  // one pending: itself
  EXPECT_EQ(Fence::merge_locked({done, done}), done);
  EXPECT_EQ(Fence::merge_locked({done, bad}), bad);  // all done: the error
  FencePtr m = Fence::merge_locked({bad, a});  // one pending, but an error
  EXPECT_NE(m, a);
  a->signal_locked(0);
  EXPECT_TRUE(m->is_signalled());
  EXPECT_EQ(m->status(), -EIO);
}

TEST(SimFence, MergingMergedFencesFlattens) {
  auto a = std::make_shared<Fence>(), b = std::make_shared<Fence>(), c = std::make_shared<Fence>();
  FencePtr m1, m2;
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    m1 = Fence::merge_locked({a, b});
    m2 = Fence::merge_locked({m1, c});
  }
  m1.reset();  // m2 does not need m1: it waits on a, b, c directly
  a->signal();
  c->signal();
  EXPECT_FALSE(m2->is_signalled());
  b->signal();
  EXPECT_TRUE(m2->is_signalled());
}

TEST(SimFence, DroppedMergedFenceIsHarmless) {
  auto a = std::make_shared<Fence>(), b = std::make_shared<Fence>();
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    std::weak_ptr<Fence> weak = Fence::merge_locked({a, b});
    EXPECT_TRUE(weak.expired());
  }
  a->signal();
  b->signal();
}

TEST(SimFence, SignallingInASectionAllocatesNothing) {
  // A fence with every kind of watcher: merged fences on it, a weak
  // forwarder, a plain watcher.
  auto f = std::make_shared<Fence>(), g2 = std::make_shared<Fence>();
  auto w = std::make_shared<CountingWatcher>();
  FencePtr m;
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    m = Fence::merge_locked({f, g2});
    EXPECT_TRUE(f->add_watcher_locked(w));
    EXPECT_TRUE(m->add_watcher_locked(make_weak_watcher(std::weak_ptr<FenceWatcher>(w))));
  }
  uint64_t before = signalling_violations().total();
  uint64_t sections = signalling_sections_entered();
  {
    SignallingSection section;
    g2->signal();
    f->signal(-EIO);
  }
  EXPECT_GT(signalling_sections_entered(), sections);
  EXPECT_EQ(signalling_violations().total(), before);
  EXPECT_EQ(w->calls, 2);
  EXPECT_TRUE(m->is_signalled());
}

TEST(SimFence, ManyThreadsWaitOnOneFence) {
  auto f = std::make_shared<Fence>();
  std::atomic<int> woke{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; i++)
    ts.emplace_back([&] {
      EXPECT_TRUE(f->wait(forever()));
      EXPECT_TRUE(f->is_signalled());
      woke++;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  f->signal();
  for (auto& t : ts) t.join();
  EXPECT_EQ(woke.load(), 8);
}

}  // namespace
