// Helpers for the user-queue tests (a model extension:
// drm-uapi/wsys_sim_ext.h): queue creation, a producer that writes the
// ring through a CPU mapping and rings the doorbell, state queries.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "csf/csf_test_util.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/sim/executor.h"

namespace wsys::sim::userqtest {

using namespace csftest;

inline int userq_create(SimDrmFile& f, uint32_t group, uint64_t ring_va, uint32_t ring_size,
                        uint64_t ctrl_va, uint32_t* handle, uint64_t* doorbell_offset) {
  drm_wsys_userq_create c{};
  c.group_handle = group;
  c.ring_va = ring_va;
  c.ring_size = ring_size;
  c.rptr_va = ctrl_va;
  c.wptr_va = ctrl_va + 8;
  c.seqno_va = ctrl_va + 16;
  int r = f.ioctl(DRM_IOCTL_WSYS_USERQ_CREATE, &c);
  if (r == 0) {
    *handle = c.handle;
    *doorbell_offset = c.doorbell_offset;
  }
  return r;
}

inline int userq_destroy(SimDrmFile& f, uint32_t h) {
  drm_wsys_userq_destroy d{};
  d.handle = h;
  return f.ioctl(DRM_IOCTL_WSYS_USERQ_DESTROY, &d);
}

inline int userq_signal(SimDrmFile& f, uint32_t h, uint32_t syncobj, uint64_t seqno,
                        uint64_t point = 0) {
  drm_wsys_userq_signal s{};
  s.handle = h;
  s.syncobj = syncobj;
  s.seqno = seqno;
  s.point = point;
  return f.ioctl(DRM_IOCTL_WSYS_USERQ_SIGNAL, &s);
}

inline drm_wsys_userq_get_state userq_state(SimDrmFile& f, uint32_t h) {
  drm_wsys_userq_get_state s{};
  s.handle = h;
  EXPECT_EQ(f.ioctl(DRM_IOCTL_WSYS_USERQ_GET_STATE, &s), 0);
  return s;
}

// One producer view of a queue: the ring and the control words through the
// user's CPU mappings (mmap of the BOs), the doorbell through its mmap.
class Producer {
 public:
  Producer(uint8_t* ring, uint32_t size, volatile uint64_t* ctrl, volatile uint32_t* doorbell)
      : ring_(ring), size_(size), ctrl_(ctrl), doorbell_(doorbell) {
    w_ = ctrl_[1];
  }
  uint64_t rptr() const { return __atomic_load_n(&ctrl_[0], __ATOMIC_ACQUIRE); }
  uint64_t seqno() const { return __atomic_load_n(&ctrl_[2], __ATOMIC_ACQUIRE); }
  uint64_t wptr() const { return w_; }
  // Appends one command (waits for room; pads the ring's tail with a NOP
  // when the command would straddle the end).
  template <typename T>
  void cmd(T c, uint32_t op) {
    c.hdr.opcode = op;
    c.hdr.size = sizeof(T);
    bytes(&c, sizeof c);
  }
  void bytes(const void* p, uint32_t n) {
    const uint32_t mask = size_ - 1;
    uint32_t off = static_cast<uint32_t>(w_ & mask);
    if (off + n > size_) {
      uint32_t pad = size_ - off;
      room(pad);
      SimCmdHeader h{kCmdNop, pad};
      std::memcpy(ring_ + off, &h, 8);
      w_ += pad;
      off = 0;
    }
    room(n);
    std::memcpy(ring_ + off, p, n);
    w_ += n;
  }
  void write32(uint64_t va, uint32_t v) {
    SimCmdWrite32 c{};
    c.va = va;
    c.value = v;
    cmd(c, kCmdWrite32);
  }
  void write64(uint64_t va, uint64_t v) {
    SimCmdWrite64 c{};
    c.va = va;
    c.value = v;
    cmd(c, kCmdWrite64);
  }
  void copy(uint64_t dst, uint64_t src, uint64_t n) {
    SimCmdCopy c{};
    c.dst_va = dst;
    c.src_va = src;
    c.size = n;
    cmd(c, kCmdCopy);
  }
  void fill(uint64_t va, uint64_t n, uint32_t v) {
    SimCmdFill c{};
    c.va = va;
    c.size = n;
    c.value = v;
    cmd(c, kCmdFill);
  }
  void checksum(uint64_t va, uint64_t n, uint64_t dst) {
    SimCmdChecksum c{};
    c.va = va;
    c.size = n;
    c.dst_va = dst;
    cmd(c, kCmdChecksum);
  }
  void sleep_ns(uint64_t ns) {
    SimCmdSleep c{};
    c.ns = ns;
    cmd(c, kCmdSleep);
  }
  void hang() {
    SimCmdHeader h{kCmdHang, 8};
    bytes(&h, 8);
  }
  void seqno(uint64_t s) {
    SimCmdSeqno c{};
    c.seqno = s;
    cmd(c, kCmdSeqno);
  }
  // Publishes the commands and rings the doorbell.
  void commit() {
    __atomic_store_n(&ctrl_[1], w_, __ATOMIC_RELEASE);
    *doorbell_ = 1;
  }
  // Spins (with short sleeps) until the seqno reaches s; false on timeout.
  bool wait_seqno(uint64_t s, int64_t timeout_ns = 10'000'000'000LL) const {
    const int64_t end = monotonic_ns() + timeout_ns;
    while (seqno() < s) {
      if (monotonic_ns() > end) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return true;
  }

 private:
  void room(uint32_t n) {
    const int64_t end = monotonic_ns() + 20'000'000'000LL;
    while (w_ + n - rptr() > size_) {
      if (monotonic_ns() > end) {
        ADD_FAILURE() << "the ring never drained (rptr " << rptr() << ", wptr " << w_ << ")";
        return;
      }
      std::this_thread::yield();
    }
  }
  uint8_t* ring_;
  uint32_t size_;
  volatile uint64_t* ctrl_;
  volatile uint32_t* doorbell_;
  uint64_t w_ = 0;
};

}  // namespace wsys::sim::userqtest
