// copy_from_user / copy_to_user for the model.
//
// The model runs in the caller's process, so "user memory" is ordinary
// memory, but a bad pointer must give -EFAULT as the kernel does, not crash
// the process. A range in the used part of the calling thread's stack (the
// common case: ioctl arguments are locals) is copied directly, since it
// cannot fault; anything else goes through process_vm_readv/writev on the
// own process, which the kernel answers with EFAULT for unmapped or
// unreadable ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace wsys::sim {

// 0 or -EFAULT. n == 0 always succeeds.
int copy_from_user(void* dst, uint64_t user_src, size_t n);
int copy_to_user(uint64_t user_dst, const void* src, size_t n);

// Whether the first and the last byte of [user, user + n) can be read (a
// range that wraps cannot). The model asks before it allocates its copy
// of a large user array, so a count the caller lied about, with a short or
// bad pointer, costs no memory: the kernel allocates first and then fails
// the copy with -EFAULT, the answer the model gives here without the
// allocation (a libFuzzer run found 1 GiB allocations of that kind taking
// seconds each under ASan).
// Ranges of at most kUserRangeProbeMin bytes are not probed (true).
inline constexpr size_t kUserRangeProbeMin = size_t{64} << 10;
bool user_range_ends_readable(uint64_t user, size_t n);

// strndup_user(): reads a NUL-terminated string of at most `max_bytes`
// bytes (NUL included) into *out (without the NUL). 0, -EFAULT for a bad
// pointer, or -EINVAL when no NUL is found within max_bytes (callers such
// as the label ioctls turn that into -E2BIG, as the kernel's do).
int strndup_user(uint64_t user_src, size_t max_bytes, std::string* out);

// Helpers for typed pointers.
template <typename T>
int copy_from_user(T* dst, const void* user_src) {
  return copy_from_user(dst, reinterpret_cast<uintptr_t>(user_src), sizeof(T));
}

}  // namespace wsys::sim
