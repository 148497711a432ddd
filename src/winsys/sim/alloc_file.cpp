#include "winsys/sim/alloc_file.h"

#include <fcntl.h>
#include <linux/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <vector>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/user_copy.h"

namespace wsys::sim {

namespace {
constexpr uint32_t kMaxIdsPerFile = 4096;

// An fd that is open but no shared buffer is -EINVAL; a closed one -EBADF.
// A buffer of the system the process cannot reference is find()'s error.
bool fcntl_ok(int fd) { return fd >= 0 && fcntl(fd, F_GETFD) >= 0; }

// Validates the uAPI constraint struct and converts it.
int to_constraints(const drm_wsys_alloc_constraints& u, DmaConstraints* c) {
  if (u.pad || (u.flags & ~WSYS_ALLOC_CONSTRAINT_CONTIGUOUS)) return -EINVAL;
  if (u.max_segment_size % PhysLayout::kPage) return -EINVAL;
  if (u.segment_boundary &&
      (u.segment_boundary < PhysLayout::kPage || (u.segment_boundary & (u.segment_boundary - 1))))
    return -EINVAL;
  if (u.alignment && (u.alignment < PhysLayout::kPage || (u.alignment & (u.alignment - 1))))
    return -EINVAL;
  if (u.dma_mask && u.dma_mask < PhysLayout::kPage - 1) return -EINVAL;
  c->dma_mask = u.dma_mask ? u.dma_mask : ~0ull;
  c->max_segment_size = u.max_segment_size;
  c->segment_boundary = u.segment_boundary;
  c->max_segments = u.max_segments;
  c->alignment = u.alignment ? u.alignment : PhysLayout::kPage;
  c->contiguous = u.flags & WSYS_ALLOC_CONSTRAINT_CONTIGUOUS;
  return 0;
}

void to_uapi(const DmaConstraints& c, drm_wsys_alloc_constraints* u) {
  *u = {};
  u->dma_mask = c.dma_mask;
  u->max_segment_size = c.max_segment_size;
  u->segment_boundary = c.segment_boundary;
  u->max_segments = c.max_segments;
  u->alignment = static_cast<uint32_t>(c.alignment);
  u->flags = c.contiguous ? WSYS_ALLOC_CONSTRAINT_CONTIGUOUS : 0;
}

uint32_t zone_uapi(PhysZone z) {
  switch (z) {
    case PhysZone::Normal: return WSYS_ALLOC_ZONE_NORMAL;
    case PhysZone::Dma32: return WSYS_ALLOC_ZONE_DMA32;
    case PhysZone::Cma: return WSYS_ALLOC_ZONE_CMA;
    default: return WSYS_ALLOC_ZONE_NONE;
  }
}
}  // namespace

DmaConstraints display_constraints() {
  DmaConstraints c;
  c.dma_mask = 0xffffffffull;  // a 32-bit scanout engine
  c.contiguous = true;         // no IOMMU: one extent
  return c;
}

DmaConstraints camera_constraints() {
  DmaConstraints c;
  c.dma_mask = 0xffffffffull;
  c.max_segment_size = 1ull << 20;  // its scatter list takes 1 MiB segments
  c.max_segments = 16;
  return c;
}

bool SimAuxFile::is_aux_name(const std::string& n) {
  return n == "wsys-alloc" || n == "wsys-display" || n == "wsys-camera";
}

std::unique_ptr<SimAuxFile> SimAuxFile::open(const std::string& name) {
  Kind k;
  if (name == "wsys-alloc") k = Kind::Allocator;
  else if (name == "wsys-display") k = Kind::Display;
  else if (name == "wsys-camera") k = Kind::Camera;
  else return nullptr;
  return std::unique_ptr<SimAuxFile>(new SimAuxFile(k, name));
}

SimAuxFile::SimAuxFile(Kind k, std::string name) : kind_(k), node_("sim:" + name) {
  version_.name = name;
  version_.major = 1;
  version_.minor = 0;
  version_.date = "2026";
  version_.desc = "wsys kernel model extension (no released kernel has it)";
}

SimAuxFile::~SimAuxFile() {
  std::map<uint32_t, Attach> attaches;
  std::map<uint32_t, SharedBufferPtr> buffers;
  {
    std::lock_guard<std::mutex> g(mu_);
    attaches.swap(attaches_);
    buffers.swap(buffers_);
  }
  for (auto& [id, at] : attaches)
    while (at.maps-- > 0) at.a->buffer()->allocator().unmap(*at.a);
}

uint32_t SimAuxFile::new_id() {
  if (buffers_.size() + attaches_.size() >= kMaxIdsPerFile) return 0;
  while (!next_id_ || buffers_.count(next_id_) || attaches_.count(next_id_)) next_id_++;
  return next_id_++;
}

int SimAuxFile::ioctl(unsigned long cmd, void* arg) {
  if (_IOC_TYPE(cmd) != WSYS_SIM_ALLOC_IOCTL_TYPE || !handles(cmd)) return -ENOTTY;
  const size_t size = _IOC_SIZE(cmd);
  alignas(16) unsigned char kdata[128];
  if (size > sizeof kdata) return -EINVAL;
  std::memset(kdata, 0, sizeof kdata);
  if (copy_from_user(kdata, reinterpret_cast<uintptr_t>(arg), size) != 0) return -EFAULT;
  int r = dispatch(cmd, kdata);
  if (copy_to_user(reinterpret_cast<uintptr_t>(arg), kdata, size) != 0) r = -EFAULT;
  return r;
}

bool SimAuxFile::handles(unsigned long cmd) const {
  static constexpr unsigned long kAlloc[] = {
      DRM_IOCTL_WSYS_ALLOC_CREATE, DRM_IOCTL_WSYS_ALLOC_FREE,  DRM_IOCTL_WSYS_ALLOC_ATTACH,
      DRM_IOCTL_WSYS_ALLOC_DETACH, DRM_IOCTL_WSYS_ALLOC_MAP,   DRM_IOCTL_WSYS_ALLOC_UNMAP,
      DRM_IOCTL_WSYS_ALLOC_SYNC,   DRM_IOCTL_WSYS_ALLOC_QUERY, DRM_IOCTL_WSYS_ALLOC_STATS};
  static constexpr unsigned long kPeriph[] = {
      DRM_IOCTL_WSYS_PERIPH_INFO,  DRM_IOCTL_WSYS_PERIPH_ATTACH, DRM_IOCTL_WSYS_PERIPH_DETACH,
      DRM_IOCTL_WSYS_PERIPH_MAP,   DRM_IOCTL_WSYS_PERIPH_UNMAP,  DRM_IOCTL_WSYS_PERIPH_USE};
  if (kind_ == Kind::Allocator)
    return std::find(std::begin(kAlloc), std::end(kAlloc), cmd) != std::end(kAlloc);
  return std::find(std::begin(kPeriph), std::end(kPeriph), cmd) != std::end(kPeriph);
}

int SimAuxFile::dispatch(unsigned long cmd, void* d) {
  if (kind_ == Kind::Allocator) {
    switch (cmd) {
      case DRM_IOCTL_WSYS_ALLOC_CREATE: return alloc_create(d);
      case DRM_IOCTL_WSYS_ALLOC_FREE: return alloc_free(d);
      case DRM_IOCTL_WSYS_ALLOC_ATTACH: return alloc_attach(d);
      case DRM_IOCTL_WSYS_ALLOC_DETACH:
      case DRM_IOCTL_WSYS_ALLOC_MAP:
      case DRM_IOCTL_WSYS_ALLOC_UNMAP: return attach_op(cmd, d);
      case DRM_IOCTL_WSYS_ALLOC_SYNC: return alloc_sync(d);
      case DRM_IOCTL_WSYS_ALLOC_QUERY: return alloc_query(d);
      case DRM_IOCTL_WSYS_ALLOC_STATS: return alloc_stats(d);
      default: return -ENOTTY;
    }
  }
  switch (cmd) {
    case DRM_IOCTL_WSYS_PERIPH_INFO: return periph_info(d);
    case DRM_IOCTL_WSYS_PERIPH_ATTACH: return periph_attach(d);
    case DRM_IOCTL_WSYS_PERIPH_DETACH:
    case DRM_IOCTL_WSYS_PERIPH_MAP:
    case DRM_IOCTL_WSYS_PERIPH_UNMAP: return attach_op(cmd, d);
    case DRM_IOCTL_WSYS_PERIPH_USE: return periph_use(d);
    default: return -ENOTTY;
  }
}

int SimAuxFile::alloc_create(void* d) {
  auto* a = static_cast<drm_wsys_alloc_create*>(d);
  if (!a->uses || (a->uses & ~WSYS_ALLOC_USE_ALL)) return -EINVAL;
  if (a->flags & ~WSYS_ALLOC_FLAG_UPFRONT) return -EINVAL;
  if (a->size == 0) return -EINVAL;
  std::lock_guard<std::mutex> g(mu_);
  uint32_t id = new_id();
  if (!id) return -ENOSPC;
  SharedBufferPtr b;
  int fd = -1;
  if (int r = SharedAllocator::model().create(a->size, a->uses, a->flags & WSYS_ALLOC_FLAG_UPFRONT,
                                              &b, &fd))
    return r;
  buffers_[id] = std::move(b);
  a->fd = fd;
  a->handle = id;
  return 0;
}

int SimAuxFile::alloc_free(void* d) {
  auto* a = static_cast<drm_wsys_alloc_free*>(d);
  if (a->pad) return -EINVAL;
  SharedBufferPtr dead;
  std::lock_guard<std::mutex> g(mu_);
  auto it = buffers_.find(a->handle);
  if (it == buffers_.end()) return -ENOENT;
  dead = std::move(it->second);
  buffers_.erase(it);
  return 0;
}

int SimAuxFile::alloc_attach(void* d) {
  auto* a = static_cast<drm_wsys_alloc_attach*>(d);
  if (a->domain < WSYS_ALLOC_DOMAIN_GPU || a->domain > WSYS_ALLOC_DOMAIN_OTHER) return -EINVAL;
  DmaConstraints c;
  if (int r = to_constraints(a->c, &c)) return r;
  int err = 0;
  SharedBufferPtr b = SharedAllocator::model().find(a->fd, &err);
  if (!b) return err ? err : fcntl_ok(a->fd) ? -EINVAL : -EBADF;
  std::lock_guard<std::mutex> g(mu_);
  uint32_t id = new_id();
  if (!id) return -ENOSPC;
  Attach at;
  if (int r = b->allocator().attach(b, a->domain, c, &at.a, &a->unmet)) return r;
  attaches_[id] = std::move(at);
  a->attach_id = id;
  return 0;
}

int SimAuxFile::attach_op(unsigned long cmd, void* d) {
  auto* a = static_cast<drm_wsys_alloc_attach_op*>(d);
  if (a->pad) return -EINVAL;
  Attach dead;
  std::lock_guard<std::mutex> g(mu_);
  auto it = attaches_.find(a->attach_id);
  if (it == attaches_.end()) return -ENOENT;
  Attach& at = it->second;
  SharedAllocator& alloc = at.a->buffer()->allocator();
  switch (cmd) {
    case DRM_IOCTL_WSYS_ALLOC_MAP:
    case DRM_IOCTL_WSYS_PERIPH_MAP:
      if (int r = alloc.map(*at.a)) return r;
      at.maps++;
      return 0;
    case DRM_IOCTL_WSYS_ALLOC_UNMAP:
    case DRM_IOCTL_WSYS_PERIPH_UNMAP:
      if (at.maps == 0) return -EINVAL;
      at.maps--;
      return alloc.unmap(*at.a);
    default:  // DETACH: drops the mappings with it (dma_buf_detach after unmap)
      while (at.maps > 0 && !alloc.unmap(*at.a)) at.maps--;
      dead = std::move(at);
      attaches_.erase(it);
      return 0;
  }
}

int SimAuxFile::alloc_sync(void* d) {
  auto* a = static_cast<drm_wsys_alloc_sync*>(d);
  if (a->pad) return -EINVAL;
  int err = 0;
  SharedBufferPtr b = SharedAllocator::model().find(a->fd, &err);
  if (!b) return err ? err : fcntl_ok(a->fd) ? -EINVAL : -EBADF;
  return b->allocator().sync(*b, a->domain, a->flags);
}

int SimAuxFile::alloc_query(void* d) {
  auto* a = static_cast<drm_wsys_alloc_query*>(d);
  int err = 0;
  SharedBufferPtr b = SharedAllocator::model().find(a->fd, &err);
  if (!b) return err ? err : fcntl_ok(a->fd) ? -EINVAL : -EBADF;
  const int fd = a->fd;
  SharedBuffer::State s = b->state();
  *a = {};
  a->fd = fd;
  a->state = (s.finalized ? WSYS_ALLOC_STATE_FINALIZED : 0) |
             (s.mapped ? WSYS_ALLOC_STATE_MAPPED : 0) |
             (s.cpu_used ? WSYS_ALLOC_STATE_CPU_USED : 0);
  a->size = b->size();
  a->zone = zone_uapi(s.placement.zone);
  a->extent_count = static_cast<uint32_t>(s.placement.extents.size());
  for (const PhysExtent& e : s.placement.extents) {
    a->largest_extent = std::max<uint64_t>(a->largest_extent, e.size);
    a->highest_addr = std::max<uint64_t>(a->highest_addr, e.addr + e.size - 1);
  }
  if (!s.placement.extents.empty()) a->first_addr = s.placement.extents.front().addr;
  a->attachments = s.attachments;
  a->last_unmet = s.last_unmet;
  a->migrations = s.migrations;
  return 0;
}

int SimAuxFile::alloc_stats(void* d) {
  auto* a = static_cast<drm_wsys_alloc_stats*>(d);
  SharedAllocStats s = SharedAllocator::model().stats();
  a->cma_size = s.cma_size;
  a->cma_used = s.cma_used;
  a->cma_peak = s.cma_peak;
  a->cma_largest_free = s.cma_largest_free;
  a->cache_flushes = s.cache_flushes;
  a->cache_invalidates = s.cache_invalidates;
  a->cache_ops_avoided = s.cache_ops_avoided;
  a->migrations = s.migrations;
  a->finalize_failures = s.finalize_failures;
  a->refused_attaches = s.refused_attaches;
  return 0;
}

int SimAuxFile::periph_info(void* d) {
  auto* a = static_cast<drm_wsys_periph_info*>(d);
  const bool disp = kind_ == Kind::Display;
  a->kind = disp ? WSYS_PERIPH_KIND_DISPLAY : WSYS_PERIPH_KIND_CAMERA;
  a->access = disp ? WSYS_PERIPH_ACCESS_READ : WSYS_PERIPH_ACCESS_WRITE;
  a->pitch_align = disp ? kDisplayPitchAlign : kCameraStrideAlign;
  a->pad = 0;
  to_uapi(disp ? display_constraints() : camera_constraints(), &a->c);
  return 0;
}

int SimAuxFile::periph_attach(void* d) {
  auto* a = static_cast<drm_wsys_periph_attach*>(d);
  if (a->pad || a->pitch == 0 || a->height == 0) return -EINVAL;
  int err = 0;
  SharedBufferPtr b = SharedAllocator::model().find(a->fd, &err);
  if (!b) return err ? err : fcntl_ok(a->fd) ? -EINVAL : -EBADF;
  const bool disp = kind_ == Kind::Display;
  const uint32_t align = disp ? kDisplayPitchAlign : kCameraStrideAlign;
  if (a->pitch % align) {
    a->unmet = WSYS_ALLOC_UNMET_PITCH;
    return -EINVAL;
  }
  if (static_cast<uint64_t>(a->pitch) * a->height > b->size()) {
    a->unmet = WSYS_ALLOC_UNMET_SIZE;
    return -EINVAL;
  }
  std::lock_guard<std::mutex> g(mu_);
  uint32_t id = new_id();
  if (!id) return -ENOSPC;
  Attach at;
  at.pitch = a->pitch;
  at.height = a->height;
  const uint32_t domain = disp ? WSYS_ALLOC_DOMAIN_DISPLAY : WSYS_ALLOC_DOMAIN_CAMERA;
  if (int r = b->allocator().attach(b, domain, disp ? display_constraints() : camera_constraints(),
                                    &at.a, &a->unmet))
    return r;
  attaches_[id] = std::move(at);
  a->attach_id = id;
  return 0;
}

int SimAuxFile::periph_use(void* d) {
  auto* a = static_cast<drm_wsys_periph_use*>(d);
  if (a->pad) return -EINVAL;
  SharedAttachmentPtr att;
  uint64_t bytes = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = attaches_.find(a->attach_id);
    if (it == attaches_.end()) return -ENOENT;
    if (it->second.maps == 0) return -EINVAL;  // DMA needs a mapping
    att = it->second.a;
    bytes = static_cast<uint64_t>(it->second.pitch) * it->second.height;
  }
  SharedBuffer& b = *att->buffer();
  const bool disp = kind_ == Kind::Display;
  if (int r = b.allocator().sync(b, att->domain(),
                                 disp ? WSYS_ALLOC_SYNC_READ : WSYS_ALLOC_SYNC_WRITE))
    return r;
  // The device's DMA: real reads and writes of the buffer's memory.
  std::vector<unsigned char> line(64 * 1024);
  uint64_t sum = 0;
  for (uint64_t off = 0; off < bytes; off += line.size()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(line.size(), bytes - off));
    if (disp) {
      ssize_t got = ::pread(b.memfd(), line.data(), n, static_cast<off_t>(off));
      if (got < 0) return -errno;
      for (ssize_t i = 0; i < got; i++) sum += line[static_cast<size_t>(i)];
    } else {
      std::memset(line.data(), static_cast<int>(a->value & 0xff), n);
      if (::pwrite(b.memfd(), line.data(), n, static_cast<off_t>(off)) < 0) return -errno;
    }
  }
  if (disp) a->value = sum;
  return 0;
}

}  // namespace wsys::sim
