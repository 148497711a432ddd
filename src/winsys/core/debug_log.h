// WSYS_DEBUG logging: one line per event on stderr, cheap when off.
//
// WSYS_DEBUG is a comma-separated list of areas (bo, cache, va, vm, heap,
// scratch, all). It is read once, before main; an unknown name is reported
// on stderr naming the variable and ignored. When an area is off, WSYS_LOG
// costs one relaxed atomic load and a branch: the arguments are not
// evaluated.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "wsys/result.hpp"

namespace wsys::core {

enum class DebugArea : uint32_t {
  Bo = 1u << 0,
  Cache = 1u << 1,
  Va = 1u << 2,
  Vm = 1u << 3,
  Heap = 1u << 4,
  Scratch = 1u << 5,
};
inline constexpr uint32_t kDebugAll = 0x3f;
inline constexpr const char* kDebugEnv = "WSYS_DEBUG";

extern std::atomic<uint32_t> g_debug_mask;

inline bool debug_on(DebugArea a) {
  return (g_debug_mask.load(std::memory_order_relaxed) & static_cast<uint32_t>(a)) != 0;
}

// Parses a WSYS_DEBUG value into a mask. -EINVAL for an unknown name, with
// `why` (if given) naming the variable and the accepted names.
Result<uint32_t> parse_debug_areas(std::string_view value, std::string* why = nullptr);

// Prints "wsys: <area>: <message>\n" to the sink (stderr by default).
void debug_printf(DebugArea a, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Tests: change the mask, or capture the lines (an empty function restores
// stderr). The sink is called with the whole line, without a newline.
void set_debug_mask(uint32_t mask);
void set_debug_sink(std::function<void(std::string_view)> sink);

}  // namespace wsys::core

#define WSYS_LOG(area, ...)                                                   \
  do {                                                                        \
    if (::wsys::core::debug_on(::wsys::core::DebugArea::area))                \
      ::wsys::core::debug_printf(::wsys::core::DebugArea::area, __VA_ARGS__); \
  } while (0)
