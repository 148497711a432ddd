// Helpers for the syncobj tests: thin wrappers that fill the uapi structs
// and return the ioctl's result (0 or a negative errno), plus a way to put
// a model Fence (signalled later by the test, like a GPU job) into a
// syncobj.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "sim_test_util.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/syncobj.h"

namespace wsys::sim::test {

inline uint64_t uptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// An absolute CLOCK_MONOTONIC deadline `ms` from now (the ioctls' timeout).
inline int64_t in_ms(int64_t ms) { return monotonic_ns() + ms * 1000000LL; }
// Far enough in the future to mean "forever" for a test.
inline int64_t forever() { return monotonic_ns() + 60LL * 1000000000LL; }

class Sync {
 public:
  explicit Sync(SimDrmFile* f) : f_(f) {}

  int create(uint32_t flags, uint32_t* handle) {
    drm_syncobj_create c{};
    c.flags = flags;
    int r = f_->ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c);
    if (r == 0) *handle = c.handle;
    return r;
  }
  // Creates or fails the test.
  uint32_t make(bool signalled = false) {
    uint32_t h = 0;
    EXPECT_EQ(create(signalled ? DRM_SYNCOBJ_CREATE_SIGNALED : 0, &h), 0);
    return h;
  }
  int destroy(uint32_t h, uint32_t pad = 0) {
    drm_syncobj_destroy d{};
    d.handle = h;
    d.pad = pad;
    return f_->ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &d);
  }
  int signal(std::vector<uint32_t> hs) { return array(DRM_IOCTL_SYNCOBJ_SIGNAL, hs); }
  int reset(std::vector<uint32_t> hs) { return array(DRM_IOCTL_SYNCOBJ_RESET, hs); }
  int array(unsigned long cmd, std::vector<uint32_t>& hs) {
    drm_syncobj_array a{};
    a.handles = uptr(hs.data());
    a.count_handles = static_cast<uint32_t>(hs.size());
    return f_->ioctl(cmd, &a);
  }
  int tsignal(std::vector<uint32_t> hs, std::vector<uint64_t> pts) {
    drm_syncobj_timeline_array a{};
    a.handles = uptr(hs.data());
    a.points = uptr(pts.data());
    a.count_handles = static_cast<uint32_t>(hs.size());
    return f_->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &a);
  }
  int tsignal1(uint32_t h, uint64_t p) { return tsignal({h}, {p}); }
  int query(std::vector<uint32_t> hs, std::vector<uint64_t>* pts, uint32_t flags = 0) {
    pts->assign(hs.size(), ~0ull);
    drm_syncobj_timeline_array a{};
    a.handles = uptr(hs.data());
    a.points = uptr(pts->data());
    a.count_handles = static_cast<uint32_t>(hs.size());
    a.flags = flags;
    return f_->ioctl(DRM_IOCTL_SYNCOBJ_QUERY, &a);
  }
  // QUERY of one syncobj; ~0 if the ioctl failed.
  uint64_t query1(uint32_t h, uint32_t flags = 0) {
    std::vector<uint64_t> p;
    if (query({h}, &p, flags) != 0) return ~0ull;
    return p[0];
  }
  int wait(std::vector<uint32_t> hs, int64_t timeout, uint32_t flags = 0,
           uint32_t* first = nullptr) {
    drm_syncobj_wait w{};
    w.handles = uptr(hs.data());
    w.count_handles = static_cast<uint32_t>(hs.size());
    w.timeout_nsec = timeout;
    w.flags = flags;
    w.first_signaled = 0xdeadbeef;
    int r = f_->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w);
    if (first) *first = w.first_signaled;
    return r;
  }
  int twait(std::vector<uint32_t> hs, std::vector<uint64_t> pts, int64_t timeout,
            uint32_t flags = 0, uint32_t* first = nullptr) {
    drm_syncobj_timeline_wait w{};
    w.handles = uptr(hs.data());
    w.points = uptr(pts.data());
    w.count_handles = static_cast<uint32_t>(hs.size());
    w.timeout_nsec = timeout;
    w.flags = flags;
    w.first_signaled = 0xdeadbeef;
    int r = f_->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w);
    if (first) *first = w.first_signaled;
    return r;
  }
  // Poll-waits (timeout 0) for one point: 0 if signalled, -ETIME if not.
  int poll_point(uint32_t h, uint64_t p, uint32_t flags = 0) {
    return twait({h}, {p}, 0, flags);
  }
  int transfer(uint32_t dst, uint64_t dst_point, uint32_t src, uint64_t src_point,
               uint32_t flags = 0, uint32_t pad = 0) {
    drm_syncobj_transfer t{};
    t.src_handle = src;
    t.dst_handle = dst;
    t.src_point = src_point;
    t.dst_point = dst_point;
    t.flags = flags;
    t.pad = pad;
    return f_->ioctl(DRM_IOCTL_SYNCOBJ_TRANSFER, &t);
  }
  int to_fd(uint32_t h, uint32_t flags, int* fd, uint32_t pad = 0) {
    drm_syncobj_handle a{};
    a.handle = h;
    a.flags = flags;
    a.fd = -1;
    a.pad = pad;
    int r = f_->ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &a);
    if (r == 0) *fd = a.fd;
    return r;
  }
  int from_fd(int fd, uint32_t flags, uint32_t* h, uint32_t pad = 0) {
    drm_syncobj_handle a{};
    a.handle = *h;
    a.flags = flags;
    a.fd = fd;
    a.pad = pad;
    int r = f_->ioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &a);
    if (r == 0) *h = a.handle;
    return r;
  }
  int eventfd(uint32_t h, uint64_t point, int fd, uint32_t flags = 0, uint32_t pad = 0) {
    drm_syncobj_eventfd e{};
    e.handle = h;
    e.flags = flags;
    e.point = point;
    e.fd = fd;
    e.pad = pad;
    return f_->ioctl(DRM_IOCTL_SYNCOBJ_EVENTFD, &e);
  }

  // The model object behind a handle (null if none).
  SyncobjPtr object(uint32_t h) { return f_->file().lookup_syncobj(h); }

  // Puts `fence` into syncobj `h`: replaces the fence (point 0) or adds a
  // timeline point, as a driver's submit does.
  void attach(uint32_t h, FencePtr fence, uint64_t point = 0) {
    SyncobjPtr s = object(h);
    ASSERT_TRUE(s) << "no syncobj " << h;
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    if (point == 0) s->replace_locked(std::move(fence));
    else s->add_point_locked(std::move(fence), point);
  }
  // Point waiters currently registered on `h` (WAIT_FOR_SUBMIT waits that
  // have not seen their point yet).
  size_t waiters(uint32_t h) {
    SyncobjPtr s = object(h);
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    return s ? s->waiter_count_locked() : 0;
  }
  // Test-side: sleeps in short steps until `n` waiters are registered on
  // `h` (so a test knows another thread is blocked in the ioctl).
  bool await_waiters(uint32_t h, size_t n) {
    for (int i = 0; i < 20000; i++) {
      if (waiters(h) >= n) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return false;
  }

  // A new unsignalled fence attached to `h` at `point`.
  FencePtr pending(uint32_t h, uint64_t point = 0) {
    auto fence = std::make_shared<Fence>();
    attach(h, fence, point);
    return fence;
  }

 private:
  SimDrmFile* f_;
};

// True if `fd` is readable right now (poll with a zero timeout).
inline bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

// Waits up to `ms` for `fd` to become readable.
inline bool readable_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

}  // namespace wsys::sim::test
