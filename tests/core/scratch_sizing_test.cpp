// Scratch sizing: the TLS/WLS formulas checked against hand-computed values
// for three GPU shapes, the helpers at their boundaries, overflow and errors.
// Each expected value is worked out in the comment next to it.
#include "winsys/core/scratch_sizing.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <limits>

using namespace wsys::core;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Mali-G610-like: shader_present 0x50005 = bits 0, 2, 16, 18 (4 cores with
// holes), so core_id_range = 18 + 1 = 19; panthor reports no
// THREAD_TLS_ALLOC, so threads_per_core = max_threads = 2048.
// TLS slices: 2048 * 19 = 38912.
ScratchGeometry g610() {
  auto g = scratch_geometry(/*thread_tls_alloc=*/0, /*max_threads=*/2048, 0x50005);
  EXPECT_TRUE(g.ok());
  return g.ok() ? g.value() : ScratchGeometry{};
}

// Mali-G52-like: shader_present 0x3 -> core_id_range 2; THREAD_TLS_ALLOC 256
// wins over max_threads 768. TLS slices: 256 * 2 = 512.
ScratchGeometry g52() {
  auto g = scratch_geometry(/*thread_tls_alloc=*/256, /*max_threads=*/768, 0x3);
  EXPECT_TRUE(g.ok());
  return g.ok() ? g.value() : ScratchGeometry{};
}

// Mali-T860-like: shader_present 0xF -> core_id_range 4 (no holes),
// max_threads 256, no THREAD_TLS_ALLOC. TLS slices: 256 * 4 = 1024.
ScratchGeometry t860() {
  auto g = scratch_geometry(/*thread_tls_alloc=*/0, /*max_threads=*/256, 0xF);
  EXPECT_TRUE(g.ok());
  return g.ok() ? g.value() : ScratchGeometry{};
}

uint64_t tls(uint32_t per_thread, const ScratchGeometry& g) {
  auto r = tls_bytes(per_thread, g);
  EXPECT_TRUE(r.ok()) << "per_thread " << per_thread << " error " << r.error();
  return r.ok() ? r.value() : ~uint64_t{0};
}

uint64_t wls(uint32_t per_wg, uint32_t x, uint32_t y, uint32_t z, bool indirect,
             const ScratchGeometry& g) {
  auto r = wls_bytes(per_wg, x, y, z, indirect, g);
  EXPECT_TRUE(r.ok()) << "per_wg " << per_wg << " error " << r.error();
  return r.ok() ? r.value() : ~uint64_t{0};
}

}  // namespace

// --- helpers ----------------------------------------------------------------

TEST(ScratchHelpers, NextPow2AtBoundaries) {
  EXPECT_EQ(next_pow2(0), 1u);  // documented: npot(0) = 1
  EXPECT_EQ(next_pow2(1), 1u);
  EXPECT_EQ(next_pow2(2), 2u);
  EXPECT_EQ(next_pow2(3), 4u);
  EXPECT_EQ(next_pow2(127), 128u);
  EXPECT_EQ(next_pow2(128), 128u);
  EXPECT_EQ(next_pow2(129), 256u);
  EXPECT_EQ(next_pow2(0x7FFFFFFFu), uint64_t{1} << 31);
  EXPECT_EQ(next_pow2(0x80000000u), uint64_t{1} << 31);
  EXPECT_EQ(next_pow2(0x80000001u), uint64_t{1} << 32);
  // Every uint32_t fits: the largest rounds to 2^32, which needs the 64-bit result.
  EXPECT_EQ(next_pow2(std::numeric_limits<uint32_t>::max()), uint64_t{1} << 32);
  EXPECT_EQ(next_pow2(uint64_t{1} << 63), uint64_t{1} << 63);
  // Past 2^63 the answer does not fit: 0, never a wrapped value.
  EXPECT_EQ(next_pow2((uint64_t{1} << 63) + 1), 0u);
  EXPECT_EQ(next_pow2(std::numeric_limits<uint64_t>::max()), 0u);
  static_assert(next_pow2(5) == 8, "usable at compile time");
}

TEST(ScratchHelpers, Align16AtBoundaries) {
  EXPECT_EQ(align16(0), 0u);
  EXPECT_EQ(align16(1), 16u);
  EXPECT_EQ(align16(16), 16u);
  EXPECT_EQ(align16(17), 32u);
  EXPECT_EQ(align16(0xFFFFFFF0u), 0xFFFFFFF0u);
  // 0xFFFFFFF1 + 15 wraps in 32 bits; align16 works in 64.
  EXPECT_EQ(align16(0xFFFFFFF1u), uint64_t{1} << 32);
  EXPECT_EQ(align16(0xFFFFFFFFu), uint64_t{1} << 32);
}

// --- geometry ---------------------------------------------------------------

TEST(ScratchGeometry, HolesCountUpToTheHighestCore) {
  ScratchGeometry g = g610();
  EXPECT_EQ(g.threads_per_core, 2048u);
  // 0x50005: highest set bit 18 -> 19, although only 4 cores are present.
  EXPECT_EQ(g.core_id_range, 19u);
  EXPECT_NE(g.core_id_range, 4u);
}

TEST(ScratchGeometry, ThreadTlsAllocWinsOverMaxThreads) {
  ScratchGeometry with_alloc = g52();
  EXPECT_EQ(with_alloc.threads_per_core, 256u);
  EXPECT_EQ(with_alloc.core_id_range, 2u);
  // Same GPU without THREAD_TLS_ALLOC falls back to max_threads.
  auto without = scratch_geometry(0, 768, 0x3);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->threads_per_core, 768u);
  // THREAD_TLS_ALLOC is used even when max_threads is 0.
  auto only_alloc = scratch_geometry(256, 0, 0x3);
  ASSERT_TRUE(only_alloc.ok());
  EXPECT_EQ(only_alloc->threads_per_core, 256u);
}

TEST(ScratchGeometry, ContiguousMasksAndExtremes) {
  ScratchGeometry t = t860();
  EXPECT_EQ(t.threads_per_core, 256u);
  EXPECT_EQ(t.core_id_range, 4u);

  auto one = scratch_geometry(0, 1, 0x1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->core_id_range, 1u);

  // Only core 63: a range of 64.
  auto top = scratch_geometry(0, 1, uint64_t{1} << 63);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->core_id_range, 64u);
  auto all = scratch_geometry(0, 1, ~uint64_t{0});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->core_id_range, 64u);
}

TEST(ScratchGeometry, RejectsImpossibleDevices) {
  EXPECT_EQ(scratch_geometry(0, 2048, 0).error(), -EINVAL);  // no cores
  EXPECT_EQ(scratch_geometry(256, 768, 0).error(), -EINVAL);
  EXPECT_EQ(scratch_geometry(0, 0, 0x50005).error(), -EINVAL);  // no threads
  EXPECT_EQ(scratch_geometry(0, 0, 0).error(), -EINVAL);
}

// --- TLS --------------------------------------------------------------------

TEST(TlsBytes, G610) {
  const ScratchGeometry g = g610();     // 38912 slices
  EXPECT_EQ(tls(0, g), 0u);             // no stack, no TLS
  EXPECT_EQ(tls(1, g), 622592u);        // align16 16 -> npot 16; 16 * 38912
  EXPECT_EQ(tls(16, g), 622592u);       // 16 -> 16
  EXPECT_EQ(tls(17, g), 1245184u);      // align16 32 -> npot 32; 32 * 38912
  EXPECT_EQ(tls(100, g), 4980736u);     // align16 112 -> npot 128; 128 * 38912
  EXPECT_EQ(tls(4096, g), 159383552u);  // 4096 * 38912 = 152 MiB
  EXPECT_EQ(tls(4096, g), 152 * kMiB);
  EXPECT_EQ(tls(4097, g), 318767104u);  // align16 4112 -> npot 8192; 8192 * 38912 = 304 MiB
  EXPECT_EQ(tls(4097, g), 304 * kMiB);
}

TEST(TlsBytes, G52) {
  const ScratchGeometry g = g52();  // 512 slices
  EXPECT_EQ(tls(0, g), 0u);
  EXPECT_EQ(tls(1, g), 8192u);        // 16 * 512
  EXPECT_EQ(tls(16, g), 8192u);       // 16 * 512
  EXPECT_EQ(tls(17, g), 16384u);      // 32 * 512
  EXPECT_EQ(tls(100, g), 65536u);     // 128 * 512
  EXPECT_EQ(tls(4096, g), 2097152u);  // 4096 * 512 = 2 MiB
  EXPECT_EQ(tls(4097, g), 4194304u);  // 8192 * 512 = 4 MiB
  // max_threads instead of THREAD_TLS_ALLOC would be 3x larger:
  // 128 * 768 * 2 = 196608.
  auto no_alloc = scratch_geometry(0, 768, 0x3);
  ASSERT_TRUE(no_alloc.ok());
  EXPECT_EQ(tls(100, no_alloc.value()), 196608u);
}

TEST(TlsBytes, T860) {
  const ScratchGeometry g = t860();  // 1024 slices
  EXPECT_EQ(tls(0, g), 0u);
  EXPECT_EQ(tls(1, g), 16384u);       // 16 * 1024
  EXPECT_EQ(tls(16, g), 16384u);      // 16 * 1024
  EXPECT_EQ(tls(17, g), 32768u);      // 32 * 1024
  EXPECT_EQ(tls(100, g), 131072u);    // 128 * 1024
  EXPECT_EQ(tls(4096, g), 4194304u);  // 4096 * 1024 = 4 MiB
  EXPECT_EQ(tls(4097, g), 8388608u);  // 8192 * 1024 = 8 MiB
}

TEST(TlsBytes, AnyPerThreadSizeFitsOnARealGpu) {
  // The largest per-thread size rounds to 2^32: 2^32 * 38912 fits in 64 bits.
  EXPECT_EQ(tls(std::numeric_limits<uint32_t>::max(), g610()), (uint64_t{1} << 32) * 38912u);
  EXPECT_EQ(tls(0xFFFFFFF1u, g610()), (uint64_t{1} << 32) * 38912u);  // align16 wraps in 32 bits
}

TEST(TlsBytes, OverflowIsAnErrorNotAWrap) {
  // npot 2^31 * 2^26 threads * 64 cores = 2^63: the largest product that fits.
  const ScratchGeometry fits{uint32_t{1} << 26, 64};
  EXPECT_EQ(tls(0x80000000u, fits), uint64_t{1} << 63);
  // Twice the threads: 2^64, one past the end.
  const ScratchGeometry too_many{uint32_t{1} << 27, 64};
  EXPECT_EQ(tls_bytes(0x80000000u, too_many).error(), -EOVERFLOW);
  // 2^32 * (2^32 - 1) * 64.
  const ScratchGeometry huge{std::numeric_limits<uint32_t>::max(), 64};
  EXPECT_EQ(tls_bytes(std::numeric_limits<uint32_t>::max(), huge).error(), -EOVERFLOW);
  // No TLS needs no multiplication: still 0, even on an absurd geometry.
  EXPECT_EQ(tls(0, huge), 0u);
}

TEST(TlsBytes, RejectsBadGeometryEvenForZeroBytes) {
  for (uint32_t per_thread : {0u, 100u}) {
    EXPECT_EQ(tls_bytes(per_thread, ScratchGeometry{}).error(), -EINVAL);
    EXPECT_EQ(tls_bytes(per_thread, ScratchGeometry{0, 19}).error(), -EINVAL);
    EXPECT_EQ(tls_bytes(per_thread, ScratchGeometry{2048, 0}).error(), -EINVAL);
    EXPECT_EQ(tls_bytes(per_thread, ScratchGeometry{2048, 65}).error(), -EINVAL);
  }
  EXPECT_TRUE(tls_bytes(100, ScratchGeometry{2048, 64}).ok());
}

// --- TLS descriptor field -----------------------------------------------------

TEST(TlsSizeField, HandComputed) {
  EXPECT_EQ(tls_size_field(0), 0u);             // no TLS
  EXPECT_EQ(tls_size_field(1), 0u);             // slice 16: 16 / 16 = 1 -> log2 0
  EXPECT_EQ(tls_size_field(16), 0u);            // slice 16
  EXPECT_EQ(tls_size_field(17), 1u);            // slice 32: 2 -> 1
  EXPECT_EQ(tls_size_field(32), 1u);            // slice 32
  EXPECT_EQ(tls_size_field(33), 2u);            // align16 48 -> slice 64: 4 -> 2
  EXPECT_EQ(tls_size_field(100), 3u);           // slice 128: 8 -> 3
  EXPECT_EQ(tls_size_field(4096), 8u);          // slice 4096: 256 -> 8
  EXPECT_EQ(tls_size_field(4097), 9u);          // slice 8192: 512 -> 9
  EXPECT_EQ(tls_size_field(0x80000000u), 27u);  // slice 2^31: 2^27 -> 27
  EXPECT_EQ(tls_size_field(0xFFFFFFFFu), 28u);  // slice 2^32: 2^28 -> 28
}

TEST(TlsSizeField, DecodesToTheSliceTlsBytesUses) {
  // The convention: 16 << field is the per-thread slice, so the descriptor
  // and the allocation can never disagree.
  const ScratchGeometry g = g610();
  for (uint32_t s = 1; s < 70000; s += (s < 300 ? 1 : 97)) {
    const uint32_t field = tls_size_field(s);
    const uint64_t slice = uint64_t{16} << field;
    ASSERT_EQ(slice, next_pow2(align16(s))) << s;
    ASSERT_GE(slice, s) << s;
    ASSERT_EQ(tls(s, g), slice * g.threads_per_core * g.core_id_range) << s;
  }
}

// --- WLS --------------------------------------------------------------------

TEST(WlsBytes, G610) {
  const ScratchGeometry g = g610();  // core_id_range 19
  // 1x1x1, 100 bytes: max(100, 128) = 128 -> npot 128; 128 * 1 * 19.
  EXPECT_EQ(wls(100, 1, 1, 1, false, g), 2432u);
  // 129 bytes -> npot 256; 256 * 1 * 19.
  EXPECT_EQ(wls(129, 1, 1, 1, false, g), 4864u);
  // 3x5x7, 1000 bytes: npot 1024; instances npot(3)*npot(5)*npot(7) = 4*8*8 = 256;
  // 1024 * 256 * 19 = 4980736.
  EXPECT_EQ(wls(1000, 3, 5, 7, false, g), 4980736u);
  // Indirect, 4096 bytes: 4096 * 128 * 19 = 9961472 (the counts are ignored).
  EXPECT_EQ(wls(4096, 1, 1, 1, true, g), 9961472u);
  EXPECT_EQ(wls(4096, 999, 999, 999, true, g), 9961472u);
  // No shared memory: no WLS.
  EXPECT_EQ(wls(0, 3, 5, 7, false, g), 0u);
  EXPECT_EQ(wls(0, 1, 1, 1, true, g), 0u);
}

TEST(WlsBytes, G52AndT860) {
  // G52, core_id_range 2: 3x5x7 of 1000 bytes -> 1024 * 256 * 2 = 524288.
  EXPECT_EQ(wls(1000, 3, 5, 7, false, g52()), 524288u);
  // Threads per core do not matter for WLS: the same with max_threads.
  auto no_alloc = scratch_geometry(0, 768, 0x3);
  ASSERT_TRUE(no_alloc.ok());
  EXPECT_EQ(wls(1000, 3, 5, 7, false, no_alloc.value()), 524288u);
  // T860, core_id_range 4: 1x1x1 of 1 byte -> 128 * 1 * 4 = 512.
  EXPECT_EQ(wls(1, 1, 1, 1, false, t860()), 512u);
  // T860 indirect of 128 bytes: 128 * 128 * 4 = 65536.
  EXPECT_EQ(wls(128, 1, 1, 1, true, t860()), 65536u);
}

TEST(WlsBytes, ZeroCountIsRejectedForDirectDispatchOnly) {
  const ScratchGeometry g = g610();
  EXPECT_EQ(wls_bytes(128, 0, 1, 1, false, g).error(), -EINVAL);
  EXPECT_EQ(wls_bytes(128, 1, 0, 1, false, g).error(), -EINVAL);
  EXPECT_EQ(wls_bytes(128, 1, 1, 0, false, g).error(), -EINVAL);
  // Validated before the zero-size shortcut.
  EXPECT_EQ(wls_bytes(0, 1, 1, 0, false, g).error(), -EINVAL);
  // Indirect dispatches carry no counts on the CPU: zeros are fine.
  EXPECT_EQ(wls(128, 0, 0, 0, true, g), 128u * 128u * 19u);
}

TEST(WlsBytes, RejectsBadGeometry) {
  for (bool indirect : {false, true}) {
    EXPECT_EQ(wls_bytes(128, 1, 1, 1, indirect, ScratchGeometry{}).error(), -EINVAL);
    EXPECT_EQ(wls_bytes(128, 1, 1, 1, indirect, ScratchGeometry{2048, 0}).error(), -EINVAL);
    EXPECT_EQ(wls_bytes(128, 1, 1, 1, indirect, ScratchGeometry{2048, 65}).error(), -EINVAL);
    EXPECT_EQ(wls_bytes(0, 1, 1, 1, indirect, ScratchGeometry{0, 19}).error(), -EINVAL);
  }
}

TEST(WlsBytes, OverflowIsAnErrorNotAWrap) {
  const ScratchGeometry one{1, 1};
  // Instances 2^19 * 2^19 * 2^18 = 2^56; * 128 bytes = 2^63 fits.
  const uint32_t p19 = uint32_t{1} << 19;
  const uint32_t p18 = uint32_t{1} << 18;
  EXPECT_EQ(wls(128, p19, p19, p18, false, one), uint64_t{1} << 63);
  // 2^57 instances * 128 = 2^64: overflow in the final product.
  EXPECT_EQ(wls_bytes(128, p19, p19, p19, false, one).error(), -EOVERFLOW);
  // The 2^63 case times core_id_range 2: overflow in the last multiplication.
  EXPECT_EQ(wls_bytes(128, p19, p19, p18, false, ScratchGeometry{1, 2}).error(), -EOVERFLOW);
  // Instances alone: npot(2^32-1)^3 = 2^96.
  const uint32_t max = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(wls_bytes(128, max, max, max, false, one).error(), -EOVERFLOW);
  // The largest per-workgroup size: 2^32 * 128 * 64 = 2^45 fits when indirect.
  EXPECT_EQ(wls(max, 0, 0, 0, true, ScratchGeometry{1, 64}), uint64_t{1} << 45);
}
