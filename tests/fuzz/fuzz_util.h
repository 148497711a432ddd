// Helpers shared by the fuzzers: values at their edges and user pointers
// that are valid, null, or point into memory the process cannot touch.
//
// Every choice is driven by the fuzzer's input (FuzzedDataProvider), so an
// input replays the same calls; the pointers into "bad" memory are fixed
// pages this file maps once per process.
#pragma once

#include <dirent.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace wsys::fuzz {

// Two pages: the first readable and writable, the second PROT_NONE. A buffer
// placed to end at the boundary has its last bytes unreadable, which tests
// partial copies (the kernel's copy_from_user fails on the first bad byte).
class GuardPages {
 public:
  static GuardPages& get() {
    static GuardPages g;
    return g;
  }
  unsigned char* good() const { return base_; }
  unsigned char* none() const { return base_ + kPage; }
  static constexpr size_t kPage = 4096;

 private:
  GuardPages() {
    void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    base_ = static_cast<unsigned char*>(p);
    if (mprotect(base_ + kPage, kPage, PROT_NONE) != 0) std::abort();
  }
  unsigned char* base_;
};

// The fds the process has open now (the model's objects are memfds, its
// files and exported syncobjs fds too): for the fuzzers' end-of-input checks.
inline std::vector<int> open_fds() {
  std::vector<int> out;
  DIR* d = opendir("/proc/self/fd");
  if (!d) std::abort();
  const int own = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int f = std::atoi(e->d_name);
    if (f != own) out.push_back(f);
  }
  closedir(d);
  return out;
}

// An unsigned value: mostly one of the interesting ones (0, 1, powers of two
// around the page and 2 MiB sizes, all-ones, the top bit), else raw bytes.
inline uint64_t edge_u64(FuzzedDataProvider& p) {
  static const uint64_t kEdges[] = {
      0,          1,          2,           3,           7,           8,
      63,         64,         4095,        4096,        4097,        8192,
      65535,      65536,      (1u << 17),  (2u << 20) - 1, 2u << 20, (2u << 20) + 4096,
      8u << 20,   (8u << 20) + 1, 32u << 20, 1ull << 31, 1ull << 32, (1ull << 32) - 4096,
      (1ull << 32) + 4096, 1ull << 39, 1ull << 40, 1ull << 47, 1ull << 48, 1ull << 56,
      1ull << 63, ~0ull, ~0ull - 4095, 0x7fffffffffffffffull, 0xffffffffull, 0xfffff000ull};
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return p.ConsumeIntegral<uint64_t>();
    case 1: return p.ConsumeIntegralInRange<uint64_t>(0, 1u << 20);
    default: return kEdges[p.ConsumeIntegralInRange<size_t>(0, std::size(kEdges) - 1)];
  }
}

inline uint32_t edge_u32(FuzzedDataProvider& p) {
  return static_cast<uint32_t>(edge_u64(p));
}

// A small value (0..max, times unit: counts, indices, page multiples) or,
// as often, an edge value: the two halves of most fields' interesting
// space. Consumes a bool first, then the value, as the fuzzers always did.
inline uint32_t small_or_edge(FuzzedDataProvider& p, uint32_t max, uint32_t unit = 1) {
  return p.ConsumeBool() ? p.ConsumeIntegralInRange<uint32_t>(0, max) * unit : edge_u32(p);
}

// A value near `base`: base itself, base +/- a page or a byte, or an edge.
inline uint64_t near(FuzzedDataProvider& p, uint64_t base) {
  switch (p.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: return base;
    case 1: return base + 4096;
    case 2: return base - 4096;
    case 3: return base + 1;
    case 4: return base + (p.ConsumeIntegralInRange<uint64_t>(0, 64) << 12);
    default: return edge_u64(p);
  }
}

// Picks one of `v`, or (sometimes, or when empty) a value that names nothing
// valid: 0, all-ones, or arbitrary.
inline uint32_t pick(FuzzedDataProvider& p, const std::vector<uint32_t>& v) {
  int c = p.ConsumeIntegralInRange<int>(0, 7);
  if (v.empty() || c == 0) {
    switch (p.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: return 0;
      case 1: return ~0u;
      case 2: return 1;
      default: return p.ConsumeIntegral<uint32_t>();
    }
  }
  return v[p.ConsumeIntegralInRange<size_t>(0, v.size() - 1)];
}

// Where a user buffer of `n` bytes lives. `valid` is storage the caller owns
// (at least n bytes); the other choices are null, a small non-canonical or
// kernel-half address, the PROT_NONE page, and a copy ending right at the
// PROT_NONE page (its tail is unreadable: when n > 4096 it starts inside
// the readable page anyway).
inline uint64_t user_ptr(FuzzedDataProvider& p, void* valid, size_t n) {
  GuardPages& g = GuardPages::get();
  switch (p.ConsumeIntegralInRange<int>(0, 11)) {
    case 0: return 0;
    case 1: return reinterpret_cast<uintptr_t>(g.none());
    case 2: {
      // Straddles the boundary: the first bytes readable (copied from
      // `valid`), the last ones not.
      size_t head = n / 2 < GuardPages::kPage ? n / 2 : GuardPages::kPage;
      unsigned char* start = g.none() - head;
      if (valid && head) std::memcpy(start, valid, head);
      return reinterpret_cast<uintptr_t>(start);
    }
    case 3: return 0xffff800000001000ull;  // the kernel's half
    case 4: return 16;                     // the null page, not null
    default: return reinterpret_cast<uintptr_t>(valid);
  }
}

// CLOCK_MONOTONIC now, in ns.
inline int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// An absolute deadline for a wait the fuzzer makes: a poll, the past, or at
// most a millisecond ahead, so no input can hang the fuzzer on a wait that
// legitimately never ends (a syncobj nothing will signal).
inline int64_t short_deadline(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: return 0;
    case 1: return -1;
    case 2: return 1;  // long past
    case 3: return now_ns() + 200000;
    default: return now_ns() + p.ConsumeIntegralInRange<int64_t>(0, 1000000);
  }
}

// Bytes from the input into `dst` (zero-filled past the input's end).
inline void fill(FuzzedDataProvider& p, void* dst, size_t n) {
  std::memset(dst, 0, n);
  p.ConsumeData(dst, n);
}

}  // namespace wsys::fuzz
