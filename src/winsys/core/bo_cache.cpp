// wsys::BoCache: size classes, idle/pending lists, a global LRU, the decay
// allowance and the cap. The policy is described in include/wsys/bo_cache.hpp
// and docs/bo-cache.md; this file only says how it is kept.
//
// Data structures (all under lock_):
//  - pools_[pool][class]: two doubly linked lists through
//    class_prev/class_next: `idle` (appended at the tail, taken from the
//    tail: LIFO) and `pending` (appended at the tail, probed at the head).
//  - one circular LRU through lru_prev/lru_next with lru_head_ as sentinel,
//    in put order (so put_ns never decreases along it): every eviction takes
//    lru_head_.lru_next. An entry take() is probing is out of its class list
//    but stays in the LRU and in the byte counts, so an eviction that reaches
//    it marks it doomed instead of destroying it under the prober's feet.
//  - the young entries (inside the decay grace) are a suffix of the LRU,
//    starting at young_head_; they come of age in LRU order, so moving the
//    boundary costs O(1) per entry over its life.
// Evicted entries are chained through class_next and destroyed after the
// lock is dropped: Backend calls never run under it.
#include "wsys/bo_cache.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <new>

namespace wsys {

namespace {

constexpr uint64_t kMinPageSize = 4096;
// Page counts up to this have one class each; above it, 8 per power of two.
constexpr uint64_t kExactPages = 8;
constexpr unsigned kSubClassesLog2 = 3;  // 8 classes per power of two

// The index of the class serving a request of `pages` pages (>= 1).
// Above kExactPages, with 2^k <= pages < 2^(k+1), the class step is
// 2^(k-3) pages and the class is `pages` rounded up to the step, written
// m * 2^(k-3) with m in [8, 16]; m == 16 is the next octave's first class,
// which the formula numbers the same way, so no special case.
uint32_t class_index_for_pages(uint64_t pages) {
  if (pages <= kExactPages) return static_cast<uint32_t>(pages - 1);
  const unsigned k = 63u - static_cast<unsigned>(std::countl_zero(pages));
  const unsigned shift = k - kSubClassesLog2;
  const uint64_t m = (pages + (uint64_t{1} << shift) - 1) >> shift;
  return static_cast<uint32_t>((uint64_t{shift} << kSubClassesLog2) + m - 1);
}

// The page count of class `index` (the inverse of class_index_for_pages on
// class sizes).
uint64_t class_pages(uint32_t index) {
  if (index < kExactPages) return uint64_t{index} + 1;
  const uint64_t j = uint64_t{index} + 1;  // (k - 3) * 8 + m
  const unsigned shift = static_cast<unsigned>(j >> kSubClassesLog2) - 1;
  const uint64_t m = (j & ((1u << kSubClassesLog2) - 1)) + (1u << kSubClassesLog2);
  return m << shift;
}

uint64_t normalize_page_size(uint64_t page_size) {
  // A page size that is no power of two would break every rounding below;
  // the kernel's is always one, so anything else is a caller bug we survive.
  if (page_size < kMinPageSize || !std::has_single_bit(page_size) ||
      page_size > BoCache::kMaxBoSizeLimit) {
    return kMinPageSize;
  }
  return page_size;
}

BoCacheConfig normalize_config(BoCacheConfig c) {
  c.max_bo_size = std::min(c.max_bo_size, BoCache::kMaxBoSizeLimit);
  return c;
}

// 2^(-age / half_life): the share of its size an entry of this age still
// justifies. Half-life 0 means no decay.
double decay_weight(uint64_t age_ns, uint64_t half_life_ns) {
  if (half_life_ns == 0) return 1.0;
  return std::exp2(-static_cast<double>(age_ns) / static_cast<double>(half_life_ns));
}

// --- intrusive class lists (head/tail pointers, no sentinel) ---------------

void list_push_back(BoCacheHook*& head, BoCacheHook*& tail, BoCacheHook& e) {
  e.class_next = nullptr;
  e.class_prev = tail;
  if (tail) tail->class_next = &e; else head = &e;
  tail = &e;
}

void list_push_front(BoCacheHook*& head, BoCacheHook*& tail, BoCacheHook& e) {
  e.class_prev = nullptr;
  e.class_next = head;
  if (head) head->class_prev = &e; else tail = &e;
  head = &e;
}

void list_unlink(BoCacheHook*& head, BoCacheHook*& tail, BoCacheHook& e) {
  if (e.class_prev) e.class_prev->class_next = e.class_next; else head = e.class_next;
  if (e.class_next) e.class_next->class_prev = e.class_prev; else tail = e.class_prev;
  e.class_prev = e.class_next = nullptr;
}

}  // namespace

struct BoCache::Class {
  BoCacheHook* idle_head = nullptr;
  BoCacheHook* idle_tail = nullptr;     // newest: taken first
  BoCacheHook* pending_head = nullptr;  // oldest: probed first
  BoCacheHook* pending_tail = nullptr;
};

BoCache::BoCache(Backend& backend, uint64_t page_size, BoCacheConfig config)
    : backend_(backend),
      page_size_(normalize_page_size(page_size)),
      page_shift_(static_cast<unsigned>(std::countr_zero(page_size_))),
      class_count_(class_index_for_pages(kMaxBoSizeLimit >> page_shift_) + 1),
      config_(normalize_config(config)),
      max_bo_size_(config_.max_bo_size),
      max_cached_bytes_(config_.max_cached_bytes),
      class_stats_(class_count_),
      lazy_madvise_(config_.lazy_madvise) {
  for (uint32_t i = 0; i < class_count_; ++i) class_stats_[i].class_size = class_pages(i) * page_size_;
  lru_head_.lru_next = lru_head_.lru_prev = &lru_head_;
  // No Backend call here (no clock either): the backend may be the object
  // that is constructing us. The first operation starts the clock.
}

BoCache::~BoCache() {
  // No other call may run now, so nothing is being probed: every entry is
  // in the LRU.
  BoCacheHook* e = lru_head_.lru_next;
  while (e != &lru_head_) {
    BoCacheHook* next = e->lru_next;
    e->cached = false;
    e->class_prev = e->class_next = e->lru_prev = e->lru_next = nullptr;
    backend_.destroy(*e);
    e = next;
  }
  for (std::atomic<Class*>& p : pools_) delete[] p.load(std::memory_order_relaxed);
}

// --- sizes -------------------------------------------------------------------

uint64_t BoCache::round_size(uint64_t size) const {
  if (size == 0) size = page_size_;
  if (size > UINT64_MAX - (page_size_ - 1)) return UINT64_MAX;
  const uint64_t pages = (size + page_size_ - 1) >> page_shift_;
  const uint64_t page_rounded = pages * page_size_;
  const uint64_t max = max_bo_size_.load(std::memory_order_relaxed);
  if (page_rounded > max) return page_rounded;
  const uint64_t class_size = class_pages(class_index_for_pages(pages)) * page_size_;
  // A class above max_bo_size could not be cached: do not waste the rounding.
  return class_size > max ? page_rounded : class_size;
}

bool BoCache::cacheable(uint64_t size, uint32_t flags) const {
  (void)flags;  // every flag set has its pool
  if (size < page_size_ || (size & (page_size_ - 1)) != 0) return false;
  if (size > max_bo_size_.load(std::memory_order_relaxed)) return false;
  if (size > max_cached_bytes_.load(std::memory_order_relaxed)) return false;
  const uint64_t pages = size >> page_shift_;
  return class_pages(class_index_for_pages(pages)) == pages;
}

// --- locked helpers ------------------------------------------------------------

BoCache::Class& BoCache::lists_of(const BoCacheHook& e) {
  // Linked entries only: their pool's lists exist (accepts_locked).
  return pools_[e.pool].load(std::memory_order_relaxed)[e.class_index];
}

BoCache::Class* BoCache::pool_lists(uint32_t pool) {
  Class* lists = pools_[pool].load(std::memory_order_acquire);
  if (lists) return lists;
  Class* fresh = new (std::nothrow) Class[class_count_];
  if (!fresh) return nullptr;
  if (pools_[pool].compare_exchange_strong(lists, fresh, std::memory_order_acq_rel)) return fresh;
  delete[] fresh;  // another take() made it first
  return lists;
}

bool BoCache::accepts_locked(const BoCacheHook& e) const {
  if (e.shared) return false;
  // put() made the pool's lists before it locked, unless out of memory.
  if (!pools_[e.flags & kPoolFlagMask].load(std::memory_order_relaxed)) return false;
  const uint64_t s = e.size;
  if (s < page_size_ || (s & (page_size_ - 1)) != 0) return false;
  if (s > config_.max_bo_size || s > config_.max_cached_bytes) return false;
  const uint64_t pages = s >> page_shift_;
  return class_pages(class_index_for_pages(pages)) == pages;
}

void BoCache::link_locked(BoCacheHook& e, bool busy, uint64_t now) {
  e.class_index = static_cast<uint16_t>(class_index_for_pages(e.size >> page_shift_));
  e.pool = static_cast<uint8_t>(e.flags & kPoolFlagMask);
  e.put_ns = now;  // now >= every put_ns in the LRU (age_locked's clock)
  e.in_pending = busy;
  e.cached = true;
  e.aged = false;
  e.probing = false;
  e.doomed = false;
  e.advised = false;
  Class& c = lists_of(e);
  if (busy) list_push_back(c.pending_head, c.pending_tail, e);
  else list_push_back(c.idle_head, c.idle_tail, e);
  // Newest end of the LRU.
  e.lru_next = &lru_head_;
  e.lru_prev = lru_head_.lru_prev;
  lru_head_.lru_prev->lru_next = &e;
  lru_head_.lru_prev = &e;
  if (!young_head_) young_head_ = &e;
  if (!advise_head_) advise_head_ = &e;
  young_bytes_ += e.size;

  // Peaks are taken by put() once the cap is applied: a moment above the
  // cap under the lock is not something anyone held.
  BoCacheClassStats& cs = class_stats_[e.class_index];
  cs.puts++;
  cs.entries++;
  cs.bytes_cached += e.size;
  totals_.puts++;
  totals_.entries++;
  totals_.bytes_cached += e.size;
  mirror_locked();
}

// Out of the class list (unless probing: it is out already), the LRU and
// the counts. The caller decides what the entry becomes.
void BoCache::unlink_locked(BoCacheHook& e) {
  if (!e.probing) {
    Class& c = lists_of(e);
    if (e.in_pending) list_unlink(c.pending_head, c.pending_tail, e);
    else list_unlink(c.idle_head, c.idle_tail, e);
  }
  if (young_head_ == &e) young_head_ = e.lru_next == &lru_head_ ? nullptr : e.lru_next;
  if (advise_head_ == &e) advise_head_ = e.lru_next == &lru_head_ ? nullptr : e.lru_next;
  if (!e.aged) young_bytes_ -= e.size;
  e.lru_prev->lru_next = e.lru_next;
  e.lru_next->lru_prev = e.lru_prev;
  e.lru_prev = e.lru_next = nullptr;
  e.cached = false;

  BoCacheClassStats& cs = class_stats_[e.class_index];
  cs.entries--;
  cs.bytes_cached -= e.size;
  totals_.entries--;
  totals_.bytes_cached -= e.size;
  mirror_locked();
}

// A hit (made final by the caller's make_unevictable). An aged entry gives
// its size back from the allowance: the other aged entries keep their share.
void BoCache::take_locked(BoCacheHook& e) {
  if (e.aged) allowance_ = std::max(0.0, allowance_ - static_cast<double>(e.size));
  unlink_locked(e);
  class_stats_[e.class_index].hits++;
  totals_.hits++;
}

void BoCache::evict_locked(BoCacheHook& e, Cause cause, Chain& chain) {
  const bool probing = e.probing;
  unlink_locked(e);
  class_stats_[e.class_index].evicted++;
  totals_.evicted++;
  switch (cause) {
    case Cause::kDecay: totals_.evicted_by_decay++; break;
    case Cause::kCap: totals_.evicted_by_cap++; break;
    case Cause::kTrim: totals_.evicted_by_trim++; break;
  }
  if (probing) {
    e.doomed = true;  // take() destroys it when busy() returns
    return;
  }
  e.class_next = nullptr;
  if (chain.tail) chain.tail->class_next = &e; else chain.head = &e;
  chain.tail = &e;
}

// Brings the allowance to `now` and lets the entries whose grace is over
// join it (each with its size decayed by its age: the same value it would
// have had if put() had added it and it had decayed since). Returns the
// clock used, which never goes backwards even if threads read the backend
// clock in a different order than they take the lock.
uint64_t BoCache::age_locked(uint64_t now) {
  now = std::max(now, clock_ns_);
  const uint64_t half_life = config_.decay_half_life_ns;
  const uint64_t grace = half_life / kDecayGraceDivisor;
  // No time passed (a coarse clock between ticks): nothing decays, and
  // nothing young came of age unless the grace is zero.
  if (now == clock_ns_ && grace != 0) return now;
  allowance_ *= decay_weight(now - clock_ns_, half_life);
  clock_ns_ = now;
  while (young_head_ && now - young_head_->put_ns >= grace) {
    BoCacheHook& e = *young_head_;
    e.aged = true;
    young_bytes_ -= e.size;
    allowance_ += static_cast<double>(e.size) * decay_weight(now - e.put_ns, half_life);
    young_head_ = e.lru_next == &lru_head_ ? nullptr : e.lru_next;
  }
  return now;
}

// Evicts the oldest entries while the aged bytes exceed the allowance. The
// aged entries are a prefix of the LRU, so the oldest is always aged here.
// Sub-byte differences are floating-point noise, not a reason to evict.
// The allowance is not lowered to the bytes kept: the surplus is less than
// the last entry evicted, and dropping it at every call would make a
// frequently called decay() fall faster than the curve.
void BoCache::decay_evict_locked(Chain& chain) {
  if (config_.decay_half_life_ns == 0) return;
  while (static_cast<double>(totals_.bytes_cached - young_bytes_) > allowance_ + 0.5) {
    evict_locked(*lru_head_.lru_next, Cause::kDecay, chain);
  }
}

// Evicts the oldest entries until at most `limit` bytes are cached. An
// allowance above what the aged entries still hold afterwards would let
// the next entries skip their decay, so it is cut to them.
void BoCache::cap_evict_locked(uint64_t limit, Cause cause, Chain& chain) {
  bool evicted = false;
  while (totals_.bytes_cached > limit) {
    evict_locked(*lru_head_.lru_next, cause, chain);
    evicted = true;
  }
  if (evicted) {
    allowance_ = std::min(allowance_, static_cast<double>(totals_.bytes_cached - young_bytes_));
  }
}

void BoCache::destroy_chain(Chain& chain) {
  BoCacheHook* e = chain.head;
  chain.head = chain.tail = nullptr;
  while (e) {
    BoCacheHook* next = e->class_next;
    e->class_next = nullptr;
    backend_.destroy(*e);  // may free the entry: `next` was read first
    e = next;
  }
}

// --- public calls -----------------------------------------------------------------

BoCacheHook* BoCache::take(uint64_t size, uint32_t flags) {
  const uint64_t rounded = round_size(size);
  const uint32_t pool = flags & kPoolFlagMask;
  Class* const lists = pool_lists(pool);
  if (!lists) return nullptr;  // no memory for the pool's lists: a miss the caller handles
  const uint64_t now = backend_.now_ns();
  bool probed = false;  // at most one busy() probe per take
  for (;;) {
    Chain chain;
    BoCacheHook* e = nullptr;
    bool probe = false;
    {
      std::lock_guard<std::mutex> g(lock_);
      // Checked under the lock: set_config may have lowered a limit.
      if (rounded > config_.max_bo_size || rounded > config_.max_cached_bytes) return nullptr;
      const uint32_t ci = class_index_for_pages(rounded >> page_shift_);
      if (class_pages(ci) * page_size_ != rounded) return nullptr;  // not a class
      age_locked(now);
      decay_evict_locked(chain);
      Class& c = lists[ci];
      if (c.idle_tail) {
        e = c.idle_tail;
        take_locked(*e);
      } else if (!probed && c.pending_head) {
        // Out of the list while busy() runs without the lock, so no other
        // take probes it; it stays in the LRU and the counts (still cached).
        e = c.pending_head;
        list_unlink(c.pending_head, c.pending_tail, *e);
        e->probing = true;
        probe = true;
      } else {
        class_stats_[ci].misses++;
        totals_.misses++;
      }
    }
    destroy_chain(chain);
    if (!e) return nullptr;

    if (probe) {
      probed = true;
      const bool busy = backend_.busy(*e);
      BoCacheHook* dead = nullptr;
      bool ours = false;
      {
        std::lock_guard<std::mutex> g(lock_);
        if (e->doomed) {
          e->doomed = false;  // evicted meanwhile (counted then): ours to destroy
          dead = e;
        } else if (busy) {
          Class& c = lists_of(*e);
          list_push_front(c.pending_head, c.pending_tail, *e);  // oldest again
          class_stats_[e->class_index].busy_skips++;
          totals_.busy_skips++;
        } else {
          take_locked(*e);  // still marked probing: it is in no class list
          ours = true;
        }
        e->probing = false;
      }
      if (dead) backend_.destroy(*dead);
      if (!ours) continue;  // an idle entry may have been put meanwhile
    }

    // e is ours: make sure the kernel kept its pages (an entry never made
    // evictable still has them).
    if (!e->advised) return e;
    e->advised = false;
    const Result<bool> r = backend_.make_unevictable(*e);
    if (r.ok() ? r.value() : r.error() == -EOPNOTSUPP) return e;
    {
      std::lock_guard<std::mutex> g(lock_);
      BoCacheClassStats& cs = class_stats_[e->class_index];
      cs.hits--;  // take_locked counted it
      totals_.hits--;
      if (r.ok()) {
        cs.purged_on_reuse++;
        totals_.purged_on_reuse++;
      } else {
        totals_.madvise_errors++;
      }
    }
    backend_.destroy(*e);
  }
}

// Links an accepted entry, applies the cap and the decay, and records the
// peaks. Returns whether aged entries wait for their madvise (lazy).
bool BoCache::link_put_locked(BoCacheHook& e, bool busy, uint64_t now, bool lazy, Chain& chain) {
  const uint64_t t = age_locked(now);
  link_locked(e, busy, t);
  // With a zero grace (no decay) the entry is of age at once.
  age_locked(t);
  cap_evict_locked(config_.max_cached_bytes, Cause::kCap, chain);
  decay_evict_locked(chain);
  // Only the entry's class and the total grew.
  BoCacheClassStats& cs = class_stats_[e.class_index];
  cs.peak_bytes_cached = std::max(cs.peak_bytes_cached, cs.bytes_cached);
  totals_.peak_bytes_cached = std::max(totals_.peak_bytes_cached, totals_.bytes_cached);
  if (!lazy) e.advised = true;
  return lazy && advise_head_ && advise_head_->aged;
}

bool BoCache::put(BoCacheHook& e) {
  (void)pool_lists(e.flags & kPoolFlagMask);  // none: refused below (accepts_locked)
  // With lazy madvise nothing is asked of the kernel at put but busy():
  // asked first, without the lock, then one lock section links the entry
  // (the hot path of a cache hit's free: issue 21). An entry the limits
  // refuse is not probed (lock-free copies of the limits; checked again
  // under the lock).
  if (lazy_madvise_.load(std::memory_order_relaxed)) {
    if (e.shared || !cacheable(e.size, e.flags)) {
      std::lock_guard<std::mutex> g(lock_);
      if (e.cached) return true;
      totals_.refused++;
      return false;
    }
    const bool busy = backend_.busy(e);
    const uint64_t now = backend_.now_ns();
    Chain chain;
    bool advise = false;
    bool linked = false;
    {
      std::lock_guard<std::mutex> g(lock_);
      if (e.cached) return true;  // already ours: a second put changes nothing
      if (config_.lazy_madvise) {
        if (!accepts_locked(e)) {
          totals_.refused++;
          return false;
        }
        advise = link_put_locked(e, busy, now, true, chain);
        linked = true;
      }
      // else set_config turned lazy off meanwhile: the general path below.
    }
    if (linked) {
      destroy_chain(chain);
      // A few aged entries at a time, so a cache without decay() calls
      // still becomes purgeable.
      if (advise) advise_aged(4);
      return true;
    }
  }
  bool keep_mapping = false;
  bool lazy = false;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (e.cached) return true;  // already ours: a second put changes nothing
    if (!accepts_locked(e)) {
      totals_.refused++;
      return false;
    }
    keep_mapping = config_.keep_cpu_mapping;
    lazy = config_.lazy_madvise;
  }
  // A CPU mapping pins the pages: the kernel cannot purge a mapped buffer.
  if (!keep_mapping && !lazy) backend_.drop_cpu_mapping(e);
  const bool busy = backend_.busy(e);
  const Result<bool> r = lazy ? Result<bool>(true) : backend_.make_evictable(e);
  // DONTNEED answering "not retained" means the pages were already gone:
  // such a buffer could only ever be a purge on reuse.
  const bool usable = r.ok() ? r.value() : r.error() == -EOPNOTSUPP;
  const uint64_t now = backend_.now_ns();

  Chain chain;
  bool advise = false;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (!r.ok() && r.error() != -EOPNOTSUPP) totals_.madvise_errors++;
    // The limits may have changed while the lock was dropped.
    if (!usable || !accepts_locked(e)) {
      totals_.refused++;
      return false;
    }
    advise = link_put_locked(e, busy, now, lazy, chain);
  }
  destroy_chain(chain);
  // A few aged entries at a time, so a cache without decay() calls still
  // becomes purgeable.
  if (advise) advise_aged(4);
  return true;
}

uint64_t BoCache::trim(uint64_t bytes) {
  Chain chain;
  uint64_t freed = 0;
  {
    std::lock_guard<std::mutex> g(lock_);
    while (freed < bytes && totals_.bytes_cached > 0) {
      freed += lru_head_.lru_next->size;
      evict_locked(*lru_head_.lru_next, Cause::kTrim, chain);
    }
    // As after the cap: what was trimmed must not pre-allow what comes next.
    if (freed > 0) {
      allowance_ = std::min(allowance_, static_cast<double>(totals_.bytes_cached - young_bytes_));
    }
  }
  destroy_chain(chain);
  return freed;
}

void BoCache::decay() {
  const uint64_t now = backend_.now_ns();
  Chain chain;
  bool lazy;
  {
    std::lock_guard<std::mutex> g(lock_);
    age_locked(now);
    decay_evict_locked(chain);
    lazy = config_.lazy_madvise;
  }
  destroy_chain(chain);
  if (lazy) advise_aged(SIZE_MAX);
}

// Takes aged, unadvised entries out of their class lists (marked probing, as
// take() does around busy(), so no take hands them out and an eviction
// meanwhile leaves them to us), advises them without the lock, and puts
// them back (at the old end of their list: they are among the oldest).
void BoCache::advise_aged(size_t max) {
  Chain batch;  // entries being advised, linked through class_next
  bool keep_mapping;
  {
    std::lock_guard<std::mutex> g(lock_);
    keep_mapping = config_.keep_cpu_mapping;
    size_t n = 0;
    while (advise_head_ && advise_head_->aged && n < max) {
      BoCacheHook& e = *advise_head_;
      advise_head_ = e.lru_next == &lru_head_ ? nullptr : e.lru_next;
      if (e.advised || e.probing) continue;
      Class& c = lists_of(e);
      if (e.in_pending) list_unlink(c.pending_head, c.pending_tail, e);
      else list_unlink(c.idle_head, c.idle_tail, e);
      e.probing = true;
      e.class_next = nullptr;
      if (batch.tail) batch.tail->class_next = &e; else batch.head = &e;
      batch.tail = &e;
      ++n;
    }
  }
  if (!batch.head) return;
  // Results ride in `advised` (true: retained) until relinked.
  for (BoCacheHook* e = batch.head; e; e = e->class_next) {
    if (!keep_mapping) backend_.drop_cpu_mapping(*e);
    const Result<bool> r = backend_.make_evictable(*e);
    e->advised = r.ok() ? r.value() : r.error() == -EOPNOTSUPP;
  }
  Chain dead;
  {
    std::lock_guard<std::mutex> g(lock_);
    BoCacheHook* e = batch.head;
    while (e) {
      BoCacheHook* next = e->class_next;
      e->probing = false;
      if (e->doomed) {  // evicted meanwhile (counted then): ours to destroy
        e->doomed = false;
        e->class_next = nullptr;
        if (dead.tail) dead.tail->class_next = e; else dead.head = e;
        dead.tail = e;
      } else if (!e->advised) {
        // Purged already, or madvise failed: it cannot serve a take. It is
        // out of its class list, so probing keeps unlink_locked off it.
        e->probing = true;
        unlink_locked(*e);
        e->probing = false;
        class_stats_[e->class_index].evicted++;
        totals_.evicted++;
        totals_.evicted_by_purge++;
        e->class_next = nullptr;
        if (dead.tail) dead.tail->class_next = e; else dead.head = e;
        dead.tail = e;
      } else {
        Class& c = lists_of(*e);
        if (e->in_pending) list_push_front(c.pending_head, c.pending_tail, *e);
        else list_push_front(c.idle_head, c.idle_tail, *e);
        totals_.advised++;
      }
      e = next;
    }
  }
  destroy_chain(dead);
}

BoCacheStats BoCache::stats() const {
  std::lock_guard<std::mutex> g(lock_);
  BoCacheStats s = totals_;
  for (const BoCacheClassStats& cs : class_stats_) {
    if (cs.puts || cs.hits || cs.misses || cs.purged_on_reuse || cs.evicted || cs.busy_skips ||
        cs.entries || cs.peak_bytes_cached) {
      s.classes.push_back(cs);
    }
  }
  return s;
}

uint64_t BoCache::bytes_cached() const {
  std::lock_guard<std::mutex> g(lock_);
  return totals_.bytes_cached;
}

BoCacheConfig BoCache::config() const {
  std::lock_guard<std::mutex> g(lock_);
  return config_;
}

void BoCache::set_config(const BoCacheConfig& c) {
  const BoCacheConfig n = normalize_config(c);
  const uint64_t now = backend_.now_ns();
  Chain chain;
  {
    std::lock_guard<std::mutex> g(lock_);
    age_locked(now);  // the time so far decays at the old half-life
    const bool lower_max = n.max_bo_size < config_.max_bo_size;
    config_ = n;
    max_bo_size_.store(n.max_bo_size, std::memory_order_relaxed);
    max_cached_bytes_.store(n.max_cached_bytes, std::memory_order_relaxed);
    lazy_madvise_.store(n.lazy_madvise, std::memory_order_relaxed);
    if (lower_max) {
      // Entries above the new maximum could never be taken again.
      BoCacheHook* e = lru_head_.lru_next;
      while (e != &lru_head_) {
        BoCacheHook* next = e->lru_next;
        if (e->size > n.max_bo_size) evict_locked(*e, Cause::kCap, chain);
        e = next;
      }
    }
    cap_evict_locked(n.max_cached_bytes, Cause::kCap, chain);
    age_locked(now);  // a shorter grace may age entries now
    decay_evict_locked(chain);
  }
  destroy_chain(chain);
}

}  // namespace wsys
