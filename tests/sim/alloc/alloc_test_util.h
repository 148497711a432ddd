// Helpers for the shared-allocator model extension tests (ioctls of
// drm-uapi/wsys_sim_alloc.h).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/drm/model_opener.h"

namespace wsys::sim::test {

inline std::unique_ptr<drm::DrmFile> open_aux(const std::string& name) {
  auto f = drm::open_model(name);
  EXPECT_TRUE(f.ok()) << name;
  if (!f.ok()) return nullptr;
  return std::move(*f);
}

// ALLOC; returns 0 or -errno.
inline int alloc(drm::DrmFile& a, uint64_t size, uint32_t uses, int* fd, uint32_t* handle,
                 uint32_t flags = 0) {
  drm_wsys_alloc_create c{};
  c.size = size;
  c.uses = uses;
  c.flags = flags;
  int r = a.ioctl(DRM_IOCTL_WSYS_ALLOC_CREATE, &c);
  *fd = r ? -1 : c.fd;
  *handle = r ? 0 : c.handle;
  return r;
}

inline drm_wsys_alloc_query query(drm::DrmFile& a, int fd) {
  drm_wsys_alloc_query q{};
  q.fd = fd;
  EXPECT_EQ(a.ioctl(DRM_IOCTL_WSYS_ALLOC_QUERY, &q), 0);
  return q;
}

inline drm_wsys_alloc_stats stats(drm::DrmFile& a) {
  drm_wsys_alloc_stats s{};
  EXPECT_EQ(a.ioctl(DRM_IOCTL_WSYS_ALLOC_STATS, &s), 0);
  return s;
}

// PERIPH_ATTACH on a display or camera file.
inline int periph_attach(drm::DrmFile& d, int fd, uint32_t pitch, uint32_t height, uint32_t* id,
                         uint32_t* unmet = nullptr) {
  drm_wsys_periph_attach a{};
  a.fd = fd;
  a.pitch = pitch;
  a.height = height;
  int r = d.ioctl(DRM_IOCTL_WSYS_PERIPH_ATTACH, &a);
  *id = r ? 0 : a.attach_id;
  if (unmet) *unmet = a.unmet;
  return r;
}

inline int attach_op(drm::DrmFile& d, unsigned long cmd, uint32_t id) {
  drm_wsys_alloc_attach_op o{};
  o.attach_id = id;
  return d.ioctl(cmd, &o);
}

inline int periph_use(drm::DrmFile& d, uint32_t id, uint64_t* value) {
  drm_wsys_periph_use u{};
  u.attach_id = id;
  u.value = *value;
  int r = d.ioctl(DRM_IOCTL_WSYS_PERIPH_USE, &u);
  *value = u.value;
  return r;
}

// ALLOC_ATTACH with explicit constraints.
inline int attach(drm::DrmFile& a, int fd, uint32_t domain, const drm_wsys_alloc_constraints& c,
                  uint32_t* id, uint32_t* unmet = nullptr) {
  drm_wsys_alloc_attach at{};
  at.fd = fd;
  at.domain = domain;
  at.c = c;
  int r = a.ioctl(DRM_IOCTL_WSYS_ALLOC_ATTACH, &at);
  *id = r ? 0 : at.attach_id;
  if (unmet) *unmet = at.unmet;
  return r;
}

inline int sync(drm::DrmFile& a, int fd, uint32_t domain, uint32_t flags) {
  drm_wsys_alloc_sync s{};
  s.fd = fd;
  s.domain = domain;
  s.flags = flags;
  return a.ioctl(DRM_IOCTL_WSYS_ALLOC_SYNC, &s);
}

constexpr uint64_t k4G = 1ull << 32;
constexpr uint64_t kMiB = 1ull << 20;

}  // namespace wsys::sim::test
