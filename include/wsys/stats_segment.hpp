// The live statistics segment: each wsys Device publishes its counters in a
// small file that other processes (wsys-top) map read-only. Layout version
// 1; docs/stats-segment.md documents every field.
//
// Where: $WSYS_STATS_DIR, else $XDG_RUNTIME_DIR/wsys, else /tmp/wsys-<uid>;
// one file per Device, "<pid>-<n>.stats" (n counts the process's Devices).
// The writer fills the header, then stores `magic` last (release): a reader
// ignores a file whose magic or version it does not know. Counters are
// 64-bit words updated with relaxed atomics (no lock; a reader sees each
// word whole, not a consistent snapshot of several). The file is removed
// when the Device goes; a reader removes files whose pid is gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wsys::stats {

inline constexpr char kMagic[8] = {'W', 'S', 'Y', 'S', 'S', 'T', 'A', 'T'};
inline constexpr uint32_t kVersion = 1;
inline constexpr unsigned kLabelSlots = 16;
inline constexpr unsigned kNameBytes = 32;
inline constexpr const char* kDirEnv = "WSYS_STATS_DIR";
// WSYS_STATS=0: publish nothing (counters are kept in private memory).
inline constexpr const char* kEnableEnv = "WSYS_STATS";

using Counter = std::atomic<uint64_t>;
static_assert(Counter::is_always_lock_free && sizeof(Counter) == 8);

// Live buffers by the label they were allocated with ("vk:memory",
// "scratch:tls", ...: docs/labels.md).
struct LabelSlot {
  std::atomic<uint32_t> state;  // 0 free, 1 being named, 2 named
  uint32_t reserved;
  char name[kNameBytes];        // NUL-terminated, truncated
  Counter bos_live;
  Counter bytes_live;
  Counter allocs;               // allocations ever made with this label
};

static_assert(sizeof(LabelSlot) == 64);

struct Segment {
  char magic[8];                // kMagic, stored last
  uint32_t version;             // kVersion
  uint32_t size;                // sizeof(Segment): readers check it
  int32_t pid;
  uint32_t device_index;        // n of the file name
  uint64_t created_ns;          // CLOCK_REALTIME at creation
  char node[kNameBytes];        // "sim:panthor", "/dev/dri/renderD128"
  char driver[16];              // "panthor", "panfrost"
  char process[16];             // /proc/self/comm

  // --- the Device's counters (DeviceStats) ---
  Counter bos_live, bytes_live, bytes_requested, peak_bytes_live;
  Counter bo_creates, bo_destroys, imports, exports;
  Counter alloc_retries, zero_fills;
  Counter va_maps, va_unmaps, va_async_unmaps;
  // --- the BO cache ---
  Counter cache_hits, cache_misses, cache_puts;
  Counter cache_entries, bytes_cached;  // now
  Counter cache_evicted;                // by decay, cap or trim
  Counter cache_purged;                 // found purged by the kernel (reuse or ageing)
  Counter cache_trims;                  // Device::trim calls
  // --- heaps and binds ---
  Counter heaps;                        // Heaps of this device alive
  Counter heap_committed;               // their committed bytes now
  Counter heap_recreations;             // grown, shrunk or rebuilt
  Counter bind_calls, bind_ops;         // VM_BIND calls and ops, every Vm of the device
  Counter reserved[8];

  LabelSlot labels[kLabelSlots];
};

static_assert(sizeof(Segment) == 96 + 8 * 34 + 64 * kLabelSlots);

}  // namespace wsys::stats
