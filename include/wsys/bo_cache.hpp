// wsys::BoCache: the pool of free buffer objects.
//
// A pure policy object: it never calls the kernel itself. Entries are
// BoCacheHook records embedded in the objects being cached (core::Bo embeds
// one); everything that touches a buffer goes through BoCache::Backend,
// which core::Device implements with kmod and the unit tests implement with
// a fake.
//
// Policy (the anchors are Mesa's per-driver caches, see docs/bo-cache.md):
//  - Size classes with bounded waste. A request is rounded up to its class
//    size (round_size) before a buffer is created, so every entry of a class
//    has the same size and a hit is O(1) with no scan. Classes: one per page
//    count up to 8 pages, then 8 per power of two: a class is at most 12.5%
//    larger than any request it serves (below and above 1 MiB alike).
//  - One pool per flag set (pool key = flags & kPoolFlagMask).
//  - put(): refuses shared or imported buffers, buffers whose size is not
//    a class size no larger than max_bo_size and the cap, and buffers the
//    kernel reports already purged (the caller destroys them); drops the
//    CPU mapping when keep_cpu_mapping is false (a mapped buffer cannot be
//    purged by the kernel); marks the buffer evictable (madvise DONTNEED).
//  - take(): per class, an `idle` list (taken newest first: warm, and the
//    old ones age out for decay) and a `pending` list of entries that were
//    busy when put (probed oldest first; the probe stops at the first busy
//    one, so a busy class costs one check, never a scan). An entry found idle
//    is handed out at once, so each entry is checked at most until it is
//    idle. Then madvise WILLNEED; an entry the kernel purged meanwhile is
//    destroyed and the next one tried.
//  - Decay: the cache's allowance falls with a half-life (decay_half_life_ns)
//    while idle, and the oldest entries go whenever the cached bytes exceed
//    it, so idle cached memory falls smoothly (halving every half-life)
//    instead of all at once at a fixed age. An entry younger than
//    half_life / 8 (the grace) is never evicted by decay and is left out of
//    the comparison; when it comes of age its size joins the allowance,
//    decayed by its age, and take() of an aged entry lowers the allowance by
//    its size. So a cache whose buffers come back within the grace is never
//    trimmed by decay, and an idle part decays on its own curve while another
//    part is being reused (docs/bo-cache.md: why the plain "put adds, take
//    subtracts" allowance of the first draft trimmed a reused cache).
//  - A hard cap (max_cached_bytes): put() evicts the oldest entries so the
//    cached bytes never exceed it (an entry larger than the cap is refused).
//  - trim(bytes) for low-memory signals; the caller's allocation-failure path
//    calls trim(UINT64_MAX) and retries once.
//  - Zero-fill: the cache does not clear buffers; a reused buffer holds what
//    its last user wrote (as in Mesa). core::Device clears on request.
//
// Thread-safe: one mutex; Backend calls are made without it held. The
// backend must outlive the cache (the destructor calls destroy()), and the
// cache never calls the backend from its constructor (a Device that is its
// own backend is not fully built then).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "wsys/result.hpp"

namespace wsys {

class BoCache;

// Embedded in each cacheable object. The owner fills the first block before
// put(); the rest belongs to the cache while the entry is cached.
struct BoCacheHook {
  uint64_t size = 0;     // bytes, a class size (BoCache::round_size)
  uint32_t flags = 0;    // pool key bits (BoCache::kPoolFlagMask) and others
  bool shared = false;   // exported or imported: never cached

  // --- the cache's, while cached ---
  BoCacheHook* class_prev = nullptr;
  BoCacheHook* class_next = nullptr;
  BoCacheHook* lru_prev = nullptr;
  BoCacheHook* lru_next = nullptr;
  uint64_t put_ns = 0;
  uint16_t class_index = 0;
  uint8_t pool = 0;
  bool in_pending = false;  // in the class's pending list (else idle)
  bool cached = false;      // the cache owns it (a second put() is ignored)
  bool aged = false;        // past the decay grace: counted in the allowance
  bool probing = false;     // out of its class list while take() asks busy()
  bool doomed = false;      // evicted while probing: the prober destroys it
  bool advised = false;     // made evictable (lazy_madvise: once aged)
};

struct BoCacheConfig {
  uint64_t max_cached_bytes = 256ull << 20;  // hard cap
  // Larger buffers are not cached. At most BoCache::kMaxBoSizeLimit (larger
  // values are clamped to it).
  uint64_t max_bo_size = 64ull << 20;
  uint64_t decay_half_life_ns = 1'000'000'000;  // 0: no decay
  bool keep_cpu_mapping = false;  // see put()
  // Make entries evictable (and drop their CPU mapping) when they come of
  // age (decay_half_life_ns / kDecayGraceDivisor after put) instead of at
  // put(): a buffer reused within the grace costs no madvise and no remap,
  // and the kernel may purge it from then on. decay() and put() advise the
  // aged entries; take() asks WILLNEED only of advised ones.
  bool lazy_madvise = false;
};

struct BoCacheClassStats {
  uint64_t class_size = 0;
  uint64_t puts = 0;             // accepted by put()
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t purged_on_reuse = 0;  // taken, but the kernel had purged it
  uint64_t evicted = 0;          // destroyed by decay, cap or trim
  uint64_t busy_skips = 0;       // probes that found a busy entry
  uint64_t entries = 0;          // cached now
  uint64_t bytes_cached = 0;     // now
  uint64_t peak_bytes_cached = 0;
};

// Every accepted put() ends in exactly one of: a hit, a purge on reuse, an
// eviction, a madvise error on reuse, or still cached (`entries`, which
// counts an entry take() is probing).
struct BoCacheStats {
  uint64_t puts = 0, hits = 0, misses = 0, purged_on_reuse = 0, evicted = 0, busy_skips = 0;
  uint64_t refused = 0;  // put() of a shared / oversized / purged buffer
  // make_evictable / make_unevictable failed with an error other than
  // -EOPNOTSUPP (the buffer was refused at put, destroyed at take).
  uint64_t madvise_errors = 0;
  uint64_t entries = 0, bytes_cached = 0, peak_bytes_cached = 0;
  uint64_t evicted_by_decay = 0, evicted_by_cap = 0, evicted_by_trim = 0;
  uint64_t evicted_by_purge = 0;  // lazy_madvise: purged or refused when advised
  uint64_t advised = 0;  // lazy_madvise: entries made evictable once aged
  // Classes that have seen any traffic, in size order.
  std::vector<BoCacheClassStats> classes;
};

class BoCache {
 public:
  // What the cache asks of the buffers' owner. Called without the cache's
  // lock, possibly from several threads at once.
  class Backend {
   public:
    virtual ~Backend() = default;
    // Pending GPU use right now (must not block).
    virtual bool busy(BoCacheHook& e) = 0;
    // madvise DONTNEED / WILLNEED: whether the pages were retained
    // (WILLNEED false: purged, the entry is destroyed); -EOPNOTSUPP when the
    // kernel has no madvise (panthor), which the cache treats as retained.
    virtual Result<bool> make_evictable(BoCacheHook& e) = 0;
    virtual Result<bool> make_unevictable(BoCacheHook& e) = 0;
    virtual void drop_cpu_mapping(BoCacheHook& e) = 0;
    // Destroys an entry the cache gives up (evicted, purged or refused).
    virtual void destroy(BoCacheHook& e) = 0;
    virtual uint64_t now_ns() = 0;  // CLOCK_MONOTONIC, or a test clock
  };

  // The owner's buffer-describing flag bits (wsys AllocFlags: executable,
  // no-mmap, GPU-uncached, shareable); each combination is its own pool.
  static constexpr uint32_t kPoolFlagMask = 0xF;
  static constexpr uint32_t kPoolCount = kPoolFlagMask + 1;
  // The class table covers buffers up to this size, whatever the config.
  static constexpr uint64_t kMaxBoSizeLimit = 4ull << 30;
  // Decay never evicts an entry younger than half_life / kDecayGraceDivisor.
  static constexpr uint64_t kDecayGraceDivisor = 8;

  // page_size: the kernel's page size (a power of two >= 4096; anything
  // else is taken as 4096).

  BoCache(Backend& backend, uint64_t page_size, BoCacheConfig config = {});
  ~BoCache();  // destroys every entry
  BoCache(const BoCache&) = delete;
  BoCache& operator=(const BoCache&) = delete;

  // The size a buffer for a request of `size` bytes is created with (its
  // class size; 0 is taken as one page). Sizes whose class would exceed
  // max_bo_size are only page-rounded (and are not cacheable); a size that
  // cannot be page-rounded in 64 bits gives UINT64_MAX (no buffer has it).
  uint64_t round_size(uint64_t size_bytes) const;
  // True if a buffer of this (rounded) size and these flags can be cached:
  // a class size, at most max_bo_size and max_cached_bytes.
  bool cacheable(uint64_t size_bytes, uint32_t flags) const;

  // Takes a cached buffer of class round_size(size) from the pool of
  // `flags`, idle and retained, or nullptr (a miss; a request that is not
  // cacheable returns nullptr without counting a miss).
  BoCacheHook* take(uint64_t size_bytes, uint32_t flags);
  // Gives a buffer to the cache. false: refused (the caller destroys it).
  // A buffer the cache already holds is left as it is (true: the caller
  // must not destroy it).
  bool put(BoCacheHook& e);

  // Destroys the oldest entries until `bytes` are freed or the cache is
  // empty. Returns the bytes freed.
  uint64_t trim(uint64_t bytes);
  // Applies the decay curve up to now (put() and take() do it too; a
  // maintenance thread calls it while the cache holds anything).
  void decay();

  BoCacheStats stats() const;
  uint64_t bytes_cached() const;
  // Mirrors entries, bytes_cached and puts into these words (relaxed stores
  // under the cache's lock) for a reader that must not take the lock: the
  // live statistics segment. Null: none. Set before the cache is used.
  void mirror_totals(std::atomic<uint64_t>* entries, std::atomic<uint64_t>* bytes_cached,
                     std::atomic<uint64_t>* puts = nullptr) {
    mirror_entries_ = entries;
    mirror_bytes_ = bytes_cached;
    mirror_puts_ = puts;
  }
  // A copy (by value: set_config may run on another thread).
  BoCacheConfig config() const;
  uint64_t page_size() const { return page_size_; }
  // Changes the limits; applies the cap (and a lower max_bo_size) at once.
  void set_config(const BoCacheConfig& c);

 private:
  // Implementation in src/winsys/core/bo_cache.cpp.
  struct Class;                  // one pool's idle and pending lists of a class
  enum class Cause { kDecay, kCap, kTrim };
  // Evicted entries waiting for destroy() once the lock is dropped, in
  // eviction order (through class_next).
  struct Chain {
    BoCacheHook* head = nullptr;
    BoCacheHook* tail = nullptr;
  };

  Class& lists_of(const BoCacheHook& e);
  // The pool's lists, made on first use (nullptr: out of memory).
  Class* pool_lists(uint32_t pool);
  bool accepts_locked(const BoCacheHook& e) const;
  void link_locked(BoCacheHook& e, bool busy, uint64_t now);
  bool link_put_locked(BoCacheHook& e, bool busy, uint64_t now, bool lazy, Chain& chain);
  void unlink_locked(BoCacheHook& e);
  void take_locked(BoCacheHook& e);
  void evict_locked(BoCacheHook& e, Cause cause, Chain& chain);
  uint64_t age_locked(uint64_t now);
  void decay_evict_locked(Chain& chain);
  void cap_evict_locked(uint64_t limit, Cause cause, Chain& chain);
  void destroy_chain(Chain& chain);
  // lazy_madvise: makes up to `max` aged, not yet advised entries evictable.
  void advise_aged(size_t max);

  Backend& backend_;
  const uint64_t page_size_;
  const unsigned page_shift_;  // log2(page_size_): sizes are divided on every call
  const uint32_t class_count_;   // classes up to kMaxBoSizeLimit
  BoCacheConfig config_;
  // Copies of the two limits for round_size() / cacheable(), lock-free.
  std::atomic<uint64_t> max_bo_size_;
  std::atomic<uint64_t> max_cached_bytes_;
  mutable std::mutex lock_;
  // Per pool, class_count_ lists, made by the pool's first take() or put()
  // outside the lock (a device uses a few of the 16 pools; all of them up
  // front was 74 KiB to clear at every open). A buffer is put after its
  // take() in every Device path, so a put() does not allocate there.
  std::atomic<Class*> pools_[kPoolCount] = {};
  std::vector<BoCacheClassStats> class_stats_;  // per class, all pools
  BoCacheHook lru_head_;         // sentinel: lru_next = oldest
  BoCacheHook* young_head_ = nullptr;  // oldest entry still in its grace
  BoCacheHook* advise_head_ = nullptr;  // oldest entry not yet looked at by advise_aged
  uint64_t young_bytes_ = 0;     // bytes of entries in their grace
  double allowance_ = 0.0;       // decay allowance in bytes (aged entries)
  uint64_t clock_ns_ = 0;        // latest time seen; the allowance is at it
  BoCacheStats totals_;          // `classes` left empty here
  std::atomic<uint64_t>* mirror_entries_ = nullptr;
  std::atomic<uint64_t>* mirror_bytes_ = nullptr;
  std::atomic<uint64_t>* mirror_puts_ = nullptr;
  void mirror_locked() {
    if (mirror_bytes_) {
      mirror_entries_->store(totals_.entries, std::memory_order_relaxed);
      mirror_bytes_->store(totals_.bytes_cached, std::memory_order_relaxed);
    }
    if (mirror_puts_) mirror_puts_->store(totals_.puts, std::memory_order_relaxed);
  }
  // A copy of lazy_madvise for put()'s choice of path, lock-free (put()
  // checks the config again under the lock).
  std::atomic<bool> lazy_madvise_{false};
};

}  // namespace wsys
