#include "winsys/sim/alloc_state.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

namespace wsys::sim {

void AllocState::init(const PhysLayoutConfig& c, bool shared) {
  version = kAllocStateVersion;
  size = sizeof(AllocState);
  cfg = c;
  next_gen = 1;
  new (&layout) PhysLayout(c);
  counters = SharedAllocStats{};
  counters.cma_size = layout.zone_range(PhysZone::Cma).size;
  for (uint32_t i = 0; i < kMaxBuffers; i++) bufs[i] = AllocBufferRec{};
  for (uint32_t i = 0; i < kMaxAttachments; i++) atts[i] = AllocAttachRec{};
  for (uint32_t i = 0; i < kMaxExtents; i++)
    extents[i] = {0, 0, i + 1 < kMaxExtents ? i + 1 : kNoIndex, 0};
  free_extents = 0;
  for (uint32_t i = 0; i < kMaxBuffers; i++) bufs[i].ext_head = kNoIndex;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (shared) pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&mu, &a);
  pthread_mutexattr_destroy(&a);
}

bool AllocState::lock() {
  int r = pthread_mutex_lock(&mu);
  if (r == EOWNERDEAD) {
    // Its holder died in the middle of an update: make the tables whole
    // again before anyone relies on them.
    repair();
    pthread_mutex_consistent(&mu);
    return true;
  }
  return r == 0;
}

void AllocState::unlock() {
  pthread_mutex_unlock(&mu);
}

uint32_t AllocState::new_buffer() {
  for (uint32_t i = 0; i < kMaxBuffers; i++) {
    if (bufs[i].gen) continue;
    bufs[i] = AllocBufferRec{};
    bufs[i].ext_head = kNoIndex;
    if (++next_gen == 0) next_gen = 1;
    bufs[i].gen = next_gen;
    return i;
  }
  return kNoIndex;
}

void AllocState::free_buffer(uint32_t b) {
  drop_placement(b);
  for (AllocAttachRec& a : atts)
    if (a.gen && a.buf == b) a = AllocAttachRec{};
  bufs[b] = AllocBufferRec{};
  bufs[b].ext_head = kNoIndex;
}

uint32_t AllocState::find_buffer(uint64_t dev, uint64_t ino) const {
  if (!ino) return kNoIndex;
  for (uint32_t i = 0; i < kMaxBuffers; i++)
    if (bufs[i].gen && bufs[i].ino == ino && bufs[i].dev == dev) return i;
  return kNoIndex;
}

bool AllocState::add_holder(uint32_t b, int32_t pid) {
  for (int32_t& h : bufs[b].holders) {
    if (h == 0) {
      h = pid;
      return true;
    }
  }
  return false;
}

bool AllocState::drop_holder(uint32_t b, int32_t pid) {
  bool dropped = false, left = false;
  for (int32_t& h : bufs[b].holders) {
    if (!dropped && h == pid) {
      h = 0;
      dropped = true;
    } else if (h) {
      left = true;
    }
  }
  return !left;
}

Placement AllocState::placement(uint32_t b) const {
  Placement p;
  if (!bufs[b].finalized) return p;
  p.zone = static_cast<PhysZone>(bufs[b].zone);
  for (uint32_t e = bufs[b].ext_head; e != kNoIndex; e = extents[e].next)
    p.extents.push_back({extents[e].addr, extents[e].size});
  return p;
}

bool AllocState::set_placement(uint32_t b, Placement p) {
  // Enough free pool entries?
  size_t n = 0;
  for (uint32_t e = free_extents; e != kNoIndex && n < p.extents.size(); e = extents[e].next) n++;
  if (n < p.extents.size()) return false;
  drop_placement(b);
  uint32_t* link = &bufs[b].ext_head;
  for (const PhysExtent& x : p.extents) {
    const uint32_t e = free_extents;
    free_extents = extents[e].next;
    extents[e] = {x.addr, x.size, kNoIndex, 0};
    *link = e;
    link = &extents[e].next;
  }
  bufs[b].zone = static_cast<uint32_t>(p.zone);
  bufs[b].ext_count = static_cast<uint32_t>(p.extents.size());
  bufs[b].finalized = 1;
  return true;
}

void AllocState::drop_placement(uint32_t b) {
  AllocBufferRec& r = bufs[b];
  if (r.finalized) layout.free(static_cast<PhysZone>(r.zone), placement(b).extents);
  for (uint32_t e = r.ext_head; e != kNoIndex;) {
    const uint32_t next = extents[e].next;
    extents[e] = {0, 0, free_extents, 0};
    free_extents = e;
    e = next;
  }
  r.ext_head = kNoIndex;
  r.ext_count = 0;
  r.zone = 0;
  r.finalized = 0;
}

uint32_t AllocState::new_attachment() {
  for (uint32_t i = 0; i < kMaxAttachments; i++) {
    if (atts[i].gen) continue;
    atts[i] = AllocAttachRec{};
    if (++next_gen == 0) next_gen = 1;
    atts[i].gen = next_gen;
    return i;
  }
  return kNoIndex;
}

void AllocState::log_line(const std::string& line) {
  char* slot = log[log_next];
  std::snprintf(slot, kLogLineBytes, "%s", line.c_str());
  log_next = (log_next + 1) % kLogLines;
  log_count = std::min(log_count + 1, kLogLines);
}

std::vector<std::string> AllocState::log_lines() const {
  std::vector<std::string> out;
  const uint32_t first = (log_next + kLogLines - log_count) % kLogLines;
  for (uint32_t i = 0; i < log_count; i++) {
    const char* l = log[(first + i) % kLogLines];
    out.emplace_back(l, strnlen(l, kLogLineBytes));
  }
  return out;
}

bool AllocState::register_proc(int32_t pid) {
  int32_t* free_slot = nullptr;
  for (int32_t& p : procs) {
    if (p == pid) return true;
    if (!p && !free_slot) free_slot = &p;
  }
  if (!free_slot) return false;
  *free_slot = pid;
  return true;
}

void AllocState::drop_process(int32_t pid) {
  for (AllocAttachRec& a : atts)
    if (a.gen && a.pid == pid) a = AllocAttachRec{};
  for (uint32_t b = 0; b < kMaxBuffers; b++) {
    if (!bufs[b].gen) continue;
    bool held = false, had = false;
    for (int32_t& h : bufs[b].holders) {
      if (h == pid) {
        h = 0;
        had = true;
      }
      held = held || h;
    }
    if (had && !held) free_buffer(b);
  }
  for (int32_t& p : procs)
    if (p == pid) p = 0;
}

uint32_t AllocState::sweep_dead() {
  uint32_t n = 0;
  for (int32_t p : procs) {
    if (p <= 0 || kill(p, 0) == 0 || errno != ESRCH) continue;
    drop_process(p);
    n++;
  }
  return n;
}

void AllocState::repair() {
  // The records are what counts: every extent chain of a finalized record
  // is kept (if it is sound), everything else goes back to the pool.
  std::vector<bool> used(kMaxExtents, false);
  std::vector<PhysLayout::UsedExtent> in_use;
  for (AllocBufferRec& r : bufs) {
    if (!r.gen || !r.finalized) {
      r.finalized = 0;
      r.ext_head = kNoIndex;
      r.ext_count = 0;
      continue;
    }
    std::vector<uint32_t> chain;
    bool sound = true;
    for (uint32_t e = r.ext_head; e != kNoIndex; e = extents[e].next) {
      if (e >= kMaxExtents || used[e] || chain.size() >= r.ext_count) {
        sound = false;
        break;
      }
      chain.push_back(e);
    }
    if (!sound || chain.size() != r.ext_count) {  // torn: the buffer loses its placement
      r.finalized = 0;
      r.ext_head = kNoIndex;
      r.ext_count = 0;
      continue;
    }
    for (uint32_t e : chain) used[e] = true;
    for (uint32_t e = r.ext_head; e != kNoIndex; e = extents[e].next)
      in_use.push_back({static_cast<PhysZone>(r.zone), {extents[e].addr, extents[e].size}});
  }
  free_extents = kNoIndex;
  for (uint32_t e = kMaxExtents; e-- > 0;) {
    if (used[e]) continue;
    extents[e] = {0, 0, free_extents, 0};
    free_extents = e;
  }
  layout.rebuild(std::move(in_use));
  for (AllocAttachRec& a : atts)
    if (a.gen && (a.buf >= kMaxBuffers || bufs[a.buf].gen != a.buf_gen)) a = AllocAttachRec{};
  sweep_dead();
}

}  // namespace wsys::sim
