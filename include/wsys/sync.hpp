// Synchronisation vocabulary shared by the public objects: a point on a
// syncobj, and the set of GPU uses still pending on something.
//
// Syncobjs themselves are created, signalled, waited for and queried on
// the Device (device.hpp); these types only name points.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace wsys {

// A point on a syncobj (point 0: a binary syncobj).
struct SyncPoint {
  uint32_t syncobj = 0;
  uint64_t point = 0;
};

// GPU uses of one object (a Bo, a scratch buffer, a heap) not yet seen
// signalled: one entry per syncobj. A timeline keeps its latest point
// (which signals after the earlier ones); a binary syncobj its latest
// submission (which replaced the earlier fence there). Uses of different
// syncobjs accumulate until they signal, so an object several queues used
// stays busy until all of them are done.
//
// Not thread-safe: the owner's lock guards it. Polling takes a copy
// (entries()) to ask the kernel without the lock, then forget()s what it
// saw signalled; an entry recorded again meanwhile (a newer seq) stays.
// The vector keeps its capacity across clear(), so steady-state use
// allocates nothing.
class PendingUses {
 public:
  struct Use {
    uint32_t syncobj = 0;
    uint64_t point = 0;
    uint64_t seq = 0;  // when last recorded
  };

  // Records a use (syncobj 0 is ignored).
  void add(SyncPoint p) {
    if (p.syncobj == 0) return;
    const uint64_t seq = ++seq_;
    for (Use& u : uses_) {
      if (u.syncobj != p.syncobj) continue;
      if (p.point == 0 || p.point >= u.point) {
        u.point = p.point;
        u.seq = seq;
      }
      return;
    }
    uses_.push_back(Use{p.syncobj, p.point, seq});
  }
  // Drops the entries `done` names, unless recorded again since.
  void forget(std::span<const Use> done) {
    std::erase_if(uses_, [&](const Use& u) {
      return std::any_of(done.begin(), done.end(),
                         [&](const Use& d) { return d.syncobj == u.syncobj && d.seq == u.seq; });
    });
  }
  void clear() { uses_.clear(); }
  bool empty() const { return uses_.empty(); }
  size_t size() const { return uses_.size(); }
  const std::vector<Use>& entries() const { return uses_; }

 private:
  std::vector<Use> uses_;
  uint64_t seq_ = 0;
};

}  // namespace wsys
