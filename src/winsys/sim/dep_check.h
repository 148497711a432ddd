// The model's fence dependency checker (a model extension for user queues,
// drm-uapi/wsys_sim_ext.h; lockdep's cross-release idea, reduced).
//
// Deadlocks between memory management and user-mode submission are cycles
// of "waits for": reclaim waits for a submission fence; the fence waits for
// whoever must do the work; that one waits for memory. The kernel forbids
// future fences exactly because such a cycle cannot be seen until it hangs.
// The model records the edges it creates and reports a cycle the moment an
// edge would close one:
//   - a context (an ioctl caller acting for its file, a user queue's
//     executor) WAITS for a fence: eviction waits of the shrinker, waits
//     taken inside signalling sections (Fence::wait), submission-fence waits
//     (SYNCOBJ_WAIT / TIMELINE_WAIT of a file's user space: a cycle there
//     is -EDEADLK);
//   - a fence is SIGNALLED BY a context: a submission fence by its queue's
//     executor; a (test-only) future fence by the file whose user space
//     must still push the work.
// Nodes are classes, as lockdep's are: "the user space of file F", not a
// thread. An edge that would close a cycle is not added; the caller is
// told (dep_add returns false) and must not wait: the reclaim path then
// skips that VM instead of hanging. Every cycle is counted and the last one
// is kept as text for the test to print.
//
// No allocation: a fixed table of kDepMaxEdges edges under a spin lock, so
// recording is allowed inside signalling sections.
#pragma once

#include <cstdint>
#include <string>

namespace wsys::sim {

class Fence;
class SimFile;

inline constexpr unsigned kDepMaxEdges = 4096;

enum class DepKind : uint64_t { Fence = 1, Queue = 2, File = 3 };

uint64_t dep_node(DepKind kind, const void* p);
inline uint64_t dep_fence(const Fence* f) { return dep_node(DepKind::Fence, f); }
inline uint64_t dep_queue(const void* q) { return dep_node(DepKind::Queue, q); }
inline uint64_t dep_file(const SimFile* f) { return dep_node(DepKind::File, f); }

// The context the calling thread acts as (0: none). Set for the length of
// an ioctl (the file) and by a user queue's executor (the queue).
uint64_t dep_current();
class DepContext {
 public:
  explicit DepContext(uint64_t node);
  ~DepContext();
  DepContext(const DepContext&) = delete;
  DepContext& operator=(const DepContext&) = delete;

 private:
  uint64_t prev_;
};

// Adds from -> to ("from waits for to"). False, and nothing added, if the
// edge would close a cycle (counted and reported) or if the table is full
// (counted as overflow; the caller may proceed: no cycle was seen).
// `what` is a static string naming the edge (kept by pointer).
bool dep_add(uint64_t from, uint64_t to, const char* what);
void dep_remove(uint64_t from, uint64_t to);
// Removes every edge from or to `node` (a fence that signalled).
void dep_remove_node(uint64_t node);

struct DepStats {
  uint64_t edges_added = 0;
  uint64_t cycles = 0;    // cycles reported
  uint64_t overflow = 0;  // edges not recorded: table full
  uint64_t live_edges = 0;
};
DepStats dep_stats();
// The last cycle reported, e.g. "file@.. -(eviction wait)-> fence@.. -(...)-> file@..".
std::string dep_last_cycle();
// For tests: forget every edge and counter.
void dep_reset();

}  // namespace wsys::sim
