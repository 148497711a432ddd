// Many threads on shared syncobjs: producers add timeline points and
// replace/reset binary fences, a "GPU" thread signals fences out of order
// inside fence signalling sections, and waiters wait through every kind of
// wait (TIMELINE_WAIT with WAIT_FOR_SUBMIT / WAIT_AVAILABLE / WAIT_ALL /
// any, WAIT, QUERY, sync_file poll, EVENTFD). The checker: nothing may
// report a point signalled (or available) before the test's own record
// says it is, and every wait completes. The record is always updated
// *before* the model is told, so the check never fails a correct model.
// Run under TSan by CI; sized to stay well under 10 s there.
#include <sys/eventfd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "syncobj_test_util.h"
#include "winsys/sim/signalling.h"

using namespace wsys::sim;
using namespace wsys::sim::test;

namespace {

constexpr uint32_t ALL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
constexpr uint32_t SUBMIT = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
constexpr uint32_t AVAIL = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;

constexpr int kTimelines = 3;
constexpr uint64_t kPoints = 300;        // per timeline
constexpr uint64_t kBinaryGens = 300;    // binary fence generations
constexpr int kWaiters = 4;
constexpr int kWaitsPerWaiter = 150;
constexpr int64_t kWaitLimitMs = 20000;  // a wait this long is a hang

struct Timeline {
  uint32_t handle = 0;
  std::atomic<bool> added[kPoints + 1] = {};
  std::atomic<bool> signalled[kPoints + 1] = {};
  // True if points 1..p are all signalled by the test's record.
  bool done_upto(uint64_t p) const {
    for (uint64_t i = 1; i <= p; i++)
      if (!signalled[i].load()) return false;
    return true;
  }
};

struct PendingFence {
  FencePtr fence;
  std::atomic<bool>* flag;  // timeline point record, or null
  uint64_t binary_gen;      // binary generation, or 0
};

class Gpu {
 public:
  void push(PendingFence p) {
    std::lock_guard<std::mutex> g(lock_);
    (p.flag ? timeline_ : binary_).push_back(std::move(p));
  }
  // Signals one fence: binary ones in order, timeline ones in any order
  // among the oldest few. Returns false if nothing was queued.
  bool step(std::mt19937& rng, std::atomic<uint64_t>* binary_ok_upto) {
    PendingFence p;
    {
      std::lock_guard<std::mutex> g(lock_);
      std::deque<PendingFence>* q = nullptr;
      if (!binary_.empty() && (timeline_.empty() || rng() % 2)) q = &binary_;
      else if (!timeline_.empty()) q = &timeline_;
      if (!q) return false;
      size_t i = q == &binary_ ? 0 : rng() % std::min<size_t>(q->size(), 4);
      p = std::move((*q)[i]);
      q->erase(q->begin() + static_cast<long>(i));
    }
    if (p.flag) p.flag->store(true);
    if (p.binary_gen) {
      uint64_t cur = binary_ok_upto->load();
      while (cur < p.binary_gen && !binary_ok_upto->compare_exchange_weak(cur, p.binary_gen)) {
      }
    }
    SignallingSection section;  // as a job completion would
    p.fence->signal(rng() % 8 == 0 ? -EIO : 0);
    return true;
  }
  size_t queued() {
    std::lock_guard<std::mutex> g(lock_);
    return timeline_.size() + binary_.size();
  }

 private:
  std::mutex lock_;
  std::deque<PendingFence> timeline_, binary_;
};

TEST(SyncobjStress, WaitersNeverReturnEarly) {
  auto file = open_model_file("panthor");
  ASSERT_TRUE(file);
  // A second file sharing every syncobj through fds, so both handle tables
  // and the fd table are in play.
  auto file2 = open_model_file("panthor");
  ASSERT_TRUE(file2);
  Sync s(file.get()), s2(file2.get());

  std::vector<std::unique_ptr<Timeline>> tls;
  std::vector<uint32_t> shared;  // handle in file2 for each timeline
  for (int i = 0; i < kTimelines; i++) {
    tls.push_back(std::make_unique<Timeline>());
    tls.back()->handle = s.make(false);
    int fd = -1;
    ASSERT_EQ(s.to_fd(tls.back()->handle, 0, &fd), 0);
    uint32_t h2 = 0;
    ASSERT_EQ(s2.from_fd(fd, 0, &h2), 0);
    close(fd);
    shared.push_back(h2);
  }
  uint32_t bin = s.make(false);
  std::atomic<uint64_t> binary_attached{0}, binary_ok_upto{0};

  Gpu gpu;
  std::atomic<int> producers_left{kTimelines + 1};
  std::atomic<uint64_t> early{0}, hangs{0}, waits_done{0};

  std::vector<std::thread> threads;
  // Timeline producers: points in order, half already signalled
  // (TIMELINE_SIGNAL), half as pending fences for the GPU.
  for (int t = 0; t < kTimelines; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      Timeline& tl = *tls[t];
      for (uint64_t p = 1; p <= kPoints; p++) {
        while (gpu.queued() > 32) std::this_thread::yield();
        tl.added[p].store(true);
        if (rng() % 2) {
          tl.signalled[p].store(true);
          bool other = rng() % 2;
          EXPECT_EQ(other ? s2.tsignal1(shared[t], p) : s.tsignal1(tl.handle, p), 0);
        } else {
          auto f = std::make_shared<Fence>();
          s.attach(tl.handle, f, p);
          gpu.push({f, &tl.signalled[p], 0});
        }
      }
      producers_left--;
    });
  }
  // Binary producer: replace with pending fences, SIGNAL, RESET.
  threads.emplace_back([&] {
    std::mt19937 rng(7);
    for (uint64_t g = 1; g <= kBinaryGens; g++) {
      while (gpu.queued() > 32) std::this_thread::yield();
      switch (rng() % 4) {
        case 0:
        case 1: {
          auto f = std::make_shared<Fence>();
          s.attach(bin, f);
          binary_attached.store(g);
          gpu.push({f, nullptr, g});
          break;
        }
        case 2: {
          uint64_t cur = binary_ok_upto.load();
          while (cur < g && !binary_ok_upto.compare_exchange_weak(cur, g)) {
          }
          EXPECT_EQ(s.signal({bin}), 0);
          binary_attached.store(g);
          break;
        }
        default:
          EXPECT_EQ(s.reset({bin}), 0);
          break;
      }
    }
    // End signalled so every WAIT_FOR_SUBMIT waiter finishes.
    binary_ok_upto.store(kBinaryGens + 1);
    EXPECT_EQ(s.signal({bin}), 0);
    binary_attached.store(kBinaryGens + 1);
    producers_left--;
  });
  // The GPU.
  threads.emplace_back([&] {
    std::mt19937 rng(99);
    while (producers_left.load() > 0 || gpu.queued() > 0) {
      if (!gpu.step(rng, &binary_ok_upto)) {
        std::this_thread::yield();
        continue;
      }
      // Let out-of-order gaps last long enough for waiters to run into them.
      std::this_thread::sleep_for(std::chrono::microseconds(50 + rng() % 100));
    }
  });
  // Waiters.
  for (int w = 0; w < kWaiters; w++) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(1000 + w);
      Sync& ws = w % 2 ? s : s2;
      for (int i = 0; i < kWaitsPerWaiter; i++) {
        int t = static_cast<int>(rng() % kTimelines);
        Timeline& tl = *tls[t];
        uint32_t h = &ws == &s ? tl.handle : shared[t];
        uint64_t p = 1 + rng() % kPoints;
        int64_t limit = in_ms(kWaitLimitMs);
        int r = 0;
        switch (rng() % 6) {
          case 0: {  // a point, maybe not submitted yet
            r = ws.twait({h}, {p}, limit, SUBMIT);
            if (r == 0 && !tl.done_upto(p)) early++;
            break;
          }
          case 1: {  // available, not necessarily signalled
            r = ws.twait({h}, {p}, limit, AVAIL);
            if (r == 0 && !tl.added[p].load()) early++;
            break;
          }
          case 2: {  // two timelines, all of them
            int t2 = (t + 1) % kTimelines;
            uint64_t p2 = 1 + rng() % kPoints;
            uint32_t h2 = &ws == &s ? tls[t2]->handle : shared[t2];
            r = ws.twait({h, h2}, {p, p2}, limit, SUBMIT | ALL);
            if (r == 0 && !(tl.done_upto(p) && tls[t2]->done_upto(p2))) early++;
            break;
          }
          case 3: {  // any of two: the reported one must be done
            int t2 = (t + 1) % kTimelines;
            uint64_t p2 = 1 + rng() % kPoints;
            uint32_t h2 = &ws == &s ? tls[t2]->handle : shared[t2];
            uint32_t first = ~0u;
            r = ws.twait({h, h2}, {p, p2}, limit, SUBMIT, &first);
            if (r == 0) {
              bool ok = first == 0 ? tl.done_upto(p) : first == 1 && tls[t2]->done_upto(p2);
              if (!ok) early++;
            }
            break;
          }
          case 4: {  // binary: whatever fence it finds must be done
            uint64_t g0 = binary_attached.load();
            r = s.wait({bin}, limit, SUBMIT);
            if (r == 0 && binary_ok_upto.load() < g0) early++;
            break;
          }
          default: {  // QUERY, a sync_file of the chain, an eventfd
            uint64_t q = ws.query1(h);
            if (q > kPoints || !tl.done_upto(q)) early++;
            uint64_t last = ws.query1(h, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED);
            if (last > kPoints || (last && !tl.added[last].load())) early++;
            if (last == 0) break;
            int sf = -1;
            EXPECT_EQ(ws.to_fd(h, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &sf), 0);
            int efd = eventfd(0, EFD_CLOEXEC);
            EXPECT_EQ(ws.eventfd(h, p, efd), 0);
            if (!readable_within(sf, kWaitLimitMs)) hangs++;
            if (!tl.done_upto(last)) early++;
            if (!readable_within(efd, kWaitLimitMs)) hangs++;
            if (!tl.done_upto(p)) early++;
            close(sf);
            close(efd);
            break;
          }
        }
        if (r == -ETIME) hangs++;
        else EXPECT_EQ(r, 0);
        waits_done++;
      }
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(early.load(), 0u) << "a wait returned before its condition held";
  EXPECT_EQ(hangs.load(), 0u) << "a wait did not complete";
  EXPECT_EQ(waits_done.load(), static_cast<uint64_t>(kWaiters * kWaitsPerWaiter));
  // Everything signalled: every point of every timeline, through either file.
  for (int t = 0; t < kTimelines; t++) {
    EXPECT_EQ(s.query1(tls[t]->handle), kPoints);
    EXPECT_EQ(s2.twait({shared[t]}, {kPoints}, 0), 0);
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    EXPECT_EQ(s.object(tls[t]->handle)->waiter_count_locked(), 0u);
  }
  EXPECT_EQ(signalling_violations().total(), 0u);
}

}  // namespace
