// The model's fence dependency checker: see dep_check.h.
#include "winsys/sim/dep_check.h"

#include <atomic>
#include <cstdio>
#include <cstring>

namespace wsys::sim {

namespace {

struct Edge {
  uint64_t from, to;
  const char* what;
};

// All guarded by g_lock (a spin lock: recording happens inside signalling
// sections, where the model takes no sleeping lock it allocates under).
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
Edge g_edges[kDepMaxEdges];
unsigned g_count = 0;
uint64_t g_added = 0, g_cycles = 0, g_overflow = 0;
char g_last[512];

thread_local uint64_t t_current = 0;

struct SpinGuard {
  SpinGuard() {
    while (g_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~SpinGuard() { g_lock.clear(std::memory_order_release); }
};

const char* kind_name(uint64_t n) {
  switch (n >> 60) {
    case 1: return "fence";
    case 2: return "queue";
    case 3: return "file";
    default: return "node";
  }
}

// Depth-first search from `start` for `target` over the live edges; fills
// path[] (edge indices) on success. Lock held. No allocation: the stack is
// fixed, every edge is visited at most once.
bool reaches(uint64_t start, uint64_t target, unsigned* path, unsigned* path_len) {
  static bool visited[kDepMaxEdges];  // lock held: one search at a time
  std::memset(visited, 0, sizeof(bool) * g_count);
  struct Frame {
    uint64_t node;
    unsigned next;  // next edge index to try
    unsigned via;   // the edge that led here
  };
  static Frame stack[kDepMaxEdges + 1];
  unsigned depth = 0;
  stack[depth++] = Frame{start, 0, ~0u};
  if (start == target) {
    *path_len = 0;
    return true;
  }
  while (depth) {
    Frame& fr = stack[depth - 1];
    bool pushed = false;
    for (; fr.next < g_count; fr.next++) {
      const unsigned i = fr.next;
      if (visited[i] || g_edges[i].from != fr.node) continue;
      visited[i] = true;
      fr.next++;
      if (g_edges[i].to == target) {
        unsigned n = 0;
        for (unsigned d = 1; d < depth; d++) path[n++] = stack[d].via;
        path[n++] = i;
        *path_len = n;
        return true;
      }
      stack[depth++] = Frame{g_edges[i].to, 0, i};
      pushed = true;
      break;
    }
    if (!pushed) depth--;
  }
  return false;
}

}  // namespace

uint64_t dep_node(DepKind kind, const void* p) {
  return (static_cast<uint64_t>(kind) << 60) |
         (reinterpret_cast<uintptr_t>(p) & ((1ull << 60) - 1));
}

uint64_t dep_current() { return t_current; }

DepContext::DepContext(uint64_t node) : prev_(t_current) { t_current = node; }
DepContext::~DepContext() { t_current = prev_; }

bool dep_add(uint64_t from, uint64_t to, const char* what) {
  if (!from || !to) return true;
  SpinGuard g;
  static unsigned path[kDepMaxEdges + 1];
  unsigned len = 0;
  if (reaches(to, from, path, &len)) {
    g_cycles++;
    int n = std::snprintf(g_last, sizeof g_last, "%s@%llx -(%s)-> %s@%llx", kind_name(from),
                          static_cast<unsigned long long>(from & 0xffffffffffffull), what,
                          kind_name(to), static_cast<unsigned long long>(to & 0xffffffffffffull));
    for (unsigned k = 0; k < len && n > 0 && static_cast<size_t>(n) < sizeof g_last; k++) {
      const Edge& e = g_edges[path[k]];
      n += std::snprintf(g_last + n, sizeof g_last - static_cast<size_t>(n), " -(%s)-> %s@%llx",
                         e.what, kind_name(e.to),
                         static_cast<unsigned long long>(e.to & 0xffffffffffffull));
    }
    return false;
  }
  if (g_count == kDepMaxEdges) {
    g_overflow++;
    return true;
  }
  g_edges[g_count++] = Edge{from, to, what};
  g_added++;
  return true;
}

void dep_remove(uint64_t from, uint64_t to) {
  SpinGuard g;
  for (unsigned i = 0; i < g_count; i++) {
    if (g_edges[i].from == from && g_edges[i].to == to) {
      g_edges[i] = g_edges[--g_count];
      return;
    }
  }
}

void dep_remove_node(uint64_t node) {
  SpinGuard g;
  for (unsigned i = 0; i < g_count;) {
    if (g_edges[i].from == node || g_edges[i].to == node) g_edges[i] = g_edges[--g_count];
    else i++;
  }
}

DepStats dep_stats() {
  SpinGuard g;
  DepStats s;
  s.edges_added = g_added;
  s.cycles = g_cycles;
  s.overflow = g_overflow;
  s.live_edges = g_count;
  return s;
}

std::string dep_last_cycle() {
  char copy[sizeof g_last];
  {
    SpinGuard g;
    std::memcpy(copy, g_last, sizeof copy);
  }
  copy[sizeof copy - 1] = 0;
  return copy;
}

void dep_reset() {
  SpinGuard g;
  g_count = 0;
  g_added = g_cycles = g_overflow = 0;
  g_last[0] = 0;
}

}  // namespace wsys::sim
