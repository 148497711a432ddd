// Scratch sizing formulas (see scratch_sizing.h). Every multiplication goes
// through checked_mul: a wrapped size would allocate too little scratch and
// let shaders write past the BO, which is far worse than an error.
#include "winsys/core/scratch_sizing.h"

#include <algorithm>
#include <bit>
#include <cerrno>

namespace wsys::core {

namespace {

// a * b, or false when the product does not fit in 64 bits.
bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// A geometry nobody could have built from real device properties: a zero
// field would size everything to 0, and a range above 64 cannot come from a
// 64-bit shader_present.
bool geometry_valid(const ScratchGeometry& g) {
  return g.threads_per_core != 0 && g.core_id_range != 0 && g.core_id_range <= kMaxCoreIdRange;
}

// a * b * c, or -EOVERFLOW.
Result<uint64_t> product3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t ab = 0;
  uint64_t abc = 0;
  if (!checked_mul(a, b, &ab) || !checked_mul(ab, c, &abc)) return Error(-EOVERFLOW);
  return abc;
}

}  // namespace

Result<ScratchGeometry> scratch_geometry(uint32_t thread_tls_alloc, uint32_t max_threads,
                                         uint64_t shader_present) {
  if (shader_present == 0) return Error(-EINVAL);
  const uint32_t threads = thread_tls_alloc != 0 ? thread_tls_alloc : max_threads;
  if (threads == 0) return Error(-EINVAL);
  ScratchGeometry g;
  g.threads_per_core = threads;
  // bit_width is "index of the highest set bit + 1": holes below it count.
  g.core_id_range = static_cast<uint32_t>(std::bit_width(shader_present));
  return g;
}

Result<uint64_t> tls_bytes(uint32_t per_thread_bytes, const ScratchGeometry& geometry) {
  if (!geometry_valid(geometry)) return Error(-EINVAL);
  if (per_thread_bytes == 0) return uint64_t{0};
  // align16 of a uint32_t is at most 2^32, so next_pow2 never returns 0 here.
  return product3(next_pow2(align16(per_thread_bytes)), geometry.threads_per_core,
                  geometry.core_id_range);
}

uint32_t tls_size_field(uint32_t per_thread_bytes) {
  if (per_thread_bytes <= 16) return 0;
  // The slice is a power of two >= 32 here, so slice / 16 is exact and its
  // log2 is the slice's bit index minus 4.
  const uint64_t slice = next_pow2(align16(per_thread_bytes));
  return static_cast<uint32_t>(std::countr_zero(slice)) - 4;
}

Result<uint64_t> wls_bytes(uint32_t per_workgroup_bytes, uint32_t wg_count_x, uint32_t wg_count_y,
                           uint32_t wg_count_z, bool indirect, const ScratchGeometry& geometry) {
  if (!geometry_valid(geometry)) return Error(-EINVAL);
  if (!indirect && (wg_count_x == 0 || wg_count_y == 0 || wg_count_z == 0)) {
    return Error(-EINVAL);
  }
  if (per_workgroup_bytes == 0) return uint64_t{0};

  uint64_t instances = kWlsIndirectInstances;
  if (!indirect) {
    // Each factor is at most 2^32, so the product can exceed 64 bits.
    auto p = product3(next_pow2(wg_count_x), next_pow2(wg_count_y), next_pow2(wg_count_z));
    if (!p) return p;
    instances = p.value();
  }
  const uint64_t per_instance = next_pow2(std::max(per_workgroup_bytes, kWlsMinBytes));
  return product3(per_instance, instances, geometry.core_id_range);
}

}  // namespace wsys::core
