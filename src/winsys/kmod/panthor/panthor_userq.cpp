// panthor backend: user queues, a MODEL EXTENSION (drm-uapi/wsys_sim_ext.h;
// no released kernel has them). Detected by EXT_QUERY: a kernel without the
// extension answers its number -EINVAL, and every call here is -EOPNOTSUPP.
#include <cerrno>
#include <cstring>

#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/kmod/panthor/panthor.h"

namespace wsys::kmod::panthor {

bool PanthorDevice::probe_user_queues() {
  drm_wsys_sim_ext_query q{};
  if (file().ioctl(DRM_IOCTL_WSYS_SIM_EXT_QUERY, &q) != 0) return false;
  return q.version >= 1 && (q.features & WSYS_SIM_EXT_FEATURE_USER_QUEUES);
}

Result<UserQueueHandle> PanthorDevice::user_queue_create(const UserQueueCreateInfo& info) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  drm_wsys_userq_create c{};
  c.group_handle = info.group;
  c.ring_va = info.ring_va;
  c.ring_size = info.ring_size_bytes;
  c.rptr_va = info.rptr_va;
  c.wptr_va = info.wptr_va;
  c.seqno_va = info.seqno_va;
  if (int r = file().ioctl(DRM_IOCTL_WSYS_USERQ_CREATE, &c)) return Error(r);
  return UserQueueHandle{c.handle, c.doorbell_offset};
}

Result<void> PanthorDevice::user_queue_destroy(uint32_t queue) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  drm_wsys_userq_destroy d{};
  d.handle = queue;
  return result_from_errno(file().ioctl(DRM_IOCTL_WSYS_USERQ_DESTROY, &d));
}

Result<void> PanthorDevice::user_queue_signal(uint32_t queue, uint64_t seqno, uint32_t syncobj,
                                              uint64_t point) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  drm_wsys_userq_signal s{};
  s.handle = queue;
  s.syncobj = syncobj;
  s.seqno = seqno;
  s.point = point;
  return result_from_errno(file().ioctl(DRM_IOCTL_WSYS_USERQ_SIGNAL, &s));
}

Result<void> PanthorDevice::user_queue_resume(uint32_t queue) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  drm_wsys_userq_resume r{};
  r.handle = queue;
  return result_from_errno(file().ioctl(DRM_IOCTL_WSYS_USERQ_RESUME, &r));
}

Result<UserQueueState> PanthorDevice::user_queue_state(uint32_t queue) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  drm_wsys_userq_get_state g{};
  g.handle = queue;
  if (int r = file().ioctl(DRM_IOCTL_WSYS_USERQ_GET_STATE, &g)) return Error(r);
  UserQueueState s;
  s.suspended = g.state & WSYS_USERQ_STATE_SUSPENDED;
  s.evicting = g.state & WSYS_USERQ_STATE_EVICTING;
  s.timed_out = g.state & WSYS_USERQ_STATE_TIMEDOUT;
  s.faulted = g.state & WSYS_USERQ_STATE_FAULTED;
  s.completed_seqno = g.completed_seqno;
  s.rptr = g.rptr;
  s.suspensions = g.suspensions;
  return s;
}

Result<uint32_t> PanthorDevice::user_queue_seqno_command(uint64_t seqno, uint8_t* out) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  const uint32_t hdr[2] = {WSYS_SIM_CMD_SEQNO, 16};
  std::memcpy(out, hdr, 8);
  std::memcpy(out + 8, &seqno, 8);
  return 16u;
}

Result<void> PanthorDevice::user_queue_nop_command(uint32_t bytes, uint8_t* out) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  if (bytes < 8 || bytes % 8) return Error(-EINVAL);
  const uint32_t hdr[2] = {WSYS_SIM_CMD_NOP, bytes};
  std::memcpy(out, hdr, 8);
  return {};
}

}  // namespace wsys::kmod::panthor
