// Scratch sizing: how many bytes of thread-local storage (TLS) and
// workgroup-local storage (WLS) a GPU needs for a given per-thread or
// per-workgroup size, and the TLS size field of the descriptor.
//
// Pure arithmetic over plain integers (no kmod types, no kernel calls) so the
// formulas can be tested by hand and shared by every user: the ScratchPool
// turns these byte counts into BOs that it grows monotonically. The formulas
// are the hardware's (docs/scratch-and-heaps.md has a worked example):
//
//   TLS = npot(align16(per_thread)) * threads_per_core * core_id_range
//   WLS = npot(max(per_workgroup, 128)) * instances * core_id_range
//         instances = npot(x) * npot(y) * npot(z), or 128 for indirect
//
// Every product is computed in 64 bits and checked: an input that would not
// fit in 64 bits is -EOVERFLOW, never a wrapped (too small) size.
#pragma once

#include <bit>
#include <cstdint>

#include "wsys/result.hpp"

namespace wsys::core {

// The two GPU properties every scratch size scales with.
struct ScratchGeometry {
  // Threads whose TLS slices one core needs at once.
  uint32_t threads_per_core = 0;
  // Highest present shader-core id + 1. The GPU indexes scratch by core id,
  // so a shader_present with holes (0x50005) needs a slice for every id up to
  // the highest (19), not just for the 4 present cores.
  uint32_t core_id_range = 0;
};

// shader_present is a 64-bit mask, so no real core id range exceeds this.
inline constexpr uint32_t kMaxCoreIdRange = 64;
// WLS: the hardware's minimum per-workgroup allocation and the instance count
// used when the workgroup counts are only known on the GPU (indirect).
inline constexpr uint32_t kWlsMinBytes = 128;
inline constexpr uint32_t kWlsIndirectInstances = 128;

// Smallest power of two >= v ("npot"); 1 for v <= 1. 0 when the answer does
// not fit in 64 bits (v > 2^63), so a caller cannot mistake it for a size.
// Any uint32_t input fits: next_pow2(0xFFFFFFFF) == 2^32.
constexpr uint64_t next_pow2(uint64_t v) {
  if (v > (uint64_t{1} << 63)) return 0;
  return std::bit_ceil(v == 0 ? uint64_t{1} : v);
}

// v rounded up to a multiple of 16, in 64 bits so 0xFFFFFFF1 and above do not
// wrap to 0.
constexpr uint64_t align16(uint32_t v) {
  return (uint64_t{v} + 15) & ~uint64_t{15};
}

// The geometry from the device's properties (kmod::DeviceProps'
// thread_tls_alloc, max_threads and shader_present):
//   threads_per_core = thread_tls_alloc, or max_threads when it is 0 (panthor
//                      never reports THREAD_TLS_ALLOC);
//   core_id_range    = index of the highest set bit of shader_present + 1.
// -EINVAL when shader_present is 0 or both thread counts are 0 (no device has
// either; a size computed from them would be 0 and hide the bug).
Result<ScratchGeometry> scratch_geometry(uint32_t thread_tls_alloc, uint32_t max_threads,
                                         uint64_t shader_present);

// Bytes of TLS for the whole GPU when each thread needs per_thread_bytes:
// npot(align16(per_thread_bytes)) * threads_per_core * core_id_range.
// 0 when per_thread_bytes is 0 (the shader uses no stack). -EINVAL for a
// geometry with a zero field or core_id_range > 64 (checked first, even when
// per_thread_bytes is 0); -EOVERFLOW when the product does not fit in 64 bits
// (only with absurd thread counts: a real GPU's answer is far below 2^64).
Result<uint64_t> tls_bytes(uint32_t per_thread_bytes, const ScratchGeometry& geometry);

// The descriptor's TLS size field for per_thread_bytes: log2 of the
// per-thread slice in 16-byte units, i.e.
//   field = log2(ceil(npot(align16(per_thread_bytes)) / 16))
// so that (16 << field) == npot(align16(per_thread_bytes)) for every
// per_thread_bytes > 0 (the division is exact: the slice is a power of two
// >= 16). 0 for 0 and for 1..16 bytes: the field alone cannot tell "no TLS"
// from "16 bytes"; the descriptor's TLS pointer (null when tls_bytes is 0)
// does. Largest value: 28, for sizes above 2^31.
uint32_t tls_size_field(uint32_t per_thread_bytes);

// Bytes of WLS for the whole GPU for a dispatch of wg_count_x * y * z
// workgroups that each need per_workgroup_bytes:
// npot(max(per_workgroup_bytes, 128)) * instances * core_id_range, with
// instances = npot(x) * npot(y) * npot(z), or 128 when indirect (the counts
// are then ignored). 0 when per_workgroup_bytes is 0.
// Errors: -EINVAL for a geometry with a zero field or core_id_range > 64, or
// for a zero workgroup count on a direct dispatch (an empty dispatch runs
// nothing and needs no WLS: the caller skips it rather than sizing it);
// -EOVERFLOW when the product does not fit in 64 bits.
// Arguments are validated before the per_workgroup_bytes == 0 shortcut, so a
// bad call fails the same way whatever the shader needs.
Result<uint64_t> wls_bytes(uint32_t per_workgroup_bytes, uint32_t wg_count_x, uint32_t wg_count_y,
                           uint32_t wg_count_z, bool indirect, const ScratchGeometry& geometry);

}  // namespace wsys::core
