// vkGetWsysSharedFnsWSYS: the kernel model's central allocator and its
// display/camera models, for programs using the ICD (wsys_vk.h). The model
// runs inside the ICD with its own process-wide allocator, so a program's
// camera frames and displayed buffers must be made and used here to be the
// buffers the ICD's dma-buf memory imports and exports. Each function is a
// thin C face of wsys::SharedBuffer.
#include <cerrno>
#include <memory>

#include "vulkan/entry_points.h"
#include "wsys/shared_buffer.hpp"

struct WsysVkSharedBuffer {
  std::shared_ptr<wsys::SharedBuffer> sb;
};

namespace wsys::vk {

namespace {

template <typename T>
int rc(const Result<T>& r) {
  return r.ok() ? 0 : r.error();
}

bool device_ok(uint32_t d) {
  return d == WSYS_VK_SHARED_DISPLAY || d == WSYS_VK_SHARED_CAMERA;
}
SharedDevice device_of(uint32_t d) {
  return d == WSYS_VK_SHARED_DISPLAY ? SharedDevice::Display : SharedDevice::Camera;
}

int wrap(Result<std::shared_ptr<SharedBuffer>> r, WsysVkSharedBuffer** out) {
  if (!r.ok()) return r.error();
  *out = new WsysVkSharedBuffer{std::move(*r)};
  return 0;
}

int sb_create(uint64_t size, uint32_t uses, WsysVkSharedBuffer** out) {
  if (!out) return -EINVAL;
  return wrap(SharedBuffer::create(size, uses), out);
}

int sb_from_fd(int fd, WsysVkSharedBuffer** out) {
  if (!out) return -EINVAL;
  return wrap(SharedBuffer::from_fd(fd), out);
}

void sb_destroy(WsysVkSharedBuffer* b) {
  delete b;
}

int sb_fd(const WsysVkSharedBuffer* b) {
  return b ? b->sb->fd() : -EINVAL;
}

int sb_attach(WsysVkSharedBuffer* b, uint32_t device, uint32_t pitch, uint32_t height,
              uint32_t* attachment, uint32_t* refusal) {
  if (!b || !device_ok(device) || !attachment) return -EINVAL;
  Result<uint32_t> r = b->sb->attach(device_of(device), pitch, height);
  if (refusal) *refusal = r.ok() ? 0u : static_cast<uint32_t>(b->sb->refusal());
  if (!r.ok()) return r.error();
  *attachment = *r;
  return 0;
}

int sb_map(WsysVkSharedBuffer* b, uint32_t device, uint32_t a) {
  if (!b || !device_ok(device)) return -EINVAL;
  return rc(b->sb->map(device_of(device), a));
}

int sb_unmap(WsysVkSharedBuffer* b, uint32_t device, uint32_t a) {
  if (!b || !device_ok(device)) return -EINVAL;
  return rc(b->sb->unmap(device_of(device), a));
}

int sb_detach(WsysVkSharedBuffer* b, uint32_t device, uint32_t a) {
  if (!b || !device_ok(device)) return -EINVAL;
  return rc(b->sb->detach(device_of(device), a));
}

int sb_use(WsysVkSharedBuffer* b, uint32_t device, uint32_t a, uint8_t fill, uint64_t* value) {
  if (!b || !device_ok(device)) return -EINVAL;
  Result<uint64_t> r = b->sb->use(device_of(device), a, fill);
  if (!r.ok()) return r.error();
  if (value) *value = *r;
  return 0;
}

int sb_begin_cpu_access(WsysVkSharedBuffer* b, int read, int write) {
  if (!b) return -EINVAL;
  return rc(b->sb->begin_cpu_access(read != 0, write != 0));
}

int sb_placement(const WsysVkSharedBuffer* b, WsysVkSharedPlacement* out) {
  if (!b || !out) return -EINVAL;
  Result<SharedPlacement> r = b->sb->placement();
  if (!r.ok()) return r.error();
  *out = WsysVkSharedPlacement{};
  out->placed = r->placed;
  out->in_use = r->in_use;
  out->cpu_used = r->cpu_used;
  out->contiguous_pool = r->contiguous_pool;
  out->extents = r->extents;
  out->attachments = r->attachments;
  out->migrations = r->migrations;
  out->highest_address = r->highest_address;
  return 0;
}

int sb_stats(WsysVkSharedStats* out) {
  if (!out) return -EINVAL;
  Result<SharedAllocatorStats> r = SharedBuffer::allocator_stats();
  if (!r.ok()) return r.error();
  out->contiguous_pool_bytes = r->contiguous_pool_bytes;
  out->contiguous_used = r->contiguous_used;
  out->contiguous_peak = r->contiguous_peak;
  out->cache_flushes = r->cache_flushes;
  out->cache_invalidates = r->cache_invalidates;
  out->cache_ops_avoided = r->cache_ops_avoided;
  out->migrations = r->migrations;
  out->placement_failures = r->placement_failures;
  out->refused_attaches = r->refused_attaches;
  return 0;
}

const char* sb_refusal_name(uint32_t r) {
  return shared_refusal_name(static_cast<SharedRefusal>(r));
}

}  // namespace

namespace icd {

VKAPI_ATTR VkResult VKAPI_CALL GetWsysSharedFnsWSYS(VkDevice device, WsysVkSharedFns* fns) {
  Device* d = find_device(device);
  if (!d || !fns) return VK_ERROR_INITIALIZATION_FAILED;
  if (!d->physical->dma_buf_shared) return VK_ERROR_FEATURE_NOT_PRESENT;
  *fns = WsysVkSharedFns{sb_create,    sb_from_fd, sb_destroy,     sb_fd,  sb_attach,
                         sb_map,       sb_unmap,   sb_detach,      sb_use, sb_begin_cpu_access,
                         sb_placement, sb_stats,   sb_refusal_name};
  return VK_SUCCESS;
}

}  // namespace icd

}  // namespace wsys::vk
