// BoCache policy tests with a fake backend: size classes, pools, refusals,
// LIFO reuse, busy probing, purges and madvise, cap, trim, the decay curve,
// statistics, and a multi-threaded ownership check.
//
// The fake backend records every call, answers busy() and madvise from
// per-entry scripts, and has a clock the test moves by hand, so every decay
// expectation is exact arithmetic, not timing.
#include "wsys/bo_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace wsys {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kSecond = 1'000'000'000;

// A cached object: the hook plus what the fake kernel knows about it.
struct Entry : BoCacheHook {
  int id = 0;
  bool busy = false;        // busy() answer
  bool purged = false;      // make_unevictable() answers "not retained"
  bool mapped = true;       // CPU mapping present
  bool evictable = false;   // last madvise state
  int destroyed = 0;        // destroy() calls on it
};

class FakeBackend : public BoCache::Backend {
 public:
  enum class Call { kBusy, kEvictable, kUnevictable, kDropMap, kDestroy };
  struct Record {
    Call call;
    int id;
  };

  static Entry& as(BoCacheHook& h) { return static_cast<Entry&>(h); }

  bool busy(BoCacheHook& h) override {
    Entry& e = as(h);
    calls.push_back({Call::kBusy, e.id});
    if (on_busy) on_busy(e);
    return e.busy;
  }
  Result<bool> make_evictable(BoCacheHook& h) override {
    Entry& e = as(h);
    calls.push_back({Call::kEvictable, e.id});
    if (evictable_error) return Error(evictable_error);
    e.evictable = true;
    return evictable_retained;
  }
  Result<bool> make_unevictable(BoCacheHook& h) override {
    Entry& e = as(h);
    calls.push_back({Call::kUnevictable, e.id});
    if (unevictable_error) return Error(unevictable_error);
    e.evictable = false;
    return !e.purged;
  }
  void drop_cpu_mapping(BoCacheHook& h) override {
    Entry& e = as(h);
    calls.push_back({Call::kDropMap, e.id});
    e.mapped = false;
  }
  void destroy(BoCacheHook& h) override {
    Entry& e = as(h);
    calls.push_back({Call::kDestroy, e.id});
    e.destroyed++;
  }
  uint64_t now_ns() override { return clock; }

  int count(Call c, int id = -1) const {
    return static_cast<int>(std::count_if(calls.begin(), calls.end(), [&](const Record& r) {
      return r.call == c && (id < 0 || r.id == id);
    }));
  }
  std::vector<int> ids(Call c) const {
    std::vector<int> out;
    for (const Record& r : calls) {
      if (r.call == c) out.push_back(r.id);
    }
    return out;
  }

  std::vector<Record> calls;
  uint64_t clock = 0;
  int evictable_error = 0;    // make_evictable fails with this when non-zero
  int unevictable_error = 0;  // make_unevictable fails with this when non-zero
  bool evictable_retained = true;
  std::function<void(Entry&)> on_busy;  // runs inside busy(), without the cache lock
};

BoCacheConfig default_config() {
  BoCacheConfig c;
  c.max_cached_bytes = 256 * kMiB;
  c.max_bo_size = 64 * kMiB;
  c.decay_half_life_ns = kSecond;
  c.keep_cpu_mapping = false;
  return c;
}

class BoCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { reset(default_config()); }

  void reset(const BoCacheConfig& c) {
    cache_.reset();
    cache_ = std::make_unique<BoCache>(backend_, kPage, c);
  }

  Entry& make(uint64_t size, uint32_t flags = 0) {
    Entry& e = entries_.emplace_back();
    e.id = static_cast<int>(entries_.size()) - 1;
    e.size = size;
    e.flags = flags;
    return e;
  }

  // Takes and checks the result is one of our entries (or nullptr).
  Entry* take(uint64_t size, uint32_t flags = 0) {
    BoCacheHook* h = cache_->take(size, flags);
    return h ? &FakeBackend::as(*h) : nullptr;
  }

  BoCache& cache() { return *cache_; }

  static const BoCacheClassStats* class_stats(const BoCacheStats& s, uint64_t size) {
    for (const BoCacheClassStats& c : s.classes) {
      if (c.class_size == size) return &c;
    }
    return nullptr;
  }

  std::deque<Entry> entries_;  // outlives the backend and the cache
  FakeBackend backend_;
  std::unique_ptr<BoCache> cache_;
};

// --- size classes --------------------------------------------------------------

TEST_F(BoCacheTest, SizeClassesBoundWasteAndAreMonotonic) {
  const uint64_t max_pages = (64 * kMiB) / kPage;
  uint64_t prev = 0;
  std::set<uint64_t> classes;
  for (uint64_t p = 1; p <= max_pages; ++p) {
    const uint64_t req = p * kPage;
    const uint64_t r = cache().round_size(req);
    ASSERT_GE(r, req) << p;
    ASSERT_EQ(r % kPage, 0u) << p;
    ASSERT_LE(r * 8, req * 9) << "more than 12.5% waste at " << p << " pages";
    ASSERT_GE(r, prev) << p;
    ASSERT_TRUE(cache().cacheable(r, 0)) << p;
    ASSERT_EQ(cache().round_size(r), r) << "class sizes are fixed points";
    // A request one byte into the page rounds to the same class.
    ASSERT_EQ(cache().round_size(req - kPage + 1), r) << p;
    if (p <= 8) {
      ASSERT_EQ(r, req) << "exact classes up to 8 pages";
    }
    prev = r;
    classes.insert(r);
  }
  // 8 exact classes, then 8 per power of two from 8 to 16384 pages.
  EXPECT_EQ(classes.size(), 8u + 8u * 11u);
  // Page-rounded sizes that are not class sizes are not cacheable.
  EXPECT_FALSE(cache().cacheable(17 * kPage, 0));
  EXPECT_EQ(cache().round_size(17 * kPage), 18 * kPage);
  EXPECT_FALSE(cache().cacheable(kPage + 1, 0));
  EXPECT_FALSE(cache().cacheable(0, 0));
}

TEST_F(BoCacheTest, SizesAboveTheMaximumAreOnlyPageRoundedAndNotCacheable) {
  EXPECT_EQ(cache().round_size(0), kPage);
  // max_bo_size itself is a class size and is cached ("larger buffers are
  // not cached"); anything above is page-rounded only.
  EXPECT_EQ(cache().round_size(64 * kMiB), 64 * kMiB);
  EXPECT_TRUE(cache().cacheable(64 * kMiB, 0));
  for (uint64_t req : {64 * kMiB + 1, 64 * kMiB + kPage, 65 * kMiB + 123, uint64_t{1} << 32}) {
    const uint64_t r = cache().round_size(req);
    EXPECT_EQ(r, (req + kPage - 1) / kPage * kPage) << req;
    EXPECT_FALSE(cache().cacheable(r, 0)) << req;
    EXPECT_EQ(cache().take(req, 0), nullptr);
  }
  EXPECT_EQ(cache().round_size(UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(cache().stats().misses, 0u) << "uncacheable requests are not misses";

  // A class that would exceed a maximum that is no class size: page rounding.
  BoCacheConfig c = default_config();
  c.max_bo_size = 17 * kPage;
  cache().set_config(c);
  EXPECT_EQ(cache().round_size(17 * kPage), 17 * kPage);
  EXPECT_FALSE(cache().cacheable(17 * kPage, 0));
  EXPECT_TRUE(cache().cacheable(16 * kPage, 0));
}

TEST_F(BoCacheTest, MaxBoSizeCanGrowUpToTheLimit) {
  BoCacheConfig c = default_config();
  c.max_bo_size = 1ull << 40;
  c.max_cached_bytes = 8ull << 30;
  cache().set_config(c);
  EXPECT_EQ(cache().config().max_bo_size, BoCache::kMaxBoSizeLimit);
  const uint64_t req = 3ull << 30;
  const uint64_t r = cache().round_size(req + 1);
  EXPECT_GE(r, req + 1);
  EXPECT_LE(r * 8, (req + 1) * 9);
  EXPECT_TRUE(cache().cacheable(r, 0));
  EXPECT_TRUE(cache().cacheable(BoCache::kMaxBoSizeLimit, 0));
  Entry& e = make(r);
  EXPECT_TRUE(cache().put(e));
  EXPECT_EQ(take(req + 1), &e);
}

TEST(BoCacheSizes, LargerPagesGivePageMultipleClasses) {
  FakeBackend backend;
  for (uint64_t page : {16384ull, 65536ull}) {
    BoCache cache(backend, page, default_config());
    EXPECT_EQ(cache.page_size(), page);
    uint64_t prev = 0;
    for (uint64_t p = 1; p <= (64 * kMiB) / page; ++p) {
      const uint64_t r = cache.round_size(p * page - 1);
      ASSERT_EQ(r % page, 0u);
      ASSERT_GE(r, p * page);
      ASSERT_LE(r * 8, p * page * 9);
      ASSERT_GE(r, prev);
      prev = r;
    }
  }
  // A page size that is no power of two is taken as 4 KiB.
  BoCache odd(backend, 5000, default_config());
  EXPECT_EQ(odd.page_size(), 4096u);
  EXPECT_EQ(odd.round_size(1), 4096u);
}

// --- hits, misses, pools, refusals ---------------------------------------------------

TEST_F(BoCacheTest, HitAndMiss) {
  EXPECT_EQ(take(3 * kPage), nullptr);
  Entry& e = make(3 * kPage);
  ASSERT_TRUE(cache().put(e));
  EXPECT_EQ(cache().bytes_cached(), 3 * kPage);
  EXPECT_EQ(take(2 * kPage), nullptr) << "another class";
  EXPECT_EQ(take(3 * kPage - 100), &e) << "same class";
  EXPECT_EQ(take(3 * kPage), nullptr);
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.puts, 1u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes_cached, 0u);
  EXPECT_EQ(e.destroyed, 0);
}

TEST_F(BoCacheTest, PoolsBySeparateFlags) {
  Entry& exec = make(kPage, 0x1);
  Entry& plain = make(kPage, 0x0);
  ASSERT_TRUE(cache().put(exec));
  EXPECT_EQ(take(kPage, 0x0), nullptr);
  EXPECT_EQ(take(kPage, 0x2), nullptr);
  ASSERT_TRUE(cache().put(plain));
  // Bits outside the pool mask do not select a pool.
  EXPECT_EQ(take(kPage, 0x1 | 0x100), &exec);
  EXPECT_EQ(take(kPage, 0x1), nullptr);
  EXPECT_EQ(take(kPage, 0x100), &plain);
}

TEST_F(BoCacheTest, RefusesSharedOversizedAndNonClassBuffers) {
  Entry& shared = make(kPage);
  shared.shared = true;
  Entry& big = make(64 * kMiB + kPage);
  Entry& odd = make(17 * kPage);     // not a class size
  Entry& unaligned = make(kPage + 1);
  Entry& empty = make(0);
  EXPECT_FALSE(cache().put(shared));
  EXPECT_FALSE(cache().put(big));
  EXPECT_FALSE(cache().put(odd));
  EXPECT_FALSE(cache().put(unaligned));
  EXPECT_FALSE(cache().put(empty));
  EXPECT_EQ(cache().stats().refused, 5u);
  EXPECT_EQ(cache().bytes_cached(), 0u);
  EXPECT_TRUE(backend_.calls.empty()) << "a refused buffer is left to its owner untouched";

  // Larger than the cap itself.
  BoCacheConfig c = default_config();
  c.max_cached_bytes = 8 * kPage;
  cache().set_config(c);
  Entry& over_cap = make(9 * kPage);
  EXPECT_FALSE(cache().cacheable(9 * kPage, 0));
  EXPECT_FALSE(cache().put(over_cap));
  EXPECT_EQ(cache().stats().refused, 6u);
  EXPECT_EQ(over_cap.destroyed, 0);
}

TEST_F(BoCacheTest, SecondPutOfACachedEntryIsIgnored) {
  Entry& e = make(kPage);
  ASSERT_TRUE(cache().put(e));
  EXPECT_TRUE(cache().put(e));
  EXPECT_EQ(cache().stats().entries, 1u);
  EXPECT_EQ(cache().stats().puts, 1u);
  EXPECT_EQ(take(kPage), &e);
  EXPECT_EQ(take(kPage), nullptr);
}

TEST_F(BoCacheTest, IdleEntriesAreTakenNewestFirst) {
  Entry& a = make(2 * kPage);
  Entry& b = make(2 * kPage);
  Entry& c = make(2 * kPage);
  for (Entry* e : {&a, &b, &c}) ASSERT_TRUE(cache().put(*e));
  EXPECT_EQ(take(2 * kPage), &c);
  EXPECT_EQ(take(2 * kPage), &b);
  ASSERT_TRUE(cache().put(c));
  EXPECT_EQ(take(2 * kPage), &c);
  EXPECT_EQ(take(2 * kPage), &a);
}

// --- busy entries -------------------------------------------------------------------------

TEST_F(BoCacheTest, BusyEntriesWaitInPendingAndAreProbedOnce) {
  Entry& a = make(kPage);
  Entry& b = make(kPage);
  Entry& c = make(kPage);
  a.busy = b.busy = c.busy = true;
  for (Entry* e : {&a, &b, &c}) ASSERT_TRUE(cache().put(*e));
  const int busy_after_put = backend_.count(FakeBackend::Call::kBusy);
  EXPECT_EQ(busy_after_put, 3);

  // A busy class costs one probe (the oldest), never a scan.
  EXPECT_EQ(take(kPage), nullptr);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kBusy), busy_after_put + 1);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kBusy, a.id), 2);
  EXPECT_EQ(cache().stats().busy_skips, 1u);
  EXPECT_EQ(cache().stats().misses, 1u);

  // c idle, but a (the oldest) still busy: the probe stops at a.
  c.busy = false;
  EXPECT_EQ(take(kPage), nullptr);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kBusy, a.id), 3);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kBusy, c.id), 1);

  a.busy = false;
  EXPECT_EQ(take(kPage), &a);
  EXPECT_EQ(take(kPage), nullptr) << "b is busy";
  b.busy = false;
  EXPECT_EQ(take(kPage), &b);
  EXPECT_EQ(take(kPage), &c);
  EXPECT_EQ(cache().stats().busy_skips, 3u);
  for (Entry* e : {&a, &b, &c}) EXPECT_EQ(e->destroyed, 0);
}

TEST_F(BoCacheTest, IdleListIsUsedBeforeProbing) {
  Entry& busy = make(kPage);
  busy.busy = true;
  Entry& idle = make(kPage);
  ASSERT_TRUE(cache().put(busy));
  ASSERT_TRUE(cache().put(idle));
  const int probes = backend_.count(FakeBackend::Call::kBusy);
  EXPECT_EQ(take(kPage), &idle);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kBusy), probes) << "no probe needed";
}

TEST_F(BoCacheTest, APutDuringTheProbeIsFound) {
  Entry& a = make(kPage);
  a.busy = true;
  Entry& b = make(kPage);
  ASSERT_TRUE(cache().put(a));
  bool once = false;
  backend_.on_busy = [&](Entry& e) {
    if (e.id == a.id && !once) {
      once = true;
      ASSERT_TRUE(cache().put(b));  // the cache lock is not held here
    }
  };
  EXPECT_EQ(take(kPage), &b);
  EXPECT_EQ(cache().stats().entries, 1u) << "a is back in pending";
  a.busy = false;
  EXPECT_EQ(take(kPage), &a);
}

TEST_F(BoCacheTest, AnEntryEvictedWhileProbedIsDestroyedNotHandedOut) {
  for (bool busy_at_probe : {true, false}) {
    Entry& a = make(kPage);
    a.busy = true;
    ASSERT_TRUE(cache().put(a));
    backend_.on_busy = [&](Entry& e) {
      if (e.id == a.id) {
        EXPECT_EQ(cache().trim(UINT64_MAX), kPage);  // reaches the probed entry
        e.busy = busy_at_probe;
      }
    };
    EXPECT_EQ(take(kPage), nullptr);
    backend_.on_busy = nullptr;
    EXPECT_EQ(a.destroyed, 1) << busy_at_probe;
    EXPECT_EQ(cache().bytes_cached(), 0u);
    EXPECT_EQ(cache().stats().entries, 0u);
  }
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.evicted_by_trim, 2u);
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.puts, s.hits + s.purged_on_reuse + s.evicted + s.entries);
}

// --- madvise and CPU mappings -----------------------------------------------------------

TEST_F(BoCacheTest, MadviseOnPutAndTakeAndMappingDropped) {
  Entry& e = make(kPage);
  ASSERT_TRUE(cache().put(e));
  EXPECT_EQ(backend_.count(FakeBackend::Call::kEvictable, e.id), 1);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kDropMap, e.id), 1);
  EXPECT_TRUE(e.evictable);
  EXPECT_FALSE(e.mapped);
  EXPECT_EQ(take(kPage), &e);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kUnevictable, e.id), 1);
  EXPECT_FALSE(e.evictable);
}

// lazy_madvise: nothing at put; advised (DONTNEED + unmap) once aged, by
// decay(); take() asks WILLNEED only of advised entries.
TEST_F(BoCacheTest, LazyMadviseWaitsForTheGrace) {
  BoCacheConfig c = default_config();
  c.lazy_madvise = true;
  reset(c);
  std::vector<Entry*> es;
  for (int i = 0; i < 8; ++i) {
    es.push_back(&make(kPage));
    ASSERT_TRUE(cache().put(*es.back()));
  }
  for (Entry* e : es) {
    EXPECT_EQ(backend_.count(FakeBackend::Call::kEvictable, e->id), 0);
    EXPECT_TRUE(e->mapped);
  }
  Entry* quick = take(kPage);
  ASSERT_NE(quick, nullptr);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kUnevictable, quick->id), 0) << "never advised";
  ASSERT_TRUE(cache().put(*quick));
  backend_.clock += kSecond / BoCache::kDecayGraceDivisor + 1;
  cache().decay();
  const BoCacheStats s = cache().stats();
  EXPECT_GT(s.entries, 0u);
  EXPECT_EQ(s.advised, s.entries) << "every aged entry that decay kept is advised";
  int advised = 0;
  for (Entry* e : es) {
    if (e->cached) {
      EXPECT_TRUE(e->evictable);
      EXPECT_FALSE(e->mapped);
      ++advised;
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(advised), s.entries);
  Entry* t = take(kPage);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kUnevictable, t->id), 1);
  EXPECT_FALSE(t->evictable);
}

TEST_F(BoCacheTest, LazyMadviseDropsAnEntryPurgedWhenAdvised) {
  BoCacheConfig c = default_config();
  c.lazy_madvise = true;
  c.decay_half_life_ns = 0;  // no grace: advised by put()
  reset(c);
  backend_.evictable_retained = false;
  Entry& e = make(kPage);
  ASSERT_TRUE(cache().put(e));
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.evicted_by_purge, 1u);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kDestroy, e.id), 1);
}

TEST_F(BoCacheTest, KeepCpuMappingLeavesTheMapping) {
  BoCacheConfig c = default_config();
  c.keep_cpu_mapping = true;
  cache().set_config(c);
  Entry& e = make(kPage);
  ASSERT_TRUE(cache().put(e));
  EXPECT_EQ(backend_.count(FakeBackend::Call::kDropMap), 0);
  EXPECT_TRUE(e.mapped);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kEvictable, e.id), 1);
}

TEST_F(BoCacheTest, PurgedOnReuseIsDestroyedAndTheNextTried) {
  Entry& a = make(kPage);
  Entry& b = make(kPage);
  ASSERT_TRUE(cache().put(a));
  ASSERT_TRUE(cache().put(b));
  b.purged = true;  // the kernel reclaimed it while cached
  EXPECT_EQ(take(kPage), &a);
  EXPECT_EQ(b.destroyed, 1);
  EXPECT_EQ(a.destroyed, 0);

  Entry& c = make(kPage);
  ASSERT_TRUE(cache().put(c));
  c.purged = true;
  EXPECT_EQ(take(kPage), nullptr) << "all purged: a miss";
  EXPECT_EQ(c.destroyed, 1);
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.purged_on_reuse, 2u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes_cached, 0u);
}

TEST_F(BoCacheTest, PurgedPendingEntryAfterAnIdleProbe) {
  Entry& a = make(kPage);
  Entry& b = make(kPage);
  a.busy = b.busy = true;
  ASSERT_TRUE(cache().put(a));
  ASSERT_TRUE(cache().put(b));
  a.busy = b.busy = false;
  a.purged = true;
  // a probed idle, purged: destroyed; the take goes on but probes no more.
  EXPECT_EQ(take(kPage), nullptr);
  EXPECT_EQ(a.destroyed, 1);
  EXPECT_EQ(backend_.count(FakeBackend::Call::kBusy, b.id), 1) << "only the put's check";
  EXPECT_EQ(take(kPage), &b);
}

TEST_F(BoCacheTest, MadviseNotSupportedCountsAsRetained) {
  backend_.evictable_error = -EOPNOTSUPP;
  backend_.unevictable_error = -EOPNOTSUPP;
  Entry& e = make(kPage);
  ASSERT_TRUE(cache().put(e));
  EXPECT_EQ(take(kPage), &e);
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.madvise_errors, 0u);
  EXPECT_EQ(s.purged_on_reuse, 0u);
}

TEST_F(BoCacheTest, MadviseErrorsRefuseOrDestroy) {
  backend_.evictable_error = -EIO;
  Entry& a = make(kPage);
  EXPECT_FALSE(cache().put(a));
  EXPECT_EQ(a.destroyed, 0) << "the caller destroys a refused buffer";
  backend_.evictable_error = 0;

  backend_.evictable_retained = false;  // already purged when put
  Entry& b = make(kPage);
  EXPECT_FALSE(cache().put(b));
  backend_.evictable_retained = true;

  Entry& c = make(kPage);
  ASSERT_TRUE(cache().put(c));
  backend_.unevictable_error = -EIO;
  EXPECT_EQ(take(kPage), nullptr);
  EXPECT_EQ(c.destroyed, 1);
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.refused, 2u);
  EXPECT_EQ(s.madvise_errors, 2u);
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 0u);
}

// --- cap and trim -----------------------------------------------------------------------------

TEST_F(BoCacheTest, CapIsNeverExceededAndOldestGoFirst) {
  BoCacheConfig c = default_config();
  c.max_cached_bytes = 40 * kPage;
  c.decay_half_life_ns = 0;
  cache().set_config(c);
  std::mt19937 rng(7);
  const uint64_t sizes[] = {1, 2, 3, 5, 8};
  std::vector<Entry*> put_order;
  for (int i = 0; i < 200; ++i) {
    Entry& e = make(sizes[rng() % 5] * kPage);
    ASSERT_TRUE(cache().put(e));
    put_order.push_back(&e);
    ASSERT_LE(cache().bytes_cached(), c.max_cached_bytes);
  }
  // The destroyed ones are a prefix of the put order; the rest are cached.
  const std::vector<int> destroyed = backend_.ids(FakeBackend::Call::kDestroy);
  ASSERT_FALSE(destroyed.empty());
  uint64_t kept = 0;
  for (size_t i = 0; i < put_order.size(); ++i) {
    if (i < destroyed.size()) {
      EXPECT_EQ(destroyed[i], put_order[i]->id);
      EXPECT_EQ(put_order[i]->destroyed, 1);
    } else {
      EXPECT_EQ(put_order[i]->destroyed, 0);
      kept += put_order[i]->size;
    }
  }
  EXPECT_EQ(kept, cache().bytes_cached());
  // Filled to within one entry of the cap.
  EXPECT_GT(cache().bytes_cached() + 8 * kPage, c.max_cached_bytes);
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.evicted_by_cap, destroyed.size());
  EXPECT_LE(s.peak_bytes_cached, c.max_cached_bytes) << "the peak is taken after the cap";
  EXPECT_GE(s.peak_bytes_cached, cache().bytes_cached());
}

TEST_F(BoCacheTest, TrimFreesAtLeastTheBytesOldestFirst) {
  std::vector<Entry*> es;
  for (uint64_t pages : {1, 2, 4, 8, 3, 5}) {
    es.push_back(&make(pages * kPage));
    ASSERT_TRUE(cache().put(*es.back()));
  }
  EXPECT_EQ(cache().trim(0), 0u);
  EXPECT_EQ(cache().trim(2 * kPage), 3 * kPage);  // 1 + 2 pages
  EXPECT_EQ(es[0]->destroyed, 1);
  EXPECT_EQ(es[1]->destroyed, 1);
  EXPECT_EQ(es[2]->destroyed, 0);
  EXPECT_EQ(cache().trim(kPage), 4 * kPage);
  EXPECT_EQ(cache().bytes_cached(), 16 * kPage);
  EXPECT_EQ(cache().trim(UINT64_MAX), 16 * kPage);
  EXPECT_EQ(cache().bytes_cached(), 0u);
  EXPECT_EQ(cache().trim(UINT64_MAX), 0u);
  const std::vector<int> order = backend_.ids(FakeBackend::Call::kDestroy);
  ASSERT_EQ(order.size(), es.size());
  for (size_t i = 0; i < es.size(); ++i) EXPECT_EQ(order[i], es[i]->id);
  EXPECT_EQ(cache().stats().evicted_by_trim, es.size());
}

TEST_F(BoCacheTest, LoweringTheCapOrMaximumTrimsAtOnce) {
  std::vector<Entry*> es;
  for (int i = 0; i < 10; ++i) {
    es.push_back(&make(4 * kPage));
    ASSERT_TRUE(cache().put(*es.back()));
  }
  Entry& big = make(64 * kPage);
  ASSERT_TRUE(cache().put(big));
  BoCacheConfig c = default_config();
  c.max_bo_size = 32 * kPage;  // big can never be taken again: it goes
  cache().set_config(c);
  EXPECT_EQ(big.destroyed, 1);
  EXPECT_EQ(cache().bytes_cached(), 40 * kPage);
  c.max_cached_bytes = 14 * kPage;
  cache().set_config(c);
  EXPECT_EQ(cache().bytes_cached(), 12 * kPage);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(es[i]->destroyed, i < 7 ? 1 : 0) << i;
  EXPECT_EQ(cache().stats().evicted_by_cap, 8u);
}

TEST_F(BoCacheTest, DestructorDestroysEveryEntry) {
  std::vector<Entry*> es;
  for (int i = 0; i < 5; ++i) {
    es.push_back(&make(kPage, static_cast<uint32_t>(i)));
    es.back()->busy = i % 2;
    ASSERT_TRUE(cache().put(*es.back()));
  }
  cache_.reset();
  for (Entry* e : es) EXPECT_EQ(e->destroyed, 1);
}

// --- decay ------------------------------------------------------------------------------------------

class BoCacheDecayTest : public BoCacheTest {
 protected:
  static constexpr uint64_t kSize = 16 * kPage;
  static constexpr int kCount = 64;
  static constexpr uint64_t kTotal = kSize * kCount;

  std::vector<Entry*> fill_idle(int n = kCount, uint32_t flags = 0) {
    std::vector<Entry*> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(&make(kSize, flags));
      EXPECT_TRUE(cache().put(*out.back()));
    }
    return out;
  }
  // Expects `bytes` to be at most `target` and within one entry of it.
  static void expect_near(uint64_t bytes, double target) {
    EXPECT_LE(static_cast<double>(bytes), target + 0.5);
    EXPECT_GT(static_cast<double>(bytes + kSize), target);
  }
};

TEST_F(BoCacheDecayTest, IdleCacheHalvesEveryHalfLifeAndEmpties) {
  const std::vector<Entry*> es = fill_idle();
  backend_.clock += kSecond / 2;
  cache().decay();
  expect_near(cache().bytes_cached(), kTotal * 0.7071067811865476);
  backend_.clock = kSecond;
  cache().decay();
  expect_near(cache().bytes_cached(), kTotal / 2.0);
  backend_.clock = 2 * kSecond;
  cache().decay();
  expect_near(cache().bytes_cached(), kTotal / 4.0);
  backend_.clock = 3 * kSecond;
  cache().decay();
  expect_near(cache().bytes_cached(), kTotal / 8.0);
  backend_.clock = 40 * kSecond;
  cache().decay();
  EXPECT_EQ(cache().bytes_cached(), 0u);
  // Oldest first: destruction follows put order.
  const std::vector<int> order = backend_.ids(FakeBackend::Call::kDestroy);
  ASSERT_EQ(order.size(), es.size());
  for (size_t i = 0; i < es.size(); ++i) EXPECT_EQ(order[i], es[i]->id);
  EXPECT_EQ(cache().stats().evicted_by_decay, es.size());
}

TEST_F(BoCacheDecayTest, FrequentDecayCallsFollowTheSameCurve) {
  fill_idle();
  for (uint64_t t = 1; t <= 1000; ++t) {
    backend_.clock = t * (kSecond / 1000);
    cache().decay();
  }
  expect_near(cache().bytes_cached(), kTotal / 2.0);
  for (uint64_t t = 1001; t <= 2000; ++t) {
    backend_.clock = t * (kSecond / 1000);
    cache().decay();
  }
  expect_near(cache().bytes_cached(), kTotal / 4.0);
}

TEST_F(BoCacheDecayTest, YoungEntriesAreNotDecayed) {
  fill_idle();
  backend_.clock = kSecond / BoCache::kDecayGraceDivisor - 1;
  cache().decay();
  EXPECT_EQ(cache().bytes_cached(), kTotal);
  backend_.clock = kSecond / BoCache::kDecayGraceDivisor;
  cache().decay();
  EXPECT_LT(cache().bytes_cached(), kTotal) << "of age: on the curve";
}

TEST_F(BoCacheDecayTest, NoDecayWithZeroHalfLife) {
  BoCacheConfig c = default_config();
  c.decay_half_life_ns = 0;
  cache().set_config(c);
  fill_idle();
  backend_.clock = 1000 * kSecond;
  cache().decay();
  EXPECT_EQ(cache().bytes_cached(), kTotal);
}

TEST_F(BoCacheDecayTest, TakingAnAgedEntryLowersTheAllowanceByItsSize) {
  fill_idle();
  backend_.clock = kSecond;
  cache().decay();
  ASSERT_EQ(cache().bytes_cached(), kTotal / 2);
  for (int i = 0; i < 8; ++i) ASSERT_NE(take(kSize), nullptr);
  backend_.clock = 2 * kSecond;
  cache().decay();
  // (N/2 - 8 entries) / 2.
  EXPECT_EQ(cache().bytes_cached(), kTotal / 4 - 4 * kSize);
}

TEST_F(BoCacheDecayTest, SteadyReuseIsNotTrimmed) {
  // A working set of mixed sizes taken and put back every 5 ms for ten
  // half-lives.
  uint64_t sizes[] = {1, 2, 4, 9, 16, 40, 64, 200};  // pages, made class sizes
  uint64_t working_set = 0;
  for (uint64_t& s : sizes) {
    s = cache().round_size(s * kPage) / kPage;
    working_set += 4 * s * kPage;
  }
  for (int frame = 0; frame < 2000; ++frame) {
    std::vector<Entry*> held;
    for (uint64_t s : sizes) {
      for (int k = 0; k < 4; ++k) {
        Entry* e = take(s * kPage);
        held.push_back(e ? e : &make(s * kPage));
      }
    }
    backend_.clock += kSecond / 1000;
    for (Entry* e : held) ASSERT_TRUE(cache().put(*e));
    ASSERT_EQ(cache().bytes_cached(), working_set) << frame;
    backend_.clock += 4 * kSecond / 1000;
  }
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.evicted, 0u);
  EXPECT_EQ(s.misses, 32u) << "the first frame only";
  EXPECT_EQ(s.hits, 32u * 1999u);
}

TEST_F(BoCacheDecayTest, IdlePartDecaysWhileAnotherPartIsReused) {
  fill_idle(kCount, /*flags=*/1);  // idle pool
  const int kWorking = 16;
  const uint64_t working_size = 40 * kPage;
  for (int frame = 0; frame < 400; ++frame) {  // 400 * 5 ms = two half-lives
    std::vector<Entry*> held;
    for (int k = 0; k < kWorking; ++k) {
      Entry* e = take(working_size, 0);
      held.push_back(e ? e : &make(working_size, 0));
    }
    backend_.clock += kSecond / 1000;
    for (Entry* e : held) ASSERT_TRUE(cache().put(*e));
    backend_.clock += 4 * kSecond / 1000;
  }
  ASSERT_EQ(backend_.clock, 2 * kSecond);
  cache().decay();
  const uint64_t working = kWorking * working_size;
  ASSERT_GE(cache().bytes_cached(), working);
  expect_near(cache().bytes_cached() - working, kTotal / 4.0);
  const BoCacheStats s = cache().stats();
  EXPECT_EQ(s.misses, static_cast<uint64_t>(kWorking)) << "the working set was never trimmed";
  const BoCacheClassStats* idle = class_stats(s, kSize);
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->evicted, s.evicted);
}

TEST_F(BoCacheDecayTest, AfterATrimNewEntriesDecayFromScratch) {
  fill_idle();
  backend_.clock = kSecond / 2;
  cache().decay();
  EXPECT_GT(cache().trim(UINT64_MAX), 0u);
  fill_idle();  // put at 0.5 s
  backend_.clock = kSecond / 2 + kSecond;
  cache().decay();
  // The trimmed entries' allowance does not carry over to the new ones.
  expect_near(cache().bytes_cached(), kTotal / 2.0);
}

// --- statistics --------------------------------------------------------------------------------

TEST_F(BoCacheTest, PerClassStatistics) {
  BoCacheConfig c = default_config();
  c.max_cached_bytes = 20 * kPage;
  cache().set_config(c);
  const uint64_t small = kPage, mid = 9 * kPage;
  Entry& s1 = make(small);
  Entry& s2 = make(small);
  Entry& m1 = make(mid);
  Entry& m2 = make(mid);
  EXPECT_EQ(take(small), nullptr);  // miss small
  ASSERT_TRUE(cache().put(s1));
  ASSERT_TRUE(cache().put(s2));
  ASSERT_TRUE(cache().put(m1));
  EXPECT_EQ(take(small), &s2);       // hit small
  s1.purged = true;
  EXPECT_EQ(take(small), nullptr);  // purge + miss small
  m2.busy = true;
  ASSERT_TRUE(cache().put(m2));     // 18 pages
  Entry& m3 = make(mid);
  ASSERT_TRUE(cache().put(m3));     // 27 > 20: m1 evicted (cap)
  EXPECT_EQ(take(mid), &m3);        // hit mid
  EXPECT_EQ(take(mid), nullptr);    // busy skip on m2, miss mid

  const BoCacheStats s = cache().stats();
  ASSERT_EQ(s.classes.size(), 2u) << "only classes with traffic";
  EXPECT_EQ(s.classes[0].class_size, small);
  EXPECT_EQ(s.classes[1].class_size, mid);
  const BoCacheClassStats& cs = s.classes[0];
  EXPECT_EQ(cs.puts, 2u);
  EXPECT_EQ(cs.hits, 1u);
  EXPECT_EQ(cs.misses, 2u);
  EXPECT_EQ(cs.purged_on_reuse, 1u);
  EXPECT_EQ(cs.evicted, 0u);
  EXPECT_EQ(cs.entries, 0u);
  EXPECT_EQ(cs.bytes_cached, 0u);
  EXPECT_EQ(cs.peak_bytes_cached, 2 * small);
  const BoCacheClassStats& cm = s.classes[1];
  EXPECT_EQ(cm.puts, 3u);
  EXPECT_EQ(cm.hits, 1u);
  EXPECT_EQ(cm.misses, 1u);
  EXPECT_EQ(cm.evicted, 1u);
  EXPECT_EQ(cm.busy_skips, 1u);
  EXPECT_EQ(cm.entries, 1u);
  EXPECT_EQ(cm.bytes_cached, mid);
  EXPECT_EQ(cm.peak_bytes_cached, 2 * mid);
  EXPECT_EQ(m1.destroyed, 1);

  EXPECT_EQ(s.puts, 5u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.purged_on_reuse, 1u);
  EXPECT_EQ(s.evicted, 1u);
  EXPECT_EQ(s.evicted_by_cap, 1u);
  EXPECT_EQ(s.busy_skips, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes_cached, mid);
  // s1 + s2 + m1 = 11 pages, m1 + m2 = 18, m2 + m3 = 18 (m1 + m2 + m3 never
  // shows: the cap is applied before the lock is dropped).
  EXPECT_EQ(s.peak_bytes_cached, 18 * kPage);
  EXPECT_EQ(s.puts, s.hits + s.purged_on_reuse + s.evicted + s.entries);
}

// --- concurrency ---------------------------------------------------------------------------------

// An entry shared by threads: ownership is tracked with atomics so a double
// hand-out or a destroy of a held entry is caught wherever it happens.
struct SharedEntry : BoCacheHook {
  static constexpr int kCached = 0;  // owner value while the cache holds it
  std::atomic<int> owner{kCached};   // thread id + 1 while held
  std::atomic<int> destroyed{0};
  std::atomic<int> busy_probes{0};   // busy() says busy this many more times
  std::atomic<bool> purge{false};    // make_unevictable: not retained
};

class ThreadSafeBackend : public BoCache::Backend {
 public:
  bool busy(BoCacheHook& h) override {
    SharedEntry& e = static_cast<SharedEntry&>(h);
    busy_calls.fetch_add(1, std::memory_order_relaxed);
    return e.busy_probes.fetch_sub(1, std::memory_order_relaxed) > 0;
  }
  Result<bool> make_evictable(BoCacheHook& h) override {
    check_not_lost(static_cast<SharedEntry&>(h));
    return true;
  }
  Result<bool> make_unevictable(BoCacheHook& h) override {
    SharedEntry& e = static_cast<SharedEntry&>(h);
    check_not_lost(e);
    return !e.purge.load(std::memory_order_relaxed);
  }
  void drop_cpu_mapping(BoCacheHook& h) override { check_not_lost(static_cast<SharedEntry&>(h)); }
  void destroy(BoCacheHook& h) override {
    SharedEntry& e = static_cast<SharedEntry&>(h);
    // Only a cached entry may be destroyed by the cache, and only once.
    if (e.owner.load(std::memory_order_acquire) != SharedEntry::kCached) errors.fetch_add(1);
    if (e.destroyed.fetch_add(1) != 0) errors.fetch_add(1);
    destroys.fetch_add(1);
  }
  uint64_t now_ns() override {
    return clock.fetch_add(50'000, std::memory_order_relaxed);  // 50 us per read
  }
  void check_not_lost(SharedEntry& e) {
    if (e.destroyed.load(std::memory_order_relaxed) != 0) errors.fetch_add(1);
  }

  std::atomic<uint64_t> clock{0};
  std::atomic<uint64_t> busy_calls{0};
  std::atomic<uint64_t> destroys{0};
  std::atomic<int> errors{0};
};

void eight_threads_never_share_or_lose_an_entry(bool lazy) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 3000;
  constexpr int kMaxHeld = 6;
  constexpr size_t kCapacity = size_t{kThreads} * kIterations;
  const uint64_t sizes[] = {kPage, 2 * kPage, 5 * kPage, 16 * kPage, 36 * kPage};

  std::unique_ptr<SharedEntry[]> pool(new SharedEntry[kCapacity]);
  std::atomic<size_t> created{0};
  ThreadSafeBackend backend;
  BoCacheConfig c = default_config();
  c.max_cached_bytes = 400 * kPage;  // small: the cap evicts often
  c.decay_half_life_ns = 20'000'000;  // 20 ms of fake time: decay evicts too
  c.lazy_madvise = lazy;
  auto cache = std::make_unique<BoCache>(backend, kPage, c);

  std::atomic<uint64_t> hits{0}, misses{0}, refused{0}, double_handouts{0};
  std::vector<std::vector<SharedEntry*>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(1234 + t));
      std::vector<SharedEntry*>& mine = held[static_cast<size_t>(t)];
      const int me = t + 1;
      for (int i = 0; i < kIterations; ++i) {
        const unsigned op = rng() % 100;
        if (op < 45 && mine.size() < kMaxHeld) {
          const uint64_t size = sizes[rng() % 5];
          const uint32_t flags = rng() % 2;
          BoCacheHook* h = cache->take(size, flags);
          if (h) {
            SharedEntry& e = static_cast<SharedEntry&>(*h);
            int expected = SharedEntry::kCached;
            if (!e.owner.compare_exchange_strong(expected, me, std::memory_order_acq_rel) ||
                e.destroyed.load() != 0 || e.size != size || (e.flags & 1) != flags) {
              double_handouts.fetch_add(1);
            }
            hits.fetch_add(1);
            mine.push_back(&e);
          } else {
            misses.fetch_add(1);
            const size_t idx = created.fetch_add(1);
            if (idx >= kCapacity) continue;
            SharedEntry& e = pool[idx];
            e.size = size;
            e.flags = flags;
            e.owner.store(me, std::memory_order_relaxed);
            mine.push_back(&e);
          }
        } else if (op < 90 && !mine.empty()) {
          const size_t k = rng() % mine.size();
          SharedEntry* e = mine[k];
          mine[k] = mine.back();
          mine.pop_back();
          e->busy_probes.store(static_cast<int>(rng() % 3), std::memory_order_relaxed);
          e->purge.store(rng() % 20 == 0, std::memory_order_relaxed);
          // Released before put: once in, another thread may take it.
          e->owner.store(SharedEntry::kCached, std::memory_order_release);
          if (!cache->put(*e)) {
            refused.fetch_add(1);
            e->owner.store(me, std::memory_order_relaxed);
            mine.push_back(e);
          }
        } else if (op < 91) {
          cache->trim(static_cast<uint64_t>(rng() % 8) * kPage);
        } else if (op < 97) {
          cache->decay();
        } else {
          const BoCacheStats s = cache->stats();
          if (s.bytes_cached > c.max_cached_bytes) double_handouts.fetch_add(1000);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  EXPECT_EQ(double_handouts.load(), 0u);
  EXPECT_EQ(backend.errors.load(), 0);
  EXPECT_EQ(refused.load(), 0u);
  const size_t n = std::min(created.load(), kCapacity);
  size_t held_count = 0, cached_count = 0, destroyed_count = 0;
  for (const auto& h : held) held_count += h.size();
  for (size_t i = 0; i < n; ++i) {
    const int d = pool[i].destroyed.load();
    ASSERT_LE(d, 1);
    if (d) {
      destroyed_count++;
    } else if (pool[i].owner.load() == SharedEntry::kCached) {
      cached_count++;
    }
  }
  const BoCacheStats s = cache->stats();
  EXPECT_EQ(cached_count, s.entries);
  EXPECT_EQ(cached_count + held_count + destroyed_count, n) << "no entry lost";
  EXPECT_EQ(destroyed_count, backend.destroys.load());
  EXPECT_EQ(s.hits, hits.load());
  EXPECT_EQ(s.misses, misses.load());
  EXPECT_EQ(s.puts, s.hits + s.purged_on_reuse + s.evicted + s.entries + s.madvise_errors);
  EXPECT_EQ(s.evicted,
            s.evicted_by_cap + s.evicted_by_decay + s.evicted_by_trim + s.evicted_by_purge);
  if (lazy) {
    EXPECT_GT(s.advised, 0u);
  }
  EXPECT_EQ(destroyed_count, s.evicted + s.purged_on_reuse);
  EXPECT_LE(s.bytes_cached, c.max_cached_bytes);
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.busy_skips, 0u);
  EXPECT_GT(s.purged_on_reuse, 0u);
  EXPECT_GT(s.evicted_by_decay, 0u);
  EXPECT_GT(s.evicted_by_trim, 0u);
  uint64_t class_entries = 0, class_hits = 0;
  for (const BoCacheClassStats& cs : s.classes) {
    class_entries += cs.entries;
    class_hits += cs.hits;
  }
  EXPECT_EQ(class_entries, s.entries);
  EXPECT_EQ(class_hits, s.hits);

  // The destructor hands every cached entry back.
  cache.reset();
  for (size_t i = 0; i < n; ++i) {
    if (pool[i].owner.load() == SharedEntry::kCached) {
      EXPECT_EQ(pool[i].destroyed.load(), 1);
    }
  }
  EXPECT_EQ(backend.errors.load(), 0);
}

TEST(BoCacheConcurrency, EightThreadsNeverShareOrLoseAnEntry) {
  eight_threads_never_share_or_lose_an_entry(false);
}

TEST(BoCacheConcurrency, EightThreadsWithLazyMadvise) { eight_threads_never_share_or_lose_an_entry(true); }

}  // namespace
}  // namespace wsys
