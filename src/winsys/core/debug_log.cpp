// WSYS_DEBUG parsing and the log sink.
#include "winsys/core/debug_log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace wsys::core {

namespace {

struct AreaName {
  const char* name;
  uint32_t bits;
};
constexpr AreaName kAreas[] = {
    {"bo", static_cast<uint32_t>(DebugArea::Bo)},
    {"cache", static_cast<uint32_t>(DebugArea::Cache)},
    {"va", static_cast<uint32_t>(DebugArea::Va)},
    {"vm", static_cast<uint32_t>(DebugArea::Vm)},
    {"heap", static_cast<uint32_t>(DebugArea::Heap)},
    {"scratch", static_cast<uint32_t>(DebugArea::Scratch)},
    {"vk", 0},  // the Vulkan ICD's own (src/vulkan/vk_result.cpp): known, nothing here
    {"all", kDebugAll},
};

const char* area_name(DebugArea a) {
  for (const AreaName& n : kAreas)
    if (n.bits == static_cast<uint32_t>(a)) return n.name;
  return "?";
}

std::mutex& sink_lock() {
  static std::mutex m;
  return m;
}
std::function<void(std::string_view)>& sink() {
  static std::function<void(std::string_view)> s;
  return s;
}

uint32_t mask_from_env() {
  const char* v = std::getenv(kDebugEnv);
  if (!v || !*v) return 0;
  std::string why;
  Result<uint32_t> r = parse_debug_areas(v, &why);
  if (!r.ok()) {
    std::fprintf(stderr, "wsys: %s\n", why.c_str());
    // Keep the names that were understood: parse them one by one.
    uint32_t mask = 0;
    std::string_view s(v);
    while (!s.empty()) {
      size_t comma = s.find(',');
      Result<uint32_t> one = parse_debug_areas(s.substr(0, comma));
      if (one.ok()) mask |= *one;
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
    return mask;
  }
  return *r;
}

}  // namespace

std::atomic<uint32_t> g_debug_mask{mask_from_env()};

Result<uint32_t> parse_debug_areas(std::string_view value, std::string* why) {
  uint32_t mask = 0;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      bool known = false;
      for (const AreaName& n : kAreas) {
        if (item == n.name) {
          mask |= n.bits;
          known = true;
        }
      }
      if (!known) {
        if (why) {
          *why = std::string(kDebugEnv) + ": unknown area '" + std::string(item) +
                 "' (known: bo, cache, va, vm, heap, scratch, all)";
        }
        return Error(-EINVAL);
      }
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return mask;
}

void debug_printf(DebugArea a, const char* fmt, ...) {
  char body[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(body, sizeof(body), fmt, ap);
  va_end(ap);
  char line[600];
  std::snprintf(line, sizeof(line), "wsys: %s: %s", area_name(a), body);
  std::lock_guard<std::mutex> g(sink_lock());
  if (sink()) {
    sink()(line);
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
}

void set_debug_mask(uint32_t mask) { g_debug_mask.store(mask, std::memory_order_relaxed); }

void set_debug_sink(std::function<void(std::string_view)> s) {
  std::lock_guard<std::mutex> g(sink_lock());
  sink() = std::move(s);
}

}  // namespace wsys::core
