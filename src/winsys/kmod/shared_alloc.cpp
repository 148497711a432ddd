// kmod's side of the model's shared allocator (a model extension,
// drm-uapi/wsys_sim_alloc.h): thin typed wrappers over its ioctls.
#include "winsys/kmod/shared_alloc.h"

#include <cerrno>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/drm/drm_file.h"
#include "winsys/drm/model_opener.h"

namespace wsys::kmod {

namespace {

Result<std::unique_ptr<drm::DrmFile>> open_aux(const char* name) {
  if (!drm::model_opener_available()) return Error(-EOPNOTSUPP);
  auto f = drm::open_model(name);
  if (!f) return Error(-EOPNOTSUPP);
  return std::move(*f);
}

int op(drm::DrmFile& f, unsigned long cmd, uint32_t id) {
  drm_wsys_alloc_attach_op o{};
  o.attach_id = id;
  return f.ioctl(cmd, &o);
}

}  // namespace

const char* shared_unmet_name(SharedUnmet u) {
  switch (u) {
    case SharedUnmet::None: return "none";
    case SharedUnmet::DmaMask: return "dma-mask";
    case SharedUnmet::Contiguous: return "contiguous";
    case SharedUnmet::SegmentSize: return "max-segment-size";
    case SharedUnmet::Segments: return "max-segments";
    case SharedUnmet::Boundary: return "segment-boundary";
    case SharedUnmet::Alignment: return "alignment";
    case SharedUnmet::Pitch: return "pitch-alignment";
    case SharedUnmet::Size: return "size";
  }
  return "unknown";
}

// --- allocator ---

SharedAllocator::SharedAllocator(std::unique_ptr<drm::DrmFile> f) : file_(std::move(f)) {}
SharedAllocator::~SharedAllocator() = default;

Result<std::unique_ptr<SharedAllocator>> SharedAllocator::open() {
  auto f = open_aux("wsys-alloc");
  if (!f) return Error(f.error());
  return std::unique_ptr<SharedAllocator>(new SharedAllocator(std::move(*f)));
}

Result<SharedAllocator::Created> SharedAllocator::create(uint64_t size, uint32_t uses,
                                                         bool upfront) {
  drm_wsys_alloc_create c{};
  c.size = size;
  c.uses = uses;
  c.flags = upfront ? WSYS_ALLOC_FLAG_UPFRONT : 0;
  if (int r = file_->ioctl(DRM_IOCTL_WSYS_ALLOC_CREATE, &c)) return Error(r);
  return Created{c.fd, c.handle};
}

int SharedAllocator::release(uint32_t handle) {
  drm_wsys_alloc_free f{};
  f.handle = handle;
  return file_->ioctl(DRM_IOCTL_WSYS_ALLOC_FREE, &f);
}

Result<uint32_t> SharedAllocator::attach(int fd, SharedDomain d, const SharedConstraints& c,
                                         SharedUnmet* why) {
  drm_wsys_alloc_attach a{};
  a.fd = fd;
  a.domain = static_cast<uint32_t>(d);
  a.c.dma_mask = c.dma_mask;
  a.c.max_segment_size = c.max_segment_size;
  a.c.segment_boundary = c.segment_boundary;
  a.c.max_segments = c.max_segments;
  a.c.alignment = c.alignment;
  a.c.flags = c.contiguous ? WSYS_ALLOC_CONSTRAINT_CONTIGUOUS : 0;
  int r = file_->ioctl(DRM_IOCTL_WSYS_ALLOC_ATTACH, &a);
  if (why) *why = static_cast<SharedUnmet>(r ? a.unmet : 0);
  if (r) return Error(r);
  return a.attach_id;
}

int SharedAllocator::detach(uint32_t id) { return op(*file_, DRM_IOCTL_WSYS_ALLOC_DETACH, id); }
int SharedAllocator::map(uint32_t id) { return op(*file_, DRM_IOCTL_WSYS_ALLOC_MAP, id); }
int SharedAllocator::unmap(uint32_t id) { return op(*file_, DRM_IOCTL_WSYS_ALLOC_UNMAP, id); }

int SharedAllocator::begin_access(int fd, SharedDomain d, bool read, bool write) {
  drm_wsys_alloc_sync s{};
  s.fd = fd;
  s.domain = static_cast<uint32_t>(d);
  s.flags = (read ? WSYS_ALLOC_SYNC_READ : 0) | (write ? WSYS_ALLOC_SYNC_WRITE : 0);
  return file_->ioctl(DRM_IOCTL_WSYS_ALLOC_SYNC, &s);
}

Result<SharedBufferInfo> SharedAllocator::query(int fd) {
  drm_wsys_alloc_query q{};
  q.fd = fd;
  if (int r = file_->ioctl(DRM_IOCTL_WSYS_ALLOC_QUERY, &q)) return Error(r);
  SharedBufferInfo i;
  i.finalized = q.state & WSYS_ALLOC_STATE_FINALIZED;
  i.mapped = q.state & WSYS_ALLOC_STATE_MAPPED;
  i.cpu_used = q.state & WSYS_ALLOC_STATE_CPU_USED;
  i.size = q.size;
  i.zone = q.zone;
  i.extent_count = q.extent_count;
  i.first_addr = q.first_addr;
  i.largest_extent = q.largest_extent;
  i.highest_addr = q.highest_addr;
  i.attachments = q.attachments;
  i.migrations = q.migrations;
  i.last_unmet = static_cast<SharedUnmet>(q.last_unmet);
  return i;
}

Result<SharedAllocStats> SharedAllocator::stats() {
  drm_wsys_alloc_stats s{};
  if (int r = file_->ioctl(DRM_IOCTL_WSYS_ALLOC_STATS, &s)) return Error(r);
  SharedAllocStats o;
  o.cma_size = s.cma_size;
  o.cma_used = s.cma_used;
  o.cma_peak = s.cma_peak;
  o.cma_largest_free = s.cma_largest_free;
  o.cache_flushes = s.cache_flushes;
  o.cache_invalidates = s.cache_invalidates;
  o.cache_ops_avoided = s.cache_ops_avoided;
  o.migrations = s.migrations;
  o.finalize_failures = s.finalize_failures;
  o.refused_attaches = s.refused_attaches;
  return o;
}

// --- display / camera ---

Peripheral::Peripheral(Kind k, std::unique_ptr<drm::DrmFile> f) : kind_(k), file_(std::move(f)) {}
Peripheral::~Peripheral() = default;

Result<std::unique_ptr<Peripheral>> Peripheral::open(Kind k) {
  auto f = open_aux(k == Kind::Display ? "wsys-display" : "wsys-camera");
  if (!f) return Error(f.error());
  return std::unique_ptr<Peripheral>(new Peripheral(k, std::move(*f)));
}

Result<uint32_t> Peripheral::pitch_alignment() {
  drm_wsys_periph_info i{};
  if (int r = file_->ioctl(DRM_IOCTL_WSYS_PERIPH_INFO, &i)) return Error(r);
  return i.pitch_align;
}

Result<uint32_t> Peripheral::attach(int fd, uint32_t pitch, uint32_t height, SharedUnmet* why) {
  drm_wsys_periph_attach a{};
  a.fd = fd;
  a.pitch = pitch;
  a.height = height;
  int r = file_->ioctl(DRM_IOCTL_WSYS_PERIPH_ATTACH, &a);
  if (why) *why = static_cast<SharedUnmet>(r ? a.unmet : 0);
  if (r) return Error(r);
  return a.attach_id;
}

int Peripheral::detach(uint32_t id) { return op(*file_, DRM_IOCTL_WSYS_PERIPH_DETACH, id); }
int Peripheral::map(uint32_t id) { return op(*file_, DRM_IOCTL_WSYS_PERIPH_MAP, id); }
int Peripheral::unmap(uint32_t id) { return op(*file_, DRM_IOCTL_WSYS_PERIPH_UNMAP, id); }

Result<uint64_t> Peripheral::use(uint32_t id, uint8_t byte) {
  drm_wsys_periph_use u{};
  u.attach_id = id;
  u.value = byte;
  if (int r = file_->ioctl(DRM_IOCTL_WSYS_PERIPH_USE, &u)) return Error(r);
  return u.value;
}

}  // namespace wsys::kmod
